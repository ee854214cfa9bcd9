"""Active health checks: the proxy's probes of each instance, and their verdicts.

Every ``interval`` s, for each instance, ``GET /health`` on a fresh connection (so a process
that stopped accepting connections fails too) within ``timeout`` s. ``unhealthy_threshold``
failures in a row mark the instance down, ``healthy_threshold`` successes in a row mark it up:
the counting of :class:`~scalelab.HealthCheck`, the same as in the simulator. A probe that
times out takes ``timeout`` s, so a hung instance is noticed after about
``unhealthy_threshold × max(interval, timeout)`` s; a dead one after
``unhealthy_threshold × interval`` s at most, plus the wait for the first probe.
"""

from __future__ import annotations

import asyncio

from ..failures import HealthCheck, ProbeCounts
from . import _http

PROBE = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


async def probe(port: int, within: float) -> bool:
    """One probe: True if the instance on ``port`` answers 200 within ``within`` s."""
    writer = None
    try:
        async with _http.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(PROBE)
            line = await reader.readline()
        return line.split(b" ", 2)[1:2] == [b"200"]
    except (asyncio.TimeoutError, OSError, EOFError, ValueError):
        return False
    finally:
        _http.close_quietly(writer)


class HealthChecker:
    """Probes each instance on its own schedule and calls ``mark(j, healthy)`` on a change.

    ``state`` is the proxy's ``ClusterState`` (the balancer's view reads it); ``port_of(j)``
    gives the instance's current port, or None while it has none.
    """

    def __init__(self, check: HealthCheck, state, port_of, mark):
        self.check, self._state, self._port_of, self._mark = check, state, port_of, mark
        self._counts = ProbeCounts(check)
        self._tasks: list[asyncio.Task | None] = []

    def watch(self, j: int) -> None:
        """Start probing instance ``j`` (the next index)."""
        self._counts.add()
        self._tasks.append(asyncio.get_running_loop().create_task(self._loop(j)))

    def forget(self, j: int) -> None:
        """Stop probing instance ``j`` for good."""
        task, self._tasks[j] = self._tasks[j], None
        if task is not None:
            task.cancel()

    def failed(self, j: int) -> None:
        """A refused connection: count it as enough failures to be down, and as no success."""
        self._counts.refused(j)

    async def close(self) -> None:
        tasks = [t for t in self._tasks if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, j: int) -> None:
        check, loop = self.check, asyncio.get_running_loop()
        due = loop.time() + check.interval
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            due = max(due + check.interval, loop.time())
            port = self._port_of(j)
            if port is not None:
                self.record(j, await probe(port, check.timeout))

    def record(self, j: int, success: bool) -> None:
        """Count one probe's outcome; mark the instance up or down when a threshold is met."""
        healthy = self._counts.record(j, success, self._state.healthy[j])
        if healthy is not None:
            self._mark(j, healthy)

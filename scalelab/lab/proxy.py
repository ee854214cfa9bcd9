"""The reverse proxy: the lab's load balancer, on asyncio streams, calling a ``Balancer``.

For every request it builds a :class:`~scalelab.balancers.Request` (``arrival`` in seconds since
the lab started, ``user`` from an ``X-User`` header or the ``sid`` cookie), asks
``balancer.pick(instances, request)`` over the same read-only view the simulator gives, calls
``on_start``/``on_finish`` once per attempt, and forwards the request on a pooled keep-alive
connection. Around it:

- active health checks (a :class:`~scalelab.HealthCheck`, see ``health``): ``GET /health``
  every ``interval`` s; ``unhealthy_threshold`` failures in a row mark an instance down,
  ``healthy_threshold`` successes bring it back;
- passive ejection: a refused connection marks the instance down at once;
- retries: a refused connection is retried on another instance (the request never left), and
  so are a reset, an early close and a timeout for idempotent methods (GET, HEAD, PUT, DELETE,
  OPTIONS); at most ``retries`` times, never on an instance already tried;
- an upstream timeout (s) on each attempt;
- answers of its own: 502 (the instance failed), 503 (no healthy instance), 504 (timed out),
  with ``X-Instance`` (the last instance tried, −1 for none) and ``X-Retries``;
- ``events``: ``(time s, instance, "marked down" | "marked up")``, the simulator's names.
"""

from __future__ import annotations

import asyncio
import itertools
import zlib

from ..failures import HealthCheck
from ..routing import checked_pick, hook, record_latency
from ..views import ClusterState, InstancesView, Request, pick_avoiding
from . import _http
from .health import HealthChecker

IDEMPOTENT = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS"})
MAX_IDLE_PER_INSTANCE = 128
REASONS = {502: b"Bad Gateway", 503: b"Service Unavailable", 504: b"Gateway Timeout",
           400: b"Bad Request"}


class Proxy:
    """An HTTP reverse proxy on 127.0.0.1 in front of the lab's instances (one event loop)."""

    def __init__(self, balancer, *, health_check: HealthCheck | None, retries: int,
                 timeout: float, passive_ejection: bool, epoch: float):
        self.balancer = balancer
        self.health_check = health_check
        self.retries = retries
        self.timeout = timeout
        self.passive_ejection = passive_ejection
        self.epoch = epoch  # loop.time() of the lab's start: event times are relative to it
        self.state = ClusterState([], [])
        self.view = InstancesView(self.state)
        self.events: list[tuple[float, int, str]] = []
        self.stats = dict.fromkeys(("requests", "retries", "failed", "timeouts",
                                    "no_instance", "ejections"), 0)
        self.port = 0
        self._ports: list[int | None] = []
        self._pools: list[list] = []
        self._checker = None if health_check is None else HealthChecker(
            health_check, self.state, self._ports.__getitem__, self._mark)
        self._ids = itertools.count()
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.last_error: Exception | None = None  # the last exception a balancer hook raised
        self.balancer_errors = 0  # how many requests a balancer hook's exception answered 500
        self.on_start = hook(balancer, "on_start")
        self.on_finish = hook(balancer, "on_finish")

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024,
                                                  limit=_http.HEAD_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._checker is not None:
            await self._checker.close()
        for j in range(len(self._pools)):
            self._drop_pool(j)
        for writer in list(self._clients):
            _http.close_quietly(writer)

    def now(self) -> float:
        """Seconds since the lab started."""
        return asyncio.get_running_loop().time() - self.epoch

    # -- the instances ---------------------------------------------------------------------

    def add(self, port: int, speed: float = 1.0, weight: float = 1.0) -> int:
        """Put a new instance into rotation (healthy); return its index."""
        j = self.state.add(speed, weight)
        self._ports.append(port)
        self._pools.append([])
        if self._checker is not None:
            self._checker.watch(j)
        return j

    def move(self, j: int, port: int) -> None:
        """Instance ``j`` was restarted on ``port``: drop the old connections. Health checks
        bring it back into rotation; without them it is healthy at once."""
        self._ports[j] = port
        self._drop_pool(j)
        if self.health_check is None and not self.state.healthy[j]:
            self._mark(j, True)

    def remove(self, j: int) -> None:
        """Take instance ``j`` out for good: no new requests, no more probes."""
        if self._checker is not None:
            self._checker.forget(j)
        self._ports[j] = None
        self.state.healthy[j] = False  # no "marked down": leaving service is not a failure
        self._drop_pool(j)

    def _drop_pool(self, j: int) -> None:
        pool, self._pools[j] = self._pools[j], []
        for _, writer in pool:
            _http.close_quietly(writer)

    def _mark(self, j: int, healthy: bool) -> None:
        self.state.healthy[j] = healthy
        self.events.append((self.now(), j, "marked up" if healthy else "marked down"))

    def _eject(self, j: int) -> None:
        """Passive ejection: a refused connection means the process is gone."""
        if self._checker is not None:
            self._checker.failed(j)
        if self.state.healthy[j]:
            self.stats["ejections"] += 1
            self._mark(j, False)

    # -- serving clients -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                head = await _http.read_head(reader)
                try:
                    (method, target, version), headers = _start_line(head)
                    body = await reader.readexactly(_http.content_length(headers))
                except _http.BadMessage as error:
                    writer.write(_answer(400, -1, 0, str(error), close=True))
                    break
                close = _http.wants_close(version, headers)
                try:
                    answer = await self._forward(method, target, headers, body, close)
                # a learner's balancer raised: answer 500 saying so, and keep serving
                except Exception as error:  # noqa: BLE001
                    self.last_error = error
                    self.balancer_errors += 1
                    answer = _answer(500, -1, 0, f"{type(self.balancer).__name__} raised "
                                     f"{type(error).__name__}: {error}", close)
                writer.write(answer)
                if close:
                    break
                if writer.transport.get_write_buffer_size() > 256 * 1024:
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, _http.BadMessage):
            pass
        finally:
            self._clients.discard(writer)
            _http.close_quietly(writer)

    async def _forward(self, method, target, headers, body, close) -> bytes:
        """Send one request upstream (retrying as allowed); return the bytes for the client."""
        loop = asyncio.get_running_loop()
        self.stats["requests"] += 1
        request = Request(next(self._ids), loop.time() - self.epoch, _user(headers))
        upstream = b"".join([b"%s %s HTTP/1.1\r\n" % (method, target),
                             *(raw + b"\r\n" for name, _, raw in headers
                               if name not in _http.HOP_BY_HOP), b"\r\n", body])
        tried: list[int] = []
        failure = None
        while True:
            j = self._choose(request, tried)
            if j is None:
                if failure is not None:  # nobody left to retry on: report the last failure
                    return _answer(failure[0], tried[-1], len(tried) - 1, failure[1], close)
                self.stats["no_instance"] += 1
                return _answer(503, -1, 0, "no healthy instance", close)
            if tried:
                self.stats["retries"] += 1
            self.state.inflight[j] += 1
            if self.on_start:
                self.on_start(self.view[j], request)
            failure = None
            try:
                code, head, data = await self._exchange(j, upstream)
            except asyncio.TimeoutError:  # before OSError: TimeoutError is an OSError on 3.11+
                failure = 504, f"instance {j} did not answer within {self.timeout:g} s", \
                    method in IDEMPOTENT
            except ConnectionRefusedError:
                if self.passive_ejection:
                    self._eject(j)
                failure = 502, f"instance {j} refused the connection", True
            except (OSError, EOFError, asyncio.IncompleteReadError, _http.BadMessage) as error:
                failure = 502, f"instance {j} failed: {type(error).__name__}", \
                    method in IDEMPOTENT
            finally:
                self.state.inflight[j] -= 1
                latency = loop.time() - self.epoch - request.arrival
                if self.on_finish:
                    self.on_finish(self.view[j], request, latency)
            if failure is None:
                record_latency(self.state.latency, j, latency)
                return _relay(head, data, len(tried), close)
            code, why, retryable = failure
            self.stats["timeouts" if code == 504 else "failed"] += 1
            if not retryable or len(tried) >= self.retries:
                return _answer(code, j, len(tried), why, close)
            tried.append(j)

    async def _exchange(self, j: int, upstream: bytes):
        """One attempt on instance ``j``: ``(status, response head, body)``."""
        port = self._ports[j]
        if port is None:
            raise ConnectionRefusedError(f"instance {j} was removed")
        pool = self._pools[j]
        reader = writer = None
        while pool:
            reader, writer = pool.pop()
            if not (reader.at_eof() or writer.is_closing()):
                break
            _http.close_quietly(writer)
            reader = writer = None
        reusable = False
        try:
            async with _http.timeout(self.timeout):
                if writer is None:
                    reader, writer = await asyncio.open_connection(
                        "127.0.0.1", port, limit=_http.HEAD_LIMIT)
                writer.write(upstream)
                head = await _http.read_head(reader)
                (_, code, *_), headers = _http.split_head(head)
                data = await reader.readexactly(_http.content_length(headers))
            reusable = not _http.wants_close(b"HTTP/1.1", headers)
            return int(code), head, data
        finally:
            if reusable and self._ports[j] == port and len(pool) < MAX_IDLE_PER_INSTANCE:
                pool.append((reader, writer))
            else:
                _http.close_quietly(writer)

    def _choose(self, request: Request, tried: list[int]) -> int | None:
        """Ask the policy, hiding the instances this request already failed on."""
        choice = pick_avoiding(self.balancer, self.view, request, tried)
        return checked_pick(choice, len(self._ports), self.balancer)


def _start_line(head: bytes):
    start, headers = _http.split_head(head)
    if len(start) != 3 or not start[2].startswith(b"HTTP/1."):
        first = head.split(b"\r\n", 1)[0][:80]
        raise _http.BadMessage(f"bad request line {first!r}")
    return start, headers


def _user(headers) -> int | None:
    """The request's user: ``X-User: 42``, else a stable number from the ``sid`` cookie."""
    user = _http.header(headers, b"x-user")
    if user is not None and user.isdigit():
        return int(user)
    for part in (_http.header(headers, b"cookie") or b"").split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == b"sid" and value:
            return zlib.crc32(value)
    return None


def _relay(head: bytes, data: bytes, retries: int, close: bool) -> bytes:
    """The instance's answer for the client, with ``X-Retries`` and our own Connection."""
    lines = [line for line in head[:-4].split(b"\r\n")
             if not line[:11].lower().startswith((b"connection:", b"keep-alive:"))]
    if retries:
        lines.append(b"X-Retries: %d" % retries)
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def _answer(code: int, instance: int, retries: int, why: str, close: bool) -> bytes:
    body = f"{code} from the scalelab proxy: {why}\n".encode()
    head = [b"HTTP/1.1 %d %s" % (code, REASONS.get(code, b"Error")), b"X-Instance: %d" % instance,
            b"X-Retries: %d" % retries, b"X-Proxy: scalelab",
            b"Content-Type: text/plain; charset=utf-8", b"Content-Length: %d" % len(body)]
    if close:
        head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body

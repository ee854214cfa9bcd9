"""The load generator: replays a Workload against a URL in real time and records every request.

- **Open loop** (the default): request *k* is sent at the workload's arrival time *k*, whether or
  not earlier ones have been answered, and its latency counts from that *intended* time. A
  stalled server therefore shows up in the percentiles instead of silently slowing the sender
  down (coordinated omission). Every load shape of ``sl.workloads`` comes for free.
- **Closed loop**: ``users`` clients each send a request, wait for the answer, think
  (exponential, mean ``think`` s) and go again; the server's speed sets the rate.

Records have the simulator's fields (``scalelab.result.REQUEST_FIELDS``), times in seconds from
the start of the run: ``arrival`` (intended send time), ``start`` (when the instance began, from
its ``X-Start``), ``end`` (when the answer arrived), ``service`` (the instance's own timing),
``instance`` (``X-Instance``, −1 for none), ``status`` (:class:`~scalelab.Status`) and
``retries`` (the proxy's ``X-Retries``), ``user`` (the workload's user id, the client's number
in a closed loop, −1 for none), ``lost_session`` (the answer was 401: the instance did not
know the caller's session) and ``http`` (the HTTP status, 0 when no answer came). Only a 2xx
answer counts as served: every other answer, and no answer, is an error. Its own keep-alive
HTTP client: at most ``connections`` at once; a request waiting for a connection is late, and
that counts.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np

from ..result import REQUEST_FIELDS, Status
from ..workloads import Workload
from . import _http

TIMEOUT_S = 10.0
CONNECTIONS = 256


def status_of(code: int) -> Status:
    """A ``Status`` for an HTTP status: only a 2xx answer is served. A 4xx (a wrong path, a 401
    from ``/me`` without a session) is a client error, 503 means no instance, 504 a timeout,
    anything else (5xx, and 1xx/3xx, which no lab endpoint sends) a failure."""
    if 200 <= code < 300:
        return Status.OK
    if 400 <= code < 500:
        return Status.CLIENT_ERROR
    return {503: Status.NO_INSTANCE, 504: Status.TIMEOUT}.get(code, Status.FAILED)


class _Pool:
    """Keep-alive connections to one address, at most ``size`` open at once."""

    def __init__(self, host: str, port: int, size: int):
        self.host, self.port = host, port
        self._slots = asyncio.Semaphore(size)
        self._idle: list = []

    async def acquire(self):
        await self._slots.acquire()
        while self._idle:
            reader, writer = self._idle.pop()
            if not (reader.at_eof() or writer.is_closing()):
                return reader, writer
            _http.close_quietly(writer)
        try:
            return await asyncio.open_connection(self.host, self.port, limit=_http.HEAD_LIMIT)
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn, reusable: bool) -> None:
        if reusable:
            self._idle.append(conn)
        else:
            _http.close_quietly(conn[1])
        self._slots.release()

    def close(self) -> None:
        for _, writer in self._idle:
            _http.close_quietly(writer)
        self._idle.clear()


class LoadGenerator:
    """Sends requests to ``url`` (``http://127.0.0.1:PORT``) from the running event loop.

    >>> gen = LoadGenerator("http://127.0.0.1:8080", path="/work?ms=20")   # doctest: +SKIP
    >>> records = await gen.open_loop(sl.workloads.constant(100, 5))        # doctest: +SKIP
    """

    def __init__(self, url: str, *, path: str = "/work?ms=20", method: str = "GET",
                 timeout: float = TIMEOUT_S, connections: int = CONNECTIONS, seed: int = 0):
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"url must look like 'http://127.0.0.1:PORT', got {url!r}")
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', e.g. '/work?ms=20', got {path!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.path, self.method, self.timeout = path, method.upper(), timeout
        self.connections, self.seed = connections, seed
        self._pool: _Pool | None = None
        self.t0 = 0.0
        # open loop: seconds each request left after its intended time (NaN: never sent)
        self.late = np.zeros(0)

    def _request(self, path: str, user=None) -> bytes:
        lines = [f"{self.method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if user is not None:
            lines.append(f"X-User: {int(user)}")
        if self.method in ("POST", "PUT"):
            lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _paths(self, workload: Workload) -> list[str] | None:
        """Per-request paths when the workload has costs: ``ms`` and ``cpu`` scaled by them."""
        if workload.cost is None:
            return None
        base, _, query = self.path.partition("?")
        pairs = parse_qsl(query)
        return [f"{base}?" + urlencode([(k, float(v) * c if k in ("ms", "cpu") else v)
                                        for k, v in pairs]) for c in workload.cost.tolist()]

    async def open_loop(self, workload: Workload, t0: float | None = None) -> np.ndarray:
        """Send one request at each of ``workload``'s arrival times; return the records.
        Times count from ``t0`` (``loop.time()``; default: now)."""
        loop = asyncio.get_running_loop()
        records = np.zeros(len(workload), REQUEST_FIELDS)
        records["instance"] = -1
        records["user"] = -1 if workload.user is None else workload.user
        self.late = np.full(len(workload), np.nan)
        arrivals = workload.arrivals.tolist()
        users = workload.user.tolist() if workload.user is not None else None
        paths = self._paths(workload)
        plain = self._request(self.path)
        self._pool = _Pool(self.host, self.port, self.connections)
        self.t0 = loop.time() + 0.02 if t0 is None else t0
        tasks: set[asyncio.Task] = set()
        try:
            for k, at in enumerate(arrivals):
                delay = self.t0 + at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                raw = plain if users is None and paths is None else self._request(
                    paths[k] if paths else self.path, users[k] if users else None)
                task = loop.create_task(self._one(records, k, at, raw))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*list(tasks))
        finally:
            for task in tasks:
                task.cancel()
            self._pool.close()
        return records

    async def closed_loop(self, users: int, duration: float, think: float = 0.0,
                          t0: float | None = None) -> np.ndarray:
        """``users`` clients in a loop (send, wait, think) for ``duration`` s from ``t0``
        (``loop.time()``; default: now); the records."""
        loop = asyncio.get_running_loop()
        rows: list[tuple] = []
        self.late = np.zeros(0)  # a closed loop sends when it is ready: never late
        self._pool = _Pool(self.host, self.port, max(self.connections, users))
        self.t0 = loop.time() + 0.02 if t0 is None else t0
        raw = self._request(self.path)

        async def client(u: int) -> None:
            rng = np.random.default_rng([self.seed, u])
            one = np.zeros(1, REQUEST_FIELDS)
            one["user"] = u
            await asyncio.sleep(max(0.0, self.t0 - loop.time()))
            while (sent := loop.time() - self.t0) < duration:
                await self._one(one, 0, sent, raw)
                rows.append(one[0].item())
                if think > 0:
                    await asyncio.sleep(rng.exponential(think))

        try:
            await asyncio.gather(*(client(u) for u in range(users)))
        finally:
            self._pool.close()
        records = np.array(rows, dtype=REQUEST_FIELDS)
        return records[np.argsort(records["arrival"], kind="stable")]

    async def _one(self, records: np.ndarray, k: int, at: float, raw: bytes) -> None:
        """Send one request meant for time ``at``; fill ``records[k]``."""
        loop = asyncio.get_running_loop()
        record = records[k]
        record["arrival"] = at
        conn, reusable = None, False
        status, instance, started, service, retries = Status.FAILED, -1, None, 0.0, 0
        code = 0
        try:
            async with _http.timeout(self.timeout):
                conn = await self._pool.acquire()
                reader, writer = conn
                if len(self.late):
                    self.late[k] = loop.time() - self.t0 - at
                writer.write(raw)
                head = await _http.read_head(reader)
                (_, raw_code, *_), headers = _http.split_head(head)
                await reader.readexactly(_http.content_length(headers))
            reusable = not _http.wants_close(b"HTTP/1.1", headers)
            code = int(raw_code)
            status = status_of(code)
            instance = int(_http.header(headers, b"x-instance", b"-1"))
            retries = int(_http.header(headers, b"x-retries", b"0"))
            started = _http.header(headers, b"x-start")
            service = float(_http.header(headers, b"x-service", b"0"))
        except asyncio.TimeoutError:
            status = Status.TIMEOUT
        except (OSError, EOFError, ValueError):
            status = Status.FAILED
        finally:
            if conn is not None:
                self._pool.release(conn, reusable)
        end = loop.time() - self.t0
        start = end if started is None else min(max(float(started) - self.t0, at), end)
        record["start"], record["end"], record["service"] = start, end, service
        record["instance"], record["status"], record["retries"] = instance, status, retries
        record["lost_session"] = code == 401
        record["http"] = code


def main(argv=None) -> None:
    """``python -m scalelab.lab.loadgen URL --rate 300 --duration 5 --path /work?ms=20`` (open
    loop) or ``--users 20`` (closed loop): run in a process of its own, print the summary as
    JSON. The benchmarks use it to keep the generator off the proxy's CPU."""
    import argparse
    import json

    from ..result import Result
    from ..sim import Instance
    from ..workloads import constant
    from .loopthread import LoopThread

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("url")
    parser.add_argument("--path", default="/work?ms=20")
    parser.add_argument("--duration", type=float, default=5.0)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--rate", type=float, help="open loop, requests per second")
    group.add_argument("--users", type=int, help="closed loop, clients without think time")
    args = parser.parse_args(argv)
    gen = LoadGenerator(args.url, path=args.path)
    loop = LoopThread("loadgen")
    try:
        if args.rate:
            records = loop.run(gen.open_loop(constant(args.rate, args.duration)))
        else:
            records = loop.run(gen.closed_loop(args.users, args.duration))
    finally:
        loop.stop()
    n = max(1, int(records["instance"].max()) + 1) if len(records) else 1
    print(json.dumps(Result(records, [Instance()] * n, args.duration).summary()))


if __name__ == "__main__":
    main()

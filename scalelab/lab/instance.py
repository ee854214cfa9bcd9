"""One instance of the service: a standard-library HTTP server in its own process.

Run by the lab as ``python -E -s -S …/instance.py --index 0 --store sqlite:PATH …`` (a plain
script: no numpy, starts in ~40 ms). It binds 127.0.0.1 on a port the kernel picks, prints
``PORT n`` on stdout and serves until killed. Endpoints (every answer carries ``X-Instance``,
and JSON with ``"instance"``):

- ``GET /health``: 200 while the process runs.
- ``GET /work?ms=20&cpu=5``: sleep ``ms`` milliseconds (waiting on a database, say) and burn
  ``cpu`` milliseconds of CPU, counted in loop iterations calibrated once by the lab (a wall
  clock busy loop would overlap with other threads and lie). Both are divided by ``--speed``.
- ``POST /login?user=ada``: a new session in the store; sets the ``sid`` cookie.
- ``GET /me``: who the ``sid`` cookie belongs to, or 401 when this instance's store does not
  know it. ``POST /logout`` forgets it.

``X-Start`` (``time.monotonic()`` when service began: on arrival, or when a slot freed up; a
clock shared by all processes on the machine) and ``X-Service`` (seconds from then) let the
load generator fill its records. The process dies with the lab: ``PR_SET_PDEATHSIG`` on
Linux, and end-of-file on stdin anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

if __package__:
    from . import stores
    from ._launch import die_with_parent
else:  # run as a plain script by path (fast start, no numpy)
    import stores
    from _launch import die_with_parent

MAX_WORK_MS = 60_000.0
CALIBRATION_ITERATIONS = 200_000


def burn(iterations: int) -> int:
    """CPU work: ``iterations`` turns of a small integer loop (holds the GIL throughout)."""
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def iterations_per_ms() -> int:
    """How many ``burn`` iterations take one millisecond here: the best of five runs, so that
    a busy machine does not make it look slower than it is. ``SCALELAB_CPU_ITERS_PER_MS``
    overrides it (for reproducible CI)."""
    override = os.environ.get("SCALELAB_CPU_ITERS_PER_MS")
    if override:
        return max(1, int(override))
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        burn(CALIBRATION_ITERATIONS)
        best = min(best, time.perf_counter() - began)
    return max(1, int(CALIBRATION_ITERATIONS / (best * 1000)))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # listen backlog: bursts of new connections must not be dropped

    def __init__(self, index: int, store, speed: float, slots: int, iters_per_ms: int):
        super().__init__(("127.0.0.1", 0), Handler)
        self.index, self.store, self.speed, self.iters_per_ms = index, store, speed, iters_per_ms
        self.slots = threading.BoundedSemaphore(slots) if slots > 0 else None
        self.name = str(index).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body meet Nagle + delayed ACK: 40 ms stalls
    server: Server

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def _route(self, method: str) -> None:
        self.began = time.monotonic()  # /work moves it to when a slot is free
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(url.query)
        if body and self.headers.get("Content-Type", "").startswith("application/x-www-form"):
            query.update(parse_qs(body.decode()))
        handler = ROUTES.get((method, url.path))
        extra: list[str] = []
        try:
            if handler is None:
                allowed = ", ".join(f"{m} {p}" for m, p in ROUTES)
                status, payload = 404, {"error": f"no route {method} {url.path}; try {allowed}"}
            else:
                status, payload = handler(self, query, extra)
        except ValueError as error:
            status, payload = 400, {"error": str(error)}
        except stores.ERRORS as error:  # the store failed: say so, keep serving
            status, payload = 500, {"error": f"{type(error).__name__}: {error}"}
        self._reply(status, payload, extra)

    def _reply(self, status: int, payload: dict, extra: list[str]) -> None:
        began = self.began
        payload["instance"] = self.server.index
        data = json.dumps(payload).encode()
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                f"X-Instance: {self.server.index}", f"X-Start: {began:.6f}",
                f"X-Service: {time.monotonic() - began:.6f}", "Content-Type: application/json",
                f"Content-Length: {len(data)}", *extra]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    # -- endpoints -------------------------------------------------------------------------

    def health(self, query, extra):
        return 200, {"status": "ok"}

    def work(self, query, extra):
        ms, cpu = _ms(query, "ms"), _ms(query, "cpu")
        speed = self.server.speed
        slots = self.server.slots
        if slots is not None:
            slots.acquire()
            self.began = time.monotonic()
        try:
            if ms:
                time.sleep(ms / 1000 / speed)
            if cpu:
                burn(int(cpu * self.server.iters_per_ms / speed))
        finally:
            if slots is not None:
                slots.release()
        return 200, {"ms": ms, "cpu": cpu}

    def login(self, query, extra):
        user = (query.get("user") or [""])[0]
        if not user:
            raise ValueError("POST /login needs a user, e.g. /login?user=ada")
        sid = secrets.token_urlsafe(12)
        self.server.store.set("session:" + sid, user)
        extra.append(f"Set-Cookie: sid={sid}; Path=/; HttpOnly")
        return 200, {"user": user, "sid": sid}

    def me(self, query, extra):
        sid = self._sid()
        user = self.server.store.get("session:" + sid) if sid else None
        if user is None:
            why = "no sid cookie" if not sid else f"session {sid} unknown to this instance"
            return 401, {"error": f"not logged in: {why}"}
        return 200, {"user": user}

    def logout(self, query, extra):
        sid = self._sid()
        return 200, {"logged_out": bool(sid) and self.server.store.delete("session:" + sid)}

    def _sid(self) -> str:
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "sid":
                return value
        return ""


ROUTES = {("GET", "/health"): Handler.health, ("GET", "/work"): Handler.work,
          ("POST", "/login"): Handler.login, ("GET", "/me"): Handler.me,
          ("POST", "/logout"): Handler.logout}


def _ms(query: dict, name: str) -> float:
    raw = (query.get(name) or ["0"])[0]
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of milliseconds, got {raw!r}") from None
    if not 0 <= value <= MAX_WORK_MS:
        raise ValueError(f"{name} must be between 0 and {MAX_WORK_MS:g} ms, got {raw}")
    return value


def _exit_at_eof() -> None:
    """The lab holds our stdin open; when its process ends, however it ends, we get EOF."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="One scalelab lab instance.")
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--store", default="memory")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--slots", type=int, default=0, help="requests served at once; 0: no limit")
    parser.add_argument("--iters-per-ms", type=int, default=0)
    parser.add_argument("--parent", type=int, default=0, help="die when this pid dies")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    threading.Thread(target=_exit_at_eof, daemon=True).start()
    store = stores.open_store(args.store)
    server = Server(args.index, store, args.speed, args.slots,
                    args.iters_per_ms or iterations_per_ms())
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

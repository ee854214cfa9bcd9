"""Session stores: where an instance keeps who is logged in.

- ``memory``: a dict inside one instance process. The other instances cannot see it, and it
  dies with the process.
- ``sqlite:PATH``: one SQLite file in WAL mode, shared by every instance process
  (``busy_timeout`` makes concurrent writers wait instead of failing).
- ``redis:SOCKET``: a redis-server on a private unix socket, spoken to in RESP (the Redis
  protocol) with the standard library: SET, GET, DEL, PING and INFO are all we need.

Every store has ``get(key) -> str | None``, ``set(key, value)``, ``delete(key) -> bool``,
``ping()`` and ``close()``, and is safe to use from many threads. Standard library only: an
instance process imports this file as a top-level module. Timeouts in seconds.

>>> store = open_store("memory")
>>> store.set("session:abc", "ada"); store.get("session:abc")
'ada'
"""

from __future__ import annotations

import contextlib
import queue
import socket
import sqlite3
import threading

KINDS = ("memory", "sqlite", "redis")


def open_store(spec: str, timeout: float = 5.0):
    """The store named by ``spec``: ``memory``, ``sqlite:PATH`` or ``redis:SOCKET_PATH``."""
    kind, _, where = spec.partition(":")
    if kind == "memory" and not where:
        return MemoryStore()
    if kind == "sqlite" and where:
        return SQLiteStore(where, timeout)
    if kind == "redis" and where:
        return RedisStore(where, timeout)
    raise ValueError(f"store must be 'memory', 'sqlite:PATH' or 'redis:SOCKET_PATH', got {spec!r}")


class MemoryStore:
    """A dict in this process: fast, private, and gone when the process dies."""

    kind = "memory"

    def __init__(self):
        self._data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._data.get(key)

    def set(self, key: str, value: str) -> None:
        self._data[key] = value

    def delete(self, key: str) -> bool:
        return self._data.pop(key, None) is not None

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self._data.clear()


class _Pool:
    """Connections made on demand and reused; a broken one is dropped, not returned."""

    def __init__(self, connect):
        self._connect = connect
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._all: list = []
        self._lock = threading.Lock()

    def call(self, function):
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
            with self._lock:
                self._all.append(conn)
        try:
            result = function(conn)
        except BaseException:
            _close(conn)
            raise
        self._idle.put(conn)
        return result

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                _close(conn)
            self._all.clear()


def _close(conn) -> None:
    with contextlib.suppress(OSError, sqlite3.Error):
        conn.close()


class SQLiteStore:
    """A table ``sessions(key, value)`` in one SQLite file shared by all instance processes."""

    kind = "sqlite"

    def __init__(self, path: str, timeout: float = 5.0):
        self.path = path
        self.timeout = timeout
        self._pool = _Pool(self._connect)

    @staticmethod
    def create(path: str) -> None:
        """Make the file, switch it to WAL (a setting stored in the file) and add the table.
        The lab calls this once, before any instance opens the file."""
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS sessions "
                         "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.commit()
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def get(self, key: str) -> str | None:
        row = self._pool.call(lambda c: c.execute(
            "SELECT value FROM sessions WHERE key = ?", (key,)).fetchone())
        return None if row is None else row[0]

    def set(self, key: str, value: str) -> None:
        self._pool.call(lambda c: c.execute(
            "INSERT OR REPLACE INTO sessions (key, value) VALUES (?, ?)", (key, value)))

    def delete(self, key: str) -> bool:
        return self._pool.call(lambda c: c.execute(
            "DELETE FROM sessions WHERE key = ?", (key,)).rowcount) > 0

    def ping(self) -> bool:
        return self._pool.call(lambda c: c.execute("SELECT 1").fetchone()) == (1,)

    def close(self) -> None:
        self._pool.close()


class RedisError(Exception):
    """An error reply from redis-server (``-ERR …``)."""


ERRORS = (OSError, sqlite3.Error, RedisError)  # what a failing store raises


class _RedisConnection:
    def __init__(self, path: str, timeout: float):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.rfile = self.sock.makefile("rb")

    def call(self, *args):
        self.sock.sendall(encode(args))
        return read_reply(self.rfile)

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()


def encode(args) -> bytes:
    """A command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def read_reply(rfile):
    """One RESP reply: simple string, error, integer, bulk string (bytes or None) or array."""
    line = rfile.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("redis-server closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else rfile.read(size + 2)[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [read_reply(rfile) for _ in range(size)]
    raise RedisError(f"unexpected reply from redis-server: {line!r}")


class RedisStore:
    """Keys in a redis-server reached over a unix socket."""

    kind = "redis"

    def __init__(self, path: str, timeout: float = 5.0):
        self.path = path
        self._pool = _Pool(lambda: _RedisConnection(path, timeout))

    def call(self, *args):
        """Send one command, e.g. ``call("SET", "k", "v")``; return the decoded reply."""
        return self._pool.call(lambda c: c.call(*args))

    def get(self, key: str) -> str | None:
        value = self.call("GET", key)
        return None if value is None else value.decode()

    def set(self, key: str, value: str) -> None:
        self.call("SET", key, value)

    def delete(self, key: str) -> bool:
        return self.call("DEL", key) > 0

    def ping(self) -> bool:
        return self.call("PING") == "PONG"

    def version(self) -> str:
        """The server's version, from ``INFO server``."""
        for line in self.call("INFO", "server").decode().splitlines():
            if line.startswith("redis_version:"):
                return line.partition(":")[2].strip()
        return "unknown"

    def close(self) -> None:
        self._pool.close()

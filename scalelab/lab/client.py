"""A small synchronous HTTP client for notebooks: one user with a browser-like cookie jar.

>>> with sl.lab.Lab(instances=3, store="memory") as lab:      # doctest: +SKIP
...     ada = lab.session("ada")                  # POST /login?user=ada, keeps the sid cookie
...     [ada.get("/me").instance for _ in range(6)]          # where each request landed
...     [ada.get("/me").ok for _ in range(6)]                # memory store: only 1 in 3 know ada
"""

from __future__ import annotations

import http.client
import json
import zlib
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Response:
    """One answer: ``status`` (HTTP), ``instance`` that served it (−1: the proxy answered
    itself), ``body`` (decoded JSON, or text), ``retries`` (the proxy's ``X-Retries``)."""

    status: int
    instance: int
    body: object
    retries: int = 0
    headers: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300


class Session:
    """Requests to ``url`` over one keep-alive connection, sending back every cookie it was
    given (the instance's ``sid``, and a sticky balancer's own cookie such as HAProxy's)."""

    def __init__(self, url: str, timeout: float = TIMEOUT_S):
        parts = urlsplit(url)
        self.url = url
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.sid: str | None = None
        self.cookies: dict[str, str] = {}
        self.user: int | None = None  # sent as X-User once logged in: what sticky balancers key on

    def request(self, method: str, path: str) -> Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} \
            if self.cookies else {}
        if self.user is not None:
            headers["X-User"] = str(self.user)
        if method == "POST":
            headers["Content-Length"] = "0"
        for attempt in (1, 2):  # a keep-alive connection the proxy closed: reconnect once
            try:
                self._conn.request(method, path, headers=headers)
                reply = self._conn.getresponse()
                data = reply.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt == 2:
                    raise
        for cookie in reply.headers.get_all("Set-Cookie") or ():
            name, _, value = cookie.split(";", 1)[0].strip().partition("=")
            self.cookies[name] = value
            if name == "sid":
                self.sid = value
        return _response(reply.status, reply.headers, data)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str) -> Response:
        return self.request("POST", path)

    def login(self, user: str) -> Response:
        """``POST /login?user=…``: the instance that answers stores the session. From here on
        every request names its user (``X-User``), as an auth token would, so a sticky or
        hashing balancer can keep the user on one instance — the login included."""
        self.user = zlib.crc32(str(user).encode())
        return self.post(f"/login?user={quote(str(user))}")

    def me(self) -> Response:
        """``GET /me``: 200 with the user if the instance finds the session, else 401."""
        return self.get("/me")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Session({self.url!r}, sid={self.sid!r})"


def _response(status: int, headers, data: bytes) -> Response:
    """``headers``: the reply's headers, names in any case (HAProxy sends them in lower case)."""
    try:
        body = json.loads(data)
    except ValueError:
        body = data.decode(errors="replace")
    return Response(status, int(headers.get("X-Instance", -1)), body,
                    int(headers.get("X-Retries", 0)), dict(headers.items()))

"""Real HAProxy or NGINX as the lab's balancer, configured by :mod:`.config` from the same
policy objects, started and ended like every other child of the lab.

:class:`ExternalProxy` stands where the python :class:`~.proxy.Proxy` stands: the fleet calls
``add``/``move``/``remove`` on it and reads ``state`` (``healthy``, ``inflight``), the lab reads
``port``, ``events``, ``stats``. The program runs in the foreground (HAProxy ``-db``, NGINX
``daemon off``) in its own process group, with its configuration, pid file, logs and sockets
in the lab's temporary directory, through ``_launch.py`` so that it dies with the lab (see
``processes``): no HAProxy or NGINX outlives the lab, even a SIGKILLed kernel.

- **HAProxy** keeps its own view of health; the lab reads it from the runtime API's ``show
  stat`` on a unix socket every ``POLL_S`` s, so ``lab.healthy`` is HAProxy's verdict and
  ``lab.events`` says when HAProxy marked an instance down or up (to within ``POLL_S``). A
  restarted instance gets its new port with ``set server app/sJ addr``, a removed one ``set
  server app/sJ state maint``, a new one ``add server`` (which takes no ``cookie``: an
  instance added while the lab runs gets no sticky-cookie value).
- **NGINX** open source exposes no health view (``max_fails`` ejections are invisible from
  outside), so ``lab.healthy`` stays True and ``lab.events`` holds only the lab's own actions.
  A change of instances rewrites the configuration and reloads it (SIGHUP): the master
  starts new workers and lets the old ones finish, so for a moment both serve.

Times in seconds since the lab started.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from ..balancers import ClusterState, LeastConnections, WeightedRoundRobin
from . import config

POLL_S = 0.02          # how often the lab reads HAProxy's show stat
START_WITHIN_S = 10.0
INSTALL_HINT = ("install it (Debian/Ubuntu: `apt-get install haproxy nginx`; macOS: `brew "
                "install haproxy nginx`; Binder: both are in binder/apt.txt) or set "
                "SCALELAB_{NAME}=/path/to/{program}; proxy='python' needs nothing")
REFUSALS = ("no such", "unknown", "require", "failed", "error", "invalid", "not allowed")
WEIGHTED = (WeightedRoundRobin, LeastConnections)  # the built-ins that read instance weights


def find(program: str) -> str | None:
    """The ``haproxy`` or ``nginx`` binary the lab would start (``SCALELAB_HAPROXY`` /
    ``SCALELAB_NGINX`` name one), or None when there is none."""
    named = os.environ.get(f"SCALELAB_{program.upper()}")
    if named:
        return named if os.access(named, os.X_OK) else None
    found = shutil.which(program)
    if found is None:
        for folder in ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin"):
            candidate = os.path.join(folder, program)
            if os.access(candidate, os.X_OK):
                return candidate
    return found


def require(program: str) -> str:
    """The binary, or an error that says how to get it."""
    binary = find(program)
    if binary is None:
        hint = INSTALL_HINT.format(NAME=program.upper(), program=program)
        raise FileNotFoundError(f"proxy={program!r} needs {program}, and none was found: {hint}")
    return binary


def binary_for(proxy: str, balancer) -> str | None:
    """Check ``Lab(proxy=…)`` before anything starts: the program's binary (None for the
    python proxy); a ValueError for an unknown proxy, a TypeError (saying which proxies can)
    for a balancer the program cannot express, FileNotFoundError when it is not installed."""
    if proxy not in config.PROXIES:
        raise ValueError(f"proxy must be one of {', '.join(map(repr, config.PROXIES))}, "
                         f"got {proxy!r}")
    if proxy == "python":
        return None
    if proxy not in config.supports(balancer):
        writer = config.haproxy if proxy == "haproxy" else config.nginx
        writer(balancer, [1])  # raises the error that says which proxies can run it
    return require(proxy)


@functools.lru_cache(maxsize=8)
def version(binary: str) -> tuple[int, ...]:
    """The program's version, e.g. ``(2, 6, 12)``, from ``-v`` (``(0,)`` if unreadable)."""
    try:
        out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return (0,)
    found = re.search(r"(?:version|nginx/)\s*(\d+(?:\.\d+)+)", out.stdout + out.stderr)
    return tuple(int(p) for p in found.group(1).split(".")) if found else (0,)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the program binds it a moment later;
    :meth:`ExternalProxy.start` tries again if someone else took it in between)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ExternalProxy:
    """HAProxy or NGINX in front of the lab's instances, with the python proxy's interface."""

    def __init__(self, program: str, binary: str, balancer, *, health_check, retries: int,
                 timeout: float, passive_ejection: bool, epoch: float, spawner, tmpdir: str):
        self.program, self.binary, self.balancer = program, binary, balancer
        self.settings = {"health_check": health_check, "retries": retries, "timeout": timeout,
                         "passive_ejection": passive_ejection}
        self.epoch, self.spawner, self.dir = epoch, spawner, Path(tmpdir)
        self.state = ClusterState([], [])
        self.events: list[tuple[float, int, str]] = []
        self.stats: dict = {}
        self.port = 0
        self.config = ""
        self.socket = str(self.dir / "haproxy.sock")
        self._ports: list[int | None] = []
        self._child = None
        self._poller: asyncio.Task | None = None

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.epoch

    # -- the configuration -------------------------------------------------------------------

    def text(self) -> str:
        """The configuration for the instances as they are now."""
        live = [k for k, p in enumerate(self._ports) if p is not None]
        backends = [p if p is not None else self._ports[live[0]] if live else 1
                    for p in self._ports]
        weights = self.state.weight if type(self.balancer) in WEIGHTED else None
        listen = f"127.0.0.1:{self.port}"
        if self.program == "haproxy":
            return config.haproxy(self.balancer, backends, weights=weights, listen=listen,
                                  stats_socket=self.socket, retries_header=True,
                                  **self.settings)
        removed = [k for k, p in enumerate(self._ports) if p is None]
        user = _current_user() if os.geteuid() == 0 else None
        return config.nginx(self.balancer, backends, weights=weights, listen=listen,
                            runtime_dir=str(self.dir), user=user, down=removed, **self.settings)

    def _write(self) -> Path:
        self.config = self.text()
        path = self.dir / f"{self.program}.cfg"
        path.write_text(self.config)
        return path

    def check_command(self, path: Path) -> list[str]:
        """The program's own check of a configuration file."""
        if self.program == "haproxy":
            return [self.binary, "-c", "-q", "-f", str(path)]
        return [self.binary, "-t", "-q", *self._nginx_paths(path)]

    def _run_command(self, path: Path) -> list[str]:
        if self.program == "haproxy":
            return [self.binary, "-db", "-f", str(path)]
        return [self.binary, *self._nginx_paths(path)]

    def _nginx_paths(self, path: Path) -> list[str]:
        """Configuration, prefix and (NGINX 1.19.5 and later: ``-e``) the start-up error log,
        all in the lab's directory; older ones (Ubuntu 22.04 ships 1.18) only warn that they
        cannot open their compiled-in log before they read the configuration's."""
        paths = ["-c", str(path), "-p", str(self.dir)]
        if version(self.binary) >= (1, 19, 5):
            paths += ["-e", str(self.dir / "nginx-error.log")]
        return paths

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> int:
        """Write and check the configuration, start the program, wait until it listens."""
        loop = asyncio.get_running_loop()
        for _ in range(3):
            self.port = free_port()
            path = self._write()
            checked = await loop.run_in_executor(None, _run, self.check_command(path))
            if checked.returncode != 0:
                raise RuntimeError(f"{self.program} rejected the configuration scalelab wrote "
                                   f"(please report it):\n{checked.stdout}{checked.stderr}\n"
                                   f"--- {path}\n{self.config}")
            self._child = self.spawner.launch(self._run_command(path), self.program)
            if await self._listening(self._child):
                break
            await self.spawner.end_async(self._child)
        else:
            raise RuntimeError(f"{self.program} did not start listening within "
                               f"{START_WITHIN_S:g} s; its log says:\n{self._child.log_tail()}")
        if self.program == "haproxy":
            self._poller = loop.create_task(self._poll())
        return self.port

    async def _listening(self, child) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WITHIN_S
        while child.running() and loop.time() < deadline:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            return child.running()
        return False

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._child is not None:
            await self.spawner.end_async(self._child)

    # -- the instances ---------------------------------------------------------------------

    def add(self, port: int, speed: float = 1.0, weight: float = 1.0) -> int:
        """A new instance in rotation; its index."""
        j = self.state.add(speed, weight)
        self._ports.append(port)
        if self._child is None:
            return j  # not started yet: the first configuration lists it
        if self.program == "haproxy":
            weights = self.state.weight if type(self.balancer) in WEIGHTED else None
            options = config.haproxy_server_options(
                j, self.settings["health_check"], self.settings["passive_ejection"],
                None if weights is None else round(weight), None, sticky=False)
            # experimental in HAProxy 2.4 (Ubuntu 22.04), plain from 2.6 on
            self.command(f"experimental-mode on; add server app/s{j} 127.0.0.1:{port} {options}")
            if self.settings["health_check"] is not None:
                self.command(f"enable health app/s{j}")
            self.command(f"enable server app/s{j}")
        else:
            self._reload()
        return j

    def move(self, j: int, port: int) -> None:
        """Instance ``j`` was restarted on ``port``."""
        self._ports[j] = port
        if self.program == "haproxy":
            self.command(f"set server app/s{j} addr 127.0.0.1 port {port}")
        else:
            self._reload()

    def remove(self, j: int) -> None:
        """Instance ``j`` leaves for good: no new requests (not a failure: no event)."""
        self._ports[j] = None
        self.state.healthy[j] = False
        if self.program == "haproxy":
            self.command(f"set server app/s{j} state maint")
        else:
            self._reload()

    def _reload(self) -> None:
        """NGINX: write the new configuration and have the master re-read it (SIGHUP)."""
        self._write()
        if self._child is not None and self._child.running():
            os.kill(self._child.pid, signal.SIGHUP)

    # -- HAProxy's runtime API ---------------------------------------------------------------

    def command(self, line: str, within: float = 2.0) -> str:
        """Send one runtime API command on the stats socket; HAProxy's answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(within)
            conn.connect(self.socket)
            conn.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks).decode(errors="replace").strip()
        if any(word in answer.lower() for word in REFUSALS):
            raise RuntimeError(f"HAProxy refused {line!r}: {answer}")
        return answer

    async def show_stat(self) -> list[dict]:
        """HAProxy's ``show stat``: one dict per frontend, backend and server row."""
        reader, writer = await asyncio.open_unix_connection(self.socket)
        try:
            writer.write(b"show stat\n")
            data = await reader.read()
        finally:
            writer.close()
        lines = data.decode(errors="replace").lstrip("# ").splitlines()
        return [row for row in csv.DictReader(lines) if row.get("pxname")]

    async def _poll(self) -> None:
        while True:
            try:
                self._update(await self.show_stat())
            except (OSError, ValueError):
                pass
            await asyncio.sleep(POLL_S)

    def _update(self, rows: list[dict]) -> None:
        """Copy HAProxy's verdicts into ``state`` and ``events``, its counters into ``stats``."""
        servers = {row["svname"]: row for row in rows if row["pxname"] == "app"}
        healthy = self.state.healthy
        for j in range(len(self._ports)):
            row = servers.get(f"s{j}")
            if row is None or self._ports[j] is None:
                continue
            self.state.inflight[j] = int(row["scur"] or 0)
            up = row["status"].startswith(("UP", "no check"))
            if up != healthy[j]:
                healthy[j] = up
                self.events.append((self.now(), j, "marked up" if up else "marked down"))
        front, back = servers.get("FRONTEND") or _front(rows), servers.get("BACKEND", {})
        self.stats = {
            "requests": _int(front, "req_tot"), "retries": _int(back, "wretr"),
            "redispatches": _int(back, "wredis"),
            "failed": _int(back, "econ") + _int(back, "eresp"),
            "ejections": sum(_int(servers.get(f"s{j}", {}), "chkdown")
                             for j, port in enumerate(self._ports) if port is not None)}


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def _front(rows) -> dict:
    return next((r for r in rows if r["pxname"] == "web" and r["svname"] == "FRONTEND"), {})


def _int(row: dict, field: str) -> int:
    value = row.get(field) or "0"
    return int(value) if value.isdigit() else 0


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name

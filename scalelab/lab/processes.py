"""Starting and ending the lab's child processes so that none outlives the lab.

Four nets, each catching what the one before misses:

1. ``Lab.close()`` (also on an exception, through ``with``) SIGKILLs every process group it
   started, reaps each process and removes its temporary directory; ``atexit`` and garbage
   collection call it too (``weakref.finalize``).
2. Every child runs in its own session (``start_new_session``), so one ``killpg`` ends it and
   anything it started, and the terminal's Ctrl-C does not reach it.
3. On Linux every child asks the kernel to SIGKILL it when its parent *thread* ends
   (``PR_SET_PDEATHSIG``: the instance server does it itself, redis-server through
   ``_launch.py``). The lab starts children only from its own loop thread, which lives exactly
   as long as the lab; instances also exit when their stdin (a pipe from the lab) closes.
4. A janitor process (``_janitor.py``) holds the other end of a pipe from the lab. When the
   lab's process dies, even by SIGKILL, the pipe closes and the janitor kills the groups the lab
   had not ended and removes the temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ._http import timeout as _timeout

HERE = Path(__file__).resolve().parent
# -E -s -S: no PYTHON* variables, no user or site packages: the children use only the standard
# library, and skipping site (and numpy, which `import scalelab` loads) starts them in ~40 ms.
PYTHON_FLAGS = ("-E", "-s", "-S")


class Child:
    """One process the lab started: ``name``, ``pid`` (also its process group) and its log."""

    def __init__(self, popen: subprocess.Popen, name: str, log_path: Path):
        self.popen, self.name, self.log_path = popen, name, log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the child's process group (nothing if it is gone)."""
        if self.popen.returncode is None:
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def __repr__(self) -> str:
        state = "running" if self.running() else f"exited {self.popen.returncode}"
        return f"Child({self.name!r}, pid={self.pid}, {state})"


class Spawner:
    """Starts and ends every child process of one lab (call it from the lab's loop thread)."""

    def __init__(self, tmpdir: str):
        self.tmpdir = Path(tmpdir)
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self._janitor = subprocess.Popen(
            [sys.executable, "-I", "-S", str(HERE / "_janitor.py")], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            cwd="/")
        self._tell(f"dir {self.tmpdir}")

    def _tell(self, line: str) -> None:
        with self._lock:
            try:
                self._janitor.stdin.write(f"{line}\n".encode())
                self._janitor.stdin.flush()
            except (OSError, ValueError):
                pass

    def python(self, script: str, args, name: str, *, port: bool = True) -> Child:
        """Run one of this package's scripts with the current interpreter. With ``port``, its
        stdout is a pipe to read ``PORT n`` from and its stdin a pipe it watches for EOF."""
        argv = [sys.executable, *PYTHON_FLAGS, str(HERE / script), *map(str, args)]
        return self._spawn(argv, name, port=port)

    def launch(self, argv, name: str) -> Child:
        """Run a program (redis-server) that dies with this thread, through ``_launch.py``."""
        launcher = [sys.executable, "-I", "-S", str(HERE / "_launch.py"), str(os.getpid())]
        return self._spawn([*launcher, *map(str, argv)], name, port=False)

    def _spawn(self, argv, name: str, *, port: bool) -> Child:
        log_path = self.tmpdir / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                argv, stdin=subprocess.PIPE if port else subprocess.DEVNULL,
                stdout=subprocess.PIPE if port else log, stderr=log,
                start_new_session=True, cwd=self.tmpdir)
        self._tell(f"pgid {popen.pid}")
        child = Child(popen, name, log_path)
        self.children.append(child)
        return child

    async def read_port(self, child: Child, within: float = 10.0) -> int:
        """Wait for the child's ``PORT n`` line; explain with its log if it never comes."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), child.popen.stdout)
        try:
            async with _timeout(within):
                line = await reader.readline()
        except asyncio.TimeoutError:
            raise RuntimeError(f"{child.name} did not report its port within {within:g} s; "
                               f"its log ({child.log_path}) says:\n{child.log_tail()}") from None
        finally:
            transport.close()
        if not line.startswith(b"PORT "):
            await asyncio.sleep(0.05)  # let it finish writing its traceback
            raise RuntimeError(f"{child.name} failed to start (exit code {child.popen.poll()}); "
                               f"its log says:\n{child.log_tail()}")
        return int(line.split()[1])

    def end(self, child: Child, wait: float = 2.0) -> None:
        """SIGKILL the child's process group and reap it."""
        child.signal(signal.SIGKILL)
        try:
            child.popen.wait(wait)
        except subprocess.TimeoutExpired:
            return  # still listed with the janitor, which kills it at the end
        self._forget(child)

    async def end_async(self, child: Child, wait: float = 2.0) -> None:
        """:meth:`end` without blocking the event loop while the kernel tears the process down."""
        child.signal(signal.SIGKILL)
        deadline = asyncio.get_running_loop().time() + wait
        while child.popen.poll() is None:
            if asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.002)
        self._forget(child)

    def _forget(self, child: Child) -> None:
        if child.popen.stdin is not None:
            try:
                child.popen.stdin.close()
            except OSError:
                pass
        self._tell(f"forget {child.pid}")
        if child in self.children:
            self.children.remove(child)

    def close(self) -> None:
        """End every child, dismiss the janitor, remove the temporary directory."""
        for child in list(self.children):
            self.end(child)
        if not self.children:
            self._tell("done")
        try:
            self._janitor.stdin.close()
        except OSError:
            pass
        try:
            self._janitor.wait(5)
        except subprocess.TimeoutExpired:
            self._janitor.kill()
            self._janitor.wait()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

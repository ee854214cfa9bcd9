"""Make a child process die with the lab: ``python -I -S _launch.py PARENT_PID COMMAND ARGS…``.

Linux only does this for us: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill this
process the moment the thread that started it ends, and the setting survives ``exec``. So the
launcher sets it, checks that its parent is still the one it was started by (the parent may
have died in between), then ``exec``\\s the real command (redis-server) in its place. Instance
processes call :func:`die_with_parent` themselves. Standard library only, no package imports:
it runs as a plain script for a fast start.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; a no-op elsewhere),
    and exit now if the parent is already gone."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if parent_pid and os.getppid() != parent_pid:
        os._exit(1)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python _launch.py PARENT_PID COMMAND [ARGS…]")
    die_with_parent(int(sys.argv[1]))
    os.execvp(sys.argv[2], sys.argv[2:])

"""Clean up after a lab whose Python process died without closing it (a SIGKILLed kernel).

The lab starts this script in its own session with a pipe on its stdin and writes lines:
``pgid N`` (a process group it started), ``forget N`` (that group is gone), ``dir PATH`` (a
temporary directory), ``done`` (the lab closed cleanly). Stdin reaches end-of-file when the lab's
process ends, however it ends; without ``done`` the janitor then SIGKILLs every group still
listed and removes the directories. Standard library only: it runs as a plain script.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: set[int] = set()
    dirs: list[str] = []
    for line in sys.stdin:
        word, _, arg = line.strip().partition(" ")
        if word == "pgid":
            groups.add(int(arg))
        elif word == "forget":
            groups.discard(int(arg))
        elif word == "dir":
            dirs.append(arg)
        elif word == "done":
            return
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()

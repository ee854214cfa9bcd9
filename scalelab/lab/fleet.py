"""The fleet: the lab's instance processes, what state each is in, and what can be done to them.

Instances keep their index for life: a killed instance stays ``killed`` until restarted as a
new process (a new pid and port, the same index), a removed one leaves its index empty. Every
method runs on the lab's event loop, which is also the thread that starts the processes (so
``PR_SET_PDEATHSIG`` ties them to the lab). Events use the simulator's names: ``crash``,
``hang``, ``unhang``, ``recover``, ``launch``, ``drain``; times in seconds since the lab started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from .. import _validate
from ..sim import Instance
from .processes import Spawner
from .proxy import Proxy

ALLOWED = {"kill": ("up", "hung"), "hang": ("up",), "resume": ("hung",),
           "restart": ("up", "hung", "killed"), "remove": ("up", "hung", "killed")}


class Member:
    """One instance index: its spec, process, port, state, and times (``time.monotonic``)."""

    def __init__(self, spec: Instance):
        self.spec = spec
        self.child = None
        self.port = 0
        self.state = "starting"  # up | hung | killed | removed
        self.launched = self.ready = time.monotonic()
        self.removed = float("inf")


class Fleet:
    """The instances of one lab, in front of one proxy."""

    def __init__(self, spawner: Spawner, proxy: Proxy, store_spec: str, iters_per_ms: int,
                 epoch: float):
        self.spawner, self.proxy, self.store_spec = spawner, proxy, store_spec
        self.iters_per_ms, self.epoch = iters_per_ms, epoch
        self.members: list[Member] = []
        self.log: list[tuple[float, int, str]] = []

    async def start(self, specs) -> None:
        """Start the first instances side by side; return when every one listens."""
        members = [Member(spec) for spec in specs]
        children = [self._spawn(i, m) for i, m in enumerate(members)]
        ports = await asyncio.gather(*(self.spawner.read_port(c) for c in children))
        for member, port in zip(members, ports):
            self._join(member, port)

    def _spawn(self, i: int, member: Member):
        member.child = self.spawner.python("instance.py", [
            "--index", i, "--store", self.store_spec, "--speed", member.spec.speed,
            "--slots", member.spec.slots,
            "--iters-per-ms", self.iters_per_ms, "--parent", os.getpid()], f"instance-{i}")
        return member.child

    def _join(self, member: Member, port: int) -> int:
        member.port, member.state, member.ready = port, "up", time.monotonic()
        self.members.append(member)
        return self.proxy.add(port, member.spec.speed, member.spec.weight)

    def index(self, i, verb: str) -> int:
        """``i`` checked: an existing instance in a state that allows ``verb``."""
        i = _validate.integer("i", i, minimum=0)
        if i >= len(self.members):
            raise ValueError(f"i must be an instance index 0..{len(self.members) - 1}, got {i}")
        state = self.members[i].state
        if state not in ALLOWED[verb]:
            hint = {"killed": f"; lab.restart({i}) starts it again",
                    "hung": f"; lab.resume({i}) wakes it, lab.kill({i}) ends it"}.get(state, "")
            raise ValueError(f"cannot {verb} instance {i}: it is {state}{hint}")
        return i

    def _event(self, i: int, what: str) -> None:
        self.log.append((asyncio.get_running_loop().time() - self.epoch, i, what))

    async def kill(self, i) -> None:
        """SIGKILL: the process dies with its requests; the proxy is not told."""
        i = self.index(i, "kill")
        self.members[i].state = "killed"
        self._event(i, "crash")
        await self.spawner.end_async(self.members[i].child)

    async def hang(self, i) -> None:
        """SIGSTOP: the kernel still accepts connections for it, nothing answers."""
        i = self.index(i, "hang")
        self.members[i].child.signal(signal.SIGSTOP)
        self.members[i].state = "hung"
        self._event(i, "hang")

    async def resume(self, i) -> None:
        """SIGCONT: a hung instance goes on where it stopped."""
        i = self.index(i, "resume")
        self.members[i].child.signal(signal.SIGCONT)
        self.members[i].state = "up"
        self._event(i, "unhang")

    async def restart(self, i, wait: bool) -> None:
        """A new process for index ``i``; with ``wait``, until the balancer takes it back."""
        i = self.index(i, "restart")
        member = self.members[i]
        if member.state in ("up", "hung"):
            await self.spawner.end_async(member.child)
        member.state = "starting"
        member.port = await self.spawner.read_port(self._spawn(i, member))
        member.state = "up"
        self.proxy.move(i, member.port)
        self._event(i, "recover")
        while wait and not self.proxy.state.healthy[i]:
            await asyncio.sleep(0.01)

    async def add(self, spec: Instance) -> int:
        """One more instance, in rotation as soon as it listens; its index."""
        member = Member(spec)
        port = await self.spawner.read_port(self._spawn(len(self.members), member))
        i = self._join(member, port)
        self._event(i, "launch")
        return i

    async def remove(self, i, drain: float) -> None:
        """Out of rotation at once; ended when its requests are done or after ``drain`` s."""
        i = self.index(i, "remove")
        self.proxy.remove(i)
        self._event(i, "drain")
        deadline = time.monotonic() + drain
        while self.proxy.state.inflight[i] and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        member = self.members[i]
        if member.state != "killed":
            await self.spawner.end_async(member.child)
        member.state, member.removed = "removed", time.monotonic()

    def status(self) -> list[dict]:
        """One row per instance: index, state, healthy (in the balancer's eyes), inflight,
        pid, port."""
        state = self.proxy.state
        return [{"index": i, "state": m.state, "healthy": state.healthy[i],
                 "inflight": state.inflight[i], "pid": m.child.pid if m.child else None,
                 "port": m.port} for i, m in enumerate(self.members)]

    def lifetimes(self, t0: float) -> list[list[float]]:
        """Per instance ``[launched, ready, removed]`` in seconds after ``t0`` (monotonic),
        clipped at 0; removed is inf while it is still there."""
        return [[max(0.0, m.launched - t0), max(0.0, m.ready - t0), m.removed - t0]
                for m in self.members]


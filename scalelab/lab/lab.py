"""``Lab``: real instance processes, the proxy and a session store on 127.0.0.1, owned by one
object that leaves nothing behind.

>>> import scalelab as sl
>>> with sl.lab.Lab(instances=3, balancer=sl.balancers.RoundRobin(), store="sqlite") as lab:
...     res = lab.load(sl.workloads.constant(rate=200, duration=5), path="/work?ms=20",
...                    failures=[sl.Crash(instance=0, at=2.0)])         # doctest: +SKIP
...     res.summary()["errors"], lab.events                             # doctest: +SKIP

Times in seconds: ``lab.events`` from the lab's start, a load's records and events from the
start of that load. The proxy and the load generator share one event loop in a background
thread (one thread: no GIL hand-offs between them to distort the timings), so the same calls
work in a script and in a Jupyter cell; ``await lab.load_async(…)`` keeps the kernel free
during a load.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
import time
import warnings
import weakref
from typing import TYPE_CHECKING

import numpy as np

from .. import _validate
from ..balancers import RoundRobin, prepare
from ..failures import HealthCheck
from ..result import Result
from ..sim import Instance
from . import _checks, external, redis_server
from .client import Response, Session
from .fleet import Fleet
from .instance import iterations_per_ms
from .loadgen import LoadGenerator
from .loopthread import LoopThread
from .measured import LabResult
from .processes import Spawner
from .proxy import Proxy
from .stores import KINDS, SQLiteStore

if TYPE_CHECKING:
    from typing_extensions import Self

DEFAULT_HEALTH_CHECK = HealthCheck(interval=0.5, timeout=0.5, unhealthy_threshold=2,
                                   healthy_threshold=1)
START_TIMEOUT_S = 20.0
LOAD_DEFAULTS = {"path": "/work?ms=20", "mode": "open", "duration": None, "users": 10,
                 "think": 0.0, "failures": (), "timeout": 10.0, "method": "GET",
                 "connections": 256}
_CPU_ITERS: list[int] = []  # calibrated once per Python process


class _Resources:
    """What must be released even if the ``Lab`` object is lost (``weakref.finalize``)."""

    def __init__(self):
        self.loop: LoopThread | None = None
        self.spawner: Spawner | None = None
        self.tmpdir: str | None = None

    def release(self) -> None:
        if self.spawner is not None:
            self.spawner.close()  # SIGKILL and reap every child, from whichever thread
        if self.loop is not None:
            self.loop.stop()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


class Lab:
    """Real instances behind a real balancer: ``with Lab(…) as lab:`` starts them, leaving the
    block ends them.

    - ``instances``: a count, that many ``sl.Instance()`` (as in ``simulate``: one request
      served at a time), or a list of ``sl.Instance(speed, slots, weight)``: work takes
      ``1/speed`` as long, at most ``slots`` requests are served at once, ``weight`` is what
      weighted balancers read.
    - ``balancer``: a policy object (default ``RoundRobin()``), the same the simulator runs.
    - ``store``: where sessions live: ``"memory"`` (each instance's own), ``"sqlite"`` (one file
      shared by all) or ``"redis"`` (a private redis-server the lab starts).
    - ``health_check``: a ``sl.HealthCheck`` (default: every 0.5 s, down after 2 failures, up
      after 1 success) or None for none; ``passive_ejection``: a refused connection marks an
      instance down at once.
    - ``retries``: attempts on another instance after a failure (refused connection: any
      request; reset or timeout: idempotent ones only); ``timeout``: seconds per attempt.
    - ``proxy``: ``"python"`` (the lab's own proxy, which calls your ``pick()``),
      ``"haproxy"`` or ``"nginx"``: the real program, configured from the same balancer,
      health check, retries and timeout (``lab.proxy_config``; see ``sl.lab.config``).
    """

    def __init__(self, instances=3, balancer=None, store: str = "sqlite", *,
                 health_check: HealthCheck | None = DEFAULT_HEALTH_CHECK, retries: int = 1,
                 timeout: float = 2.0, passive_ejection: bool = True, seed: int = 0,
                 proxy: str = "python"):
        if os.name != "posix":
            raise RuntimeError("the real lab needs Linux or macOS (signals, process groups, "
                               "unix sockets); on Windows run the course in WSL or on Binder")
        self.specs = _checks.instance_specs(instances)
        self.balancer = RoundRobin() if balancer is None else _checks.policy(balancer)
        if store not in KINDS:
            raise ValueError(f"store must be one of {', '.join(map(repr, KINDS))}, got {store!r}")
        if health_check is not None and not isinstance(health_check, HealthCheck):
            raise TypeError(f"health_check must be sl.HealthCheck(interval=…, timeout=…, …) or "
                            f"None, got {health_check!r}")
        self.store, self.health_check = store, health_check
        self.retries = _validate.integer("retries", retries, minimum=0)
        self.timeout = _validate.positive("timeout", timeout)
        self.passive_ejection = bool(passive_ejection)
        self.seed = _validate.seed(seed)
        self.proxy, self.proxy_binary = proxy, external.binary_for(proxy, self.balancer)
        self.redis_server: str | None = redis_server.require() if store == "redis" else None
        self.redis_version: str | None = None
        self.startup_seconds = float("nan")
        self.tmpdir: str | None = None
        self._fleet: Fleet | None = None
        self._res = _Resources()
        self._finalizer = weakref.finalize(self, self._res.release)
        self._state = "new"

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the store, the instances and the proxy; ``with Lab(…)`` calls this."""
        if self._state != "new":
            raise RuntimeError(f"this lab is {self._state}; make a new Lab to start again")
        began = time.perf_counter()
        self._state = "starting"
        if not _CPU_ITERS:
            _CPU_ITERS.append(iterations_per_ms())
        self._loop = self._res.loop = LoopThread("scalelab-lab")
        try:
            self._loop.run(self._start(), timeout=START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        self._state = "running"
        self.startup_seconds = time.perf_counter() - began
        return self

    async def _start(self) -> None:
        self._epoch = asyncio.get_running_loop().time()
        # a unix socket path must fit in ~100 bytes: macOS's own temp dir is too deep
        short = "/tmp" if len(tempfile.gettempdir()) > 40 and os.path.isdir("/tmp") else None
        self.tmpdir = self._res.tmpdir = tempfile.mkdtemp(prefix="scalelab-lab-", dir=short)
        spawner = self._res.spawner = Spawner(self.tmpdir)
        if self.store == "redis":
            _, sock, self.redis_version = await redis_server.start(spawner, self.tmpdir,
                                                                   self.redis_server)
            store_spec = f"redis:{sock}"
        elif self.store == "sqlite":
            path = os.path.join(self.tmpdir, "sessions.db")
            SQLiteStore.create(path)
            store_spec = f"sqlite:{path}"
        else:
            store_spec = "memory"
        prepare(self.balancer, np.random.default_rng(self.seed))
        settings = {"health_check": self.health_check, "retries": self.retries,
                    "timeout": self.timeout, "passive_ejection": self.passive_ejection,
                    "epoch": self._epoch}
        proxy = Proxy(self.balancer, **settings) if self.proxy_binary is None else \
            external.ExternalProxy(self.proxy, self.proxy_binary, self.balancer, **settings,
                                   spawner=spawner, tmpdir=self.tmpdir)
        self._fleet = Fleet(spawner, proxy, store_spec, _CPU_ITERS[0], self._epoch)
        await self._fleet.start(self.specs)
        _checks.policy_fits(self.balancer, proxy)  # the simulator's message, before any request
        await proxy.start()

    def close(self) -> None:
        """End every process, remove every temporary file. Safe to call twice."""
        if self._state == "closed":
            return
        self._state = "closed"
        if self._fleet is not None and self._loop.alive:
            try:
                self._loop.run(self._fleet.proxy.close(), timeout=5)
            except (RuntimeError, OSError, TimeoutError, concurrent.futures.TimeoutError):
                pass  # the processes are ended below all the same
        self._finalizer()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what a learner reads --------------------------------------------------------------

    @property
    def url(self) -> str:
        """The proxy's address, e.g. ``http://127.0.0.1:41234``."""
        self._check_running()
        return f"http://127.0.0.1:{self._fleet.proxy.port}"

    @property
    def events(self) -> list[tuple[float, int, str]]:
        """``(seconds since start, instance, what)``: crash, hang, unhang, recover, launch,
        drain (the lab's actions) and marked down/up (the proxy's health checks)."""
        return sorted(self._fleet.log + self._fleet.proxy.events) if self._fleet else []

    @property
    def proxy_config(self) -> str | None:
        """The HAProxy or NGINX configuration the lab runs (None for the python proxy)."""
        return getattr(self._fleet.proxy, "config", None) if self._fleet else None

    @property
    def healthy(self) -> list[bool]:
        """Which instances the balancer may send requests to now (with HAProxy, its own verdict
        from ``show stat``; NGINX open source does not expose one: all True)."""
        return list(self._fleet.proxy.state.healthy) if self._fleet else []

    @property
    def stats(self) -> dict:
        """The proxy's counters: requests, retries, failed, timeouts, no_instance, ejections
        (HAProxy: requests, retries, redispatches, failed, ejections; NGINX: none)."""
        return dict(self._fleet.proxy.stats) if self._fleet else {}

    @property
    def pids(self) -> list[int]:
        """Process ids of every child still running (instances, redis-server)."""
        spawner = self._res.spawner
        return [c.pid for c in spawner.children if c.running()] if spawner else []

    def status(self) -> list[dict]:
        """One row per instance: index, state, healthy, inflight, pid, port."""
        return self._fleet.status() if self._fleet else []

    def session(self, user: str | None = None) -> Session:
        """A client with a cookie jar, logged in as ``user`` if given."""
        session = Session(self.url)
        if user is not None:
            session.login(user)
        return session

    def get(self, path: str = "/health") -> Response:
        """One ``GET`` through the proxy, on a fresh connection."""
        with Session(self.url) as session:
            return session.get(path)

    # -- doing things to instances ---------------------------------------------------------

    def kill(self, i: int) -> None:
        """SIGKILL instance ``i``: it dies at once, in-flight requests and all."""
        self._run(self._fleet.kill(i) if self._fleet else None)

    def hang(self, i: int) -> None:
        """SIGSTOP instance ``i``: it still accepts connections but answers nothing."""
        self._run(self._fleet.hang(i) if self._fleet else None)

    def resume(self, i: int) -> None:
        """SIGCONT a hung instance ``i``."""
        self._run(self._fleet.resume(i) if self._fleet else None)

    def restart(self, i: int, wait: bool = True) -> None:
        """Start instance ``i`` again (killing it first if needed) as a new process; with
        ``wait``, return once the balancer has it back in rotation."""
        self._run(self._fleet.restart(i, wait) if self._fleet else None, START_TIMEOUT_S)

    def add(self, instance: Instance | None = None) -> int:
        """Start one more instance (an ``sl.Instance`` spec, or like the first); its index."""
        if instance is not None and not isinstance(instance, Instance):
            raise TypeError(f"instance must be sl.Instance(speed=…, slots=…) or None, "
                            f"got {instance!r}")
        _checks.room_for_one_more(len(self._fleet.members) if self._fleet else 0)
        if instance is not None:
            _checks.check_slots(instance, "instance")
        return self._run(self._fleet.add(instance or self.specs[0])
                         if self._fleet else None, START_TIMEOUT_S)

    def remove(self, i: int, drain: float = 2.0) -> None:
        """Take instance ``i`` out of rotation, wait up to ``drain`` s for its requests to
        finish, then end it. Its index stays taken."""
        drain = _validate.number("drain", drain, minimum=0)
        self._run(self._fleet.remove(i, drain) if self._fleet else None, drain + 10)

    def _run(self, coro, timeout: float = 10.0):
        if coro is None or self._state != "running":
            if coro is not None:
                coro.close()
            self._check_running()
        return self._loop.run(coro, timeout)

    def _check_running(self) -> None:
        if self._state != "running":
            raise RuntimeError("this lab has not started: use `with sl.lab.Lab(…) as lab:` or "
                               "lab.start()" if self._state == "new"
                               else f"this lab is {self._state}")

    # -- load ------------------------------------------------------------------------------

    def load(self, workload=None, *, path: str = "/work?ms=20", mode: str = "open",
             duration: float | None = None, users: int = 10, think: float = 0.0,
             failures=(), timeout: float = 10.0, method: str = "GET",
             connections: int = 256) -> Result:
        """Send real requests through the proxy; a ``Result`` like ``simulate``'s.

        - ``workload``: a ``sl.workloads`` Workload replayed in real time (open loop), or a
          rate in requests per second (then ``duration`` s of constant arrivals).
        - ``mode="closed"``: ``users`` clients send, wait, think (mean ``think`` s) for
          ``duration`` s (or the workload's duration).
        - ``failures``: ``sl.Crash(instance, at, recover_at)`` kills (and restarts) an instance,
          ``sl.Hang(instance, at, until)`` stops (and resumes) one, ``at`` s into the load.
        - ``timeout``: seconds the client waits for an answer before counting a timeout.

        Only a 2xx answer is served; every other answer (its status is in the records' ``http``)
        and no answer is an error, and the summary splits them: refused, timed_out, http_4xx,
        http_5xx. If the balancer's ``pick`` raised, the load raises that error once it ends.
        """
        self._check_running()
        return _outcome(self._loop.run(self._load(
            workload, path, mode, duration, users, think, failures, timeout, method, connections)))

    async def load_async(self, workload=None, **options) -> Result:
        """``await lab.load_async(…)`` in a notebook: :meth:`load`, while the kernel stays
        free to run other cells (``lab.kill(0)``, say)."""
        unknown = set(options) - set(LOAD_DEFAULTS)
        if unknown:
            raise TypeError(f"load_async got unknown options {sorted(unknown)}; it takes "
                            f"{', '.join(LOAD_DEFAULTS)}")
        self._check_running()
        future = self._loop.submit(self._load(workload, **{**LOAD_DEFAULTS, **options}))
        return _outcome(await asyncio.wrap_future(future))

    async def _load(self, workload, path, mode, duration, users, think, failures, timeout,
                    method, connections) -> tuple[LabResult, Exception | None, Exception | None]:
        workload, duration = _checks.workload(workload, duration, mode)
        plan = _checks.failure_plan(failures, len(self._fleet.members))
        gen = LoadGenerator(self.url, path=path, method=method,
                            timeout=_validate.positive("timeout", timeout),
                            connections=_validate.integer("connections", connections, minimum=1),
                            seed=self.seed)
        if mode == "closed":
            users = _checks.closed_users(users)
            think = _validate.number("think", think, minimum=0)
        t0 = asyncio.get_running_loop().time() + 0.05
        raised_before = _checks.balancer_errors(self._fleet.proxy)
        actions = asyncio.ensure_future(self._play(plan, t0)) if plan else None
        try:
            if mode == "open":
                records = await gen.open_loop(workload, t0)
            else:
                records = await gen.closed_loop(users, duration, think, t0)
        finally:
            if actions is not None:
                actions.cancel()
        problem = None
        if actions is not None and actions.done() and not actions.cancelled():
            problem = actions.exception()
        since = t0 - self._epoch
        events = [(t - since, i, what) for t, i, what in self.events if t >= since]
        result = LabResult(records, [m.spec for m in self._fleet.members], duration,
                           late=gen.late,
                           balancer=repr(self.balancer), seed=self.seed, events=events,
                           lifetimes=np.array(self._fleet.lifetimes(t0)))
        raised = _checks.balancer_errors(self._fleet.proxy) - raised_before
        return result, problem, _checks.pick_failure(self._fleet.proxy, raised, len(records))

    async def _play(self, plan, t0: float) -> None:
        """Do the planned failures at their times (on the lab's loop)."""
        loop, fleet = asyncio.get_running_loop(), self._fleet
        actions = {"kill": fleet.kill, "hang": fleet.hang, "resume": fleet.resume,
                   "restart": lambda i: fleet.restart(i, wait=False)}
        for at, action, i in plan:
            await asyncio.sleep(max(0.0, t0 + at - loop.time()))
            await actions[action](i)

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        where = f" at {self.url}" if self._state == "running" else ""
        states = ", ".join(row["state"] for row in self.status())
        count = len(self._fleet.members) if self._fleet else len(self.specs)
        return (f"Lab({count} instances [{states}], {type(self.balancer).__name__}, "
                f"store={self.store!r}{_proxy_note(self.proxy)}, {self._state}{where})")

    def _repr_html_(self) -> str:
        rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row.values()) + "</tr>"
                       for row in self.status())
        head = "".join(f"<th>{k}</th>" for k in ("instance", "state", "healthy", "inflight",
                                                 "pid", "port"))
        return f"<table><caption>{self!r}</caption><tr>{head}</tr>{rows}</table>"


def _proxy_note(proxy: str) -> str:
    return "" if proxy == "python" else f", proxy={proxy!r}"


def _outcome(outcome: tuple[LabResult, Exception | None, Exception | None]) -> LabResult:
    """The result of a load. An exception the balancer raised is raised here; a failure that
    could not be played, or a load generator that fell behind, becomes a warning."""
    result, problem, pick_error = outcome
    if pick_error is not None:
        raise pick_error from pick_error.__cause__
    if problem is not None:
        warnings.warn(f"a planned failure could not be played: {problem}", stacklevel=3)
    if result.behind is not None:
        warnings.warn(result.behind, stacklevel=3)
    return result

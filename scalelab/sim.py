"""The cluster simulator: requests arrive, a balancer routes each one to an instance, each
instance serves its queue first-come first-served.

Times are in seconds. Because service is FIFO, a request's finish time is known the moment it
starts, so no event heap of requests is needed:

- policies that ignore the cluster's state (round-robin, random) run as a numpy scan per
  instance (the Lindley recursion);
- the built-in least-loaded policies (and round-robin under an autoscaler) run through a
  kernel (``kernels``), epoch by epoch between the autoscaler's events (``epochs``);
- everything else (a learner's policy, failures, health checks, sessions, bounded queues,
  several slots) runs in ``engine.Loop``, one pass over the arrivals.

>>> import scalelab as sl
>>> wl = sl.workloads.poisson(rate=80, duration=60, seed=1)
>>> res = sl.simulate(wl, instances=4, service_time=0.04, seed=1)
>>> res.summary()["requests"] == len(wl)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _validate, epochs
from .autoscalers import Observation
from .balancers import RoundRobin, prepare
from .engine import Loop
from .failures import Failure, HealthCheck
from .kernels import kernel_for
from .result import Result, Status, empty_records
from .servicetimes import as_service_time
from .sessions import SessionStore
from .workloads import Workload

DEFAULT_HANG_TIMEOUT = 30.0


@dataclass(frozen=True)
class Instance:
    """One server: ``speed`` multiplies its service rate, ``slots`` is how many requests it
    serves at once (a FIFO queue in front), ``weight`` is what weighted balancers read."""

    speed: float = 1.0
    slots: int = 1
    weight: float = 1.0

    def __post_init__(self):
        _validate.positive("speed", self.speed)
        _validate.integer("slots", self.slots, minimum=1)
        _validate.positive("weight", self.weight)


def simulate(workload: Workload, instances=1, service_time=None, balancer=None, seed: int = 0,
             queue_limit: int | None = None, health_check: HealthCheck | None = None,
             failures=(), retries: int = 0, timeout: float | None = None, sessions=None,
             autoscaler=None, control_interval: float = 15.0, min_instances: int = 1,
             max_instances: int = 20, boot_time: float = 60.0) -> Result:
    """Run ``workload`` through a cluster and return a :class:`Result`.

    - ``instances``: a count, or a list of :class:`Instance` (speed, slots, weight).
    - ``service_time``: seconds of work per request on a speed-1 instance; a float is an
      exponential with that mean, or pass ``sl.Constant``, ``sl.LogNormal``, ``sl.Pareto``.
    - ``balancer``: a policy object (default ``RoundRobin()``).
    - ``queue_limit``: at most this many requests wait per instance; more are rejected
      (status ``rejected``, counted as errors). ``None`` means unbounded.
    - ``health_check``: a :class:`HealthCheck`; without one the balancer never learns that an
      instance died.
    - ``failures``: a list of :class:`Crash`, :class:`Hang`, :class:`Slowdown`.
    - ``retries``: how many times to resend a request to another instance when its
      connection is refused or its instance crashes while holding it (0 = never). Like NGINX's
      ``proxy_next_upstream error``, this treats every request as idempotent (safe to resend).
    - ``timeout``: clients give up on a request after this many seconds (status ``timeout``);
      ``None`` means they wait forever, except on a hung instance, where it is 30 s.
    - ``sessions``: where session state lives, ``sl.sessions.InMemory()`` or
      ``sl.sessions.SharedStore(…)``, for workloads with users.
    - ``autoscaler``: a policy with ``desired(observation)``, asked every ``control_interval``
      seconds; the answer is kept within [``min_instances``, ``max_instances``]; a new instance
      takes traffic ``boot_time`` seconds (its warm-up) after launch. New instances copy
      ``instances[0]``.
    - ``seed``: the same seed gives the same numbers.

    Utilization ≥ 1 is allowed: the queue grows and the result shows it.
    """
    if not isinstance(workload, Workload):
        raise TypeError("workload must be a Workload (e.g. sl.workloads.poisson(rate=10, "
                        f"duration=60)), got {type(workload).__name__}")
    cluster = _Cluster(instances, service_time, balancer, seed, queue_limit, health_check,
                       failures, retries, timeout, sessions, autoscaler, control_interval,
                       min_instances, max_instances, boot_time)
    return cluster.run_open(workload)


def simulate_closed(users: int, duration: float, think_time: float = 0.0, **cluster) -> Result:
    """A closed-loop run: ``users`` each send a request, wait for its answer, think
    ``think_time`` seconds and send the next, until ``duration`` seconds. Latency is measured
    from each request's actual send, as closed-loop load generators do — so a stalled server
    also stalls the senders, and the requests that would have queued are never measured.
    Takes every cluster argument of :func:`simulate` (instances, service_time, balancer, …).

    >>> import scalelab as sl
    >>> res = sl.simulate_closed(users=10, duration=60, think_time=1.0, service_time=0.05)
    """
    users = _validate.integer("users", users, minimum=1)
    duration = _validate.positive("duration", duration)
    think_time = _validate.number("think_time", think_time, minimum=0)
    unknown = set(cluster) - set(_CLUSTER_ARGUMENTS)
    if unknown:
        raise TypeError(f"simulate_closed got unexpected arguments {sorted(unknown)}; "
                        f"allowed: users, duration, think_time, {', '.join(_CLUSTER_ARGUMENTS)}")
    return _Cluster(**cluster).run_closed(users, think_time, duration)


_CLUSTER_ARGUMENTS = ("instances", "service_time", "balancer", "seed", "queue_limit",
                      "health_check", "failures", "retries", "timeout", "sessions", "autoscaler",
                      "control_interval", "min_instances", "max_instances", "boot_time")


class _Cluster:
    """Everything ``simulate`` is told about the cluster, checked before any work is done."""

    def __init__(self, instances=1, service_time=None, balancer=None, seed=0, queue_limit=None,
                 health_check=None, failures=(), retries=0, timeout=None, sessions=None,
                 autoscaler=None, control_interval=15.0, min_instances=1, max_instances=20,
                 boot_time=60.0):
        self.specs = instance_specs(instances)
        if service_time is None:
            raise TypeError("service_time is required: the mean seconds of work per request, "
                            "e.g. service_time=0.04")
        self.distribution = as_service_time(service_time)
        self.balancer = RoundRobin() if balancer is None else balancer
        if not callable(getattr(self.balancer, "pick", None)):
            raise TypeError("balancer must have a pick(instances, request) method, "
                            f"got {self.balancer!r}")
        if queue_limit is not None:
            queue_limit = _validate.integer("queue_limit", queue_limit, minimum=0)
        self.failures = _check_failures(failures, len(self.specs))
        if health_check is not None and not isinstance(health_check, HealthCheck):
            raise TypeError("health_check must be sl.HealthCheck(interval=…, timeout=…, …) or "
                            f"None, got {health_check!r}")
        self.retries = _validate.integer("retries", retries, minimum=0)
        self.timeout = None if timeout is None else _validate.positive("timeout", timeout)
        if sessions is not None and not isinstance(sessions, SessionStore):
            raise TypeError("sessions must be sl.sessions.InMemory() or "
                            f"sl.sessions.SharedStore(…) or None, got {sessions!r}")
        self.scaling = None if autoscaler is None else _Scaling(
            autoscaler, control_interval, min_instances, max_instances, boot_time,
            len(self.specs))
        self.seed = _validate.seed(seed)
        self.queue_limit, self.health_check, self.sessions = queue_limit, health_check, sessions

    def _start(self):
        """Seeded generators for the work and the policy; policies reset for a fresh run."""
        work_seed, balancer_seed, stagger_seed = np.random.SeedSequence(self.seed).spawn(3)
        prepare(self.balancer, np.random.default_rng(balancer_seed))
        if self.scaling is not None:
            self.scaling.reset()
        return np.random.default_rng(work_seed), np.random.default_rng(stagger_seed)

    def _loop(self, workload, work) -> Loop:
        return Loop(workload, work, self.specs, self.balancer, queue_limit=self.queue_limit,
                    health_check=self.health_check, failures=self.failures,
                    retries=self.retries, sessions=self.sessions, scaling=self.scaling,
                    hang_timeout=self.timeout if self.timeout is not None
                    else DEFAULT_HANG_TIMEOUT)

    def run_open(self, workload: Workload) -> Result:
        work_rng, _ = self._start()
        work = self.distribution.sample(work_rng, len(workload))
        if workload.cost is not None:
            work = work * workload.cost
        assign = _vectorized_assign(self.balancer)
        plain = (self.queue_limit is None and not self.failures and self.sessions is None
                 and all(s.slots == 1 for s in self.specs))
        if assign is not None and plain and self.scaling is None:
            records = _run_lindley(workload.arrivals, work, self.specs,
                                   assign(len(workload), len(self.specs)))
            if workload.user is not None:
                records["user"] = workload.user
            return self._result(records, self.specs, workload.duration, None, [])
        kernel = None
        if plain and self.health_check is None and workload.user is None:
            kernel = kernel_for(self.balancer, self.specs,
                                self.scaling.max_instances if self.scaling else None)
        if kernel is not None:  # the kernel between timed events, the loop at them
            loop = self._loop(Workload(np.empty(0), workload.duration), np.empty(0))
            records, lifetimes, log = epochs.run(loop, kernel, workload.arrivals, work)
            return self._result(records, loop.specs, workload.duration, lifetimes, log)
        loop = self._loop(workload, work)
        records, lifetimes, log = loop.run()
        return self._result(records, loop.specs, workload.duration, lifetimes, log)

    def run_closed(self, users: int, think_time: float, duration: float) -> Result:
        work_rng, stagger_rng = self._start()
        loop = self._loop(Workload(np.empty(0), duration), np.empty(0))
        records, lifetimes, log = loop.run_closed(
            users, think_time, duration, lambda n: self.distribution.sample(work_rng, n),
            stagger_rng)
        return self._result(records, loop.specs, duration, lifetimes, log)

    def _result(self, records, specs, duration, lifetimes, log) -> Result:
        if self.timeout is not None:
            late = (records["status"] == Status.OK) & \
                (records["end"] - records["arrival"] > self.timeout)
            records["status"][late] = Status.TIMEOUT
        return Result(records, specs, duration, balancer=repr(self.balancer), seed=self.seed,
                      events=log, lifetimes=lifetimes)


class _Scaling:
    """The control loop's settings, and the bounds kept around the policy's answer."""

    def __init__(self, autoscaler, interval, min_instances, max_instances, boot_time, start):
        if not callable(getattr(autoscaler, "desired", None)):
            raise TypeError("autoscaler must have a desired(observation) method, "
                            f"got {autoscaler!r}")
        self.autoscaler = autoscaler
        self.interval = _validate.positive("control_interval", interval)
        self.min_instances = _validate.integer("min_instances", min_instances, minimum=1)
        self.max_instances = _validate.integer("max_instances", max_instances,
                                               minimum=self.min_instances)
        self.boot_time = _validate.number("boot_time", boot_time, minimum=0)
        if not self.min_instances <= start <= self.max_instances:
            raise ValueError(f"instances must start within [min_instances, max_instances] = "
                             f"[{self.min_instances}, {self.max_instances}], got {start}")

    def reset(self) -> None:
        reset = getattr(self.autoscaler, "reset", None)
        if callable(reset):
            reset()

    def desired(self, observation: Observation) -> int:
        wanted = self.autoscaler.desired(observation)
        if isinstance(wanted, (bool, np.bool_)) or not isinstance(wanted, (int, np.integer)):
            if isinstance(wanted, (float, np.floating)) and math.isfinite(wanted) \
                    and wanted == int(wanted):
                wanted = int(wanted)
            else:
                raise TypeError(f"{type(self.autoscaler).__name__}.desired returned {wanted!r}; "
                                "it must return a whole number of instances")
        return max(self.min_instances, min(self.max_instances, int(wanted)))


def _check_failures(failures, n_instances: int) -> list[Failure]:
    if isinstance(failures, Failure):
        failures = [failures]
    if not isinstance(failures, (list, tuple)):
        raise TypeError("failures must be a list of sl.Crash/sl.Hang/sl.Pause/sl.Slowdown, "
                        f"got {failures!r}")
    for k, failure in enumerate(failures):
        if not isinstance(failure, Failure):
            raise TypeError(f"failures[{k}] must be sl.Crash, sl.Hang, sl.Pause or sl.Slowdown, "
                            f"got {failure!r}")
        if failure.instance >= n_instances:
            raise ValueError(f"failures[{k}].instance must be < {n_instances} (instances are "
                             f"0..{n_instances - 1}), got {failure.instance}")
    return list(failures)


def instance_specs(instances) -> list[Instance]:
    """``instances`` as a list of :class:`Instance`: a count, one spec, or a list of specs."""
    if isinstance(instances, Instance):
        return [instances]
    if isinstance(instances, (list, tuple)):
        if not instances:
            raise ValueError("instances must hold at least one sl.Instance, got an empty list")
        for i, spec in enumerate(instances):
            if not isinstance(spec, Instance):
                raise TypeError(f"instances[{i}] must be sl.Instance(speed=…, slots=…), "
                                f"got {spec!r}")
        return list(instances)
    count = _validate.integer("instances", instances, minimum=1)
    return [Instance() for _ in range(count)]


def _vectorized_assign(balancer):
    """The policy's fixed routing when nothing a subclass overrides could change it; else None.

    A subclass that overrides ``pick`` or any hook must not inherit a vectorized shortcut that
    skips it: the routing belongs to the class that defines it, and only a run whose ``pick``,
    ``on_start``, ``on_finish`` and ``reset`` all come from that class or its bases may use it.
    """
    cls = type(balancer)
    if getattr(cls, "_fixed_routing", None) is None:
        return None
    mro = cls.__mro__
    owner = next(k for k, c in enumerate(mro) if "_fixed_routing" in vars(c))
    for hook in ("pick", "on_start", "on_finish", "reset"):
        if any(hook in vars(c) for c in mro[:owner]) or hook in vars(balancer):
            return None
    return balancer._fixed_routing


def _run_lindley(arrivals, work, specs, assignment) -> np.ndarray:
    """FIFO single-slot instances with routing fixed in advance: per instance,
    end_k = max(arrival_k, end_{k−1}) + service_k, computed with cumsum and a running max."""
    labels = assignment.astype(np.int16 if len(specs) < 2**15 else np.int32)
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=len(specs)))])
    start, service = np.empty(len(arrivals)), np.empty(len(arrivals))
    for j, spec in enumerate(specs):
        index = order[bounds[j]:bounds[j + 1]]
        if len(index) == 0:
            continue
        a = arrivals[index]
        s = work[index] / spec.speed
        c = np.cumsum(s)
        done = c + np.maximum.accumulate(a - c + s)
        previous_done = np.concatenate([[-np.inf], done[:-1]])
        start[index] = np.maximum(a, previous_done)
        service[index] = s
    records = empty_records(len(arrivals))  # whole fields at once: strided scatters are slow
    records["arrival"], records["instance"] = arrivals, labels
    records["start"], records["service"] = start, service
    np.add(start, service, out=records["end"])
    return records

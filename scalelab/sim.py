"""The cluster simulator: requests arrive, a balancer routes each one to an instance, each
instance serves its queue first-come first-served.

Times are in seconds. Because service is FIFO, a request's finish time is known the moment it
starts, so no event heap of requests is needed. One function, :func:`engine_for`, decides how
a run executes, by one rule:

1. anything beyond routing and queueing (a queue limit, failures, health checks, sessions)
   or a closed loop: the **general loop** (``engine.Loop``), which calls the policy's
   ``pick`` and hooks for every request;
2. otherwise, if the policy offers a fast path (``routing.fast_path``: built-in policies do,
   a subclass that overrides ``pick`` or a hook does not) and, without an autoscaler, its
   routing is fixed in advance (round-robin, random): the **numpy scan**, per instance the
   Lindley recursion;
3. otherwise, if the fast path has a kernel (``kernels``): the **kernel**, epoch by epoch
   between the autoscaler's events (``epochs``);
4. otherwise the general loop, streamlined when there is no autoscaler.

Every path makes the same picks for the same seed; the tests check it.

>>> import scalelab as sl
>>> wl = sl.workloads.poisson(rate=80, duration=60, seed=1)
>>> res = sl.simulate(wl, instances=4, service_time=0.04, seed=1)
>>> res.summary()["requests"] == len(wl)
True
"""

from __future__ import annotations

import numpy as np

from . import _validate, epochs
from .balancers import prepare
from .config import ARGUMENTS, ClusterConfig, Instance, instance_specs  # noqa: F401
from .engine import Loop
from .failures import HealthCheck
from .result import Result, Status
from .routing import fast_path
from .workloads import Workload

MAX_USERS = 100_000  # closed-loop senders one run keeps

SCAN, KERNEL, LOOP, STREAMLINED = "numpy scan", "kernel", "general loop", "streamlined loop"


def simulate(workload: Workload, instances=1, service_time=None, balancer=None, seed: int = 0,
             queue_limit: int | None = None, health_check: HealthCheck | None = None,
             failures=(), retries: int = 0, timeout: float | None = None, sessions=None,
             autoscaler=None, control_interval: float = 15.0, min_instances: int = 1,
             max_instances: int = 20, boot_time: float = 60.0) -> Result:
    """Run ``workload`` through a cluster and return a :class:`Result`.

    - ``instances``: a count (that many ``Instance()``: speed 1, one slot), or a list of
      :class:`Instance` (speed, slots, weight); at most 10,000.
    - ``service_time``: seconds of work per request on a speed-1 instance; a float is an
      exponential with that mean, or pass ``sl.Constant``, ``sl.LogNormal``, ``sl.Pareto``.
    - ``balancer``: a policy object, ``RoundRobin()`` not ``RoundRobin`` (the default).
    - ``queue_limit``: at most this many requests wait per instance; more are rejected
      (status ``rejected``, counted as errors). ``None`` means unbounded.
    - ``health_check``: a :class:`HealthCheck`; without one the balancer never learns that an
      instance died.
    - ``failures``: a list of :class:`Crash`, :class:`Hang`, :class:`Slowdown`.
    - ``retries``: how many times to resend a request to another instance (0 = never) when
      its connection is refused (always safe: it never arrived) or when its instance crashes
      while holding it (safe only if the request is idempotent). It resends both, so it models
      every request as idempotent, like NGINX with ``proxy_next_upstream error timeout
      non_idempotent``; NGINX's default (since 1.9.13) does not pass a POST, LOCK or PATCH to
      the next server once one received it. Requests that time out are not resent.
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
    config = ClusterConfig(
        instances=instances, service_time=service_time, balancer=balancer, seed=seed,
        queue_limit=queue_limit, health_check=health_check, failures=failures, retries=retries,
        timeout=timeout, sessions=sessions, autoscaler=autoscaler,
        control_interval=control_interval, min_instances=min_instances,
        max_instances=max_instances, boot_time=boot_time)
    config.check_horizon(float(workload.arrivals[-1]) if len(workload) else 0.0)
    return run_open(config, workload)


def simulate_closed(users: int, duration: float, think_time: float = 0.0, **cluster) -> Result:
    """A closed-loop run: ``users`` (at most 100,000) each send a request, wait for its answer,
    think ``think_time`` seconds and send the next, until ``duration`` seconds. Latency is
    measured from each request's actual send, as closed-loop load generators do — so a stalled
    server also stalls the senders, and the requests that would have queued are never
    measured. Takes every cluster argument of :func:`simulate` (instances, service_time,
    balancer, …).

    >>> import scalelab as sl
    >>> res = sl.simulate_closed(users=10, duration=60, think_time=1.0, service_time=0.05)
    """
    users = _validate.integer("users", users, minimum=1)
    if users > MAX_USERS:
        raise ValueError(f"users must be between 1 and {MAX_USERS:,}, got {users:,}")
    duration = _validate.positive("duration", duration)
    think_time = _validate.number("think_time", think_time, minimum=0)
    unknown = set(cluster) - set(ARGUMENTS)
    if unknown:
        raise TypeError(f"simulate_closed got unexpected arguments {sorted(unknown)}; "
                        f"allowed: users, duration, think_time, {', '.join(ARGUMENTS)}")
    config = ClusterConfig(**cluster)
    config.check_horizon(duration)
    return run_closed(config, users, think_time, duration)


def engine_for(config: ClusterConfig, workload: Workload):
    """``(how, kernel)``: how an open-loop run of ``workload`` executes — ``SCAN``,
    ``KERNEL``, ``STREAMLINED`` or ``LOOP`` — by the rule in this module's docstring, and the
    policy's kernel for the first two. Call after ``prepare``: a fast path starts from the
    policy's fresh run state."""
    if not config.routing_only:
        return LOOP, None
    kernel = fast_path(config.balancer, config.instances, config.most_instances)
    if kernel is not None and config.autoscaler is None:
        assignment = kernel.fixed(len(workload))
        if assignment is not None:
            return SCAN, assignment
    if kernel is not None and kernel.routes:
        return KERNEL, kernel
    return (STREAMLINED if config.autoscaler is None else LOOP), None


def _start(config: ClusterConfig):
    """Seeded generators for the work and the stagger; the policies reset for a fresh run."""
    work_seed, balancer_seed, stagger_seed = np.random.SeedSequence(config.seed).spawn(3)
    prepare(config.balancer, np.random.default_rng(balancer_seed))
    if config.autoscaler is not None:
        reset = getattr(config.autoscaler, "reset", None)
        if callable(reset):
            reset()
    return np.random.default_rng(work_seed), np.random.default_rng(stagger_seed)


def run_open(config: ClusterConfig, workload: Workload) -> Result:
    """Replay ``workload``'s arrivals through the cluster, by the path :func:`engine_for`
    chooses."""
    work_rng, _ = _start(config)
    work = config.service_time.sample(work_rng, len(workload))
    if workload.cost is not None:
        work = work * workload.cost
    how, plan = engine_for(config, workload)
    if how == SCAN:
        columns = _run_lindley(workload.arrivals, work, config.instances, plan)
        if workload.user is not None:
            columns["user"] = workload.user
        return _result(config, columns, config.instances, workload.duration, None, [])
    if how == KERNEL:
        loop = Loop(config, Workload(np.empty(0), workload.duration), np.empty(0),
                    horizon=float(workload.arrivals[-1]) if len(workload) else 0.0)
        records, lifetimes, log = epochs.run(loop, plan, workload.arrivals, work)
        if workload.user is not None:
            records["user"] = workload.user  # the kernel's records are columns
    else:
        loop = Loop(config, workload, work)
        records, lifetimes, log = loop.run(streamlined=how == STREAMLINED)
    return _result(config, records, loop.specs, workload.duration, lifetimes, log)


def run_closed(config: ClusterConfig, users: int, think_time: float, duration: float) -> Result:
    """``users`` closed-loop senders for ``duration`` s; always the general loop."""
    work_rng, stagger_rng = _start(config)
    loop = Loop(config, Workload(np.empty(0), duration), np.empty(0), horizon=duration)
    records, lifetimes, log = loop.run_closed(
        users, think_time, duration, lambda n: config.service_time.sample(work_rng, n),
        stagger_rng)
    return _result(config, records, loop.specs, duration, lifetimes, log)


def _result(config: ClusterConfig, columns: dict, specs, duration, lifetimes, log) -> Result:
    if config.timeout is not None:
        late = (columns["status"] == Status.OK) & \
            (columns["end"] - columns["arrival"] > config.timeout)
        columns["status"][late] = Status.TIMEOUT
    return Result(columns, specs, duration, balancer=repr(config.balancer), seed=config.seed,
                  events=log, lifetimes=lifetimes)


def _run_lindley(arrivals, work, specs, routing) -> dict:
    """FIFO single-slot instances with routing fixed in advance (``kernels.Assignment``): per
    instance, end_k = max(arrival_k, end_{k−1}) + service_k, computed with cumsum and a
    running max. Returns the records' columns."""
    if routing.first is not None:
        start, service = _lindley_cycle(arrivals, work, specs, routing.first)
        return {"arrival": arrivals, "start": start, "end": start + service,
                "service": service, "instance": routing.instance,
                "status": np.zeros(len(arrivals), dtype=np.int8)}
    start, service = np.empty(len(arrivals)), np.empty(len(arrivals))
    for spec, requests in zip(specs, routing.groups):
        a = arrivals[requests]
        if len(a) == 0:
            continue
        s = work[requests] / spec.speed
        c = np.cumsum(s)
        done = a - c
        done += s
        np.maximum.accumulate(done, out=done)
        done += c
        begin = np.empty(len(a))
        begin[0] = a[0]
        np.maximum(a[1:], done[:-1], out=begin[1:])
        start[requests] = begin
        service[requests] = s
    return {"arrival": arrivals, "start": start, "end": start + service, "service": service,
            "instance": routing.instance, "status": np.zeros(len(arrivals), dtype=np.int8)}


def _lindley_cycle(arrivals, work, specs, first: int):
    """:func:`_run_lindley` for a cycle over the instances: laid out as rows of one request
    per instance, every instance's recursion runs at once down the columns (the same sums in
    the same order as one instance at a time). Returns (start, service)."""
    count, n = len(arrivals), len(specs)
    if not count:
        return np.empty(0), np.empty(0)
    rows = -(-count // n)
    a = np.empty(rows * n)
    a[:count] = arrivals
    a[count:] = arrivals[-1]  # padding after the last request: it changes nothing before
    s = np.zeros(rows * n)
    s[:count] = work
    a, s = a.reshape(rows, n), s.reshape(rows, n)
    speeds = np.roll([spec.speed for spec in specs], -first)  # column k: instance first + k
    if (speeds != 1).any():
        s /= speeds
    c = np.cumsum(s, axis=0)
    done = a - c
    done += s
    np.maximum.accumulate(done, axis=0, out=done)
    done += c
    start = c  # c is no longer needed: its memory takes the start times
    start[0] = a[0]
    np.maximum(a[1:], done[:-1], out=start[1:])
    return start.reshape(-1)[:count], s.reshape(-1)[:count]

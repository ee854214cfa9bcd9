"""Lesson 03's part of ``scenarios``: instances that fail, and what clients see meanwhile.

One cluster for the lesson: four equal instances, 100 ms of work per request (exponential),
24 requests/s of Poisson traffic (60 % busy), instance 0 failing 31 s into a one-minute run.
Times in seconds, rates per second.

Failure kinds (:data:`FAILURE_KINDS`):

- ``"crash"``: the process dies; connections are refused (``sl.Crash``).
- ``"hang"``: the process accepts connections and never answers (``sl.Hang``); each health
  probe waits for its timeout, each request for the client's.
- ``"slow"``: it works ten times slower (``sl.Slowdown``); every check still passes.
- ``"fail fast"``: the process stays up and answers every request at once with an error (a
  500), so a *shallow* check — is the process listening? — keeps passing, while a *deep*
  check, which runs a real request, fails. The simulator has no "answers 500" failure; what a
  balancer sees of one is what it sees of a crashed instance that no check notices: every
  request ends at once with an error and the instance never holds one. We model it so — a
  ``sl.Crash`` with no health check (shallow) or with one (deep). The one difference this
  leaves out: a proxy resends a refused connection, but a 500 only when told to (NGINX's
  ``proxy_next_upstream http_500``), so runs of this kind never retry.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import _validate, workloads
from ..sim import simulate
from .lesson02 import LB_SERVICE_TIME

__all__ = [
    "FAILURE_EXPLORER_POLICIES", "FAILURE_KINDS", "L03", "LAB_KILL", "crash_under_load",
    "ejection_cascade", "fail_under_load", "failure_explorer", "failure_kinds", "kill_table",
    "lab_kill_prediction", "outage", "retried_split", "retry_amplification", "shedding",
]

L03 = {"instances": 4, "rate": 24.0, "at": 31.0, "duration": 60.0, "slow_factor": 10.0,
       "seed": 3}
FAILURE_KINDS = ("crash", "hang", "slow", "fail fast")
_STARTS = ("crash", "hang", "slow")  # the engine's log names for a failure's start


def outage(result, instance: int = 0, bin: float = 1.0) -> dict:
    """What clients saw when ``instance`` failed, from a ``Result`` (simulated, or a real-lab
    load): ``failed_at`` (when it crashed, hung or turned slow) and ``marked_down`` (s; NaN
    if it never happened), ``detection`` (between them), ``errors`` (failed requests in all),
    ``in_window`` (failed requests that arrived between the failure and the mark-down, or
    after the failure if it was never marked down), ``in_flight`` (failed requests that
    arrived before the failure: they were inside it), ``retries``, ``rate`` (arrivals per
    second), ``expected`` (rate × detection / instances: the failed instance's share of the
    window), and per ``bin`` seconds ``time``, ``errors_per_s`` and ``healthy``."""
    bin = _validate.positive("bin", bin)

    def first(kinds, after: float = -np.inf) -> float:
        return next((float(t) for t, i, kind in sorted(result.events)
                     if i == instance and kind in kinds and t >= after), float("nan"))

    start = first(_STARTS)
    down = first(("marked down",), start) if np.isfinite(start) else float("nan")
    requests = result.requests
    failed = requests["status"] != 0
    arrival = requests["arrival"]
    window = (arrival >= start) & (arrival < down) if np.isfinite(down) else arrival >= start
    n = len(result.instances)
    rate = len(requests) / result.duration
    timeline = result.timeline(bin=bin)
    detection = down - start
    return {
        "failed_at": start, "marked_down": down, "detection": detection,
        "errors": int(failed.sum()),
        "in_window": int(np.count_nonzero(failed & window)),
        "in_flight": int(np.count_nonzero(failed & (arrival < start))),
        "retries": int(requests["retries"].sum()),
        "requests": len(requests), "rate": rate, "instances": n,
        "expected": rate * detection / n,
        "time": timeline["time"], "errors_per_s": timeline["errors"] / bin,
        "healthy": timeline["healthy"],
    }


def _failure(kind: str, at: float, until: float | None = None):
    from ..failures import Crash, Hang, Slowdown

    if kind not in FAILURE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, FAILURE_KINDS))}, "
                         f"got {kind!r}")
    if kind == "hang":
        return Hang(0, at, until)
    if kind == "slow":
        return Slowdown(0, at, until, factor=L03["slow_factor"])
    return Crash(0, at, until)


def fail_under_load(kind: str = "crash", balancer=None, health_check=None,
                    deep_check: bool = True, retries: int = 0, timeout: float | None = None,
                    instances: int | None = None, rate: float | None = None,
                    at: float | None = None, duration: float | None = None,
                    seed: int | None = None, bin: float = 1.0) -> dict:
    """Instance 0 of ``instances`` equal instances fails (``kind``, one of
    :data:`FAILURE_KINDS`) at ``at`` under Poisson traffic of ``rate`` requests/s (100 ms of
    work each; defaults from :data:`L03`), with ``health_check`` (default: probe every 2 s,
    1 s probe timeout, 3 failures mark it down), ``retries`` and the clients' ``timeout``.
    ``deep_check=False`` models a shallow check, which a "fail fast" instance passes (see the
    module's docstring). Returns :func:`outage` of the run, plus its ``result`` and ``kind``."""
    from ..failures import HealthCheck

    settings = {k: L03[k] if v is None else v for k, v in
                {"instances": instances, "rate": rate, "at": at, "duration": duration,
                 "seed": seed}.items()}
    failure = _failure(kind, settings["at"])
    check = health_check or HealthCheck(interval=2.0, unhealthy_threshold=3)
    if kind == "fail fast":
        check = check if deep_check else None
        retries = 0
    result = simulate(workloads.poisson(settings["rate"], settings["duration"],
                                        seed=settings["seed"]),
                      instances=settings["instances"], service_time=LB_SERVICE_TIME,
                      balancer=balancer, seed=settings["seed"], health_check=check,
                      failures=[failure], retries=retries, timeout=timeout)
    return {**outage(result, 0, bin), "result": result, "kind": kind}


def crash_under_load(balancer=None, retries: int = 0, health_check=None, **settings) -> dict:
    """:func:`fail_under_load` for a crash."""
    return fail_under_load("crash", balancer, health_check, retries=retries, **settings)


def failure_kinds(kinds=("crash", "hang", "slow", "fail fast"), seed: int | None = None) -> dict:
    """Round robin and least connections against each failure ``kind`` (a "fail fast"
    instance behind a shallow check), with the default health check and no retries. Per kind
    and policy: ``after`` (requests that arrived after the failure began), ``failed`` (how
    many of them failed), ``p99`` (s, all requests) and ``detection`` (s; NaN if never
    marked down)."""
    from ..balancers import LeastConnections, RoundRobin

    table = {}
    for kind in kinds:
        for name, policy in (("round robin", RoundRobin), ("least connections",
                                                            LeastConnections)):
            run = fail_under_load(kind, policy(), deep_check=False, seed=seed)
            after = run["result"].requests["arrival"] >= run["failed_at"]
            failed = run["result"].requests["status"] != 0
            table[kind, name] = {"after": int(after.sum()),
                                 "failed": int(np.count_nonzero(after & failed)),
                                 "p99": run["result"].summary()["p99"],
                                 "detection": run["detection"]}
    return table


def retried_split(run: dict) -> dict:
    """Of a run's retried requests: ``refused`` (sent after the failure began: the connection
    was refused, nothing reached the instance) and ``cut_off`` (sent before it: the instance
    had the request, perhaps half done, when it died)."""
    requests = run["result"].requests
    retried = requests["retries"] > 0
    before = requests["arrival"] < run["failed_at"]
    return {"refused": int(np.count_nonzero(retried & ~before)),
            "cut_off": int(np.count_nonzero(retried & before))}


# The lesson's real-lab kill: 3 instances, 200 requests/s of 20 ms each for 3 s, instance 0
# killed 1 s in. The lesson's lab instances serve up to 8 requests at once (slots=8).
LAB_KILL = {"instances": 3, "slots": 8, "work": 0.02, "rate": 200.0, "duration": 3.0,
            "at": 1.0}
_JUST = 0.001  # s: how close to a probe "just after" and "just before" are


def lab_kill_prediction(health_check=None, **settings) -> dict:
    """What the simulator predicts for the real-lab kill (:data:`LAB_KILL`, any key
    overridable) under ``health_check`` (default: the lab's). The simulator probes at whole
    multiples of the interval, while a real kill lands anywhere between two probes; so the
    crash is placed just after a probe (the longest window) and just before the next one (the
    shortest). Per phase: :func:`outage` without a retry, and ``errors_with_retry``."""
    from ..lab import DEFAULT_HEALTH_CHECK

    run = {**LAB_KILL, **settings}
    check = DEFAULT_HEALTH_CHECK if health_check is None else health_check
    probe = np.ceil(run["at"] / check.interval) * check.interval
    phases = {"just after a probe": probe + _JUST,
              "just before a probe": probe + check.interval - _JUST}
    return {phase: {**_lab_kill_run(run, check, float(at), retries=0),
                    "errors_with_retry": _lab_kill_run(run, check, float(at), retries=1)["errors"]}
            for phase, at in phases.items()}


def _lab_kill_run(run: dict, check, at: float, retries: int) -> dict:
    from ..failures import Crash
    from ..servicetimes import Constant
    from ..sim import Instance

    traffic = workloads.constant(rate=run["rate"], duration=run["duration"])
    result = simulate(traffic, instances=[Instance(slots=run["slots"])] * run["instances"],
                      service_time=Constant(run["work"]), health_check=check,
                      failures=[Crash(0, at)], retries=retries, seed=1)
    return outage(result, 0, bin=0.1)


def kill_table(predicted: dict, measured: dict) -> str:
    """One small table: the simulator's :func:`lab_kill_prediction` beside ``measured``, a dict
    of name → (:func:`outage` without a retry, :func:`outage` with one) of real-lab loads."""
    lines = [f"{'':<36}{'marked down after':>18}{'failed':>8}{'with 1 retry':>14}"]
    for phase, run in predicted.items():
        lines.append(f"{'simulator, crash ' + phase:<36}{run['detection']:16.2f} s"
                     f"{run['errors']:8d}{run['errors_with_retry']:14d}")
    for name, (plain, retried) in measured.items():
        lines.append(f"{name + ', measured':<36}{plain['detection']:16.2f} s"
                     f"{plain['errors']:8d}{retried['errors']:14d}")
    return "\n".join(lines)


def retry_amplification(layers=(1, 2, 3), tries=(1, 2, 3, 4), budget: float = 0.1) -> dict:
    """How many attempts reach the bottom layer for one user request when every attempt
    fails: each of ``layers`` services in a chain tries each call ``tries`` times (1 = no
    retry), so the bottom sees tries ** layers. ``with_budget``: the same chain where each
    layer's retries may add at most ``budget`` (a fraction) to its calls, so at most
    (1 + budget) ** layers attempts per request on average."""
    budget = _validate.number("budget", budget, minimum=0)
    return {"layers": tuple(layers), "tries": tuple(tries),
            "attempts": {(n, t): t ** n for n in layers for t in tries},
            "with_budget": {n: (1 + budget) ** n for n in layers}, "budget": budget}


def shedding(queue_limits=(None, 20, 5), overload: float = 1.25, client_timeout: float = 2.0,
             instances: int = 4, duration: float = 120.0, seed: int = 5) -> dict:
    """More traffic than the instances can serve (``overload`` × their capacity, 100 ms of
    work each) for ``duration`` s, with clients that give up after ``client_timeout`` s;
    each instance queues at most ``queue_limit`` requests (None: no limit) and rejects the
    rest at once. Per limit: the fractions ``ok`` (answered in time), ``rejected``,
    ``timed_out``; ``p99_ok`` (s, of the answered ones) and ``wasted`` (the fraction of the
    servers' work spent on requests whose client had already given up)."""
    from ..result import Status

    overload = _validate.positive("overload", overload)
    rate = overload * instances / LB_SERVICE_TIME
    traffic = workloads.poisson(rate, duration, seed=seed)
    rows = {}
    for limit in queue_limits:
        result = simulate(traffic, instances=instances, service_time=LB_SERVICE_TIME,
                          seed=seed, queue_limit=limit, timeout=client_timeout)
        r = result.requests
        ok, late = r["status"] == Status.OK, r["status"] == Status.TIMEOUT
        latency = r["end"][ok] - r["arrival"][ok]
        rows[limit] = {"ok": float(ok.mean()), "rejected": float((r["status"] ==
                                                                  Status.REJECTED).mean()),
                       "timed_out": float(late.mean()),
                       "p99_ok": float(np.percentile(latency, 99)) if ok.any() else np.nan,
                       "wasted": float(r["service"][late].sum() / max(r["service"].sum(),
                                                                       1e-12))}
    return {"rate": rate, "capacity": instances / LB_SERVICE_TIME, "overload": overload,
            "client_timeout": client_timeout, "limits": rows}


def ejection_cascade(instances: int = 10, load: float = 0.6) -> dict:
    """How busy the instances left in rotation are when ``k`` of ``instances`` are taken out
    and the same traffic (``load`` of the whole cluster's capacity) moves to the others:
    ``busy[k]`` = load × instances / (instances − k), for k = 0 … instances − 1."""
    n = _validate.integer("instances", instances, minimum=2)
    load = _validate.number("load", load, above=0)
    return {"instances": n, "load": load,
            "busy": {k: load * n / (n - k) for k in range(n)}}


# -- the explorer ----------------------------------------------------------------------------

FAILURE_EXPLORER_POLICIES = ("round robin", "least connections", "power of two choices")
FAILURE_EXPLORER = {"at": 21.0, "until": 41.0, "duration": 60.0, "latency_bin": 2.0,
                    "error_bin": 1.0, "healthy_threshold": 2}


@lru_cache(maxsize=256)
def _explorer_run(kind, policy, interval, threshold, probe_timeout, retries, client_timeout,
                  deep_check, seed) -> dict:
    from ..balancers import LeastConnections, PowerOfTwoChoices, RoundRobin
    from ..failures import HealthCheck

    settings = FAILURE_EXPLORER
    check = HealthCheck(interval=interval, timeout=probe_timeout,
                        unhealthy_threshold=threshold,
                        healthy_threshold=settings["healthy_threshold"])
    if kind == "fail fast" and not deep_check:
        check = None
    balancer = {"round robin": RoundRobin, "least connections": LeastConnections,
                "power of two choices": PowerOfTwoChoices}[policy]()
    result = simulate(workloads.poisson(L03["rate"], settings["duration"], seed=seed),
                      instances=L03["instances"], service_time=LB_SERVICE_TIME,
                      balancer=balancer, seed=seed, health_check=check,
                      failures=[_failure(kind, settings["at"], settings["until"])],
                      retries=0 if kind == "fail fast" else retries, timeout=client_timeout)
    latency = result.timeline(bin=settings["latency_bin"])
    hit = outage(result, 0, settings["error_bin"])
    after = result.requests["arrival"] >= settings["at"]
    during = after & (result.requests["arrival"] < settings["until"])
    return {**hit, "summary": result.summary(), "latency_time": latency["time"],
            "p99": latency["p99"],
            "failed_during": int(np.count_nonzero(during & (result.requests["status"] != 0))),
            "sent_during": int(during.sum())}


def failure_explorer(kind: str = "crash", policy: str = "round robin", interval: float = 2.0,
                     threshold: int = 3, probe_timeout: float = 1.0, retries: int = 0,
                     client_timeout: float = 10.0, deep_check: bool = True,
                     seed: int = 0) -> dict:
    """One minute of traffic (24 requests/s, four instances, 100 ms of work each) through
    ``policy`` (one of :data:`FAILURE_EXPLORER_POLICIES`); instance 0 fails (``kind``, one of
    :data:`FAILURE_KINDS`) from 21 s to 41 s. The health check probes every ``interval`` s,
    waits ``probe_timeout`` s for an answer (at most the interval: a longer one is cut to it)
    and marks an instance down after ``threshold`` failures in a row (up after 2 successes);
    ``deep_check=False`` is a shallow check, which a "fail fast" instance passes. Refused and
    cut-off requests are resent ``retries`` times; clients give up after ``client_timeout``
    s. Returns :func:`outage`'s numbers (errors per second, healthy instances, detection …),
    p99 latency per 2 s, the ``summary``, ``failed_during``/``sent_during`` (requests that
    arrived while it was failing) and the ``settings`` used."""
    if kind not in FAILURE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, FAILURE_KINDS))}, "
                         f"got {kind!r}")
    if policy not in FAILURE_EXPLORER_POLICIES:
        raise ValueError(f"policy must be one of "
                         f"{', '.join(map(repr, FAILURE_EXPLORER_POLICIES))}, got {policy!r}")
    interval = _validate.positive("interval", interval)
    probe_timeout = min(_validate.positive("probe_timeout", probe_timeout), interval)
    key = (kind, policy, float(interval), _validate.integer("threshold", threshold, minimum=1),
           float(probe_timeout), _validate.integer("retries", retries, minimum=0),
           float(_validate.positive("client_timeout", client_timeout)), bool(deep_check),
           _validate.seed(seed))
    run = dict(_explorer_run(*key))
    run["settings"] = dict(zip(("kind", "policy", "interval", "threshold", "probe_timeout",
                                "retries", "client_timeout", "deep_check", "seed"), key))
    run["settings"].update(at=FAILURE_EXPLORER["at"], until=FAILURE_EXPLORER["until"])
    return run

"""Lesson 02's part of ``scenarios``."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import _validate, theory, workloads
from ..sim import simulate

# -- lesson 02: load balancers --------------------------------------------------------------
# One service model for the lesson: a request needs 100 ms of work on a speed-1 instance
# (exponential, or log-normal for a heavy tail). Instances are sl.Instance(speed=…).

__all__ = [
    "DISPATCH_LOADS", "EXPLORER_POLICIES", "LB_EXPLORER", "LB_HEAVY_SIGMA", "LB_SERVICE_TIME",
    "balancer_explorer", "dispatch_curves", "lesson02_policies", "policy_race", "rehash",
]


LB_SERVICE_TIME = 0.1     # s of work per request on a speed-1 instance
LB_HEAVY_SIGMA = 1.5      # the log-normal's sigma for "heavy-tailed requests"
LB_EXPLORER = {"instances": 4, "duration": 60.0, "latency_bin": 4.0}


def lesson02_policies(speeds=None) -> dict:
    """Fresh built-in balancers under the names the lesson uses. Weighted round robin weighs
    each instance by its speed (``speeds``; all 1 when None)."""
    from ..balancers import (
        LeastConnections,
        PeakEWMA,
        PowerOfTwoChoices,
        Random,
        RoundRobin,
        WeightedRoundRobin,
    )

    weights = None if speeds is None else [float(s) for s in speeds]
    return {
        "round robin": RoundRobin(),
        "weighted round robin": WeightedRoundRobin(weights=weights),
        "random": Random(),
        "least connections": LeastConnections(),
        "power of two choices": PowerOfTwoChoices(),
        "peak EWMA": PeakEWMA(),
    }


def _lb_service(sigma: float | None, service_time: float = LB_SERVICE_TIME):
    from ..servicetimes import Exponential, LogNormal

    return Exponential(service_time) if sigma is None else LogNormal(service_time, sigma)


def _lb_instances(speeds) -> list:
    from ..sim import Instance

    return [Instance(speed=float(s)) for s in speeds]


def policy_race(speeds=(1.0, 1.0, 1.0, 1.0), load: float = 0.8, sigma: float | None = None,
                requests: int = 20_000, policies: dict | None = None, seed: int = 1) -> dict:
    """Every policy on the same seeded Poisson traffic to instances of these ``speeds``, at
    utilization ``load`` of their total capacity; 100 ms of work per request (exponential, or
    log-normal with ``sigma`` for a heavy tail). Per policy: ``summary`` (first 5 % dropped
    as warm-up) and ``share``, the fraction of requests each instance received; and
    ``capacity_share``, each instance's fraction of the capacity (what a perfect balancer
    would send it); ``result``, the run itself (to replay with ``sl.widgets.flow``)."""
    speeds = np.array([_validate.positive("speed", s) for s in speeds], dtype=float)
    load = _validate.number("load", load, above=0)
    requests = _validate.integer("requests", requests, minimum=100)
    capacity = speeds.sum() / LB_SERVICE_TIME
    rate = load * capacity
    duration = requests / rate
    traffic = workloads.poisson(rate, duration, seed=seed)
    policies = lesson02_policies(speeds) if policies is None else policies
    runs = {}
    for name, balancer in policies.items():
        result = simulate(traffic, instances=_lb_instances(speeds),
                          service_time=_lb_service(sigma), balancer=balancer, seed=seed)
        chosen = result.requests["instance"]
        runs[name] = {"result": result, "summary": result.summary(warmup=duration / 20),
                      "share": np.bincount(chosen[chosen >= 0], minlength=len(speeds))
                      / max(1, np.count_nonzero(chosen >= 0))}
    return {"speeds": speeds, "load": load, "sigma": sigma, "rate": rate,
            "capacity": capacity, "capacity_share": speeds / speeds.sum(),
            "requests": len(traffic), "policies": runs}


DISPATCH_LOADS = (0.5, 0.6, 0.7, 0.8, 0.9)


def dispatch_curves(instances: int = 10, loads=DISPATCH_LOADS, requests: int = 60_000,
                    seed: int = 2, points: int = 100) -> dict:
    """Mean response time, in units of the mean work, of ``instances`` equal servers behind
    random, round-robin, power-of-two-choices and least-connections balancers at each
    utilization in ``loads``: simulated (``requests`` Poisson arrivals each, exponential work,
    first 10 % dropped), beside the closed forms on ``points`` loads from 0.3 to 0.95: M/M/1
    (random), E_N/M/1 (round robin), the supermarket model for two choices among very many
    servers, and M/M/N (one shared queue: no balancer can do better)."""
    from ..balancers import LeastConnections, PowerOfTwoChoices, Random, RoundRobin

    n = _validate.integer("instances", instances, minimum=2)
    loads = np.asarray(loads, dtype=float)
    policies = {"random": Random, "round robin": RoundRobin,
                "power of two choices": PowerOfTwoChoices,
                "least connections": LeastConnections}
    simulated = {name: np.empty(len(loads)) for name in policies}
    for k, load in enumerate(loads):
        rate = load * n
        duration = requests / rate
        traffic = workloads.poisson(rate, duration, seed=seed + k)
        for name, policy in policies.items():
            result = simulate(traffic, instances=n, service_time=1.0, balancer=policy(),
                              seed=seed + k)
            simulated[name][k] = result.summary(warmup=duration / 10)["mean"]
    curve = np.linspace(0.3, 0.95, _validate.integer("points", points, minimum=2))
    theory_curves = {
        "random": np.asarray(theory.mm1(curve, 1.0).mean_response),
        "round robin": np.asarray(theory.round_robin(curve * n, 1.0, n).mean_response),
        "power of two choices": np.asarray(theory.supermarket(curve, choices=2)),
        "one shared queue": np.asarray(theory.mmc(curve * n, 1.0, n).mean_response),
    }
    return {"instances": n, "loads": loads, "simulated": simulated, "curve_load": curve,
            "theory": theory_curves}


def rehash(users: int = 10_000, before: int = 10, after: int = 11, vnodes: int = 100) -> dict:
    """Where ``users`` users (ids 0 … users−1) land on ``before`` and on ``after`` instances,
    with ``hash mod N`` and with a consistent-hash ring (``ConsistentHash(vnodes)``), both on
    the same 64-bit hash of the user id. Per scheme: ``moved`` (fraction of users now on
    another instance), ``to_new`` (fraction of the moved ones that went to an added
    instance), and per instance after the change ``stayed``/``arrived`` (user counts)."""
    from ..balancers import ClusterState, ConsistentHash, InstancesView, Request
    from ..hashing import hash64

    users = _validate.integer("users", users, minimum=1)
    before = _validate.integer("before", before, minimum=1)
    after = _validate.integer("after", after, minimum=1)
    hashes = [hash64(str(u)) for u in range(users)]
    ring = ConsistentHash(vnodes=vnodes)

    def ring_owner(n: int) -> np.ndarray:
        view = InstancesView(ClusterState([1.0] * n, [1.0] * n))
        return np.array([ring.pick(view, Request(u, 0.0, user=u)).index for u in range(users)])

    owners = {"hash mod N": (np.array([h % before for h in hashes]),
                             np.array([h % after for h in hashes])),
              "consistent hash": (ring_owner(before), ring_owner(after))}
    schemes = {}
    for name, (old, new) in owners.items():
        moved = old != new
        schemes[name] = {
            "moved": float(moved.mean()),
            "to_new": float((new[moved] >= before).mean()) if moved.any() else float("nan"),
            "stayed": np.bincount(new[~moved], minlength=after),
            "arrived": np.bincount(new[moved], minlength=after),
        }
    return {"users": users, "before": before, "after": after, "vnodes": vnodes,
            "schemes": schemes}


def _explorer_speeds(slow_speed: float) -> tuple:
    """The explorer's cluster: two instances of speed 1 and two of ``slow_speed``."""
    half = LB_EXPLORER["instances"] // 2
    return (1.0,) * half + (float(slow_speed),) * (LB_EXPLORER["instances"] - half)


@lru_cache(maxsize=256)
def _explorer_run(policy: str, slow_speed: float, heavy_tail: bool, load: float,
                  seed: int) -> dict:
    speeds = _explorer_speeds(slow_speed)
    rate = load * sum(speeds) / LB_SERVICE_TIME
    traffic = workloads.poisson(rate, LB_EXPLORER["duration"], seed=seed)
    result = simulate(traffic, instances=_lb_instances(speeds),
                      service_time=_lb_service(LB_HEAVY_SIGMA if heavy_tail else None),
                      balancer=lesson02_policies(speeds)[policy], seed=seed)
    latency = result.timeline(bin=LB_EXPLORER["latency_bin"])
    chosen = result.requests["instance"]
    return {
        "policy": policy, "speeds": np.array(speeds), "rate": rate,
        "summary": result.summary(),
        "latency_time": latency["time"], "p50": latency["p50"], "p95": latency["p95"],
        "p99": latency["p99"],
        "share": np.bincount(chosen[chosen >= 0], minlength=len(speeds))
        / max(1, np.count_nonzero(chosen >= 0)),
        "capacity_share": np.array(speeds) / sum(speeds),
    }


EXPLORER_POLICIES = tuple(lesson02_policies())


def balancer_explorer(policy: str = "round robin", slow_speed: float = 1.0,
                      heavy_tail: bool = False, load: float = 0.7, seed: int = 0) -> dict:
    """One minute of Poisson traffic (utilization ``load``) to four instances — two of speed 1,
    two of ``slow_speed`` — through ``policy`` (a name from :data:`EXPLORER_POLICIES`), 100 ms
    of work per request (log-normal with sigma 1.5 if ``heavy_tail``). Returns the run's
    latency per 4 s (``latency_time``, ``p50``, ``p95``, ``p99``), requests ``share`` per
    instance against ``capacity_share``, its ``summary``, and ``baseline_p99`` and
    ``baseline_summary``: round robin's on the same traffic, for comparison. (Failures and
    health checks are lesson 03's explorer.)"""
    if policy not in EXPLORER_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(map(repr, EXPLORER_POLICIES))}, "
                         f"got {policy!r}")
    slow_speed = _validate.positive("slow_speed", slow_speed)
    load = _validate.number("load", load, above=0, maximum=1.5)
    key = (float(slow_speed), bool(heavy_tail), float(load), _validate.seed(seed))
    run = dict(_explorer_run(policy, *key))
    baseline = _explorer_run("round robin", *key)
    run["baseline_p99"], run["baseline_summary"] = baseline["p99"], baseline["summary"]
    run["settings"] = {"policy": policy, "slow_speed": key[0], "heavy_tail": key[1],
                       "load": key[2], "seed": key[3]}
    return run

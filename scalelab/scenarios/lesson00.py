"""Lesson 00's part of ``scenarios``."""

from __future__ import annotations

import functools

import numpy as np

from .. import _validate, theory, workloads
from ..sim import simulate

HOCKEY_LOADS = np.round(np.arange(0.1, 0.96, 0.05), 2)

__all__ = [
    "HOCKEY_LOADS", "hockey_stick", "one_server",
]


@functools.lru_cache(maxsize=8)
def _unit_hockey_stick(loads: tuple, requests: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and p95 latency at each load with a 1 s service time."""
    mean, p95 = np.empty(len(loads)), np.empty(len(loads))
    for k, load in enumerate(loads):
        duration = requests / load
        result = simulate(workloads.poisson(load, duration, seed=seed + k), instances=1,
                          service_time=1.0, seed=seed + k)
        summary = result.summary(warmup=duration / 10)
        mean[k], p95[k] = summary["mean"], summary["p95"]
    mean.flags.writeable = p95.flags.writeable = False  # shared by every caller
    return mean, p95


def one_server(rate: float, service_time: float, duration: float = 300.0, seed: int = 0,
               bin: float = 5.0) -> dict:
    """One server fed Poisson traffic at ``rate``: its summary, its latency over time, and
    the M/M/1 prediction (infinite when the server is 100 % busy or more)."""
    rate = _validate.positive("rate", rate)
    service_time = _validate.positive("service_time", service_time)
    result = simulate(workloads.poisson(rate, duration, seed=seed), instances=1,
                      service_time=service_time, seed=seed)
    queue = theory.mm1(rate, service_time)
    return {
        "rate": rate,
        "service_time": service_time,
        "load": rate * service_time,
        "summary": result.summary(),
        "timeline": result.timeline(bin=bin),
        "theory_mean": float(queue.mean_response),
        "theory_p95": float(queue.response_percentile(0.95)) if rate * service_time < 1
        else float("inf"),
    }


def hockey_stick(service_time: float, loads=HOCKEY_LOADS, requests: int = 20_000,
                 seed: int = 0) -> dict:
    """Mean and p95 latency of one server at each utilization in ``loads``: simulated
    (``requests`` Poisson arrivals each, first 10 % dropped as warm-up) beside M/M/1.

    At a given utilization every time in an M/M/1 queue scales with the service time (a run
    at 40 ms is the run at 1 s with the clock slowed 25×), so the simulation runs once with a
    1 s service time and is scaled: moving the service time costs no new run."""
    service_time = _validate.positive("service_time", service_time)
    loads = np.array([_validate.positive(f"loads[{k}]", load) for k, load in enumerate(loads)])
    requests = _validate.integer("requests", requests, minimum=1)
    mean, p95 = _unit_hockey_stick(tuple(loads.tolist()), requests, _validate.seed(seed))
    mean, p95 = mean * service_time, p95 * service_time
    curve = np.linspace(0.0, 0.985, 200)
    queue = theory.mm1(curve / service_time, service_time)
    return {
        "loads": loads, "mean": mean, "p95": p95,
        "curve_load": curve,
        "curve_mean": np.asarray(queue.mean_response),
        "curve_p95": np.asarray(queue.response_percentile(0.95)),
    }



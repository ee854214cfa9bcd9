"""Lesson 00's part of ``scenarios``."""

from __future__ import annotations

import functools

import numpy as np

from .. import _validate, theory, workloads
from ..servicetimes import Constant
from ..sim import simulate

HOCKEY_LOADS = np.round(np.arange(0.1, 0.96, 0.05), 2)

__all__ = [
    "HOCKEY_LOADS", "average_hides_a_spike", "hockey_stick", "in_system", "littles_law_check",
    "one_server", "work_variability",
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




def work_variability(service_time: float = 0.04, loads=(0.5, 0.8, 0.9), requests: int = 100_000,
                     seed: int = 3) -> dict:
    """Poisson arrivals to one server whose work is exponential (M/M/1) or always the same
    (M/D/1), at each utilization in ``loads``: the simulated mean wait in the queue (about
    ``requests`` arrivals each, first 5 % dropped as warm-up) beside Kingman's formula, and the
    formula's curves over 0–0.95 for a figure. Waits in seconds."""
    service_time = _validate.positive("service_time", service_time)
    loads = np.array([_validate.number(f"loads[{k}]", load, above=0, maximum=0.99)
                      for k, load in enumerate(loads)])
    requests = _validate.integer("requests", requests, minimum=100)
    curve = np.linspace(0.0, 0.95, 96)
    kinds = []
    for name, work, scv in (("exponential work (M/M/1)", service_time, 1.0),
                            ("constant work (M/D/1)", Constant(service_time), 0.0)):
        waits = []
        for k, load in enumerate(loads):
            duration = requests * service_time / load
            traffic = workloads.poisson(load / service_time, duration, seed=seed + k)
            result = simulate(traffic, instances=1, service_time=work, seed=seed + k)
            waits.append(result.summary(warmup=duration / 20)["mean_wait"])
        kinds.append({
            "name": name, "service_scv": scv, "wait": np.array(waits),
            "theory_wait": np.asarray(theory.kingman_wait(loads / service_time, service_time,
                                                          service_scv=scv)),
            "curve_wait": np.asarray(theory.kingman_wait(curve / service_time, service_time,
                                                         service_scv=scv)),
        })
    return {"service_time": service_time, "loads": loads, "curve_load": curve, "kinds": kinds}


def in_system(result, times) -> np.ndarray:
    """How many requests were inside (queued or in service) at each of ``times`` (s): what a
    monitor that reads the queue length at those instants would see."""
    times = np.asarray(times, dtype=float)
    requests = result.requests
    arrived = np.searchsorted(np.sort(requests["arrival"]), times, side="right")
    left = np.searchsorted(np.sort(requests["end"]), times, side="right")
    return arrived - left


def littles_law_check(result, step: float = 0.1) -> dict:
    """Little's law L = λW on one run: ``rate`` λ (arrivals per second), ``mean_response`` W
    (s), their product, and ``in_system`` L measured by counting the requests inside every
    ``step`` seconds and averaging, as a monitor would."""
    step = _validate.positive("step", step)
    rate = len(result.requests) / result.duration
    mean_response = float(np.mean(result.requests["end"] - result.requests["arrival"]))
    counts = in_system(result, np.arange(step / 2, result.duration, step))
    return {"rate": rate, "mean_response": mean_response, "product": rate * mean_response,
            "in_system": float(counts.mean())}


def average_hides_a_spike(base_rate: float = 10.0, peak_rate: float = 30.0, at: float = 120.0,
                          length: float = 20.0, duration: float = 300.0,
                          service_time: float = 0.04, seed: int = 5) -> dict:
    """One server fed Poisson traffic at ``base_rate`` with a ``length``-second burst at
    ``peak_rate``: the utilization averaged over the whole run (what a dashboard averaging
    over minutes shows) beside the busiest second, the worst 10-second p95 latency (s) and
    the most requests inside at once (a 0.1 s reading of the queue)."""
    traffic = workloads.spike(base_rate, peak_rate, at, length, duration, seed=seed)
    result = simulate(traffic, instances=1, service_time=service_time, seed=seed)
    return {
        "result": result,
        "average_utilization": result.summary()["utilization"],
        "busiest_second": float(np.max(result.timeline(bin=1.0)["utilization"])),
        "worst_p95": float(np.nanmax(result.timeline(bin=10.0)["p95"])),
        "calm_p95": float(np.percentile(result.latencies()[result.requests["arrival"] < at],
                                        95)),
        "most_inside": int(in_system(result, np.arange(0.0, duration, 0.1)).max()),
    }

"""Lesson 03's part of ``scenarios``: instances that fail, and what clients see meanwhile."""

from __future__ import annotations

import numpy as np

from .. import _validate, workloads
from ..sim import simulate
from .lesson02 import LB_SERVICE_TIME

__all__ = ["crash_under_load", "outage"]


def outage(result, instance: int = 0, bin: float = 1.0) -> dict:
    """What clients saw when ``instance`` crashed, from a ``Result`` (simulated, or a real-lab
    load): ``crash`` and ``marked_down`` (s; NaN if it never happened), ``detection``
    (between them), ``errors`` (failed requests in all), ``in_window`` (failed requests that
    arrived between the crash and the mark-down), ``in_flight`` (failed requests that arrived
    before the crash: they were inside it), ``retries``, ``rate`` (arrivals per second),
    ``expected`` (rate × detection / instances: the dead instance's share of the window), and
    per ``bin`` seconds ``time``, ``errors_per_s`` and ``healthy``."""
    bin = _validate.positive("bin", bin)

    def first(what: str, after: float = -np.inf) -> float:
        return next((float(t) for t, i, kind in sorted(result.events)
                     if i == instance and kind == what and t >= after), float("nan"))

    crash = first("crash")
    down = first("marked down", crash) if np.isfinite(crash) else float("nan")
    requests = result.requests
    failed = requests["status"] != 0
    arrival = requests["arrival"]
    window = (arrival >= crash) & (arrival < down) if np.isfinite(down) else arrival >= crash
    n = len(result.instances)
    rate = len(requests) / result.duration
    timeline = result.timeline(bin=bin)
    detection = down - crash
    return {
        "crash": crash, "marked_down": down, "detection": detection,
        "errors": int(failed.sum()),
        "in_window": int(np.count_nonzero(failed & window)),
        "in_flight": int(np.count_nonzero(failed & (arrival < crash))),
        "retries": int(requests["retries"].sum()),
        "requests": len(requests), "rate": rate, "instances": n,
        "expected": rate * detection / n,
        "time": timeline["time"], "errors_per_s": timeline["errors"] / bin,
        "healthy": timeline["healthy"],
    }


def crash_under_load(balancer=None, retries: int = 0, instances: int = 4, rate: float = 24.0,
                     crash_at: float = 31.0, duration: float = 60.0, health_check=None,
                     seed: int = 3, bin: float = 1.0) -> dict:
    """Instance 0 of ``instances`` equal instances crashes at ``crash_at`` under Poisson traffic
    of ``rate`` requests/s (100 ms of work each), with ``health_check`` (default: probe every
    2 s, 3 failures mark it down) and ``retries``: :func:`outage` of the run, plus its
    ``result``."""
    from ..failures import Crash, HealthCheck

    health_check = health_check or HealthCheck(interval=2.0, unhealthy_threshold=3)
    result = simulate(workloads.poisson(rate, duration, seed=seed), instances=instances,
                      service_time=LB_SERVICE_TIME, balancer=balancer, seed=seed,
                      health_check=health_check, failures=[Crash(0, crash_at)],
                      retries=retries)
    return {**outage(result, 0, bin), "result": result}

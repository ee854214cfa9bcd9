"""Lesson 05's part of ``scenarios``."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

import numpy as np

from .. import _validate, metrics, workloads
from ..sim import simulate

# -- lesson 05: autoscaling -----------------------------------------------------------------------
# One service model for the whole lesson: each request needs about 1 s of one instance's CPU
# (exponential), instances boot in 60 s, the SLO is 95 % of requests within 10 s. Heavy
# requests keep the request counts, and so the simulations, small.

__all__ = [
    "AUTOSCALING_SERVICE_TIME", "AUTOSCALING_SLO", "AUTOSCALING_TIMEOUT", "EXPLORER_DAY_PERIOD",
    "EXPLORER_DAY_RATE", "StaleMetrics", "autoscaled", "autoscaling_explorer",
    "autoscaling_series", "cloudwatch_alarm", "cost_vs_slo", "explorer_day", "hpa_reaction",
    "lag_table", "lesson05_spike", "scale_in_sessions", "scale_out_lag",
]


AUTOSCALING_SERVICE_TIME = 1.0   # s of work per request
AUTOSCALING_SLO = 10.0           # s: a request slower than this (or failed) misses the SLO
AUTOSCALING_TIMEOUT = 60.0       # s: clients give up, as an ALB does after its default idle timeout


def autoscaling_series(result, bin: float = 60.0, slo: float = AUTOSCALING_SLO) -> dict:
    """What the autoscaling figures show of one run (a ``Result``), per ``bin`` seconds.

    Series (one value per bin): ``time`` (bin start, s), ``rate`` (arrivals per second),
    ``in_service`` (instances taking traffic) and ``paid`` (instances launched and not yet
    removed, booting ones included), both averaged over the bin, ``utilization`` (0–1) and
    ``p95`` (s, of the answered requests that arrived in the bin), ``errors`` (requests that
    arrived in the bin and failed or timed out, per second). Events: ``scale_out_times`` and
    ``scale_in_times`` (s). Totals: ``instance_hours`` (what you pay for), ``slow`` (fraction
    of requests slower than ``slo`` seconds or not answered), ``failed`` (requests that timed
    out or failed), ``p95_all`` (s, of the answered requests), ``scale_events``.
    """
    bin = _validate.positive("bin", bin)
    slo = _validate.positive("slo", slo)
    timeline = result.timeline(bin=bin)
    edges = np.append(timeline["time"], timeline["time"][-1] + bin)
    widths = np.diff(edges)
    launched = result.lifetimes[:, 0]
    removed = np.minimum(result.lifetimes[:, 2], 1e300)
    paid = np.diff(metrics.busy_seconds(launched, removed, edges)) / widths
    requests = result.requests
    latency = requests["end"] - requests["arrival"]
    slow = (requests["status"] != 0) | (latency > slo)
    summary = result.summary()
    out_times = np.array([t for t, _, what in result.events if what == "launch"])
    in_times = np.array([t for t, _, what in result.events if what in ("drain", "cancelled")])
    return {
        "time": timeline["time"],
        "rate": timeline["arrivals"] / widths,
        "in_service": timeline["instances"],
        "paid": paid,
        "utilization": timeline["utilization"],
        "p95": timeline["p95"],
        "errors": timeline["errors"] / widths,
        "scale_out_times": out_times,
        "scale_in_times": in_times,
        "instance_hours": summary["instance_seconds"] / 3600,
        "slow": float(slow.mean()) if len(slow) else 0.0,
        "p95_all": summary["p95"],
        "failed": int(summary["errors"]),
        "scale_events": len(out_times) + len(in_times),
        "requests": summary["requests"],
        "slo": slo,
        "duration": result.duration,
    }


def scale_out_lag(result, since: float) -> dict:
    """How long the cluster took to react to a change at ``since`` (s): when the first
    instance was launched after it, when that instance was ready, and when it answered its
    first request (from the request records). NaN where it never happened."""
    launches = [(t, j) for t, j, what in result.events if what == "launch" and t >= since]
    if not launches:
        return {"since": since, "launched": math.nan, "ready": math.nan,
                "first_request": math.nan}
    launched, j = launches[0]
    served = result.requests["start"][(result.requests["instance"] == j)
                                      & (result.requests["status"] == 0)]
    return {"since": since, "launched": float(launched),
            "ready": float(result.lifetimes[j, 1]),
            "first_request": float(served.min()) if len(served) else math.nan}


def lesson05_spike(seed: int = 1):
    """The lesson's spike: 1 request/s, then 4/s from minute 10 to minute 40, over an hour."""
    return workloads.spike(base_rate=1.0, peak_rate=4.0, at=600.0, length=1800.0,
                           duration=3600.0, seed=seed)


def autoscaled(workload, autoscaler, *, instances: int = 2, min_instances: int = 1,
               max_instances: int = 10, boot_time: float = 60.0, control_interval: float = 15.0,
               service_time: float = AUTOSCALING_SERVICE_TIME,
               timeout: float | None = AUTOSCALING_TIMEOUT, seed: int = 0, **more):
    """``simulate`` with the lesson's service model, client timeout and cluster bounds
    (returns a Result)."""
    return simulate(workload, instances=instances, service_time=service_time,
                    autoscaler=autoscaler, min_instances=min_instances,
                    max_instances=max_instances, boot_time=boot_time,
                    control_interval=control_interval, timeout=timeout, seed=seed, **more)


def lag_table(durations=(60.0, 300.0), boot_times=(30.0, 60.0, 180.0), seed: int = 1) -> list[dict]:
    """The lesson's threshold rule on its spike for each window length and boot time:
    seconds from the spike's start until the rule fired and until the first new instance
    answered a request."""
    from ..autoscalers import Threshold

    spike = lesson05_spike(seed)
    rows = []
    for duration in durations:
        for boot_time in boot_times:
            result = autoscaled(spike, Threshold(duration=duration), boot_time=boot_time,
                                seed=seed)
            lag = scale_out_lag(result, 600.0)
            rows.append({"duration": duration, "boot_time": boot_time,
                         "fired_after": lag["launched"] - 600.0,
                         "serving_after": lag["first_request"] - 600.0})
    return rows


def cost_vs_slo(workload, policies: dict, fixed_sizes=(2, 3, 4, 5, 6, 7, 8), seed: int = 0,
                slo: float = AUTOSCALING_SLO, **cluster) -> list[dict]:
    """Cost (instance-hours) and SLO misses (fraction of requests slower than ``slo`` s) of
    fixed clusters of each size in ``fixed_sizes`` and of each named autoscaler in
    ``policies``, on the same ``workload`` and seed."""
    rows = []
    for size in fixed_sizes:
        result = simulate(workload, instances=size, service_time=cluster.get(
            "service_time", AUTOSCALING_SERVICE_TIME),
            timeout=cluster.get("timeout", AUTOSCALING_TIMEOUT), seed=seed)
        series = autoscaling_series(result, bin=workload.duration, slo=slo)
        rows.append({"name": f"{size} fixed", "kind": "fixed", "instances": size,
                     "instance_hours": series["instance_hours"], "slow": series["slow"],
                     "p95": series["p95_all"]})
    for name, policy in policies.items():
        series = autoscaling_series(autoscaled(workload, policy, seed=seed, **cluster),
                                    bin=workload.duration, slo=slo)
        rows.append({"name": name, "kind": "autoscaled", "instances": math.nan,
                     "instance_hours": series["instance_hours"], "slow": series["slow"],
                     "p95": series["p95_all"]})
    return rows


def scale_in_sessions(sessions, seed: int = 3) -> dict:
    """Logged-in users on a cluster that scales in. A user arrives every 20 s on average and
    sends 20 requests, 30 s apart (about 1 request/s in all); the cluster starts with 6
    instances, the threshold rule (2-minute window and cooldown) removes the spare ones,
    and a consistent-hash balancer keeps each user on one instance. Returns
    ``lost_sessions`` (requests that found no session: forced re-logins), ``users``,
    ``requests``, ``scale_ins`` and ``scale_outs``."""
    from ..autoscalers import Threshold
    from ..balancers import ConsistentHash

    users = workloads.sessions(rate=0.05, duration=1800.0, requests=20, think_time=30.0,
                               seed=seed)
    result = autoscaled(users, Threshold(duration=120.0, cooldown=120.0), instances=6,
                        balancer=ConsistentHash(), sessions=sessions, seed=seed)
    summary = result.summary()
    return {"lost_sessions": summary["lost_sessions"], "users": int(users.user.max()) + 1,
            "requests": summary["requests"],
            "scale_ins": sum(1 for _, _, what in result.events if what == "drain"),
            "scale_outs": sum(1 for _, _, what in result.events if what == "launch")}


EXPLORER_DAY_RATE = 2.0       # mean requests/s of the explorer's day squeezed into an hour
EXPLORER_DAY_PERIOD = 3600.0  # s


@lru_cache(maxsize=8)
def explorer_day(seed: int = 0):
    """The autoscaling explorer's traffic: a day squeezed into one hour (night at 0 and 3600 s,
    noon at 1800 s), 2 requests/s on average, ±70 %."""
    return workloads.diurnal(mean_rate=EXPLORER_DAY_RATE, amplitude=0.7,
                             period=EXPLORER_DAY_PERIOD, seed=seed)


def autoscaling_explorer(scale_out_above: float = 0.7, scale_in_below: float = 0.3,
                         duration: float = 300.0, cooldown: float = 300.0,
                         boot_time: float = 60.0, min_instances: int = 1,
                         max_instances: int = 10, seed: int = 0) -> dict:
    """The threshold rule with these settings on :func:`explorer_day`: the
    :func:`autoscaling_series` (30 s bins) plus ``settings``, the settings actually used (the
    thresholds and bounds also at the top level, for the figure and the readout). A scale-in
    threshold at or above the scale-out one is lowered to 0.05 below it, and
    ``max_instances`` is raised to ``min_instances`` if needed; the cluster starts with 2
    instances (or the nearest count within the bounds)."""
    from ..autoscalers import Threshold

    scale_out_above = _validate.number("scale_out_above", scale_out_above, above=0.05, maximum=1)
    scale_in_below = min(_validate.number("scale_in_below", scale_in_below, minimum=0),
                         round(scale_out_above - 0.05, 6))
    min_instances = _validate.integer("min_instances", min_instances, minimum=1)
    max_instances = max(_validate.integer("max_instances", max_instances, minimum=1),
                        min_instances)
    policy = Threshold(scale_out_above=scale_out_above, scale_in_below=scale_in_below,
                       duration=duration, cooldown=cooldown)
    start = max(min_instances, min(2, max_instances))
    result = autoscaled(explorer_day(seed), policy, instances=start,
                        min_instances=min_instances, max_instances=max_instances,
                        boot_time=boot_time, seed=seed)
    series = autoscaling_series(result, bin=30.0)
    settings = {"scale_out_above": scale_out_above, "scale_in_below": scale_in_below,
                "duration": float(duration), "cooldown": float(cooldown),
                "boot_time": float(boot_time), "min_instances": min_instances,
                "max_instances": max_instances, "seed": seed}
    series.update(settings=settings, scale_out_above=scale_out_above,
                  scale_in_below=scale_in_below, min_instances=min_instances,
                  max_instances=max_instances)
    return series




# -- what CloudWatch evaluates, and stale metrics ----------------------------------------------


def cloudwatch_alarm(jump_at: float, before: float, after: float, threshold: float = 0.7,
                     period: float = 60.0, datapoints: int = 5, evaluation_periods: int = 5,
                     delay: float = 60.0) -> dict:
    """When a CloudWatch-style alarm on average utilization goes off after utilization steps
    from ``before`` to ``after`` (0–1) at ``jump_at`` seconds.

    Each period (starting at multiples of ``period`` s) gives one datapoint, the average over
    the period; it is usable ``delay`` s after the period ends (metrics arrive late). The alarm
    goes off when ``datapoints`` of the last ``evaluation_periods`` datapoints are above
    ``threshold`` ("M out of N"). Returns ``fires_at`` and ``fires_after`` (s after the jump)
    and ``averages``, the datapoints up to then.

    >>> cloudwatch_alarm(jump_at=120, before=0.4, after=0.9, period=300, datapoints=1,
    ...                  evaluation_periods=1, delay=0)["fires_after"]
    480.0
    """
    period = _validate.positive("period", period)
    datapoints = _validate.integer("datapoints", datapoints, minimum=1)
    evaluation_periods = _validate.integer("evaluation_periods", evaluation_periods,
                                           minimum=datapoints)
    delay = _validate.number("delay", delay, minimum=0)
    if not after > threshold:
        raise ValueError(f"after must be above threshold ({threshold:g}) for the alarm to go "
                         f"off, got {after:g}")
    averages, k = [], 0
    while True:
        start = k * period
        share_after = min(max((start + period - jump_at) / period, 0.0), 1.0)
        averages.append(before * (1 - share_after) + after * share_after)
        recent = averages[-evaluation_periods:]
        if sum(round(a, 9) > threshold for a in recent) >= datapoints:
            fires_at = start + period + delay
            return {"fires_at": fires_at, "fires_after": fires_at - jump_at,
                    "averages": averages}
        k += 1


class StaleMetrics:
    """An autoscaler that sees the metrics ``delay`` seconds late, as they are once they have
    crossed a metrics pipeline (scraped, aggregated, published); it still sees the current
    instance counts. Wraps any policy; before the first stale reading it sees none (NaN)."""

    def __init__(self, policy, delay: float):
        if not callable(getattr(policy, "desired", None)):
            raise TypeError(f"policy must have a desired(observation) method, got {policy!r}")
        self.policy = policy
        self.delay = _validate.number("delay", delay, minimum=0)

    def reset(self) -> None:
        self._history = []
        reset = getattr(self.policy, "reset", None)
        if callable(reset):
            reset()

    def desired(self, observation) -> int:
        if not hasattr(self, "_history"):
            self.reset()
        self._history.append(observation)
        due = [o for o in self._history if o.time <= observation.time - self.delay + 1e-9]
        if due:
            self._history = self._history[len(due) - 1:]
            seen = due[-1]
            stale = replace(observation, utilization=seen.utilization,
                            request_rate=seen.request_rate, latencies=seen.latencies)
        else:
            stale = replace(observation, utilization=math.nan, request_rate=math.nan)
        return self.policy.desired(stale)

    def __repr__(self) -> str:
        return f"StaleMetrics({self.policy!r}, delay={self.delay:g})"


def hpa_reaction(target: float = 0.5, metrics_delay: float = 30.0, pod_start: float = 60.0,
                 node_start: float = 180.0, seed: int = 1) -> list[dict]:
    """The HPA on the lesson's spike three ways: as the simulator's HPA sees it (fresh
    metrics, a pod ready ``pod_start`` s after it is asked for); with metrics
    ``metrics_delay`` s late; and, on top, a node to start first (``node_start`` s more).
    Each row: ``name``, ``metrics_delay`` and ``boot_time`` (s), and ``first_answer`` (s after
    the jump until an instance launched after it answered a request)."""
    from ..autoscalers import HPA

    spike = lesson05_spike(seed)
    cases = [("HPA, fresh metrics", 0.0, pod_start),
             (f"metrics {metrics_delay:g} s late", metrics_delay, pod_start),
             (f"… and a node to start ({node_start:g} s)", metrics_delay, pod_start + node_start)]
    rows = []
    for name, delay, boot_time in cases:
        policy = StaleMetrics(HPA(target_utilization=target), delay)
        result = autoscaled(spike, policy, boot_time=boot_time, seed=seed)
        lag = scale_out_lag(result, 600.0)
        rows.append({"name": name, "metrics_delay": delay, "boot_time": boot_time,
                     "first_answer": lag["first_request"] - 600.0})
    return rows

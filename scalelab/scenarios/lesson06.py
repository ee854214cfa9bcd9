"""Lesson 06's part of ``scenarios``."""

from __future__ import annotations

import math

import numpy as np

from .. import _validate, loadtest, metrics, theory
from ..autoscalers import HPA
from ..failures import Pause
from ..servicetimes import Constant
from .lesson05 import AUTOSCALING_SERVICE_TIME, AUTOSCALING_SLO
from .lesson06_overload import *  # noqa: F403  (past the breaking point)
from .lesson06_overload import __all__ as _OVERLOAD

# -- lesson 06: load testing ----------------------------------------------------------------------
# Two services. "The API": each request needs 20 ms of one instance's work (exponential), so an
# instance answers at most 50 requests/s, and the SLO is a p95 within 250 ms; the step tests,
# the stalled server and the real lab (/work?ms=20) use it. The autoscaler rehearsals, the
# explorer and the exercise use lesson 05's photo service instead (1 s of work per request,
# p95 within 10 s, instances boot in 60 s): heavy requests keep autoscaled simulations small.

__all__ = [
    "API_SERVICE_TIME", "API_SLO", "LAB_RAMP", "LAB_WORK_MS", "LOADTEST_EXPLORER_BIN",
    "LOADTEST_EXPLORER_DURATION", "LOADTEST_EXPLORER_SHAPES", "LabTarget", "REHEARSAL_CLUSTER",
    "REHEARSAL_RAMP", "STALL", "STEP_DURATION", "STEP_FRACTIONS", "breaking_points",
    "broken_at", "capacity", "closed_loop_users", "coordinated_omission", "criteria_table",
    "explorer_shape", "lab_instances", "lab_ramp_shape", "lab_twin", "load_series",
    "load_test_explorer", "rehearsal", "rehearsal_shape", "rehearsal_target", "report_columns",
    "slo_breaking_rate", "stalled_api", "step_shape", "step_test", *_OVERLOAD,
]


API_SERVICE_TIME = 0.02   # s of work per request
API_SLO = 0.25            # s: the API's p95 must stay within this
STEP_FRACTIONS = tuple(round(0.1 * k, 1) for k in range(2, 13))  # 20 % … 120 % of capacity
STEP_DURATION = 300.0     # s per step: enough requests that random arrivals hardly matter
REHEARSAL_RAMP = {"start_rate": 0.5, "end_rate": 8.0, "duration": 1800.0, "windows": 12}
REHEARSAL_CLUSTER = {"instances": 2, "min_instances": 2, "max_instances": 12,
                     "control_interval": 15.0}
STALL = {"rate": 25.0, "duration": 600.0, "at": 5.0, "length": 1.0, "every": 10.0,
         "think_time": 0.02}
LAB_RAMP = {"start_rate": 10.0, "end_rate": 140.0, "duration": 15.0, "windows": 10}
LAB_WORK_MS = 20


def capacity(instances: int, service_time: float = API_SERVICE_TIME) -> float:
    """Requests per second that ``instances`` instances can answer at most: n ÷ work."""
    return _validate.integer("instances", instances, minimum=1) / _validate.positive(
        "service_time", service_time)


def step_shape(instances: int, fractions=STEP_FRACTIONS, step_duration: float = STEP_DURATION,
               service_time: float = API_SERVICE_TIME) -> loadtest.Shape:
    """A stair test sized for ``instances``: hold each fraction of their capacity for
    ``step_duration`` seconds, lowest first."""
    top = capacity(instances, service_time)
    return loadtest.steps([round(f * top, 9) for f in fractions], step_duration)


def slo_breaking_rate(instances: int, service_time: float = API_SERVICE_TIME,
                      slo: float = API_SLO, quantile: float = 0.95) -> float:
    """Theory's breaking point: the offered rate (requests/s) at which the ``quantile``
    response time of ``instances`` instances behind round robin reaches ``slo`` seconds (each
    instance an E_n/M/1 queue, M/M/1 for one). 0.0 when even a trickle misses the SLO."""
    top = capacity(instances, service_time)
    slo = _validate.positive("slo", slo)

    def p(rate):
        return float(theory.round_robin(rate, service_time, instances)
                     .response_percentile(quantile))

    lo, hi = 0.0, top * (1 - 1e-12)
    if p(top * 1e-9) > slo:
        return 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p(mid) <= slo else (lo, mid)
    return lo


def broken_at(report: loadtest.Report, criterion: loadtest.Criterion) -> float | None:
    """Offered rate of the first stage of ``report`` that ``criterion`` calls broken, or None."""
    return next((row["offered"] for row in report.rows if criterion.broken(row)), None)


def report_columns(report: loadtest.Report) -> dict:
    """The report's rows as arrays (offered, sent, throughput, p50, p95, p99, error_rate,
    instances, start, end), for plots."""
    keys = ("offered", "sent", "throughput", "p50", "p95", "p99", "error_rate", "instances",
            "start", "end")
    return {key: np.array([row[key] for row in report.rows], dtype=float) for key in keys}


def step_test(instances: int = 2, fractions=STEP_FRACTIONS,
              step_duration: float = STEP_DURATION, service_time: float = API_SERVICE_TIME,
              slo: float = API_SLO, seed: int = 1, points: int = 200, **cluster) -> dict:
    """The stair test on the API, open loop: ``report`` (judged by achieved throughput < 95 %
    of offered), its ``columns``, ``capacity``, the breaking points by throughput and by the
    SLO (``breaking_throughput``, ``breaking_slo``; None if none), theory's
    ``theory_slo_rate`` (:func:`slo_breaking_rate`) and theory's p95 curve (``curve_rate``,
    ``curve_p95``, s) up to 99 % of capacity. ``cluster``: more ``simulate`` arguments."""
    shape = step_shape(instances, fractions, step_duration, service_time)
    target = loadtest.Simulated(instances=instances, service_time=service_time, **cluster)
    report = loadtest.run(shape, target, seed=seed)
    top = capacity(instances, service_time)
    rates = np.linspace(top * 0.01, top * 0.99, points)
    return {
        "instances": instances, "service_time": service_time, "slo": slo,
        "capacity": top, "report": report, "columns": report_columns(report),
        "breaking_throughput": report.breaking_point,
        "breaking_slo": broken_at(report, loadtest.LatencyAbove(slo)),
        "theory_slo_rate": slo_breaking_rate(instances, service_time, slo),
        "curve_rate": rates,
        "curve_p95": np.asarray(theory.round_robin(rates, service_time, instances)
                                .response_percentile(0.95)),
    }


def breaking_points(instance_counts=(1, 2, 4), seed: int = 1, **options) -> list[dict]:
    """The stair test on each cluster size: capacity, the breaking point by throughput and by
    the SLO (measured, first broken step), and theory's SLO breaking rate (requests/s)."""
    rows = []
    for n in instance_counts:
        run = step_test(n, seed=seed, **options)
        rows.append({"instances": n, "capacity": run["capacity"],
                     "throughput": run["breaking_throughput"], "slo": run["breaking_slo"],
                     "theory_slo": run["theory_slo_rate"]})
    return rows


def criteria_table(instances: int = 2, queue_limit: int = 50, seed: int = 1,
                   slo: float = API_SLO, error_rate: float = 0.01) -> list[dict]:
    """The stair test on ``instances`` instances that refuse requests once ``queue_limit``
    wait (most servers do), judged three ways: ``criterion`` (its text) and ``breaking_point``
    (requests/s, or None)."""
    run = step_test(instances, seed=seed, slo=slo, queue_limit=queue_limit)
    criteria = (loadtest.ThroughputBelow(0.95), loadtest.LatencyAbove(slo),
                loadtest.ErrorsAbove(error_rate))
    return [{"criterion": str(c), "breaking_point": broken_at(run["report"], c)}
            for c in criteria]


# -- lesson 06: a stalled server, open and closed loop ------------------------------------------

def stalled_api(stall: bool = True, **settings):
    """One API instance that freezes ``length`` s every ``every`` s from ``at`` s (a garbage
    collector, a stalled disk), as a load-test target; ``stall=False``: the same, healthy."""
    s = {**STALL, **settings}
    failures = [Pause(0, at=s["at"], length=s["length"], every=s["every"])] if stall else []
    return loadtest.Simulated(instances=1, service_time=API_SERVICE_TIME, failures=failures)


def coordinated_omission(seed: int = 3, window: float = 30.0, bin: float = 1.0,
                         **settings) -> dict:
    """The stalled API measured open loop (``rate`` requests/s on schedule) and closed loop
    (one user who sends, waits for the answer, thinks ``think_time`` s: about the same rate
    while nothing stalls), with and without the stall.

    ``table``: one row per (mode, stalled) with requests, throughput (/s), p50, p99, max (s).
    ``series`` per mode (stalled runs, first ``window`` s): ``send`` and ``latency`` (s) of
    each request, ``bin_time`` and ``sent_per_s`` (requests sent per second per ``bin``).
    ``pauses``: (start, end) of each stall inside the window. ``reports``: the loadtest
    reports by (mode, stalled)."""
    s = {**STALL, **settings}
    shape = loadtest.soak(s["rate"], s["duration"], windows=10)
    table, series, reports = [], {}, {}
    for stalled in (False, True):
        target = stalled_api(stalled, **settings)
        for mode in ("open", "closed"):
            report = loadtest.run(shape, target, mode=mode, users=1,
                                  think_time=s["think_time"], seed=seed)
            reports[mode, stalled] = report
            summary = report.result.summary()
            table.append({"mode": mode, "stalled": stalled, "requests": summary["requests"],
                          "throughput": summary["throughput"], "p50": summary["p50"],
                          "p99": summary["p99"], "max": summary["max"]})
            if stalled:
                records = report.result.requests
                inside = records[records["arrival"] < window]
                edges = np.arange(0.0, window + bin / 2, bin)
                series[mode] = {"send": inside["arrival"],
                                "latency": inside["end"] - inside["arrival"],
                                "bin_time": edges[:-1],
                                "sent_per_s": metrics.binned_count(inside["arrival"], edges)
                                / bin}
    starts = np.arange(s["at"], window, s["every"])
    return {"table": table, "series": series, "reports": reports, "window": window,
            "pauses": [(float(a), float(a + s["length"])) for a in starts], **s}


def closed_loop_users(rate: float, response_time: float, think_time: float) -> float:
    """Little's law for a closed-loop generator: users needed to offer ``rate`` requests/s
    when each waits ``response_time`` s for an answer and then thinks ``think_time`` s."""
    return _validate.number("rate", rate, minimum=0) * (
        _validate.number("response_time", response_time, minimum=0)
        + _validate.number("think_time", think_time, minimum=0))


# -- lesson 06: rehearsing the autoscaler ---------------------------------------------------------

def rehearsal_shape(**ramp) -> loadtest.Shape:
    """The rehearsal's ramp: 0.5 → 8 requests/s over 30 minutes, in 12 windows."""
    r = {**REHEARSAL_RAMP, **ramp}
    return loadtest.ramp(r["start_rate"], r["end_rate"], r["duration"], windows=r["windows"])


def rehearsal_target(boot_time: float = 60.0, autoscaler=None, **cluster):
    """Lesson 05's photo service (1 s per request) on 2–12 instances under an autoscaler
    (default: the Kubernetes HPA at a 50 % target) whose instances boot in ``boot_time`` s."""
    settings = {**REHEARSAL_CLUSTER, **cluster}
    policy = HPA(target_utilization=0.5) if autoscaler is None else autoscaler
    return loadtest.Simulated(service_time=AUTOSCALING_SERVICE_TIME, autoscaler=policy,
                              boot_time=boot_time, **settings)


def rehearsal(boot_time: float = 60.0, autoscaler=None, shape=None, seed: int = 1,
              slo: float = AUTOSCALING_SLO, **cluster) -> loadtest.Report:
    """Run ``shape`` (default :func:`rehearsal_shape`) against :func:`rehearsal_target`, open
    loop, judged by the SLO (p95 > ``slo`` s breaks)."""
    shape = rehearsal_shape() if shape is None else shape
    return loadtest.run(shape, rehearsal_target(boot_time, autoscaler, **cluster),
                        criterion=loadtest.LatencyAbove(slo), seed=seed)


def load_series(report: loadtest.Report, bin: float = 60.0, points: int = 400) -> dict:
    """What the over-time figures show of a load test: ``time`` (bin starts, s), ``achieved``
    (answers per second), ``p95`` (s, by arrival), ``instances`` (in service) per ``bin``;
    the shape's ``offered`` rate on a finer grid (``offered_time``, ``offered``); and the
    verdict: ``breaking_point`` (requests/s or NaN), ``broken_time`` (middle of the broken
    stage, s, or NaN), ``slo`` (s, when the criterion is a latency SLO, else NaN)."""
    bin = _validate.positive("bin", bin)
    timeline = report.result.timeline(bin=bin)
    grid = np.linspace(0.0, report.shape.duration, points)
    broken = report.broken_stage
    slo = getattr(report.criterion, "slo", math.nan)
    return {
        "time": timeline["time"], "achieved": timeline["throughput"],
        "p95": timeline["p95"], "instances": timeline["instances"],
        "offered_time": grid, "offered": report.shape.rate_at(grid),
        "breaking_point": math.nan if broken is None else report.rows[broken]["offered"],
        "broken_time": math.nan if broken is None
        else (report.rows[broken]["start"] + report.rows[broken]["end"]) / 2,
        "verdict": report.verdict(), "slo": float(slo), "duration": report.shape.duration,
    }


# -- lesson 06: the real lab --------------------------------------------------------------------

def lab_ramp_shape(**ramp) -> loadtest.Shape:
    """The real lab's ramp: 10 → 140 requests/s over 15 s, in 10 windows."""
    r = {**LAB_RAMP, **ramp}
    return loadtest.ramp(r["start_rate"], r["end_rate"], r["duration"], windows=r["windows"])


def lab_instances(count: int = 2) -> list:
    """Real instances that serve one request at a time (``slots=1``): with ``/work?ms=20`` each
    answers at most 50 requests/s, like the simulated API."""
    from ..sim import Instance

    return [Instance(slots=1) for _ in range(_validate.integer("count", count, minimum=1))]


def lab_twin(count: int = 2, work_ms: float = LAB_WORK_MS) -> loadtest.Simulated:
    """The simulator's version of :func:`lab_instances` with ``/work?ms=work_ms``: every
    request takes exactly ``work_ms`` ms, one at a time per instance."""
    return loadtest.Simulated(instances=count, service_time=Constant(work_ms / 1000))


LabTarget = loadtest.LabTarget  # a running sl.lab.Lab as a load-test target


# -- lesson 06: the explorer --------------------------------------------------------------------

LOADTEST_EXPLORER_SHAPES = ("ramp", "steps", "spike", "soak")
LOADTEST_EXPLORER_DURATION = 600.0  # s
LOADTEST_EXPLORER_BIN = 15.0        # s


def explorer_shape(kind: str = "ramp", peak_rate: float = 6.0,
                   duration: float = LOADTEST_EXPLORER_DURATION) -> loadtest.Shape:
    """The explorer's shapes, each reaching ``peak_rate`` requests/s within ``duration`` s:
    ``ramp`` (a tenth of the peak → the peak, 10 windows), ``steps`` (5 equal steps up to
    the peak), ``spike`` (a quarter of the peak, the peak in the middle third, back), ``soak``
    (the peak all along, 10 windows)."""
    peak = _validate.positive("peak_rate", peak_rate)
    duration = _validate.positive("duration", duration)
    if kind == "ramp":
        return loadtest.ramp(peak / 10, peak, duration, windows=10)
    if kind == "steps":
        return loadtest.steps([peak * k / 5 for k in range(1, 6)], duration / 5)
    if kind == "spike":
        return loadtest.spike(peak / 4, peak, before=duration / 3, length=duration / 3,
                              after=duration / 3)
    if kind == "soak":
        return loadtest.soak(peak, duration, windows=10)
    raise ValueError(f"kind must be one of {', '.join(map(repr, LOADTEST_EXPLORER_SHAPES))}, "
                     f"got {kind!r}")


def load_test_explorer(shape: str = "ramp", peak_rate: float = 6.0, instances: int = 2,
                       autoscaler: bool = False, seed: int = 0,
                       bin: float = LOADTEST_EXPLORER_BIN) -> dict:
    """One load test of the photo service (1 s per request, p95 within 10 s): the
    :func:`explorer_shape` ``shape`` up to ``peak_rate`` requests/s against ``instances``
    instances — with ``autoscaler``, the HPA at 50 % may add up to 12 (never fewer than
    ``instances``; they boot in 60 s). Returns :func:`load_series` (``bin`` s) plus
    ``report``, ``settings``, ``capacity`` (requests/s of the starting instances),
    ``worst_p95`` (s, the worst stage's) and ``most_instances``."""
    instances = _validate.integer("instances", instances, minimum=1)
    test = explorer_shape(shape, peak_rate)
    cluster = {"instances": instances, "service_time": AUTOSCALING_SERVICE_TIME}
    if autoscaler:
        cluster.update(autoscaler=HPA(target_utilization=0.5), min_instances=instances,
                       max_instances=max(12, instances), boot_time=60.0)
    report = loadtest.run(test, loadtest.Simulated(**cluster),
                          criterion=loadtest.LatencyAbove(AUTOSCALING_SLO), seed=seed)
    series = load_series(report, bin=bin)
    series.update(
        report=report, capacity=capacity(instances, AUTOSCALING_SERVICE_TIME),
        worst_p95=float(np.nanmax([row["p95"] for row in report.rows])),
        most_instances=float(np.max(series["instances"])),
        settings={"shape": shape, "peak_rate": float(peak_rate), "instances": instances,
                  "autoscaler": bool(autoscaler), "seed": seed})
    return series



"""Lesson 06, past the breaking point: client retries after timeouts (a retry storm), the
shared store as the next bottleneck, and a soak test that finds a slow leak.

Times in seconds, rates in requests per second.

The simulator's ``retries=`` resends only requests whose connection was refused or whose
instance crashed, and its ``timeout=`` marks a request as timed out without resending it. A
retry storm needs more: a client that gives up after ``timeout`` seconds and sends the same
request again. :func:`retry_storm` models exactly that, event by event, for one queue served
first come, first served by ``servers`` workers (one instance with ``servers`` slots):

- attempts are taken in the order they arrive; each starts when it has arrived and a worker
  is free, and holds that worker for its work (exponential, mean ``service_time``);
- the server cannot tell that a client gave up: a timed-out attempt stays in the queue and is
  served in full (wasted work), as in the simulator;
- an attempt that has no answer within ``timeout`` s is resent ``backoff × 2^k`` s after the
  client gave up (k = 0 for the first resend), at most ``retries`` times.

Because a resend always arrives after the attempt it replaces, popping arrivals from a heap in
time order and giving each to the earliest free worker is an exact simulation of this queue.
With ``retries=0`` it is the simulator's run of the same arrivals and work on one instance
with ``servers`` slots and ``timeout=`` (tests/test_lesson06.py checks it).
"""

from __future__ import annotations

import heapq

import numpy as np

from .. import _validate, loadtest, theory
from ..sim import simulate
from ..workloads import Workload

__all__ = [
    "LEAK", "LeakyTarget", "STORE", "STORM", "dip_shape", "leak_break_minutes", "leaky_soak",
    "retry_storm", "scale_in_rehearsal", "store_bottleneck", "storm_table", "storm_timeline",
    "storm_workload", "stuck_load", "usl_past_peak",
]

STORM = {"servers": 2, "service_time": 0.02, "timeout": 1.0, "base_rate": 80.0,
         "spike_rate": 160.0, "before": 60.0, "length": 10.0, "after": 230.0}
STORE = {"app_time": 0.02, "store_time": 0.005, "rate": 180.0}
LEAK = {"rate": 60.0, "instances": 2, "service_time": 0.02, "leak_per_minute": 0.005,
        "duration": 7200.0, "windows": 12}

ATTEMPT = np.dtype([("request", np.int64), ("attempt", np.int16), ("arrival", float),
                    ("start", float), ("end", float), ("service", float)])


def retry_storm(arrivals, service_time: float = 0.02, servers: int = 1, timeout: float = 1.0,
                retries: int = 0, backoff: float = 0.0, seed: int = 0) -> np.ndarray:
    """Every attempt of every request (see the module docstring): one record per attempt with
    ``request`` (index into ``arrivals``), ``attempt`` (0 = the first send), ``arrival``,
    ``start``, ``end`` and ``service`` (s). A request succeeds if one of its attempts ends
    within ``timeout`` of that attempt's arrival.

    >>> records = retry_storm([0.0, 0.1], service_time=0.02, timeout=1.0)
    >>> len(records), int(records["attempt"].max())
    (2, 0)
    """
    arrivals = _validate.times("arrivals", arrivals)
    service_time = _validate.positive("service_time", service_time)
    servers = _validate.integer("servers", servers, minimum=1)
    timeout = _validate.positive("timeout", timeout)
    retries = _validate.integer("retries", retries, minimum=0)
    backoff = _validate.number("backoff", backoff, minimum=0)
    rng = np.random.default_rng(_validate.seed(seed))
    first_work = rng.exponential(service_time, len(arrivals))
    pending = [(float(t), k, 0) for k, t in enumerate(arrivals)]
    heapq.heapify(pending)
    free = [0.0] * servers
    rows = []
    while pending:
        arrival, request, attempt = heapq.heappop(pending)
        work = first_work[request] if attempt == 0 else rng.exponential(service_time)
        start = max(arrival, heapq.heappop(free))
        heapq.heappush(free, start + work)
        rows.append((request, attempt, arrival, start, start + work, work))
        if start + work - arrival > timeout and attempt < retries:
            heapq.heappush(pending, (arrival + timeout + backoff * 2**attempt, request,
                                     attempt + 1))
    return np.array(rows, dtype=ATTEMPT)


def _succeeded(records: np.ndarray, timeout: float) -> np.ndarray:
    return records["end"] - records["arrival"] <= timeout


def storm_workload(seed: int = 1, **settings) -> Workload:
    """The storm's offered load: ``base_rate`` requests/s, ``spike_rate`` for ``length`` s
    after ``before`` s (the trigger), then ``base_rate`` again for ``after`` s."""
    s = {**STORM, **settings}
    shape = loadtest.spike(s["base_rate"], s["spike_rate"], s["before"], s["length"],
                           s["after"])
    return shape.workload(seed)


def storm_timeline(retries: int, seed: int = 1, bin: float = 5.0, **settings) -> dict:
    """One run of the storm (:data:`STORM`, clients that resend up to ``retries`` times at
    once), per ``bin`` s: ``time`` (bin starts), ``offered`` (new requests/s), ``sent``
    (attempts/s, resends included), ``busy`` (answers/s the workers produced, wasted or not)
    and ``goodput`` (answers/s that reached a client in time); plus ``capacity`` and the
    trigger's ``spike`` (start, end)."""
    s = {**STORM, **settings}
    workload = storm_workload(seed, **settings)
    records = retry_storm(workload.arrivals, s["service_time"], s["servers"], s["timeout"],
                          retries, seed=seed)
    duration = workload.duration
    edges = np.arange(0.0, duration + bin / 2, bin)
    ok = _succeeded(records, s["timeout"])

    def per_s(times):
        return np.histogram(times, edges)[0] / bin

    return {"time": edges[:-1], "retries": retries, "records": records,
            "offered": per_s(workload.arrivals), "sent": per_s(records["arrival"]),
            "busy": per_s(records["end"]), "goodput": per_s(records["end"][ok]),
            "capacity": s["servers"] / s["service_time"], "duration": duration,
            "spike": (s["before"], s["before"] + s["length"]), "timeout": s["timeout"]}


def stuck_load(retries: int, **settings) -> float:
    """The work offered per second of capacity once every attempt times out: each request is
    sent 1 + ``retries`` times and each send is served in full, so ρ × (1 + retries). Above 1
    the queue keeps growing and the bad state sustains itself; below 1 it drains."""
    s = {**STORM, **settings}
    rho = s["base_rate"] * s["service_time"] / s["servers"]
    return rho * (1 + _validate.integer("retries", retries, minimum=0))


def storm_table(retry_counts=(0, 2), seed: int = 1, last: float = 60.0, **settings) -> list[dict]:
    """Per retry count: goodput before the trigger, during the last ``last`` s (long after it)
    and the workers' answers per second then, attempts per request, and :func:`stuck_load`."""
    rows = []
    for retries in retry_counts:
        run = storm_timeline(retries, seed=seed, **settings)
        before = run["time"] < run["spike"][0]
        tail = run["time"] >= run["duration"] - last
        records = run["records"]
        rows.append({"retries": retries, "goodput_before": float(run["goodput"][before].mean()),
                     "goodput_last": float(run["goodput"][tail].mean()),
                     "busy_last": float(run["busy"][tail].mean()),
                     "attempts_per_request": len(records) / (records["request"].max() + 1),
                     "stuck_load": stuck_load(retries, **settings)})
    return rows


def usl_past_peak(alpha: float = 0.05, beta: float = 0.001, multiples=(1, 2, 4)) -> list[dict]:
    """Lesson 01's Universal Scalability Law past its peak: relative capacity at ``multiples``
    of the peak concurrency N* = √((1 − α)/β), and as a fraction of the peak's."""
    peak = float(theory.usl_peak(alpha, beta))
    top = float(theory.usl(peak, alpha, beta))
    return [{"n": m * peak, "capacity": float(theory.usl(m * peak, alpha, beta)),
             "of_peak": float(theory.usl(m * peak, alpha, beta)) / top} for m in multiples]


# -- the shared store ---------------------------------------------------------------------------

def store_bottleneck(instance_counts=(1, 2, 4, 8, 16), **settings) -> list[dict]:
    """Instances that each need ``app_time`` s per request, all calling one shared store that
    needs ``store_time`` s per request. Per instance count: ``capacity`` = min(n / app_time,
    1 / store_time), the tier that limits it, and the mean response (s) at ``rate`` requests/s
    (NaN when a tier is overloaded) — a Jackson network of M/M/1 queues: random routing keeps
    each instance's arrivals Poisson, the instances' departures merge into a Poisson stream,
    so the mean response is the sum of the two tiers' M/M/1 means."""
    s = {**STORE, **settings}
    app, store, rate = s["app_time"], s["store_time"], s["rate"]
    rows = []
    for n in instance_counts:
        n = _validate.integer("instances", n, minimum=1)
        app_part = theory.mm1(rate / n, app).mean_response
        store_part = theory.mm1(rate, store).mean_response
        rows.append({"instances": n, "capacity": min(n / app, 1 / store),
                     "limit": "store" if 1 / store <= n / app else "instances",
                     "app": float(app_part), "store": float(store_part),
                     "mean": float(app_part + store_part)})
    return rows


# -- a soak test that finds a leak ---------------------------------------------------------------

class LeakyTarget(loadtest.Simulated):
    """The API whose every request costs ``leak_per_minute`` more work per minute of uptime
    (a leak that slows it down, written in on purpose: a real one grows however its code
    makes it grow)."""

    def __init__(self, leak_per_minute: float, **cluster):
        self.leak_per_minute = _validate.number("leak_per_minute", leak_per_minute, minimum=0)
        super().__init__(**cluster)

    def open_loop(self, workload: Workload, seed: int):
        cost = 1 + self.leak_per_minute * workload.arrivals / 60
        return simulate(Workload(workload.arrivals, workload.duration, cost=cost),
                        **{"seed": seed, **self.cluster})


def leak_break_minutes(rate: float, instances: int, service_time: float, slo: float,
                       leak_per_minute: float, quantile: float = 0.95) -> float:
    """Theory's minute at which the leaky API's p95 reaches ``slo``: the work multiplier m at
    which ``instances`` E_n/M/1 queues (round robin) at ``rate`` requests/s and ``m ×
    service_time`` of work reach it (bisection: the p95 grows with m), then (m − 1) ÷ leak."""
    leak = _validate.positive("leak_per_minute", leak_per_minute)

    def p(multiplier):
        return float(theory.round_robin(rate, service_time * multiplier, instances)
                     .response_percentile(quantile))

    lo, hi = 1.0, instances / (rate * service_time)  # hi: the work at which ρ = 1
    if p(lo) > slo:
        return 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p(mid) <= slo else (lo, mid)
    return (lo - 1) / leak


def leaky_soak(seed: int = 1, slo: float = 0.25, **settings) -> dict:
    """A soak test of :class:`LeakyTarget`: ``rate`` requests/s for ``duration`` s in
    ``windows`` stages, judged by p95 ≤ ``slo``. Returns the ``report`` and theory's time (s)
    at which the p95 reaches ``slo`` (``theory_break``, :func:`leak_break_minutes`)."""
    s = {**LEAK, **settings}
    target = LeakyTarget(s["leak_per_minute"], instances=s["instances"],
                         service_time=s["service_time"])
    shape = loadtest.soak(s["rate"], s["duration"], windows=s["windows"])
    report = loadtest.run(shape, target, criterion=loadtest.LatencyAbove(slo), seed=seed)
    minutes = leak_break_minutes(s["rate"], s["instances"], s["service_time"], slo,
                                 s["leak_per_minute"])
    return {"report": report, "theory_break": 60 * minutes, "slo": slo, **s}


# -- a scale-in rehearsal -------------------------------------------------------------------------

def dip_shape() -> loadtest.Shape:
    """Traffic that climbs to 6 requests/s, drops to 1 for four minutes (a quiet spell) and
    comes back within a minute: 30 minutes in 6 stages."""
    return loadtest.stages([(600, 6), (300, 6), (60, 1), (180, 1), (60, 6), (600, 6)],
                           start_rate=1)


def scale_in_rehearsal(stabilizations=(300.0, 0.0), seed: int = 1) -> dict:
    """:func:`dip_shape` against the photo service under the HPA (50 % target, instances boot
    in 60 s), once per scale-down stabilization window (s; Kubernetes' default is 300).
    Returns ``reports`` by window and ``rows``: window, verdict, worst p95 (s) after the dip,
    instance-hours."""
    from ..autoscalers import HPA
    from .lesson06 import rehearsal

    shape, reports, rows = dip_shape(), {}, []
    for window in stabilizations:
        hpa = HPA(target_utilization=0.5, downscale_stabilization=window)
        report = rehearsal(boot_time=60.0, autoscaler=hpa, shape=shape, seed=seed)
        reports[window] = report
        rows.append({"stabilization": window, "verdict": report.verdict(),
                     "p95_after": max(row["p95"] for row in report.rows[4:]),
                     "instance_hours": report.result.summary()["instance_seconds"] / 3600})
    return {"reports": reports, "rows": rows}

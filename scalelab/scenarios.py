"""The numbers behind the lessons' figures and explorers: pure functions of their settings.

No plotting here: ``plots`` draws what these return, ``widgets`` wires controls to them, and
tests call them directly. Times in seconds, rates per second, utilization 0–1.
"""

from __future__ import annotations

import numpy as np

from . import _validate, theory, workloads
from .sim import simulate

HOCKEY_LOADS = np.round(np.arange(0.1, 0.96, 0.05), 2)


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
    (``requests`` Poisson arrivals each, first 10 % dropped as warm-up) beside M/M/1."""
    service_time = _validate.positive("service_time", service_time)
    loads = np.asarray(loads, dtype=float)
    mean, p95 = np.empty(len(loads)), np.empty(len(loads))
    for k, load in enumerate(loads):
        rate = load / service_time
        duration = requests / rate
        result = simulate(workloads.poisson(rate, duration, seed=seed + k), instances=1,
                          service_time=service_time, seed=seed + k)
        summary = result.summary(warmup=duration / 10)
        mean[k], p95[k] = summary["mean"], summary["p95"]
    curve = np.linspace(0.0, 0.985, 200)
    queue = theory.mm1(curve / service_time, service_time)
    return {
        "loads": loads, "mean": mean, "p95": p95,
        "curve_load": curve,
        "curve_mean": np.asarray(queue.mean_response),
        "curve_p95": np.asarray(queue.response_percentile(0.95)),
    }


# -- lesson 01: a bigger machine or more machines ------------------------------------------

#: An illustrative price list, not any provider's. ``size`` is the number of cores, each as
#: fast as the smallest machine's one core; ``price_per_hour`` is in dollars. Prices are linear
#: up to 16 cores, then the biggest machines cost more per core, and 64 cores is the largest
#: machine on sale: the ceiling of vertical scaling.
PRICE_LIST = (
    {"size": 1, "price_per_hour": 0.10},
    {"size": 2, "price_per_hour": 0.20},
    {"size": 4, "price_per_hour": 0.40},
    {"size": 8, "price_per_hour": 0.80},
    {"size": 16, "price_per_hour": 1.60},
    {"size": 32, "price_per_hour": 3.84},
    {"size": 64, "price_per_hour": 10.24},
)
LARGEST_SIZE = PRICE_LIST[-1]["size"]
MAX_MACHINES = 16  # the explorer's "machines" slider goes up to this


def price_per_hour(size: int) -> float:
    """Dollars per hour for one machine of ``size`` cores from :data:`PRICE_LIST`.

    >>> price_per_hour(4)
    0.4
    """
    size = _validate.integer("size", size, minimum=1)
    for row in PRICE_LIST:
        if row["size"] == size:
            return row["price_per_hour"]
    sizes = ", ".join(str(row["size"]) for row in PRICE_LIST)
    raise ValueError(f"size must be one of the sizes on the price list ({sizes}), got {size!r}")


def cost_curves(max_cores: int = 128, out_size: int = 4) -> dict:
    """Cheapest dollars per hour to get ``cores`` = 1 … ``max_cores`` cores, two ways.

    ``up_*``: one machine, the smallest size with at least that many cores (NaN past the
    largest size: no single machine is big enough). ``out_*``: as many machines of
    ``out_size`` cores as needed.
    """
    max_cores = _validate.integer("max_cores", max_cores, minimum=1)
    out_price = price_per_hour(out_size)
    cores = np.arange(1, max_cores + 1)
    sizes = np.array([row["size"] for row in PRICE_LIST])
    prices = np.array([row["price_per_hour"] for row in PRICE_LIST])
    index = np.searchsorted(sizes, cores)
    fits = index < len(sizes)
    safe = np.minimum(index, len(sizes) - 1)
    out_count = -(-cores // out_size)
    return {
        "cores": cores,
        "up_size": np.where(fits, sizes[safe], 0),
        "up_cost": np.where(fits, prices[safe], np.nan),
        "out_size": out_size,
        "out_count": out_count,
        "out_cost": out_count * out_price,
        "ceiling": LARGEST_SIZE,
    }


def speedup_curves(max_workers: int = 64, parallel_fractions=(0.5, 0.9, 0.95, 0.99),
                   alpha: float = 0.05, beta: float = 0.001) -> dict:
    """Speedup on 1 … ``max_workers`` cores or machines: Amdahl's law for each parallel
    fraction, and the Universal Scalability Law with contention ``alpha`` and coherency
    ``beta`` (its peak at ``usl_peak``)."""
    max_workers = _validate.integer("max_workers", max_workers, minimum=1)
    n = np.arange(1, max_workers + 1)
    return {
        "n": n,
        "amdahl": {float(p): np.asarray(theory.amdahl(p, n)) for p in parallel_fractions},
        "alpha": alpha, "beta": beta,
        "usl": np.asarray(theory.usl(n, alpha, beta)),
        "usl_peak": float(theory.usl_peak(alpha, beta)),
    }


def _pooling_designs(cores: int, service_time: float, rate: float) -> list[dict]:
    """The same ``cores`` of capacity built four ways, each with its closed form."""
    from .balancers import Random, RoundRobin
    from .sim import Instance

    return [
        {"name": f"1 core, {cores}× faster", "instances": [Instance(speed=cores)],
         "balancer": None, "theory": theory.mm1(rate, service_time / cores)},
        {"name": f"1 machine, {cores} cores", "instances": [Instance(slots=cores)],
         "balancer": None, "theory": theory.mmc(rate, service_time, cores)},
        {"name": f"{cores} machines, round robin", "instances": [Instance()] * cores,
         "balancer": RoundRobin(), "theory": theory.round_robin(rate, service_time, cores)},
        {"name": f"{cores} machines, random", "instances": [Instance()] * cores,
         "balancer": Random(), "theory": theory.mm1(rate / cores, service_time)},
    ]


def pooling(cores: int = 4, load: float = 0.8, service_time: float = 0.1,
            requests: int = 100_000, seed: int = 1) -> dict:
    """One fast core, one machine with ``cores`` cores, and ``cores`` one-core machines behind
    round robin or random routing, all at utilization ``load``: simulated mean and p99 latency
    (about ``requests`` Poisson arrivals, first 5 % dropped as warm-up) beside the closed
    forms (M/M/1 with μ×cores, M/M/c, E_c/M/1, M/M/1)."""
    cores = _validate.integer("cores", cores, minimum=1)
    load = _validate.number("load", load, above=0, maximum=0.99)
    service_time = _validate.positive("service_time", service_time)
    rate = load * cores / service_time
    duration = _validate.integer("requests", requests, minimum=100) / rate
    traffic = workloads.poisson(rate, duration, seed=seed)
    designs = []
    for design in _pooling_designs(cores, service_time, rate):
        result = simulate(traffic, instances=design["instances"], service_time=service_time,
                          balancer=design["balancer"], seed=seed)
        summary = result.summary(warmup=duration / 20)
        queue = design["theory"]
        designs.append({"name": design["name"], "mean": summary["mean"], "p99": summary["p99"],
                        "theory_mean": float(queue.mean_response),
                        "theory_p99": float(queue.response_percentile(0.99)),
                        "requests": summary["requests"]})
    return {"cores": cores, "load": load, "rate": rate, "service_time": service_time,
            "designs": designs}


def pooling_curves(cores: int = 4, service_time: float = 0.1, points: int = 200) -> dict:
    """Closed-form mean and p99 latency (s) of the four :func:`pooling` designs against
    utilization 0.01 … 0.97."""
    cores = _validate.integer("cores", cores, minimum=1)
    service_time = _validate.positive("service_time", service_time)
    loads = np.linspace(0.01, 0.97, _validate.integer("points", points, minimum=2))
    rates = loads * cores / service_time
    curves = []
    for design in _pooling_designs(cores, service_time, rates):
        queue = design["theory"]
        curves.append({"name": design["name"], "mean": np.asarray(queue.mean_response),
                       "p99": np.asarray(queue.response_percentile(0.99))})
    return {"loads": loads, "designs": curves}


CRASH_HEALTH_CHECK_SETTINGS = {"interval": 2.0, "timeout": 1.0, "unhealthy_threshold": 3,
                               "healthy_threshold": 2}


def crash_designs(cores: int = 4) -> dict:
    """The designs lesson 01 crashes: one machine of ``cores`` cores, ``cores`` one-core
    machines, and one spare one-core machine more."""
    from .sim import Instance

    cores = _validate.integer("cores", cores, minimum=1)
    return {
        f"1 machine, {cores} cores": [Instance(slots=cores)],
        f"{cores} machines, 1 core each": [Instance()] * cores,
        f"{cores + 1} machines, 1 core each": [Instance()] * (cores + 1),
    }


def crash(designs: dict | None = None, rate: float = 32.0, service_time: float = 0.1,
          crash_at: float = 60.0, recover_at: float | None = 120.0, duration: float = 180.0,
          health_check=None, seed: int = 1, bin: float = 2.0) -> dict:
    """Crash machine 0 of each design at ``crash_at`` (back at ``recover_at``) under the same
    Poisson traffic, with a round-robin balancer and ``health_check`` (by default probes every
    2 s; 3 failures mark a machine down, 2 successes bring it back).

    Returns, per design name: ``result``, ``summary``, ``timeline`` (``bin`` seconds),
    ``errors`` (count), ``first_error``/``last_error`` (arrival times, s; NaN if none),
    ``marked_down``/``marked_up`` (s; NaN if never), ``worst_p95`` (the highest p95 of any
    bin, s).
    """
    from .balancers import RoundRobin
    from .failures import Crash, HealthCheck

    designs = crash_designs() if designs is None else designs
    if health_check is None:
        health_check = HealthCheck(**CRASH_HEALTH_CHECK_SETTINGS)
    rate = _validate.positive("rate", rate)
    traffic = workloads.poisson(rate, duration, seed=seed)
    runs = {}
    for name, instances in designs.items():
        result = simulate(traffic, instances=instances, service_time=service_time,
                          balancer=RoundRobin(), seed=seed,
                          health_check=health_check,
                          failures=[Crash(0, crash_at, recover_at)])
        failed = result.requests["arrival"][result.requests["status"] != 0]
        times = {what: [t for t, j, kind in result.events if j == 0 and kind == what]
                 for what in ("marked down", "marked up")}
        timeline = result.timeline(bin=bin)
        runs[name] = {
            "result": result, "summary": result.summary(), "timeline": timeline,
            "errors": len(failed),
            "first_error": float(failed.min()) if len(failed) else float("nan"),
            "last_error": float(failed.max()) if len(failed) else float("nan"),
            "marked_down": times["marked down"][0] if times["marked down"] else float("nan"),
            "marked_up": times["marked up"][0] if times["marked up"] else float("nan"),
            "worst_p95": float(np.nanmax(timeline["p95"])),
        }
    return runs


def availability_table(machine: float = 0.99, balancer: float = 0.999) -> list[dict]:
    """Availability (0–1) and expected downtime (minutes per year) of a few set-ups built from
    machines that are each up a fraction ``machine`` of the time, with or without one load
    balancer (up ``balancer``) in front. Failures are assumed independent."""
    a, b = machine, balancer
    rows = [
        ("1 machine (however big)", theory.availability(a)),
        ("2 machines, either one enough", theory.availability(a, n=2)),
        ("3 machines, any one enough", theory.availability(a, n=3)),
        ("1 balancer + 2 machines", theory.series(b, theory.availability(a, n=2))),
        ("1 balancer + 3 machines", theory.series(b, theory.availability(a, n=3))),
        ("1 balancer + 4 machines, 3 needed", theory.series(b, theory.availability(a, n=4, k=3))),
    ]
    return [{"setup": name, "availability": float(value),
             "downtime_minutes": float(theory.downtime_per_year(value))} for name, value in rows]


def _latency(rate_per_machine, size: int, service_time: float):
    """Mean and p99 response time (s) of one machine of ``size`` cores (M/M/size); inf when
    it is 100 % busy or more."""
    queue = theory.mmc(rate_per_machine, service_time, size)
    mean = np.asarray(queue.mean_response, dtype=float)
    stable = np.asarray(rate_per_machine) * service_time < size
    p99 = np.where(stable, np.asarray(queue.response_percentile(0.99), dtype=float), np.inf)
    return mean, p99


def _fluid_output(edges, start, end, arrival_rate, capacity, backlog):
    """Requests answered by one machine during [start, min(edge, end)] for each edge, as a
    fluid: it serves at ``capacity`` per second while requests wait, else as they arrive.
    Returns (cumulative count at each edge, backlog at ``end``)."""
    tau = np.clip(edges, start, end) - start
    if arrival_rate >= capacity:
        return capacity * tau, backlog + (arrival_rate - capacity) * (end - start)
    empty_after = backlog / (capacity - arrival_rate)
    served = capacity * np.minimum(tau, empty_after) + arrival_rate * np.maximum(
        0.0, tau - empty_after)
    return served, max(0.0, backlog - (capacity - arrival_rate) * (end - start))


def _probe_time(t: float, interval: float, successes: int) -> float:
    """When the ``successes``-th probe at or after ``t`` happens (probes every ``interval``)."""
    first = interval * max(1.0, np.ceil(t / interval - 1e-9))
    return first + (successes - 1) * interval


def size_vs_count(size: int, count: int, traffic: float, service_time: float = 0.1,
                  crash_at: float = 60.0, recover_at: float | None = 120.0,
                  duration: float = 180.0, bin: float = 1.0, points: int = 200) -> dict:
    """``count`` machines of ``size`` cores serving ``traffic`` requests/s: capacity, cost,
    latency, and what a crash of one machine does. Expected values from the formulas, no
    simulation, so an explorer can redraw at once.

    - Latency: each machine is an M/M/size queue fed ``traffic / count`` (the balancer spreads
      requests at random); ``*_after_crash`` is the same with one machine fewer.
    - Crash: machine 0 dies at ``crash_at`` and restarts at ``recover_at``; health checks as in
      :func:`crash` mark it down and up. Until it is marked down its share of the traffic
      fails, and the requests it held fail at once; after that the others carry everything,
      queueing what they cannot serve (a fluid model). ``answered``/``failed`` are per-second
      rates in each ``bin`` of ``time``.
    """
    price = price_per_hour(size)
    count = _validate.integer("count", count, minimum=1)
    traffic = _validate.positive("traffic", traffic)
    service_time = _validate.positive("service_time", service_time)
    duration = _validate.positive("duration", duration)
    bin = _validate.positive("bin", bin)
    crash_at = _validate.number("crash_at", crash_at, minimum=0, maximum=duration)
    if recover_at is not None:
        recover_at = _validate.number("recover_at", recover_at, above=crash_at)
    capacity_per_machine = size / service_time
    capacity = count * capacity_per_machine

    # every latency in one call: the points for all machines up and one down, then the curves
    survivors = count - 1
    grid = np.linspace(0.0, 0.995 * capacity_per_machine, points)  # rate per machine
    per_machine = np.concatenate([[traffic / count, traffic / max(survivors, 1)], grid])
    means, p99s = _latency(per_machine, size, service_time)
    mean, p99 = means[0], p99s[0]
    mean_after, p99_after = (means[1], p99s[1]) if survivors else (np.inf, np.inf)
    curve_rate, curve_mean, curve_p99 = count * grid, means[2:], p99s[2:]
    if survivors:
        after_rate, after_mean, after_p99 = survivors * grid, means[2:], p99s[2:]
    else:
        after_rate = after_mean = after_p99 = np.array([])

    # -- the crash, as a fluid ------------------------------------------------------------
    check = CRASH_HEALTH_CHECK_SETTINGS
    down = _probe_time(crash_at, check["interval"], check["unhealthy_threshold"])
    up = np.inf if recover_at is None else _probe_time(recover_at, check["interval"],
                                                       check["healthy_threshold"])
    marked_up = up if up <= duration else float("nan")
    down, up = min(down, duration), min(up, duration)
    edges = np.arange(0.0, duration + bin / 2, bin)
    answered = np.zeros(len(edges))
    failed = np.zeros(len(edges))
    mu = capacity_per_machine
    share = traffic / count
    # machine 0 until it crashes, then what it held fails at once
    served0, backlog0 = _fluid_output(edges, 0.0, crash_at, share, mu, 0.0)
    held = backlog0 + (share * float(mean) if share < mu else size)
    failed += np.where(edges > crash_at, held, 0.0)
    # its share fails until the health check marks it down
    failed += share * (np.clip(edges, crash_at, down) - crash_at)
    # after that: no healthy machine at all (count = 1), or the others take everything
    if survivors == 0:
        failed += traffic * (np.clip(edges, down, up) - down)
    # back in rotation from `up`: a fresh machine 0
    served0_back, _ = _fluid_output(edges, up, duration, share, mu, 0.0)
    answered += served0 + served0_back
    backlog = 0.0
    peak_backlog = 0.0
    if survivors:
        for start, end, rate in ((0.0, down, share), (down, up, traffic / survivors),
                                 (up, duration, share)):
            served, backlog = _fluid_output(edges, start, end, rate, mu, backlog)
            answered += survivors * served
            peak_backlog = max(peak_backlog, backlog)
    return {
        "size": size, "count": count, "traffic": traffic, "service_time": service_time,
        "cores": size * count, "capacity": capacity, "price_per_hour": price,
        "cost_per_hour": count * price, "utilization": traffic / capacity,
        "mean": float(mean), "p99": float(p99),
        "utilization_after_crash": traffic / (survivors * capacity_per_machine)
        if survivors else float("inf"),
        "mean_after_crash": float(mean_after), "p99_after_crash": float(p99_after),
        "curve_rate": curve_rate, "curve_mean": curve_mean, "curve_p99": curve_p99,
        "after_rate": after_rate, "after_mean": after_mean, "after_p99": after_p99,
        "price_capacity": np.array([r["size"] for r in PRICE_LIST]) / service_time,
        "price_cost": np.array([r["price_per_hour"] for r in PRICE_LIST]),
        "fleet_capacity": np.arange(1, MAX_MACHINES + 1) * capacity_per_machine,
        "fleet_cost": np.arange(1, MAX_MACHINES + 1) * price,
        "crash_at": crash_at, "recover_at": recover_at, "marked_down": down,
        "marked_up": marked_up,
        "time": edges[:-1], "answered": np.diff(answered) / bin, "failed": np.diff(failed) / bin,
        "failed_total": float(failed[-1]),
        "held_at_crash": float(held),
        "peak_wait": peak_backlog / mu,
    }


# -- lesson 04: autoscaling -----------------------------------------------------------------------
# One service model for the whole lesson: each request needs about 1 s of one instance's CPU
# (exponential), instances boot in 60 s, the SLO is 95 % of requests within 10 s. Heavy
# requests keep the request counts, and so the simulations, small.

import math  # (imports for lesson 04's functions, appended below the others)
from functools import lru_cache

from . import metrics

AUTOSCALING_SERVICE_TIME = 1.0   # s of work per request
AUTOSCALING_SLO = 10.0           # s: a request slower than this (or failed) misses the SLO


def autoscaling_series(result, bin: float = 60.0, slo: float = AUTOSCALING_SLO) -> dict:
    """What the autoscaling figures show of one run (a ``Result``), per ``bin`` seconds.

    Series (one value per bin): ``time`` (bin start, s), ``rate`` (arrivals per second),
    ``in_service`` (instances taking traffic) and ``paid`` (instances launched and not yet
    removed, booting ones included), both averaged over the bin, ``utilization`` (0–1) and
    ``p95`` (s, of the requests that arrived in the bin). Events: ``scale_out_times`` and
    ``scale_in_times`` (s). Totals: ``instance_hours`` (what you pay for), ``slow`` (fraction
    of requests slower than ``slo`` seconds or not answered), ``p95_all`` (s), ``scale_events``.
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
        "scale_out_times": out_times,
        "scale_in_times": in_times,
        "instance_hours": summary["instance_seconds"] / 3600,
        "slow": float(slow.mean()) if len(slow) else 0.0,
        "p95_all": summary["p95"],
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


def lesson04_spike(seed: int = 1):
    """The lesson's spike: 1 request/s, then 4/s from minute 10 to minute 40, over an hour."""
    return workloads.spike(base_rate=1.0, peak_rate=4.0, at=600.0, length=1800.0,
                           duration=3600.0, seed=seed)


def autoscaled(workload, autoscaler, *, instances: int = 2, min_instances: int = 1,
               max_instances: int = 10, boot_time: float = 60.0, control_interval: float = 15.0,
               service_time: float = AUTOSCALING_SERVICE_TIME, seed: int = 0, **more):
    """``simulate`` with the lesson's service model and cluster bounds (returns a Result)."""
    return simulate(workload, instances=instances, service_time=service_time,
                    autoscaler=autoscaler, min_instances=min_instances,
                    max_instances=max_instances, boot_time=boot_time,
                    control_interval=control_interval, seed=seed, **more)


def lag_table(durations=(60.0, 300.0), boot_times=(30.0, 60.0, 180.0), seed: int = 1) -> list[dict]:
    """The course text's rule on the lesson's spike for each window length and warm-up:
    seconds from the spike's start until the rule fired and until the first new instance
    answered a request."""
    from .autoscalers import Threshold

    spike = lesson04_spike(seed)
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
            "service_time", AUTOSCALING_SERVICE_TIME), seed=seed)
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
    instances, the course text's rule (2-minute window and cooldown) removes the spare ones,
    and a consistent-hash balancer keeps each user on one instance. Returns
    ``lost_sessions`` (requests that found no session: forced re-logins), ``users``,
    ``requests``, ``scale_ins`` and ``scale_outs``."""
    from .autoscalers import Threshold
    from .balancers import ConsistentHash

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
    """The course text's rule with these settings on :func:`explorer_day`: the
    :func:`autoscaling_series` (30 s bins) plus ``settings``, the settings actually used (the
    thresholds and bounds also at the top level, for the figure and the readout). A scale-in
    threshold at or above the scale-out one is lowered to 0.05 below it, and
    ``max_instances`` is raised to ``min_instances`` if needed; the cluster starts with 2
    instances (or the nearest count within the bounds)."""
    from .autoscalers import Threshold

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

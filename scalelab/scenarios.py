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


# -- lesson 05: load testing ----------------------------------------------------------------------
# Two services. "The API": each request needs 20 ms of one instance's work (exponential), so an
# instance answers at most 50 requests/s, and the SLO is a p95 within 250 ms; the step tests,
# the stalled server and the real lab (/work?ms=20) use it. The autoscaler rehearsals, the
# explorer and the exercise use lesson 04's photo service instead (1 s of work per request,
# p95 within 10 s, instances boot in 60 s): heavy requests keep autoscaled simulations small.

from . import loadtest  # (imports for lesson 05's functions, appended below the others)
from .autoscalers import HPA
from .failures import Pause
from .servicetimes import Constant

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


# -- lesson 05: a stalled server, open and closed loop ------------------------------------------

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


# -- lesson 05: rehearsing the autoscaler ---------------------------------------------------------

def rehearsal_shape(**ramp) -> loadtest.Shape:
    """The rehearsal's ramp: 0.5 → 8 requests/s over 30 minutes, in 12 windows."""
    r = {**REHEARSAL_RAMP, **ramp}
    return loadtest.ramp(r["start_rate"], r["end_rate"], r["duration"], windows=r["windows"])


def rehearsal_target(boot_time: float = 60.0, autoscaler=None, **cluster):
    """Lesson 04's photo service (1 s per request) on 2–12 instances under an autoscaler
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


# -- lesson 05: the real lab --------------------------------------------------------------------

def lab_ramp_shape(**ramp) -> loadtest.Shape:
    """The real lab's ramp: 10 → 140 requests/s over 15 s, in 10 windows."""
    r = {**LAB_RAMP, **ramp}
    return loadtest.ramp(r["start_rate"], r["end_rate"], r["duration"], windows=r["windows"])


def lab_instances(count: int = 2) -> list:
    """Real instances that serve one request at a time (``slots=1``): with ``/work?ms=20`` each
    answers at most 50 requests/s, like the simulated API."""
    from .sim import Instance

    return [Instance(slots=1) for _ in range(_validate.integer("count", count, minimum=1))]


def lab_twin(count: int = 2, work_ms: float = LAB_WORK_MS) -> loadtest.Simulated:
    """The simulator's version of :func:`lab_instances` with ``/work?ms=work_ms``: every
    request takes exactly ``work_ms`` ms, one at a time per instance."""
    return loadtest.Simulated(instances=count, service_time=Constant(work_ms / 1000))


LabTarget = loadtest.LabTarget  # a running sl.lab.Lab as a load-test target


# -- lesson 05: the explorer --------------------------------------------------------------------

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


# -- lesson 02: load balancers --------------------------------------------------------------
# One service model for the lesson: a request needs 100 ms of work on a speed-1 instance
# (exponential, or log-normal for a heavy tail). Instances are sl.Instance(speed=…).

from functools import lru_cache  # (imports for lesson 02's functions, appended below the others)

LB_SERVICE_TIME = 0.1     # s of work per request on a speed-1 instance
LB_HEAVY_SIGMA = 1.5      # the log-normal's sigma for "heavy-tailed requests"
LB_EXPLORER = {"instances": 4, "duration": 60.0, "crash_at": 21.0, "recover_at": 41.0,
               "healthy_threshold": 2, "latency_bin": 4.0, "error_bin": 1.0}


def lesson02_policies(speeds=None) -> dict:
    """Fresh built-in balancers under the names the lesson uses. Weighted round robin weighs
    each instance by its speed (``speeds``; all 1 when None)."""
    from .balancers import (
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
    from .servicetimes import Exponential, LogNormal

    return Exponential(service_time) if sigma is None else LogNormal(service_time, sigma)


def _lb_instances(speeds) -> list:
    from .sim import Instance

    return [Instance(speed=float(s)) for s in speeds]


def policy_race(speeds=(1.0, 1.0, 1.0, 1.0), load: float = 0.8, sigma: float | None = None,
                requests: int = 20_000, policies: dict | None = None, seed: int = 1) -> dict:
    """Every policy on the same seeded Poisson traffic to instances of these ``speeds``, at
    utilization ``load`` of their total capacity; 100 ms of work per request (exponential, or
    log-normal with ``sigma`` for a heavy tail). Per policy: ``summary`` (first 5 % dropped
    as warm-up) and ``share``, the fraction of requests each instance received; and
    ``capacity_share``, each instance's fraction of the capacity (what a perfect balancer
    would send it)."""
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
        runs[name] = {"summary": result.summary(warmup=duration / 20),
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
    from .balancers import LeastConnections, PowerOfTwoChoices, Random, RoundRobin

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
    from .balancers import ClusterState, ConsistentHash, InstancesView, Request, _hash64

    users = _validate.integer("users", users, minimum=1)
    before = _validate.integer("before", before, minimum=1)
    after = _validate.integer("after", after, minimum=1)
    hashes = [_hash64(str(u)) for u in range(users)]
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
    from .failures import Crash, HealthCheck

    health_check = health_check or HealthCheck(interval=2.0, unhealthy_threshold=3)
    result = simulate(workloads.poisson(rate, duration, seed=seed), instances=instances,
                      service_time=LB_SERVICE_TIME, balancer=balancer, seed=seed,
                      health_check=health_check, failures=[Crash(0, crash_at)],
                      retries=retries)
    return {**outage(result, 0, bin), "result": result}


def _explorer_speeds(slow_speed: float) -> tuple:
    """The explorer's cluster: two instances of speed 1 (0 is the one that crashes), and two
    of ``slow_speed``."""
    half = LB_EXPLORER["instances"] // 2
    return (1.0,) * half + (float(slow_speed),) * (LB_EXPLORER["instances"] - half)


@lru_cache(maxsize=256)
def _explorer_run(policy: str, slow_speed: float, heavy_tail: bool, load: float,
                  interval: float, threshold: int, retries: int, seed: int) -> dict:
    from .failures import Crash, HealthCheck

    speeds = _explorer_speeds(slow_speed)
    settings = LB_EXPLORER
    rate = load * sum(speeds) / LB_SERVICE_TIME
    traffic = workloads.poisson(rate, settings["duration"], seed=seed)
    check = HealthCheck(interval=interval, timeout=min(1.0, interval),
                        unhealthy_threshold=threshold,
                        healthy_threshold=settings["healthy_threshold"])
    result = simulate(traffic, instances=_lb_instances(speeds),
                      service_time=_lb_service(LB_HEAVY_SIGMA if heavy_tail else None),
                      balancer=lesson02_policies(speeds)[policy], seed=seed,
                      health_check=check, retries=retries,
                      failures=[Crash(0, settings["crash_at"], settings["recover_at"])])
    latency = result.timeline(bin=settings["latency_bin"])
    hit = outage(result, 0, settings["error_bin"])
    chosen = result.requests["instance"]
    marked_up = next((float(t) for t, i, what in result.events
                      if i == 0 and what == "marked up"), float("nan"))
    return {
        **{k: v for k, v in hit.items() if k != "rate"},
        "policy": policy, "speeds": np.array(speeds), "rate": rate,
        "summary": result.summary(),
        "latency_time": latency["time"], "p50": latency["p50"], "p95": latency["p95"],
        "p99": latency["p99"],
        "share": np.bincount(chosen[chosen >= 0], minlength=len(speeds))
        / max(1, np.count_nonzero(chosen >= 0)),
        "capacity_share": np.array(speeds) / sum(speeds),
        "marked_up": marked_up,
    }


EXPLORER_POLICIES = tuple(lesson02_policies())


def balancer_explorer(policy: str = "round robin", slow_speed: float = 1.0,
                      heavy_tail: bool = False, load: float = 0.7, interval: float = 2.0,
                      threshold: int = 3, retries: int = 0, seed: int = 0) -> dict:
    """One minute of Poisson traffic (utilization ``load``) to four instances — two of speed 1,
    two of ``slow_speed`` — through ``policy`` (a name from :data:`EXPLORER_POLICIES`), 100 ms
    of work per request (log-normal with sigma 1.5 if ``heavy_tail``). Instance 0 crashes at
    21 s and restarts at 41 s; the health check probes every ``interval`` s and marks an
    instance down after ``threshold`` failures in a row (up after 2 successes); ``retries``
    resends refused requests. Returns the run's latency per 4 s (``latency_time``, ``p50``,
    ``p95``, ``p99``), requests ``share`` per instance against ``capacity_share``, the
    :func:`outage` numbers (errors per second, healthy instances, detection …), and
    ``baseline_p99`` and ``baseline_summary``: round robin's on the same traffic and settings,
    for comparison."""
    if policy not in EXPLORER_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(map(repr, EXPLORER_POLICIES))}, "
                         f"got {policy!r}")
    slow_speed = _validate.positive("slow_speed", slow_speed)
    load = _validate.number("load", load, above=0, maximum=1.5)
    interval = _validate.positive("interval", interval)
    threshold = _validate.integer("threshold", threshold, minimum=1)
    retries = _validate.integer("retries", retries, minimum=0)
    key = (float(slow_speed), bool(heavy_tail), float(load), float(interval), int(threshold),
           int(retries), int(seed))
    run = dict(_explorer_run(policy, *key))
    baseline = _explorer_run("round robin", *key)
    run["baseline_p99"], run["baseline_summary"] = baseline["p99"], baseline["summary"]
    run["settings"] = {"policy": policy, "slow_speed": key[0], "heavy_tail": key[1],
                       "load": key[2], "interval": key[3], "threshold": key[4],
                       "retries": key[5], "seed": key[6],
                       "crash_at": LB_EXPLORER["crash_at"],
                       "recover_at": LB_EXPLORER["recover_at"]}
    return run


# -- lesson 03: statelessness ---------------------------------------------------------------------
# One shop for the whole lesson: visitors log in and view 6 pages about 10 s apart, and one visitor
# in a hundred is a heavy client (an office behind one login, a price-comparison bot) sending 300
# requests about 1 s apart. Each request needs 0.2 s of one instance's work (exponential). Where
# the session lives is one of three designs (:data:`SESSION_DESIGNS`). Times in seconds.

from .autoscalers import Autoscaler  # (imports for lesson 03's functions, appended below)
from .balancers import Sticky
from .failures import Crash, HealthCheck
from .sessions import InMemory, SharedStore
from .workloads import Workload

SESSION_SERVICE_TIME = 0.2   # s of one instance's work per request
STORE_LATENCY = 0.002        # s the shared store adds to every request (one network round trip)
SESSION_HEALTH_CHECK = HealthCheck(interval=2.0, timeout=1.0, unhealthy_threshold=3,
                                   healthy_threshold=2)
SESSION_DESIGNS = {
    "memory": "sessions in memory, round robin",
    "sticky": "sessions in memory, sticky balancer",
    "shared": "shared session store, round robin",
}
STORY_NAMES = ("ada", "bob", "cleo")
STATELESS_EXPLORER_DURATION = 300.0       # s of shop traffic in the explorer
STATELESS_EXPLORER_CRASH = (150.0, 180.0)  # instance A crashes, and a fresh one replaces it


def instance_name(index: int) -> str:
    """Instances by letter, as the lesson's text names them: 0 → "A", 1 → "B", …"""
    index = _validate.integer("index", index, minimum=0)
    return chr(ord("A") + index) if index < 26 else f"#{index}"


def session_design(mode: str, store_latency: float = STORE_LATENCY, outages=()) -> dict:
    """Fresh ``balancer`` and ``sessions`` objects for one of :data:`SESSION_DESIGNS`:
    ``"memory"`` (round robin, sessions in each instance's memory), ``"sticky"`` (a sticky
    balancer, sessions in memory) or ``"shared"`` (round robin, a shared store adding
    ``store_latency`` s per request, down during ``outages``)."""
    from .balancers import RoundRobin

    if mode == "memory":
        return {"balancer": RoundRobin(), "sessions": InMemory()}
    if mode == "sticky":
        return {"balancer": Sticky(), "sessions": InMemory()}
    if mode == "shared":
        return {"balancer": RoundRobin(),
                "sessions": SharedStore(latency=store_latency, outages=outages)}
    raise ValueError(f"mode must be one of {', '.join(map(repr, SESSION_DESIGNS))}, "
                     f"got {mode!r}")


def three_users() -> Workload:
    """The lesson's first example: ada, bob and cleo (users 0, 1, 2) log in and send two more
    requests each, one request per second between them all."""
    users = np.array([0, 1, 2, 1, 0, 2, 0, 1, 2])
    return Workload(np.arange(9.0), 9.0, user=users, name="ada, bob and cleo")


def session_story(result, names=STORY_NAMES) -> list[dict]:
    """One row per request of a small run: ``time`` (s), ``user`` (a name from ``names``),
    ``request`` (1 for the user's first, then 2, 3, …), ``instance`` (a letter, or "—" if
    none answered) and ``outcome``: "logs in", "session found", "no session: logs in again"
    or "failed"."""
    rows, seen = [], {}
    for record in result.requests:
        user = int(record["user"])
        seen[user] = seen.get(user, 0) + 1
        if record["status"] != 0:
            outcome = "failed"
        elif seen[user] == 1:
            outcome = "logs in"
        else:
            outcome = "no session: logs in again" if record["lost_session"] else "session found"
        where = int(record["instance"])
        rows.append({"time": float(record["arrival"]),
                     "user": names[user] if 0 <= user < len(names) else f"user {user}",
                     "request": seen[user], "instance": instance_name(where) if where >= 0
                     else "—", "outcome": outcome})
    return rows


def follow_ups(result) -> int:
    """Requests that are not their user's first: the ones that need an existing session."""
    users = result.requests["user"]
    users = users[users >= 0]
    return int(len(users) - len(np.unique(users)))


def lost_share(result) -> float:
    """Lost sessions as a fraction (0–1) of the follow-up requests (NaN if there are none)."""
    count = follow_ups(result)
    return result.summary()["lost_sessions"] / count if count else float("nan")


@lru_cache(maxsize=8)
def shop(duration: float = 600.0, visitors_per_s: float = 1.0, seed: int = 1) -> Workload:
    """The lesson's traffic: visitors arrive at ``visitors_per_s`` (Poisson), each sends 6
    requests about 10 s apart (the first is the login); heavy clients arrive 100 times less
    often and send 300 requests about 1 s apart (drawn with ``seed + 1``). User ids: the
    visitors first, then the heavy clients."""
    duration = _validate.positive("duration", duration)
    visitors_per_s = _validate.positive("visitors_per_s", visitors_per_s)
    seed = _validate.seed(seed)
    light = workloads.sessions(rate=visitors_per_s, duration=duration, requests=6,
                               think_time=10.0, seed=seed)
    heavy = workloads.sessions(rate=visitors_per_s / 100, duration=duration, requests=300,
                               think_time=1.0, seed=seed + 1)
    offset = int(light.user.max()) + 1 if len(light) else 0
    times = np.concatenate([light.arrivals, heavy.arrivals])
    users = np.concatenate([light.user, heavy.user + offset])
    order = np.argsort(times, kind="stable")
    return Workload(times[order], duration, user=users[order],
                    name=f"shop: {visitors_per_s:g} visitors/s, 1 in 100 heavy")


def heavy_clients(workload: Workload) -> dict:
    """How many users sent more than 6 requests (the heavy clients), and their share of all
    requests (0–1)."""
    users, counts = np.unique(workload.user, return_counts=True)
    heavy = counts > 6
    return {"users": len(users), "heavy": int(heavy.sum()),
            "heavy_share": float(counts[heavy].sum() / counts.sum()) if len(counts) else 0.0}


def shop_run(mode: str, instances: int = 4, failures=(), autoscaler=None, outages=(),
             store_latency: float = STORE_LATENCY, workload: Workload | None = None,
             seed: int = 1, **cluster):
    """:func:`shop` (or ``workload``) through one design of :data:`SESSION_DESIGNS` with the
    lesson's service time, health checks (probes every 2 s) and one retry; a ``Result``."""
    workload = shop(seed=seed) if workload is None else workload
    design = session_design(mode, store_latency, outages)
    if autoscaler is not None:
        cluster = {"boot_time": 30.0, **cluster}
    return simulate(workload, instances=instances, service_time=SESSION_SERVICE_TIME,
                    health_check=SESSION_HEALTH_CHECK, retries=1, failures=list(failures),
                    autoscaler=autoscaler, seed=seed, **design, **cluster)


def lost_share_curve(counts=range(1, 9), workload: Workload | None = None,
                     seed: int = 1) -> dict:
    """Round robin with sessions in memory on ``workload`` (default :func:`shop`), for each
    instance count in ``counts``: the simulated share of follow-up requests that found no
    session, beside (N − 1) / N, the chance that a request lands anywhere but on the one
    instance holding the session."""
    counts = np.array([_validate.integer("instances", n, minimum=1) for n in counts])
    simulated = np.array([lost_share(shop_run("memory", int(n), workload=workload, seed=seed))
                          for n in counts])
    return {"instances": counts, "simulated": simulated, "theory": (counts - 1) / counts}


def per_instance(result) -> dict:
    """Per instance: ``requests`` answered and ``utilization`` (busy fraction 0–1 over the
    run), with the ``imbalance`` (most requests ÷ the mean)."""
    records = result.requests[result.requests["status"] == 0]
    n = len(result.instances)
    served = np.bincount(records["instance"], minlength=n)
    busy = np.bincount(records["instance"], weights=records["service"], minlength=n)
    return {"requests": served, "utilization": busy / result.duration,
            "imbalance": float(served.max() / served.mean()) if served.any() else float("nan")}


def busy_over_time(result, bin: float = 30.0) -> np.ndarray:
    """How busy each instance was (fraction 0–1) in each ``bin`` seconds: one row per
    instance, one column per bin."""
    bin = _validate.positive("bin", bin)
    records = result.requests[result.requests["status"] == 0]
    edges = np.arange(0.0, result.duration + bin / 2, bin)
    return np.array([np.diff(metrics.busy_seconds(records["start"][records["instance"] == j],
                                                  records["end"][records["instance"] == j],
                                                  edges)) / np.diff(edges)
                     for j in range(len(result.instances))])


def sticky_cost(instances: int = 4, seed: int = 1, bin: float = 30.0) -> dict:
    """The shop on ``instances`` instances, with round robin over a shared store and with a
    sticky balancer (sessions in memory). Per design: ``requests`` and ``utilization`` per
    instance over the run, ``imbalance``, ``busy`` (each instance's busy fraction per ``bin``
    s, instances × bins), ``peak_busy`` (the highest of those), ``lost_sessions``, and latency
    ``p50``/``p95`` (s). ``time``: the bins' starts (s)."""
    designs = {}
    for mode in ("shared", "sticky"):
        result = shop_run(mode, instances, seed=seed)
        summary = result.summary()
        busy = busy_over_time(result, bin)
        designs[SESSION_DESIGNS[mode]] = {
            **per_instance(result), "busy": busy, "peak_busy": float(busy.max()),
            "lost_sessions": summary["lost_sessions"], "p50": summary["p50"],
            "p95": summary["p95"]}
    time = np.arange(busy.shape[1]) * bin
    return {"instances": instances, "names": [instance_name(i) for i in range(instances)],
            "time": time, "bin": bin, "designs": designs}


def _cut_off(records, at: float) -> np.ndarray:
    """Requests in flight at a crash at ``at`` that were resent to another instance."""
    return (records["arrival"] < at) & (records["retries"] > 0)


def sessions_on(result, instance: int, at: float) -> set:
    """Users whose session lived on ``instance`` when it crashed at ``at``: their last request
    sent before ``at`` went there — answered, or cut off by the crash (and then resent: the
    one crash in these scenarios is the only reason a request sent before it is resent)."""
    records = result.requests
    done = records[(records["arrival"] < at) & (records["instance"] >= 0)]
    cut = set(records["user"][_cut_off(records, at)].tolist())
    last = {}
    for user, where in zip(done["user"].tolist(), done["instance"].tolist()):
        last[user] = where
    return {user for user, where in last.items() if where == instance or user in cut}


def sticky_crash(instances: int = 4, crash: int = 1, at: float = 300.0,
                 replaced_at: float | None = 330.0, seed: int = 1) -> dict:
    """The sticky design, and instance ``crash`` dies at ``at`` (a fresh one replaces it at
    ``replaced_at``). ``lost_sessions`` (forced re-logins), ``users_logged_out`` (distinct
    users), ``sessions_there`` (users whose session lived on it at the crash) and
    ``came_back`` (those of them who sent another request afterwards, or whose request was
    cut off by the crash and resent)."""
    result = shop_run("sticky", instances, failures=[Crash(crash, at, replaced_at)], seed=seed)
    records = result.requests
    there = sessions_on(result, crash, at)
    later = set(records["user"][(records["arrival"] >= at) | _cut_off(records, at)].tolist())
    lost = records["user"][records["lost_session"]]
    return {"lost_sessions": result.summary()["lost_sessions"],
            "users_logged_out": len(set(lost.tolist())), "sessions_there": len(there),
            "came_back": len(there & later), "errors": result.summary()["errors"],
            "result": result}


class _Plan(Autoscaler):
    """Not a policy: an operator's plan, ``counts`` = [(from time s, instances), …]."""

    def __init__(self, start: int, counts):
        self.start, self.counts = start, list(counts)

    def desired(self, observation) -> int:
        wanted = self.start
        for when, count in self.counts:
            if observation.time >= when - 1e-9:
                wanted = count
        return wanted


DISPOSABLE_EVENTS = (
    (150.0, "B crashes"), (180.0, "a new B replaces it"), (300.0, "one instance added"),
    (450.0, "one instance removed"))


def disposable(instances: int = 4, seed: int = 1, bin: float = 10.0) -> dict:
    """Crash one, replace one, add one, remove one: instance B (1) crashes at 150 s and a fresh
    one replaces it at 180 s; at 300 s one instance is added (it boots for 30 s), and at 450 s
    one is removed (it drains). Per design of :data:`SESSION_DESIGNS`: ``lost`` (lost sessions
    per ``bin`` s), ``lost_sessions``, ``users_logged_out``, ``errors``, ``p50``, ``p95``
    (s)."""
    bin = _validate.positive("bin", bin)
    (crash_at, _), (replaced_at, _), (add_at, _), (remove_at, _) = DISPOSABLE_EVENTS
    plan = [(add_at, instances + 1), (remove_at, instances)]
    designs = {}
    for mode, name in SESSION_DESIGNS.items():
        result = shop_run(mode, instances, failures=[Crash(1, crash_at, replaced_at)],
                          autoscaler=_Plan(instances, plan), min_instances=1,
                          max_instances=instances + 1, seed=seed)
        summary = result.summary()
        lost = result.requests["user"][result.requests["lost_session"]]
        designs[name] = {"lost": result.timeline(bin=bin)["lost_sessions"],
                         "lost_sessions": summary["lost_sessions"],
                         "users_logged_out": len(set(lost.tolist())),
                         "errors": summary["errors"], "p50": summary["p50"],
                         "p95": summary["p95"], "follow_ups": follow_ups(result)}
    edges = np.arange(len(next(iter(designs.values()))["lost"])) * bin
    return {"time": edges, "bin": bin, "events": list(DISPOSABLE_EVENTS), "designs": designs}


def store_outage(instances: int = 4, outage=(400.0, 430.0), seed: int = 1) -> dict:
    """The shared-store design while the store is down from ``outage[0]`` to ``outage[1]`` s:
    ``errors`` (all requests that failed), ``during`` (requests that arrived in the outage),
    ``failed_during`` (of those, how many failed) and ``lost_sessions``."""
    start, end = outage
    result = shop_run("shared", instances, outages=[outage], seed=seed)
    records = result.requests
    inside = (records["arrival"] >= start) & (records["arrival"] < end)
    return {"outage": (float(start), float(end)), "errors": result.summary()["errors"],
            "during": int(inside.sum()),
            "failed_during": int(np.count_nonzero(records["status"][inside] != 0)),
            "lost_sessions": result.summary()["lost_sessions"]}


def stateless_explorer(mode: str = "memory", instances: int = 4, crash: bool = False,
                       seed: int = 1) -> dict:
    """The explorer's numbers: :func:`shop` through one design of :data:`SESSION_DESIGNS` on
    ``instances`` instances for :data:`STATELESS_EXPLORER_DURATION` s; with ``crash``, instance
    A (0) crashes at 150 s and a fresh one replaces it at 180 s. Series per 10 s: ``time``, ``lost`` (lost sessions), ``p95`` (s);
    per instance: ``names``, ``requests``; totals: ``lost_sessions``, ``follow_ups``,
    ``lost_share``, ``users_logged_out``, ``errors``, ``p50``, ``p95_all``, ``imbalance``.
    Cached: the same settings return the same (shared) dict."""
    if mode not in SESSION_DESIGNS:
        raise ValueError(f"mode must be one of {', '.join(map(repr, SESSION_DESIGNS))}, "
                         f"got {mode!r}")
    instances = _validate.integer("instances", instances, minimum=1)
    return _stateless_explorer(mode, instances, bool(crash), _validate.seed(seed))


@lru_cache(maxsize=64)
def _stateless_explorer(mode: str, instances: int, crash: bool, seed: int) -> dict:
    at, replaced_at = STATELESS_EXPLORER_CRASH
    failures = [Crash(0, at, replaced_at)] if crash else []
    result = shop_run(mode, instances, failures=failures, seed=seed,
                      workload=shop(duration=STATELESS_EXPLORER_DURATION, seed=seed))
    summary = result.summary()
    timeline = result.timeline(bin=10.0)
    lost = result.requests["user"][result.requests["lost_session"]]
    follow = follow_ups(result)
    return {
        "mode": mode, "design": SESSION_DESIGNS[mode], "instances": instances, "crash": crash,
        "crash_at": at if crash else float("nan"),
        "replaced_at": replaced_at if crash else float("nan"),
        "store_latency": STORE_LATENCY if mode == "shared" else 0.0,
        "time": timeline["time"], "lost": timeline["lost_sessions"], "p95": timeline["p95"],
        "names": [instance_name(i) for i in range(instances)],
        "requests": per_instance(result)["requests"],
        "lost_sessions": summary["lost_sessions"], "follow_ups": follow,
        "lost_share": summary["lost_sessions"] / follow if follow else float("nan"),
        "users_logged_out": len(set(lost.tolist())), "errors": summary["errors"],
        "p50": summary["p50"], "p95_all": summary["p95"], "imbalance": summary["imbalance"],
        "duration": result.duration,
    }

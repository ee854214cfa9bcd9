"""Lesson 01's part of ``scenarios``."""

from __future__ import annotations

import numpy as np

from .. import _validate, theory, workloads
from ..sim import simulate

# -- lesson 01: a bigger machine or more machines ------------------------------------------

#: An illustrative price list, rounded from the shape of a real one. ``size`` is the number of
#: cores, each as fast as the smallest machine's one core; ``price_per_hour`` is in dollars.
#: As in the on-demand price lists of the major clouds (AWS EC2's m7i or c5 family, for
#: example: https://aws.amazon.com/ec2/pricing/on-demand/), the price per core is the same at
#: every size of a family, sizes come in steps that double, and the largest size is the
#: ceiling of vertical scaling.
PRICE_PER_CORE = 0.10
PRICE_LIST = tuple({"size": size, "price_per_hour": round(size * PRICE_PER_CORE, 2)}
                   for size in (1, 2, 4, 8, 16, 32, 64))
LARGEST_SIZE = PRICE_LIST[-1]["size"]
MAX_MACHINES = 16  # the explorer's "machines" slider goes up to this

__all__ = [
    "CRASH_HEALTH_CHECK_SETTINGS", "LARGEST_SIZE", "MAX_MACHINES", "PRICE_LIST",
    "PRICE_PER_CORE", "availability_table", "correlated_availability", "cost_curves", "crash",
    "crash_designs", "pooling", "pooling_curves", "price_per_hour", "size_vs_count",
    "speedup_curves",
]


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
    from ..balancers import Random, RoundRobin
    from ..sim import Instance

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
    from ..sim import Instance

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
    from ..balancers import RoundRobin
    from ..failures import Crash, HealthCheck

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


def correlated_availability(machine: float = 0.999, machines: int = 3, zone: float = 0.9995,
                            store: float = 0.999, common_share: float = 0.1) -> list[dict]:
    """Availability (0–1) and downtime (minutes per year) of ``machines`` replicas, each up a
    fraction ``machine`` of the time and any one enough, when their failures are independent
    and when something takes them down together:

    - all in one zone (a data centre) that is up ``zone``: in series with the replicas;
    - all using one shared store (a database) up ``store``: in series too;
    - a ``common_share`` of every machine's downtime comes from events that hit all of them at
      once (a bad deploy, a shared dependency): those are in series, only the rest is
      independent (the beta-factor model of reliability engineering).
    """
    a = _validate.number("machine", machine, minimum=0, maximum=1)
    n = _validate.integer("machines", machines, minimum=1)
    share = _validate.number("common_share", common_share, minimum=0, maximum=1)
    independent = theory.availability(a, n=n)
    down = 1 - a
    rows = [
        (f"{n} machines, failing independently", independent),
        (f"{n} machines, all in one zone", theory.series(zone, independent)),
        (f"{n} machines, one shared store", theory.series(store, independent)),
        (f"{n} machines, {share:.0%} of failures hit all at once",
         theory.series(1 - share * down, theory.availability(1 - (1 - share) * down, n=n))),
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



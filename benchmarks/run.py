"""scalelab's benchmarks: its simulator against SimPy, big runs, the loop engine, the slider.

    python benchmarks/run.py              # full run, a minute or two
    python benchmarks/run.py --quick      # 10× smaller, a few seconds; verdicts indicative only
    python benchmarks/run.py --only loop  # one group: lindley | big | loop | slider (or a b c d)

Every row prints its goal (benchmarks/README.md says where each comes from) beside the
measurement and PASS or MISS. Model everywhere: Poisson arrivals λ = 8/s, N = 10 FIFO
instances with one slot, exponential service of mean 1 s (ρ = 0.8). See benchmarks/README.md.

To add a policy, add one line to LINDLEY_CASES (state-independent, numpy engine) or
LOOP_CASES (state-dependent, loop engine).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]  # benchmark the working tree, not an installed copy

import numpy as np  # noqa: E402
import simpy  # noqa: E402
import simpy_model  # noqa: E402

import scalelab as sl  # noqa: E402
from scalelab import routing  # noqa: E402

RATE, INSTANCES, SERVICE = 8.0, 10, 1.0
Z = 3.0  # "agrees within sampling error": |difference| ≤ Z standard errors


# ---------------------------------------------------------------------------------------------
# Cases. One line per policy.

class LoopRoundRobin(sl.balancers.RoundRobin):
    """Round-robin whose ``pick`` is overridden, so ``simulate`` cannot use the numpy scan
    and runs the state-dependent loop engine (the path least-connections and P2C will take)."""

    def pick(self, instances, request):
        return super().pick(instances, request)


def _theory_rr():
    return sl.theory.round_robin(RATE, SERVICE, INSTANCES).mean_response, f"E{INSTANCES}/M/1"


def _theory_random():
    return sl.theory.mm1(RATE / INSTANCES, SERVICE).mean_response, "M/M/1"


@dataclass
class Case:
    label: str
    balancer: object        # () -> a fresh scalelab balancer
    simpy_policy: str       # the same policy in simpy_model.POLICIES
    goal_ratio: float | None  # required SimPy time ÷ scalelab time (None: measured only)
    theory: object = None   # () -> (mean response, model name), or None (compare with SimPy)

    @property
    def kernel(self) -> bool:
        """A built-in policy (its slider-sized run has a goal); else a learner's own pick()."""
        return self.balancer is not LoopRoundRobin


# State-independent policies: simulate() uses the numpy Lindley scan. Goal ≥ 100× SimPy, and
# ≥ 80× with summary() (what a lesson does).
INCLUDING_SUMMARY = 80
LINDLEY_CASES = [
    Case("round-robin", sl.balancers.RoundRobin, "rr", 100, _theory_rr),
    Case("random", sl.balancers.Random, "random", 100, _theory_random),
]

# State-dependent policies: simulate() routes the built-ins with a kernel (kernels.py). Goals:
# JSQ ≥ 10×, least-connections ≥ 15×, P2C ≥ 30× SimPy. A learner's policy goes through its
# own pick() in the general loop, a Python call and a view per request: goal ≥ 8×.
LOOP_CASES = [
    Case("round-robin, pick overridden", LoopRoundRobin, "rr", 8, _theory_rr),
    Case("join-shortest-queue", sl.balancers.JoinShortestQueue, "jsq", 10),
    Case("least-connections (NGINX)", sl.balancers.LeastConnections, "lc", 15),
    Case("power of two choices", sl.balancers.PowerOfTwoChoices, "p2c", 30),
]

# 10M-request runs: round-robin ≤ 1.5 s in every run, random ≤ 2 s (median); memory ≤ 1.5 GB
# peak RSS; summary() ≤ half the simulation.
BIG_CASES = [
    ("round-robin", "RoundRobin", 1.5, max),
    ("random", "Random", 2.0, statistics.median),
]


# ---------------------------------------------------------------------------------------------
# Output

@dataclass
class Row:
    id: str
    benchmark: str
    measured: str
    goal: str
    verdict: str


ROWS: list[Row] = []
QUICK = False


def report(id, benchmark, measured, goal, ok):
    """Record and print one row; ``ok`` is True/False, or a string such as 'info'."""
    verdict = ok if isinstance(ok, str) else ("PASS" if ok else "MISS")
    if QUICK and verdict in ("PASS", "MISS"):
        verdict += "?"
    row = Row(id, benchmark, measured, goal, verdict)
    ROWS.append(row)
    print(f"  {id:<4} {benchmark}: {measured}   [goal {goal}: {verdict}]", flush=True)


def print_table() -> None:
    head = Row("id", "benchmark", "measured", "goal", "verdict")
    widths = [max(len(getattr(r, f)) for r in [head, *ROWS]) for f in vars(head)]
    line = "  ".join("-" * w for w in widths)
    print()
    for r in [head, None, *ROWS]:
        if r is None:
            print(line)
            continue
        print("  ".join(str(getattr(r, f)).ljust(w) for f, w in zip(vars(head), widths)).rstrip())
    if QUICK:
        print("(--quick: sizes are 10× smaller than the goals assume; "
              "'?' marks indicative verdicts)")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return (f"{platform.platform()}; {cpu}; {cores} cores ({usable} usable); "
            f"Python {platform.python_version()}; numpy {np.__version__}; "
            f"simpy {simpy.__version__ if hasattr(simpy, '__version__') else _version('simpy')}")


def _version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---------------------------------------------------------------------------------------------
# Helpers

def timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds >= 0.1 else f"{seconds * 1e3:.1f} ms"


def mean_sd(values) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else float("nan"))


def scalelab_run(case: Case, requests: int, seed: int):
    """Workload + simulate (timed), then summary() (timed separately). Returns
    (engine seconds, summary seconds, mean response after warm-up)."""
    duration, warmup = requests / RATE, requests / RATE / 50
    gc.collect()
    t0 = time.perf_counter()
    wl = sl.workloads.poisson(rate=RATE, duration=duration, seed=seed)
    res = sl.simulate(wl, instances=INSTANCES, service_time=SERVICE, balancer=case.balancer(),
                      seed=seed)
    t1 = time.perf_counter()
    mean = res.summary(warmup=warmup)["mean"]
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, mean


def scalelab_runs(cases: str, index: int, requests: int, reps: int = 5) -> dict:
    """``scalelab_run`` of ``{cases}[index]`` for seeds 1..reps, after one untimed run, in a
    fresh interpreter (so no earlier benchmark's leftovers slow it or SimPy down): ``runs``,
    and ``routing``, the seconds of the kernel's routing loop alone (empty without one)."""
    return run_child("case", f"{cases}:{index}", requests, reps)


_SIMPY: dict = {}


def simpy_runs(policy: str, requests: int, reps: int = 3):
    """SimPy seconds and mean responses for seeds 1..reps, after one untimed run, in a fresh
    interpreter (cached: rows share them)."""
    key = (policy, requests)
    if key not in _SIMPY or len(_SIMPY[key][0]) < reps:
        runs = run_child("simpy", policy, requests, reps)["runs"]
        _SIMPY[key] = ([t for t, _ in runs], [m for _, m in runs])
    return _SIMPY[key]


def _timed_runs(kind: str, name: str, requests: int, reps: int) -> list:
    """In the child: the runs ``scalelab_runs``/``simpy_runs`` ask for."""
    if kind == "simpy":
        def one(seed):
            return timed(lambda: simpy_model.simulate(name, requests, INSTANCES, RATE, SERVICE,
                                                      seed=seed, warmup=requests / RATE / 50))
    else:
        cases, index = name.split(":")
        case = {"lindley": LINDLEY_CASES, "loop": LOOP_CASES}[cases][int(index)]

        def one(seed):
            return scalelab_run(case, requests, seed)
    one(0)  # untimed: the first run pays for fresh memory
    return [one(seed) for seed in range(1, reps + 1)]


def _routing_times(name: str, requests: int, reps: int) -> list:
    """In the child: the kernel's ``route`` alone on a whole run (no workload, no records),
    seeds 1..reps after one untimed run; empty when the policy has no kernel."""
    cases, index = name.split(":")
    case = {"lindley": LINDLEY_CASES, "loop": LOOP_CASES}[cases][int(index)]
    seconds = []
    for seed in range(reps + 1):
        workload = sl.workloads.poisson(rate=RATE, duration=requests / RATE, seed=seed)
        balancer = case.balancer()
        balancer.reset()
        kernel = routing.fast_path(balancer, [sl.Instance()] * INSTANCES, INSTANCES)
        if kernel is None or cases == "lindley":
            return []
        work = np.random.default_rng(seed).exponential(SERVICE, len(workload))
        arrivals = workload.arrivals.tolist()
        seconds.append(timed(lambda k=kernel, a=arrivals, w=work: k.route(a, w))[0])
    return seconds[1:]


def agreement(sl_means, simpy_means, theory):
    """Pooled per-run sd of both implementations' seeds; each mean within Z standard errors
    of the theory value (or, without theory, of each other)."""
    pooled = [m - statistics.fmean(sl_means) for m in sl_means] + \
             [m - statistics.fmean(simpy_means) for m in simpy_means]
    sd = (sum(d * d for d in pooled) / (len(pooled) - 2)) ** 0.5
    a, b = statistics.fmean(sl_means), statistics.fmean(simpy_means)
    se_a, se_b = sd / len(sl_means) ** 0.5, sd / len(simpy_means) ** 0.5
    if theory is None:
        ok = abs(a - b) <= Z * (se_a ** 2 + se_b ** 2) ** 0.5
    else:
        ok = abs(a - theory) <= Z * se_a and abs(b - theory) <= Z * se_b
    return ok, sd


def describe_means(sl_means, simpy_means, sd, theory, model):
    a, b = statistics.fmean(sl_means), statistics.fmean(simpy_means)
    text = (f"T scalelab {a:.3f} ({len(sl_means)} seeds), "
            f"SimPy {b:.3f} ({len(simpy_means)} seeds), sd/run {sd:.3f}")
    return text + (f"; theory {model} {theory:.3f}" if theory is not None else "")


# ---------------------------------------------------------------------------------------------
# a. numpy engine vs SimPy

def bench_lindley(requests: int) -> None:
    print(f"a. {requests:,} requests, N={INSTANCES}, ρ=0.8: scalelab (median of 9) vs SimPy "
          "(median of 3), each after one untimed run", flush=True)
    for k, case in enumerate(LINDLEY_CASES, 1):
        runs = scalelab_runs("lindley", k - 1, requests, reps=9)["runs"]
        engine = statistics.median(r[0] for r in runs)
        summary = statistics.median(r[1] for r in runs)
        sl_means = [r[2] for r in runs]
        simpy_times, simpy_means = simpy_runs(case.simpy_policy, requests)
        simpy_t = statistics.median(simpy_times)
        ratio = simpy_t / engine
        with_summary = ratio * engine / (engine + summary)
        report(f"a{k}", f"{case.label}, time", f"scalelab {ms(engine)} (workload+simulate; "
               f"summary() +{ms(summary)}), SimPy {ms(simpy_t)} → {ratio:.0f}× "
               f"({with_summary:.0f}× incl. summary)",
               f"≥ {case.goal_ratio:g}× SimPy, ≥ {INCLUDING_SUMMARY}× incl. summary",
               ratio >= case.goal_ratio and with_summary >= INCLUDING_SUMMARY)
        theory, model = case.theory() if case.theory else (None, None)
        ok, sd = agreement(sl_means, simpy_means, theory)
        report(f"a{k}T", f"{case.label}, mean response",
               describe_means(sl_means, simpy_means, sd, theory, model),
               f"within {Z:g} SE of {'theory' if theory is not None else 'SimPy'}", ok)


# ---------------------------------------------------------------------------------------------
# b. 10M requests: time and peak memory, each in a fresh subprocess

def child(kind: str, balancer: str, requests: int, reps: int) -> None:
    """Runs in a fresh interpreter; prints one JSON line."""
    def rss_now():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    baseline = rss_now()
    duration = requests / RATE
    out = {"baseline": baseline}
    if kind in ("case", "simpy"):
        out["runs"] = _timed_runs(kind, balancer, requests, reps)
        out["routing"] = _routing_times(balancer, requests, reps) if kind == "case" else []
    elif kind in ("day", "hour"):
        out.update((_day_run if kind == "day" else _hour_run)(int(balancer)))
    elif kind == "memory":
        wl = sl.workloads.poisson(rate=RATE, duration=duration, seed=1)
        res = sl.simulate(wl, instances=INSTANCES, service_time=SERVICE,
                          balancer=getattr(sl.balancers, balancer)(), seed=1)
        out["requests"] = len(res.requests)
        out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    else:
        workload, engine = [], []
        for seed in range(1, reps + 1):
            gc.collect()
            t0 = time.perf_counter()
            wl = sl.workloads.poisson(rate=RATE, duration=duration, seed=seed)
            t1 = time.perf_counter()
            res = sl.simulate(wl, instances=INSTANCES, service_time=SERVICE,
                              balancer=getattr(sl.balancers, balancer)(), seed=seed)
            t2 = time.perf_counter()
            workload.append(t1 - t0)
            engine.append(t2 - t1)
            if seed < reps:
                del wl, res
        t0 = time.perf_counter()
        out["mean"] = res.summary(warmup=duration / 50)["mean"]
        out["summary"] = time.perf_counter() - t0
        out["workload"], out["simulate"] = workload, engine
    print(json.dumps(out))


def run_child(kind: str, balancer: str, requests: int, reps: int = 1) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, balancer,
           str(requests), str(reps)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_big(requests: int) -> None:
    print(f"b. {requests:,} requests, N={INSTANCES}: time (median of 3) and peak RSS, fresh "
          "subprocesses", flush=True)
    goal_bytes = 1.5e9
    for k, (label, balancer, goal_s, which) in enumerate(BIG_CASES, 1):
        t = run_child("time", balancer, requests, 3)
        total = statistics.median(w + s for w, s in zip(t["workload"], t["simulate"]))
        judged = which(w + s for w, s in zip(t["workload"], t["simulate"]))
        every = "in every run" if which is max else "median"
        report(f"b{k}", f"{requests / 1e6:g}M {label}, time",
               f"{ms(total)} = workload {ms(statistics.median(t['workload']))} + simulate "
               f"{ms(statistics.median(t['simulate']))} (runs: "
               f"{', '.join(f'{w + s:.2f}' for w, s in zip(t['workload'], t['simulate']))} s); "
               f"T={t['mean']:.4f}", f"≤ {goal_s:g} s {every}" if not QUICK
               else f"≤ {goal_s / 10:g} s ({goal_s:g} s per 10M)",
               judged <= goal_s * requests / 10_000_000)
        m = run_child("memory", balancer, requests)
        report(f"b{k}m", f"{requests / 1e6:g}M {label}, peak RSS",
               f"{m['peak'] / 1e6:.0f} MB peak ({(m['peak'] - m['baseline']) / 1e6:.0f} MB above "
               f"the {m['baseline'] / 1e6:.0f} MB after imports)",
               "≤ 1.5 GB" if not QUICK else "≤ 1.5 GB (set for 10M)", m["peak"] <= goal_bytes)
        simulate = statistics.median(t["simulate"])
        report(f"b{k}s", f"{requests / 1e6:g}M {label}, summary()",
               f"{ms(t['summary'])} ({t['summary'] / simulate:.2f}× the simulation)",
               "≤ ½ the simulation", t["summary"] <= simulate / 2)


# ---------------------------------------------------------------------------------------------
# c. state-dependent policies through the loop engine vs SimPy

def bench_loop(requests: int) -> None:
    print(f"c. state-dependent policies, {requests:,} requests, N={INSTANCES}: scalelab (median of "
          "9) vs SimPy (median of 3), each after one untimed run", flush=True)
    small = 20_000  # the slider-sized run, in --quick too
    for k, case in enumerate(LOOP_CASES, 1):
        measured = scalelab_runs("loop", k - 1, requests, reps=9)
        runs = measured["runs"]
        engine = statistics.median(r[0] for r in runs)
        sl_means = [r[2] for r in runs]
        simpy_times, simpy_means = simpy_runs(case.simpy_policy, requests)
        simpy_t = statistics.median(simpy_times)
        ratio = simpy_t / engine
        report(f"c{k}", f"{case.label}, time",
               f"scalelab {engine / requests * 1e6:.2f} µs/request ({ms(engine)}), SimPy "
               f"{simpy_t / requests * 1e6:.2f} µs/request ({ms(simpy_t)}) → {ratio:.1f}×",
               *_ratio_goal(case, ratio))
        if measured["routing"]:
            routing = statistics.median(measured["routing"])
            report(f"c{k}r", f"{case.label}, the kernel's routing loop alone",
                   f"{routing / requests * 1e6:.2f} µs/request ({ms(routing)}) → "
                   f"{simpy_t / routing:.1f}× SimPy's whole run; the rest of c{k} is the "
                   "workload, the records and their conversions", "info", "info")
        theory, model = case.theory() if case.theory else (None, None)
        ok, sd = agreement(sl_means, simpy_means, theory)
        report(f"c{k}T", f"{case.label}, mean response",
               describe_means(sl_means, simpy_means, sd, theory, model),
               f"within {Z:g} SE of {'theory' if theory is not None else 'SimPy'}", ok)
        scalelab_run(case, small, 0)  # untimed, as for every other row
        small_t = statistics.median(scalelab_run(case, small, seed)[0] for seed in range(1, 6))
        report(f"c{k}s", f"{case.label}, {small:,} requests",
               f"{ms(small_t)} (median of 5, workload+simulate)",
               *(("≤ 20 ms", small_t <= 0.020) if case.kernel else ("none", "info")))


def _ratio_goal(case: Case, ratio: float):
    """(goal text, verdict) for a speed ratio against SimPy."""
    if case.goal_ratio is None:
        return "none", "info"
    return f"≥ {case.goal_ratio:g}× SimPy", ratio >= case.goal_ratio


# ---------------------------------------------------------------------------------------------
# e. cost per request as the cluster grows: N=1000 within 2× of N=10

SCALING_POLICIES = [("least-connections", sl.balancers.LeastConnections),
                    ("power of two choices", sl.balancers.PowerOfTwoChoices)]


def _through_pick(policy):
    """The policy as a learner's subclass would run: through pick() in the general loop (the
    small-N kernels are reserved for the exact built-in classes)."""
    return type(f"{policy.__name__}ThroughPick", (policy,),
                {"pick": lambda self, instances, request: policy.pick(self, instances, request)})


def bench_scaling(requests: int) -> None:
    print(f"e. cost per request at N=10 and N=1000, ρ=0.8, {requests:,} requests", flush=True)
    for k, (label, policy) in enumerate(SCALING_POLICIES, 1):
        per_request = {}
        for name, make, n in (("general", _through_pick(policy), 10),
                              ("general", _through_pick(policy), 1000),
                              ("built-in", policy, 10), ("built-in", policy, 1000)):
            workload = sl.workloads.poisson(rate=0.8 * n, duration=requests / (0.8 * n), seed=1)

            def run(workload=workload, n=n, make=make):
                return sl.simulate(workload, instances=n, service_time=1.0, balancer=make(),
                                   seed=1)

            per_request[name, n] = statistics.median(timed(run)[0] for _ in range(3)) / len(
                workload)
        ratio = per_request["general", 1000] / per_request["general", 10]
        report(f"e{k}", f"{label} through pick(), µs/request N=10 → N=1000",
               f"{per_request['general', 10] * 1e6:.2f} → "
               f"{per_request['general', 1000] * 1e6:.2f} ({ratio:.2f}×)",
               "N=1000 ≤ 2× N=10", ratio <= 2)
        report(f"e{k}k", f"{label} built-in class (kernels.py where it applies), µs/request",
               f"N=10 {per_request['built-in', 10] * 1e6:.2f}, "
               f"N=1000 {per_request['built-in', 1000] * 1e6:.2f}", "info", "info")


# ---------------------------------------------------------------------------------------------
# f. a day of traffic with an autoscaler: ≤ 10 s for about 10M requests

def _day(duration: float, scale: int):
    mean_rate = 10_000_000 / 86_400 / scale
    return sl.workloads.diurnal(mean_rate=mean_rate, amplitude=0.6, period=86_400,
                                duration=duration, seed=1)


def _simpy_hour_with_autoscaler(workload, service_time: float) -> float:
    """SimPy running the same kind of model for comparison: least-connections routing and a
    threshold autoscaler every 15 s; returns the wall time."""
    import simpy

    arrivals = workload.arrivals.tolist()
    work = np.random.default_rng(1).exponential(service_time, len(arrivals)).tolist()
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=1) for _ in range(4)]
    busy = [0.0]

    def serve(k, server):
        with server.request() as slot:
            yield slot
            yield env.timeout(work[k])
            busy[0] += work[k]

    def source():
        for k, t in enumerate(arrivals):
            yield env.timeout(t - env.now)
            server = min(servers, key=lambda s: s.count + len(s.queue))
            env.process(serve(k, server))

    def control():
        last = 0.0
        while True:
            yield env.timeout(15)
            utilization = (busy[0] - last) / (15 * len(servers))
            last = busy[0]
            if utilization > 0.7:
                servers.append(simpy.Resource(env, capacity=1))
            elif utilization < 0.3 and len(servers) > 1:
                servers.pop()

    env.process(source())
    env.process(control())
    start = time.perf_counter()
    env.run(until=workload.duration)
    return time.perf_counter() - start


def _day_run(scale: int) -> dict:
    """In a fresh interpreter: the day through ``simulate``, timed, and what it cost."""
    day = _day(86_400, scale)
    elapsed, result = timed(lambda: sl.simulate(
        day, instances=4, service_time=DAY_SERVICE_TIME,
        balancer=sl.balancers.LeastConnections(),
        autoscaler=sl.autoscalers.HPA(target_utilization=0.6, min_replicas=2,
                                      max_replicas=40),
        min_instances=2, max_instances=40, boot_time=60, seed=1))
    summary = result.summary()
    return {"seconds": elapsed, "requests": len(day), "p95": summary["p95"],
            "instance_hours": summary["instance_seconds"] / 3600}


def _hour_run(scale: int) -> dict:
    """In a fresh interpreter: SimPy on the day's first hour."""
    hour = _day(3_600, scale)
    return {"seconds": _simpy_hour_with_autoscaler(hour, DAY_SERVICE_TIME), "requests": len(hour)}


DAY_SERVICE_TIME = 0.05


def bench_day(scale: int) -> None:
    print("f. one day (about 10M requests), least-connections + HPA, vs SimPy on one hour; "
          "each in a fresh interpreter", flush=True)
    day = run_child("day", str(scale), 0)
    hour = run_child("hour", str(scale), 0)
    per_request_sl = day["seconds"] / day["requests"]
    per_request_simpy = hour["seconds"] / hour["requests"]
    report("f1", f"a day with an autoscaler ({day['requests']:,} requests), time",
           f"{day['seconds']:.1f} s ({per_request_sl * 1e6:.2f} µs/request; SimPy on one hour "
           f"{per_request_simpy * 1e6:.2f} µs/request → {per_request_simpy / per_request_sl:.1f}×)",
           "≤ 10 s" if scale == 1 else "≤ 1 s", day["seconds"] <= 10 / scale)
    report("f1c", "a day with an autoscaler, cost",
           f"{day['instance_hours']:.0f} instance-hours, p95 {day['p95'] * 1000:.0f} ms",
           "info", "info")


# ---------------------------------------------------------------------------------------------
# d. every explorer: the Python side of each control move (≤ 20 ms; the autoscaling
# explorer, the slowest, ≤ 10 ms)

EXPLORER_GOALS = {"autoscaling_explorer": 0.010}  # s; the others ≤ 20 ms
EXPLORERS = ["queue_explorer", "scaling_explorer", "balancer_explorer", "stateless_explorer",
             "autoscaling_explorer", "load_test_explorer"]


def _settings(control, count: int = 8) -> list:
    """Up to ``count`` values spread over a control's range (every option of a dropdown)."""
    import ipywidgets as W

    if isinstance(control, W.Dropdown):
        return [option[1] if isinstance(option, tuple) else option for option in control.options]
    if isinstance(control, W.Checkbox):
        return [not control.value]
    values = np.linspace(control.min, control.max, count)
    if getattr(control, "step", None):
        values = np.unique(np.clip(np.round(values / control.step) * control.step,
                                   control.min, control.max))
    return [type(control.value)(v) for v in values]


def bench_slider() -> None:
    print("d. every explorer: Python side of each control move (each control over its range, "
          "then back), no kernel attached", flush=True)
    import scalelab.widgets as widgets

    for name in EXPLORERS:
        build, explorer = timed(getattr(widgets, name))
        before = explorer.readout.value
        moves, changed = [], False
        for control in explorer.controls.values():
            original = control.value
            for value in [*_settings(control), original]:
                if value == control.value:
                    continue
                moves.append(timed(lambda c=control, v=value: setattr(c, "value", v))[0])
                changed = changed or explorer.readout.value != before
        p90 = float(np.percentile(moves, 90))
        limit = EXPLORER_GOALS.get(name, 0.020)
        report(f"d-{name.split('_')[0]}", f"{name}, a control move",
               f"median {ms(statistics.median(moves))}, p90 {ms(p90)}, max {ms(max(moves))} "
               f"over {len(moves)} moves; built in {ms(build)}"
               + ("" if changed else "; WARNING: the readout never changed"),
               f"every move ≤ {limit * 1000:g} ms", max(moves) <= limit and changed)


# ---------------------------------------------------------------------------------------------

GROUPS = {"lindley": "a", "big": "b", "loop": "c", "slider": "d", "scaling": "e", "day": "f"}


def main() -> None:
    global QUICK
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, balancer, requests, reps = sys.argv[2:6]
        child(kind, balancer, int(requests), int(reps))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10× fewer requests everywhere (verdicts indicative only)")
    parser.add_argument("--only", metavar="NAME", choices=[*GROUPS, *GROUPS.values()],
                        help="run one group: lindley (a), big (b), loop (c), slider (d), "
                             "scaling (e), day (f)")
    args = parser.parse_args()
    QUICK = args.quick
    only = GROUPS.get(args.only, args.only)
    scale = 10 if QUICK else 1
    started, load_before = time.time(), load()
    print(f"scalelab {sl.__version__} benchmarks, {time.strftime('%Y-%m-%d %H:%M %Z')}"
          f"{' (quick)' if QUICK else ''}; load average {load_before}", flush=True)
    if only in (None, "a"):
        bench_lindley(200_000 // scale)
    if only in (None, "b"):
        bench_big(10_000_000 // scale)
    if only in (None, "c"):
        bench_loop(200_000 // scale)
    if only in (None, "d"):
        bench_slider()
    if only in (None, "e"):
        bench_scaling(200_000 // scale)
    if only in (None, "f"):
        bench_day(scale)
    print_table()
    print(f"\nmachine: {machine()}")
    print(f"load average: {load_before} at start, {load()} at end; "
          f"wall time {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()

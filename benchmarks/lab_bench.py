"""The real lab's benchmark: start-up, proxy overhead, throughput, and our load generator
against Locust. Each row states its goal.

    python benchmarks/lab_bench.py            # everything, about 2 minutes
    python benchmarks/lab_bench.py --quick    # shorter runs; verdicts indicative only
    python benchmarks/lab_bench.py --only startup overhead throughput locust proxies kill

Every row prints its goal beside the measurement and PASS or MISS. Timings are wall-clock on a
machine that may be shared: the load average is printed at the start and the end. "own
process" means the load generator runs as ``python -m scalelab.lab.loadgen`` in a process of
its own (as Locust does); "in the lab's process" is what a notebook cell gets from
``lab.load``: the generator then shares the proxy's interpreter (and GIL).
Locust (FastHttpUser) is optional: ``pip install locust``; without it those rows are skipped.
Locust rounds its percentiles to whole milliseconds, so its p50 alone is ±2–3 % at 20 ms.
The ``proxies`` rows put the python proxy, HAProxy and NGINX (``Lab(proxy=…)``, when
installed) side by side: added p50, throughput on ``/work?ms=0`` (the proxy's own ceiling on
this machine) and on ``/work?ms=20``. The ``kill`` rows kill one of 3 instances at 200 req/s
(``/work?ms=20``, the lab's default health check, no passive ejection) through the python
proxy and HAProxy, without and with one retry, beside ``sl.simulate`` of the same set-up with
the crash at the same moment between two probes (detection depends on that phase).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree, not an installed copy

import scalelab as sl  # noqa: E402 — after the path insert above
from scalelab.lab.loadgen import LoadGenerator  # noqa: E402
from scalelab.lab.loopthread import LoopThread  # noqa: E402

ROWS: list[tuple[str, str, str, str, str]] = []

LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Client(FastHttpUser):
    wait_time = constant(0)

    @task
    def work(self):
        self.client.get("{path}")
"""


def row(key: str, what: str, measured: str, goal: str, ok: bool | None) -> None:
    verdict = "info" if ok is None else ("PASS" if ok else "MISS")
    ROWS.append((key, what, measured, goal, verdict))
    print(f"{key:<4} {what:<58} {measured:>22}   {goal:<16} {verdict}", flush=True)


def own_process(url: str, *, duration: float, path: str, rate: float | None = None,
                users: int | None = None) -> dict:
    """Run the load generator as a separate process; its summary."""
    how = ["--rate", str(rate)] if rate else ["--users", str(users)]
    out = subprocess.run([sys.executable, "-m", "scalelab.lab.loadgen", url, *how,
                          "--duration", str(duration), "--path", path], cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=duration + 60)
    return json.loads(out.stdout)


def in_process(url: str, workload, path: str) -> dict:
    """Open loop from this process against any URL (an instance directly, say)."""
    loop = LoopThread("bench-load")
    try:
        records = loop.run(LoadGenerator(url, path=path).open_loop(workload))
    finally:
        loop.stop()
    return sl.Result(records, [sl.Instance()], workload.duration).summary()


# -- rows ------------------------------------------------------------------------------------

def bench_startup(repeats: int) -> None:
    for key, store, goal in (("s1", "sqlite", 1.5), ("s2", "redis", 2.0)):
        if store == "redis" and not sl.lab.redis_available():
            row(key, "start-up, 3 instances + proxy, redis", "skipped", "< 2 s", None)
            continue
        times, version = [], None
        for _ in range(repeats):
            began = time.perf_counter()
            with sl.lab.Lab(instances=3, store=store) as lab:
                times.append(time.perf_counter() - began)
                version = lab.redis_version
        label = f"start-up, 3 instances + proxy, {store}" + (f" {version}" if version else "")
        median = statistics.median(times)
        row(key, f"{label} (median of {repeats})", f"{median:.3f} s", f"< {goal:g} s",
            median < goal)


def bench_overhead(duration: float) -> None:
    wl = sl.workloads.constant(rate=300, duration=duration)
    path = "/work?ms=0"
    with sl.lab.Lab(instances=2, store="memory") as lab:
        direct_url = f"http://127.0.0.1:{lab.status()[0]['port']}"
        direct = own_process(direct_url, rate=300, duration=duration, path=path)
        proxied = own_process(lab.url, rate=300, duration=duration, path=path)
        added = (proxied["p50"] - direct["p50"]) * 1000
        row("o1", "proxy overhead: added p50 at 300 req/s, /work?ms=0 (own process)",
            f"+{added:.2f} ms ({direct['p50'] * 1000:.2f}→{proxied['p50'] * 1000:.2f})",
            "< 2 ms", added < 2)
        direct = in_process(direct_url, wl, path)
        proxied = lab.load(wl, path=path).summary()
        added = (proxied["p50"] - direct["p50"]) * 1000
        row("o1n", "  the same, generator in the lab's process (a notebook)",
            f"+{added:.2f} ms ({direct['p50'] * 1000:.2f}→{proxied['p50'] * 1000:.2f})",
            "< 2 ms", added < 2)


def bench_throughput(duration: float) -> None:
    with sl.lab.Lab(instances=2, store="memory") as lab:
        for users in (20, 64):
            own = own_process(lab.url, users=users, duration=duration, path="/work?ms=20")
            row(f"t{users}", f"2 instances via proxy, /work?ms=20, closed c={users} (own process)",
                f"{own['throughput']:.0f} req/s", "≥ 800 req/s", own["throughput"] >= 800)
        res = lab.load(mode="closed", users=64, duration=duration, path="/work?ms=20").summary()
        row("t64n", "  the same c=64, generator in the lab's process",
            f"{res['throughput']:.0f} req/s", "≥ 800 req/s", res["throughput"] >= 800)


def locust(url: str, users: int, duration: float, path: str) -> dict | None:
    binary = shutil.which("locust") or str(Path(sys.executable).with_name("locust"))
    if not os.access(binary, os.X_OK):
        return None
    with tempfile.TemporaryDirectory(prefix="scalelab-locust-") as tmp:
        locustfile = Path(tmp) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE.format(path=path))
        subprocess.run([binary, "-f", str(locustfile), "--headless", "-u", str(users), "-r",
                        str(users * 10), "-t", f"{duration:g}s", "--host", url, "--csv",
                        f"{tmp}/out", "--only-summary", "--loglevel", "ERROR"],
                       capture_output=True, check=True, timeout=duration + 60, cwd=tmp)
        with open(f"{tmp}/out_stats.csv") as f:
            total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {"throughput": float(total["Requests/s"]), "p50": float(total["50%"]) / 1000,
            "errors": int(total["Failure Count"])}


def bench_locust(duration: float, rounds: int) -> None:
    """Alternate Locust and ours against the same lab so that the shared machine's load
    drifts over both alike; compare the medians over the rounds."""
    users, path = 20, "/work?ms=20"
    runs: dict[str, list[dict]] = {"locust": [], "own": [], "notebook": []}
    with sl.lab.Lab(instances=2, store="memory") as lab:
        for _ in range(rounds):
            theirs = locust(lab.url, users, duration, path)
            if theirs is None:
                row("l1", "load generator vs Locust FastHttpUser", "skipped: no locust",
                    "within 10 %", None)
                return
            runs["locust"].append(theirs)
            runs["own"].append(own_process(lab.url, users=users, duration=duration, path=path))
            runs["notebook"].append(lab.load(mode="closed", users=users, duration=duration,
                                             path=path).summary())
    median = {name: {k: statistics.median(r[k] for r in rs) for k in ("throughput", "p50")}
              for name, rs in runs.items()}
    theirs = median["locust"]
    row("l0", f"Locust FastHttpUser, c={users}, {path}, {rounds}×{duration:g} s (medians)",
        f"{theirs['throughput']:.0f} req/s, p50 {theirs['p50'] * 1000:.0f} ms", "reference", None)
    for key, label, name in (("l1", "ours, own process", "own"),
                             ("l1n", "ours, in the lab's process", "notebook")):
        mine = median[name]
        rps = mine["throughput"] / theirs["throughput"] - 1
        p50 = mine["p50"] / theirs["p50"] - 1
        row(key, f"  {label}: {mine['throughput']:.0f} req/s, p50 {mine['p50'] * 1000:.1f} ms",
            f"rps {rps:+.1%}, p50 {p50:+.1%}", "within 10 %", abs(rps) <= 0.1 and abs(p50) <= 0.1)


def bench_proxies(duration: float) -> None:
    """The same measurements through each proxy: what the proxy itself adds and carries."""
    for proxy in ("python", "haproxy", "nginx"):
        key = proxy[0]
        if not sl.lab.proxy_available(proxy):
            row(f"p{key}", f"proxy={proxy!r}", "skipped: not installed", "info", None)
            continue
        with sl.lab.Lab(instances=2, store="memory", proxy=proxy) as lab:
            direct_url = f"http://127.0.0.1:{lab.status()[0]['port']}"
            added = []  # alternate direct and proxied so the machine's load drifts over both
            for _ in range(3):
                direct = own_process(direct_url, rate=300, duration=duration / 2,
                                     path="/work?ms=0")
                proxied = own_process(lab.url, rate=300, duration=duration / 2,
                                      path="/work?ms=0")
                added.append((proxied["p50"] - direct["p50"]) * 1000)
            median = statistics.median(added)
            row(f"p{key}o", f"{proxy}: added p50 at 300 req/s, /work?ms=0 (median of 3)",
                f"{median:+.2f} ms", "< 2 ms", median < 2)
            for path in ("/work?ms=0", "/work?ms=20"):
                own = own_process(lab.url, users=64, duration=duration, path=path)
                rps = own["throughput"]
                if path.endswith("=20"):  # the design target for the python proxy
                    row(f"p{key}t", f"{proxy}: 2 instances, {path}, closed c=64",
                        f"{rps:.0f} req/s", "≥ 800 req/s", rps >= 800)
                else:
                    row(f"p{key}c", f"{proxy}: 2 instances, {path}, closed c=64 (ceiling)",
                        f"{rps:.0f} req/s", "info", None)


def first(events, what: str, instance: int) -> float:
    return next((t for t, i, w in events if w == what and i == instance), float("nan"))


def bench_kill(rounds: int) -> None:
    """A kill under load: detection time and errors, real proxies beside the simulator."""
    check, rate, n = sl.lab.DEFAULT_HEALTH_CHECK, 200, 3
    workload = sl.workloads.constant(rate=rate, duration=4)
    phases = []
    for proxy in ("python", "haproxy"):
        if not sl.lab.proxy_available(proxy):
            row(f"k{proxy[0]}", f"kill under load, proxy={proxy!r}", "skipped", "info", None)
            continue
        for retries in (0, 1):
            found = []
            for _ in range(rounds):
                with sl.lab.Lab(instances=n, store="memory", proxy=proxy, health_check=check,
                                retries=retries, passive_ejection=False) as lab:
                    res = lab.load(workload, path="/work?ms=20",
                                   failures=[sl.Crash(instance=0, at=1.0)])
                detection = first(res.events, "marked down", 0) - first(res.events, "crash", 0)
                found.append((detection, res.summary()["errors"], res.summary()["retries"]))
            phases += [d for d, _, _ in found]
            row(f"k{proxy[0]}{retries}", f"kill, {proxy}, retries={retries}: detection s; "
                "errors; retries", "; ".join(f"{d:.2f} {e} {r}" for d, e, r in found),
                "info", None)
    # the simulator probes at multiples of the interval: crash as far after a probe as measured
    lag = check.unhealthy_threshold * check.interval - statistics.median(phases or [0.5])
    for retries in (0, 1):
        res = sl.simulate(workload, instances=[sl.Instance(slots=64)] * n,
                          service_time=sl.Constant(0.02), health_check=check,
                          failures=[sl.Crash(instance=0, at=1.0 + max(lag, 0.0))],
                          retries=retries, seed=1)
        detection = first(res.events, "marked down", 0) - first(res.events, "crash", 0)
        row(f"ks{retries}", f"kill, simulate, retries={retries}: detection s; errors; retries",
            f"{detection:.2f} {res.summary()['errors']} {res.summary()['retries']}", "info",
            None)


GROUPS = {"startup": bench_startup, "overhead": bench_overhead, "throughput": bench_throughput,
          "locust": bench_locust, "proxies": bench_proxies,
          "kill": bench_kill}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--only", nargs="+", choices=sorted(GROUPS), default=list(GROUPS))
    args = parser.parse_args()
    quick = args.quick
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores: above 2 means queued)")
    print(f"{'id':<4} {'what':<58} {'measured':>22}   {'goal':<16} verdict")
    options = {"startup": {"repeats": 3 if quick else 5},
               "overhead": {"duration": 2 if quick else 5},
               "throughput": {"duration": 2 if quick else 5},
               "locust": {"duration": 3 if quick else 5, "rounds": 1 if quick else 3},
               "proxies": {"duration": 2 if quick else 5}, "kill": {"rounds": 1 if quick else 3}}
    for name in args.only:
        GROUPS[name](**options[name])
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print(f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    misses = [r[0] for r in ROWS if r[4] == "MISS"]
    print(f"{len(ROWS)} rows, {len(misses)} missed" + (f": {', '.join(misses)}" if misses else ""))


if __name__ == "__main__":
    main()

"""The flow view's benchmark: how long the Python side takes to build its payload, and how
many frames per second the view draws in headless Chromium while it plays 2,000 requests.

    python benchmarks/flow_bench.py                 # both, about a minute
    python benchmarks/flow_bench.py --only payload  # or: fps
    python benchmarks/flow_bench.py --shot docs/flow.png   # also save a still of the view

Frames: the view's own JavaScript (scalelab/static/flow.js) runs in a page of its own
(``FlowView.to_html()``: a stand-in for the widget model hands it the very payload the
widget syncs, binary buffers as DataViews); the page counts ``requestAnimationFrame``
callbacks and the frames the view drew over a few seconds of playing. Chromium is Debian's
(``$CHROMIUM`` or /usr/bin/chromium), launched as the browser tests launch it. Goals: payload
≤ 50 ms for a 10M-request result, ≥ 30 frames per second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark the working tree, not an installed copy

import scalelab as sl  # noqa: E402
from scalelab.flow import FlowView  # noqa: E402
from scalelab.flowdata import flow_payload  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
SECONDS = 5.0

def crash_run() -> sl.Result:
    """Four instances behind round robin, the last at 3/4 speed (93 % busy), instance 1
    crashing at 60 s, a health check that marks it down after three failed probes 2 s apart,
    no retries."""
    workload = sl.workloads.poisson(rate=70, duration=120, seed=1)
    instances = [sl.Instance() for _ in range(3)] + [sl.Instance(speed=0.75)]
    return sl.simulate(workload, instances=instances, service_time=0.04, seed=1,
                       failures=[sl.Crash(instance=1, at=60.0)],
                       health_check=sl.HealthCheck(interval=2, unhealthy_threshold=3))


def backlog_run() -> sl.Result:
    """Round robin feeding four instances, one at half speed: its queue grows to hundreds."""
    workload = sl.workloads.poisson(rate=30, duration=120, seed=1)
    instances = [sl.Instance(speed=0.5)] + [sl.Instance() for _ in range(3)]
    return sl.simulate(workload, instances=instances, service_time=0.1, seed=1)


def bench_payload() -> None:
    workload = sl.workloads.poisson(rate=8, duration=1.25e6, seed=1)
    big = sl.simulate(workload, instances=10, service_time=1.0, seed=1)
    cases = [("default window", {}),
             ("a late 100 s window", {"start": 1.2e6, "end": 1.2e6 + 100})]
    for name, window in cases:
        flow_payload(big, **window)
        times = []
        for _ in range(7):
            t = time.perf_counter()
            payload = flow_payload(big, **window)
            times.append((time.perf_counter() - t) * 1000)
        print(f"payload, {len(big.requests):,} records, {name}: median "
              f"{statistics.median(times):.1f} ms, max {max(times):.1f} ms "
              f"({payload['count']:,} requests)   goal ≤ 50 ms   "
              f"{'PASS' if statistics.median(times) <= 50 else 'MISS'}")


def bench_fps(shot: str | None) -> None:
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_ARGS)
        for name, run in (("a crash", crash_run), ("a backlog", backlog_run)):
            view = FlowView(run())
            page = browser.new_page(viewport={"width": 1000, "height": 760})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.set_content(view.to_html())
            page.wait_for_function("() => window.flowReady === true")
            for speed in (1.0, 10.0):
                fps, drawn, dots = measure(page, speed)
                print(f"frames, {name}, {view.data['count']:,} requests at {speed:g}×: "
                      f"{fps:.1f} requestAnimationFrame/s, the view drew {drawn:.1f} frames/s "
                      f"(up to {dots} dots at once)   goal ≥ 30   "
                      f"{'PASS' if drawn >= 30 else 'MISS'}")
            if shot and run is crash_run:
                still(page, shot)
            page.close()
        browser.close()
    if errors:
        print("page errors:", *errors, sep="\n  ")


def measure(page, speed: float) -> tuple[float, float, int]:
    """Play from the window's start at ``speed`` for SECONDS; count frames."""
    duration = float(page.evaluate(
        "() => document.querySelector('.scalelab-flow').dataset.duration"))
    seconds = min(SECONDS, 0.9 * duration / speed)  # stop before the window runs out
    return page.evaluate("""async ([speed, seconds]) => {
      const root = document.querySelector('.scalelab-flow');
      const input = root.querySelector('.sl-flow-speed');
      input.value = String(Math.log10(speed)); input.dispatchEvent(new Event('input'));
      const scrub = root.querySelector('.sl-flow-scrub');
      scrub.value = '0'; scrub.dispatchEvent(new Event('input'));
      root.querySelector('.sl-flow-play').click();
      let ticks = 0, most = 0, running = true;
      const count = () => { ticks++; most = Math.max(most, Number(root.dataset.dots));
                            if (running) requestAnimationFrame(count); };
      requestAnimationFrame(count);
      const before = Number(root.dataset.frames || 0), t0 = performance.now();
      await new Promise(r => setTimeout(r, seconds * 1000));
      running = false;
      const elapsed = (performance.now() - t0) / 1000;
      const drawn = Number(root.dataset.frames) - before;
      if (root.flow.playing) root.querySelector('.sl-flow-play').click();
      return [ticks / elapsed, drawn / elapsed, most];
    }""", [speed, seconds])


def still(page, path: str) -> None:
    """Save a PNG of the view, paused at 1× speed, 2.6 s after the crash at 60 s: the health
    check has not yet marked the instance down."""
    page.evaluate("""() => {
      const root = document.querySelector('.scalelab-flow');
      const speed = root.querySelector('.sl-flow-speed');
      speed.value = '0'; speed.dispatchEvent(new Event('input'));
      const scrub = root.querySelector('.sl-flow-scrub');
      scrub.value = String(60 + 2.6 - Number(root.dataset.t0));
      scrub.dispatchEvent(new Event('input'));
    }""")
    page.locator(".scalelab-flow").screenshot(path=path)
    print(f"still saved: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["payload", "fps"])
    parser.add_argument("--shot", help="save a PNG still of the view here")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.only in (None, "payload"):
        bench_payload()
    if args.only in (None, "fps"):
        bench_fps(args.shot)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

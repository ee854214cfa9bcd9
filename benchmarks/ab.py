"""CPU time of the main simulator cases, this working tree against another git revision, in
alternating fresh interpreters: on a shared machine, where wall-clock figures swing with the
other jobs, CPU seconds (``time.process_time``, the best of several runs) compare two
versions more fairly than ``run.py`` can.

    python benchmarks/ab.py HEAD~3            # this tree against that revision
    python benchmarks/ab.py main --rounds 3

The other revision is exported with ``git archive`` into a temporary folder. Each case runs
``--rounds`` times per version (alternating), each in a fresh interpreter; the table shows
each version's best. Model: Poisson arrivals λ = 8/s, N = 10 instances, exponential service
of mean 1 s, as in ``run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {  # name: (balancer, requests, what is timed)
    "round-robin 200k, simulate": ("RoundRobin", 200_000, "simulate"),
    "round-robin 200k, simulate + summary()": ("RoundRobin", 200_000, "both"),
    "random 200k, simulate + summary()": ("Random", 200_000, "both"),
    "power of two choices 200k, simulate": ("PowerOfTwoChoices", 200_000, "simulate"),
    "least-connections 200k, simulate": ("LeastConnections", 200_000, "simulate"),
    "a learner's pick() 200k, simulate": ("Mine", 200_000, "simulate"),
    "round-robin 10M, simulate": ("RoundRobin", 10_000_000, "simulate"),
    "round-robin 10M, summary()": ("RoundRobin", 10_000_000, "summary"),
}

CHILD = r"""
import json, sys, time
import scalelab as sl
name, requests, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Mine(sl.balancers.RoundRobin):
    def pick(self, instances, request):
        return super().pick(instances, request)
policy = Mine if name == "Mine" else getattr(sl.balancers, name)
workload = sl.workloads.poisson(rate=8, duration=requests / 8, seed=1)
def run():
    return sl.simulate(workload, instances=10, service_time=1.0, balancer=policy(), seed=1)
reps = 1 if requests > 1_000_000 else 5
best = float("inf")
for _ in range(reps):
    began = time.process_time()
    result = run()
    middle = time.process_time()
    if what != "simulate":
        result.summary()
    ended = time.process_time()
    best = min(best, {"simulate": middle - began, "both": ended - began,
                      "summary": ended - middle}[what])
print(json.dumps(best))
"""


def cpu_seconds(tree: Path, case: tuple) -> float:
    name, requests, what = case
    done = subprocess.run([sys.executable, "-c", CHILD, name, str(requests), what],
                          capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
                          env={**os.environ, "PYTHONPATH": str(tree)})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", args.revision], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        trees = {args.revision: Path(folder), "this tree": ROOT}
        print(f"{'case':<42}{args.revision:>14}{'this tree':>12}  ratio")
        for label, case in CASES.items():
            best = dict.fromkeys(trees, float("inf"))
            for _ in range(args.rounds):  # alternating, so both see the same load
                for name, tree in trees.items():
                    best[name] = min(best[name], cpu_seconds(tree, case))
            before, after = best[args.revision], best["this tree"]
            print(f"{label:<42}{before * 1000:11.1f} ms{after * 1000:9.1f} ms  "
                  f"{before / after:4.2f}×", flush=True)


if __name__ == "__main__":
    main()

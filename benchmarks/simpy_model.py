"""The benchmark model in idiomatic SimPy: the "classic discrete-event" baseline that
scalelab's simulator is timed against, and an independent oracle for its numbers.

Model: Poisson arrivals of rate ``arrival_rate``
go to ``instances`` FIFO servers with one slot each and exponential service of mean
``service_time``. One SimPy process per request, one ``simpy.Resource(capacity=1)`` per
instance. Routing policies:

- ``"rr"``: round-robin 0, 1, …, N−1, 0, …
- ``"random"``: uniform over instances.
- ``"jsq"``: join the shortest queue = least connections: fewest requests in system
  (waiting + in service); the lowest index wins ties.
- ``"lc"``: NGINX ``least_conn`` (scalelab's ``LeastConnections``): the fewest in system;
  ties broken by smooth weighted round-robin among the tied instances (each tied instance's
  ``current`` gains 1, the highest, earliest on ties, wins and loses as many as were tied).
- ``"p2c"``: power of two choices as Envoy's least-request does it (and scalelab's
  ``PowerOfTwoChoices``): two draws *with replacement*; the second wins only with strictly
  fewer requests in system.

Random numbers (interarrival gaps, service times, random picks) are pre-drawn with numpy so the
cost measured is SimPy's event machinery, not Python's ``random``.

    python benchmarks/simpy_model.py --policy rr --requests 200000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy

POLICIES = ("rr", "random", "jsq", "lc", "p2c")


def simulate(policy: str = "rr", requests: int = 200_000, instances: int = 10,
             arrival_rate: float = 8.0, service_time: float = 1.0, seed: int = 1,
             warmup: float = 0.0) -> float:
    """Mean response time (s) of the requests that arrive at or after ``warmup`` seconds."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / arrival_rate, requests).tolist()
    work = rng.exponential(service_time, requests).tolist()
    if policy == "random":
        picks = rng.integers(0, instances, requests).tolist()
    elif policy == "p2c":
        first = rng.integers(0, instances, requests)
        second = rng.integers(0, instances, requests)  # with replacement, as Envoy draws
        firsts, seconds = first.tolist(), second.tolist()

    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=1) for _ in range(instances)]
    total = [0.0, 0]  # sum of response times, count (after warmup)
    current = [0] * instances  # "lc": NGINX's current_weight per instance

    def in_system(server: simpy.Resource) -> int:
        return server.count + len(server.queue)

    def choose(k: int) -> int:
        if policy == "rr":
            return k % instances
        if policy == "random":
            return picks[k]
        if policy == "jsq":
            return min(range(instances), key=lambda j: in_system(servers[j]))
        if policy == "lc":
            return least_conn()
        a, b = firsts[k], seconds[k]
        return b if in_system(servers[b]) < in_system(servers[a]) else a

    def least_conn() -> int:
        counts = [in_system(server) for server in servers]
        fewest = min(counts)
        tied = [j for j in range(instances) if counts[j] == fewest]
        if len(tied) == 1:
            return tied[0]
        for j in tied:
            current[j] += 1
        best = max(tied, key=lambda j: current[j])
        current[best] -= len(tied)
        return best

    def request(k: int, server: simpy.Resource):
        arrived = env.now
        with server.request() as slot:
            yield slot
            yield env.timeout(work[k])
        if arrived >= warmup:
            total[0] += env.now - arrived
            total[1] += 1

    def arrivals():
        for k in range(requests):
            yield env.timeout(gaps[k])
            env.process(request(k, servers[choose(k)]))

    env.process(arrivals())
    env.run()
    return total[0] / total[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", choices=POLICIES, default="rr")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--rate", type=float, default=8.0)
    parser.add_argument("--service-time", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=0.0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    mean = simulate(args.policy, args.requests, args.instances, args.rate, args.service_time,
                    args.seed, args.warmup)
    seconds = time.perf_counter() - t0
    print(f"{args.policy}: mean response {mean:.4f} s, {seconds:.2f} s wall, "
          f"{seconds / args.requests * 1e6:.2f} µs/request")


if __name__ == "__main__":
    main()

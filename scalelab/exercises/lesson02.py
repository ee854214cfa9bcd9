"""Exercises for lesson 02 · Load balancers.

Objectives checked: what modulo hashing costs when the cluster grows (q1); why
least-connections beats round robin on mixed servers (q2); a least-connections balancer, in
code, run through the conformance suite and seeded scenarios (q3). Times in seconds.
"""

from __future__ import annotations

import numpy as np

from .. import simulate, workloads
from ..balancers import Balancer, ClusterState, InstancesView, Request
from ..failures import Crash, HealthCheck
from ..servicetimes import LogNormal
from ..sim import Instance
from .code import BalancerSpy, Check, Fail, PolicyClass, builtin_picks
from .problem import Choice, Number, register

q1 = Number(
    title="Modulo hashing grows badly",
    prompt="A balancer sends each user to instance `user_id % N`, so that a user always lands "
           "on the same instance. You go from **N = 4** to **N = 5** instances. **What "
           "fraction of users now land on a different instance?** (User ids are spread evenly; "
           "give a fraction between 0 and 1.) Put it in `q1_moved`.",
    answer="q1_moved", expected=0.8, tolerance=0.01,
    stub="q1_moved = ...  # a fraction between 0 and 1",
    mistakes=[
        (0.2, ("That is the fraction that stays where it was — or what consistent hashing "
               "would move. Modulo hashing moves the rest.")),
        (0.25, "That is one instance's share of the users; more of them move than that."),
        (1.0, "Not every user moves: some ids give the same remainder modulo 4 and modulo 5."),
    ],
    hints=[
        "Try it: for user ids 0 to 19, compare `id % 4` with `id % 5`.",
        ("The pattern repeats every 20 ids (the least common multiple of 4 and 5). How many of "
         "those 20 keep their instance?"),
        "Only ids 0, 1, 2 and 3 (mod 20) keep theirs: 4 of 20.",
    ],
    solution="q1_moved = sum(u % 4 != u % 5 for u in range(20)) / 20",
    explanation="Only 4 ids in every 20 keep their instance, so 80 % of users move — and lose "
                "whatever the old instance kept for them. Consistent hashing moves only about "
                "1/5: the users the new instance takes over.",
)

q2 = Choice(
    title="Why least-connections wins on mixed servers",
    prompt="Six instances: two fast (speed 2) and four slow (speed 0.5), 75 % busy overall, "
           "with a heavy tail of slow requests. Round robin's p99 grows to minutes; "
           "least-connections keeps it near a second. **Why?** Put the letter in "
           "`q2_choice`.",
    answer="q2_choice",
    options={
        "a": "Least-connections reads each instance's speed and sends more to the fast ones.",
        "b": "Round robin gives every instance the same number of requests, more than the slow "
             "ones can serve; least-connections sends each request where the fewest are in "
             "flight, and fast instances empty sooner, so they get more.",
        "c": "Round robin keeps sending requests to crashed instances.",
        "d": "Least-connections sends every request to the fastest instance.",
    },
    correct="b",
    feedback={
        "a": "It never reads `speed`: it only counts requests in flight. Where does the "
             "difference in speed show up in those counts?",
        "c": "Nothing crashes in this scenario, and round robin skips instances marked down.",
        "d": "It spreads requests over every instance whose count is lowest; a single instance "
             "could not carry 75 % of the cluster's capacity.",
    },
    hints=[
        "What does each policy look at when it picks an instance?",
        ("A slow instance serving its share of the requests: is it more or less than it can "
         "do? And what happens to its in-flight count?"),
    ],
    solution='q2_choice = "b"',
    explanation="Each slow instance can do a twelfth of the work but round robin hands it a "
                "sixth: its queue grows without end. Least-connections needs no speeds: a fast "
                "instance finishes sooner, its count drops, and it is picked again — the "
                "traffic follows capacity by itself.",
)

# -- q3: a least-connections balancer ---------------------------------------------------------

MIXED = (Instance(speed=2.0),) * 2 + (Instance(speed=0.5),) * 4
OTHER_MIX = (Instance(speed=3.0),) + (Instance(speed=1.0),) * 2 + (Instance(speed=0.5),) * 3
SLO_P99 = 3.0


def _capacity(specs) -> float:
    return sum(spec.speed for spec in specs) / 0.1  # requests/s at 100 ms mean work


def _probe(make, runner):
    """pick on a small hand-made cluster: a stub or a crash shows up here, before the suite."""
    balancer = BalancerSpy(make(runner), runner)
    balancer.rng = np.random.default_rng(0)  # as the simulator does before every run
    balancer.reset()
    state = ClusterState([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    state.inflight[:] = [2, 0, 1]
    balancer.pick(InstancesView(state), Request(0, 0.0))


def _conformance(make, runner):
    from ..testing import check_balancer

    spy = BalancerSpy(make(runner), runner)
    report = check_balancer(spy, seed=0)
    if not report.passed:
        first = report.failed[0]
        raise Fail(f"The conformance suite (`sl.testing.check_balancer`) failed first at "
                   f"“{first.name}”: {first.message}.")


def _fewest_in_flight(seed: int, specs, label: str):
    def run(make, runner):
        spy = BalancerSpy(make(runner), runner)
        rate = 0.7 * _capacity(specs)
        simulate(workloads.poisson(rate, 60, seed=seed), instances=list(specs),
                 service_time=LogNormal(mean=0.1, sigma=1.0), balancer=spy, seed=seed,
                 health_check=HealthCheck(interval=1, timeout=0.5, unhealthy_threshold=2),
                 failures=[Crash(instance=1, at=20.0, recover_at=40.0)])
        for request, arrival, index, inflight, healthy in spy.picks:
            up = [j for j, ok in enumerate(healthy) if ok]
            if not up:
                continue
            low = min(inflight[j] for j in up)
            if index is None or index not in up or inflight[index] != low:
                where = "None" if index is None else \
                    f"instance {index} ({inflight[index]} in flight" + \
                    (", unhealthy)" if index not in up else ")")
                fewest = [j for j in up if inflight[j] == low]
                raise Fail(f"Request {request} at t={arrival:.2f} s went to {where}, while "
                           f"instance {fewest[0]} had {low} in flight. (In flight at that "
                           f"moment: {list(inflight)}; healthy: "
                           f"{[j for j, ok in enumerate(healthy) if ok]}.)")
    return Check(f"always picks a healthy instance with the fewest requests in flight "
                 f"({label}, a crash at 20 s, seed {seed})", run)


def _meets_the_slo(seed: int, specs, label: str):
    def run(make, runner):
        spy = BalancerSpy(make(runner), runner)
        rate = 0.75 * _capacity(specs)
        result = simulate(workloads.poisson(rate, 300, seed=seed), instances=list(specs),
                          service_time=LogNormal(mean=0.1, sigma=1.0), balancer=spy, seed=seed)
        summary = result.summary(warmup=30)
        if not summary["p99"] < SLO_P99:
            counts = np.bincount(result.requests["instance"][result.requests["instance"] >= 0],
                                 minlength=len(specs))
            share = ", ".join(f"{c / counts.sum():.0%}" for c in counts)
            raise Fail(f"On {label} at {rate:.0f} requests/s your balancer's p99 was "
                       f"{summary['p99']:.3g} s, over the {SLO_P99:g} s SLO. It sent the "
                       f"instances these shares of the requests: {share} (speeds "
                       f"{', '.join(f'{s.speed:g}' for s in specs)}).")
    return Check(f"p99 under {SLO_P99:g} s on {label} at 75 % load (seed {seed})", run)


q3 = PolicyClass(
    title="Least connections",
    prompt="Write a balancer class `FewestInFlight`: its `pick(instances, request)` returns a "
           "**healthy** instance with the **fewest requests in flight** (`instance.inflight`; "
           "break ties any way you like), or `None` when no instance is healthy.\n\n"
           "The check runs it: first the conformance suite (`sl.testing.check_balancer`), "
           "then seeded simulations — a crash with health checks, where every pick must go to "
           "a healthy instance with the fewest in flight, and six mixed instances (two fast, "
           "four slow) at 75 % load, where the p99 must stay under 3 s.",
    answer="FewestInFlight", base=Balancer, own_code=builtin_picks(),
    stub='''class FewestInFlight(sl.balancers.Balancer):
    def pick(self, instances, request):
        """A healthy instance with the fewest requests in flight; None if none is healthy."""
        # YOUR CODE HERE
        raise NotImplementedError()''',
    solution='''class FewestInFlight(sl.balancers.Balancer):
    def pick(self, instances, request):
        """A healthy instance with the fewest requests in flight; None if none is healthy."""
        healthy = [instance for instance in instances if instance.healthy]
        if not healthy:
            return None
        return min(healthy, key=lambda instance: instance.inflight)''',
    checks=[
        Check("pick runs on a small cluster (and is your own)", _probe),
        Check("passes the conformance suite (check_balancer)", _conformance),
        _fewest_in_flight(seed=0, specs=MIXED, label="6 mixed instances"),
        _meets_the_slo(seed=0, specs=MIXED, label="2 fast + 4 slow instances"),
    ],
    instructor_checks=[
        _fewest_in_flight(seed=101, specs=OTHER_MIX, label="another mix of 6"),
        _meets_the_slo(seed=102, specs=MIXED, label="2 fast + 4 slow instances"),
        _meets_the_slo(seed=103, specs=OTHER_MIX, label="1 very fast + 5 others"),
    ],
    hints=[
        ("Keep the healthy instances first (`instance.healthy`), and return None if there are "
         "none."),
        ("Among those, you want the one with the smallest `instance.inflight`: `min` with a "
         "`key` does it."),
        "`min(healthy, key=lambda instance: instance.inflight)`.",
    ],
    explanation="Filter the healthy instances, return None if there are none, else the one "
                "with the fewest requests in flight. Nothing else is needed: the counts already "
                "tell which instances are slow. `sl.balancers.LeastConnections` does the same, "
                "with NGINX's weights and tie-breaking, in O(1) per pick.",
    points=4,
)

register(globals(), lesson="lesson02", notebook="02-load-balancers.ipynb",
         title="Load balancers")

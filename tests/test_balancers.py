"""Load-balancing policies against their reference behaviour (NGINX
``ngx_http_upstream_round_robin.c`` and ``ngx_http_upstream_least_conn_module.c``, Envoy's
least-request load balancer, Finagle's ``PeakEwma.scala``, Lamping and Veach's jump hash,
arXiv:1406.2294), queueing theory (Kleinrock, *Queueing Systems* vol. 1, 1975), brute-force
oracles, and the conformance suite."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab.balancers import (
    ClusterState,
    ConsistentHash,
    InstancesView,
    JoinShortestQueue,
    LeastConnections,
    PeakEWMA,
    PowerOfTwoChoices,
    Random,
    Request,
    RoundRobin,
    WeightedRoundRobin,
    jump_hash,
)
from scalelab.testing import BalancerCheckError, check_balancer


def cluster(n=4, weights=None, inflight=None, healthy=None):
    state = ClusterState([1.0] * n, weights or [1.0] * n)
    if inflight is not None:
        state.inflight[:] = inflight
    if healthy is not None:
        state.healthy[:] = [bool(h) for h in healthy]
    return state, InstancesView(state)


def ready(balancer, seed=0):
    """Prepare a policy as the simulator does: hand it a seeded generator, then reset()."""
    balancer.rng = np.random.default_rng(seed)
    balancer.reset()
    return balancer


def index(choice):
    return None if choice is None else getattr(choice, "index", choice)


def picks(balancer, view, count, user=None):
    return [index(balancer.pick(view, Request(k, 0.0, user))) for k in range(count)]


def mean_response(balancer, instances, rate, requests, seed, service_time=1.0):
    duration = requests / rate
    wl = sl.workloads.poisson(rate=rate, duration=duration, seed=seed)
    res = sl.simulate(wl, instances=instances, service_time=service_time, balancer=balancer,
                      seed=seed)
    return res.summary(warmup=duration * 0.05)["mean"]


# ---------------------------------------------------------------------------------------------
# Round robin and NGINX smooth weighted round robin

@pytest.mark.parametrize("n, k", [(1, 5), (3, 7), (10, 100)])
def test_round_robin_gives_each_instance_exactly_k_of_k_n(n, k):
    wl = sl.workloads.constant(rate=10, duration=k * n / 10 + 0.05)
    for balancer in (RoundRobin(), _ForcedLoop()):  # numpy scan and the loop engine
        res = sl.simulate(wl, instances=n, service_time=0.01, balancer=balancer)
        assert np.bincount(res.requests["instance"], minlength=n).tolist() == [k] * n


class _ForcedLoop(RoundRobin):
    def pick(self, instances, request):
        return super().pick(instances, request)


def test_round_robin_matches_erlang_k_arrivals_theory():
    """Each of N instances sees every N-th Poisson arrival: E_N/M/1, W = 3.2674 at ρ = 0.8."""
    measured = mean_response(RoundRobin(), 4, rate=3.2, requests=400_000, seed=2)
    assert measured == pytest.approx(sl.theory.round_robin(3.2, 1.0, 4).mean_response, rel=0.04)


@pytest.mark.parametrize("weights, expected", [
    ([5, 1, 2], [0, 2, 0, 0, 1, 0, 2, 0]),
    ([2, 1], [0, 1, 0]),
    ([5, 1], [0, 0, 0, 1, 0, 0]),
])
def test_smooth_weighted_round_robin_matches_nginx(weights, expected):
    _, view = cluster(len(weights))
    wrr = ready(WeightedRoundRobin(weights))
    assert picks(wrr, view, 3 * len(expected)) == expected * 3


def test_weighted_round_robin_reads_instance_weights_when_none_given():
    _, view = cluster(3, weights=[5, 1, 2])
    assert picks(ready(WeightedRoundRobin()), view, 8) == [0, 2, 0, 0, 1, 0, 2, 0]
    wl = sl.workloads.constant(rate=10, duration=400.05)
    res = sl.simulate(wl, instances=[sl.Instance(weight=3), sl.Instance(weight=1)],
                      service_time=0.01, balancer=WeightedRoundRobin())
    assert np.bincount(res.requests["instance"]).tolist() == [3000, 1000]


def test_weighted_round_robin_skips_unhealthy_like_nginx():
    """A down peer is skipped and its score frozen; the others keep their smooth order."""
    state, view = cluster(3)
    wrr = ready(WeightedRoundRobin([5, 1, 2]))
    state.healthy[0] = False
    assert picks(wrr, view, 3) == [2, 1, 2]   # {b:1, c:2} → c b c
    state.healthy[:] = [False] * 3
    assert picks(wrr, view, 2) == [None, None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_each_cycle_of_smooth_round_robin_holds_each_weight(weights):
    _, view = cluster(len(weights))
    wrr = ready(WeightedRoundRobin(weights))
    total = sum(weights)
    for _ in range(3):
        cycle = picks(wrr, view, total)
        assert np.bincount(cycle, minlength=len(weights)).tolist() == weights


def test_weighted_round_robin_rejects_bad_weights():
    with pytest.raises(ValueError, match=r"weights\[1\] must be > 0, got -1"):
        WeightedRoundRobin([1, -1])
    with pytest.raises(ValueError, match="empty"):
        WeightedRoundRobin([])
    with pytest.raises(TypeError, match="list of numbers"):
        WeightedRoundRobin(3)
    _, view = cluster(4)
    with pytest.raises(ValueError, match="has 3 weights but the cluster has 4 instances"):
        ready(WeightedRoundRobin([5, 1, 2])).pick(view, Request(0, 0.0))


# ---------------------------------------------------------------------------------------------
# Least connections (NGINX least_conn) and join-the-shortest-queue, against brute force

class NginxLeastConn:
    """ngx_http_upstream_get_least_conn_peer, transliterated: fewest conns/weight, ties by
    smooth weighted round-robin among the tied peers (first loop, then the `many` loop)."""

    def __init__(self):
        self.current = {}

    def pick(self, healthy, conns, weight):
        best, many, cw = None, False, self.current
        for i in range(len(healthy)):
            if not healthy[i]:
                continue
            if best is None or conns[i] * weight[best] < conns[best] * weight[i]:
                best, many = i, False
            elif conns[i] * weight[best] == conns[best] * weight[i]:
                many = True
        if best is not None and many:
            total = 0
            for i in range(best, len(healthy)):
                if not healthy[i] or conns[i] * weight[best] != conns[best] * weight[i]:
                    continue
                cw[i] = cw.get(i, 0) + weight[i]
                total += weight[i]
                if cw[i] > cw.get(best, 0):
                    best = i
            cw[best] -= total
        return best


def shortest_queue(healthy, conns):
    candidates = [i for i in range(len(healthy)) if healthy[i]]
    return min(candidates, key=lambda i: (conns[i], i)) if candidates else None


OPERATIONS = st.sampled_from(["send"] * 4 + ["finish"] * 3 + ["refused", "flip", "add",
                                                               "set counts"])


def drive(data, policy, state, view, max_operations, check_pick, add_instance):
    """Sends, answers, refusals (a pick with no on_start), health flips, new instances and
    counts set by hand, in an order hypothesis draws; ``check_pick(got)`` judges each pick."""
    operations = data.draw(st.lists(OPERATIONS, min_size=20, max_size=max_operations),
                           label="operations")
    for k, op in enumerate(operations):
        n = len(state.healthy)
        if op in ("send", "refused"):
            got = index(policy.pick(view, Request(k, float(k))))
            check_pick(got)
            if got is not None and op == "send":
                state.inflight[got] += 1
                policy.on_start(view[got], Request(k, float(k)))
            elif op == "refused":  # after a pick that nothing followed, counts may be anything
                j = data.draw(st.integers(0, n - 1))
                state.inflight[j] = data.draw(st.integers(0, 6))
        elif op == "finish":
            busy = [i for i in range(n) if state.inflight[i] > 0]
            if busy:
                j = data.draw(st.sampled_from(busy))
                state.inflight[j] -= 1
                policy.on_finish(view[j], Request(k, 0.0), 0.5)
        elif op == "flip":
            j = data.draw(st.integers(0, n - 1))
            state.healthy[j] = not state.healthy[j]
        elif op == "add":
            add_instance()
        elif op == "set counts":
            state.inflight = [data.draw(st.integers(0, 5)) for _ in range(n)]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_least_connections_is_exactly_nginx_least_conn(data):
    """In any sequence of operations (see drive), every pick equals NGINX's, and has the
    fewest in-flight requests per weight among the healthy instances."""
    n = data.draw(st.integers(1, 12), label="instances")
    equal = data.draw(st.booleans(), label="equal weights")
    weights = [2.0] * n if equal else [float(w) for w in data.draw(
        st.lists(st.integers(1, 4), min_size=n, max_size=n), label="weights")]
    state, view = cluster(n, weights=weights)
    nginx = NginxLeastConn()

    def check_pick(got):
        assert got == nginx.pick(state.healthy, state.inflight, state.weight)
        if got is not None:
            ratios = [state.inflight[i] / state.weight[i] for i in range(len(state.healthy))
                      if state.healthy[i]]
            assert state.inflight[got] / state.weight[got] == min(ratios)

    def add_instance():
        state.add(weight=weights[0] if equal else float(data.draw(st.integers(1, 4))))

    drive(data, ready(LeastConnections()), state, view, 150, check_pick, add_instance)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_join_shortest_queue_is_the_brute_force_minimum(data):
    state, view = cluster(data.draw(st.integers(1, 30), label="instances"))

    def check_pick(got):
        assert got == shortest_queue(state.healthy, state.inflight)

    drive(data, ready(JoinShortestQueue()), state, view, 200, check_pick, state.add)


@pytest.mark.parametrize("policy", [LeastConnections, JoinShortestQueue])
def test_least_loaded_policies_stay_exact_over_a_long_busy_run(policy):
    """50 instances, 20,000 sends and answers: deep buckets, swept heaps, a few health flips."""
    rng = np.random.default_rng(5)
    state, view = cluster(50)
    ours = ready(policy())
    nginx = NginxLeastConn()
    for k in range(20_000):
        if k % 2_000 == 1_000:
            state.healthy[int(rng.integers(50))] ^= True
        if rng.random() < 0.55:
            got = index(ours.pick(view, Request(k, 0.0)))
            if policy is LeastConnections:
                assert got == nginx.pick(state.healthy, state.inflight, state.weight)
            else:
                assert got == shortest_queue(state.healthy, state.inflight)
            state.inflight[got] += 1
            ours.on_start(view[got], Request(k, 0.0))
        else:
            busy = np.flatnonzero(state.inflight)
            if len(busy):
                j = int(rng.choice(busy))
                state.inflight[j] -= 1
                ours.on_finish(view[j], Request(k, 0.0), 1.0)
    assert max(state.inflight) > 5


@pytest.mark.parametrize("policy", [LeastConnections, JoinShortestQueue])
def test_least_loaded_policies_keep_their_index_small(policy):
    """Instance 1 goes 5 → 6 → 5 in flight 10,000 times under instance 0's unchanging key:
    the keys it leaves behind are swept, so memory stays O(instances), not O(requests)."""
    state, view = cluster(2, inflight=[5, 5])
    ours = ready(policy())
    for k in range(10_000):
        assert index(ours.pick(view, Request(k, 0.0))) in (0, 1)
        state.inflight[1] += 1
        ours.on_start(view[1], Request(k, 0.0))
        state.inflight[1] -= 1
        ours.on_finish(view[1], Request(k, 0.0), 1.0)
    assert sum(map(len, ours._counts.index.heaps)) < 100


class NginxBalancer:
    """NGINX least_conn as a learner would write it: a full scan on every pick."""

    def reset(self):
        self.nginx = NginxLeastConn()

    def pick(self, instances, request):
        return self.nginx.pick([i.healthy for i in instances], [i.inflight for i in instances],
                               [i.weight for i in instances])


def test_least_connections_through_the_simulator_matches_a_full_scan():
    """Same assignments as the scan through crashes, health checks and retries (which hide
    the instances already tried by marking them unhealthy during the pick)."""
    wl = sl.workloads.poisson(rate=5, duration=800, seed=3)
    kwargs = {"instances": 6, "service_time": 1.0, "seed": 3, "retries": 1,
              "health_check": sl.HealthCheck(interval=1, timeout=0.5),
              "failures": [sl.Crash(instance=2, at=100, recover_at=300),
                           sl.Crash(instance=0, at=200, recover_at=500)]}
    ours = sl.simulate(wl, balancer=LeastConnections(), **kwargs).requests
    scan = sl.simulate(wl, balancer=NginxBalancer(), **kwargs).requests
    assert np.array_equal(ours["instance"], scan["instance"])
    assert np.array_equal(ours["status"], scan["status"])
    assert (ours["retries"] > 0).any()  # the crashes made requests go round again


# ---------------------------------------------------------------------------------------------
# Power of two choices (Envoy least-request, two draws with replacement)

def test_power_of_two_choices_follows_its_draws():
    """Replaying the generator: keep the first draw unless the second has strictly fewer."""
    state, view = cluster(5, inflight=[3, 1, 4, 1, 5])
    p2c = ready(PowerOfTwoChoices(seed=7))
    raw = np.random.default_rng(7).integers(0, 1 << 32, 4096, dtype=np.uint64).tolist()
    draws = [(x * 5) >> 32 for x in raw]
    for k in range(500):
        first, second = draws[2 * k], draws[2 * k + 1]
        expected = second if state.inflight[second] < state.inflight[first] else first
        assert index(p2c.pick(view, Request(k, 0.0))) == expected


@pytest.mark.parametrize("healthy, expected", [
    ((1, 1, 1, 1), [7, 5, 3, 1]),   # P(rank r) = ((n−r)² − (n−r−1)²) / n², in 16ths
    ((0, 1, 1, 1), [0, 5, 3, 1]),   # among the 3 healthy, in 9ths
])
def test_power_of_two_choices_draws_with_replacement_among_healthy(healthy, expected):
    """With replacement the most loaded instance still wins when drawn twice (1/n²)."""
    _, view = cluster(4, inflight=[0, 1, 2, 3], healthy=healthy)
    p2c = ready(PowerOfTwoChoices(seed=1))
    counts = np.bincount(picks(p2c, view, 40_000), minlength=4)
    assert counts / counts.sum() == pytest.approx(np.array(expected) / sum(expected), abs=0.01)


def test_power_of_two_choices_seed_overrides_the_simulator():
    wl = sl.workloads.poisson(rate=8, duration=200, seed=1)
    runs = [sl.simulate(wl, instances=10, service_time=1.0, seed=s,
                        balancer=PowerOfTwoChoices(seed=5)).requests["instance"] for s in (1, 1)]
    assert np.array_equal(*runs)
    other = sl.simulate(wl, instances=10, service_time=1.0, seed=1,
                        balancer=PowerOfTwoChoices(seed=6)).requests["instance"]
    assert not np.array_equal(runs[0], other)


def test_power_of_two_choices_with_many_instances_meets_the_supermarket_model():
    """Mitzenmacher's mean field for N → ∞, d = 2, λ = 0.8: T = 1.9474 (N = 100 sims: ≈1.96)."""
    measured = mean_response(PowerOfTwoChoices(), 100, rate=80, requests=300_000, seed=1)
    assert measured == pytest.approx(sl.theory.supermarket(0.8, choices=2), rel=0.03)


def test_at_high_load_more_information_gives_shorter_response_times():
    """ρ = 0.9 on 4 instances (λ = 3.6, exponential 1 s service): least connections (≈JSQ)
    < power of two < round robin (E4/M/1: 6.383) < random (M/M/1: 10)."""
    means = [mean_response(b, 4, rate=3.6, requests=200_000, seed=1)
             for b in (LeastConnections(), PowerOfTwoChoices(), RoundRobin(), Random())]
    assert means[0] < 0.9 * means[1] < 0.8 * means[2] < 0.7 * means[3]
    assert means[2] == pytest.approx(sl.theory.round_robin(3.6, 1.0, 4).mean_response, rel=0.1)
    assert means[3] == pytest.approx(10.0, rel=0.15)


# ---------------------------------------------------------------------------------------------
# Consistent hashing and jump hash

def owners(balancer, view, users):
    return np.array([balancer.pick(view, Request(0, 0.0, int(u))).index for u in users])


def test_consistent_hash_moves_about_one_in_n_plus_1_users_all_to_the_new_instance():
    users = np.arange(100_000)
    ring = ConsistentHash(vnodes=100)
    before = owners(ring, cluster(10)[1], users)
    after = owners(ring, cluster(11)[1], users)
    moved = before != after
    assert set(after[moved]) == {10}                       # every mover went to the new one
    assert np.array_equal(moved, after == 10)              # … and only movers are on it
    assert 0.05 < moved.mean() < 0.13                      # ≈ 1/11 = 0.091 (MD5 ring: 8.2%)
    hashes = np.array([int.from_bytes(hashlib.md5(str(u).encode()).digest()[:8], "big")
                       for u in users], dtype=object)
    mod_moved = (hashes % 10 != hashes % 11).mean()        # plain hash mod N, for contrast
    assert mod_moved == pytest.approx(10 / 11, abs=0.01)


def test_consistent_hash_skips_unhealthy_instances_without_moving_anyone_else():
    users = np.arange(5_000)
    state, view = cluster(5)
    ring = ConsistentHash(vnodes=100)
    before = owners(ring, view, users)
    state.healthy[3] = False
    after = owners(ring, view, users)
    assert 3 not in after
    assert np.array_equal(before[before != 3], after[before != 3])
    assert len(set(after[before == 3])) == 4     # its users spread over the other four
    state.healthy[:] = [False] * 5
    assert ring.pick(view, Request(0, 0.0, 1)) is None


def test_consistent_hash_is_the_same_in_every_process_and_falls_back_to_the_request_id():
    code = ("import scalelab as sl; from scalelab.balancers import *; "
            "v = InstancesView(ClusterState([1]*7, [1]*7)); r = ConsistentHash(); "
            "print([r.pick(v, Request(i, 0.0, None if i % 2 else i * 31)).index "
            "for i in range(40)])")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1
    _, view = cluster(7)
    ring = ConsistentHash()
    by_user = ring.pick(view, Request(99, 0.0, 5)).index
    assert ring.pick(view, Request(5, 0.0, None)).index == by_user  # id 5 hashes like user 5


def test_jump_hash_oracles():
    assert [jump_hash(k, 10) for k in range(5)] == [0, 6, 6, 8, 1]
    assert jump_hash(123456789, 1000) == 294
    keys = range(20_000)
    before = np.array([jump_hash(k, 10) for k in keys])
    after = np.array([jump_hash(k, 11) for k in keys])
    moved = before != after
    assert set(after[moved]) == {10}
    assert moved.mean() == pytest.approx(1 / 11, abs=0.01)
    with pytest.raises(ValueError, match="buckets must be ≥ 1"):
        jump_hash(1, 0)


# ---------------------------------------------------------------------------------------------
# Peak EWMA (Finagle / Linkerd)

def test_peak_ewma_decays_with_its_time_constant_and_jumps_to_peaks():
    state, view = cluster(2)
    ewma = ready(PeakEWMA(decay=10.0))
    ewma.on_finish(view[0], Request(0, 0.0), 0.1)                # answered in 100 ms at t = 0.1
    assert ewma.load(view[0], 10.1) == pytest.approx(0.1 * np.exp(-1), rel=1e-9)  # 36.8 ms
    ewma.on_finish(view[0], Request(1, 10.0), 1.0)               # a 1 s spike
    assert ewma.cost(0, 11.0) == pytest.approx(1.0)              # taken at once
    state.inflight[0] = 2
    assert ewma.load(view[0], 11.0) == pytest.approx(3.0)        # cost × (pending + 1)
    state.inflight[1] = 2
    assert ewma.load(view[1], 11.0) == pytest.approx(sl.balancers.FINAGLE_PENALTY + 2)


def test_peak_ewma_picks_the_lower_load_of_two_distinct_instances():
    state, view = cluster(2)
    ewma = ready(PeakEWMA(decay=10.0, seed=3))
    ewma.on_finish(view[0], Request(0, 0.0), 2.0)
    ewma.on_finish(view[1], Request(1, 0.0), 0.5)
    assert set(picks(ewma, view, 50)) == {1}     # two distinct draws: always compares both
    state.healthy[1] = False
    assert set(picks(ewma, view, 5)) == {0}


def test_peak_ewma_steers_traffic_away_from_a_slow_instance():
    wl = sl.workloads.poisson(rate=6, duration=2000, seed=4)
    instances = [sl.Instance(speed=0.25)] + [sl.Instance() for _ in range(9)]
    share = {}
    for name, balancer in (("ewma", PeakEWMA()), ("random", Random())):
        res = sl.simulate(wl, instances=instances, service_time=1.0, balancer=balancer, seed=4)
        share[name] = (res.requests["instance"] == 0).mean()
    assert share["ewma"] < 0.5 * share["random"]


def test_constructors_validate_their_arguments():
    with pytest.raises(ValueError, match="vnodes must be ≥ 1, got 0"):
        ConsistentHash(vnodes=0)
    with pytest.raises(ValueError, match="decay must be > 0"):
        PeakEWMA(decay=0)
    with pytest.raises(ValueError, match="seed must be ≥ 0"):
        PowerOfTwoChoices(seed=-1)


# ---------------------------------------------------------------------------------------------
# The conformance suite

BUILT_INS = [RoundRobin(), WeightedRoundRobin(), Random(), Random(seed=2), LeastConnections(),
             PowerOfTwoChoices(), PowerOfTwoChoices(seed=3), JoinShortestQueue(),
             ConsistentHash(vnodes=20), PeakEWMA()]


@pytest.mark.parametrize("balancer", BUILT_INS, ids=repr)
def test_every_built_in_passes_check_balancer(balancer):
    report = check_balancer(balancer, seed=3)
    assert report.passed, str(report)
    assert len(report.checks) == 6


class Fewest:
    """A learner's policy: only pick, no base class."""

    def pick(self, instances, request):
        healthy = [i for i in instances if i.healthy]
        return min(healthy, key=lambda i: i.inflight) if healthy else None


class IgnoresHealth:
    def pick(self, instances, request):
        return min(range(len(instances)), key=lambda i: instances[i].inflight)


class OffByOne:
    def pick(self, instances, request):
        return len(instances)


class Refuses:
    def pick(self, instances, request):
        return None


class Crashes:
    def pick(self, instances, request):
        return instances[0].inflight / 0


class Forgetful:
    """Round robin that keeps its counter across runs (no reset)."""

    def __init__(self):
        self.turn = 0

    def pick(self, instances, request):
        healthy = instances.healthy()
        self.turn += 1
        return healthy[self.turn % len(healthy)] if healthy else None


class Scribbler(Fewest):
    """Keeps the requests it is shown and rewrites one later."""

    def __init__(self):
        self.kept = []

    def pick(self, instances, request):
        self.kept.append(request)
        if len(self.kept) == 50:
            self.kept[0].user = -1
        return super().pick(instances, request)


def test_a_learner_class_with_only_pick_passes():
    report = check_balancer(Fewest())
    assert report.passed, str(report)
    report.raise_if_failed()
    assert "6 checks passed" in str(report) and "<table>" in report._repr_html_()


@pytest.mark.parametrize("balancer, check, says", [
    (IgnoresHealth(), "never picks an unhealthy",
     r"went to instance \d, which was unhealthy \(healthy: "),
    (IgnoresHealth(), "returns None when", r"went to instance \d although no instance was healthy"),
    (Refuses(), "returns one of the instances",
     r"request 0 at t=[\d.]+ s got None although instances 0, 1, 2, 3 were healthy"),
    (OffByOne(), "returns one of the instances",
     "pick returned index 4, but the instances it was given are numbered 0 to 3"),
    (Crashes(), "returns one of the instances",
     r"pick raised ZeroDivisionError on request 0 .*test_balancers.py line \d+: return instances"),
    (Forgetful(), "same seed",
     r"request \d+ \(t=[\d.]+ s\) went to instance \d in the first and to instance \d in the"),
    (Scribbler(), "leaves its inputs unchanged", "user changed from .* to -1"),
])
def test_broken_balancers_fail_with_a_message_about_what_they_did(balancer, check, says):
    report = check_balancer(balancer)
    assert not report.passed
    failed = {c.name: c.message for c in report.failed}
    name = next(n for n in failed if check in n)
    assert re.search(says, failed[name]), failed[name]
    assert f"✗ FAILED  {name}" in str(report)
    with pytest.raises(BalancerCheckError, match="checks failed"):
        report.raise_if_failed()


def test_check_balancer_wants_an_object_with_pick():
    with pytest.raises(TypeError, match=r"check_balancer\(Fewest\(\)\)"):
        check_balancer(Fewest)
    with pytest.raises(TypeError, match="pick"):
        check_balancer(object())

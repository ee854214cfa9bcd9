"""The simulator against queueing theory, through the public API only.

The oracles are closed forms written out below (Kleinrock, *Queueing Systems* vol. 1, 1975:
M/M/1, Erlang C, and GI/M/1 for round-robin's E_k/M/1; they are pinned to published table
values first), never numbers produced by scalelab. Each run is ~200k Poisson arrivals; the
first 5 % of the duration is dropped (a run starts empty, which biases latency low).
Tolerances, from 8 seeds × 200k requests: W within 4 %, Wq within 6 %, P(wait) within 0.01,
and Little's law L = λW within 1 % inside one run. One run at ρ = 0.8 has a standard
deviation of about 2 % on W, so those checks average three seeds (sd ≈ 1.2 %) instead of
widening the tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import scalelab as sl

REQUESTS = 200_000
WARMUP = 0.05          # fraction of the duration dropped at the start
SEEDS = (1, 2, 3)


# --- closed forms (μ = 1/S per server, λ the total arrival rate) -----------------------------

def mm1(lam, service_time):
    """M/M/1: (W, Wq, P(wait)); response time ~ Exp(μ − λ)."""
    mu = 1 / service_time
    w = 1 / (mu - lam)
    return w, w - service_time, lam * service_time


def erlang_c(lam, service_time, c):
    """M/M/c: (W, Wq, P(wait)) with P(wait) from the Erlang C formula."""
    a = lam * service_time
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    wq = p_wait / (c / service_time - lam)
    return wq + service_time, wq, p_wait


def round_robin(lam, service_time, n):
    """Round robin over n instances: each sees Erlang-n gaps, so E_n/M/1 (GI/M/1).

    σ is the root in (0, 1) of σ = (λ / (λ + μ(1 − σ)))ⁿ; an arrival waits with probability
    σ, and W = 1 / (μ(1 − σ)). Fixed-point iteration from 0 climbs monotonically to it.
    """
    mu = 1 / service_time
    sigma = 0.0
    for _ in range(100_000):
        following = (lam / (lam + mu * (1 - sigma))) ** n
        if abs(following - sigma) < 1e-15:
            break
        sigma = following
    w = 1 / (mu * (1 - sigma))
    return w, w - service_time, sigma


def md1(lam, service_time):
    """M/D/1 (Pollaczek–Khinchine): Wq = ρS / (2(1 − ρ)); a request waits iff the server is
    busy, which an arrival sees with probability ρ (PASTA)."""
    rho = lam * service_time
    wq = rho * service_time / (2 * (1 - rho))
    return wq + service_time, wq, rho


def test_closed_forms_reproduce_the_published_values():
    # Published values, μ = 1: M/M/1 at ρ = 0.8 (W = 5, p50 = 3.466, p95 = 14.979).
    assert mm1(0.8, 1.0)[0] == pytest.approx(5.0)
    assert -math.log(0.5) / (1 - 0.8) == pytest.approx(3.466, abs=5e-4)
    assert -math.log(0.05) / (1 - 0.8) == pytest.approx(14.979, abs=5e-4)
    w, wq, p_wait = erlang_c(2.4, 1.0, 3)
    assert (w, wq, p_wait) == pytest.approx((2.0787, 1.0787, 0.6472), abs=5e-5)
    assert erlang_c(3.2, 1.0, 4)[2] == pytest.approx(0.5964, abs=5e-5)
    assert erlang_c(8.0, 1.0, 12)[2] == pytest.approx(0.1398, abs=5e-5)
    assert round_robin(3.2, 1.0, 4)[2] == pytest.approx(0.69395, abs=1e-5)
    assert round_robin(3.2, 1.0, 4)[0] == pytest.approx(3.2674, abs=5e-5)
    assert round_robin(3.6, 1.0, 4)[0] == pytest.approx(6.383, abs=5e-4)
    assert round_robin(8.0, 1.0, 10)[0] == pytest.approx(2.922, abs=5e-4)
    assert md1(0.8, 1.0)[:2] == pytest.approx((3.0, 2.0))


# --- running the simulator ---------------------------------------------------------------------

def run(rate, seed, requests=REQUESTS, **kwargs):
    """One seeded run of ~``requests`` Poisson arrivals at ``rate`` per second."""
    workload = sl.workloads.poisson(rate=rate, duration=requests / rate, seed=seed)
    return sl.simulate(workload, seed=seed, **kwargs)


def measure(res):
    """W, Wq, P(wait), utilization, p50, p95 after the warm-up, from one run."""
    warmup = WARMUP * res.duration
    summary = res.summary(warmup=warmup)
    records = res.requests[res.requests["arrival"] >= warmup]
    answered = records[records["status"] == 0]
    assert len(answered) == len(records) == summary["requests"]
    return {
        "W": summary["mean"],
        "Wq": summary["mean_wait"],
        "p_wait": float(np.mean(answered["start"] > answered["arrival"])),
        "utilization": summary["utilization"],
        "p50": summary["p50"],
        "p95": summary["p95"],
    }


def averaged(seeds=SEEDS, requests=REQUESTS, **kwargs):
    """Each measure averaged over runs with the given seeds."""
    runs = [measure(run(seed=seed, requests=requests, **kwargs)) for seed in seeds]
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


def assert_matches(got, oracle):
    w, wq, p_wait = oracle
    assert got["W"] == pytest.approx(w, rel=0.04)
    assert got["Wq"] == pytest.approx(wq, rel=0.06)
    assert got["p_wait"] == pytest.approx(p_wait, abs=0.01)


# --- random routing: every instance sees Poisson arrivals at λ/N, i.e. M/M/1 -----------------

@pytest.mark.parametrize("n, rho, service_time", [
    (4, 0.8, 1.0), (10, 0.8, 1.0), (3, 0.7, 0.05), (7, 0.5, 0.05),
])
def test_random_routing_is_n_separate_mm1_queues(n, rho, service_time):
    lam = rho * n / service_time
    got = averaged(rate=lam, instances=n, service_time=service_time,
                   balancer=sl.balancers.Random())
    assert_matches(got, mm1(lam / n, service_time))
    assert got["utilization"] == pytest.approx(rho, abs=0.01)


# --- round robin: Erlang-N gaps per instance, i.e. E_N/M/1, not M/M/1 -------------------------

@pytest.mark.parametrize("n, rho, service_time, published", [
    (4, 0.8, 1.0, 3.2674), (10, 0.8, 1.0, 2.922), (3, 0.7, 0.05, None), (7, 0.5, 0.05, None),
])
def test_round_robin_matches_ek_m1(n, rho, service_time, published):
    lam = rho * n / service_time
    oracle = round_robin(lam, service_time, n)
    if published is not None:
        assert oracle[0] == pytest.approx(published, abs=5e-4)
    got = averaged(rate=lam, instances=n, service_time=service_time)   # RoundRobin by default
    assert_matches(got, oracle)
    # The usual mistake: each instance does not see Poisson arrivals, so M/M/1 at λ/N would
    # be far off.
    assert got["W"] < 0.8 * mm1(lam / n, service_time)[0]


# --- one instance with c slots: M/M/c (Erlang C) ------------------------------------------------

@pytest.mark.parametrize("slots, rho, service_time", [
    (3, 0.8, 1.0), (2, 0.7, 0.05), (4, 0.5, 0.05),
])
def test_slots_share_one_queue_like_mmc(slots, rho, service_time):
    lam = rho * slots / service_time
    oracle = erlang_c(lam, service_time, slots)
    got = averaged(rate=lam, instances=[sl.Instance(slots=slots)], service_time=service_time)
    assert_matches(got, oracle)                       # P(wait): fraction with start > arrival
    if (slots, rho) == (3, 0.8):
        assert oracle[0] == pytest.approx(2.0787, abs=5e-5)
        assert oracle[2] == pytest.approx(0.6472, abs=5e-5)


# --- M/M/1 response-time percentiles -------------------------------------------------------------

@pytest.mark.parametrize("rho, service_time, requests", [
    (0.8, 1.0, 800_000),     # p95 of one 200k run at ρ = 0.8 has sd ≈ 3.6 %: use 3 × 800k
    (0.5, 0.05, REQUESTS), (0.7, 0.05, REQUESTS),
])
def test_mm1_percentiles(rho, service_time, requests):
    lam = rho / service_time
    got = averaged(rate=lam, requests=requests, instances=1, service_time=service_time)
    decay = 1 / service_time - lam                   # response time ~ Exp(μ − λ)
    assert got["p50"] == pytest.approx(-math.log(0.50) / decay, rel=0.04)
    assert got["p95"] == pytest.approx(-math.log(0.05) / decay, rel=0.04)


# --- speed divides the service time: M/M/1 with μ × speed ---------------------------------------

@pytest.mark.parametrize("speed, rho, service_time", [
    (2.0, 0.8, 1.0), (2.0, 0.5, 0.05), (0.5, 0.7, 0.05),
])
def test_speed_scales_the_service_rate(speed, rho, service_time):
    effective = service_time / speed
    lam = rho / effective
    got = averaged(rate=lam, instances=[sl.Instance(speed=speed)], service_time=service_time)
    assert_matches(got, mm1(lam, effective))
    assert got["utilization"] == pytest.approx(rho, abs=0.01)


# --- constant service: M/D/1 ----------------------------------------------------------------------

@pytest.mark.parametrize("rho, service_time", [(0.8, 1.0), (0.5, 0.05), (0.7, 0.05)])
def test_constant_service_matches_md1(rho, service_time):
    lam = rho / service_time
    got = averaged(rate=lam, instances=1, service_time=sl.Constant(service_time))
    assert_matches(got, md1(lam, service_time))
    # Half the M/M/1 queueing delay: exponential service would be clearly slower.
    assert got["Wq"] < 0.6 * mm1(lam, service_time)[1]


# --- Little's law inside one run ------------------------------------------------------------------

LITTLE_MODELS = {
    "random-4": {"rate": 3.2, "instances": 4, "service_time": 1.0,
                 "balancer": sl.balancers.Random()},
    "round-robin-7": {"rate": 70.0, "instances": 7, "service_time": 0.05},
    "slots-3": {"rate": 2.4, "instances": [sl.Instance(slots=3)], "service_time": 1.0},
    "constant": {"rate": 14.0, "instances": 1, "service_time": sl.Constant(0.05)},
}


@pytest.mark.parametrize("model", sorted(LITTLE_MODELS))
def test_littles_law_holds_inside_one_run(model):
    res = run(seed=4, **LITTLE_MODELS[model])
    t0, t1 = WARMUP * res.duration, res.duration
    records = res.requests
    # L: time-average number in system over [t0, t1], from every request's [arrival, end].
    overlap = np.clip(np.minimum(records["end"], t1) - np.maximum(records["arrival"], t0), 0, None)
    in_system = overlap.sum() / (t1 - t0)
    inside = records[(records["arrival"] >= t0) & (records["arrival"] < t1)]
    lam = len(inside) / (t1 - t0)
    w = res.summary(warmup=t0)["mean"]
    assert in_system == pytest.approx(lam * w, rel=0.01)

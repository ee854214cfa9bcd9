"""scalelab.theory against published values: Kleinrock, *Queueing Systems* vol. 1 (1975) for
M/M/1, M/M/c (Erlang C) and GI/M/1; Amdahl (1967); Gunther, *Guerrilla Capacity Planning*
(2007) for the USL; availability arithmetic for replicas and components in series.

Oracles are written as the printed strings; ``printed()`` allows half a unit in their last
digit. Times are in mean service times unless a test scales them to seconds.
"""

from __future__ import annotations

import doctest
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalelab import theory


def printed(text: str) -> pytest.approx:
    """Match a number quoted with ``text``'s precision (half a unit in the last digit)."""
    decimals = len(text.partition(".")[2])
    return pytest.approx(float(text), abs=0.5 * 10.0**-decimals + 1e-12)


def exact_erlang_c(a: Fraction, c: int) -> Fraction:
    """P(wait) straight from the textbook Erlang C formula, in exact rational arithmetic."""
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


loads = st.floats(0.0, 0.99)
service_times = st.floats(1e-3, 10.0)


# --- M/M/1, M/M/c: the §5 table -------------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 0.01])  # in mean service times, then in seconds
def test_mm1_at_80_percent(scale):
    q = theory.mm1(arrival_rate=0.8 / scale, service_time=scale)
    assert q.utilization == printed("0.8")
    assert q.mean_response / scale == printed("5.000")
    assert q.mean_wait / scale == printed("4.000")
    assert q.mean_in_system == printed("4.000")  # L = ρ/(1−ρ) = 4
    assert q.mean_in_queue == printed("3.200")  # Lq = λWq = 0.8 × 4
    assert q.p_wait == printed("0.8")
    assert q.response_percentile(0.50) / scale == printed("3.466")
    assert q.response_percentile(0.95) / scale == printed("14.979")
    assert q.response_percentile(0.99) / scale == printed("23.026")


@pytest.mark.parametrize(
    ("servers", "arrival_rate", "w", "wq", "c"),
    [
        (3, 2.4, "2.0787", "1.0787", "0.6472"),
        (4, 3.2, "1.7455", "0.7455", "0.5964"),
        (10, 8.0, "1.2046", "0.2046", "0.4092"),
        (10, 9.0, "1.6687", "0.6687", "0.6687"),
    ],
)
def test_mmc_table(servers, arrival_rate, w, wq, c):
    q = theory.mmc(arrival_rate, 1.0, servers)
    assert q.utilization == pytest.approx(arrival_rate / servers)
    assert q.mean_response == printed(w)
    assert q.mean_wait == printed(wq)
    assert q.p_wait == printed(c)
    assert theory.erlang_c(arrival_rate, 1.0, servers) == printed(c)


def test_mm3_mean_in_system():
    assert theory.mmc(2.4, 1.0, 3).mean_in_system == printed("4.989")


def test_one_fast_server_beats_four_slow_on_mean_latency():
    fast = theory.mm1(arrival_rate=3.2, service_time=0.25)
    assert fast.mean_response == printed("1.25")
    assert fast.mean_wait == printed("1.00")
    assert fast.mean_response < theory.mmc(3.2, 1.0, 4).mean_response


@pytest.mark.parametrize(("servers", "c"), [(10, "0.4092"), (11, "0.2450"), (12, "0.1398")])
def test_erlang_c_sizing(servers, c):
    assert theory.erlang_c(8.0, 1.0, servers) == printed(c)


def test_erlang_c_smallest_pool_under_20_percent_waiting_is_12():
    assert next(c for c in range(9, 30) if theory.erlang_c(8.0, 1.0, c) < 0.2) == 12


def test_erlang_c_is_stable_for_a_thousand_servers():
    got = theory.erlang_c(950.0, 1.0, 1000)
    # the same formula in log space, independent of the recursion
    a, c = 950.0, 1000
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    log_top = c * math.log(a) - math.lgamma(c + 1) - math.log(1 - a / c)
    peak = max(*log_terms, log_top)
    top = math.exp(log_top - peak)
    expected = top / (sum(math.exp(t - peak) for t in log_terms) + top)
    assert 0 < got < 1
    assert got == pytest.approx(expected, rel=1e-9)


@settings(deadline=None, max_examples=60)
@given(servers=st.integers(1, 40), rho=st.floats(0.01, 0.98))
def test_erlang_c_matches_the_textbook_formula_exactly(servers, rho):
    a = rho * servers
    assert theory.erlang_c(a, 1.0, servers) == pytest.approx(
        float(exact_erlang_c(Fraction(a), servers)), rel=1e-9)


@pytest.mark.parametrize(
    ("servers", "load", "service_time"),
    [(3, 2.4, 1.0), (5, 4.0, 1.0), (5, 4.0, 0.05), (4, 3.6, 0.2)],  # (5, 4.0): wait rate = μ
)
def test_mmc_response_percentiles_match_sampling(servers, load, service_time):
    # T = Exp(μ) + (Exp(cμ − λ) with probability C), with C from the exact formula
    c = float(exact_erlang_c(Fraction(load), servers))
    rng = np.random.default_rng(7)
    n = 1_000_000
    wait_rate = (servers - load) / service_time
    waits = np.where(rng.random(n) < c, rng.exponential(1 / wait_rate, n), 0.0)
    samples = rng.exponential(service_time, n) + waits
    q = theory.mmc(load / service_time, service_time, servers)
    for level in (0.5, 0.95, 0.99):
        assert q.response_percentile(level) == pytest.approx(np.quantile(samples, level),
                                                             rel=0.02)


# --- round robin = E_k/M/1, supermarket -------------------------------------------------------

def test_round_robin_four_instances_at_80_percent():
    q = theory.round_robin(arrival_rate=3.2, service_time=1.0, instances=4)
    assert q.mean_response == printed("3.2674")
    # quoted σ=0.69395 is double-rounded from 0.6939447, so allow 1e-5 instead of 5e-6
    assert q.p_wait == pytest.approx(0.69395, abs=1e-5)
    assert q.response_percentile(0.5) == pytest.approx(math.log(2) * 3.2674, rel=1e-4)


@pytest.mark.parametrize(("instances", "total_rate", "w"), [(4, 3.6, "6.383"), (10, 8.0, "2.922")])
def test_round_robin_more(instances, total_rate, w):
    assert theory.round_robin(total_rate, 1.0, instances).mean_response == printed(w)


def test_round_robin_in_seconds():
    q = theory.round_robin(arrival_rate=320.0, service_time=0.01, instances=4)
    assert q.mean_response == pytest.approx(0.032674, abs=5e-7)
    assert q.arrival_rate == pytest.approx(80.0)  # per instance


def test_random_dispatch_is_mm1_per_instance():
    assert theory.mm1(3.2 / 4, 1.0).mean_response == printed("5.000")
    assert theory.mm1(3.6 / 4, 1.0).mean_response == printed("10.0")


@pytest.mark.parametrize(
    ("load", "row"),
    [
        (0.5, ("2.000", "1.2657", "1.1252")),
        (0.8, ("5.000", "1.9474", "1.5809")),
        (0.9, ("10.000", "2.6141", "2.0279")),
        (0.99, ("100.0", "5.4320", "3.8578")),
    ],
)
def test_supermarket_table(load, row):
    for choices, expected in zip((1, 2, 3), row):
        assert theory.supermarket(load, choices=choices) == printed(expected)
    got = theory.supermarket(np.array([load, load]), choices=2)
    assert got == pytest.approx([float(row[1])] * 2, abs=5e-5)


def test_supermarket_in_seconds_and_past_the_wall():
    assert theory.supermarket(0.8, choices=2, service_time=0.04) == pytest.approx(0.04 * 1.9474,
                                                                                    abs=2e-6)
    assert theory.supermarket(1.0) == math.inf
    assert theory.supermarket(0.0) == 1.0


# --- curves over a grid of loads, and the wall ------------------------------------------------

def test_mm1_over_an_array_of_loads_reaches_the_wall_quietly():
    loads = np.array([0.5, 0.8, 0.9, 1.0, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = theory.mm1(loads, 1.0)
        w = q.mean_response
        p99 = q.response_percentile(0.99)
    assert isinstance(w, np.ndarray)
    assert w[:3] == pytest.approx([2.0, 5.0, 10.0])
    assert np.all(np.isinf(w[3:])) and np.all(np.isinf(q.mean_in_system[3:]))
    assert np.all(np.isinf(p99[3:]))
    assert p99[1] == printed("23.026")


@pytest.mark.parametrize(("make", "rates", "first_w"), [
    (lambda lam: theory.mmc(lam, 1.0, 3), [2.4, 3.0, 3.2, 4.0], "2.0787"),
    (lambda lam: theory.round_robin(lam, 1.0, 4), [3.2, 4.0, 5.0], "3.2674"),
])
def test_multi_server_curves_past_the_wall(make, rates, first_w):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = make(np.array(rates))
        w, p95 = q.mean_response, q.response_percentile(0.95)
    stable = q.utilization < 1
    assert np.all(np.isfinite(w[stable])) and np.all(np.isinf(w[~stable]))
    assert np.all(np.isinf(p95[~stable])) and np.all(q.p_wait[~stable] == 1.0)
    assert w[0] == printed(first_w)


def test_scalar_inputs_give_plain_floats():
    q = theory.mmc(2.4, 1.0, 3)
    values = (q.mean_response, q.mean_wait, q.mean_in_system, q.mean_in_queue, q.p_wait,
              q.utilization, q.response_percentile(0.9), theory.amdahl(0.95, 16))
    assert all(type(v) is float for v in values)


# --- properties -------------------------------------------------------------------------------

def _same_queue(a: theory.Queue, b: theory.Queue) -> None:
    for name in ("utilization", "p_wait", "mean_wait", "mean_response", "mean_in_system",
                 "mean_in_queue"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=1e-12), name
    for level in (0.5, 0.9, 0.99):
        assert a.response_percentile(level) == pytest.approx(b.response_percentile(level),
                                                              rel=1e-9)


@settings(deadline=None)
@given(rho=loads, service_time=service_times)
def test_mmc_with_one_server_is_mm1(rho, service_time):
    lam = rho / service_time
    _same_queue(theory.mmc(lam, service_time, 1), theory.mm1(lam, service_time))


@settings(deadline=None)
@given(rho=loads, service_time=service_times)
def test_ek_m1_with_k_1_is_mm1(rho, service_time):
    lam = rho / service_time
    _same_queue(theory.ek_m1(1, lam, service_time), theory.mm1(lam, service_time))


@given(rho=loads, service_time=service_times)
def test_mm1_little_and_textbook_counts(rho, service_time):
    q = theory.mm1(rho / service_time, service_time)
    assert q.mean_in_system == pytest.approx(q.arrival_rate * q.mean_response)
    assert q.mean_in_system == pytest.approx(rho / (1 - rho), abs=1e-12)
    assert q.mean_in_queue == pytest.approx(rho**2 / (1 - rho), abs=1e-12)


@settings(deadline=None)
@given(servers=st.integers(1, 60), rho=loads, service_time=service_times)
def test_mmc_little_and_textbook_counts(servers, rho, service_time):
    q = theory.mmc(rho * servers / service_time, service_time, servers)
    assert q.mean_in_system == pytest.approx(q.arrival_rate * q.mean_response)
    assert q.mean_in_queue == pytest.approx(q.arrival_rate * q.mean_wait)
    lq = q.p_wait * rho / (1 - rho)  # Lq = C·ρ/(1−ρ)
    assert q.mean_in_queue == pytest.approx(lq, rel=1e-9, abs=1e-12)
    assert q.mean_in_system == pytest.approx(lq + rho * servers, rel=1e-9, abs=1e-12)


@settings(deadline=None)
@given(a=st.floats(0.1, 60.0), extra=st.integers(0, 60))
def test_erlang_c_decreases_as_servers_grow(a, extra):
    c = math.floor(a) + 1 + extra
    assert theory.erlang_c(a, 1.0, c + 1) < theory.erlang_c(a, 1.0, c) < 1.0


@settings(deadline=None)
@given(k=st.integers(1, 20), rho=st.floats(0.01, 0.99))
def test_ek_m1_root_solves_the_gi_m1_equation(k, rho):
    sigma = theory.ek_m1(k, rho, 1.0).p_wait
    assert 0 < sigma < 1
    assert sigma == pytest.approx((k * rho / (k * rho + (1 - sigma))) ** k, abs=1e-12)


@settings(deadline=None)
@given(instances=st.integers(2, 16), rho=st.floats(0.05, 0.98), service_time=service_times)
def test_round_robin_sits_between_pooled_and_random(instances, rho, service_time):
    total = rho * instances / service_time
    pooled = theory.mmc(total, service_time, instances).mean_response
    rr = theory.round_robin(total, service_time, instances).mean_response
    random = theory.mm1(total / instances, service_time).mean_response
    assert pooled <= rr * (1 + 1e-9) and rr < random


@given(rho=loads, service_time=service_times)
def test_supermarket_d1_is_mm1_and_more_choices_help(rho, service_time):
    one = theory.supermarket(rho, choices=1, service_time=service_time)
    assert one == pytest.approx(theory.mm1(rho / service_time, service_time).mean_response)
    two = theory.supermarket(rho, choices=2, service_time=service_time)
    three = theory.supermarket(rho, choices=3, service_time=service_time)
    assert three <= two * (1 + 1e-12) and two <= one * (1 + 1e-12)


@settings(deadline=None)
@given(servers=st.integers(2, 30), rho=loads, q1=st.floats(0.01, 0.98), dq=st.floats(0.005, 0.5))
def test_mmc_percentiles_increase_and_exceed_the_service_alone(servers, rho, q1, dq):
    q2 = min(q1 + dq, 0.999)
    q = theory.mmc(rho * servers, 1.0, servers)
    t1, t2 = q.response_percentile(q1), q.response_percentile(q2)
    assert t1 <= t2
    assert t1 >= -math.log1p(-q1) * (1 - 1e-9)


@given(p=st.floats(0.0, 1.0), n=st.integers(1, 1000))
def test_usl_without_coherency_is_amdahl(p, n):
    assert theory.usl(n, alpha=1 - p, beta=0.0) == pytest.approx(theory.amdahl(p, n), rel=1e-12)


@given(p=st.floats(0.0, 1.0), n=st.floats(1.0, 1e6))
def test_amdahl_bounds(p, n):
    s = theory.amdahl(p, n)
    assert 1 - 1e-12 <= s <= n * (1 + 1e-12)
    if p < 1:
        assert s <= 1 / (1 - p) * (1 + 1e-12)


@given(a=st.floats(0.0, 1.0), n=st.integers(1, 12), data=st.data())
def test_availability_k_of_n(a, n, data):
    k = data.draw(st.integers(1, n))
    binomial = sum(math.comb(n, i) * a**i * (1 - a) ** (n - i) for i in range(k, n + 1))
    got = theory.availability(a, n=n, k=k)
    assert got == pytest.approx(binomial, abs=1e-12)
    assert theory.availability(a, n=n) == pytest.approx(1 - (1 - a) ** n, abs=1e-12)
    assert theory.availability(a, n=n, k=n) == pytest.approx(a**n, abs=1e-12)
    if k < n:
        assert theory.availability(a, n=n, k=k + 1) <= got + 1e-12


@given(throughput=st.floats(0.01, 1e4), response_time=st.floats(1e-4, 100.0))
def test_littles_law_round_trip(throughput, response_time):
    inside = theory.littles_law(throughput=throughput, response_time=response_time)
    assert inside == pytest.approx(throughput * response_time)
    assert theory.littles_law(in_system=inside, throughput=throughput) == pytest.approx(
        response_time)
    assert theory.littles_law(in_system=inside, response_time=response_time) == pytest.approx(
        throughput)


# --- Little, Amdahl, USL, availability oracles ------------------------------------------------

def test_littles_law_on_the_mm1_row():
    assert theory.littles_law(throughput=0.8, response_time=5.0) == printed("4")
    assert theory.littles_law(throughput=0.8, in_system=4.0) == printed("5.000")
    assert theory.littles_law(response_time=5.0, in_system=4.0) == printed("0.8")


def test_kingman_with_poisson_arrivals_and_exponential_work_is_the_mm1_wait():
    loads = np.array([0.1, 0.5, 0.8, 0.95])
    assert theory.kingman_wait(loads / 0.04, 0.04) == pytest.approx(
        theory.mm1(loads / 0.04, 0.04).mean_wait)


def test_kingman_with_constant_work_is_the_md1_textbook_wait():
    # M/D/1: Lq = ρ² / (2(1 − ρ)) requests queued, and Wq = Lq / λ (Little)
    for rho in (0.5, 0.8, 0.9):
        lq = rho**2 / (2 * (1 - rho))
        assert theory.kingman_wait(rho, 1.0, service_scv=0) == pytest.approx(lq / rho)
    assert theory.kingman_wait(0.8, 1.0, service_scv=0) == printed("2.0")
    assert theory.kingman_wait(22.5, 0.04, service_scv=0) == printed("0.18")


def test_kingman_scales_with_the_mean_of_the_two_variabilities_and_walls_at_one():
    base = theory.kingman_wait(0.7, 1.0, arrival_scv=0, service_scv=0)
    assert base == 0.0  # evenly spaced arrivals, constant work: nobody waits
    assert theory.kingman_wait(0.7, 1.0, 2.0, 4.0) == pytest.approx(
        3 * theory.kingman_wait(0.7, 1.0))
    assert theory.kingman_wait(np.array([1.0, 1.2]), 1.0).tolist() == [inf, inf]


def test_amdahl():
    assert theory.amdahl(0.95, 16) == printed("9.143")
    assert theory.amdahl(0.95, 64) == printed("15.42")
    assert theory.amdahl(0.95, math.inf) == printed("20")
    assert theory.amdahl(0.95, np.array([16, 64])) == pytest.approx([9.143, 15.42], abs=5e-3)


def test_usl():
    capacity = theory.usl(np.array([30, 31, 32, 64]), alpha=0.05, beta=0.001)
    for got, expected in zip(capacity, ("9.0361", "9.0379", "9.0344", "7.822")):
        assert got == printed(expected)
    assert theory.usl_peak(alpha=0.05, beta=0.001) == printed("30.82")
    nodes = np.arange(1, 101)
    assert nodes[np.argmax(theory.usl(nodes, 0.05, 0.001))] == 31
    assert theory.usl(16, alpha=0.05, beta=0.0) == printed("9.143")  # = amdahl(0.95, 16)
    assert theory.usl_peak(0.05, 0.0) == math.inf


def test_availability():
    assert theory.availability(0.99) == printed("0.99")
    assert theory.availability(0.99, n=2) == printed("0.9999")
    assert theory.availability(0.99, n=3) == printed("0.999999")
    assert theory.series(0.999, theory.availability(0.99, n=2)) == printed("0.9989")
    assert theory.availability(0.99, n=3, k=2) == printed("0.999702")
    both = theory.availability(np.array([0.99, 0.99]), n=2)
    assert both == pytest.approx([0.9999, 0.9999], abs=5e-5)


def test_downtime_per_year():
    assert theory.downtime_per_year(0.99) == printed("5256")
    assert theory.downtime_per_year(0.9999) == printed("52.6")


def test_docstring_examples_run():
    result = doctest.testmod(theory)
    assert result.attempted > 10 and result.failed == 0


# --- errors that teach ------------------------------------------------------------------------

nan, inf = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("call", "error", "name", "shown"),
    [
        (lambda: theory.mm1(0.8, -1), ValueError, "service_time", "-1"),
        (lambda: theory.mm1(0.8, 0), ValueError, "service_time", "0"),
        (lambda: theory.mm1(0.8, inf), ValueError, "service_time", "inf"),
        (lambda: theory.mm1(-0.5, 1.0), ValueError, "arrival_rate", "-0.5"),
        (lambda: theory.mm1(nan, 1.0), ValueError, "arrival_rate", "nan"),
        (lambda: theory.mm1([0.5, -1.0], 1.0), ValueError, "arrival_rate", "-1.0"),
        (lambda: theory.mm1("fast", 1.0), TypeError, "arrival_rate", "'fast'"),
        (lambda: theory.mm1(True, 1.0), TypeError, "arrival_rate", "True"),
        (lambda: theory.mmc(2.4, 1.0, 0), ValueError, "servers", "0"),
        (lambda: theory.mmc(2.4, 1.0, 2.5), TypeError, "servers", "2.5"),
        (lambda: theory.mmc(2.4, 1.0, True), TypeError, "servers", "True"),
        (lambda: theory.erlang_c(8, 1.0, -3), ValueError, "servers", "-3"),
        (lambda: theory.ek_m1(0, 0.8, 1.0), ValueError, "k", "0"),
        (lambda: theory.round_robin(3.2, 1.0, 0), ValueError, "instances", "0"),
        (lambda: theory.supermarket(-0.1), ValueError, "load", "-0.1"),
        (lambda: theory.supermarket(0.8, choices=0), ValueError, "choices", "0"),
        (lambda: theory.mm1(0.8, 1.0).response_percentile(1.0), ValueError, "q", "1.0"),
        (lambda: theory.mm1(0.8, 1.0).response_percentile(95), ValueError, "q", "95"),
        (lambda: theory.mmc(2.4, 1.0, 3).response_percentile(0), ValueError, "q", "0"),
        (lambda: theory.amdahl(1.5, 4), ValueError, "parallel_fraction", "1.5"),
        (lambda: theory.amdahl(0.9, 0), ValueError, "n", "0"),
        (lambda: theory.usl(8, -0.1, 0.0), ValueError, "alpha", "-0.1"),
        (lambda: theory.usl(8, 0.05, -1), ValueError, "beta", "-1"),
        (lambda: theory.availability(1.2), ValueError, "a", "1.2"),
        (lambda: theory.availability(0.99, n=0), ValueError, "n", "0"),
        (lambda: theory.availability(0.99, n=2, k=3), ValueError, "k", "3"),
        (lambda: theory.series(0.999, 1.5), ValueError, "availabilities[1]", "1.5"),
        (lambda: theory.downtime_per_year(-0.1), ValueError, "a", "-0.1"),
        (lambda: theory.littles_law(throughput=-1, response_time=1), ValueError, "throughput",
         "-1"),
        (lambda: theory.littles_law(in_system=4, throughput=0), ValueError, "throughput", "0"),
        (lambda: theory.kingman_wait(0.8, 1.0, arrival_scv=-1), ValueError, "arrival_scv", "-1"),
        (lambda: theory.kingman_wait(0.8, 0, service_scv=0), ValueError, "service_time", "0"),
    ],
)
def test_bad_input_names_parameter_and_value(call, error, name, shown):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{name} must be"), message
    assert f"got {shown}" in message, message


@pytest.mark.parametrize("given_", [{"throughput": 1.0}, {},
                                    {"throughput": 1.0, "response_time": 2.0, "in_system": 2.0}])
def test_littles_law_needs_exactly_two(given_):
    with pytest.raises(TypeError, match="exactly two of throughput, response_time, in_system"):
        theory.littles_law(**given_)


def test_series_needs_an_argument():
    with pytest.raises(TypeError, match="at least one"):
        theory.series()

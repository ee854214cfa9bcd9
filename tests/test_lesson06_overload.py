"""Lesson 06 past the breaking point (``scenarios.lesson06_overload``): the retry-storm model
against the simulator and against hand-derived oracles, the shared store against a two-tier
simulation, the leaky soak and the scale-in rehearsal.

Oracles, derived by hand (none read from the code under test):
- with no resends, the model is a FIFO queue with ``servers`` workers: the simulator's run of
  the same arrivals and work on one instance with that many slots gives the same ends;
- conservation: every request has attempts 0..m with m ≤ retries, a resend follows only a
  timed-out attempt and arrives timeout + backoff × 2^k after it; the workers never serve
  more than ``servers`` attempts at once, so no window holds more work than servers × length;
- metastability: once every send times out, each request costs 1 + R sends of work; the
  queue drains iff ρ(1 + R) < 1 (checked away from 1, where draining takes long);
- Jackson: two M/M/1 tiers in series (random routing) have mean response S₁/(1−ρ₁) + S₂/(1−ρ₂);
- USL: C(N) = N / (1 + α(N − 1) + βN(N − 1)), peak at N* = √((1 − α)/β);
- the leaky soak's break: the work multiplier m at which E_n/M/1 (round robin) reaches the SLO
  at the soak's rate, from the closed form in test_lesson06.py, then (m − 1) ÷ leak.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_lesson06 import rr_breaking_rate

import scalelab as sl
from scalelab import loadtest, scenarios
from scalelab.workloads import Workload


def arrivals(rate=80.0, duration=60.0, seed=1):
    return sl.workloads.poisson(rate=rate, duration=duration, seed=seed).arrivals


# -- the retry-storm model ---------------------------------------------------------------------

@pytest.mark.parametrize("servers", [1, 2, 3])
def test_without_resends_the_model_is_the_simulators_fifo_queue(servers):
    times = arrivals(rate=45.0 * servers, duration=120.0)
    records = scenarios.retry_storm(times, service_time=0.02, servers=servers, timeout=0.1,
                                    seed=4)
    assert len(records) == len(times) and not records["attempt"].any()
    order = np.argsort(records["request"])
    work = records["service"][order]
    result = sl.simulate(Workload(times, 120.0, cost=work), instances=[sl.Instance(slots=servers)],
                         service_time=sl.Constant(1.0), timeout=0.1)
    sim = result.requests
    assert np.allclose(sim["end"], records["end"][order])
    timed_out = records["end"][order] - times > 0.1
    assert np.array_equal(sim["status"] == sl.result.Status.TIMEOUT, timed_out)
    assert timed_out.any() and not timed_out.all()  # the check compares something


def test_resends_follow_only_timeouts_and_keep_their_schedule():
    times = arrivals(rate=110.0, duration=60.0)
    records = scenarios.retry_storm(times, 0.02, servers=2, timeout=0.5, retries=2,
                                    backoff=0.1, seed=2)
    assert records["attempt"].max() == 2  # the scenario does resend
    for request in np.unique(records["request"])[:: 7]:
        mine = records[records["request"] == request]
        mine = mine[np.argsort(mine["attempt"])]
        assert list(mine["attempt"]) == list(range(len(mine)))
        assert mine["arrival"][0] == times[request]
        for k in range(1, len(mine)):
            previous = mine[k - 1]
            assert previous["end"] - previous["arrival"] > 0.5
            assert mine["arrival"][k] == pytest.approx(previous["arrival"] + 0.5 + 0.1 * 2**(k - 1))
        if len(mine) < 3:  # stopped early: the last attempt got its answer in time
            assert mine["end"][-1] - mine["arrival"][-1] <= 0.5
    assert set(np.unique(records["request"])) == set(range(len(times)))


def test_workers_never_serve_more_than_they_have():
    times = arrivals(rate=150.0, duration=30.0)
    records = scenarios.retry_storm(times, 0.02, servers=2, timeout=0.3, retries=3, seed=3)
    events = np.concatenate([np.stack([records["start"], np.ones(len(records))], 1),
                             np.stack([records["end"], -np.ones(len(records))], 1)])
    events = events[np.lexsort((events[:, 1], events[:, 0]))]  # ends before starts at a tie
    assert np.cumsum(events[:, 1]).max() <= 2
    assert np.all(records["start"] >= records["arrival"])
    assert np.allclose(records["end"] - records["start"], records["service"])


@pytest.mark.parametrize("base_rate, retries", [(80, 0), (80, 1), (40, 1), (40, 2), (20, 2)])
def test_the_storm_outlives_its_trigger_exactly_when_load_times_sends_exceeds_one(base_rate,
                                                                                   retries):
    stuck = base_rate * 0.02 / 2 * (1 + retries) > 1
    assert scenarios.stuck_load(retries, base_rate=base_rate) == \
        pytest.approx(base_rate * 0.02 / 2 * (1 + retries))
    run = scenarios.storm_timeline(retries, base_rate=base_rate, seed=5)
    last = run["time"] >= run["duration"] - 60
    before = run["time"] < run["spike"][0]
    assert run["goodput"][before].mean() == pytest.approx(base_rate, rel=0.1)
    if stuck:
        assert run["goodput"][last].mean() < 0.05 * base_rate
        assert run["busy"][last].mean() == pytest.approx(run["capacity"], rel=0.05)
    else:
        assert run["goodput"][last].mean() == pytest.approx(base_rate, rel=0.1)


def test_goodput_never_exceeds_the_capacity_nor_the_requests_sent():
    for retries in (0, 1, 3):
        run = scenarios.storm_timeline(retries, seed=2, bin=5.0)
        assert np.all(run["goodput"] <= run["busy"] + 1e-9)
        assert run["goodput"].sum() * 5 <= run["offered"].sum() * 5 + 1e-9  # one answer each
        assert run["busy"].max() <= run["capacity"] * 1.3  # 5 s bins of random work


def test_storm_table_reports_what_the_runs_did():
    rows = scenarios.storm_table(retry_counts=(0, 1), seed=1)
    assert rows[0]["attempts_per_request"] == 1.0
    assert 1 < rows[1]["attempts_per_request"] <= 2
    assert rows[1]["goodput_last"] == 0.0 and rows[0]["goodput_last"] > 70


@pytest.mark.parametrize("kwargs, message", [
    ({"servers": 0}, "servers must be ≥ 1, got 0"),
    ({"timeout": 0}, "timeout must be > 0, got 0"),
    ({"retries": -1}, "retries must be ≥ 0, got -1"),
    ({"backoff": -0.5}, "backoff must be ≥ 0, got -0.5"),
    ({"service_time": -1}, "service_time must be > 0, got -1"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        scenarios.retry_storm([0.0, 1.0], **kwargs)


def test_bad_argument_types_are_named():
    with pytest.raises(TypeError, match="retries must be an integer"):
        scenarios.retry_storm([0.0], retries=1.5)
    with pytest.raises(ValueError, match="arrivals must hold finite times"):
        scenarios.retry_storm([0.0, -1.0])


# -- Lesson 01's USL past its peak -------------------------------------------------------------

def test_usl_past_peak_is_the_closed_form():
    alpha, beta = 0.05, 0.001
    peak = math.sqrt((1 - alpha) / beta)

    def c(n):
        return n / (1 + alpha * (n - 1) + beta * n * (n - 1))

    rows = scenarios.usl_past_peak(alpha, beta, multiples=(1, 2, 4))
    for row, m in zip(rows, (1, 2, 4)):
        assert row["n"] == pytest.approx(m * peak)
        assert row["of_peak"] == pytest.approx(c(m * peak) / c(peak))
    assert rows[0]["of_peak"] == 1 and rows[1]["of_peak"] > rows[2]["of_peak"]


# -- the shared store --------------------------------------------------------------------------

def test_store_capacity_is_the_smaller_tier():
    rows = scenarios.store_bottleneck((1, 4, 8), app_time=0.02, store_time=0.005, rate=30)
    assert [r["capacity"] for r in rows] == [50, 200, 200]
    assert [r["limit"] for r in rows] == ["instances", "store", "store"]
    assert rows[0]["store"] == pytest.approx(0.005 / (1 - 30 * 0.005))


def test_store_theory_matches_a_two_tier_simulation():
    rate, n = 150.0, 6
    (row,) = scenarios.store_bottleneck((n,), app_time=0.02, store_time=0.005, rate=rate)
    wl = sl.workloads.poisson(rate=rate, duration=2000, seed=3)
    app = sl.simulate(wl, instances=n, service_time=0.02,
                      balancer=sl.balancers.Random(seed=4), seed=5).requests
    done = np.sort(app["end"])
    store = sl.simulate(Workload(done, float(done[-1])), instances=1, service_time=0.005,
                        seed=6).requests
    measured = (app["end"] - app["arrival"]).mean() + (store["end"] - store["arrival"]).mean()
    assert measured == pytest.approx(row["mean"], rel=0.06)


# -- the soak test and the scale-in rehearsal --------------------------------------------------

def test_without_a_leak_the_leaky_target_is_the_plain_api():
    shape = loadtest.soak(60, 300, windows=3)
    plain = loadtest.run(shape, loadtest.Simulated(instances=2, service_time=0.02), seed=2)
    leaky = loadtest.run(shape, scenarios.LeakyTarget(0.0, instances=2, service_time=0.02),
                         seed=2)
    assert plain.rows == leaky.rows


def test_leak_break_is_where_the_closed_form_meets_the_slo():
    minutes = scenarios.leak_break_minutes(60, 2, 0.02, 0.25, 0.005)
    multiplier = 1 + 0.005 * minutes
    assert rr_breaking_rate(2, 0.02 * multiplier, 0.25) == pytest.approx(60, rel=1e-6)


def test_the_soak_breaks_late_and_near_theory():
    soak = scenarios.leaky_soak(seed=1)
    report = soak["report"]
    broken = report.rows[report.broken_stage]
    assert broken["start"] >= 1800  # the first half hour passes
    assert broken["start"] - 600 <= soak["theory_break"] <= broken["end"]
    p95 = [row["p95"] for row in report.rows]
    assert p95[-1] > 3 * p95[0]


def test_eager_scale_in_saves_instances_and_breaks_the_return():
    rows = scenarios.scale_in_rehearsal(stabilizations=(300.0, 0.0), seed=1)["rows"]
    patient, eager = rows
    assert patient["verdict"].startswith("No breaking point") and patient["p95_after"] < 10
    assert eager["p95_after"] > 10 and eager["instance_hours"] < patient["instance_hours"]


@settings(max_examples=60, deadline=None)
@given(gaps=st.lists(st.floats(0.0, 0.05), min_size=1, max_size=60),
       servers=st.integers(1, 3), timeout=st.floats(0.01, 0.2), retries=st.integers(0, 3),
       backoff=st.floats(0.0, 0.1), seed=st.integers(0, 2**16))
def test_any_run_is_first_come_first_served_and_conserves_requests(gaps, servers, timeout,
                                                                    retries, backoff, seed):
    times = np.cumsum(gaps)
    records = scenarios.retry_storm(times, 0.02, servers, timeout, retries, backoff, seed)
    order = np.lexsort((records["attempt"], records["request"], records["arrival"]))
    assert np.all(np.diff(records["start"][order]) >= -1e-12)  # served in arrival order
    counts = np.bincount(records["request"], minlength=len(times))
    assert np.all((counts >= 1) & (counts <= 1 + retries))
    answered = records["end"] - records["arrival"] <= timeout
    assert np.bincount(records["request"][answered], minlength=len(times)).max() <= 1
    resent = counts > 1  # a request is resent only while no answer came in time
    first = records[records["attempt"] == 0]
    first = first[np.argsort(first["request"])]
    assert not np.any(resent & (first["end"] - first["arrival"] <= timeout))

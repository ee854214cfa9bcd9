"""The capstone: the design object, its scenarios, the scorecard and the held-out grading.

Oracles: the forecast's shape from its formula (mean of a cosine cycle), the cost of a fixed
cluster from the price list (instances × price × 24 h), and behaviour that lessons 01–05
establish (a lone instance is a single point of failure, round robin over in-memory sessions
loses (N − 1)/N of follow-up pages, a fixed cluster cannot follow a spike larger than it).
"""

from __future__ import annotations

import numpy as np
import pytest

import scalelab as sl
from scalelab import capstone
from scalelab import capstone_scenarios as cs

REFERENCE = capstone.Design(
    size=2, min_instances=4, max_instances=12, balancer=sl.balancers.PeakEWMA(),
    health_check=sl.HealthCheck(interval=2, unhealthy_threshold=2), retries=1,
    sessions=sl.sessions.ReplicatedStore(latency=0.002, failover=5),
    autoscaler=sl.autoscalers.TargetTracking(target=0.5, scale_out_duration=60))
POLICY_NAMES = ("PeakEWMA", "LeastConnections", "ReplicatedStore", "TargetTracking", "HPA",
                "PowerOfTwo", "min_instances=")


class Scheduled(sl.autoscalers.Autoscaler):
    """Over-fitted: scales out exactly around the practice spikes, and nowhere else."""

    def __init__(self, windows, high):
        self.windows, self.high = windows, high

    def desired(self, observation):
        inside = any(a <= observation.time < b for a, b in self.windows)
        return self.high if inside else observation.min_instances


def _by_family(report):
    return {card.scenario.family: card for card in report.cards}


def test_the_forecast_averages_its_mean_rate_and_peaks_at_the_stated_multiple():
    t = np.linspace(0, cs.DAY, 100_001)[:-1]
    assert cs.request_rate(t, spike_at=None).mean() == pytest.approx(cs.MEAN_RATE, rel=1e-6)
    top = cs.FORECAST_SPIKE_AT + 120
    assert cs.request_rate(top) == pytest.approx(cs.FORECAST_SPIKE_FACTOR * cs.NORMAL_PEAK)


def test_the_forecast_day_brings_the_requests_its_rate_promises():
    t = np.linspace(0, cs.DAY, 360_001)
    expected = np.trapezoid(cs.request_rate(t), t) if hasattr(np, "trapezoid") else \
        np.trapz(cs.request_rate(t), t)
    count = len(cs.workload(cs.PRACTICE[0]))
    # users near the end of the day lose their last pages: a little under the integral
    assert expected * 0.97 < count < expected + 4 * np.sqrt(expected)


def test_a_storm_moves_the_outage_requests_to_just_after_it():
    storm = cs.PRACTICE[-1]
    day = cs.workload(cs.Scenario("forecast", "same day", seed=storm.seed))
    stormy = cs.workload(storm)
    start, end = storm.at, storm.at + storm.length
    lost = np.count_nonzero((day.arrivals >= start) & (day.arrivals < end))
    assert np.count_nonzero((stormy.arrivals >= start) & (stormy.arrivals < end)) == 0
    assert len(stormy) == len(day) + (cs.RETRY_COPIES - 1) * lost


def test_a_fixed_cluster_costs_its_instances_at_list_price_all_day():
    design = capstone.Design(size=4, min_instances=3, max_instances=3,
                             sessions=sl.sessions.SharedStore())
    card = capstone.score(design, cs.PRACTICE[0])
    assert card.cost == pytest.approx(3 * 0.40 * 24 + 1 * 0.10 * 24)


@pytest.mark.parametrize("kwargs, message", [
    ({"size": 3}, "size must be a size on lesson 01's price list (1, 2, 4, 8, 16, 32, 64), "
                  "got 3"),
    ({"min_instances": 0}, "min_instances must be ≥ 1, got 0"),
    ({"min_instances": 4, "max_instances": 2}, "max_instances must be ≥ 4, got 2"),
    ({"max_instances": 99}, "max_instances must be ≤ 40"),
    ({"balancer": "round robin"}, "balancer must be a balancer"),
    ({"sessions": "redis"}, "sessions must be"),
    ({"autoscaler": 3}, "autoscaler must be an autoscaler"),
    ({"retries": -1}, "retries must be ≥ 0, got -1"),
    ({"timeout": 0}, "timeout must be > 0"),
    ({"health_check": 2}, "health_check must be sl.HealthCheck"),
])
def test_a_bad_design_names_the_parameter_the_value_and_what_is_allowed(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        capstone.Design(**kwargs)


def test_the_reference_passes_every_held_out_scenario_within_budget():
    report = capstone.grade(REFERENCE, seed=2027)
    assert report.passed, str(report)
    assert all(card.cost <= capstone.BUDGET_PER_DAY for card in report.cards)
    assert {card.scenario.family for card in report.cards} == set(cs.FAMILIES)


def test_one_big_instance_fails_the_crash_and_names_the_single_point_of_failure():
    big = capstone.Design(size=16, min_instances=1, max_instances=1)
    report = capstone.evaluate(big, [s for s in cs.PRACTICE if s.family in ("forecast", "crash")])
    cards = _by_family(report)
    assert cards["forecast"].passed  # big enough for the spike …
    assert not cards["crash"].passed  # … and nothing left when it dies
    assert "single point of failure" in cards["crash"].verdict
    assert "lesson 01" in cards["crash"].verdict


def test_in_memory_sessions_behind_round_robin_lose_sessions_and_say_so():
    naive = capstone.Design(size=2, min_instances=3, max_instances=3)
    card = capstone.score(naive, cs.PRACTICE[0])
    assert not card.passed
    # lesson 04: with 3 instances, about 2/3 of the pages after the login land elsewhere
    follow_ups = card.requests * (cs.REQUESTS_PER_USER - 1) / cs.REQUESTS_PER_USER
    assert card.lost_sessions == pytest.approx(follow_ups * 2 / 3, rel=0.05)
    assert "session" in card.verdict and "lesson 04" in card.verdict
    assert not any(name in card.verdict for name in POLICY_NAMES)


def test_without_an_autoscaler_a_larger_spike_is_late_and_the_verdict_says_why():
    fixed = capstone.Design(size=2, min_instances=2, max_instances=2,
                            balancer=sl.balancers.LeastConnections(),
                            sessions=sl.sessions.SharedStore(latency=0.002))
    card = capstone.score(fixed, cs.PRACTICE[1])  # ×6 the normal peak, on 4 cores
    assert not card.slo_met
    assert "nothing adds more" in card.verdict and "lesson 05" in card.verdict


def test_a_store_without_a_replica_fails_its_outage_and_one_with_a_replica_does_not():
    store = next(s for s in cs.PRACTICE if s.family == "store")
    single = capstone.score(REFERENCE.__class__(**{**REFERENCE.__dict__,
                                                   "sessions": sl.sessions.SharedStore(0.002)}),
                            store)
    assert not single.passed and "store outage" in single.verdict
    assert capstone.score(REFERENCE, store).passed


def test_a_design_tuned_to_the_practice_minutes_passes_practice_and_fails_held_out():
    windows = [(s.spike_at - 60, s.spike_end) for s in cs.PRACTICE
               if s.family in ("forecast", "early spike")]
    overfit = capstone.Design(**{**REFERENCE.__dict__, "min_instances": 2,
                                 "max_instances": 8, "autoscaler": Scheduled(windows, 6)})
    assert capstone.evaluate(overfit).passed
    held = capstone.grade(overfit, seed=2027)
    assert not held.passed
    assert any("spike" in card.verdict for card in held.cards if not card.passed)


def test_held_out_sets_repeat_for_a_seed_and_differ_from_practice():
    assert cs.held_out(5) == cs.held_out(5)
    assert cs.held_out(5) != cs.held_out(6)
    practice = {(s.spike_at, s.at, s.length) for s in cs.PRACTICE}
    assert not practice & {(s.spike_at, s.at, s.length) for s in cs.held_out(5)}


def test_a_replicated_store_is_down_only_until_failover():
    store = sl.sessions.ReplicatedStore(failover=5, outages=[(100, 160)])
    assert store.on_request(0, 1, 103)[2] is False
    assert store.on_request(0, 1, 106)[2] is True
    with pytest.raises(ValueError, match="failover must be ≥ 0, got -1"):
        sl.sessions.ReplicatedStore(failover=-1)


def test_the_dashboard_has_four_signals_with_titled_axes():
    card = capstone.score(capstone.Design(), cs.PRACTICE[0])
    report = capstone.Report(capstone.Design(), [card], "one")
    fig = report.dashboard("forecast")
    assert fig.layout.title.text.startswith("Golden signals")
    titled = [a for a in ("yaxis", "yaxis2", "yaxis3", "yaxis4", "yaxis5")
              if fig.layout[a].title.text]
    assert len(titled) == 5


def test_the_worst_moment_holds_the_most_budget_spent_of_any_window():
    """Oracle: a brute-force count of the bad requests in every whole-second window."""
    report = capstone.evaluate(capstone.Design(), [cs.PRACTICE[0], cs.PRACTICE[3]])
    moment = report.worst_moment("zone", length=10)
    card = _by_family(report)["zone"]
    arrivals = card.result.requests["arrival"]
    bad = arrivals[capstone.bad_requests(card.result)]
    best = max(int(((bad >= s) & (bad < s + 10)).sum()) for s in range(int(arrivals.max()) + 1))
    assert (moment.scenario, moment.end - moment.start, moment.bad) == (
        card.scenario.name, 10, best)
    inside = (arrivals >= moment.start) & (arrivals < moment.end)
    assert moment.requests == int(inside.sum()) >= moment.bad
    assert report.worst_moment().scenario == report.worst.scenario.name
    view = sl.widgets.flow(moment.result, start=moment.start, end=moment.end)
    assert view.payload["t0"] == moment.start and view.payload["count"] >= moment.requests


def test_the_worst_moment_of_a_flawless_run_is_its_slowest_request():
    """Nothing counts against the budget (light load, every answer far within the SLO), so the
    moment is the whole second in which the slowest request arrived."""
    result = sl.simulate(sl.workloads.poisson(2, 120, seed=1), instances=2, service_time=0.01,
                         seed=1)
    card = capstone.Scorecard(cs.PRACTICE[0], len(result.requests), 0, 0, 0.0, [], result)
    moment = capstone.Report(capstone.Design(), [card], "one").worst_moment(length=5)
    r = result.requests
    slowest = r["arrival"][np.argmax(r["end"] - r["arrival"])]
    assert (moment.bad, moment.start, moment.end) == (0, np.floor(slowest), np.floor(slowest) + 5)
    with pytest.raises(ValueError, match="length must be > 0, got -1"):
        capstone.Report(capstone.Design(), [card], "one").worst_moment(length=-1)

"""Lesson 00 (one server is a queue): variability, Little's law and the averaged utilization,
against theory and hand-counted oracles; its figures' axes."""

import math

import numpy as np
import pytest

import scalelab as sl
from scalelab import plots, scenarios

# -- Kingman: constant work waits half as long ------------------------------------------------


@pytest.fixture(scope="module")
def variability():
    return scenarios.work_variability(service_time=0.04, loads=(0.5, 0.8, 0.9), seed=3)


def test_simulated_waits_match_the_pollaczek_khinchine_means(variability):
    # Poisson arrivals: Wq = (1 + c_s²)/2 · ρ/(1 − ρ) · S exactly, c_s² = 1 (exp.), 0 (constant)
    loads = variability["loads"]
    for kind, scv in zip(variability["kinds"], (1.0, 0.0)):
        oracle = (1 + scv) / 2 * loads / (1 - loads) * 0.04
        assert kind["theory_wait"] == pytest.approx(oracle)
        assert kind["wait"] == pytest.approx(oracle, rel=0.08), kind["name"]


def test_constant_work_waits_about_half_as_long(variability):
    exponential, constant = variability["kinds"]
    assert constant["wait"] / exponential["wait"] == pytest.approx([0.5] * 3, abs=0.05)
    assert constant["curve_wait"][1:] == pytest.approx(exponential["curve_wait"][1:] / 2)


def test_work_variability_rejects_a_load_at_the_wall():
    with pytest.raises(ValueError, match=r"loads\[1\] must be ≤ 0.99, got 1"):
        scenarios.work_variability(loads=(0.5, 1.0))


# -- Little's law ---------------------------------------------------------------------------


def test_in_system_counts_requests_by_hand():
    # one request every 0.1 s, each 0.05 s of work: inside during the first half of each gap
    result = sl.simulate(sl.workloads.constant(rate=10, duration=1.0), instances=1,
                         service_time=sl.Constant(0.05))
    arrivals = result.requests["arrival"]
    inside = scenarios.in_system(result, arrivals + 0.025)
    outside = scenarios.in_system(result, arrivals + 0.075)
    assert inside.tolist() == [1] * len(arrivals) and outside.tolist() == [0] * len(arrivals)


def test_littles_law_holds_on_a_simulated_run():
    traffic = sl.workloads.poisson(rate=22.5, duration=300, seed=2)
    check = scenarios.littles_law_check(sl.simulate(traffic, service_time=0.04, seed=2))
    assert check["product"] == pytest.approx(check["rate"] * check["mean_response"])
    assert check["in_system"] == pytest.approx(check["product"], rel=0.02)
    assert check["rate"] == pytest.approx(22.5, rel=0.05)


def test_littles_law_check_rejects_a_bad_step():
    result = sl.simulate(sl.workloads.poisson(rate=5, duration=10), service_time=0.04)
    with pytest.raises(ValueError, match="step must be > 0, got 0"):
        scenarios.littles_law_check(result, step=0)


# -- an average hides a burst -----------------------------------------------------------------


def test_an_average_utilization_hides_a_burst():
    spike = scenarios.average_hides_a_spike(base_rate=10, peak_rate=30, at=120, length=20,
                                            duration=300, service_time=0.04, seed=5)
    # offered load: (10 × 280 + 30 × 20) / 300 requests/s × 0.04 s
    assert spike["average_utilization"] == pytest.approx((10 * 280 + 30 * 20) / 300 * 0.04,
                                                         abs=0.05)
    assert spike["busiest_second"] == pytest.approx(1.0)
    # 20 s at 30/s against a capacity of 25/s leaves about 100 requests waiting
    assert spike["most_inside"] >= 80
    assert spike["worst_p95"] > 10 * spike["calm_p95"]


# -- figures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(0.02, 300), (60, 400), (100, 120), (0.5, 0.6),
                                           (25, 15_000), (1, 1e6)])
def test_log_ticks_label_three_or_more_values_around_the_data(low, high):
    ticks = plots.log_ticks(low, high)
    assert len(ticks) >= 3 and ticks == sorted(ticks)
    assert ticks[0] <= low and ticks[-1] >= high
    for tick in ticks:
        mantissa = tick / 10 ** math.floor(math.log10(tick) + 1e-9)
        assert round(mantissa, 6) in (1, 2, 5)


def test_log_ticks_reject_a_range_that_cannot_be_logged():
    with pytest.raises(ValueError, match="low=0"):
        plots.log_ticks(0, 10)


def test_lesson_figures_state_a_takeaway_and_label_the_log_axis(variability):
    runs = {name: sl.simulate(sl.workloads.poisson(rate, 60, seed=1), service_time=0.04)
            for name, rate in (("low", 5), ("high", 20))}
    over_time = plots.latency_over_time(runs, bin=5, title="Busier is slower")
    assert over_time.layout.title.text == "Busier is slower"
    assert over_time.layout.yaxis.type == "log" and len(over_time.layout.yaxis.tickvals) >= 3
    figure = plots.work_variability(variability)
    assert "half as long" in figure.layout.title.text
    assert [t.name for t in figure.data][:2] == ["exponential work (M/M/1): formula",
                                                 "exponential work (M/M/1): simulated"]
    assert np.allclose(figure.data[1].y, variability["kinds"][0]["wait"] * 1000)

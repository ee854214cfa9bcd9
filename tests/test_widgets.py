"""Explorers without a browser: moving a control updates the figure to what the pure compute
function returns for the new setting."""

import numpy as np
import pytest

import scalelab as sl
from scalelab import plots, scenarios


def test_queue_explorer_slider_updates_figure_to_the_computed_point():
    explorer = sl.widgets.queue_explorer(rate=10, service_time_ms=40, seed=0)
    before = np.array(explorer.figure.data[4].y)

    explorer.controls["rate"].value = 22

    point = scenarios.one_server(22, 0.04, seed=0)
    expected = np.array([point["summary"]["mean"], point["summary"]["p95"]]) * plots.MS
    assert np.allclose(explorer.figure.data[4].y, expected)
    assert np.allclose(explorer.figure.data[4].x, [0.88, 0.88])
    assert not np.allclose(before, expected)
    assert "22 requests/s" in explorer.readout.value


def test_queue_explorer_service_time_rescales_the_hockey_stick():
    explorer = sl.widgets.queue_explorer(rate=10, service_time_ms=40)
    explorer.controls["service_time_ms"].value = 20
    theory_curve = np.array(explorer.figure.data[0].y)
    load = np.array(explorer.figure.data[0].x)
    # M/M/1 mean response S/(1-ρ), in ms, with S = 20 ms
    assert np.allclose(theory_curve, 20 / (1 - load))


def test_hockey_stick_points_sit_on_the_mm1_curve_at_any_service_time():
    for service_time in (0.02, 0.065):
        stick = scenarios.hockey_stick(service_time, seed=3)
        calm = stick["loads"] <= 0.7
        expected = service_time / (1 - stick["loads"][calm])  # M/M/1 mean response
        assert np.allclose(stick["mean"][calm], expected, rtol=0.10)


@pytest.mark.parametrize("bad, message", [
    ({"loads": [0.5, 0]}, r"loads\[1\] must be > 0, got 0"),
    ({"loads": [0.5, "x"]}, r"loads\[1\] must be a number, got 'x'"),
    ({"requests": 0}, "requests must be ≥ 1, got 0"),
    ({"requests": 2.5}, "requests must be an integer"),
])
def test_hockey_stick_rejects_bad_loads_and_request_counts(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        scenarios.hockey_stick(0.04, **bad)


def test_queue_explorer_traces_stay_small_enough_to_redraw_fast():
    explorer = sl.widgets.queue_explorer()
    assert max(len(trace.x) for trace in explorer.figure.data) <= 5000


def test_overloaded_point_has_no_theory_steady_state():
    point = scenarios.one_server(30, 0.04)
    assert point["load"] == pytest.approx(1.2)
    assert point["theory_mean"] == float("inf")
    late = point["timeline"]["p50"][-5:]
    early = point["timeline"]["p50"][:5]
    assert np.nanmean(late) > 10 * np.nanmean(early)


def test_one_server_rejects_bad_rate():
    with pytest.raises(ValueError, match="rate must be > 0, got -1"):
        scenarios.one_server(-1, 0.04)


def test_latency_over_time_has_one_line_per_run():
    runs = {name: sl.simulate(sl.workloads.poisson(rate, 60, seed=1), service_time=0.04)
            for name, rate in (("low", 5), ("high", 20))}
    figure = plots.latency_over_time(runs, bin=5)
    assert [trace.name for trace in figure.data] == ["low", "high"]
    assert len(figure.data[0].x) == 12

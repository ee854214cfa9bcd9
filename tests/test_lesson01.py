"""Lesson 01 (a bigger machine or more machines): the numbers behind its figures against the
theory oracles (Erlang C, Amdahl, Gunther's USL, availability arithmetic) and the simulator,
its explorer without a browser, and the lesson in a real browser."""

import math

import numpy as np
import pytest

import scalelab as sl
from scalelab import plots, scenarios, theory

LESSON = "01-vertical-vs-horizontal.ipynb"


# -- the price list and what capacity costs -------------------------------------------------


def test_price_list_is_flat_per_core_in_doubling_sizes_up_to_the_ceiling():
    # as on the clouds' on-demand lists: one price per core at every size of a family
    sizes = [row["size"] for row in scenarios.PRICE_LIST]
    per_core = [row["price_per_hour"] / row["size"] for row in scenarios.PRICE_LIST]
    assert sizes == [2**k for k in range(7)] and scenarios.LARGEST_SIZE == 64
    assert per_core == pytest.approx([0.10] * len(sizes))


def test_price_per_hour_names_the_sizes_on_the_list():
    assert scenarios.price_per_hour(4) == 0.40
    with pytest.raises(ValueError, match=r"size must be one of .*1, 2, 4, 8, 16, 32, 64.*got 3"):
        scenarios.price_per_hour(3)
    with pytest.raises(TypeError, match="size must be an integer"):
        scenarios.price_per_hour(4.0)


def test_cost_curves_scale_up_stops_at_the_ceiling_and_scale_out_does_not():
    curves = scenarios.cost_curves(max_cores=128, out_size=4)
    cores, up, out = curves["cores"], curves["up_cost"], curves["out_cost"]
    assert up[cores == 17][0] == pytest.approx(3.20)          # 17 cores: pay for 32
    assert curves["up_size"][cores == 17][0] == 32
    assert up[cores == 64][0] == pytest.approx(6.40)
    assert np.isnan(up[cores > 64]).all()                      # no machine is big enough
    assert out[cores == 17][0] == pytest.approx(5 * 0.40)      # five 4-core machines
    assert out[-1] == pytest.approx(32 * 0.40) and np.isfinite(out).all()


def test_speedup_curves_match_the_amdahl_and_usl_oracles():
    curves = scenarios.speedup_curves(max_workers=64, alpha=0.05, beta=0.001)
    amdahl = curves["amdahl"][0.95]
    assert amdahl[15] == pytest.approx(9.143, abs=1e-3)       # S(16)
    assert amdahl[63] == pytest.approx(15.42, abs=1e-2)       # S(64)
    usl = curves["usl"]
    assert int(np.argmax(usl)) + 1 == 31
    assert usl[30] == pytest.approx(9.0379, abs=1e-4)
    assert usl[63] == pytest.approx(7.822, abs=1e-3)
    assert curves["usl_peak"] == pytest.approx(30.82, abs=1e-2)


# -- one fast server or several slow ones ---------------------------------------------------


@pytest.fixture(scope="module")
def pooled():
    """4 cores at 80 % with 1 s of work per request: λ = 3.2/s, the oracles' setting."""
    return scenarios.pooling(cores=4, load=0.8, service_time=1.0, requests=400_000, seed=3)


def test_pooling_theory_columns_are_the_oracles(pooled):
    assert pooled["rate"] == pytest.approx(3.2)
    mean = {d["name"]: d["theory_mean"] for d in pooled["designs"]}
    assert mean == pytest.approx({
        "1 core, 4× faster": 1.25,              # M/M/1 with μ = 4
        "1 machine, 4 cores": 1.7455,           # M/M/4
        "4 machines, round robin": 3.2674,      # E4/M/1
        "4 machines, random": 5.0,              # M/M/1 with μ = 1
    }, abs=1e-4)
    fast = pooled["designs"][0]
    assert fast["theory_p99"] == pytest.approx(math.log(100) / (4 - 3.2))


@pytest.mark.parametrize("index", range(4))
def test_pooling_simulation_agrees_with_theory(pooled, index):
    design = pooled["designs"][index]
    assert design["mean"] == pytest.approx(design["theory_mean"], rel=0.05), design["name"]
    assert design["p99"] == pytest.approx(design["theory_p99"], rel=0.08), design["name"]


def test_pooling_one_queue_beats_separate_queues(pooled):
    means = [d["mean"] for d in pooled["designs"]]
    assert means == sorted(means)
    assert means[-1] > 2.5 * means[1]


def test_pooling_curves_are_the_closed_forms_at_every_load():
    curves = scenarios.pooling_curves(cores=4, service_time=0.1)
    rates = curves["loads"] * 4 / 0.1
    fast, box, rr, random = curves["designs"]
    assert np.allclose(fast["mean"], theory.mm1(rates, 0.025).mean_response)
    assert np.allclose(box["p99"], theory.mmc(rates, 0.1, 4).response_percentile(0.99))
    assert np.allclose(rr["mean"], theory.round_robin(rates, 0.1, 4).mean_response)
    assert np.allclose(random["mean"], 0.1 / (1 - curves["loads"]))


# -- and then it crashes --------------------------------------------------------------------


@pytest.fixture(scope="module")
def crashed():
    return scenarios.crash(rate=32, service_time=0.1, crash_at=60, recover_at=120, seed=1)


def test_crash_of_the_single_machine_fails_every_request_until_it_is_back(crashed):
    run = crashed["1 machine, 4 cores"]
    requests = run["result"].requests
    arrival, ok = requests["arrival"], requests["status"] == sl.Status.OK
    assert run["marked_down"] == 64 and run["marked_up"] == 122
    assert not ok[(arrival >= 60) & (arrival < 122)].any()
    assert ok[arrival >= 122].all()
    early_failures = requests[(arrival < 60) & ~ok]
    assert len(early_failures) > 0 and np.all(early_failures["end"] == 60)  # held at the crash


def test_crash_without_recovery_fails_every_request_after_it():
    runs = scenarios.crash({"one": [sl.Instance(slots=4)]}, recover_at=None, seed=2)
    requests = runs["one"]["result"].requests
    after = requests["arrival"] >= 60
    assert after.sum() > 3000
    assert np.all(requests["status"][after] != sl.Status.OK)
    assert math.isnan(runs["one"]["marked_up"])


@pytest.mark.parametrize("name, machines", [("4 machines, 1 core each", 4),
                                            ("5 machines, 1 core each", 5)])
def test_crash_of_one_of_n_fails_only_inside_the_detection_window(crashed, name, machines):
    run = crashed[name]
    requests = run["result"].requests
    failed = requests[requests["status"] != sl.Status.OK]
    assert run["marked_down"] == 64                  # probes at 60, 62, 64: third failure
    assert np.all(failed["instance"] == 0)
    assert np.all(failed["arrival"] < run["marked_down"])
    assert np.all((failed["arrival"] >= 60) | (failed["end"] == 60))
    in_window = np.count_nonzero(failed["arrival"] >= 60)
    expected = 32 / machines * 4                     # machine 0's share for 4 s
    assert 0.5 * expected < in_window < 1.6 * expected


def test_without_a_spare_the_survivors_are_overloaded(crashed):
    four, five = crashed["4 machines, 1 core each"], crashed["5 machines, 1 core each"]
    assert four["worst_p95"] > 5 * five["worst_p95"]
    timeline = four["timeline"]
    overloaded = (timeline["time"] >= 70) & (timeline["time"] < 118)
    assert timeline["throughput"][overloaded].mean() == pytest.approx(30, rel=0.05)  # 3 cores


# -- availability ---------------------------------------------------------------------------


def test_availability_table_matches_the_oracles():
    rows = {row["setup"]: row for row in scenarios.availability_table(0.99, 0.999)}
    value = {name: row["availability"] for name, row in rows.items()}
    assert value["1 machine (however big)"] == pytest.approx(0.99)
    assert value["2 machines, either one enough"] == pytest.approx(0.9999)
    assert value["3 machines, any one enough"] == pytest.approx(0.999999)
    assert value["1 balancer + 2 machines"] == pytest.approx(0.9989, abs=1e-4)
    assert value["1 balancer + 4 machines, 3 needed"] == pytest.approx(
        0.999 * theory.availability(0.99, n=4, k=3))
    assert rows["1 machine (however big)"]["downtime_minutes"] == pytest.approx(5256)
    assert rows["2 machines, either one enough"]["downtime_minutes"] == pytest.approx(52.56)


# -- the explorer's numbers -----------------------------------------------------------------


def test_correlated_failures_cap_three_nines_per_machine():
    rows = {row["setup"]: row for row in scenarios.correlated_availability(
        machine=0.999, machines=3, zone=0.9995, store=0.999, common_share=0.1)}
    independent = 1 - 0.001**3
    assert rows["3 machines, failing independently"]["availability"] == pytest.approx(
        independent, abs=1e-15)
    assert rows["3 machines, all in one zone"]["availability"] == pytest.approx(
        0.9995 * independent, abs=1e-15)
    assert rows["3 machines, one shared store"]["downtime_minutes"] == pytest.approx(
        (1 - 0.999 * independent) * 525_600)
    # beta-factor: 0.0001 of each machine's time down with all three, 0.0009 on its own
    common = rows["3 machines, 10% of failures hit all at once"]["availability"]
    assert common == pytest.approx(0.9999 * (1 - 0.0009**3), abs=1e-15)
    assert all(row["availability"] < independent for name, row in rows.items()
               if name != "3 machines, failing independently")


def test_correlated_availability_rejects_a_share_above_one():
    with pytest.raises(ValueError, match="common_share must be ≤ 1, got 1.5"):
        scenarios.correlated_availability(common_share=1.5)


def test_size_vs_count_capacity_cost_and_utilization():
    option = scenarios.size_vs_count(size=4, count=4, traffic=100)
    assert option["capacity"] == pytest.approx(160)
    assert option["cost_per_hour"] == pytest.approx(1.60)
    assert option["utilization"] == pytest.approx(0.625)
    assert option["utilization_after_crash"] == pytest.approx(100 / 120)


def test_size_vs_count_latency_is_one_mmc_queue_per_machine():
    option = scenarios.size_vs_count(size=4, count=4, traffic=100)
    assert option["mean"] == pytest.approx(theory.mmc(25, 0.1, 4).mean_response)
    assert option["p99"] == pytest.approx(theory.mmc(25, 0.1, 4).response_percentile(0.99))
    assert option["mean_after_crash"] == pytest.approx(theory.mmc(100 / 3, 0.1, 4).mean_response)
    box = scenarios.size_vs_count(size=4, count=1, traffic=32)
    assert box["mean"] == pytest.approx(0.17455, abs=1e-5)    # M/M/4 at ρ = 0.8, S = 0.1 s
    rates, means = option["curve_rate"], option["curve_mean"]
    assert np.allclose(means, theory.mmc(rates / 4, 0.1, 4).mean_response)
    assert rates[-1] < option["capacity"]


def test_size_vs_count_single_machine_is_an_outage():
    option = scenarios.size_vs_count(size=4, count=1, traffic=32)
    assert option["after_rate"].size == 0 and option["utilization_after_crash"] == math.inf
    time, answered, failed = option["time"], option["answered"], option["failed"]
    out = (time >= 61) & (time < 122)
    assert np.allclose(failed[out], 32) and np.allclose(answered[out], 0)
    assert np.allclose(answered[time >= 122], 32) and np.allclose(failed[time >= 122], 0)
    assert option["failed_total"] == pytest.approx(32 * 62 + option["held_at_crash"])


def test_size_vs_count_without_recovery_fails_to_the_end():
    option = scenarios.size_vs_count(size=4, count=1, traffic=32, recover_at=None)
    assert math.isnan(option["marked_up"])
    assert np.allclose(option["failed"][option["time"] >= 61], 32)
    assert option["failed_total"] == pytest.approx(32 * 120 + option["held_at_crash"])


@pytest.mark.parametrize("name, size, count", [("1 machine, 4 cores", 4, 1),
                                               ("4 machines, 1 core each", 1, 4),
                                               ("5 machines, 1 core each", 1, 5)])
def test_size_vs_count_crash_agrees_with_the_simulator(crashed, name, size, count):
    run = crashed[name]
    option = scenarios.size_vs_count(size=size, count=count, traffic=32)
    assert option["marked_down"] == run["marked_down"]
    assert option["marked_up"] == run["marked_up"]
    assert option["failed_total"] == pytest.approx(run["errors"], rel=0.2)
    simulated = run["timeline"]
    window = (simulated["time"] >= 70) & (simulated["time"] < 118)
    fluid = (option["time"] >= 70) & (option["time"] < 118)
    assert option["answered"][fluid].mean() == pytest.approx(
        simulated["throughput"][window].mean(), rel=0.05, abs=0.5)


def test_size_vs_count_overload_queues_until_the_machine_is_back():
    option = scenarios.size_vs_count(size=1, count=4, traffic=32)
    # 3 survivors gain 32/3 − 10 requests/s each from 64 s to 122 s, and serve 10/s each
    assert option["peak_wait"] == pytest.approx((32 / 3 - 10) * 58 / 10)
    spare = scenarios.size_vs_count(size=1, count=5, traffic=32)
    assert spare["peak_wait"] == 0


def test_size_vs_count_rejects_bad_settings():
    with pytest.raises(ValueError, match="size must be one of"):
        scenarios.size_vs_count(size=3, count=1, traffic=10)
    with pytest.raises(ValueError, match="count must be ≥ 1, got 0"):
        scenarios.size_vs_count(size=4, count=0, traffic=10)
    with pytest.raises(ValueError, match="recover_at must be > 60, got 50"):
        scenarios.size_vs_count(size=4, count=2, traffic=10, recover_at=50)


# -- figures and the explorer ---------------------------------------------------------------


def test_every_figure_stays_under_5000_points_per_trace(crashed):
    figures = [
        plots.cost_curves(scenarios.cost_curves(max_cores=128)),
        plots.speedup(scenarios.speedup_curves()),
        plots.pooling(scenarios.pooling_curves(), scenarios.pooling(requests=2_000)),
        plots.crash_timelines(crashed, crash_at=60),
        plots.size_vs_count(scenarios.size_vs_count(64, 16, 1000)),
        sl.widgets.scaling_explorer().figure,
    ]
    for figure in figures:
        assert len(figure.data) > 0
        assert max(len(trace.x) for trace in figure.data) <= 5000
        assert figure.layout.title.text, "every figure states its takeaway in its title"
        for axis in [a for name, a in figure.layout.to_plotly_json().items()
                     if name.startswith(("xaxis", "yaxis"))]:
            assert axis.get("title", {}).get("text"), f"an axis without a title: {axis}"
            if axis.get("type") == "log":
                assert len(axis["tickvals"]) >= 3 and len(axis["ticktext"]) >= 3


def _assert_figure_shows(figure, option):
    for k, (trace, data) in enumerate(zip(figure.data, plots.size_vs_count_traces(option))):
        assert np.allclose(np.asarray(trace.x, dtype=float), data["x"]), f"trace {k} x"
        assert np.allclose(np.asarray(trace.y, dtype=float), data["y"]), f"trace {k} y"


def test_scaling_explorer_size_dropdown_redraws_with_the_computed_option():
    explorer = sl.widgets.scaling_explorer(size=4, count=1, traffic=32)
    assert list(explorer.controls) == ["size", "count", "traffic"]
    before = np.array(explorer.figure.data[4].y)
    explorer.controls["size"].value = 8
    option = scenarios.size_vs_count(8, 1, 32)
    _assert_figure_shows(explorer.figure, option)
    assert not np.allclose(before, explorer.figure.data[4].y)
    assert explorer.figure.data[1].name == "1–16 machines of 8 cores"
    assert "1 machine of 8 cores: 80 requests/s at most, $0.80 per hour" in explorer.readout.value


def test_scaling_explorer_count_and_traffic_sliders_redraw():
    explorer = sl.widgets.scaling_explorer(size=4, count=1, traffic=32)
    explorer.controls["size"].value = 1
    explorer.controls["count"].value = 4
    _assert_figure_shows(explorer.figure, scenarios.size_vs_count(1, 4, 32))
    assert "overloaded" in explorer.readout.value
    explorer.controls["traffic"].value = 700
    option = scenarios.size_vs_count(1, 4, 700)
    _assert_figure_shows(explorer.figure, option)
    assert list(explorer.figure.layout.xaxis2.range) == pytest.approx([0, 1.15 * 700])
    assert "not enough capacity" in explorer.readout.value
    assert "No single machine on the price list can carry this traffic" in explorer.readout.value


def test_scaling_explorer_readout_for_a_spare_and_for_an_outage():
    explorer = sl.widgets.scaling_explorer(size=1, count=5, traffic=32)
    assert "the other 4 are then 80% busy" in explorer.readout.value
    explorer.controls["count"].value = 1
    explorer.controls["size"].value = 64
    assert "every request fails until it is back" in explorer.readout.value


# -- the lesson in a browser ----------------------------------------------------------------

EXPLORER_DATA = """
() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const data = plot.data || [];
    const mine = data.find(t => t.name === 'your choice');
    const mean = data.find(t => t.name === 'mean, all machines up');
    if (mine && mean) return {x: Array.from(mine.x), y: Array.from(mine.y),
                              mean: Array.from(mean.y)};
  }
  return null;
}
"""


@pytest.mark.browser
def test_size_dropdown_redraws_the_explorer_with_what_the_kernel_computed(page, jupyter_server):
    from browser import error_outputs, run_and_reveal
    from playwright.sync_api import expect

    dropdown = run_and_reveal(page, jupyter_server, LESSON,
                              page.locator(".jp-OutputArea .widget-dropdown select").first)
    page.wait_for_function(EXPLORER_DATA, timeout=90_000)
    before = page.evaluate(EXPLORER_DATA)

    dropdown.select_option(label="8 cores · $0.80/h")

    option = scenarios.size_vs_count(8, 1, 32)
    traces = plots.size_vs_count_traces(option)
    want = {"x": traces[3]["x"].tolist(), "y": traces[3]["y"].tolist(),
            "mean": traces[4]["y"].tolist()}
    page.wait_for_function(
        """([script, want]) => {
            const got = eval(script)();
            const close = (a, b) => a.length === b.length
                && a.every((v, i) => Math.abs(v - b[i]) < 1e-6 * Math.max(1, Math.abs(b[i])));
            return got && close(got.x, want.x) && close(got.y, want.y)
                && close(got.mean, want.mean);
        }""",
        arg=[EXPLORER_DATA, want], timeout=30_000)
    assert before["x"] != want["x"]
    expect(page.get_by_text("1 machine of 8 cores: 80 requests/s at most")).to_be_visible()
    assert error_outputs(page) == []

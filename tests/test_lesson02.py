"""Lesson 02 (load balancers): the numbers behind its figures against queueing theory (M/M/1,
M/M/c, the supermarket model of Mitzenmacher 2001) and reference behaviour (NGINX's smooth
weighted round robin, consistent hashing's 1/N moves), its explorer without a browser, its
exercises, and the lesson in a real browser."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from cells import (
    assert_reference_passes,
    assert_stub_not_attempted,
    assert_wrong_answer_explained,
    run_cell,
)

import scalelab as sl
from scalelab import plots, scenarios, theory
from scalelab.exercises import lesson02 as ex

LESSON = "02-load-balancers.ipynb"


# -- the policies on the same traffic -------------------------------------------------------


def test_lesson02_policies_are_fresh_built_ins_and_weights_follow_the_speeds():
    first, second = scenarios.lesson02_policies([1, 2]), scenarios.lesson02_policies([1, 2])
    assert list(first) == list(scenarios.EXPLORER_POLICIES) == [
        "round robin", "weighted round robin", "random", "least connections",
        "power of two choices", "peak EWMA"]
    assert all(first[name] is not second[name] for name in first)
    assert isinstance(first["least connections"], sl.balancers.LeastConnections)
    assert first["weighted round robin"].weights == [1, 2]


@pytest.fixture(scope="module")
def equal():
    """Four equal instances at ρ = 0.8 (the oracles' setting; 100 ms of work per request)."""
    return scenarios.policy_race(speeds=(1, 1, 1, 1), load=0.8, requests=60_000, seed=5)


def test_policy_race_rate_capacity_and_round_robins_exact_shares(equal):
    assert equal["capacity"] == pytest.approx(40.0)          # 4 instances × 1 / 0.1 s
    assert equal["rate"] == pytest.approx(32.0)
    assert np.allclose(equal["capacity_share"], 0.25)
    counts = np.round(equal["policies"]["round robin"]["share"] * equal["requests"])
    assert counts.max() - counts.min() <= 1                  # k of k·N each, ±1 for the rest


def test_policy_race_orders_the_policies_as_queueing_theory_does(equal):
    mean = {name: run["summary"]["mean"] for name, run in equal["policies"].items()}
    # algorithms.md §5, 4 servers at ρ = 0.8: JSQ < P2C < RR < random
    assert mean["least connections"] < mean["power of two choices"] < mean["round robin"] \
        < mean["random"]
    # equal weights: the same picks (the simulator runs them two ways, hence approx)
    assert np.array_equal(equal["policies"]["weighted round robin"]["share"],
                          equal["policies"]["round robin"]["share"])
    assert mean["weighted round robin"] == pytest.approx(mean["round robin"], rel=1e-9)


def test_policy_race_round_robin_and_random_match_their_closed_forms():
    race = scenarios.policy_race(
        speeds=(1, 1, 1, 1), load=0.8, requests=400_000, seed=7,
        policies={"round robin": sl.balancers.RoundRobin(), "random": sl.balancers.Random()})
    mean = {name: run["summary"]["mean"] for name, run in race["policies"].items()}
    assert mean["round robin"] == pytest.approx(0.32674, rel=0.05)   # E4/M/1: 3.2674 × 0.1 s
    assert mean["random"] == pytest.approx(0.5, rel=0.06)            # M/M/1: 5 × 0.1 s


def test_unequal_servers_round_robin_overloads_the_slow_one_least_connections_does_not():
    race = scenarios.policy_race(speeds=(1, 1, 1, 0.5), load=0.7, requests=20_000, seed=1)
    runs = race["policies"]
    slow_share = race["capacity_share"][3]
    assert slow_share == pytest.approx(0.5 / 3.5)
    rr = runs["round robin"]["share"][3]
    assert rr == pytest.approx(0.25, abs=1e-3)
    assert race["rate"] * rr * 0.1 / 0.5 > 1                  # the slow one is overloaded
    assert runs["weighted round robin"]["share"][3] == pytest.approx(slow_share, abs=1e-3)
    for name in ("least connections", "power of two choices", "peak EWMA"):
        assert runs[name]["share"][3] < 0.2, name             # they find out by themselves
        assert runs[name]["summary"]["p99"] < runs["round robin"]["summary"]["p99"] / 20, name


def test_heavy_tailed_requests_hurt_round_robin_but_not_least_connections():
    race = scenarios.policy_race(speeds=(1, 1, 1, 1), load=0.7, sigma=1.5, requests=20_000,
                                 seed=1)
    p99 = {name: run["summary"]["p99"] for name, run in race["policies"].items()}
    assert p99["least connections"] < p99["power of two choices"] < p99["round robin"]
    assert p99["least connections"] < p99["round robin"] / 2
    assert p99["weighted round robin"] == pytest.approx(p99["round robin"], rel=1e-9)


def test_policy_race_rejects_bad_settings():
    with pytest.raises(ValueError, match="speed must be > 0"):
        scenarios.policy_race(speeds=(1, 0))
    with pytest.raises(ValueError, match="requests must be ≥ 100"):
        scenarios.policy_race(requests=10)


# -- power of two choices -------------------------------------------------------------------


@pytest.fixture(scope="module")
def dispatch():
    return scenarios.dispatch_curves(instances=10, loads=(0.8, 0.9), requests=60_000, seed=2,
                                     points=14)


def test_dispatch_curves_theory_is_the_oracles(dispatch):
    load = dispatch["curve_load"]
    assert np.allclose(load[1] - load[0], 0.05)
    at = {round(float(x), 2): k for k, x in enumerate(load)}
    curves = dispatch["theory"]
    assert np.allclose(curves["random"], 1 / (1 - load))                     # M/M/1
    assert curves["power of two choices"][at[0.8]] == pytest.approx(1.9474, abs=1e-4)
    assert curves["power of two choices"][at[0.9]] == pytest.approx(2.6141, abs=1e-4)
    assert curves["one shared queue"][at[0.8]] == pytest.approx(1.2046, abs=1e-4)  # M/M/10
    assert curves["one shared queue"][at[0.9]] == pytest.approx(1.6687, abs=1e-4)
    assert np.allclose(curves["round robin"],
                       theory.round_robin(load * 10, 1.0, 10).mean_response)


def test_dispatch_simulation_orders_the_policies_and_agrees_with_theory(dispatch):
    sim = dispatch["simulated"]
    for k in range(2):
        assert sim["least connections"][k] < sim["power of two choices"][k] \
            < sim["round robin"][k] < sim["random"][k]
    assert sim["random"][0] == pytest.approx(1 / (1 - 0.8), rel=0.08)   # M/M/1
    assert sim["random"][1] == pytest.approx(1 / (1 - 0.9), rel=0.15)   # noisier at ρ = 0.9
    # two choices among 10 are a little worse than among infinitely many, never better
    assert sim["power of two choices"][0] == pytest.approx(1.9474, rel=0.15)
    # nothing beats one shared queue (M/M/10)
    assert sim["least connections"][1] >= 1.6687 * 0.97


# -- consistent hashing ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def grown():
    return scenarios.rehash(users=10_000, before=10, after=11, vnodes=100)


def test_rehash_modulo_moves_about_n_over_n_plus_1(grown):
    modulo = grown["schemes"]["hash mod N"]
    assert modulo["moved"] == pytest.approx(10 / 11, abs=0.015)
    assert modulo["to_new"] == pytest.approx(1 / 11, abs=0.02)     # most just shuffle


def test_rehash_ring_moves_about_one_in_n_plus_1_all_to_the_new_instance(grown):
    ring = grown["schemes"]["consistent hash"]
    assert ring["moved"] == pytest.approx(1 / 11, abs=0.03)
    assert ring["to_new"] == 1.0
    assert ring["arrived"][:10].sum() == 0 and ring["stayed"][10] == 0
    for scheme in grown["schemes"].values():
        assert scheme["stayed"].sum() + scheme["arrived"].sum() == 10_000


def test_rehash_removing_an_instance_moves_only_its_users(grown):
    shrunk = scenarios.rehash(users=10_000, before=11, after=10, vnodes=100)
    ring = shrunk["schemes"]["consistent hash"]
    on_the_removed_one = grown["schemes"]["consistent hash"]["arrived"][10]
    assert ring["moved"] * 10_000 == on_the_removed_one
    assert shrunk["schemes"]["hash mod N"]["moved"] == pytest.approx(10 / 11, abs=0.015)


# -- the explorer's numbers -----------------------------------------------------------------


def test_balancer_explorer_shares_speeds_and_baseline():
    run = scenarios.balancer_explorer("least connections", slow_speed=0.5, load=0.6)
    assert run["speeds"].tolist() == [1, 1, 0.5, 0.5]
    assert np.allclose(run["capacity_share"], [1 / 3, 1 / 3, 1 / 6, 1 / 6])
    assert run["share"].sum() == pytest.approx(1)
    assert run["rate"] == pytest.approx(0.6 * 3 / 0.1)
    rr = scenarios.balancer_explorer("round robin", slow_speed=0.5, load=0.6)
    assert np.array_equal(run["baseline_p99"], rr["p99"], equal_nan=True)
    assert np.array_equal(rr["baseline_p99"], rr["p99"], equal_nan=True)
    assert run["settings"]["policy"] == "least connections"
    assert rr["share"].tolist() == pytest.approx([0.25] * 4, abs=0.01)  # round robin: in turn


def test_balancer_explorer_slow_servers_hurt_round_robin_not_least_connections():
    rr = scenarios.balancer_explorer("round robin", slow_speed=0.5, load=0.8)
    lc = scenarios.balancer_explorer("least connections", slow_speed=0.5, load=0.8)
    # round robin sends the slow pair 25 % each for 1/6 of the capacity each: 120 % busy
    assert rr["summary"]["p99"] > 5 * lc["summary"]["p99"]
    assert lc["share"][2] < lc["share"][0]


def test_balancer_explorer_has_no_failures_and_depends_on_the_seed():
    plain = scenarios.balancer_explorer()
    assert plain["summary"]["errors"] == 0
    again = scenarios.balancer_explorer(seed=1)
    assert again["summary"]["requests"] != plain["summary"]["requests"]


def test_balancer_explorer_rejects_bad_settings():
    with pytest.raises(ValueError, match="policy must be one of .*'least connections'.*got 'lc'"):
        scenarios.balancer_explorer("lc")
    with pytest.raises(ValueError, match="slow_speed must be"):
        scenarios.balancer_explorer(slow_speed=0)


# -- figures and the explorer widget --------------------------------------------------------


def test_every_figure_stays_under_5000_points_per_trace(equal, dispatch, grown):
    figures = [
        plots.policy_race(equal),
        plots.dispatch_curves(dispatch),
        plots.rehash(grown),
        plots.balancer_explorer(scenarios.balancer_explorer()),
        sl.widgets.balancer_explorer().figure,
    ]
    for figure in figures:
        assert len(figure.data) > 0
        assert max(len(trace.x) for trace in figure.data) <= 5000


def test_policy_race_figure_has_latency_and_shares_per_policy(equal):
    figure = plots.policy_race(equal)
    assert len(figure.data) == 2 * len(equal["policies"]) + 1
    lc = [t for t in figure.data if t.name == "least connections"]
    assert lc[0].mode == "markers"
    assert np.allclose(lc[0].y, [equal["policies"]["least connections"]["summary"][p] * 1000
                                 for p in ("p50", "p95", "p99")])
    assert np.allclose(lc[1].y, equal["policies"]["least connections"]["share"])


def _assert_explorer_shows(explorer, run):
    for k, (trace, data) in enumerate(zip(explorer.figure.data,
                                          plots.balancer_explorer_traces(run))):
        assert np.array_equal(np.asarray(trace.x), np.asarray(data["x"])), f"trace {k} x"
        assert np.allclose(np.asarray(trace.y, dtype=float), np.asarray(data["y"], dtype=float),
                           equal_nan=True), f"trace {k} y"
    ranges = plots.balancer_explorer_ranges(run)
    assert list(explorer.figure.layout.yaxis2.range) == pytest.approx(ranges["yaxis2"])
    assert explorer.figure.layout.title.text == plots.balancer_explorer_title(run)


def test_balancer_explorer_policy_dropdown_redraws_with_the_computed_run():
    explorer = sl.widgets.balancer_explorer()
    assert list(explorer.controls) == ["policy", "slow_speed", "heavy_tail", "load"]
    _assert_explorer_shows(explorer, scenarios.balancer_explorer())
    before = np.array(explorer.figure.data[2].y)
    explorer.controls["policy"].value = "least connections"
    run = scenarios.balancer_explorer("least connections")
    _assert_explorer_shows(explorer, run)
    assert not np.allclose(before, explorer.figure.data[2].y, equal_nan=True)
    assert explorer.readout.value.startswith("<p style='font-size:110%'>Least connections: ")
    assert "Round robin on the same traffic" in explorer.readout.value


def test_balancer_explorer_sliders_and_toggles_redraw():
    explorer = sl.widgets.balancer_explorer()
    settings = {"policy": "round robin", "slow_speed": 1.0, "heavy_tail": False, "load": 0.7}
    for name, value in [("slow_speed", 0.5), ("heavy_tail", True), ("load", 0.5)]:
        explorer.controls[name].value = value
        settings[name] = value
        run = scenarios.balancer_explorer(**settings)
        _assert_explorer_shows(explorer, run)
    busiest = int(np.argmax(run["share"] / run["capacity_share"]))
    assert f"Instance {busiest} got {run['share'][busiest]:.0%}" in explorer.readout.value


def test_policy_race_latency_is_dots_on_a_labelled_log_axis(equal):
    figure = plots.policy_race(equal)
    assert all(t.type == "scatter" for t in figure.data if t.xaxis in (None, "x"))
    axis = figure.layout.yaxis
    assert axis.type == "log" and len(axis.tickvals) >= 3
    assert "Lowest p99: least connections" in figure.layout.title.text


# -- the exercises --------------------------------------------------------------------------

WRONG = {
    "q1": ["q1_moved = 0.2", "q1_moved = 1", "q1_moved = 0.5"],
    "q2": ['q2_choice = "a"', 'q2_choice = "c"', 'q2_choice = "d"'],
    "q3": [("class FewestInFlight(sl.balancers.Balancer):\n"
            "    def pick(self, instances, request):  # forgets the health checks\n"
            "        return min(instances, key=lambda instance: instance.inflight)"),
           "FewestInFlight = sl.balancers.RoundRobin",
           ("class FewestInFlight(sl.balancers.Balancer):\n"
            "    def pick(self, instances, request):  # the most loaded healthy one\n"
            "        healthy = [i for i in instances if i.healthy]\n"
            "        return max(healthy, key=lambda i: i.inflight) if healthy else None")],
}




def test_lesson02_has_number_choice_and_code_exercises():
    kinds = [e.kind for e in ex.EXERCISES]
    assert len(kinds) >= 3 and "class" in kinds and "number" in kinds and "choice" in kinds
    assert [e.id for e in ex.EXERCISES] == [f"lesson02.q{k}" for k in range(1, len(kinds) + 1)]
    assert ex.NOTEBOOK == LESSON


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=[e.name for e in ex.EXERCISES])
def test_stub_is_not_attempted(exercise):
    assert_stub_not_attempted(exercise)


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=[e.name for e in ex.EXERCISES])
def test_reference_solution_passes(exercise):
    assert_reference_passes(exercise)


@pytest.mark.parametrize("name, source", [(n, s) for n, sources in WRONG.items() for s in sources])
def test_known_wrong_answer_fails_without_giving_the_answer_away(name, source):
    assert_wrong_answer_explained(getattr(ex, name), source)


def test_q3_reports_the_unhealthy_pick_of_a_balancer_that_ignores_health():
    outcome = copy.deepcopy(ex.q3).check(run_cell(WRONG["q3"][0], "FewestInFlight"))
    assert "unhealthy" in outcome.message


# -- the lesson in a browser ----------------------------------------------------------------

EXPLORER_P99 = """
() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const data = plot.data || [];
    if (!data.find(t => t.name === 'p99 of round robin')) continue;
    const p99 = data.find(t => t.name === 'p99');
    if (p99) return Array.from(p99.y);
  }
  return null;
}
"""
def _p99_ms(run) -> list:
    return [None if math.isnan(v) else v for v in plots.balancer_explorer_traces(run)[2]["y"]]


@pytest.mark.browser
def test_policy_dropdown_redraws_the_explorer_with_what_the_kernel_computed(page,
                                                                            jupyter_server):
    from browser import dropdown_redraws

    dropdown_redraws(page, jupyter_server, LESSON, EXPLORER_P99,
                     _p99_ms(scenarios.balancer_explorer()), "least connections",
                     _p99_ms(scenarios.balancer_explorer("least connections")),
                     "Least connections: median")


def test_policy_race_keeps_each_run_for_the_flow_view():
    race = scenarios.policy_race(speeds=(1, 1, 1, 0.5), load=0.7, requests=2_000, seed=1)
    run = race["policies"]["round robin"]
    chosen = run["result"].requests["instance"]
    assert len(chosen) == race["requests"]
    assert np.bincount(chosen, minlength=4) / len(chosen) == pytest.approx(run["share"])

"""Lesson 06 (load testing): the numbers behind its figures against queueing theory and
hand-derived oracles (the load-testing conventions of k6 and wrk2), its explorer without a
browser, its exercises, a short real-lab run through ``scenarios.LabTarget``, and the lesson in
a browser.

Oracles used here, derived by hand:
- capacity of n instances of mean work S is n/S; achieved throughput tracks the offered rate
  below it and plateaus at it, so the 95 % criterion trips at the first step above capacity/0.95;
- an M/M/1 response time is exponential with rate μ − λ: p95 = ln 20 / (μ − λ), so one
  instance meets a p95 SLO up to λ = μ − ln 20 / SLO; round robin over n instances makes each
  an E_n/M/1 queue, exponential with rate μ(1 − σ), σ = (nλ'/(nλ' + μ(1 − σ)))ⁿ;
- M/M/1/K loses 1/(K + 1) of its requests at ρ = 1 and ρᴷ(1 − ρ)/(1 − ρᴷ⁺¹) below;
- a server frozen 1 s in every 10 s delays the open loop's arrivals during each freeze by up
  to 1 s (p99 near 1 s) but catches one closed-loop request per freeze (p99 ≈ the work);
- Little's law for a closed-loop generator: users = rate × (response time + think time).
"""

from __future__ import annotations

import copy
import math
import re
import sys
import time

import numpy as np
import pytest

import scalelab as sl
from scalelab import loadtest, plots, scenarios
from scalelab.exercises import lesson06 as ex
from scalelab.exercises.outcomes import Correct, Error, Incorrect, NotAttempted, Recorded

LESSON = "06-load-testing.ipynb"
LN20 = math.log(20)


def rr_breaking_rate(n: int, work: float, slo: float) -> float:
    """The E_n/M/1 closed form from the module docstring (no code under test)."""
    mu = 1 / work
    sigma = 1 - LN20 / (slo * mu)
    root = sigma ** (1 / n)
    return n * root * mu * (1 - sigma) / (n * (1 - root))


@pytest.fixture(scope="module")
def stairs():
    return {n: scenarios.step_test(n, seed=1) for n in (1, 2, 4)}


# -- capacity, shapes and theory's breaking point ------------------------------------------------

def test_capacity_is_instances_over_work():
    assert scenarios.capacity(2) == pytest.approx(100.0)
    assert scenarios.capacity(3, service_time=1.0) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="instances must be ≥ 1, got 0"):
        scenarios.capacity(0)


def test_step_shape_holds_each_fraction_of_capacity():
    shape = scenarios.step_shape(2, fractions=(0.5, 1.0), step_duration=60)
    assert [(s.start_rate, s.end_rate, s.duration) for s in shape.stages] == \
        [(50.0, 50.0, 60.0), (100.0, 100.0, 60.0)]
    default = scenarios.step_shape(1)
    assert [s.start_rate for s in default.stages] == pytest.approx(
        [50 * 0.1 * k for k in range(2, 13)])  # 20 % … 120 % of 50 requests/s
    assert default.duration == 11 * 300


def test_slo_breaking_rate_matches_the_closed_forms():
    # one instance: M/M/1, λ = μ − ln 20 / SLO = 50 − 11.98
    assert scenarios.slo_breaking_rate(1) == pytest.approx(50 - LN20 / 0.25, rel=1e-6)
    for n in (2, 3, 4, 8):
        assert scenarios.slo_breaking_rate(n) == pytest.approx(rr_breaking_rate(n, 0.02, 0.25),
                                                               rel=1e-6)
    # the photo service: 1 s of work, p95 within 10 s
    assert scenarios.slo_breaking_rate(1, service_time=1.0, slo=10.0) == \
        pytest.approx(1 - LN20 / 10, rel=1e-6)


def test_slo_breaking_rate_is_zero_when_even_an_idle_server_misses():
    # an idle M/M/1 answers 95 % within ln 20 × S = 59.9 ms
    assert scenarios.slo_breaking_rate(1, slo=0.05) == 0.0
    assert scenarios.slo_breaking_rate(1, slo=0.061) > 0.0


class _FakeReport:
    def __init__(self, rows):
        self.rows = rows


def test_broken_at_returns_the_first_broken_stage_or_none():
    rows = [{"offered": 10, "throughput": 10, "p95": 0.1, "error_rate": 0.0},
            {"offered": 20, "throughput": 18, "p95": 0.3, "error_rate": 0.0},
            {"offered": 30, "throughput": 20, "p95": 0.9, "error_rate": 0.2}]
    report = _FakeReport(rows)
    assert scenarios.broken_at(report, loadtest.ThroughputBelow(0.95)) == 20
    assert scenarios.broken_at(report, loadtest.LatencyAbove(0.5)) == 30
    assert scenarios.broken_at(report, loadtest.ErrorsAbove(0.5)) is None


def test_report_columns_are_the_rows_as_arrays(stairs):
    report = stairs[2]["report"]
    columns = scenarios.report_columns(report)
    for key in ("offered", "sent", "throughput", "p95", "instances", "start"):
        assert columns[key].tolist() == [row[key] for row in report.rows]


# -- the stair test --------------------------------------------------------------------------

def test_step_test_is_the_lessons_explicit_stair():
    by_hand = loadtest.run(loadtest.steps([20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120], 300),
                           loadtest.Simulated(instances=2, service_time=0.02), seed=1)
    assert scenarios.step_test(2, seed=1)["report"].rows == by_hand.rows


@pytest.mark.parametrize("n", [1, 2, 4])
def test_throughput_follows_the_offered_rate_then_plateaus_at_capacity(stairs, n):
    run = stairs[n]
    top = n / 0.02
    for row in run["report"].rows:
        if row["offered"] <= 0.9 * top:
            assert row["throughput"] == pytest.approx(row["offered"], rel=0.04)
        if row["offered"] > top:
            assert row["throughput"] == pytest.approx(top, rel=0.02)
    # the 95 % criterion trips at the first step above capacity / 0.95
    first = min(r["offered"] for r in run["report"].rows if r["offered"] > top / 0.95)
    assert run["breaking_throughput"] == pytest.approx(first)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_the_slo_breaks_at_the_first_step_past_theorys_rate(stairs, n):
    run = stairs[n]
    theory_rate = rr_breaking_rate(n, 0.02, 0.25)
    assert run["theory_slo_rate"] == pytest.approx(theory_rate, rel=1e-6)
    steps = sorted(r["offered"] for r in run["report"].rows)
    assert run["breaking_slo"] == pytest.approx(min(s for s in steps if s > theory_rate))


def test_measured_p95_follows_theory_below_the_knee(stairs):
    run = stairs[1]
    for row in run["report"].rows:
        if row["offered"] <= 35:  # ρ ≤ 0.7
            assert row["p95"] == pytest.approx(LN20 / (50 - row["offered"]), rel=0.15)
    # theory's curve is M/M/1's p95 for one instance
    rates = run["curve_rate"]
    assert run["curve_p95"] == pytest.approx(LN20 / (50 - rates), rel=1e-9)
    assert rates.max() < 50


def test_breaking_points_table_for_one_two_four_instances(stairs):
    rows = scenarios.breaking_points((1, 2, 4), seed=1)
    assert [r["capacity"] for r in rows] == [50, 100, 200]
    assert [r["throughput"] for r in rows] == pytest.approx([55, 110, 220])
    assert [r["theory_slo"] for r in rows] == pytest.approx(
        [rr_breaking_rate(n, 0.02, 0.25) for n in (1, 2, 4)])
    # more instances behind round robin can run busier before the SLO breaks
    fractions = [r["theory_slo"] / r["capacity"] for r in rows]
    assert fractions == sorted(fractions) and fractions[0] == pytest.approx(0.76, abs=0.005)


def test_criteria_table_errors_break_where_a_bounded_queue_overflows():
    rows = {r["criterion"]: r["breaking_point"] for r in scenarios.criteria_table(2, 50)}
    # M/M/1/K at ρ = 1 loses 1/(K+1) ≈ 2 % > 1 %; at ρ = 0.9 about 0.9^51 × 0.1 ≈ 0.05 %
    assert rows["errors > 1%"] == 100
    assert rows["achieved throughput < 95% of offered"] == 110
    assert rows["p95 > 250 ms"] == 90


# -- open and closed loop --------------------------------------------------------------------

@pytest.fixture(scope="module")
def stall():
    return scenarios.coordinated_omission(seed=3)


def test_stalled_api_has_the_pause_and_the_healthy_one_does_not():
    frozen = scenarios.stalled_api()
    assert frozen.cluster["failures"] == [sl.Pause(0, at=5.0, length=1.0, every=10.0)]
    assert scenarios.stalled_api(stall=False).cluster["failures"] == []


def test_open_loop_sees_the_freeze_and_the_closed_loop_hides_it(stall):
    table = {(r["mode"], r["stalled"]): r for r in stall["table"]}
    # open loop: a tenth of the arrivals wait up to a second, so the p99 is near a second
    assert 0.8 < table["open", True]["p99"] < 1.3
    assert table["open", False]["p99"] < 0.3
    # closed loop, one user: one slow request per freeze; p99 stays near M/M/1-free work,
    # an exponential of mean 20 ms: p99 = ln(100) × 20 ms = 92 ms
    assert table["closed", False]["p99"] == pytest.approx(math.log(100) * 0.02, rel=0.1)
    assert table["closed", True]["p99"] < 0.15
    assert table["closed", True]["max"] > 1.0
    # the closed loop sends nothing for a tenth of the time
    assert table["closed", True]["requests"] == pytest.approx(
        0.9 * table["closed", False]["requests"], rel=0.03)
    assert table["open", True]["requests"] == table["open", False]["requests"]


def test_closed_loop_offers_about_the_same_rate_when_nothing_freezes(stall):
    closed = next(r for r in stall["table"] if r["mode"] == "closed" and not r["stalled"])
    # Little: 1 user / (20 ms work + 20 ms think) = 25 requests/s
    assert closed["throughput"] == pytest.approx(25, rel=0.03)


def test_coordinated_omission_series_show_the_gap(stall):
    series = stall["series"]
    freeze = int(stall["pauses"][0][0])  # the 1 s bin that holds the first freeze
    assert series["closed"]["sent_per_s"][freeze] <= 1
    assert series["open"]["sent_per_s"][freeze] > 10
    assert stall["pauses"] == [(5.0, 6.0), (15.0, 16.0), (25.0, 26.0)]
    assert (series["open"]["send"] < stall["window"]).all()
    assert len(series["open"]["send"]) == len(series["open"]["latency"])


def test_closed_loop_users_is_littles_law():
    assert scenarios.closed_loop_users(100, 0.5, 4) == pytest.approx(450)
    assert scenarios.closed_loop_users(25, 0.02, 0.02) == pytest.approx(1)
    with pytest.raises(ValueError, match="think_time must be ≥ 0"):
        scenarios.closed_loop_users(1, 1, -1)


# -- the rehearsal ---------------------------------------------------------------------------

def test_rehearsal_shape_and_target():
    shape = scenarios.rehearsal_shape()
    assert shape.duration == 1800 and len(shape.stages) == 12
    assert shape.rate_at([0.0, 1800.0]) == pytest.approx([0.5, 8.0])
    target = scenarios.rehearsal_target(boot_time=90)
    assert target.cluster["boot_time"] == 90 and target.cluster["instances"] == 2
    assert target.cluster["max_instances"] == 12
    assert isinstance(target.cluster["autoscaler"], sl.autoscalers.HPA)


def test_rehearsal_fast_boot_keeps_the_slo_slow_boot_breaks_it():
    quick = scenarios.rehearsal(boot_time=60, seed=1)
    slow = scenarios.rehearsal(boot_time=600, seed=1)
    assert quick.breaking_point is None
    assert all(row["p95"] <= 10 for row in quick.rows)
    # a 10-minute boot: demand grows by more than 2 requests/s per boot, more than the
    # two starting instances' headroom, so it breaks in the first half of the ramp
    assert slow.breaking_point is not None and slow.breaking_point < 4.25
    assert max(r["instances"] for r in quick.rows) > max(r["instances"] for r in slow.rows[:6])


def test_load_series_follows_the_report():
    report = scenarios.rehearsal(boot_time=600, seed=1)
    series = scenarios.load_series(report, bin=60)
    assert len(series["time"]) == 30 and series["duration"] == 1800
    assert series["offered"] == pytest.approx(report.shape.rate_at(series["offered_time"]))
    stage = report.rows[report.broken_stage]
    assert stage["start"] < series["broken_time"] < stage["end"]
    assert series["breaking_point"] == report.breaking_point and series["slo"] == 10.0
    plain = loadtest.run(loadtest.soak(1, 60), loadtest.Simulated(service_time=0.1),
                         criterion=loadtest.ThroughputBelow(0.01))
    unbroken = scenarios.load_series(plain, bin=10)
    assert math.isnan(unbroken["slo"]) and math.isnan(unbroken["broken_time"])


# -- the real lab's pieces ------------------------------------------------------------------

def test_lab_ramp_shape_and_instances_and_twin():
    shape = scenarios.lab_ramp_shape()
    assert shape.duration == 15 and len(shape.stages) == 10
    assert shape.rate_at([0.0, 15.0]) == pytest.approx([10, 140])
    assert [i.slots for i in scenarios.lab_instances(2)] == [1, 1]
    twin = scenarios.lab_twin(2)
    # evenly spaced requests far apart: each takes exactly 20 ms
    result = twin.open_loop(sl.workloads.constant(5, 10), seed=0)
    latency = result.requests["end"] - result.requests["arrival"]
    assert latency == pytest.approx(np.full(len(latency), 0.02))


class _FakeLab:
    def __init__(self):
        self.calls = []

    def load(self, workload=None, **options):
        self.calls.append((workload, options))
        return "result"


def test_lab_target_forwards_to_lab_load():
    lab = _FakeLab()
    target = scenarios.LabTarget(lab, "/work?ms=5")
    wl = sl.workloads.constant(10, 1)
    assert target.open_loop(wl, seed=3) == "result"
    assert target.closed_loop(4, 0.5, 2.0, seed=3) == "result"
    assert lab.calls == [(wl, {"path": "/work?ms=5"}),
                         (None, {"mode": "closed", "users": 4, "think": 0.5, "duration": 2.0,
                                 "path": "/work?ms=5"})]
    assert "/work?ms=5" in repr(target)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the real lab runs on Linux")
def test_a_real_ramp_through_lab_target_answers_every_request():
    shape = scenarios.lab_ramp_shape(start_rate=10, end_rate=30, duration=2, windows=2)
    with sl.lab.Lab(instances=scenarios.lab_instances(2), store="memory", timeout=10) as lab:
        report = loadtest.run(shape, scenarios.LabTarget(lab), seed=1)
    records = report.result.requests
    assert len(records) == len(shape.workload(seed=1))
    assert (records["status"] == 0).all()
    assert set(records["instance"].tolist()) == {0, 1}
    assert len(report.rows) == 2


# -- the explorer's numbers ------------------------------------------------------------------

@pytest.mark.parametrize("kind", scenarios.LOADTEST_EXPLORER_SHAPES)
def test_explorer_shapes_reach_the_peak_within_ten_minutes(kind):
    shape = scenarios.explorer_shape(kind, peak_rate=6)
    assert shape.duration == pytest.approx(600)
    assert max(max(s.start_rate, s.end_rate) for s in shape.stages) == pytest.approx(6)


def test_explorer_shape_names_the_kinds():
    with pytest.raises(ValueError, match="kind must be one of 'ramp', 'steps', 'spike', 'soak'"):
        scenarios.explorer_shape("wave")


def test_explorer_below_and_above_capacity():
    # a soak at 1/s on 4 instances of 1/s: ρ = 0.25, M/M/1-ish p95 well under 10 s
    calm = scenarios.load_test_explorer("soak", peak_rate=1, instances=4)
    assert calm["report"].breaking_point is None and calm["capacity"] == 4
    # a soak at 10/s on one instance of 1/s: overloaded from the first stage
    jam = scenarios.load_test_explorer("soak", peak_rate=10, instances=1)
    assert jam["report"].broken_stage == 0 and jam["breaking_point"] == 10
    assert np.mean(jam["achieved"][5:]) == pytest.approx(1.0, abs=0.1)  # the plateau


def test_explorer_autoscaler_adds_instances_never_below_the_start():
    series = scenarios.load_test_explorer("ramp", peak_rate=6, instances=2, autoscaler=True)
    assert series["most_instances"] > 2
    assert (series["instances"] >= 2 - 1e-9).all()
    fixed = scenarios.load_test_explorer("ramp", peak_rate=6, instances=2)
    assert (fixed["instances"] == 2).all()
    assert fixed["settings"] == {"shape": "ramp", "peak_rate": 6.0, "instances": 2,
                                 "autoscaler": False, "seed": 0}


# -- figures -----------------------------------------------------------------------------------

def _points(figure) -> int:
    return max(len(trace.x) for trace in figure.data if trace.x is not None)


def test_load_test_figure_draws_what_it_was_given(stairs):
    run = stairs[2]
    figure = plots.load_test({"measured": run["columns"]}, theory=run,
                             capacity=run["capacity"], slo=0.25)
    names = [t.name for t in figure.data]
    assert names[:3] == ["achieved = offered", "capacity, 100/s", "SLO, p95 ≤ 250 ms"]
    assert "theory (a queue per instance)" in names
    traces = plots.load_test_traces({"measured": run["columns"]}, theory=run)
    assert traces[1]["y"] == pytest.approx(run["columns"]["p95"] * 1000)
    assert traces[2]["y"] == pytest.approx(run["curve_p95"] * 1000)
    sent = plots.load_test_traces({"m": run["columns"]}, x="sent")
    assert sent[0]["x"].tolist() == run["columns"]["sent"].tolist()


def test_coordinated_omission_figure(stall):
    figure = plots.coordinated_omission(stall)
    assert len(figure.data) == 4
    assert len(figure.layout.shapes) == 2 * len(stall["pauses"])
    step = figure.data[1]
    assert step.x[-1] == pytest.approx(stall["window"])  # the last bin is held to its end


def test_load_over_time_traces_hold_the_instances_to_the_end():
    series = {"a": scenarios.load_series(scenarios.rehearsal(60, seed=1)),
              "b": scenarios.load_series(scenarios.rehearsal(600, seed=1))}
    traces = plots.load_over_time_traces(series)
    assert len(traces) == 2 + 3 * 2
    assert traces[4]["x"][-1] == pytest.approx(30.0)  # minutes
    assert traces[3]["y"].tolist() == pytest.approx(series["a"]["p95"].tolist(), nan_ok=True)
    figure = plots.load_over_time(series, title="Two runs of one shape")
    assert len(figure.data) == len(traces) and figure.layout.title.text == "Two runs of one shape"


def _lesson_figures(stairs, stall):
    dip = scenarios.scale_in_rehearsal(seed=1)
    return [
        plots.load_test({"m": stairs[2]["columns"]}, theory=stairs[2], capacity=100, slo=0.25),
        plots.coordinated_omission(stall),
        plots.load_over_time({f"{w}": scenarios.load_series(r)
                              for w, r in dip["reports"].items()}, title="takeaway"),
        plots.load_test_explorer(scenarios.load_test_explorer()),
        plots.retry_storm({"a": scenarios.storm_timeline(0), "b": scenarios.storm_timeline(1)}),
    ]


def test_every_figure_states_a_takeaway_and_labels_its_axes(stairs, stall):
    for figure in _lesson_figures(stairs, stall):
        assert figure.layout.title.text, "a figure without a takeaway title"
        layout = figure.to_plotly_json()["layout"]
        axes = {k: v for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)}
        assert any(axis.get("title") for n, axis in axes.items() if n.startswith("x"))
        for name, axis in axes.items():
            if name.startswith("y") or axis.get("title"):  # shared x axes: the bottom one
                assert axis.get("title", {}).get("text"), f"{name} has no title"
            if axis.get("type") == "log":
                low, high = (10 ** v for v in axis["range"])
                inside = [t for t in axis["tickvals"] if low * 0.999 <= t <= high * 1.001]
                assert len(inside) >= 3, f"{name}: log ticks {axis['tickvals']}"
                on_it = [t for t in figure.data
                         if t.type == "bar" and (t.yaxis or "y") == name.replace("axis", "")]
                assert not on_it, f"bars on the log axis {name}"


def test_every_figure_stays_under_5000_points_per_trace(stairs, stall):
    figures = [
        plots.load_test({"m": stairs[4]["columns"]}, theory=stairs[4], capacity=200, slo=0.25),
        plots.coordinated_omission(stall),
        plots.load_over_time({"a": scenarios.load_series(scenarios.rehearsal(60))}, title="a"),
        plots.retry_storm({"a": scenarios.storm_timeline(1)}),
        plots.load_test_explorer(scenarios.load_test_explorer("soak", 10, 8, True)),
    ]
    for figure in figures:
        assert _points(figure) <= 5000


# -- the explorer widget -------------------------------------------------------------------------

def _explorer_data(explorer):
    return [(np.array(t.x, dtype=float), np.array(t.y, dtype=float))
            for t in explorer.figure.data]


def _expected(**settings):
    return plots.load_test_explorer_traces(scenarios.load_test_explorer(**settings))


def _same(got, want):
    assert len(got) == len(want)
    for (gx, gy), w in zip(got, want):
        assert gx == pytest.approx(np.asarray(w["x"], dtype=float), nan_ok=True)
        assert gy == pytest.approx(np.asarray(w["y"], dtype=float), nan_ok=True)


def test_explorer_starts_on_the_computed_test():
    explorer = sl.widgets.load_test_explorer()
    _same(_explorer_data(explorer), _expected())
    assert "A ramp up to 6 requests/s on 2 instances" in explorer.readout.value


@pytest.mark.parametrize("control, value, settings", [
    ("peak_rate", 8.5, {"peak_rate": 8.5}),
    ("instances", 5, {"instances": 5}),
    ("shape", "spike", {"shape": "spike"}),
    ("autoscaler", True, {"autoscaler": True}),
])
def test_each_control_redraws_the_figure_to_what_scenarios_computes(control, value, settings):
    explorer = sl.widgets.load_test_explorer()
    before = _explorer_data(explorer)
    explorer.controls[control].value = value
    want = _expected(**settings)
    _same(_explorer_data(explorer), want)
    changed = any(not np.array_equal(b[1], np.asarray(w["y"], dtype=float), equal_nan=True)
                  for b, w in zip(before, want))
    assert changed
    verdict = scenarios.load_test_explorer(**settings)["verdict"]
    assert verdict.replace(">", "&gt;") in explorer.readout.value


def test_explorer_traces_stay_small_and_a_move_is_quick():
    explorer = sl.widgets.load_test_explorer(shape="soak", peak_rate=10, instances=1,
                                             autoscaler=True)
    assert _points(explorer.figure) <= 5000
    began = time.perf_counter()
    explorer.controls["peak_rate"].value = 9.5
    assert time.perf_counter() - began < 2.0  # generous: ~20 ms on an idle machine


# -- the exercises ---------------------------------------------------------------------------

def learner(source: str, name: str):
    namespace = {"sl": sl}
    exec(compile(source, "/tmp/ipykernel_4242/5.py", "exec"), namespace)  # noqa: S102
    return namespace[name]


def fresh(exercise):
    return copy.deepcopy(exercise)


def test_lesson06_has_five_exercises_one_of_them_code():
    assert [e.name for e in ex.EXERCISES] == ["q1", "q2", "q3", "q4", "q5"]
    assert ex.q4.kind == "test design" and ex.q3.kind == "choice"
    assert ex.NOTEBOOK == LESSON


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=[e.id for e in ex.EXERCISES])
def test_stub_is_not_attempted(exercise):
    answer = learner(exercise.stub, exercise.answer)
    for outcome in (fresh(exercise).check(answer), exercise.grade(answer)):
        assert isinstance(outcome, NotAttempted), outcome


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=[e.id for e in ex.EXERCISES])
def test_reference_solution_passes(exercise):
    answer = learner(exercise.solution_code, exercise.answer)
    checked, graded = fresh(exercise).check(answer), exercise.grade(answer)
    assert checked.passed and graded.passed, f"{checked}\n{graded}"
    assert isinstance(checked, (Correct, Recorded))


WRONG = {
    "q1": ["q1_breaking_rate = 135", "q1_breaking_rate = 150", "q1_breaking_rate = 3 * 38.0"],
    "q2": ["q2_users = 400", "q2_users = 50"],
    "q3": ['q3_choice = "a"', 'q3_choice = "d"'],
    "q5": ["q5_load = 1 / 3", "q5_load = 0.75", "q5_load = 1", "q5_load = 25"],
    "q4": [("def warmup_test():\n"
            "    return sl.loadtest.ramp(0.5, 8, duration=1800, windows=12)  # too gentle"),
           ("def warmup_test():\n"
            "    return sl.loadtest.steps([1, 20], 600)  # beyond what 12 instances serve"),
           ("def warmup_test():\n"
            "    return sl.loadtest.steps([1, 5], 600)  # a jump past double: both break")],
}


@pytest.mark.parametrize("name, source", [(n, s) for n, sources in WRONG.items()
                                           for s in sources])
def test_known_wrong_answers_fail_usefully_without_the_answer(name, source):
    exercise = getattr(ex, name)
    outcome = fresh(exercise).check(learner(source, exercise.answer))
    assert isinstance(outcome, Incorrect), outcome
    assert len(outcome.message) > 40
    if name in ("q1", "q2", "q5"):
        for text in re.findall(r"\d+(?:\.\d+)?", outcome.message):
            assert not exercise._close(float(text), exercise.expected), outcome.message
    if name == "q3":
        assert exercise.options["b"] not in outcome.message
    if name == "q4":  # it describes their test, never the reference's
        assert "1→8" not in outcome.message and "900" not in outcome.message


def test_q1_expected_is_theory_and_a_fine_stair_finds_it_within_five_percent():
    assert ex.q1.expected == pytest.approx(scenarios.slo_breaking_rate(3), rel=1e-6)
    stair = loadtest.steps(list(np.arange(100, 150.1, 2.5)), 300)
    report = loadtest.run(stair, loadtest.Simulated(instances=3, service_time=0.02),
                          criterion=loadtest.LatencyAbove(0.25), seed=1)
    assert ex.q1.check(report.breaking_point).passed
    assert "10 % stair" in ex.q1.check(135).message


def test_q2_is_littles_law():
    assert ex.q2.expected == scenarios.closed_loop_users(100, 0.5, 4)
    assert "think time only" in ex.q2.check(400).message


def test_q5_is_the_load_at_which_every_send_still_fits():
    # in the bad state every request costs 1 + 3 sends' work: it drains iff 4 × load < 1
    assert ex.q5.expected == pytest.approx(0.25)
    assert "percentage" in ex.q5.check(25).message
    assert "first one included" in ex.q5.check(1 / 3).message


def test_q4_messages_say_what_the_learners_test_did():
    gentle = fresh(ex.q4).check(lambda: loadtest.ramp(0.5, 8, 1800, windows=12))
    assert "300 s" in gentle.message and "no breaking point" in gentle.message
    assert "ramp 0.5→8/s" in gentle.message
    huge = fresh(ex.q4).check(lambda: loadtest.steps([1, 20], 600))
    assert "60 s" in huge.message and "12 instances" in huge.message
    jump = fresh(ex.q4).check(lambda: loadtest.steps([1, 5], 600))
    assert "faster than even instances that boot in a minute" in jump.message


def test_q4_rejects_what_is_not_a_short_shape():
    none = fresh(ex.q4).check(lambda: None)
    assert "forget `return`" in none.message and none.status == "fail"
    long = fresh(ex.q4).check(lambda: loadtest.soak(1, 7200))
    assert "120 minutes" in long.message and long.status == "fail"
    assert fresh(ex.q4).check(42).status == "fail"


def test_q4_a_crash_in_the_learners_code_is_theirs():
    def warmup_test():
        return int("eight")
    outcome = fresh(ex.q4).check(warmup_test)
    assert isinstance(outcome, Error) and "ValueError" in outcome.details


def test_q4_other_shapes_pass_too():
    assert fresh(ex.q4).check(lambda: loadtest.stages([(300, 1), (600, 8)])).passed


# -- the lesson in a browser -------------------------------------------------------------------

ACHIEVED = """
() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const trace = (plot.data || []).find(t => t.name === 'achieved');
    if (trace) return Array.from(trace.y);
  }
  return null;
}
"""
SAME = """([script, want]) => {
    const got = eval(script)();
    return got && got.length === want.length
        && got.every((v, i) => Math.abs(v - want[i]) < 1e-9 * Math.max(1, Math.abs(want[i])));
}"""


@pytest.mark.browser
def test_peak_slider_redraws_the_explorer_with_what_the_kernel_computed(page, jupyter_server):
    from browser import error_outputs, run_and_reveal
    from playwright.sync_api import expect

    slider = run_and_reveal(page, jupyter_server, LESSON, page.locator(
        ".jp-OutputArea .widget-slider").filter(has_text="peak").first)
    start = scenarios.load_test_explorer()["achieved"].tolist()
    page.wait_for_function(SAME, arg=[ACHIEVED, start], timeout=90_000)

    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")  # 6.0 → 6.5 requests/s
    expect(slider.locator(".widget-readout")).to_have_text("6.5", timeout=30_000)

    series = scenarios.load_test_explorer(peak_rate=6.5)
    page.wait_for_function(SAME, arg=[ACHIEVED, series["achieved"].tolist()], timeout=60_000)
    assert not np.allclose(start, series["achieved"])
    expect(page.get_by_text("A ramp up to 6.5 requests/s on 2 instances")).to_be_visible()
    assert error_outputs(page) == []

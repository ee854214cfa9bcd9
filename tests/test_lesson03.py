"""Lesson 03 · When instances fail: outages, detection windows, retries, and its exercises."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from cells import gives_away, run_cell

import scalelab as sl
from scalelab import plots, scenarios
from scalelab.exercises import lesson03 as ex
from scalelab.exercises.outcomes import Correct, Incorrect, NotAttempted
from scalelab.result import REQUEST_FIELDS, Result, Status

LESSON = "03-when-instances-fail.ipynb"


# -- health checks --------------------------------------------------------------------------


def _hand_made_result() -> Result:
    """4 instances, 10 requests/s for 10 s; instance 0 crashes at 2.0 s, is marked down at 3.5 s.
    Failed: two requests held at the crash (arrived 1.8 and 1.9 s), its share in the window
    (every 4th request from 2.0 to 3.4 s: at 2.0, 2.4, 2.8 and 3.2 s), and none after."""
    records = np.zeros(100, dtype=REQUEST_FIELDS)
    records["arrival"] = np.arange(100) / 10
    records["instance"] = np.arange(100) % 4
    records["end"] = records["arrival"] + 0.05
    failed = [18, 19] + [k for k in range(20, 35) if k % 4 == 0]
    records["status"][failed] = Status.FAILED
    records["retries"][40:43] = 1
    return Result(records, [sl.Instance()] * 4, 10.0,
                  events=[(2.0, 0, "crash"), (3.5, 0, "marked down")])


def test_outage_counts_a_hand_made_crash():
    hit = scenarios.outage(_hand_made_result(), instance=0, bin=1.0)
    assert hit["crash"] == 2.0 and hit["marked_down"] == 3.5 and hit["detection"] == 1.5
    assert hit["errors"] == 6 and hit["in_window"] == 4 and hit["in_flight"] == 2
    assert hit["retries"] == 3
    assert hit["rate"] == pytest.approx(10.0)
    assert hit["expected"] == pytest.approx(10 * 1.5 / 4)
    assert hit["errors_per_s"].tolist() == [0, 2, 3, 1] + [0] * 6
    assert hit["healthy"].tolist() == [4, 4, 4, 4] + [3] * 6


def test_outage_without_a_crash_is_nan():
    records = np.zeros(10, dtype=REQUEST_FIELDS)
    records["arrival"] = np.arange(10.0)
    hit = scenarios.outage(Result(records, [sl.Instance()] * 2, 10.0), instance=0)
    assert math.isnan(hit["crash"]) and math.isnan(hit["detection"]) and hit["errors"] == 0


@pytest.fixture(scope="module")
def crashes():
    check = sl.HealthCheck(interval=2, unhealthy_threshold=3)
    return {
        "rr": scenarios.crash_under_load(sl.balancers.RoundRobin(), health_check=check),
        "rr retry": scenarios.crash_under_load(sl.balancers.RoundRobin(), retries=1,
                                               health_check=check),
        "lc": scenarios.crash_under_load(sl.balancers.LeastConnections(), health_check=check),
    }


@pytest.mark.parametrize("name", ["rr", "rr retry", "lc"])
def test_detection_is_the_third_failed_probe_and_nothing_is_sent_after(crashes, name):
    run = crashes[name]
    assert run["crash"] == 31 and run["marked_down"] == 36     # probes at 32, 34, 36
    requests = run["result"].requests
    assert not np.any((requests["instance"] == 0) & (requests["arrival"] >= 36))
    assert run["healthy"][run["time"] >= 36].tolist() == [3] * int(np.sum(run["time"] >= 36))


def test_errors_in_the_window_are_rate_times_detection_over_n(crashes):
    run = crashes["rr"]
    assert run["expected"] == pytest.approx(run["rate"] * 5 / 4)
    assert 0.6 * run["expected"] <= run["in_window"] <= 1.4 * run["expected"]
    assert run["errors"] == run["in_window"] + run["in_flight"]


def test_one_retry_leaves_no_errors_when_capacity_remains(crashes):
    run = crashes["rr retry"]
    assert run["in_window"] == 0 and run["errors"] == 0
    assert run["retries"] >= 0.6 * crashes["rr"]["expected"]


def test_least_connections_is_a_black_hole_without_passive_ejection(crashes):
    assert crashes["lc"]["in_window"] > 1.3 * crashes["rr"]["in_window"]



# -- figures ---------------------------------------------------------------------------------


def test_outages_figure_shades_the_window(crashes):
    figure = plots.outages({"round robin": crashes["rr"]})
    assert figure.layout.shapes[0].x0 == 31 and figure.layout.shapes[0].x1 == 36
    assert figure.data[0].name == "round robin"


# -- the exercises --------------------------------------------------------------------------

WRONG = {
    "q1": ["q1_seconds = 6", "q1_seconds = 16", "q1_seconds = 4"],
    "q2": ["q2_failed = 900", "q2_failed = 60", "q2_failed = 225", "q2_failed = 1000"],
}


def test_lesson03_exercises_are_numbered_and_belong_to_the_lesson():
    ids = [f"lesson03.q{k}" for k in range(1, len(ex.EXERCISES) + 1)]
    assert [e.id for e in ex.EXERCISES] == ids
    assert ex.NOTEBOOK == LESSON


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=[e.name for e in ex.EXERCISES])
def test_stub_is_not_attempted(exercise):
    outcome = copy.deepcopy(exercise).check(run_cell(exercise.stub, exercise.answer))
    assert isinstance(outcome, NotAttempted), outcome


@pytest.mark.parametrize("exercise", ex.EXERCISES, ids=[e.name for e in ex.EXERCISES])
def test_reference_solution_passes(exercise):
    answer = run_cell(exercise.solution_code, exercise.answer)
    assert isinstance(copy.deepcopy(exercise).check(answer), Correct)
    assert exercise.grade(answer).passed


@pytest.mark.parametrize("name, source", [(n, s) for n, sources in WRONG.items() for s in sources])
def test_known_wrong_answer_fails_without_giving_the_answer_away(name, source):
    exercise = getattr(ex, name)
    outcome = copy.deepcopy(exercise).check(run_cell(source, exercise.answer))
    assert isinstance(outcome, Incorrect), outcome
    assert len(outcome.message) > 30
    assert not gives_away(exercise, outcome.message), outcome.message


def test_expected_answers_follow_the_probe_schedule():
    assert ex.q1.expected == pytest.approx(16 - 10.5)   # probes at 12, 14, 16 s
    # 300 requests/s over 5 instances; crash just after a probe, probes every 1 s, 3 failures
    assert ex.q2.expected == pytest.approx(300 * 3 / 5)

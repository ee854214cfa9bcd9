"""Lesson 03 · When instances fail: outages, detection windows, retries, and its exercises."""

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
from scalelab import plots, scenarios
from scalelab.exercises import lesson03 as ex
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
    assert hit["failed_at"] == 2.0 and hit["marked_down"] == 3.5 and hit["detection"] == 1.5
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
    assert math.isnan(hit["failed_at"]) and math.isnan(hit["detection"]) and hit["errors"] == 0


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
    assert run["failed_at"] == 31 and run["marked_down"] == 36     # probes at 32, 34, 36
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



def test_a_hang_is_marked_down_one_probe_timeout_after_a_crash():
    check = sl.HealthCheck(interval=2, timeout=1, unhealthy_threshold=3)
    crash = scenarios.fail_under_load("crash", sl.balancers.RoundRobin(), check)
    hang = scenarios.fail_under_load("hang", sl.balancers.RoundRobin(), check)
    # failed at 31 s; probes at 32, 34, 36 s; a hung instance's probe fails after its timeout
    assert crash["marked_down"] == 36 and hang["marked_down"] == 36 + 1
    assert hang["detection"] <= 3 * 2 + 1


@pytest.fixture(scope="module")
def kinds():
    return scenarios.failure_kinds()


def test_least_connections_black_holes_a_fail_fast_instance_not_a_hung_one(kinds):
    rr, lc = "round robin", "least connections"
    share = {key: row["failed"] / row["after"] for key, row in kinds.items()}
    # round robin sends the broken instance its quarter, whatever it does
    assert share["fail fast", rr] == pytest.approx(0.25, abs=0.03)
    assert share["fail fast", lc] > 1.5 * share["fail fast", rr]
    assert share["hang", lc] < 0.5 * share["hang", rr]
    assert math.isnan(kinds["fail fast", lc]["detection"])      # a shallow check passes
    assert kinds["slow", rr]["failed"] == kinds["slow", lc]["failed"] == 0
    assert kinds["slow", rr]["p99"] > 10 * kinds["slow", lc]["p99"]


def test_a_deep_check_takes_a_fail_fast_instance_out_like_a_crash():
    deep = scenarios.fail_under_load("fail fast", sl.balancers.LeastConnections(),
                                     deep_check=True)
    crash = scenarios.fail_under_load("crash", sl.balancers.LeastConnections())
    assert deep["marked_down"] == crash["marked_down"] == 36
    assert scenarios.fail_under_load("fail fast", retries=1)["retries"] == 0


def test_retried_split_counts_refused_and_cut_off(crashes):
    split = scenarios.retried_split(crashes["rr retry"])
    assert split["refused"] + split["cut_off"] == crashes["rr retry"]["retries"]
    assert split["cut_off"] == crashes["rr"]["in_flight"]  # the ones that died inside it


def test_retry_amplification_is_tries_to_the_power_of_layers():
    storm = scenarios.retry_amplification(layers=(1, 2, 3), tries=(1, 3), budget=0.1)
    assert storm["attempts"][3, 3] == 27 and storm["attempts"][2, 1] == 1
    assert storm["with_budget"][3] == pytest.approx(1.1 ** 3)
    with pytest.raises(ValueError, match="budget"):
        scenarios.retry_amplification(budget=-0.1)


def test_shedding_answers_more_in_time_with_a_short_queue():
    shed = scenarios.shedding(queue_limits=(None, 20, 5), overload=1.25, client_timeout=2.0)
    rows = shed["limits"]
    assert rows[None]["ok"] < rows[20]["ok"] < rows[5]["ok"]
    # no balancer can answer more than capacity / offered load
    assert rows[5]["ok"] <= 1 / 1.25 + 0.02
    assert rows[None]["rejected"] == 0 and rows[None]["wasted"] > 0.8
    assert rows[5]["wasted"] < 0.05
    for row in rows.values():
        assert row["ok"] + row["rejected"] + row["timed_out"] == pytest.approx(1)


def test_ejection_cascade_moves_the_load_to_the_rest():
    busy = scenarios.ejection_cascade(instances=10, load=0.6)["busy"]
    assert busy[0] == pytest.approx(0.6) and busy[4] == pytest.approx(1.0)
    assert busy[5] == pytest.approx(1.2)


# -- the explorer ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, interval, threshold, timeout", [
    ("crash", 2.0, 3, 1.0), ("crash", 0.5, 1, 0.25), ("hang", 2.0, 3, 1.0),
    ("hang", 5.0, 2, 2.0), ("hang", 1.5, 2, 0.5)])
def test_failure_explorer_detection_follows_the_probe_schedule(kind, interval, threshold,
                                                               timeout):
    run = scenarios.failure_explorer(kind, interval=interval, threshold=threshold,
                                     probe_timeout=timeout)
    # fails at 21 s: the first failed probe starts at the first multiple of the interval at or
    # after it, the threshold-th in a row marks it down; a hang's probe gives up after timeout
    first = math.ceil(21.0 / interval) * interval
    down = first + (threshold - 1) * interval + (timeout if kind == "hang" else 0.0)
    assert run["failed_at"] == 21.0
    assert run["marked_down"] == pytest.approx(down)


def test_failure_explorer_fail_fast_is_seen_only_by_a_deep_check():
    shallow = scenarios.failure_explorer("fail fast", "least connections", deep_check=False)
    deep = scenarios.failure_explorer("fail fast", "least connections", deep_check=True)
    assert math.isnan(shallow["detection"]) and deep["detection"] == 5.0
    assert shallow["failed_during"] > 3 * deep["failed_during"]


def test_failure_explorer_cuts_the_probe_timeout_to_the_interval_and_rejects_bad_settings():
    run = scenarios.failure_explorer(interval=1.0, probe_timeout=3.0)
    assert run["settings"]["probe_timeout"] == 1.0
    with pytest.raises(ValueError, match="kind must be one of .*got 'dead'"):
        scenarios.failure_explorer("dead")
    with pytest.raises(ValueError, match="policy must be one of"):
        scenarios.failure_explorer(policy="random")


def _assert_failure_explorer_shows(explorer, run):
    for k, (trace, data) in enumerate(zip(explorer.figure.data,
                                          plots.failure_explorer_traces(run))):
        assert np.allclose(np.asarray(trace.x, dtype=float), np.asarray(data["x"], dtype=float))
        assert np.allclose(np.asarray(trace.y, dtype=float), np.asarray(data["y"], dtype=float),
                           equal_nan=True), f"trace {k} y"
    assert explorer.figure.layout.title.text == plots.failure_explorer_title(run)
    assert explorer.figure.layout.shapes[0].x0 == run["settings"]["at"]


def test_failure_explorer_widget_redraws_with_the_computed_run():
    explorer = sl.widgets.failure_explorer()
    assert list(explorer.controls) == ["kind", "policy", "deep_check", "retries", "interval",
                                       "threshold", "probe_timeout", "client_timeout"]
    settings = {"kind": "crash", "policy": "round robin", "deep_check": True, "retries": 0,
                "interval": 2.0, "threshold": 3, "probe_timeout": 1.0, "client_timeout": 10.0}
    _assert_failure_explorer_shows(explorer, scenarios.failure_explorer(**settings))
    for name, value in [("kind", "fail fast"), ("policy", "least connections"),
                        ("deep_check", False), ("kind", "hang"), ("retries", True),
                        ("interval", 1.0), ("probe_timeout", 0.5), ("client_timeout", 5.0)]:
        explorer.controls[name].value = value
        settings[name] = int(value) if name == "retries" else value
        _assert_failure_explorer_shows(explorer, scenarios.failure_explorer(**settings))
    assert "marked it down at" in explorer.readout.value


# -- figures ---------------------------------------------------------------------------------


def test_outages_figure_shades_the_window_and_names_the_worst_run(crashes):
    figure = plots.outages({"round robin": crashes["rr"], "least connections": crashes["lc"]})
    assert figure.layout.shapes[0].x0 == 31 and figure.layout.shapes[0].x1 == 36
    assert figure.data[0].name == "round robin"
    assert figure.layout.title.text.startswith("Most failed requests: least connections")


def test_failure_explorer_latency_axis_is_labelled_log():
    figure = plots.failure_explorer(scenarios.failure_explorer())
    assert figure.layout.yaxis3.type == "log" and len(figure.layout.yaxis3.tickvals) >= 3


# -- the exercises --------------------------------------------------------------------------

WRONG = {
    "q1": ["q1_seconds = 6", "q1_seconds = 16", "q1_seconds = 4"],
    "q2": ["q2_failed = 900", "q2_failed = 60", "q2_failed = 225", "q2_failed = 1000"],
    "q3": ["q3_seconds = 10", "q3_seconds = 14", "q3_seconds = 7", "q3_seconds = 20"],
    "q4": ['q4_choice = "a"', 'q4_choice = "b"', 'q4_choice = "d"'],
    "q5": [("class PanicAware(sl.balancers.Balancer):\n"      # no panic mode
            "    def pick(self, instances, request):\n"
            "        healthy = [i for i in instances if i.healthy]\n"
            "        return min(healthy, key=lambda i: i.inflight) if healthy else None"),
           ("class PanicAware(sl.balancers.Balancer):\n"      # panics at the first loss
            "    def pick(self, instances, request):\n"
            "        healthy = [i for i in instances if i.healthy]\n"
            "        pool = healthy if len(healthy) == len(instances) else list(instances)\n"
            "        return min(pool, key=lambda i: i.inflight)"),
           ("class PanicAware(sl.balancers.Balancer):\n"      # panics at exactly half
            "    def pick(self, instances, request):\n"
            "        healthy = [i for i in instances if i.healthy]\n"
            "        pool = healthy if 2 * len(healthy) > len(instances) else list(instances)\n"
            "        return min(pool, key=lambda i: i.inflight)"),
           "PanicAware = sl.balancers.LeastConnections"],
}


def test_lesson03_exercises_are_numbered_and_belong_to_the_lesson():
    ids = [f"lesson03.q{k}" for k in range(1, len(ex.EXERCISES) + 1)]
    assert [e.id for e in ex.EXERCISES] == ids
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


def test_q3_expected_answer_is_what_the_simulator_does():
    # hangs just after the probe at 10 s; probes at 15 and 20 s each give up after 2 s
    result = sl.simulate(sl.workloads.constant(rate=10, duration=40), instances=2,
                         service_time=0.05, failures=[sl.Hang(0, 10.001)],
                         health_check=sl.HealthCheck(interval=5, timeout=2,
                                                     unhealthy_threshold=2))
    down = next(t for t, i, kind in result.events if i == 0 and kind == "marked down")
    assert down - 10.0 == pytest.approx(ex.q3.expected, abs=0.01)
    assert ex.q3.expected == 2 * 5 + 2


def test_q5_reports_a_pick_that_ignores_the_panic_threshold():
    outcome = copy.deepcopy(ex.q5).check(run_cell(WRONG["q5"][0], "PanicAware"))
    assert "1 of 4 healthy" in outcome.message


def test_expected_answers_follow_the_probe_schedule():
    assert ex.q1.expected == pytest.approx(16 - 10.5)   # probes at 12, 14, 16 s
    # 300 requests/s over 5 instances; crash just after a probe, probes every 1 s, 3 failures
    assert ex.q2.expected == pytest.approx(300 * 3 / 5)


# -- the lesson in a browser ----------------------------------------------------------------

EXPLORER_ERRORS = """
() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const data = plot.data || [];
    if (!data.find(t => t.name === 'healthy instances')) continue;
    const errors = data.find(t => t.name === 'failed requests per second');
    if (errors) return Array.from(errors.y);
  }
  return null;
}
"""
def _errors_per_s(run) -> list:
    return [float(v) for v in plots.failure_explorer_traces(run)[0]["y"]]


@pytest.mark.browser
def test_failure_dropdown_redraws_the_explorer_with_what_the_kernel_computed(page,
                                                                             jupyter_server):
    from browser import dropdown_redraws

    dropdown_redraws(page, jupyter_server, LESSON, EXPLORER_ERRORS,
                     _errors_per_s(scenarios.failure_explorer()), "hang",
                     _errors_per_s(scenarios.failure_explorer("hang")),
                     "Instance 0 failed (hang)")


def test_lab_kill_prediction_spans_the_phase_of_the_crash_between_probes():
    """Probes every interval, down after threshold failures: a crash just after a probe is seen
    threshold × interval later, one just before a probe (threshold − 1) × interval later; round
    robin sends the dead instance a third of the traffic meanwhile; a retry saves all of it."""
    check = sl.lab.DEFAULT_HEALTH_CHECK
    predicted = scenarios.lab_kill_prediction()
    longest, shortest = predicted["just after a probe"], predicted["just before a probe"]
    assert longest["detection"] == pytest.approx(
        check.unhealthy_threshold * check.interval, abs=0.002)
    assert shortest["detection"] == pytest.approx(
        (check.unhealthy_threshold - 1) * check.interval, abs=0.002)
    rate, n = scenarios.LAB_KILL["rate"], scenarios.LAB_KILL["instances"]
    for run in (longest, shortest):
        assert abs(run["in_window"] - rate * run["detection"] / n) <= 1
        assert run["errors_with_retry"] == 0
    table = scenarios.kill_table(predicted, {"our proxy": (longest, shortest)}).splitlines()
    assert len(table) == 4 and table[3].startswith("our proxy, measured")
    assert table[1].split()[-3:] == ["s", str(longest["errors"]), "0"]

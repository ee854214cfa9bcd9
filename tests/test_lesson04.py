"""Lesson 04 (statelessness): the numbers behind its figures against hand derivations and
theory ((N − 1)/N, Lindley's recursion, counts taken from the workload), its figures and
explorer without a browser, its exercises, and the lesson in a real browser."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from cells import run_cell

import scalelab as sl
from scalelab import plots, scenarios
from scalelab.exercises import lesson04
from scalelab.exercises.outcomes import Error, Incorrect, NotAttempted

LESSON = "04-statelessness.ipynb"
LOST = "no session: logs in again"


# -- the first story: ada, bob and cleo -----------------------------------------------------------

def test_round_robin_story_matches_the_hand_derivation():
    # Round robin sends request k to instance k mod 3. Users, in arrival order:
    # ada bob cleo bob ada cleo ada bob cleo → instances A B C A B C A B C. A follow-up finds its
    # session only where that user's previous request went.
    result = sl.simulate(scenarios.three_users(), instances=3, service_time=0.05,
                         sessions=sl.sessions.InMemory())
    rows = scenarios.session_story(result)
    assert [(r["user"], r["request"], r["instance"], r["outcome"]) for r in rows] == [
        ("ada", 1, "A", "logs in"), ("bob", 1, "B", "logs in"), ("cleo", 1, "C", "logs in"),
        ("bob", 2, "A", LOST), ("ada", 2, "B", LOST), ("cleo", 2, "C", "session found"),
        ("ada", 3, "A", LOST), ("bob", 3, "B", LOST), ("cleo", 3, "C", "session found")]
    assert [r["time"] for r in rows] == list(range(9))
    assert scenarios.follow_ups(result) == 6
    assert scenarios.lost_share(result) == pytest.approx(4 / 6)


def test_sticky_story_keeps_every_user_on_one_instance():
    result = sl.simulate(scenarios.three_users(), instances=3, service_time=0.05,
                         sessions=sl.sessions.InMemory(), balancer=sl.balancers.Sticky())
    rows = scenarios.session_story(result)
    where = {}
    for row in rows:
        where.setdefault(row["user"], set()).add(row["instance"])
    assert where == {"ada": {"A"}, "bob": {"B"}, "cleo": {"C"}}
    assert [r["outcome"] for r in rows].count("session found") == 6
    assert scenarios.lost_share(result) == 0


def test_story_marks_failed_requests():
    # With no health check the dead instance keeps its turn: bob's 2nd request (t = 3) is the
    # first after A dies at 2.5 s, and ada's 3rd (t = 6) also goes to A.
    result = sl.simulate(scenarios.three_users(), instances=3, service_time=0.05,
                         sessions=sl.sessions.InMemory(), failures=[sl.Crash(0, at=2.5)])
    rows = scenarios.session_story(result)
    assert [(r["user"], r["request"]) for r in rows if r["outcome"] == "failed"] == \
        [("bob", 2), ("ada", 3)]


def test_instance_names_and_designs():
    assert [scenarios.instance_name(i) for i in (0, 1, 25, 26)] == ["A", "B", "Z", "#26"]
    with pytest.raises(ValueError, match="index must be ≥ 0, got -1"):
        scenarios.instance_name(-1)
    design = scenarios.session_design("shared", store_latency=0.005, outages=[(1, 2)])
    assert isinstance(design["sessions"], sl.sessions.SharedStore)
    assert design["sessions"].latency == 0.005 and design["sessions"].outages == [(1.0, 2.0)]
    assert isinstance(scenarios.session_design("sticky")["balancer"], sl.balancers.Sticky)
    assert isinstance(scenarios.session_design("memory")["sessions"], sl.sessions.InMemory)
    with pytest.raises(ValueError, match=r"mode must be one of 'memory', 'sticky', 'shared', "
                                         r"got 'redis'"):
        scenarios.session_design("redis")


# -- the shop ------------------------------------------------------------------------------------

def test_shop_is_visitors_plus_heavy_clients():
    shop = scenarios.shop()
    assert shop.duration == 600 and np.all(np.diff(shop.arrivals) >= 0)
    assert shop.arrivals.max() < 600
    users, counts = np.unique(shop.user, return_counts=True)
    assert np.array_equal(users, np.arange(len(users)))          # ids 0, 1, 2, … in use
    heavy = counts > 6
    assert counts.max() <= 300 and counts[heavy].min() > 6
    # visitors are a Poisson stream at 1/s for 600 s: 600 ± 4σ (σ = √600 ≈ 24.5)
    assert abs(np.count_nonzero(~heavy) - 600) < 100
    # heavy clients: 1 in 100, ids after every visitor
    assert users[heavy].min() > users[~heavy].max()
    summary = scenarios.heavy_clients(shop)
    assert summary == {"users": len(users), "heavy": int(heavy.sum()),
                       "heavy_share": pytest.approx(counts[heavy].sum() / len(shop))}
    again = scenarios.shop.__wrapped__(seed=1)                   # not from the cache
    assert np.array_equal(again.arrivals, shop.arrivals) and np.array_equal(again.user, shop.user)
    other = scenarios.shop(seed=2)
    assert len(other) != len(shop) or not np.array_equal(other.arrivals, shop.arrivals)


def test_shop_rejects_bad_settings():
    with pytest.raises(ValueError, match="visitors_per_s must be > 0, got 0"):
        scenarios.shop(visitors_per_s=0)
    with pytest.raises(ValueError, match="duration must be > 0"):
        scenarios.shop(duration=-1)


# -- (N − 1) / N ----------------------------------------------------------------------------------

def test_lost_share_curve_follows_n_minus_1_over_n():
    visitors = sl.workloads.sessions(rate=1, duration=600, requests=6, think_time=10, seed=3)
    curve = scenarios.lost_share_curve(range(1, 7), workload=visitors, seed=3)
    n = np.arange(1, 7)
    assert np.array_equal(curve["instances"], n)
    assert np.allclose(curve["theory"], (n - 1) / n)
    assert curve["simulated"][0] == 0                           # one instance holds everything
    assert np.allclose(curve["simulated"], (n - 1) / n, atol=0.03)


# -- per instance ----------------------------------------------------------------------------------

def test_per_instance_counts_and_utilization_by_hand():
    # 6 requests 1 s apart, each exactly 0.25 s of work, round robin over 2 instances:
    # 3 each, each instance busy 0.75 s of a 6 s run.
    workload = sl.workloads.Workload(np.arange(6.0), 6.0)
    result = sl.simulate(workload, instances=2, service_time=sl.Constant(0.25))
    numbers = scenarios.per_instance(result)
    assert numbers["requests"].tolist() == [3, 3]
    assert numbers["utilization"] == pytest.approx([0.125, 0.125])
    assert numbers["imbalance"] == 1.0
    # one user, sticky: all 6 on one instance; max/mean = 6 / 3
    one_user = sl.workloads.Workload(np.arange(6.0), 6.0, user=np.zeros(6, dtype=int))
    sticky = sl.simulate(one_user, instances=2, service_time=sl.Constant(0.25),
                         sessions=sl.sessions.InMemory(), balancer=sl.balancers.Sticky())
    assert scenarios.per_instance(sticky)["requests"].tolist() == [6, 0]
    assert scenarios.per_instance(sticky)["imbalance"] == 2.0


def test_busy_over_time_by_hand():
    # a request every 1 s, 0.5 s of work each, one instance: busy half of every 10 s bin
    workload = sl.workloads.Workload(np.arange(30.0), 30.0)
    result = sl.simulate(workload, instances=1, service_time=sl.Constant(0.5))
    busy = scenarios.busy_over_time(result, bin=10)
    assert busy.shape == (1, 3)
    assert np.allclose(busy, 0.5)


@pytest.fixture(scope="module")
def cost():
    return scenarios.sticky_cost(instances=4, seed=1)


def test_sticky_cost_round_robin_is_even_and_sticky_is_not(cost):
    shared, sticky = (cost["designs"][scenarios.SESSION_DESIGNS[m]] for m in ("shared", "sticky"))
    assert cost["names"] == ["A", "B", "C", "D"]
    # round robin: counts differ by at most one request
    assert shared["requests"].max() - shared["requests"].min() <= 1
    assert sticky["imbalance"] > 1.1 > shared["imbalance"]
    assert shared["lost_sessions"] == sticky["lost_sessions"] == 0
    assert sticky["peak_busy"] > shared["peak_busy"]
    assert sticky["p95"] > shared["p95"]
    # both carry the same work: mean utilization ≈ offered load λS / N
    offered = len(scenarios.shop()) * scenarios.SESSION_SERVICE_TIME / 600 / 4
    for design in (shared, sticky):
        assert design["utilization"].mean() == pytest.approx(offered, rel=0.1)
        assert design["busy"].shape == (4, 20) and len(cost["time"]) == 20
        assert np.all((design["busy"] >= 0) & (design["busy"] <= 1 + 1e-9))


def test_sticky_crash_logs_out_exactly_the_users_of_the_crashed_instance():
    crash = scenarios.sticky_crash(instances=4, crash=2, at=200, replaced_at=230, seed=5)
    records = crash["result"].requests
    # users whose last request sent before the crash went to instance 2 (derived here, not
    # with the code under test), and who sent another request afterwards
    order = np.argsort(records["arrival"], kind="stable")
    last = {}
    for k in order:
        if records["arrival"][k] < 200 and records["instance"][k] >= 0:
            last[int(records["user"][k])] = int(records["instance"][k])
    there = {u for u, j in last.items() if j == 2}
    later = set(records["user"][records["arrival"] >= 200].tolist())
    assert crash["sessions_there"] == len(there)
    assert crash["came_back"] == len(there & later) > 5
    assert crash["lost_sessions"] == crash["users_logged_out"] == crash["came_back"]
    lost_users = set(records["user"][records["lost_session"]].tolist())
    assert lost_users == there & later


@pytest.fixture(scope="module")
def runs():
    return scenarios.disposable(instances=4, seed=1)


def test_disposable_shared_store_loses_nothing_sticky_only_when_an_instance_goes(runs):
    memory, sticky, shared = (runs["designs"][scenarios.SESSION_DESIGNS[m]]
                              for m in ("memory", "sticky", "shared"))
    assert shared["lost_sessions"] == shared["users_logged_out"] == 0
    assert not shared["lost"].any()
    # sticky: only in the minute after the crash (150 s) and after the removal (450 s)
    losing = runs["time"][sticky["lost"] > 0]
    assert len(losing) and all(150 <= t < 210 or 450 <= t < 510 for t in losing)
    assert sticky["lost"].sum() == sticky["lost_sessions"] == sticky["users_logged_out"]
    # round robin over 4, then 5, then 4 instances: about (N − 1)/N of the follow-ups
    share = memory["lost_sessions"] / memory["follow_ups"]
    assert 0.7 < share < 0.85
    assert len(runs["time"]) == 60 and runs["bin"] == 10
    assert [when for when, _ in runs["events"]] == [150, 180, 300, 450]


def test_shared_store_adds_its_latency_to_every_request():
    # Lindley: end_k = max(a_k, end_k−1) + s_k. Same arrivals, same routing, every s_k larger
    # by c → every end_k later by at least c.
    memory = scenarios.shop_run("memory", 4, seed=1).requests
    shared = scenarios.shop_run("shared", 4, seed=1, store_latency=0.01).requests
    assert np.array_equal(memory["instance"], shared["instance"])
    extra = (shared["end"] - shared["arrival"]) - (memory["end"] - memory["arrival"])
    assert extra.min() >= 0.01 - 1e-9
    assert np.allclose(shared["service"] - memory["service"], 0.01)


def test_store_outage_fails_every_request_in_the_window():
    outage = scenarios.store_outage(instances=4, outage=(400, 430), seed=1)
    arrivals = scenarios.shop(seed=1).arrivals
    inside = int(np.count_nonzero((arrivals >= 400) & (arrivals < 430)))
    assert outage["during"] == outage["failed_during"] == outage["errors"] == inside > 100
    assert outage["lost_sessions"] == 0


# -- the explorer's numbers ----------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 5, 8])
def test_explorer_memory_mode_loses_about_n_minus_1_over_n(n):
    data = scenarios.stateless_explorer("memory", n, False)
    assert data["lost_share"] == pytest.approx((n - 1) / n, abs=0.04)
    assert data["lost"].sum() == data["lost_sessions"]
    assert len(data["requests"]) == n and data["names"][-1] == scenarios.instance_name(n - 1)
    assert data["time"][1] - data["time"][0] == 10 and len(data["time"]) == 30


def test_explorer_sticky_and_shared_lose_only_what_the_crash_takes():
    assert scenarios.stateless_explorer("sticky", 4, False)["lost_sessions"] == 0
    crashed = scenarios.stateless_explorer("sticky", 4, True)
    at, replaced = scenarios.STATELESS_EXPLORER_CRASH
    assert crashed["crash_at"] == at and crashed["replaced_at"] == replaced
    assert crashed["lost_sessions"] > 0
    # nothing is lost before the crash (requests it cut off arrived up to a bin earlier)
    assert crashed["lost"][crashed["time"] < at - 10].sum() == 0
    shared = scenarios.stateless_explorer("shared", 4, True)
    assert shared["lost_sessions"] == 0 and shared["store_latency"] == scenarios.STORE_LATENCY
    calm = scenarios.stateless_explorer("shared", 4, False)
    assert np.isnan(calm["crash_at"]) and calm["errors"] == 0


def test_explorer_requests_per_instance_add_up():
    data = scenarios.stateless_explorer("sticky", 6, True)
    workload = scenarios.shop(duration=scenarios.STATELESS_EXPLORER_DURATION, seed=1)
    assert data["requests"].sum() + data["errors"] == len(workload)
    assert data["imbalance"] == pytest.approx(data["requests"].max() / data["requests"].mean())


def test_explorer_is_cached_and_checks_its_settings():
    assert scenarios.stateless_explorer("memory", 4) is scenarios.stateless_explorer("memory", 4)
    with pytest.raises(ValueError, match="mode must be one of"):
        scenarios.stateless_explorer("disk", 4)
    with pytest.raises(ValueError, match="instances must be ≥ 1, got 0"):
        scenarios.stateless_explorer("memory", 0)


# -- figures and the explorer ---------------------------------------------------------------------

def _figures():
    story = sl.simulate(scenarios.three_users(), instances=3, service_time=0.05,
                        sessions=sl.sessions.InMemory())
    visitors = sl.workloads.sessions(rate=1, duration=300, requests=6, think_time=10, seed=1)
    return {
        "story": plots.session_story(scenarios.session_story(story)),
        "curve": plots.lost_share_curve(scenarios.lost_share_curve(range(1, 4), visitors)),
        "sticky": plots.sticky_cost(scenarios.sticky_cost()),
        "disposable": plots.disposable(scenarios.disposable()),
        "explorer": sl.widgets.stateless_explorer().figure,
    }


def test_every_figure_stays_under_5000_points_per_trace():
    for name, figure in _figures().items():
        assert figure.data, name
        assert max(len(trace.x) for trace in figure.data) <= 5000, name


def test_story_figure_draws_each_outcome_where_it_happened():
    result = sl.simulate(scenarios.three_users(), instances=3, service_time=0.05,
                         sessions=sl.sessions.InMemory())
    figure = plots.session_story(scenarios.session_story(result))
    lost = next(t for t in figure.data if t.name == LOST)
    assert list(lost.x) == [3, 4, 6, 7] and list(lost.y) == ["A", "B", "A", "B"]
    assert list(lost.text) == ["bob 2", "ada 2", "ada 3", "bob 3"]
    assert [t.name for t in figure.data[:3]] == ["ada", "bob", "cleo"]


def test_sticky_cost_figure_has_one_line_per_instance_and_design(cost):
    figure = plots.sticky_cost(cost)
    assert len(figure.data) == 8
    sticky = cost["designs"][scenarios.SESSION_DESIGNS["sticky"]]
    assert np.allclose(figure.data[4 + 2].y, sticky["busy"][2] * 100)


def _assert_explorer_shows(figure, data):
    for trace, want in zip(figure.data, plots.stateless_explorer_traces(data)):
        assert list(trace.x) == list(want["x"])
        assert np.allclose(np.asarray(trace.y, dtype=float), np.asarray(want["y"], dtype=float),
                           equal_nan=True)


def test_explorer_controls_redraw_with_the_computed_numbers():
    explorer = sl.widgets.stateless_explorer()
    assert list(explorer.controls) == ["mode", "instances", "crash"]
    _assert_explorer_shows(explorer.figure, scenarios.stateless_explorer("memory", 4, False))
    before = np.array(explorer.figure.data[0].y)

    explorer.controls["mode"].value = "sticky"
    data = scenarios.stateless_explorer("sticky", 4, False)
    _assert_explorer_shows(explorer.figure, data)
    assert not np.array_equal(before, explorer.figure.data[0].y)
    assert "0 of" in explorer.readout.value and "sticky" in explorer.readout.value

    explorer.controls["instances"].value = 6
    _assert_explorer_shows(explorer.figure, scenarios.stateless_explorer("sticky", 6, False))
    assert list(explorer.figure.data[4].x) == ["A", "B", "C", "D", "E", "F"]
    assert len(explorer.figure.data[1].x) == 0                   # no crash line

    explorer.controls["crash"].value = True
    data = scenarios.stateless_explorer("sticky", 6, True)
    _assert_explorer_shows(explorer.figure, data)
    assert list(explorer.figure.data[1].x) == [data["crash_at"]] * 2
    assert "Instance A crashed at 150 s" in explorer.readout.value

    explorer.controls["mode"].value = "shared"
    assert "waits 2 ms for the store" in explorer.readout.value
    assert f"{data['follow_ups']:,} follow-up requests (0%)" in explorer.readout.value


# -- the exercises -------------------------------------------------------------------------------



WRONG = {
    "q1": "q1_lost_share = 0.2",
    "q2": "q2_relogins = 240",
    "q3": 'q3_choice = "b"',
    "q4": "class StickyByUser(sl.balancers.Balancer):\n"      # sticky by hash: moves users back
          "    def pick(self, instances, request):\n"
          "        healthy = [i for i in instances if i.healthy]\n"
          "        if not healthy:\n            return None\n"
          "        if request.user is None:\n            return healthy[0]\n"
          "        home = instances[request.user % len(instances)]\n"
          "        return home if home.healthy else healthy[request.user % len(healthy)]",
}
MORE_WRONG = {
    "round robin": "class StickyByUser(sl.balancers.RoundRobin):\n    pass",
    "everyone on one": "class StickyByUser(sl.balancers.Balancer):\n"
                       "    def pick(self, instances, request):\n"
                       "        up = [i for i in instances if i.healthy]\n"
                       "        return up[0] if up else None",
    "the built-in": "StickyByUser = sl.balancers.Sticky",
}


def fresh(exercise):
    return copy.deepcopy(exercise)


def test_lesson04_has_four_exercises_one_of_them_code():
    assert [e.id for e in lesson04.EXERCISES] == [f"lesson04.q{k}" for k in range(1, 5)]
    assert [e.kind for e in lesson04.EXERCISES] == ["number", "number", "choice", "class"]
    assert lesson04.NOTEBOOK == LESSON


@pytest.mark.parametrize("exercise", lesson04.EXERCISES, ids=lambda e: e.name)
def test_stub_is_not_attempted(exercise):
    answer = run_cell(exercise.stub, exercise.answer)
    for outcome in (fresh(exercise).check(answer), exercise.grade(answer)):
        assert isinstance(outcome, NotAttempted), outcome


@pytest.mark.parametrize("exercise", lesson04.EXERCISES, ids=lambda e: e.name)
def test_reference_solution_passes(exercise):
    answer = run_cell(exercise.solution_code, exercise.answer)
    assert fresh(exercise).check(answer).passed and exercise.grade(answer).passed


@pytest.mark.parametrize("exercise", lesson04.EXERCISES, ids=lambda e: e.name)
def test_known_wrong_answer_fails_without_giving_the_answer_away(exercise):
    answer = run_cell(WRONG[exercise.name], exercise.answer)
    outcome = fresh(exercise).check(answer)
    assert isinstance(outcome, Incorrect) and len(outcome.message) > 30, outcome
    assert exercise.grade(answer).status == "fail"
    if exercise.kind == "number":
        for text in re.findall(r"-?\d+(?:\.\d+)?", outcome.message):
            assert not exercise._close(float(text), exercise.expected), outcome.message
    if exercise.kind == "choice":
        assert f"({exercise.correct})" not in outcome.message
        assert exercise.options[exercise.correct] not in outcome.message


def test_number_answers_within_the_stated_tolerance():
    q1 = lesson04.q1
    assert q1.check(0.8).passed and q1.check(0.815).passed and not q1.check(0.83).passed
    assert "percentage" in q1.check(80).message
    assert "4 instances" in q1.check(0.75).message
    assert lesson04.q2.check(60).passed and not lesson04.q2.check(61).passed


def test_sticky_by_hash_is_caught_moving_users_back_to_the_empty_instance():
    outcome = fresh(lesson04.q4).check(run_cell(WRONG["q4"], "StickyByUser"))
    assert re.search(r"went to instance 1 — instance 1, back in rotation since then with empty "
                     r"memory", outcome.message), outcome.message
    assert "✓ passes the conformance suite" in outcome.details


@pytest.mark.parametrize("source", MORE_WRONG.values(), ids=MORE_WRONG.keys())
def test_other_wrong_balancers_fail_with_what_they_did(source):
    outcome = fresh(lesson04.q4).check(run_cell(source, "StickyByUser"))
    assert outcome.status == "fail", outcome
    assert re.search(r"found no session|very unevenly|built-in", outcome.message), outcome.message


def test_any_correct_sticky_balancer_passes():
    by_random_choice = (
        "class StickyByUser(sl.balancers.Balancer):\n"
        "    def reset(self):\n        self.home = {}\n"
        "    def pick(self, instances, request):\n"
        "        up = [i.index for i in instances if i.healthy]\n"
        "        if not up:\n            return None\n"
        "        j = self.home.get(request.user)\n"
        "        if j is None or j not in up:\n"
        "            j = up[int(self.rng.integers(len(up)))]\n"
        "            if request.user is not None:\n                self.home[request.user] = j\n"
        "        return j")
    balancer = run_cell(by_random_choice, "StickyByUser")
    assert fresh(lesson04.q4).check(balancer).passed
    assert lesson04.q4.grade(balancer).passed
    assert lesson04.q4.grade(balancer()).passed                 # an instance is accepted too


def test_a_crash_in_the_learners_balancer_is_theirs():
    crashing = lesson04.q4.stub.replace("raise NotImplementedError()", "return [][request.id]")
    outcome = fresh(lesson04.q4).check(run_cell(crashing, "StickyByUser"))
    assert isinstance(outcome, Error) and "IndexError" in outcome.details, outcome
    assert "scalelab" not in outcome.details.split("\n\n")[0]


# -- the lesson in a browser ---------------------------------------------------------------------

REQUESTS_SERVED = """
() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const bars = (plot.data || []).find(t => t.name === 'requests served');
    const lost = (plot.data || []).find(t => t.name === 'lost sessions');
    if (bars && lost) return {x: Array.from(bars.x), y: Array.from(bars.y),
                              lost: Array.from(lost.y)};
  }
  return null;
}
"""
SAME = """([script, want]) => {
    const got = eval(script)();
    const close = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-9);
    return got && got.x.join() === want.x.join() && close(got.y, want.y)
        && close(got.lost, want.lost);
}"""


def _explorer_want(mode: str, instances: int) -> dict:
    traces = plots.stateless_explorer_traces(scenarios.stateless_explorer(mode, instances))
    return {"x": list(traces[4]["x"]), "y": traces[4]["y"].tolist(),
            "lost": traces[0]["y"].astype(float).tolist()}


@pytest.mark.browser
def test_explorer_controls_redraw_with_what_the_kernel_computed(page, jupyter_server):
    from browser import error_outputs, run_and_reveal
    from playwright.sync_api import expect

    slider = run_and_reveal(page, jupyter_server, LESSON,
                            page.locator(".jp-OutputArea .widget-slider").first)
    page.wait_for_function(SAME, arg=[REQUESTS_SERVED, _explorer_want("memory", 4)],
                           timeout=90_000)

    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(2):   # 4 → 6 instances
        handle.press("ArrowRight")
    expect(slider.locator(".widget-readout")).to_have_text("6", timeout=30_000)
    page.wait_for_function(SAME, arg=[REQUESTS_SERVED, _explorer_want("memory", 6)],
                           timeout=60_000)

    dropdown = page.locator(".jp-OutputArea .widget-dropdown select").first
    dropdown.select_option(label="in memory, sticky sessions")
    page.wait_for_function(SAME, arg=[REQUESTS_SERVED, _explorer_want("sticky", 6)],
                           timeout=60_000)
    expect(page.get_by_text("Sessions in memory, sticky balancer, 6 instances")).to_be_visible()
    assert error_outputs(page) == []


def test_hung_store_counts_workers_by_littles_law():
    hang = scenarios.hung_store(rate=10, workers=40, work=0.2, store_timeout=0.1)
    assert hang["exhausted_after"] == pytest.approx(4.0)      # 40 workers ÷ 10 per second
    assert hang["busy_normally"] == pytest.approx(2.0)        # 10/s × 0.2 s
    assert hang["busy_with_timeout"] == pytest.approx(3.0)    # 10/s × (0.2 + 0.1) s
    with pytest.raises(ValueError, match="store_timeout"):
        scenarios.hung_store(rate=10, workers=40, store_timeout=0)

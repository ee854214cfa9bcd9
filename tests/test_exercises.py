"""The exercise framework and every lesson's exercises: stubs are "not attempted", known-wrong
answers fail with a useful message that does not give the answer away, the reference solutions
pass (public and instructor checks), and crashes in learner code are reported as theirs."""

from __future__ import annotations

import copy
import re

import pytest
from cells import run_cell
from hypothesis import given
from hypothesis import strategies as st

import scalelab as sl
from scalelab import exercises
from scalelab.exercises import Choice, Number, Prediction
from scalelab.exercises.code import Code
from scalelab.exercises.outcomes import (
    Correct,
    Error,
    Hint,
    Incorrect,
    NotAttempted,
    Notice,
    Recorded,
    Solution,
)

ALL = [e for module in exercises.lessons() for e in module.EXERCISES]
IDS = [e.id for e in ALL]

# A typical wrong answer for every graded exercise (source code, as a learner would write it).
WRONG = {
    "lesson00.q1": "q1_utilization = 75",
    "lesson00.q2": "q2_mean_ms = 80",
    "lesson00.q3": 'q3_choice = "a"',
    "lesson00.q5": "def max_rate(service_time, slo_p95):\n"
                   "    return 1 / service_time - 1 / slo_p95  # the mean, not the p95",
    "lesson01.q1": "q1_extra_per_hour = 10.24",
    "lesson01.q2": "q2_speedup = 8",
    "lesson01.q3": 'q3_choice = "d"',
    "lesson01.q4": "q4_downtime_min = 0.0657",
    "lesson01.q5": "def machines_needed(rate, service_time, max_busy):\n"
                   "    import math\n"
                   "    return math.ceil(rate * service_time / max_busy)  # forgot the spare",
    "lesson02.q1": "q1_moved = 0.2",
    "lesson02.q2": 'q2_choice = "a"',
    "lesson02.q3": "class FewestInFlight(sl.balancers.Balancer):\n"
                   "    def pick(self, instances, request):  # forgets the health checks\n"
                   "        return min(instances, key=lambda instance: instance.inflight)",
    "lesson05.q1": "q1_replicas = 8",
    "lesson05.q2": "q2_first_request_at = 780",
    "lesson05.q3": 'q3_choice = "a"',
    "lesson05.q4": "def hpa_replicas(ready, utilization_percent, target_percent):\n"
                   "    import math\n"
                   "    return math.ceil(ready * utilization_percent / target_percent)",
    "lesson05.q5": "my_autoscaler = sl.autoscalers.Threshold()",
    "lesson03.q1": "q1_seconds = 6",
    "lesson03.q2": "q2_failed = 900",
    "lesson03.q3": "q3_seconds = 10",
    "lesson03.q4": 'q4_choice = "b"',
    "lesson03.q5": "class PanicAware(sl.balancers.Balancer):\n"
                   "    def pick(self, instances, request):  # forgets the panic threshold\n"
                   "        up = [i for i in instances if i.healthy]\n"
                   "        return min(up, key=lambda i: i.inflight) if up else None",
    "lesson04.q1": "q1_lost_share = 0.2",
    "lesson04.q2": "q2_relogins = 240",
    "lesson04.q3": 'q3_choice = "b"',
    "lesson04.q4": "class StickyByUser(sl.balancers.Balancer):\n"
                   "    def pick(self, instances, request):  # by hash: moves users back\n"
                   "        up = [i for i in instances if i.healthy]\n"
                   "        if not up:\n            return None\n"
                   "        home = instances[(request.user or 0) % len(instances)]\n"
                   "        return home if home.healthy else up[(request.user or 0) % len(up)]",
    "lesson07.q1": "q1_budget = 77_600",
    "lesson07.q2": "design = sl.capstone.Design(size=2, min_instances=3, max_instances=3)",
    "lesson07.q3": 'q3_choice = "d"',
    "lesson06.q1": "q1_breaking_rate = 135",
    "lesson06.q2": "q2_users = 400",
    "lesson06.q3": 'q3_choice = "a"',
    "lesson06.q4": "def warmup_test():\n"
                   "    return sl.loadtest.ramp(0.5, 8, duration=1800, windows=12)  # too gentle",
    "lesson06.q5": "q5_load = 0.75",
}
STUB_LINE = "raise NotImplementedError()"


def crashing(exercise) -> str:
    """The stub with its `raise` replaced by code that crashes in a helper of the learner's."""
    pad = re.search(rf"^(\s*){re.escape(STUB_LINE)}", exercise.stub, re.MULTILINE).group(1)
    return ("def helper(x):\n    return [x][5]\n\n"
            + exercise.stub.replace(STUB_LINE, "return helper(1)\n" + pad + "pass"))


CODE = [e for e in ALL if isinstance(e, Code)]
WITH_STUB_LINE = [e for e in CODE if STUB_LINE in e.stub]




def graded(exercise, answer):
    """The grader's verdict; held-out exercises (the capstone) get an instructor's seed."""
    if getattr(exercise, "held_out", False):
        return exercise.grade(answer, held_out_seed=2027)
    return exercise.grade(answer)


def fresh(exercise):
    """A copy without the learner's history (attempts, hints seen)."""
    return copy.deepcopy(exercise)


def gives_away(exercise, message: str) -> str | None:
    """The part of ``message`` that states the expected answer, if any."""
    if isinstance(exercise, Number):
        for text in re.findall(r"-?\d+(?:,\d{3})*(?:\.\d+)?", message):
            if exercise._close(float(text.replace(",", "")), exercise.expected):
                return text
    if isinstance(exercise, Choice):
        for text in (f"({exercise.correct})", exercise.options[exercise.correct]):
            if text in message:
                return text
    return None


# -- every exercise -------------------------------------------------------------------------

def test_every_lesson_has_three_exercises_one_of_them_code():
    for module in exercises.lessons():
        kinds = [e.kind for e in module.EXERCISES]
        assert len(kinds) >= 3, module.LESSON
        assert any(isinstance(e, Code) for e in module.EXERCISES), module.LESSON


def test_every_graded_exercise_has_a_known_wrong_answer():
    missing = {e.id for e in ALL if not isinstance(e, Prediction)} - set(WRONG)
    assert not missing, f"add a typical wrong answer for {sorted(missing)} to WRONG above"


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_stub_is_not_attempted(exercise):
    answer = run_cell(exercise.stub, exercise.answer)
    for outcome in (fresh(exercise).check(answer), graded(exercise, answer)):
        assert isinstance(outcome, NotAttempted), outcome
        assert outcome.status == "not_attempted" and not outcome.passed


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_reference_solution_passes_public_and_instructor_checks(exercise):
    answer = run_cell(exercise.solution_code, exercise.answer)
    checked, grade = fresh(exercise).check(answer), graded(exercise, answer)
    assert checked.passed and grade.passed, f"{checked}\n{grade}"
    if exercise.has_instructor_checks:
        assert "instructor" in checked.message and "grading" in checked.message


@pytest.mark.parametrize("exercise", [e for e in ALL if e.id in WRONG],
                         ids=[i for i in IDS if i in WRONG])
def test_known_wrong_answer_fails_usefully_without_the_answer(exercise):
    answer = run_cell(WRONG[exercise.id], exercise.answer)
    outcome = fresh(exercise).check(answer)
    assert isinstance(outcome, Incorrect) and outcome.status == "fail", outcome
    assert graded(exercise, answer).status == "fail"
    assert len(outcome.message) > 30
    assert gives_away(exercise, outcome.message) is None, outcome


@pytest.mark.parametrize("exercise", [e for e in ALL if e.kind == "function"],
                         ids=[e.id for e in ALL if e.kind == "function"])
def test_function_feedback_never_prints_the_reference_result(exercise):
    """The message names the call that went wrong; the reference's answer to that very call
    must not appear in it."""
    outcome = fresh(exercise).check(run_cell(WRONG[exercise.id], exercise.answer))
    call = re.search(rf"`{exercise.answer}\((.*?)\)`", outcome.message)
    assert call, f"the message should name the call: {outcome.message}"
    reference = run_cell(exercise.solution_code, exercise.answer)
    expected = float(eval(f"reference({call.group(1)})", {"reference": reference}))
    rest = outcome.message.replace(call.group(0), "")  # the call's own arguments may match
    for text in re.findall(r"(?<![\d.])-?\d+(?:\.\d+)?(?![\d.]| ?%)", rest):  # not percentages
        assert abs(float(text) - expected) > 1e-3 * max(1.0, abs(expected)), \
            f"{text} is the expected answer to {call.group(0)}: {outcome.message}"


@pytest.mark.parametrize("exercise", WITH_STUB_LINE, ids=[e.id for e in WITH_STUB_LINE])
def test_a_crash_is_reported_as_the_learners_with_their_frames_only(exercise):
    outcome = fresh(exercise).check(run_cell(crashing(exercise), exercise.answer))
    assert isinstance(outcome, Error) and outcome.status == "error", outcome
    trace = outcome.details.split("\n\n")[0]
    assert trace.startswith("Traceback (your code only):")
    assert trace.count("your notebook cell, line") == 2, trace  # their function and helper
    assert "return [x][5]" in trace and trace.endswith("IndexError: list index out of range")
    assert "scalelab" not in trace and "site-packages" not in trace


@pytest.mark.parametrize("exercise", WITH_STUB_LINE, ids=[e.id for e in WITH_STUB_LINE])
def test_code_that_never_returns_is_stopped(exercise, monkeypatch):
    exercise = fresh(exercise)
    monkeypatch.setattr(exercise, "time_limit", 0.5)
    pad = re.search(rf"^(\s*){re.escape(STUB_LINE)}", exercise.stub, re.MULTILINE).group(1)
    endless = exercise.stub.replace(STUB_LINE, f"while True:\n{pad}    pass")
    loop = run_cell(endless, exercise.answer)
    outcome = exercise.check(loop)
    assert isinstance(outcome, Error) and "longer than 0.5 s" in outcome.message, outcome


@pytest.mark.parametrize("exercise", CODE, ids=[e.id for e in CODE])
def test_ellipsis_and_non_functions_are_handled(exercise):
    assert fresh(exercise).check(...).status == "not_attempted"
    outcome = fresh(exercise).check(42)
    assert outcome.status == "fail" and "42" in outcome.message


@pytest.mark.parametrize("exercise", ALL, ids=IDS)
def test_hints_climb_a_ladder_and_end_at_the_solution(exercise):
    exercise = fresh(exercise)
    total = len(exercise.hints)
    assert total >= 2, "give at least a nudge and a near-answer"
    seen = [exercise.hint() for _ in range(total)]
    assert [h.word for h in seen] == [f"Hint {n} of {total}" for n in range(1, total + 1)]
    assert "solution()" in seen[-1].message
    assert exercise.hint(1).message == seen[0].message
    assert isinstance(exercise.hint(total + 1), Notice)


# -- solutions, modes, rendering -------------------------------------------------------------

def test_solution_asks_first_when_nothing_was_tried():
    exercise = fresh(exercises.lesson00.q1)
    first = exercise.solution()
    assert isinstance(first, Notice) and "again" in first.message
    assert "0.025" not in str(first)
    second = exercise.solution()
    assert isinstance(second, Solution) and "30 * 0.025" in second.details


def test_solution_confirm_and_after_an_attempt():
    assert isinstance(fresh(exercises.lesson00.q2).solution(confirm=True), Solution)
    exercise = fresh(exercises.lesson00.q2)
    exercise.check(3)
    assert isinstance(exercise.solution(), Solution)


def test_assigned_mode_turns_solutions_off(monkeypatch):
    monkeypatch.setenv("SCALELAB_MODE", "assigned")
    exercise = fresh(exercises.lesson00.q5)
    exercise.check(3)
    answer = exercise.solution(confirm=True)
    assert isinstance(answer, Notice) and "math.log" not in str(answer)
    assert isinstance(exercise.hint(), Hint)


def test_check_without_an_answer_explains_how():
    outcome = fresh(exercises.lesson00.q1).check()
    assert outcome.status == "not_attempted" and "check(q1_utilization)" in outcome.message


@pytest.mark.parametrize("kind", [Correct, Incorrect, NotAttempted, Error, Recorded])
def test_outcomes_render_with_a_word_and_an_icon_not_colour_alone(kind):
    outcome = kind("a <b>message</b> with `code`", details="line 1\nline 2", exercise="x.q1")
    html = outcome._repr_html_()
    assert outcome.word in html and outcome.icon in html and outcome.colour in html
    assert "&lt;b&gt;" in html and "<code>code</code>" in html
    text = str(outcome)
    assert text.startswith(f"{outcome.icon} {outcome.word} · x.q1: a <b>message</b>")
    assert "    line 2" in text and repr(outcome) == text
    assert bool(outcome) == (outcome.status == "pass")


def test_prediction_is_acknowledged_not_graded():
    exercise = fresh(exercises.lesson00.q4)
    assert exercise.points == 0
    outcome = exercise.check(3)
    assert isinstance(outcome, Recorded) and outcome.passed and "not graded" in outcome.message
    assert exercise.check(...).status == "not_attempted"


def test_choice_accepts_letters_in_common_forms():
    exercise = exercises.lesson00.q3
    for answer in ("b", "B", " (b) ", "b)"):
        assert exercise.check(answer).passed, answer
    assert "one of" in exercise.check("z").message
    assert exercise.check(2).status == "fail"


def test_number_mistakes_and_types():
    exercise = exercises.lesson00.q1
    assert "percentage" in exercise.check(75).message
    assert "without quotes" in exercise.check("0.75").message
    assert exercise.check(float("nan")).status == "fail"
    assert exercise.check(True).status == "fail"


@given(st.floats(-3, 3))
def test_number_tolerance_is_what_it_says(offset):
    exercise = Number(title="t", prompt="p", answer="a", expected=10.0, tolerance=0.5,
                      solution="a = 10")
    assert exercise.check(10.0 + offset).passed == (abs(offset) <= 0.5)


def test_relative_tolerance_is_stated_and_used():
    exercise = exercises.lesson01.q4
    assert "±2%" in exercise.prompt
    assert exercise.check(exercise.expected * 1.019).passed
    assert not exercise.check(exercise.expected * 1.03).passed


def test_the_answer_is_passed_in_never_read_from_globals():
    exercise = fresh(exercises.lesson00.q1)
    q1_utilization = 0.75  # noqa: F841 - must be ignored: check() reads only its argument
    assert exercise.check(0.1).status == "fail"


def test_find_and_lazy_modules():
    assert exercises.find("lesson00.q5") is exercises.lesson00.q5
    assert sl.exercises.lesson01 is exercises.lesson01
    with pytest.raises(ValueError, match="lesson00 has no exercise q99"):
        exercises.find("lesson00.q99")
    with pytest.raises(ValueError, match="look like"):
        exercises.find("q1")


def test_answer_names_are_unique_within_a_lesson():
    with pytest.raises(ValueError, match="unique"):
        exercises.register({"q1": Number(title="a", prompt="p", answer="x", expected=1,
                                          tolerance=0, solution="x = 1"),
                            "q2": Number(title="b", prompt="p", answer="x", expected=1,
                                         tolerance=0, solution="x = 1")},
                           lesson="lesson99", notebook="99-x.ipynb", title="x")


def test_learner_output_during_checks_is_kept_short():
    noisy = run_cell("def max_rate(service_time, slo_p95):\n"
                "    for i in range(1000):\n        print('step', i)\n"
                "    return -1", "max_rate")
    outcome = fresh(exercises.lesson00.q5).check(noisy)
    assert "printed 1000 lines" in outcome.details and "step 19" in outcome.details
    assert "step 20" not in outcome.details


# -- balancer code: any correct implementation passes; feedback names the misrouted request ------

CORRECT_BALANCERS = {
    "min over healthy": "class FewestInFlight(sl.balancers.Balancer):\n"
                        "    def pick(self, instances, request):\n"
                        "        healthy = [i for i in instances if i.healthy]\n"
                        "        return min(healthy, key=lambda i: i.inflight) "
                        "if healthy else None",
    "random tie-break, returns an index":
        "class FewestInFlight(sl.balancers.Balancer):\n"
        "    def pick(self, instances, request):\n"
        "        up = [i.index for i in instances if i.healthy]\n"
        "        if not up:\n            return None\n"
        "        low = min(instances[j].inflight for j in up)\n"
        "        tied = [j for j in up if instances[j].inflight == low]\n"
        "        return tied[int(self.rng.integers(len(tied)))]",
    "own counts from the hooks":
        "class FewestInFlight(sl.balancers.Balancer):\n"
        "    def reset(self):\n        self.count = {}\n"
        "    def on_start(self, instance, request):\n"
        "        self.count[instance.index] = self.count.get(instance.index, 0) + 1\n"
        "    def on_finish(self, instance, request, latency):\n"
        "        self.count[instance.index] -= 1\n"
        "    def pick(self, instances, request):\n"
        "        up = [i for i in instances if i.healthy]\n"
        "        return min(up, key=lambda i: self.count.get(i.index, 0)) if up else None",
}


@pytest.mark.parametrize("source", CORRECT_BALANCERS.values(), ids=CORRECT_BALANCERS.keys())
def test_any_correct_balancer_passes_every_check(source):
    balancer = run_cell(source, "FewestInFlight")
    assert fresh(exercises.lesson02.q3).check(balancer).passed
    assert exercises.lesson02.q3.grade(balancer).passed
    assert exercises.lesson02.q3.grade(balancer()).passed  # an instance is accepted too


def test_balancer_feedback_names_the_first_misrouted_request():
    busiest = run_cell("class FewestInFlight(sl.balancers.Balancer):\n"
                  "    def pick(self, instances, request):\n"
                  "        up = [i for i in instances if i.healthy]\n"
                  "        return max(up, key=lambda i: i.inflight) if up else None",
                  "FewestInFlight")
    outcome = fresh(exercises.lesson02.q3).check(busiest)
    assert outcome.status == "fail"
    assert re.match(r"Request \d+ at t=\d+\.\d\d s went to instance \d+ \(\d+ in flight\), "
                    r"while instance \d+ had \d+ in flight", outcome.message), outcome.message
    assert "✓ passes the conformance suite" in outcome.details


# -- the learner's own code --------------------------------------------------------------------

BORROWED = {
    "lesson02.q3 calls LeastConnections.pick": (
        "lesson02", "q3", "FewestInFlight", "LeastConnections.pick",
        "class FewestInFlight(sl.balancers.Balancer):\n"
        "    def pick(self, instances, request):\n"
        "        return sl.balancers.LeastConnections().pick(instances, request)"),
    "lesson02.q3 hides the call in try/except": (
        "lesson02", "q3", "FewestInFlight", "LeastConnections.pick",
        "class FewestInFlight(sl.balancers.Balancer):\n"
        "    def pick(self, instances, request):\n"
        "        try:\n"
        "            return sl.balancers.JoinShortestQueue().pick(instances, request)\n"
        "        except Exception:\n"
        "            return None"),
    "lesson02.q3 inherits LeastConnections": (
        "lesson02", "q3", "FewestInFlight", "LeastConnections.pick",
        "class FewestInFlight(sl.balancers.LeastConnections):\n    pass"),
    "lesson02.q3 calls super().pick": (
        "lesson02", "q3", "FewestInFlight", "LeastConnections.pick",
        "class FewestInFlight(sl.balancers.LeastConnections):\n"
        "    def pick(self, instances, request):\n"
        "        return super().pick(instances, request)"),
    "lesson03.q5 hands the healthy case to LeastConnections": (
        "lesson03", "q5", "PanicAware", "LeastConnections.pick",
        "class PanicAware(sl.balancers.Balancer):\n"
        "    def pick(self, instances, request):\n"
        "        if 2 * sum(i.healthy for i in instances) >= len(instances):\n"
        "            return sl.balancers.LeastConnections().pick(instances, request)\n"
        "        return min(instances, key=lambda i: i.inflight)"),
    "lesson04.q4 calls Sticky.pick": (
        "lesson04", "q4", "StickyByUser", "Sticky.pick",
        "class StickyByUser(sl.balancers.Balancer):\n"
        "    def reset(self):\n        self.inner = sl.balancers.Sticky()\n"
        "    def pick(self, instances, request):\n"
        "        return self.inner.pick(instances, request)"),
    "lesson05.q4 calls HPA.recommend": (
        "lesson05", "q4", "hpa_replicas", "HPA.recommend",
        "def hpa_replicas(ready, utilization_percent, target_percent):\n"
        "    hpa = sl.autoscalers.HPA(target_utilization=target_percent / 100)\n"
        "    return hpa.recommend([utilization_percent * 10] * ready)"),
}


@pytest.mark.parametrize("lesson, name, answer, builtin, source", BORROWED.values(),
                         ids=BORROWED.keys())
def test_code_that_hands_the_work_to_a_built_in_gets_no_marks(lesson, name, answer, builtin,
                                                               source):
    exercise = getattr(getattr(exercises, lesson), name)
    learner = run_cell(source, answer)
    for outcome in (fresh(exercise).check(learner), exercise.grade(learner)):
        assert outcome.status == "fail", outcome.message
        assert "built-in" in outcome.message and builtin.split(".")[1] in outcome.message
    if "calls" in outcome.message:
        assert builtin.split(".")[0] in outcome.message or "JoinShortestQueue" in outcome.message


def test_a_built_in_may_still_run_inside_the_checks():
    # the sticky exercise's own scenarios and suite run sl.balancers code; a learner's sticky
    # balancer that sends new users through the built-in round robin is still their own
    source = ("class StickyByUser(sl.balancers.Balancer):\n"
              "    def reset(self):\n"
              "        self.pinned, self.fallback = {}, sl.balancers.RoundRobin()\n"
              "    def pick(self, instances, request):\n"
              "        home = self.pinned.get(request.user)\n"
              "        if home is not None and instances[home].healthy:\n"
              "            return instances[home]\n"
              "        choice = self.fallback.pick(instances, request)\n"
              "        if choice is not None and request.user is not None:\n"
              "            self.pinned[request.user] = choice.index\n"
              "        return choice")
    outcome = fresh(exercises.lesson04.q4).check(run_cell(source, "StickyByUser"))
    assert outcome.passed, outcome.message


# -- the progress list agrees with the verdict ----------------------------------------------

def test_a_property_broken_by_a_later_call_is_crossed_where_it_is_listed():
    # right on the SLO, but negative where no rate works: "returns a rate" is what failed
    learner = run_cell("def max_rate(service_time, slo_p95):\n"
                       "    import math\n"
                       "    return 1 / service_time - math.log(20) / slo_p95", "max_rate")
    outcome = fresh(exercises.lesson00.q5).check(learner)
    assert outcome.status == "fail" and "a rate cannot be negative" in outcome.message
    listed = outcome.details.splitlines()
    assert "✗ returns a rate (a number ≥ 0)" in listed
    assert not any(line.startswith("✓ returns a rate") for line in listed)
    assert "· returns 0 when no rate meets the SLO (work 0.1 s, SLO 0.25 s)" in listed


# -- known mistakes inside the tolerance are named ----------------------------------------------

@pytest.mark.parametrize("value, words", [
    (81.6 * 1.5, "two instances' breaking point scaled by 3/2"),
    (81.61585 * 1.5, "two instances' breaking point scaled by 3/2"),
    (169.0 * 0.75, "four instances' breaking point scaled by 3/4"),
])
def test_a_known_wrong_reasoning_inside_the_tolerance_is_named(value, words):
    q1 = exercises.lesson06.q1
    assert abs(value - q1.expected) <= q1.tolerance * q1.expected  # it would have passed
    outcome = q1.check(value)
    assert outcome.status == "fail" and words in outcome.message


@pytest.mark.parametrize("measured", [122.5, 125, 127.5])
def test_a_stair_test_measurement_is_still_accepted(measured):
    assert exercises.lesson06.q1.check(measured).passed

"""Exercises for lesson 07 · Launch day (the capstone).

Objectives checked: turn an SLO into an error budget (q1); design a service that survives
launch day within budget (q2), checked on the practice scenarios by ``check`` and graded on
held-out scenarios the learner has not seen (``grade(design, held_out_seed=…)``; the seed is
only in the instructor's copy). The written defence is graded by hand (see the lesson).

>>> from scalelab.exercises import lesson07 as ex
>>> ex.q1.check(...).status
'not_attempted'
"""

from __future__ import annotations

import traceback

from .. import capstone
from .code import Code
from .outcomes import Correct, Error, Incorrect, Outcome
from .problem import Choice, Number, register

FORECAST_REQUESTS = 77_987  # requests on the forecast day (the lesson prints this count)

q1 = Number(
    title="The error budget in requests",
    prompt="The forecast day brings **77,987 requests** (the cell above counted them) and the "
           "SLO is **99.5 % answered within 300 ms**. **How many requests may fail, answer "
           "late or lose their session in the whole day before the SLO is missed?** Put it in "
           "`q1_budget`.",
    answer="q1_budget", expected=FORECAST_REQUESTS * (1 - capstone.SLO_TARGET), tolerance=0.02,
    relative=True, units="requests",
    stub="q1_budget = ...  # requests",
    mistakes=[
        (FORECAST_REQUESTS * capstone.SLO_TARGET, "That is how many must go right; the budget "
                                                  "is what is left over."),
        (FORECAST_REQUESTS * 0.05, "That is 5 %; the SLO leaves half a percent."),
        (FORECAST_REQUESTS * 0.5, "That is 50 %; the SLO leaves half a percent."),
    ],
    hints=["The error budget is the share of requests the SLO allows to go wrong.",
           "99.5 % must be good, so 0.5 % may be bad: 0.005 × the day's requests."],
    solution="q1_budget = 77_987 * (1 - 0.995)",
    explanation="0.5 % of 77,987 is about 390 requests for the whole day: a single minute of "
                "a crashed instance at 20 requests per second spends most of it.",
)


class DesignExercise(Code):
    """A launch-day design: ``check`` runs the practice scenarios, ``grade`` the held-out ones
    drawn from the instructor's seed. It passes when every scenario meets the SLO within
    budget; the message lists each failed scenario's mechanism and lesson."""

    kind = "design"
    has_instructor_checks = True
    held_out = True  # the grader passes the instructor's seed to grade()
    _seed: int | None = None

    def __init__(self, **common):
        super().__init__(checks=(), instructor_checks=(), **common)

    def describe(self) -> str:
        return ("A `sl.capstone.Design`, run on the 7 practice scenarios: passes when every one "
                "meets the SLO within the money budget; the feedback names each failure's "
                "mechanism and lesson. Grading runs 7 held-out scenarios of the same families "
                "drawn from the instructor's seed (`--held-out-seed`)")

    def grade(self, answer, held_out_seed: int | None = None) -> Outcome:
        if held_out_seed is None and answer is not ...:
            return self._stamp(Error(
                "No held-out seed: the capstone is graded on scenarios drawn from the "
                "instructor's seed (`python -m scalelab grade … --held-out-seed N`, the number "
                "`python -m scalelab build` printed and wrote into the instructor's copy)."))
        self._seed = held_out_seed
        try:
            return self._run(answer, instructor=True)
        finally:
            self._seed = None

    def _judge(self, answer, instructor):
        if not isinstance(answer, capstone.Design):
            return Incorrect(f"`{self.answer}` is {answer!r}; make it "
                             "`sl.capstone.Design(size=…, min_instances=…, …)`.")
        try:
            report = capstone.grade(answer, self._seed) if instructor else \
                capstone.evaluate(answer)
        except Exception as exc:  # noqa: BLE001 - the learner's policy failed: say where
            return Error(f"Running your design raised {type(exc).__name__}: {exc}",
                         details=traceback.format_exc(limit=6))
        passed = sum(card.passed for card in report.cards)
        head = (f"{passed} of {len(report.cards)} {report.title.lower()} passed; worst error "
                f"budget spent {report.worst.budget_spent:.0%}, highest cost "
                f"${max(c.cost for c in report.cards):.2f}/day.")
        outcome = Correct(f"{head} Every scenario met the SLO within budget.") if report.passed \
            else Incorrect(f"{head}\n\n{report.feedback()}")
        outcome.data = report.summary()
        return outcome


q2 = DesignExercise(
    title="Launch day",
    prompt="Fill in `design` so that it survives every practice scenario — the SLO met and the "
           "day within the money budget — then `ex.q2.check(design)`. Your grade comes from "
           "scenarios of the same kinds that you have not seen: other spike hours and sizes, "
           "other instances failing at other times, other outage lengths. Design for the "
           "families, not for the practice set's minutes.",
    answer="design", points=10,
    stub="design = ...  # sl.capstone.Design(size=…, min_instances=…, max_instances=…, …)",
    hints=[
        "Read each failed scenario's verdict: it names what went wrong and the lesson that "
        "covers it. Fix one mechanism at a time and run `sl.capstone.evaluate` again.",
        "A design has to survive the spike in the minutes before any autoscaler can react, "
        "one machine (or a zone) lost, a store that stops, and a machine that is slow without "
        "being dead. Each has its own lesson: 05, 01 and 03, 04, 02.",
        "Keep enough instances running that losing half of them, or the first minutes of the "
        "spike, still leaves capacity; a shared store with a replica; a health check; a "
        "balancer that watches latency; an autoscaler that reacts within a minute.",
    ],
    solution="""design = sl.capstone.Design(
    size=2, min_instances=4, max_instances=12,
    balancer=sl.balancers.PeakEWMA(),
    health_check=sl.HealthCheck(interval=2, unhealthy_threshold=2),
    retries=1,
    sessions=sl.sessions.ReplicatedStore(latency=0.002, failover=5),
    autoscaler=sl.autoscalers.TargetTracking(target=0.5, scale_out_duration=60))""",
    explanation="Four 2-core machines carry the spike's first minutes and lose a zone without "
                "falling over; target tracking with a one-minute window adds more for a larger "
                "spike. PeakEWMA routes around the slow instance, the health check and one "
                "retry hide a crash, and the replicated store turns a minute of store outage "
                "into five seconds. About $25–33 a day.",
)

q3 = Choice(
    title="The signal a slow machine shows",
    prompt="One instance turns five times slower but keeps passing its health checks. On the "
           "golden-signals dashboard, **which signal shows it first?** Put the letter in "
           "`q3_choice`.",
    answer="q3_choice",
    options={"a": "Traffic: fewer requests arrive.",
             "b": "Errors: the health check fails its requests.",
             "c": "Latency: the tail (p99) rises, because the requests routed to that machine "
                  "wait, while the median hardly moves.",
             "d": "Saturation: the cluster's average utilization doubles."},
    correct="c",
    feedback={"a": "Users send as many requests as before; nothing turned them away.",
              "b": "It passes its health checks and answers every request — slowly.",
              "d": "One slow machine of several moves the average only a little; look at "
                   "what the requests routed to it experience."},
    hints=["Which requests does a slow machine hurt, and how many of them are there?",
           "A few requests out of many, each much slower: that moves a high percentile, not "
           "an average or a count."],
    solution='q3_choice = "c"',
    explanation="Only the requests that land on the slow machine suffer, so the tail of the "
                "latency rises long before any average does.",
)

register(globals(), "lesson07", "07-capstone.ipynb", "Launch day")

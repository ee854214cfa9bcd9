"""Exercises for lesson 05 · Autoscaling.

Objectives checked: compute the Kubernetes HPA's proposal by hand (q1); predict the lag of
the threshold rule (q2); why autoscaling needs stateless instances (q3); write the HPA
formula (q4); tune a policy to meet an SLO at the lowest cost on a day of traffic, checked
also on days it has not seen (q5). Times in seconds, utilization as a fraction unless a name
says ``_percent``.

>>> from scalelab.exercises import lesson05 as ex
>>> ex.q2.check(870).status
'pass'
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .. import workloads
from ..autoscalers import HPA, Autoscaler
from ..sim import simulate
from .code import Check, Fail, Function, PolicyClass
from .problem import Choice, Number, register

q1 = Number(
    title="The HPA by hand",
    prompt="A Deployment runs **6 ready pods**. Their average CPU use is **85 %** of what they "
           "request, and the HPA's target is **60 %**. **How many replicas does the HPA's "
           "formula propose?** (Stabilization and rate limits aside.) Put it in "
           "`q1_replicas`.",
    answer="q1_replicas", expected=9, tolerance=0, units="pods",
    stub="q1_replicas = ...  # a whole number of pods",
    mistakes=[
        (8.5, ("That is the formula before rounding. Half a pod cannot run: which way does "
              "the HPA round, and why that way?")),
        (8, ("You rounded down. With 8 pods the same work would still be above the 60 % "
            "target; the HPA rounds up.")),
        (5, ("The ratio is upside down: it is current utilization ÷ target, and the pods are "
            "busier than the target, so the count must grow.")),
        (4, "The ratio is upside down: it is current utilization ÷ target."),
        (6, ("The pods are 85 % busy against a 60 % target: that is far outside the 10 % "
            "tolerance, so the HPA does act.")),
    ],
    hints=[
        "The HPA spreads the same work over more pods until each is at the target.",
        "desired = ceil(ready pods × current utilization ÷ target utilization).",
        "6 × 85 / 60 = 8.5; now round the way that keeps every pod at or below the target.",
    ],
    solution="import math\nq1_replicas = math.ceil(6 * 85 / 60)  # ceil(8.5)",
    explanation="ceil(6 × 85 / 60) = ceil(8.5) = 9: nine pods share work that six did at "
                "85 %, so each is at about 57 %, just under the 60 % target. Rounding up "
                "is what keeps the pods at or below the target.",
)

q2 = Number(
    title="Predict the lag",
    prompt="A cluster of 2 instances runs the threshold rule "
           "`Threshold(scale_out_above=0.7, duration=180, cooldown=300)`, checked every "
           "**15 s**; a new instance needs **90 s** to boot. At **t = 600 s** (exactly on a "
           "control step) traffic triples, and from then on every 15-second reading is above "
           "70 %. **At what time, in seconds, does the first new instance take its first "
           "request?** Put it in `q2_first_request_at`.",
    answer="q2_first_request_at", expected=870, tolerance=30, units="s",
    stub="q2_first_request_at = ...  # seconds since the start",
    mistakes=[
        (780, ("That is when the rule fires and launches the instance. It still has to boot "
              "before it can take a request.")),
        (690, ("That counts the boot but not the window: the rule acts only after the "
              "utilization has been above 70 % for the whole `duration`.")),
        (1170, ("The cooldown only delays the *next* action; the first one is not held back "
               "by it.")),
        (270, "That is how long it takes; the question asks at what time it happens."),
    ],
    hints=[
        "Two things stand between the spike and the new instance taking traffic.",
        ("The rule needs `duration` seconds of readings above 70 %; then the instance boots "
        "for `boot_time` seconds."),
        "600 s + the window + the boot.",
    ],
    solution="q2_first_request_at = 600 + 180 + 90  # the spike + the window + the boot",
    explanation="600 + 180 + 90 = 870 s: the rule fires at 780 s, after 180 s of breaching "
                "readings, and the instance answers its first request once it has booted. "
                "For 4½ minutes the two old instances carried three times their traffic. "
                "In the simulator the 15-second readings are noisy, so the rule can fire an "
                "interval earlier or later (the check allows ±30 s).",
)

q3 = Choice(
    title="Scale-in and sessions",
    prompt="The service keeps each logged-in user's session **in the memory of the instance** "
           "that served their login; a sticky balancer keeps users on that instance. At night "
           "the autoscaler removes one instance (it drains: it finishes the requests it holds, "
           "then stops). **What happens to the users whose sessions were on it?** Put the "
           "letter in `q3_choice`.",
    answer="q3_choice",
    options={
        "a": "Nothing: their sessions move to the remaining instances with them.",
        "b": "Their next request lands on another instance that has no session for them: "
             "they must log in again.",
        "c": "Their next request fails with an error until the instance comes back.",
        "d": "The autoscaler waits until they log out before removing the instance.",
    },
    correct="b",
    feedback={
        "a": "Nothing copies process memory from one instance to another: the sessions exist "
             "only on the instance that was removed.",
        "c": "Draining finishes the requests in flight, and the balancer sends new ones to "
             "the instances that remain: the requests are answered. Look at what those "
             "instances know about the user.",
        "d": "Autoscalers remove instances by count, not by who is logged in; no built-in "
             "here (or in AWS or Kubernetes) waits for sessions to end.",
    },
    hints=[
        ("Where does the session live, and what happens to that memory when the process "
        "stops?"),
        ("The balancer still answers: it picks one of the remaining instances. Does that "
        "instance know the user?"),
    ],
    solution='q3_choice = "b"',
    explanation="The session lived only in the removed instance's memory, so the user's next "
                "request finds none and they are logged out. That is why autoscaling needs "
                "stateless instances: keep sessions in a shared store (lesson 04), and any "
                "instance can be removed at any time without anyone noticing.",
)

# -- q4: the HPA formula, in code ------------------------------------------------------------------


def _hpa_answers(ready: int, utilization_percent: int, target_percent: int) -> set[int]:
    """What Kubernetes computes (float64, as in Go) and the exact rational result; they differ
    only on float dust, and either is accepted."""
    ratio = utilization_percent / target_percent
    go = ready if abs(1.0 - ratio) <= 0.1 else math.ceil(ratio * ready)
    exact_ratio = Fraction(utilization_percent, target_percent)
    exact = ready if abs(1 - exact_ratio) <= Fraction(1, 10) else \
        math.ceil(exact_ratio * ready)
    return {go, exact}


def _returned_count(value, call: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer, float, np.floating)):
        raise Fail(f"`{call}` returned {value!r}, not a number of pods"
                   f"{' (did you forget `return`?)' if value is None else ''}.")
    if not (math.isfinite(value) and value == int(value)):
        raise Fail(f"`{call}` returned {value!r}: half a pod cannot run — round it.")
    return int(value)


def _describe_count(count: int, ready: int, utilization: int, target: int) -> str:
    if count <= 0:
        return "A Deployment cannot run on zero pods here."
    spread = ready * utilization / count
    if abs(utilization / target - 1) <= 0.1 and count != ready:
        return (f"{utilization} % is within 10 % of the {target} % target, where the HPA "
                "leaves the count alone.")
    if spread > target:
        return (f"With {count} pods the same work is {spread:.1f} % each — still above the "
                f"{target} % target.")
    return (f"With {count} pods the same work is {spread:.1f} % each; the formula rounds up "
            "to the *smallest* count that reaches the target, and this is more than that.")


def _matches_the_formula(cases):
    def run(fn, runner):
        for ready, utilization, target in cases:
            call = f"hpa_replicas({ready}, {utilization}, {target})"
            count = _returned_count(runner.call(call, fn, ready, utilization, target), call)
            if count not in _hpa_answers(ready, utilization, target):
                raise Fail(f"`{call}` returned {count}. "
                           + _describe_count(count, ready, utilization, target))
    return run


def _random_cases(seed: int, count: int) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    return [(int(rng.integers(1, 40)), int(rng.integers(0, 101)),
             int(rng.choice([40, 50, 60, 70, 80]))) for _ in range(count)]


q4 = Function(
    title="The HPA formula",
    prompt="Write `hpa_replicas(ready, utilization_percent, target_percent)`: the replica "
           "count Kubernetes' HPA proposes for `ready` pods whose average CPU use is "
           "`utilization_percent` (a whole percent of their request) against a "
           "`target_percent` target. Keep the count when utilization ÷ target is within "
           "**0.1** of 1 (the tolerance); otherwise spread the work so that each pod is at "
           "the target or just below it. The check calls it on the documented cases and on "
           "seeded random ones.",
    answer="hpa_replicas", own_code=[(HPA, "recommend"), (HPA, "desired")],
    stub='''def hpa_replicas(ready, utilization_percent, target_percent):
    """Pods the HPA proposes: ready pods at utilization_percent, target target_percent."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    solution='''def hpa_replicas(ready, utilization_percent, target_percent):
    """Pods the HPA proposes: ready pods at utilization_percent, target target_percent."""
    import math
    ratio = utilization_percent / target_percent
    if abs(1.0 - ratio) <= 0.1:          # within the tolerance: leave it alone
        return ready
    return math.ceil(ratio * ready)''',
    checks=[
        Check("the worked cases: 4 pods at 90 % → ?, 10 pods at 54 % and at 56 % (target "
              "50 %)", _matches_the_formula([(4, 90, 50), (10, 54, 50), (10, 56, 50)])),
        Check("scales down when the pods are idle, and never below 1 for a busy pod",
              _matches_the_formula([(10, 20, 50), (8, 5, 60), (1, 100, 50), (3, 60, 60)])),
        Check("40 seeded random cases (seed 4)", _matches_the_formula(_random_cases(4, 40))),
    ],
    instructor_checks=[
        Check("200 seeded random cases (seed 404)",
              _matches_the_formula(_random_cases(404, 200))),
    ],
    hints=[
        "Work out the ratio utilization ÷ target first: above 1 the pods are too busy.",
        "If |1 − ratio| ≤ 0.1, return `ready` unchanged.",
        "Otherwise `math.ceil(ratio * ready)`: the same work spread at the target, rounded up.",
    ],
    explanation="desired = ceil(ready × utilization ÷ target), unless the ratio is within "
                "the tolerance of 1. Rounding up keeps every pod at or below the target; the "
                "tolerance stops the HPA from chasing noise. The real controller then "
                "smooths this proposal: the highest of the last 5 minutes for scaling down, "
                "and at most 4 pods or 100 % more per 15 s for scaling up.",
    points=3,
)

# -- q5: tune a policy for an SLO at the lowest cost -----------------------------------------------

SLO_SECONDS = 10.0
SLO_MISSES_ALLOWED = 0.01     # at most 1 % of requests slower than 10 s (or failed)
BUDGET_INSTANCE_HOURS = 96.0  # cheaper than running 4 instances all day
GIVEN_DAY = {"seed": 11, "amplitude": 0.7}


def _day(seed: int, amplitude: float):
    return workloads.diurnal(mean_rate=2.0, amplitude=amplitude, seed=seed)


def _conformance(make, runner):
    from ..testing import check_autoscaler

    policy = make(runner)
    report = runner.call("check_autoscaler(my_autoscaler)", check_autoscaler, policy)
    if not report.passed:
        first = report.failed[0]
        raise Fail(f"`check_autoscaler` found a problem first — {first.name}: {first.message}")


def _meets_the_slo_on(seed: int, amplitude: float, label: str):
    def run(make, runner):
        policy = make(runner)
        day = _day(seed, amplitude)
        result = runner.call(
            f"sl.simulate(day, autoscaler=my_autoscaler, …) on {label}", simulate, day,
            instances=2, service_time=1.0, autoscaler=policy, min_instances=1,
            max_instances=10, boot_time=60.0, seed=seed)
        records = result.requests
        slow = float(np.mean((records["status"] != 0)
                             | (records["end"] - records["arrival"] > SLO_SECONDS)))
        cost = result.instance_seconds / 3600
        too_slow = slow > SLO_MISSES_ALLOWED
        too_dear = cost >= BUDGET_INSTANCE_HOURS
        if too_slow or too_dear:
            verdicts = []
            if too_slow:
                verdicts.append(f"at most {SLO_MISSES_ALLOWED:.0%} may miss the SLO")
            if too_dear:
                verdicts.append(f"the budget is under {BUDGET_INSTANCE_HOURS:g} instance-hours")
            launches = sum(1 for event in result.events if event[2] == "launch")
            raise Fail(f"On {label} your policy cost {cost:.1f} instance-hours and {slow:.2%} "
                       f"of requests took longer than {SLO_SECONDS:g} s ({launches} scale-outs "
                       f"over the day): {' and '.join(verdicts)}.")
    return Check(f"on {label}: at most {SLO_MISSES_ALLOWED:.0%} of requests slower than "
                 f"{SLO_SECONDS:g} s, under {BUDGET_INSTANCE_HOURS:g} instance-hours", run)


class _AutoscalerPolicy(PolicyClass):
    def _method(self) -> str:
        return "desired"


q5 = _AutoscalerPolicy(
    title="Meet the SLO, spend less",
    prompt="A day of traffic: `sl.workloads.diurnal(mean_rate=2.0, amplitude=0.7, seed=11)` "
           "(quiet at midnight, busiest at noon), each request needs 1 s of work "
           "(`service_time=1.0`), instances boot in 60 s, the cluster starts with 2 and may "
           "use 1 to 10. **Make `my_autoscaler` an autoscaler** — a built-in with your "
           "settings, or your own class — such that at most **1 %** of the day's requests "
           "take longer than **10 s**, for **under 96 instance-hours** (4 instances all day "
           "cost 96 and miss the SLO). The threshold rule with its defaults misses the "
           "SLO. The check runs the conformance suite, then your policy on this day and on "
           "another day it has not seen (seed 12); grading adds more days.",
    answer="my_autoscaler", base=Autoscaler,
    stub="my_autoscaler = ...  # e.g. sl.autoscalers.Threshold(...) with your settings",
    solution="import scalelab as sl\n"
             "my_autoscaler = sl.autoscalers.Threshold(scale_out_above=0.7, scale_in_below=0.4,"
             "\n                                         duration=60, cooldown=60)",
    checks=[
        Check("passes check_autoscaler", _conformance),
        _meets_the_slo_on(**GIVEN_DAY, label="the given day (seed 11)"),
        _meets_the_slo_on(seed=12, amplitude=0.7, label="another day (seed 12)"),
    ],
    instructor_checks=[
        _meets_the_slo_on(seed=13, amplitude=0.8, label="a busier day (seed 13, ±80 %)"),
        _meets_the_slo_on(seed=14, amplitude=0.6, label="a flatter day (seed 14, ±60 %)"),
    ],
    time_limit=90.0,
    hints=[
        ("Run `scenarios.autoscaling_series(result)` on your own runs: `instance_hours` and "
        "`slow` are the two numbers the check reads."),
        ("The default rule is too slow to react: look at the window (`duration`) and the "
        "cooldown. A wider gap between the thresholds avoids flapping."),
        ("A one-minute window and cooldown react in time; scaling in a little earlier "
        "(`scale_in_below=0.4`) saves instance-hours at night."),
    ],
    explanation="`Threshold(scale_out_above=0.7, scale_in_below=0.4, duration=60, "
                "cooldown=60)` reacts within about two minutes and gives instances back "
                "when utilization falls below 40 %: about 90 instance-hours with well under "
                "1 % of requests too slow, on each day. Other answers work too, e.g. "
                "`HPA(target_utilization=0.85)`. A fixed cluster cannot do it: 4 instances "
                "miss the SLO at noon, 5 cost 120 instance-hours.",
    points=4,
)

register(globals(), lesson="lesson05", notebook="05-autoscaling.ipynb", title="Autoscaling")

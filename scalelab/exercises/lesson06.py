"""Exercises for lesson 06 · Load testing.

Objectives checked: find a breaking point by an SLO to within 5 % (q1); size a closed-loop
generator with Little's law (q2); explain what a closed loop hides (q3); design a load test
that reveals a too-long warm-up, checked by running it against a cluster that boots fast and
one that boots slowly (q4); find the load below which a retry storm dies out (q5). Times in
seconds, rates in requests per second.

>>> from scalelab.exercises import lesson06 as ex
>>> ex.q2.check(450).status
'pass'
"""

from __future__ import annotations

import math

from ..autoscalers import HPA
from ..loadtest import LatencyAbove, Shape, Simulated, run
from .code import Check, Fail, Function, _short
from .problem import Choice, Number, register

# -- q1: the breaking point of 3 instances -------------------------------------------------------

API_WORK = 0.02   # s per request (exponential)
API_SLO = 0.25    # s, p95


def _round_robin_breaking_rate(instances: int, work: float, slo: float) -> float:
    """The rate at which ``instances`` E_n/M/1 queues behind round robin reach a p95 of ``slo``.

    The response time of E_n/M/1 is exponential with rate μ(1 − σ), so p95 = ln 20 / (μ(1 − σ))
    fixes σ, and σ = (nλ' / (nλ' + μ(1 − σ)))ⁿ then gives the per-instance rate λ'."""
    mu = 1 / work
    sigma = 1 - math.log(20) / (slo * mu)
    root = sigma ** (1 / instances)
    per_instance = root * mu * (1 - sigma) / (instances * (1 - root))
    return instances * per_instance


q1 = Number(
    title="Find the breaking point",
    prompt="The lesson's API (20 ms of work per request, exponential; round robin) now runs on "
           "**3 instances**. Its SLO: **p95 within 250 ms**. **Find its breaking point by the "
           "SLO**: the highest offered rate, in requests per second, at which the p95 stays "
           "within 250 ms. Measure it with `sl.loadtest` — steps fine enough and long enough — "
           "or work it out from theory. Put it in `q1_breaking_rate`.",
    answer="q1_breaking_rate", expected=_round_robin_breaking_rate(3, API_WORK, API_SLO),
    tolerance=0.05, relative=True, units="requests/s",
    stub="q1_breaking_rate = ...  # requests per second",
    mistakes=[
        (150, ("That is the capacity, 3 × 50 requests/s: where the achieved throughput stops "
               "following the offered load. The latency SLO breaks well before that.")),
        (142.5, ("That is 95 % of the capacity. The throughput criterion trips near there; the "
                 "p95 has crossed 250 ms long before.")),
        (135, ("That is the first step of a 10 % stair that broke. The breaking point lies "
               "between the last step that held and this one: refine with finer steps.")),
        # two and four instances' breaking points scaled to three: inside the tolerance, so
        # matched to within 0.05 requests/s (the product as typed) and named before acceptance
        (1.5 * _round_robin_breaking_rate(2, API_WORK, API_SLO),
         ("That is two instances' breaking point scaled by 3/2. Breaking points do not scale "
          "in proportion: each instance added smooths every instance's arrivals, so three "
          "may run busier than 3/2 × two. Measure three, or work them out from theory."),
         0.05),
        (0.75 * _round_robin_breaking_rate(4, API_WORK, API_SLO),
         ("That is four instances' breaking point scaled by 3/4. Breaking points do not scale "
          "in proportion: three instances may run less busy than 3/4 × four. Measure three, "
          "or work them out from theory."), 0.05),
        (3 * _round_robin_breaking_rate(1, API_WORK, API_SLO),
         ("That is three times one instance's breaking point. Behind round robin each "
          "instance receives every third request, a steadier stream than random arrivals, "
          "so three instances can run busier than one before the p95 breaks.")),
    ],
    hints=[
        ("Run the lesson's stair test on 3 instances, `scenarios.step_test(3)`: "
         "`breaking_slo` is the first step whose p95 broke the SLO. The breaking point lies "
         "between it and the step before."),
        ("Refine between those two steps: `sl.loadtest.steps(rates, 300)` with rates 2.5 "
         "requests/s apart, run against `sl.loadtest.Simulated(instances=3, "
         "service_time=0.02)` with `criterion=sl.loadtest.LatencyAbove(0.25)`."),
        ("Or theory: `sl.theory.round_robin(rate, 0.02, 3).response_percentile(0.95)` is the "
         "p95 at `rate`; find the rate where it equals 0.25 s (try values, or bisect)."),
    ],
    solution="import scalelab as sl\n"
             "lo, hi = 0.0, 150.0  # the p95 grows with the rate: bisect on theory's p95\n"
             "for _ in range(60):\n"
             "    mid = (lo + hi) / 2\n"
             "    p95 = sl.theory.round_robin(mid, 0.02, 3).response_percentile(0.95)\n"
             "    lo, hi = (mid, hi) if p95 <= 0.25 else (lo, mid)\n"
             "q1_breaking_rate = lo  # a stair test with 2.5/s steps finds 122.5–127.5",
    explanation="About 125 requests/s: 84 % of the 150 requests/s the three instances can "
                "serve. Theory (three E₃/M/1 queues, one per instance) gives 125.3; a stair "
                "test with steps of 2.5 requests/s, five minutes each, breaks at 125 or "
                "127.5 depending on the seed. One instance breaks at 76 % of its capacity, "
                "two at 82 %: the more instances share the traffic, the busier each may run.",
)

# -- q2: Little's law for a closed loop ------------------------------------------------------------

q2 = Number(
    title="How many users?",
    prompt="A closed-loop tool (Locust, or k6's `constant-vus`) runs virtual users that each "
           "send a request, wait for the answer, then **think for 4 s** before the next one. "
           "The service answers in **0.5 s**. **How many users do you need to offer 100 "
           "requests/s?** Put it in `q2_users`.",
    answer="q2_users", expected=450, tolerance=0.01, relative=True, units="users",
    stub="q2_users = ...  # a number of virtual users",
    mistakes=[
        (400, ("That counts the think time only. Each user also spends the response time "
               "waiting for its answer, and sends nothing meanwhile.")),
        (50, ("That counts the response time only: between two requests a user also thinks "
              "for 4 s.")),
        (25, "That is 100 ÷ 4: users = rate × (response time + think time), a product."),
        (100 / 4.5, ("That is 100 ÷ 4.5: users = rate × (response time + think time), a "
                     "product.")),
    ],
    hints=[
        "Follow one user: how long is one round trip, from one send to the next?",
        ("One user sends one request every 0.5 + 4 = 4.5 s. How many such users make 100 "
         "requests per second?"),
        "Little's law: users = rate × (response time + think time).",
    ],
    solution="q2_users = 100 * (0.5 + 4)  # Little's law: N = X × (R + Z)",
    explanation="N = X × (R + Z) = 100 × 4.5 = 450 users. The catch: if the service slows "
                "down to 1.5 s, the same 450 users offer only 450 / 5.5 ≈ 82 requests/s. A "
                "closed loop eases off exactly when the server struggles, so it never "
                "measures the load it was meant to offer.",
)

# -- q3: what a closed loop hides ----------------------------------------------------------------

q3 = Choice(
    title="What the closed loop missed",
    prompt="A closed-loop test with 20 users at a steady **200 requests/s** reports a p99 of "
           "**35 ms**. During the test the server froze for **2 s every minute** (a garbage "
           "collector). **What does an open-loop test at the same 200 requests/s report, and "
           "why?** Put the letter in `q3_choice`.",
    answer="q3_choice",
    options={
        "a": "About the same p99: both tests hit the same pauses.",
        "b": "A p99 of a second or more: requests keep arriving on schedule during each "
             "pause and all of them wait, while the closed loop's users simply stopped "
             "sending.",
        "c": "A lower p99: the open loop spreads its requests more evenly.",
        "d": "Errors instead of latency: requests sent during a pause are lost.",
    },
    correct="b",
    feedback={
        "a": "The pauses are the same, but who gets caught in them is not. Count how many "
             "requests each test sends during one 2-second pause.",
        "c": "Random or even, 200 requests/s still arrive while the server is frozen. Where do "
             "those requests wait, and for how long?",
        "d": "Nothing is dropped here: a paused server keeps its connections and answers "
             "when it resumes. The open loop's requests are late, not lost.",
    },
    hints=[
        "In a closed loop, what does a user do while its request is stuck?",
        ("In 2 s at 200 requests/s, 400 requests are due. The closed loop sends at most 20 "
         "of them (one per user); the open loop sends all 400. Which share of a minute's "
         "12 000 requests is that?"),
    ],
    solution='q3_choice = "b"',
    explanation="An open loop sends on schedule, so 400 requests arrive during each pause and "
                "wait up to 2 s: over 3 % of all requests, which puts the p99 above a second. "
                "The closed loop's 20 users each had one request stuck and then sent nothing: "
                "20 slow samples in 12 000, under 1 %, and the p99 looks healthy. That is "
                "coordinated omission: the tool coordinated with the server and left out the "
                "requests that would have suffered.",
)

# -- q4: design a test that reveals a too-long warm-up ------------------------------------------

SLO_SECONDS = 10.0
SHORT_BOOT, LONG_BOOT = 60.0, 300.0
MAX_TEST_SECONDS = 3600.0
MAX_INSTANCES = 12


def cluster(boot_time: float) -> Simulated:
    """The photo service the check rehearses: 1 s per request, 2–12 instances, the HPA at a
    50 % target every 15 s, new instances ready ``boot_time`` s after launch."""
    return Simulated(instances=2, service_time=1.0, autoscaler=HPA(target_utilization=0.5),
                     min_instances=2, max_instances=MAX_INSTANCES, control_interval=15.0,
                     boot_time=boot_time)


RETURNS_A_SHAPE = "returns a load shape of at most 60 minutes"


def _shape_of(fn, runner) -> Shape:
    """What ``warmup_test()`` returns; else a failure of the "returns a load shape" check."""
    shape = runner.call("warmup_test()", fn)
    if not isinstance(shape, Shape):
        forgot = " (did you forget `return`?)" if shape is None else ""
        raise Fail(f"`warmup_test()` returned {_short(shape)}{forgot}, not a load shape: build "
                   "one with `sl.loadtest.ramp(…)`, `steps(…)`, `stages(…)`, `spike(…)` or "
                   "`soak(…)`.", check=RETURNS_A_SHAPE)
    if shape.duration > MAX_TEST_SECONDS:
        raise Fail(f"Your test runs for {shape.duration / 60:.0f} minutes; a rehearsal must fit "
                   f"in {MAX_TEST_SECONDS / 60:.0f}.", check=RETURNS_A_SHAPE)
    return shape


def _peak(shape: Shape) -> float:
    return max(max(s.start_rate, s.end_rate) for s in shape.stages)


def _describe(shape: Shape) -> str:
    return f"{shape.name}, {shape.duration / 60:.3g} min, peak {_peak(shape):g} requests/s"


def _worst(report) -> float:
    values = [row["p95"] for row in report.rows if not math.isnan(row["p95"])]
    return max(values) if values else math.nan


def _returns_a_shape(fn, runner):
    _shape_of(fn, runner)


def _tells_apart(seed: int, short: float = SHORT_BOOT, long: float = LONG_BOOT):
    label = f"seed {seed}"

    def check(fn, runner):
        shape = _shape_of(fn, runner)
        criterion = LatencyAbove(SLO_SECONDS)
        fast = run(shape, cluster(short), criterion=criterion, seed=seed)
        slow = run(shape, cluster(long), criterion=criterion, seed=seed)
        if fast.breaking_point is not None:
            row = fast.rows[fast.broken_stage]
            if _peak(shape) > 0.8 * MAX_INSTANCES:
                why = (f"its peak, {_peak(shape):g} requests/s, is more than the "
                       f"{MAX_INSTANCES} instances the cluster may use can serve within the SLO")
            else:
                why = "the load rises faster than even instances that boot in a minute can follow"
            raise Fail(f"On {label}, against the cluster whose instances boot in {short:g} s, "
                       f"your test ({_describe(shape)}) found a breaking point at "
                       f"{row['offered']:.3g} requests/s offered (that stage's p95: "
                       f"{row['p95']:.3g} s, over the {SLO_SECONDS:g} s SLO). A healthy "
                       f"cluster must pass it, but {why}.")
        if slow.breaking_point is None:
            raise Fail(f"On {label}, against the cluster whose instances boot in {long:g} s, "
                       f"your test ({_describe(shape)}) found no breaking point (worst stage "
                       f"p95: {_worst(slow):.3g} s): the load grew slowly enough, or stayed low "
                       "enough, that even slow instances arrived in time. A test that cannot "
                       "tell these two clusters apart lets the slow warm-up reach launch day.")
    return Check(f"{label}: passes with a {short:g} s warm-up, breaks with a {long:g} s one",
                 check)


class _ShapeDesign(Function):
    """A function that returns a load shape; checked by running the shape."""

    kind = "test design"


q4 = _ShapeDesign(
    title="A test that catches a slow warm-up",
    prompt="New instances that take too long to boot are a classic launch-day failure, and a "
           "load test can catch it — if it is designed to. **Write `warmup_test()`, returning "
           "a load shape** (`sl.loadtest.ramp`, `steps`, `stages`, `spike` or `soak`) of at "
           "most 60 minutes. The check runs it, open loop, against two clusters of the photo "
           "service (1 s of work per request; 2 to 12 instances; the HPA at a 50 % target, "
           "every 15 s) that differ only in how long a new instance takes to boot: **60 s** "
           "and **300 s**. Every stage is judged by the SLO, p95 within 10 s "
           "(`sl.loadtest.LatencyAbove(10)`). Your test must **pass the 60-second cluster and "
           "find a breaking point in the 300-second one**, on two seeds; grading adds more. "
           "Try a shape on both with `scenarios.rehearsal(boot_time=…, shape=…, seed=…)` "
           "(the same clusters).",
    answer="warmup_test",
    stub='''def warmup_test():
    """A load shape whose report tells a 60 s warm-up from a 300 s one."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    solution='''def warmup_test():
    """A load shape whose report tells a 60 s warm-up from a 300 s one."""
    import scalelab as sl
    # demand doubles in a few minutes: faster than a 300 s boot, slower than a 60 s one
    return sl.loadtest.ramp(1, 8, duration=900, windows=10)''',
    checks=[
        Check(RETURNS_A_SHAPE, _returns_a_shape),
        _tells_apart(seed=1),
        _tells_apart(seed=2),
    ],
    instructor_checks=[
        _tells_apart(seed=3),
        _tells_apart(seed=4),
        _tells_apart(seed=5, short=45.0, long=240.0),
    ],
    time_limit=60.0,
    hints=[
        ("The lesson's 30-minute ramp catches a 10-minute warm-up but not, on every seed, a "
         "5-minute one. Try it: `scenarios.rehearsal(boot_time=300, seed=1)`."),
        ("At a 50 % target the autoscaler keeps twice the capacity it uses. The cluster "
         "breaks when demand more than doubles while new instances boot: make the load grow "
         "that fast within 300 s, but not within 60 s."),
        ("A ramp from 1 to 8 requests/s over about a quarter of an hour does it; check both "
         "clusters on a few seeds before you submit."),
    ],
    explanation="`sl.loadtest.ramp(1, 8, duration=900, windows=10)`: demand doubles in a few "
                "minutes. Instances that boot in a minute arrive while the cluster still has "
                "headroom; instances that boot in five arrive after it has run out, and the "
                "queue they find keeps the p95 far above 10 s for several stages. A gentler "
                "ramp lets the slow cluster keep up; a steeper one, or a sudden jump well "
                "past double, breaks the healthy cluster too. Other shapes work, e.g. "
                "`sl.loadtest.stages([(300, 1), (600, 8)])`.",
    points=4,
)

# -- q5: when a retry storm dies out --------------------------------------------------------------

RESENDS = 3

q5 = Number(
    title="When does a retry storm die out?",
    prompt="A service's clients give up after 2 s and then resend the request, up to **3 "
           "times**. A short outage has just left every request waiting longer than 2 s, and "
           "the server still does all the work it is sent, whether or not the client is still "
           "waiting. **Below what load, as a fraction of the capacity, does the service "
           "recover on its own once the outage is over?** Put it in `q5_load` (0.5 for 50 %).",
    answer="q5_load", expected=1 / (1 + RESENDS), tolerance=0.02, relative=True,
    units="of capacity", stub="q5_load = ...  # a fraction of the capacity, 0 to 1",
    mistakes=[
        (1 / RESENDS, "That divides by the resends. Count every send of a request, the first "
                      "one included."),
        (1 - 1 / (1 + RESENDS), "That is the share of the work that goes to resends. The "
                                "question is the load at which all of it still fits."),
        (1.0, "That is the capacity: a service below it recovers from a queue only if each "
              "request costs one send's work. In the bad state, how many sends does each "
              "request cost?"),
        (100 / (1 + RESENDS), "That looks like a percentage: give a fraction between 0 and "
                              "1."),
    ],
    hints=[
        "In the bad state every send times out. How many times is each request sent, and how "
        "much of that work does the server do?",
        "Each request is sent 1 + 3 times and each send is served in full: the work offered "
        "is that many times the load.",
        "The queue shrinks only when the work offered is below the capacity.",
    ],
    solution="q5_load = 1 / (1 + 3)  # every send is served: (1 + resends) × load < 1",
    explanation="Below a quarter of the capacity. Once every send times out, each request "
                "costs four sends' work, so the queue shrinks only when 4 × load < 1. Between "
                "25 % and 100 % the service is fine until a trigger and stuck after one: "
                "metastable. A retry budget that caps resends at 10 % of requests caps the "
                "factor at 1.1, and the service then recovers from any load below about 91 %.",
)

register(globals(), lesson="lesson06", notebook="06-load-testing.ipynb", title="Load testing")

"""Exercises for lesson 03 · When instances fail.

Objectives checked: how long a dead instance stays in rotation under health checks (q1); how
many requests fail before the health check acts (q2); how a probe timeout lengthens the
detection of a hung instance (q3); which failure least connections pours traffic into (q4); a
balancer with a panic threshold, in code, run on hand-made clusters and in seeded simulations
(q5). Times in seconds.
"""

from __future__ import annotations

from .. import simulate, workloads
from ..balancers import Balancer, ClusterState, InstancesView, Request
from ..failures import Crash, HealthCheck
from ..servicetimes import LogNormal
from .code import BalancerSpy, Check, Fail, PolicyClass, builtin_picks
from .lesson02 import _probe
from .problem import Choice, Number, register

q1 = Number(
    title="A dead instance in rotation",
    prompt="An instance crashes at **t = 10.5 s**. The balancer probes every instance every "
           "**2 s** (at t = 2, 4, 6, …) and marks one down after **3 failed probes in a row** "
           "(`sl.HealthCheck(interval=2, unhealthy_threshold=3)`). **For how many seconds "
           "after the crash does the balancer keep sending requests to the dead instance?** "
           "Put it in `q1_seconds`.",
    answer="q1_seconds", expected=5.5, tolerance=0.05, units="s",
    stub="q1_seconds = ...  # seconds",
    mistakes=[
        (6, ("That is 3 × 2 s. The first failed probe does not come 2 s after the crash: when "
             "is the next probe after t = 10.5 s?")),
        (16, ("That is the time at which the instance is marked down; the question asks how "
              "long after the crash that is.")),
        (3.5, "That stops at the second failed probe; it takes three in a row."),
        (7.5, "One probe too many: the third failed probe marks it down."),
    ],
    hints=[
        "List the probe times after the crash and count the failures.",
        "Probes at 12, 14 and 16 s fail: which one marks the instance down?",
        "Marked down at 16 s, crashed at 10.5 s.",
    ],
    solution="q1_seconds = 16 - 10.5  # probes at 12, 14, 16 fail; the third marks it down",
    explanation="The probes at 12, 14 and 16 s fail, and the third marks the instance down at "
                "16 s: for 5.5 s every request the balancer sends it fails (or is retried). "
                "Shorter intervals or a lower threshold shrink that window, at the price of "
                "more probes and of marking down instances that were only slow for a moment.",
)

q2 = Number(
    title="Errors while a dead instance is in rotation",
    prompt="Five instances behind round robin share **300 requests/s**. One of them crashes "
           "just after a health-check probe; the balancer probes every **1 s** and marks an "
           "instance down after **3 failed probes in a row**, and it does not retry. **About "
           "how many requests fail?** (Leave out the few that were inside the instance when it "
           "crashed.) Put it in `q2_failed`.",
    answer="q2_failed", expected=180, tolerance=0.1, relative=True, units="requests",
    stub="q2_failed = ...  # requests",
    mistakes=[
        (900, ("That is every request sent while the instance was dead. Round robin sends it "
               "only its share of them.")),
        (60, "That is its share of one second. For how long does it stay in rotation?"),
        (120, "That stops at the second failed probe; it takes three in a row."),
        (240, ("One interval too many: the crash came just after a probe, so the third failed "
               "probe comes about three intervals later.")),
        (225, ("That splits the traffic over the four instances left. Until it is marked down, "
               "round robin still splits it five ways.")),
    ],
    hints=[
        ("Two questions: for how many seconds is the dead instance still in rotation, and what "
         "share of the traffic does round robin send it meanwhile?"),
        "The failed probes come about 1, 2 and 3 s after the crash; it gets one request in five.",
        "300 requests/s × 3 s ÷ 5.",
    ],
    solution="q2_failed = 300 * 3 / 5  # its share of the traffic until the third failed probe",
    explanation="The third failed probe, about 3 s after the crash, marks the instance down; "
                "until then round robin sends it a fifth of 300 requests/s, and each of those "
                "fails: rate × detection time ÷ instances. One retry on another instance hides "
                "them all; probing more often or a lower threshold shortens the window.",
)

q3 = Number(
    title="A hung instance and the probe timeout",
    prompt="An instance **hangs** — it accepts connections and never answers — just after a "
           "health-check probe it passed. The balancer probes every **5 s**, waits **2 s** "
           "for each answer before it counts the probe as failed, and marks an instance down "
           "after **2 failed probes in a row** (`sl.HealthCheck(interval=5, timeout=2, "
           "unhealthy_threshold=2)`). **How many seconds after the hang is it marked down?** "
           "Put it in `q3_seconds`.",
    answer="q3_seconds", expected=12, tolerance=0.05, units="s",
    stub="q3_seconds = ...  # seconds",
    mistakes=[
        (10, ("That is what a crash would take: a refused probe fails at once. A hung instance "
              "makes the probe wait.")),
        (14, ("The timeouts do not add up: each probe starts on the interval's schedule, "
              "whatever the previous one waited. Only the last probe's wait delays the "
              "mark-down.")),
        (7, "That is when the first probe fails; it takes two in a row."),
        (17, "One probe too many: the second failed probe marks it down."),
    ],
    hints=[
        "List the probe start times after the hang, then when each one gives up.",
        "Probes start 5 and 10 s after the hang; each fails 2 s after it starts.",
        "The second failed probe gives up at 10 + 2 s.",
    ],
    solution="q3_seconds = 2 * 5 + 2  # probes at +5 s and +10 s each fail 2 s after they start",
    explanation="Probes start 5 and 10 s after the hang, and each waits 2 s before it counts as "
                "failed: the second gives up 12 s after the hang. Detection takes about "
                "threshold × interval + probe timeout — the timeout is paid once, on the last "
                "probe — where a crash costs only threshold × interval. A short probe timeout "
                "helps, but one shorter than a healthy instance's slowest answers marks healthy "
                "instances down.",
)

q4 = Choice(
    title="Where least connections pours traffic",
    prompt="Four instances behind **least connections**, each with a **shallow** health check "
           "(`GET /health` answers 200 whenever the process is up). Instance 0 fails in one "
           "of four ways. **Which failure makes it receive more than its share of the "
           "requests for as long as the failure lasts?** Put the letter in `q4_choice`.",
    answer="q4_choice",
    options={
        "a": "Its process crashes: connections to it are refused.",
        "b": "It hangs: it accepts connections and never answers.",
        "c": "It lost its database connection: it answers every request at once with a 500.",
        "d": "It turns ten times slower.",
    },
    correct="c",
    feedback={
        "a": "A crashed process fails the shallow check too: after a few probes it is out of "
             "rotation. Which failure does the shallow check never see?",
        "b": "Each request sent to it stays in flight until the client gives up, so its count "
             "climbs and least connections sends it less, not more.",
        "d": "Its requests take longer, so more of them are in flight on it: least connections "
             "sends it fewer.",
    },
    hints=[
        "Least connections sends each request where the fewest are in flight. Which broken "
        "instance holds the fewest requests?",
        "And which of those failures does a shallow check miss?",
    ],
    solution='q4_choice = "c"',
    explanation="An instance that fails fast finishes every request at once, so it always has "
                "the fewest in flight and least connections keeps picking it; its process is "
                "up, so a shallow check passes and nothing takes it out — a black hole. A "
                "hung or slow instance holds requests longer and is picked less. A deep check "
                "(one that runs a real request), or passive ejection on errors, catches it.",
)

# -- q5: a balancer with a panic threshold ----------------------------------------------------

PANIC_CASES = [  # (healthy flags, in-flight counts, what the case shows)
    ((True, True, True, True), (3, 1, 2, 4), "all 4 healthy"),
    ((True, False, True, True), (3, 0, 2, 4), "3 of 4 healthy"),
    ((True, False, True, False), (3, 0, 2, 0), "2 of 4 healthy (exactly half)"),
    ((False, False, True, False), (3, 0, 2, 4), "1 of 4 healthy"),
    ((False, False, False, False), (3, 2, 1, 4), "none healthy"),
]


def _expected_pool(healthy) -> list[int]:
    """The instances a panic-threshold balancer chooses among (the oracle of the checks)."""
    up = [j for j, ok in enumerate(healthy) if ok]
    return up if 2 * len(up) >= len(healthy) else list(range(len(healthy)))


def _own_code(make, runner):
    balancer = make(runner)
    if type(balancer).__module__ == "scalelab.balancers":
        raise Fail(f"This is the built-in `sl.balancers.{type(balancer).__name__}`: write "
                   "your own class with its own `pick`.")


def _describe(index, healthy, inflight) -> str:
    if index is None:
        return "None"
    state = "healthy" if healthy[index] else "unhealthy"
    return f"instance {index} ({state}, {inflight[index]} in flight)"


def _judge_pick(index, healthy, inflight, where: str) -> None:
    pool = _expected_pool(healthy)
    up = [j for j, ok in enumerate(healthy) if ok]
    situation = (f"{where}: healthy {up if up else 'none'} of {len(healthy)}, in flight "
                 f"{list(inflight)}")
    if index is None:
        raise Fail(f"{situation} — your pick was None. With a panic threshold the balancer "
                   "always sends the request somewhere.")
    if index not in pool:
        raise Fail(f"{situation} — your pick was {_describe(index, healthy, inflight)}. "
                   "Is the instance it chose among the ones this rule allows here?")
    if inflight[index] != min(inflight[j] for j in pool):
        among = "the healthy instances" if len(pool) < len(healthy) else "every instance"
        raise Fail(f"{situation} — your pick was {_describe(index, healthy, inflight)}. "
                   f"Compare its count with the others' among {among}: is it the fewest, and "
                   "is that the set the rule says to choose from when this many are healthy?")


def _hand_made(make, runner):
    for healthy, inflight, label in PANIC_CASES:
        spy = BalancerSpy(make(runner), runner)
        spy.reset()
        state = ClusterState([1.0] * 4, [1.0] * 4)
        state.healthy = list(healthy)
        state.inflight[:] = list(inflight)
        choice = spy.pick(InstancesView(state), Request(0, 0.0))
        _judge_pick(getattr(choice, "index", choice), healthy, inflight, label)


def _follows_the_rule(seed: int, instances: int, label: str):
    def run(make, runner):
        spy = BalancerSpy(make(runner), runner)
        crashes = [Crash(instance=j, at=10.0 * j, recover_at=40.0 + 5 * j)
                   for j in range(1, instances)]
        simulate(workloads.poisson(6.0 * instances, 70, seed=seed), instances=instances,
                 service_time=LogNormal(mean=0.1, sigma=1.0), balancer=spy, seed=seed,
                 health_check=HealthCheck(interval=1, timeout=0.5, unhealthy_threshold=2),
                 failures=crashes)
        for request, arrival, index, inflight, healthy in spy.picks:
            _judge_pick(index, healthy, inflight,
                        f"{label}, request {request} at t={arrival:.2f} s")
    return Check(f"follows the rule on every pick while {label} crash one by one and come "
                 f"back (seed {seed})", run)


q5 = PolicyClass(
    title="A balancer with a panic threshold",
    prompt="Write a balancer class `PanicAware`. Its `pick(instances, request)` returns the "
           "instance with the **fewest requests in flight** (`instance.inflight`) among the "
           "**healthy** ones (`instance.healthy`) — unless **fewer than half** of the "
           "instances are healthy: then it ignores health and returns the one with the fewest "
           "in flight among **all** of them. It never returns `None`.\n\n"
           "The check runs it on hand-made clusters (all, most, half, few and none healthy), "
           "then in seeded simulations where instances crash one after another and come back, "
           "and checks every pick against that rule.",
    answer="PanicAware", base=Balancer, own_code=builtin_picks(),
    stub='''class PanicAware(sl.balancers.Balancer):
    def pick(self, instances, request):
        """Fewest in flight among the healthy ones; among all when under half are healthy."""
        # YOUR CODE HERE
        raise NotImplementedError()''',
    solution='''class PanicAware(sl.balancers.Balancer):
    def pick(self, instances, request):
        """Fewest in flight among the healthy ones; among all when under half are healthy."""
        healthy = [instance for instance in instances if instance.healthy]
        pool = healthy if 2 * len(healthy) >= len(instances) else list(instances)
        return min(pool, key=lambda instance: instance.inflight)''',
    checks=[
        Check("pick runs on a small cluster", _probe),
        Check("is your own class, not a built-in one", _own_code),
        Check("picks by the rule on five hand-made clusters", _hand_made),
        _follows_the_rule(seed=0, instances=4, label="4 instances"),
    ],
    instructor_checks=[
        _follows_the_rule(seed=11, instances=6, label="6 instances"),
        _follows_the_rule(seed=12, instances=5, label="5 instances"),
    ],
    hints=[
        "First count the healthy instances and compare twice that count with `len(instances)`.",
        "Choose the pool — the healthy ones, or all of them — then the member of the pool with "
        "the smallest `inflight`.",
        "`pool = healthy if 2 * len(healthy) >= len(instances) else list(instances)`, then "
        "`min(pool, key=lambda instance: instance.inflight)`.",
    ],
    explanation="When most instances are healthy, skip the unhealthy ones; when most are not, "
                "the health checks are more likely wrong (a shared dependency failing every "
                "deep check) or the few survivors would drown under everyone's traffic — so "
                "spread the load over all of them. Envoy does this below its panic threshold "
                "(50 % by default); its outlier detection also refuses to eject more than "
                "`max_ejection_percent` of a cluster.",
    points=4,
)

register(globals(), lesson="lesson03", notebook="03-when-instances-fail.ipynb",
         title="When instances fail")

"""Exercises for lesson 01 · A bigger machine, or more machines?

Objectives checked: the cost of scaling up against scaling out and its ceiling (q1); Amdahl's
law (q2); why one pooled machine answers faster (q3); availability with a load balancer in
series (q4); sizing a cluster that survives a crash, N + 1, in code (q5). Times in seconds,
prices in dollars per hour.
"""

from __future__ import annotations

import math

import numpy as np

from .. import simulate, workloads
from ..balancers import RoundRobin
from ..failures import Crash, HealthCheck
from .code import Check, Fail, Function
from .problem import Choice, Number, register

q1 = Number(
    title="The price of scaling up",
    prompt="Your service needs **40 cores**. With the lesson's price list "
           "(`scenarios.PRICE_LIST`), scaling up means the smallest single machine with at "
           "least 40 cores; scaling out means as many 4-core machines as it takes. **How many "
           "dollars per hour more does scaling up cost?** Put it in `q1_extra_per_hour`.",
    answer="q1_extra_per_hour", expected=2.40, tolerance=0.01, units="$/h",
    stub="q1_extra_per_hour = ...  # dollars per hour",
    mistakes=[
        (6.40, ("That is the big machine's whole price. The question asks how much *more* "
                "it costs than the 4-core machines.")),
        (4.0, ("That is the price of scaling out. The question asks how much more scaling up "
               "costs.")),
        (-0.80, "The 32-core machine is too small: 40 cores need the next size up."),
        (0.0, ("Every core costs the same, but you cannot buy a 40-core machine: which size "
               "must you buy, and how many cores of it do you pay for without needing them?")),
    ],
    hints=[
        ("Find two prices in the table: the smallest machine with ≥ 40 cores, and 40 cores' "
         "worth of 4-core machines."),
        ("No 40-core machine exists, so scaling up buys the 64-core one. Scaling out needs "
         "40 / 4 = 10 machines of 4 cores."),
        "$6.40 for the 64-core machine, against 10 × $0.40.",
    ],
    solution="q1_extra_per_hour = 6.40 - 10 * 0.40  # 64-core machine vs ten 4-core machines",
    explanation="Every core costs $0.10 an hour at every size, yet scaling up costs $2.40/h "
                "more: sizes double, so it must buy the 64-core machine ($6.40/h) and pay for "
                "24 cores it does not need; ten 4-core machines cost $4.00/h. And past 64 "
                "cores it cannot go at all.",
)

q2 = Number(
    title="Amdahl's law",
    prompt="90 % of a batch job's work can run in parallel; the rest cannot. **How many times "
           "faster is it on 8 cores than on 1?** Put it in `q2_speedup`.",
    answer="q2_speedup", expected=1 / (0.1 + 0.9 / 8), tolerance=0.05, units="×",
    stub="q2_speedup = ...  # times faster",
    mistakes=[
        (8, "That is perfect scaling. The serial 10 % does not get faster with more cores."),
        (7.2, "That is p × N. Amdahl's law divides only the parallel part by N."),
        (10, "That is the ceiling 1 / (1 − p), the speedup with infinitely many cores."),
        (1 / (0.9 + 0.1 / 8), "That swaps the serial and the parallel fractions."),
    ],
    hints=[
        ("On N cores the parallel part takes p / N of the original time; the serial part still "
         "takes 1 − p."),
        "Speedup = 1 / ((1 − p) + p / N).",
        "1 / (0.1 + 0.9 / 8) — or `sl.theory.amdahl(0.9, 8)`.",
    ],
    solution="q2_speedup = 1 / (0.1 + 0.9 / 8)  # or sl.theory.amdahl(0.9, 8)",
    explanation="The time falls from 1 to 0.1 + 0.9 / 8 = 0.2125, so the job is about 4.7 "
                "times faster: eight cores buy less than five times the speed, and no number "
                "of cores gets past 10×.",
)

q3 = Choice(
    title="Why pooling wins",
    prompt="Same 4 cores, same traffic, 80 % busy. **Why does one 4-core machine answer "
           "faster on average than four 1-core machines behind a round-robin balancer?** Put "
           "the letter in `q3_choice`.",
    answer="q3_choice",
    options={
        "a": "The cores of a big machine are faster.",
        "b": "It has one shared queue: a request waits only when all four cores are busy, "
             "never behind a long request while another core sits idle.",
        "c": "The load balancer adds a network delay to every request.",
        "d": "Round robin sends more requests to some machines than to others.",
    },
    correct="b",
    feedback={
        "a": "In the lesson every core does 100 ms of work per request, in both designs.",
        "c": "The simulator adds no network delay: the gap comes from waiting in queues.",
        "d": "Round robin gives every machine exactly the same number of requests. What it "
             "cannot see is which machine is still busy with a long one.",
    },
    hints=[
        "Where does a request wait in each design, and can it be served by any idle core?",
        ("Think of one request that needs 1 s of work. In which design can it hold up the "
         "requests behind it?"),
    ],
    solution='q3_choice = "b"',
    explanation="With four separate queues a request can wait behind a long request on its "
                "own machine while another machine is idle; one shared queue never leaves a "
                "core idle while anyone waits. That is pooling, and smarter balancers "
                "(lesson 02) recover part of it.",
)

q4 = Number(
    title="Availability in series",
    prompt="Three machines, each up **99.5 %** of the time and failing independently; any one "
           "of them can carry the traffic. Every request passes through **one load balancer**, "
           "up **99.95 %** of the time. **How many minutes per year is the service down?** "
           "(A year has 525,600 minutes.) Put it in `q4_downtime_min`.",
    answer="q4_downtime_min", expected=(1 - (1 - 0.005 ** 3) * 0.9995) * 525_600,
    tolerance=0.02, relative=True, units="min",
    stub="q4_downtime_min = ...  # minutes per year",
    mistakes=[
        (0.005 ** 3 * 525_600, ("That is the three machines alone. Every request also passes "
                                "through the load balancer: parts in series multiply.")),
        ((1 - 0.995 ** 3 * 0.9995) * 525_600, ("That counts the service as down whenever any "
                                               "machine is down, but any one machine can carry "
                                               "the traffic.")),
        ((1 - 0.995 * 0.9995) * 525_600, ("That is one machine behind the balancer; there are "
                                          "three.")),
    ],
    hints=[
        "First the machines: the service lacks a machine only when all three are down at once.",
        "Machines: 1 − (1 − 0.995)³. Then multiply by the balancer's 0.9995 (series).",
        ("Downtime = (1 − availability) × 525,600 minutes; "
         "`sl.theory.series(sl.theory.availability(0.995, 3), 0.9995)` gives the availability."),
    ],
    solution="q4_availability = (1 - (1 - 0.995) ** 3) * 0.9995\n"
             "q4_downtime_min = (1 - q4_availability) * 525_600",
    explanation="Three machines are all down only 0.066 minutes a year, but the balancer alone "
                "is down 263: the service's downtime, about 263 minutes, is almost all the "
                "balancer's. It is the single point of failure.",
)

# -- q5: code -----------------------------------------------------------------------------


RETURNS_A_COUNT = "returns a whole number of machines"


def _whole(value, call: str) -> int:
    """``value`` as a count; else a failure of the "returns a whole number" check."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise Fail(f"`{call}` returned {value!r}, not a number of machines"
                   f"{' (did you forget `return`?)' if value is None else ''}.",
                   check=RETURNS_A_COUNT)
    if not math.isfinite(value) or value != int(value):
        raise Fail(f"`{call}` returned {value!r}: a number of machines is a whole number "
                   "(`math.ceil` rounds up).", check=RETURNS_A_COUNT)
    return int(value)


def _after_crash(machines: int, rate: float, service_time: float, seed: int) -> str:
    """What a seeded simulation shows when one of ``machines`` crashes at 60 s."""
    if machines < 2:
        return ""
    check = HealthCheck(interval=2, unhealthy_threshold=3, healthy_threshold=2)
    result = simulate(workloads.poisson(rate, 300, seed=seed), instances=machines,
                      service_time=service_time, balancer=RoundRobin(), health_check=check,
                      failures=[Crash(instance=0, at=60.0)], seed=seed)
    p95 = result.summary(warmup=120)["p95"]
    return (f" (A simulation in which machine 0 crashes at 60 s measured a p95 of {p95:.3g} s "
            f"after 120 s.)")


def _settings(seed: int, count: int):
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        service_time = float(np.round(rng.uniform(0.01, 0.2), 3))
        rate = float(np.round(rng.uniform(0.5, 12) / service_time, 1))
        max_busy = float(np.round(rng.uniform(0.5, 0.85), 2))
        need = rate * service_time / max_busy
        if abs(need - round(need)) > 1e-3:  # keep clear of exact boundaries (rounding noise)
            found.append((rate, service_time, max_busy))
    return found


def _sized_for_a_crash(seed: int, count: int, extra=()):
    def run(fn, runner):
        for rate, service_time, max_busy in [*_settings(seed, count), *extra]:
            call = f"machines_needed(rate={rate:g}, service_time={service_time:g}, " \
                   f"max_busy={max_busy:g})"
            n = _whole(runner.call(call, fn, rate=rate, service_time=service_time,
                                   max_busy=max_busy), call)
            load = rate * service_time
            if n < 2:
                raise Fail(f"`{call}` returned {n}. With one machine down, none would be left "
                           "to answer.")
            if load / (n - 1) > max_busy * (1 + 1e-9):
                raise Fail(f"`{call}` returned {n}. With one machine down, the others would be "
                           f"{load / (n - 1):.1%} busy, over the {max_busy:.0%} limit."
                           + _after_crash(n, rate, service_time, seed))
            if n >= 3 and load / (n - 2) <= max_busy * (1 + 1e-9):
                raise Fail(f"`{call}` returned {n}, but fewer machines would do: with one of "
                           f"your {n} down, the others are only {load / (n - 1):.0%} busy, "
                           f"well within the {max_busy:.0%} limit.")
    return Check(f"survives one crash within max_busy, with no machine to spare "
                 f"({count + len(extra)} settings, seed {seed})", run)


def _returns_a_count(fn, runner):
    call = "machines_needed(rate=32, service_time=0.1, max_busy=0.7)"
    _whole(runner.call(call, fn, rate=32, service_time=0.1, max_busy=0.7), call)


q5 = Function(
    title="N + 1 machines",
    prompt="Write `machines_needed(rate, service_time, max_busy)`: the **fewest 1-core "
           "machines** such that, **even with one of them down**, the others are at most "
           "`max_busy` busy (a fraction, e.g. 0.7). `rate` is in requests per second and "
           "`service_time` in seconds per request.\n\n"
           "The check calls your function at seeded settings and judges the number it returns: "
           "enough machines to survive a crash, and no more than that.",
    answer="machines_needed",
    stub='''def machines_needed(rate, service_time, max_busy):
    """Fewest 1-core machines that stay within max_busy with one of them down."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    solution='''def machines_needed(rate, service_time, max_busy):
    """Fewest 1-core machines that stay within max_busy with one of them down."""
    import math
    survivors = math.ceil(rate * service_time / max_busy)  # enough for the load alone
    return survivors + 1                                   # plus one that may crash''',
    checks=[
        Check(RETURNS_A_COUNT, _returns_a_count),
        _sized_for_a_crash(seed=0, count=5, extra=[(2.0, 0.1, 0.7)]),
    ],
    instructor_checks=[_sized_for_a_crash(seed=101, count=12, extra=[(1.0, 0.05, 0.5)])],
    hints=[
        ("First: how many machines does the load need with none down? Utilization per machine "
         "is rate × service_time ÷ machines."),
        ("The survivors must satisfy rate × service_time ÷ survivors ≤ max_busy. Round the "
         "number of survivors up."),
        "`math.ceil(rate * service_time / max_busy)` survivors, plus the one that crashed.",
    ],
    explanation="The load needs rate × S ÷ max_busy machines' worth of work, rounded up, and "
                "those must remain after a crash: N = ⌈λS / u⌉ + 1. At 32 requests/s, 100 ms "
                "and 70 %: ⌈4.57⌉ + 1 = 6 machines.",
    points=3,
)

register(globals(), lesson="lesson01", notebook="01-vertical-vs-horizontal.ipynb",
         title="A bigger machine, or more machines?")

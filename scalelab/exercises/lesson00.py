"""Exercises for lesson 00 · Start here: one server is a queue.

Objectives checked: compute utilization from rate and work (q1); predict the M/M/1 mean
(q2); explain the hockey stick (q3, q4); turn the queueing formula into a capacity rule for
an SLO, in code (q5). Times in seconds unless a name says ``_ms``.

>>> from scalelab.exercises import lesson00 as ex
>>> ex.q1.check(0.5).status
'fail'
"""

from __future__ import annotations

import math

import numpy as np

from .. import simulate, workloads
from .code import Check, Fail, Function
from .problem import Choice, Number, Prediction, register

q1 = Number(
    title="Utilization",
    prompt="An API server receives **30 requests per second**, and each request needs **25 ms** "
           "of work. What is its utilization ρ, as a fraction between 0 and 1? Put it in "
           "`q1_utilization`.",
    answer="q1_utilization", expected=0.75, tolerance=0.005,
    stub="q1_utilization = ...  # a fraction between 0 and 1",
    mistakes=[
        (75, "That looks like a percentage: give ρ as a fraction between 0 and 1 (50 % is 0.5)."),
        (750, "That is 30 × 25 with the work still in milliseconds: convert 25 ms to seconds."),
        (1.2, "That is 30 ÷ 25: utilization is the rate *times* the work per request."),
        (25 / 30, "That is 25 ÷ 30: utilization is the rate *times* the work per request."),
    ],
    hints=[
        ("Utilization is the fraction of time the server is busy. In one second, how many "
         "seconds of work arrive?"),
        ("ρ = λ × S, with the rate λ in requests per second and the work S in seconds per "
         "request."),
        "25 ms is 0.025 s, so ρ = 30 × 0.025.",
    ],
    solution="q1_utilization = 30 * 0.025  # ρ = λ × S, with S in seconds",
    explanation="ρ = λ × S = 30 /s × 0.025 s = 0.75: the server is busy three quarters of "
                "the time.",
)

q2 = Number(
    title="The M/M/1 mean",
    prompt="Another server receives **40 requests per second** at random, and each request "
           "needs on average **20 ms** of work (an M/M/1 queue). What is its **mean response "
           "time, in milliseconds**? Put it in `q2_mean_ms`.",
    answer="q2_mean_ms", expected=100.0, tolerance=1.0, units="ms",
    stub="q2_mean_ms = ...  # milliseconds",
    mistakes=[
        (0.1, "That is in seconds: the question asks for milliseconds."),
        (80, ("That is the mean *wait* in the queue. The response time also includes the "
              "work itself.")),
        (20, "That is the work alone. At this load requests also wait in the queue."),
        (25, "That is S ÷ ρ. The formula divides by the spare capacity, 1 − ρ."),
        (4, ("That is ρ ÷ (1 − ρ), the mean number of requests in the system: a count, not a "
             "time.")),
    ],
    hints=[
        "Start with the utilization ρ = λ × S.",
        ("The lesson's formula is W = S / (1 − ρ). Keep S in milliseconds to get W in "
         "milliseconds."),
        "ρ = 40 × 0.020 = 0.8, so W = 20 ms / (1 − 0.8).",
    ],
    solution="q2_mean_ms = 20 / (1 - 40 * 0.020)  # W = S / (1 − ρ), with S in ms\n"
             "# or: sl.theory.mm1(arrival_rate=40, service_time=0.020).mean_response * 1000",
    explanation="ρ = 40 × 0.020 = 0.8, so W = S / (1 − ρ) = 20 ms / 0.2 = 100 ms: five times "
                "the work.",
)

q3 = Choice(
    title="Why the hockey stick",
    prompt="At 50 % busy a request takes twice its work; at 95 % busy, twenty times. **Why "
           "does latency climb so steeply as utilization approaches 100 %?** Put the letter "
           "in `q3_choice`.",
    answer="q3_choice",
    options={
        "a": "The server works more slowly when it is busy.",
        "b": "Random bursts build queues, and the spare capacity that drains them (1 − ρ) "
             "shrinks towards zero.",
        "c": "Requests are dropped and the clients retry them.",
        "d": "The average arrival rate keeps rising.",
    },
    correct="b",
    feedback={
        "a": "In this model every request needs the same work at any load: `service_time` "
             "never changes. The extra time is spent somewhere else.",
        "c": "Nothing is dropped or retried here: every request waits and is answered. Look "
             "at where the extra time goes.",
        "d": "Each point of the hockey stick has one steady rate. Going from 90 % to 95 % "
             "busy adds about 5 % more traffic yet doubles the latency: something grows much "
             "faster than the traffic.",
    },
    hints=[
        ("Which of these happens in the simulator at all? Look at `service_time`, the "
         "requests' statuses and the arrival rate."),
        ("Picture five requests arriving at once. How fast does that queue go away if the "
         "server is idle half of the time? And if it is idle 5 % of the time?"),
    ],
    solution='q3_choice = "b"',
    explanation="Random arrivals come in bursts. The queue a burst builds drains only as fast "
                "as the spare capacity 1 − ρ allows: plenty at 50 % busy, almost none at "
                "95 %. So queues last longer and longer, and W = S / (1 − ρ).",
)

q4 = Prediction(
    title="Twice as fast",
    prompt="A server at **22.5 requests/s** with **40 ms** of work is 90 % busy, and its mean "
           "latency is about 400 ms. You replace it with one **twice as fast** (20 ms of "
           "work), same traffic. **By what factor does the mean latency fall?** Write your "
           "guess in `q4_speedup` (2 means twice as fast), then run the experiment below it.",
    answer="q4_speedup",
    stub="q4_speedup = ...  # your guess: how many times faster?",
    experiment=(
        "traffic_q4 = sl.workloads.poisson(rate=22.5, duration=600, seed=4)\n"
        "slow_q4 = sl.simulate(traffic_q4, instances=1, service_time=0.040, seed=4)\n"
        "fast_q4 = sl.simulate(traffic_q4, instances=1, service_time=0.020, seed=4)\n"
        "slow_ms = slow_q4.summary(warmup=60)['mean'] * 1000\n"
        "fast_ms = fast_q4.summary(warmup=60)['mean'] * 1000\n"
        "print(f'40 ms of work: mean {slow_ms:.0f} ms; 20 ms of work: mean {fast_ms:.0f} ms; '\n"
        "      f'{slow_ms / fast_ms:.1f} times faster')"),
    hints=[
        ("Two things change: each request needs half the work, and the server is far less "
         "busy."),
        "Use W = S / (1 − ρ) for both servers and divide.",
    ],
    solution="q4_speedup = 11  # W: 40 / (1 − 0.9) = 400 ms → 20 / (1 − 0.45) ≈ 36 ms",
    explanation="About 11 times, not 2. Halving the work halves S *and* takes ρ from 0.9 to "
                "0.45, so the queueing factor 1 / (1 − ρ) drops from 10 to 1.8. Near the "
                "wall, a little more capacity buys a lot of latency.",
)

# -- q5: code -----------------------------------------------------------------------------

LN20 = math.log(20)  # the 95th percentile of an exponential is ln(20) / its rate


def _mm1_p95(rate: float, service_time: float) -> float:
    return LN20 / (1 / service_time - rate)


RETURNS_A_RATE = "returns a rate (a number ≥ 0)"


def _returned_rate(value, call: str) -> float:
    """``value`` as a rate; else a failure of the "returns a rate" check, whichever check
    made the call."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise Fail(f"`{call}` returned {value!r}, not a number of requests per second"
                   f"{' (did you forget `return`?)' if value is None else ''}.",
                   check=RETURNS_A_RATE)
    if not math.isfinite(value):
        raise Fail(f"`{call}` returned {value}: a rate must be a finite number.",
                   check=RETURNS_A_RATE)
    if value < 0:
        raise Fail(f"`{call}` returned {float(value):.4g}: a rate cannot be negative.",
                   check=RETURNS_A_RATE)
    return float(value)


def _describe_rate(rate: float, service_time: float, slo: float, seed: int) -> str:
    """What one server does at ``rate``: by the formula, and in a seeded simulation."""
    load = rate * service_time
    if load >= 1:
        return (f"At that rate one server is {load:.0%} busy: its queue grows without end, "
                f"and so does the latency.")
    p95 = _mm1_p95(rate, service_time)
    verdict = "over" if p95 > slo else "under"
    more = " It could take more traffic." if p95 < slo else ""
    text = (f"At that rate one server is {load:.0%} busy and its p95 is {p95:.3g} s, {verdict} "
            f"the {slo:.3g} s SLO.{more}")
    if rate > 0:
        duration = 20_000 / rate
        result = simulate(workloads.poisson(rate, duration, seed=seed), instances=1,
                          service_time=service_time, seed=seed)
        text += (f" (A simulation of 20 000 requests at that rate measured p95 = "
                 f"{result.summary(warmup=duration / 10)['p95']:.3g} s.)")
    return text


def _returns_a_rate(fn, runner):
    call = "max_rate(service_time=0.04, slo_p95=0.5)"
    _returned_rate(runner.call(call, fn, service_time=0.04, slo_p95=0.5), call)


def _on_the_slo(seed: int, settings: int):
    def run(fn, runner):
        rng = np.random.default_rng(seed)
        for _ in range(settings):
            service_time = float(np.round(rng.uniform(0.005, 0.2), 4))
            slo = float(np.round(service_time * rng.uniform(4, 40), 4))
            call = f"max_rate(service_time={service_time:g}, slo_p95={slo:g})"
            rate = _returned_rate(runner.call(call, fn, service_time=service_time,
                                              slo_p95=slo), call)
            best = 1 / service_time - LN20 / slo
            if abs(rate - best) > 0.01 * best:
                raise Fail(f"`{call}` returned {rate:.4g} requests/s. "
                           + _describe_rate(rate, service_time, slo, seed))
    return Check(f"the p95 at the returned rate is on the SLO (±1 %), {settings} settings, "
                 f"seed {seed}", run)


def _zero_when_impossible(service_time: float, slo: float):
    def run(fn, runner):
        call = f"max_rate(service_time={service_time:g}, slo_p95={slo:g})"
        rate = _returned_rate(runner.call(call, fn, service_time=service_time, slo_p95=slo),
                              call)
        if rate > 1e-9:
            raise Fail(f"`{call}` returned {rate:.4g} requests/s. "
                       + _describe_rate(rate, service_time, slo, seed=7))
    return Check(f"returns 0 when no rate meets the SLO (work {service_time:g} s, "
                 f"SLO {slo:g} s)", run)


q5 = Function(
    title="Capacity for an SLO",
    prompt="Write `max_rate(service_time, slo_p95)`: the **highest arrival rate** (requests "
           "per second) that one server (M/M/1) can take while its **95th-percentile "
           "response time** stays within `slo_p95` seconds. Return `0` when no rate can "
           "meet the SLO.\n\n"
           "In an M/M/1 queue the response time is exponentially distributed with rate "
           "μ − λ, where μ = 1 / `service_time`: its p-th quantile is −ln(1 − p) / (μ − λ). "
           "(`sl.theory.mm1(rate, service_time).response_percentile(0.95)` computes it, if "
           "you would rather search.) The check calls your function at several seeded "
           "settings and accepts a rate whose p95 is on the SLO to within ±1 %.",
    answer="max_rate",
    stub='''def max_rate(service_time, slo_p95):
    """Highest rate (requests/s) at which one server's p95 stays within slo_p95 (s)."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    solution='''def max_rate(service_time, slo_p95):
    """Highest rate (requests/s) at which one server's p95 stays within slo_p95 (s)."""
    import math
    rate = 1 / service_time - math.log(20) / slo_p95  # p95 = ln(20) / (μ − λ) = slo_p95
    return max(rate, 0.0)''',
    checks=[
        Check(RETURNS_A_RATE, _returns_a_rate),
        _on_the_slo(seed=0, settings=4),
        _zero_when_impossible(service_time=0.1, slo=0.25),
    ],
    instructor_checks=[
        _on_the_slo(seed=101, settings=8),
        _zero_when_impossible(service_time=0.05, slo=0.12),
    ],
    hints=[
        "Set the p95 equal to the SLO and solve for the rate λ.",
        ("p95 = −ln(1 − 0.95) / (μ − λ) = ln(20) / (1/S − λ). Solve slo_p95 = ln(20) / "
         "(1/S − λ) for λ."),
        "λ = 1/S − ln(20)/slo_p95 — and when that comes out negative, no rate works.",
    ],
    explanation="Setting p95 = ln(20) / (μ − λ) equal to the SLO gives λ = μ − ln(20) / SLO. "
                "When the SLO is shorter than ln(20) × S (an idle server's p95), no rate "
                "meets it and the answer is 0. At 40 ms of work and a 200 ms SLO that is "
                "25 − 15 = 10 requests/s: the server must stay 40 % busy — the hockey stick "
                "again.",
    points=3,
)

register(globals(), lesson="lesson00", notebook="00-start-here.ipynb",
         title="Start here: one server is a queue")

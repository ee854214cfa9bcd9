"""Fuzzing the public face: whatever a learner types either works or is refused with a
``TypeError``/``ValueError`` that names a parameter — within a second of CPU time, within a
bounded amount of memory.

Every public constructor and function a lesson or a learner calls is listed in ``CALLS`` with
its parameters. For each, hypothesis draws keyword arguments from a mix of tame values (what a
lesson would pass), bad values (negative, zero, NaN, ±inf, bool, None, strings, lists,
objects, classes where objects belong) and huge ones (10⁹, 10¹⁸, 10¹⁵, 10³⁰⁰), leaving out
some that have defaults. Tame values are small enough that any accepted call is quick, so a
call that runs past ``SECONDS`` is a missing limit, not a slow machine; huge ones must be
refused or cost nothing (a tame value times a huge one lands far past every documented
maximum: inputs just under a maximum, such as a workload of 10⁷ requests, take longer than a
second by design and are not drawn). No shrinking: a failing input is reported as drawn, so a
failure costs seconds, not minutes. Time is the process's CPU time, so a busy machine does not
make a call look slow. Memory: the address space may grow by at most ``MEMORY_BYTES`` while a
call runs (``RLIMIT_AS``), and a call that wants more fails with ``MemoryError``.

Not fuzzed: ``sl.metrics`` (plumbing over the record arrays a ``Result`` builds; reached here
through ``Result.summary`` and ``timeline``), and anything that starts processes (the lab's
``start`` and ``load``: tests/test_lab.py checks their arguments on a running lab).
"""

from __future__ import annotations

import contextlib
import inspect
import resource
import signal
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck as Health
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab import autoscalers, balancers, loadtest, sessions, theory, workloads

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the time and memory bounds use SIGALRM and RLIMIT_AS")

SECONDS = 1.0  # of CPU time
WALL_SECONDS = 10.0
MEMORY_BYTES = 1 << 30  # 1 GiB more address space than before the call
EXAMPLES = 40


class RanTooLong(Exception):
    """Raised inside a call that ran past ``SECONDS``."""


# -- values -----------------------------------------------------------------------------------

TAME = st.one_of(st.floats(0.1, 100.0), st.integers(0, 12), st.sampled_from([0.5, 1, 2, 3]))
HUGE = st.sampled_from([10**9, 10**18, 1e15, 1e300, float("inf")])
TINY = st.sampled_from([1e-6, 1e-300, 5e-324])
BAD = st.sampled_from([-1, -0.5, 0, 0.0, float("nan"), float("-inf"), True, None, "5", "",
                       [1, 2], (), {}, object(), np.float64("nan"), np.int64(-3), sl.Instance,
                       balancers.RoundRobin])
NUMBER = st.one_of(TAME, TAME, TAME, HUGE, TINY, BAD)
LIST = st.one_of(st.lists(NUMBER, max_size=4), st.lists(TAME, min_size=1, max_size=4), NUMBER)


def objects(*makers):
    """Fresh objects (policies keep state between runs, so never share one)."""
    return st.sampled_from(makers).map(lambda make: make())


WORKLOAD = st.one_of(objects(lambda: workloads.poisson(20, 10, seed=1),
                             lambda: workloads.sessions(2, 10, requests=3, seed=1),
                             lambda: workloads.constant(50, 2)), BAD)
BALANCER = st.one_of(objects(balancers.RoundRobin, balancers.LeastConnections,
                             lambda: balancers.PowerOfTwoChoices(seed=1), balancers.PeakEWMA,
                             balancers.ConsistentHash, balancers.Sticky,
                             lambda: balancers.WeightedRoundRobin(weights=[1]),
                             lambda: balancers.RoundRobin, lambda: balancers.LeastConnections),
                     BAD)
AUTOSCALER = st.one_of(objects(autoscalers.Threshold, autoscalers.HPA,
                               autoscalers.TargetTracking, autoscalers.StepScaling,
                               lambda: autoscalers.Threshold, lambda: autoscalers.HPA), BAD)
INSTANCES = st.one_of(NUMBER, st.sampled_from([[sl.Instance()], [sl.Instance(slots=2)] * 3,
                                                [sl.Instance(speed=2), 1], []]))
HEALTH = st.one_of(st.just(None), objects(sl.HealthCheck,
                                          lambda: sl.HealthCheck(interval=0.5, timeout=0.2)), BAD)
FAILURES = st.one_of(objects(lambda: (), lambda: [sl.Crash(0, at=1.0)],
                             lambda: [sl.Crash(7, at=1.0)], lambda: sl.Hang(0, at=1.0),
                             lambda: [sl.Slowdown(0, at=1.0, until=2.0)]), BAD)
SESSIONS = st.one_of(objects(sessions.InMemory, sessions.SharedStore,
                             lambda: sessions.InMemory), BAD)
SERVICE = st.one_of(NUMBER, objects(lambda: sl.Constant(0.01), lambda: sl.LogNormal(0.02, 1.0),
                                    lambda: sl.Pareto(0.02), lambda: sl.Exponential))
SHAPE = st.one_of(objects(lambda: loadtest.soak(2, 10, windows=2),
                          lambda: loadtest.ramp(1, 5, 10, windows=5)), BAD)
CRITERION = st.one_of(st.just(None), objects(loadtest.ThroughputBelow,
                                             lambda: loadtest.LatencyAbove(0.5),
                                             lambda: loadtest.ErrorsAbove), BAD)
TEXT = st.one_of(st.sampled_from(["open", "closed", "p95", "p50", "percent", "exact",
                                  "memory", "sqlite", "mysql", "sideways", ""]), NUMBER)

# what a parameter of this name takes; any other parameter takes NUMBER
BY_NAME = {
    "workload": WORKLOAD, "balancer": BALANCER, "autoscaler": AUTOSCALER,
    "instances": INSTANCES, "health_check": HEALTH, "failures": FAILURES,
    "sessions": SESSIONS, "service_time": SERVICE, "shape": SHAPE, "criterion": CRITERION,
    "rates": LIST, "times": LIST, "weights": LIST, "usage_m": LIST, "ready": LIST,
    "request_m": st.one_of(NUMBER, LIST), "outages": st.one_of(LIST, st.lists(LIST, max_size=2)),
    "targets": st.one_of(LIST, st.lists(st.tuples(TAME, TAME), max_size=3)),
    "scale_out": st.one_of(LIST, st.just(((0.0, None, 1),))),
    "scale_in": st.one_of(LIST, st.just(((None, 0.0, -1),))),
    "fallback": st.one_of(st.just(None), objects(balancers.RoundRobin), BAD),
    "mode": TEXT, "percentile": TEXT, "adjustment_type": TEXT, "store": TEXT,
    "target": st.one_of(objects(lambda: loadtest.Simulated(service_time=0.05)), BAD),
}
# simulate's cluster arguments, also what simulate_closed and loadtest.Simulated take
CLUSTER = ["instances", "service_time", "balancer", "seed", "queue_limit", "health_check",
           "failures", "retries", "timeout", "sessions", "autoscaler", "control_interval",
           "min_instances", "max_instances", "boot_time"]


def hpa_recommend(usage_m, ready=None, request_m=1000):
    return autoscalers.HPA().recommend(usage_m, ready, request_m)


def result_summary(warmup=0.0, bin=1.0):
    run = sl.simulate(workloads.poisson(20, 10, seed=1), instances=2, service_time=0.05, seed=1)
    return run.summary(warmup=warmup), run.timeline(bin=bin)


def lab_constructor(instances=3, balancer=None, store="sqlite", health_check=None, retries=1,
                    timeout=2.0, passive_ejection=True, seed=0):
    """``sl.lab.Lab(…)`` checks everything before it starts a process: construct, never start."""
    return sl.lab.Lab(instances, balancer, store, health_check=health_check, retries=retries,
                      timeout=timeout, passive_ejection=passive_ejection, seed=seed)


# (callable, its parameters: (name, required)); None: read them from the signature
CALLS = [
    *[(getattr(workloads, name), None) for name in
      ("constant", "poisson", "ramp", "steps", "spike", "sessions", "from_times")],
    # a whole day by default: at a tame 100 requests/s that is 8.6 × 10⁶ requests, legal and
    # longer than a second, so the fuzz always gives a duration
    (workloads.diurnal, [("mean_rate", True), ("amplitude", False), ("period", False),
                         ("duration", True), ("seed", False)]),
    (sl.Instance, None), (sl.HealthCheck, None), (sl.Crash, None), (sl.Hang, None),
    (sl.Slowdown, None), (sl.Pause, None),
    (sl.Constant, None), (sl.Exponential, None), (sl.LogNormal, None), (sl.Pareto, None),
    *[(getattr(balancers, name), None) for name in
      ("WeightedRoundRobin", "Random", "PowerOfTwoChoices", "ConsistentHash", "PeakEWMA",
       "Sticky", "jump_hash")],
    (autoscalers.Threshold, None), (autoscalers.StepScaling, None),
    (autoscalers.TargetTracking, None), (autoscalers.HPA, None), (hpa_recommend, None),
    *[(getattr(theory, name), None) for name in
      ("mm1", "mmc", "erlang_c", "ek_m1", "round_robin", "supermarket", "littles_law",
       "amdahl", "usl", "usl_peak", "availability", "downtime_per_year")],
    (sessions.SharedStore, None),
    *[(getattr(loadtest, name), None) for name in
      ("ramp", "steps", "stages", "spike", "soak", "ThroughputBelow", "LatencyAbove",
       "ErrorsAbove", "run")],
    (loadtest.Simulated, [(name, False) for name in CLUSTER]),
    (sl.simulate, [("workload", True), ("service_time", True),
                   *[(name, False) for name in CLUSTER if name != "service_time"]]),
    (sl.simulate_closed, [("users", True), ("duration", True), ("think_time", False),
                          *[(name, False) for name in CLUSTER]]),
    (result_summary, None),
    (lab_constructor, None),
]


def parameters(call, given_parameters) -> list[tuple[str, bool]]:
    if given_parameters is not None:
        return given_parameters
    return [(p.name, p.default is inspect.Parameter.empty)
            for p in inspect.signature(call).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def label(entry) -> str:
    call = entry[0]
    return f"{getattr(call, '__module__', '').rsplit('.', 1)[-1]}.{call.__qualname__}"


# -- the bounds -------------------------------------------------------------------------------

@contextlib.contextmanager
def bounded():
    """At most ``SECONDS`` of this process's CPU time (what the call costs, however busy the
    machine is; ``WALL_SECONDS`` of wall time catch a call that waits) and ``MEMORY_BYTES``
    more address space."""
    def stop(signum, frame):
        raise RanTooLong

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    limit = size + MEMORY_BYTES
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGPROF, signal.SIGALRM)}
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.setitimer(signal.ITIMER_PROF, SECONDS)
    signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def shown(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}"[:80] for k, v in kwargs.items())


def check(name: str, call, kwargs: dict, parameters) -> None:
    """``call(**kwargs)`` works, or raises TypeError/ValueError naming one of ``parameters``;
    within ``SECONDS`` and ``MEMORY_BYTES``."""
    try:
        with bounded():
            call(**kwargs)
    except (TypeError, ValueError) as error:
        message = str(error)
        assert any(p in message for p in parameters), (
            f"{name}({shown(kwargs)}) raised {type(error).__name__}: {message!r}, which names "
            f"none of its parameters")
    except RanTooLong:
        pytest.fail(f"{name}({shown(kwargs)}) ran past {SECONDS:g} s of CPU time "
                    f"(or {WALL_SECONDS:g} s of waiting)", pytrace=False)
    except MemoryError:
        pytest.fail(f"{name}({shown(kwargs)}) wanted more than {MEMORY_BYTES >> 20} MiB",
                    pytrace=False)
    except Exception as error:  # noqa: BLE001 - the point: nothing else may escape
        pytest.fail(f"{name}({shown(kwargs)}) raised {type(error).__name__}: {error}",
                    pytrace=False)


@pytest.mark.parametrize("entry", CALLS, ids=[label(e) for e in CALLS])
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False,
          suppress_health_check=[Health.too_slow, Health.data_too_large])
@given(data=st.data())
def test_any_input_works_or_is_refused_by_name_quickly_and_within_memory(entry, data):
    call, given_parameters = entry
    names = parameters(call, given_parameters)
    kwargs = {}
    for name, required in names:
        if required or data.draw(st.booleans(), label=f"pass {name}"):
            kwargs[name] = data.draw(BY_NAME.get(name, NUMBER), label=name)
    check(label(entry), call, kwargs, [name for name, _ in names])


def simulate_small(**cluster):
    """``sl.simulate`` of 200 requests in 10 s (50 ms each unless told): any cost beyond that
    is the cluster's."""
    return sl.simulate(workloads.poisson(20, 10, seed=1), **{"service_time": 0.05, **cluster})


SIMULATE = [name for name, _ in parameters(sl.simulate, None)]

# inputs found by hand that once ran without end, ate memory or failed without naming a
# parameter; each must now be refused by name (or work) within the same bounds
BY_HAND = [
    (simulate_small, {"instances": 10**9}),
    (sl.Instance, {"slots": 10**9}),
    (balancers.ConsistentHash, {"vnodes": 10**8}),
    (simulate_small, {"autoscaler": autoscalers.Threshold(), "control_interval": 1e-6}),
    (simulate_small, {"balancer": balancers.RoundRobin}),
    (simulate_small, {"autoscaler": autoscalers.Threshold}),
    (simulate_small, {"health_check": sl.HealthCheck(interval=1e-6, timeout=1e-7)}),
    (workloads.poisson, {"rate": 1e9, "duration": 1e6}),
    (sl.LogNormal, {"mean": 0.1, "sigma": 50}),
    (loadtest.ramp, {"start_rate": 1, "end_rate": 2, "duration": 10, "windows": 10**8}),
    (loadtest.run, {"shape": loadtest.soak(1, 10),
                    "target": loadtest.Simulated(service_time=0.1), "mode": "closed",
                    "users": 10**7}),
    (lab_constructor, {"balancer": balancers.RoundRobin}),
    (lab_constructor, {"instances": [sl.Instance()] * 40}),
    (lab_constructor, {"instances": [sl.Instance(slots=5000)]}),  # the simulator allows it
    (hpa_recommend, {"usage_m": [-100, 50]}),
    (hpa_recommend, {"usage_m": [float("nan")]}),
    (loadtest.LatencyAbove, {"slo": 0.5, "percentile": 150}),
]


@pytest.mark.parametrize("call, kwargs", BY_HAND,
                         ids=[f"{c.__name__}({shown(k)[:40]})" for c, k in BY_HAND])
def test_inputs_found_by_hand_are_refused_by_name_quickly_and_within_memory(call, kwargs):
    names = SIMULATE if call is simulate_small else [n for n, _ in parameters(call, None)]
    check(call.__name__, call, kwargs, names)


# inputs found by hand that were refused although a lesson suggests them: they must work
MUST_WORK = [
    (sl.HealthCheck, {"interval": 0.5}),  # probing every 0.5 s: the timeout fits the interval
    (simulate_small, {"health_check": sl.HealthCheck(interval=0.5, timeout=0.2)}),
]


@pytest.mark.parametrize("call, kwargs", MUST_WORK,
                         ids=[f"{c.__name__}({shown(k)[:40]})" for c, k in MUST_WORK])
def test_inputs_a_lesson_suggests_work(call, kwargs):
    with bounded():
        call(**kwargs)


def test_the_bounds_catch_what_they_are_for():
    """The fuzz test's own oracles can fail: a sleep runs too long, a huge array is refused."""
    import time

    with pytest.raises(RanTooLong), bounded():
        deadline = time.process_time() + SECONDS * 3
        while time.process_time() < deadline:
            pass
    with pytest.raises(MemoryError), bounded():
        np.ones(MEMORY_BYTES // 8 * 2)

"""simulate: properties over small random clusters, hand-worked scenarios, learner-written
balancers, and errors raised before any work.

The properties are checked on the records alone, from the definitions: every request is
accounted for, FIFO order per instance, no more than ``slots`` requests served at once, an
instance never idles while a request waits, and the queue limit rejects exactly when the
waiting line is full.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab import sim
from scalelab.balancers import Random, RoundRobin
from scalelab.result import Status

OK, REJECTED, NO_INSTANCE = int(Status.OK), int(Status.REJECTED), int(Status.NO_INSTANCE)
DURATION = 16.0
EPS = 1e-9


class LoopRoundRobin(RoundRobin):
    """Round robin forced through the per-request loop (a subclass that overrides pick)."""

    def pick(self, instances, request):
        return super().pick(instances, request)


# --- strategies -----------------------------------------------------------------------------



@st.composite
def arrival_lists(draw):
    """Up to 40 arrivals in [0, span]: on a 0.25-s grid (ties, arrivals exactly at a
    departure) or anywhere; a short span makes queues and rejections common."""
    span = draw(st.sampled_from([1.0, 4.0, 15.0]))
    grid = st.integers(0, int(span * 4)).map(lambda k: k / 4)
    return draw(st.lists(st.one_of(grid, st.floats(0, span)), min_size=1, max_size=40))


service_times = st.one_of(
    st.sampled_from([0.25, 0.5, 1.0, 1.5]).map(sl.Constant),
    st.floats(0.05, 3.0).map(sl.Exponential),
    st.floats(0.05, 3.0),                                   # a float means an exponential mean
    st.builds(sl.LogNormal, mean=st.floats(0.05, 3.0), sigma=st.floats(0.1, 2.0)),
    st.builds(sl.Pareto, mean=st.floats(0.05, 3.0), alpha=st.floats(1.2, 4.0)),
)
speeds = st.sampled_from([0.5, 1.0, 2.0, 3.0])


def clusters(max_slots=3):
    return st.lists(st.builds(sl.Instance, speed=speeds, slots=st.integers(1, max_slots)),
                    min_size=1, max_size=4)


balancers = st.sampled_from([RoundRobin, Random]).map(lambda make: make())
queue_limits = st.one_of(st.none(), st.integers(0, 3))
seeds = st.integers(0, 2**32 - 1)


@st.composite
def scenarios(draw, queue_limit=queue_limits):
    return {
        "workload": sl.workloads.from_times(draw(arrival_lists()), duration=DURATION),
        "instances": draw(clusters()),
        "service_time": draw(service_times),
        "balancer": draw(balancers),
        "queue_limit": draw(queue_limit),
        "seed": draw(seeds),
    }


# --- checks written from the definitions ----------------------------------------------------

def in_service(requests, t):
    """How many of ``requests`` are being served at time ``t`` (intervals [start, end))."""
    return int(np.count_nonzero((requests["start"] <= t) & (t < requests["end"])))


def check_accounting(res, workload):
    records, summary = res.requests, res.summary()
    assert len(records) == len(workload) == summary["requests"]
    np.testing.assert_array_equal(records["arrival"], workload.arrivals)
    ok = records["status"] == OK
    assert summary["completed"] == np.count_nonzero(ok)
    assert summary["errors"] == np.count_nonzero(~ok)
    assert summary["completed"] + summary["errors"] == summary["requests"]
    assert set(records["status"].tolist()) <= {OK, REJECTED}
    assert np.all((records["instance"] >= 0) & (records["instance"] < len(res.instances)))


def check_times(records, specs, service_time):
    done = records[records["status"] == OK]
    assert np.all(done["arrival"] <= done["start"])
    assert np.all(done["start"] <= done["end"])
    assert np.all(done["service"] > 0)
    np.testing.assert_allclose(done["end"] - done["start"], done["service"], rtol=EPS, atol=EPS)
    assert np.all(done["end"] - done["arrival"] >= done["service"] - EPS)   # latency ≥ service
    if isinstance(service_time, sl.Constant):                 # service = work ÷ speed
        speed = np.array([specs[j].speed for j in done["instance"]])
        np.testing.assert_allclose(done["service"], service_time.mean / speed, rtol=EPS)


def check_fifo_per_instance(records, specs):
    for j, spec in enumerate(specs):
        mine = records[(records["instance"] == j) & (records["status"] == OK)]  # arrival order
        if spec.slots == 1:
            # One slot: start = max(arrival, previous end) — FIFO, no overlap, never idle
            # while someone waits.
            previous_end = np.concatenate([[-np.inf], mine["end"][:-1]])
            np.testing.assert_allclose(mine["start"], np.maximum(mine["arrival"], previous_end),
                                       rtol=EPS, atol=EPS)
            continue
        assert np.all(np.diff(mine["start"]) >= 0), "served out of arrival order"
        for t in np.concatenate([mine["start"], mine["end"]]):
            assert in_service(mine, t) <= spec.slots
        for request in mine[mine["start"] > mine["arrival"]]:
            # It waited: every slot was busy from its arrival until it started, and it started
            # the moment one freed.
            a, s = request["arrival"], request["start"]
            others = mine[mine["end"] < s]
            for t in np.concatenate([[a], others["end"][others["end"] > a]]):
                assert in_service(mine, t) == spec.slots
            assert np.any(mine["end"] == s)


def check_queue_limit(records, specs, queue_limit):
    status = records["status"]
    if queue_limit is None:
        assert np.all(status == OK)
        return
    for i, request in enumerate(records):
        j = request["instance"]
        t = request["arrival"]
        before = records[:i]
        accepted = before[(before["instance"] == j) & (before["status"] == OK)]
        in_system = np.count_nonzero(accepted["end"] > t)      # served or waiting at t
        must_wait = in_system >= specs[j].slots
        waiting = in_system - specs[j].slots
        expected = REJECTED if must_wait and waiting >= queue_limit else OK
        assert status[i] == expected, (i, t, j, in_system)


def check_timeline(res, bin):
    records = res.requests
    line = res.timeline(bin=bin)
    n_bins = len(line["time"])
    edges = np.arange(n_bins + 1) * bin
    assert edges[-1] >= res.duration - EPS
    np.testing.assert_allclose(line["time"], edges[:-1])
    assert line["arrivals"].sum() == len(records)
    done = records[records["status"] == OK]
    for k in range(n_bins):
        lo, hi = edges[k], edges[k + 1]
        assert line["arrivals"][k] == np.count_nonzero((records["arrival"] >= lo)
                                                       & (records["arrival"] < hi))
        failed = records[records["status"] != OK]
        assert line["errors"][k] == np.count_nonzero((failed["arrival"] >= lo)
                                                     & (failed["arrival"] < hi))
        latency = (done["end"] - done["arrival"])[(done["arrival"] >= lo) & (done["arrival"] < hi)]
        for q in (50, 95, 99):
            if len(latency):
                assert line[f"p{q}"][k] == pytest.approx(np.percentile(latency, q), abs=EPS)
            else:
                assert math.isnan(line[f"p{q}"][k])
    # Answers counted by end time; an end exactly on the last edge may go either way.
    answered = line["throughput"].sum() * bin
    assert np.count_nonzero(done["end"] < edges[-1]) <= round(answered)
    assert round(answered) <= np.count_nonzero(done["end"] <= edges[-1])
    assert answered == pytest.approx(round(answered))
    # Busy fraction of all slots: within [0, 1], and busy seconds add up to the records'.
    utilization = line["utilization"]
    assert np.all(utilization >= -EPS) and np.all(utilization <= 1 + EPS)
    busy = np.clip(done["end"], 0, edges[-1]) - np.clip(done["start"], 0, edges[-1])
    assert (utilization * bin * res.slots).sum() == pytest.approx(busy.sum(), abs=1e-6)
    np.testing.assert_allclose(line["instances"], len(res.instances))


# --- properties -----------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(scenarios(), st.sampled_from([0.5, 1.0, 2.5, 3.0]))
def test_random_clusters_keep_every_invariant(scenario, bin):
    res = sl.simulate(**scenario)
    records, specs = res.requests, scenario["instances"]
    check_accounting(res, scenario["workload"])
    check_times(records, specs, scenario["service_time"])
    check_fifo_per_instance(records, specs)
    check_queue_limit(records, specs, scenario["queue_limit"])
    if isinstance(scenario["balancer"], RoundRobin):          # 0, 1, …, N−1, 0, 1, …
        n = len(specs)
        np.testing.assert_array_equal(records["instance"], np.arange(len(records)) % n)
    check_timeline(res, bin)


@settings(max_examples=200, deadline=None)
@given(scenarios(queue_limit=st.integers(0, 2)))
def test_queue_limit_rejects_exactly_when_the_waiting_line_is_full(scenario):
    res = sl.simulate(**scenario)
    check_accounting(res, scenario["workload"])
    check_fifo_per_instance(res.requests, scenario["instances"])
    check_queue_limit(res.requests, scenario["instances"], scenario["queue_limit"])


@settings(max_examples=100, deadline=None)
@given(scenarios(), seeds)
def test_same_seed_same_records_and_another_seed_other_records(scenario, other_seed):
    first = sl.simulate(**scenario)
    scenario["balancer"] = type(scenario["balancer"])()
    again = sl.simulate(**scenario)
    assert first.requests.tobytes() == again.requests.tobytes()
    assume(other_seed != scenario["seed"] and len(scenario["workload"]) > 0)
    assume(not isinstance(scenario["service_time"], sl.Constant))    # random service times
    scenario["seed"] = other_seed
    other = sl.simulate(**scenario)
    assert not np.array_equal(first.requests["service"], other.requests["service"])


@settings(max_examples=150, deadline=None)
@given(arrival_lists(), clusters(max_slots=1), service_times, seeds)
def test_numpy_round_robin_equals_the_per_request_loop(arrivals, instances, service_time, seed):
    workload = sl.workloads.from_times(arrivals, duration=DURATION)
    fast = sl.simulate(workload, instances, service_time, RoundRobin(), seed=seed).requests
    loop = sl.simulate(workload, instances, service_time, LoopRoundRobin(), seed=seed).requests
    for field in ("arrival", "start", "end", "service"):
        np.testing.assert_allclose(fast[field], loop[field], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(fast["instance"], loop["instance"])
    np.testing.assert_array_equal(fast["status"], loop["status"])


def test_round_robin_runs_vectorized_and_an_overriding_subclass_runs_the_loop():
    # The premise of the comparison above: the two balancers really take different paths.
    workload = sl.workloads.poisson(rate=30, duration=20, seed=1)
    with mock.patch.object(sim, "_run_lindley", wraps=sim._run_lindley) as lindley:
        sl.simulate(workload, 3, 0.08, RoundRobin(), seed=1)
        assert lindley.call_count == 1
        sl.simulate(workload, 3, 0.08, LoopRoundRobin(), seed=1)
        assert lindley.call_count == 1


def test_numpy_and_loop_paths_agree_on_a_long_busy_run():
    workload = sl.workloads.poisson(rate=27, duration=1000, seed=5)      # ρ = 0.9
    specs = [sl.Instance(speed=1.0), sl.Instance(speed=0.5), sl.Instance(speed=2.0)]
    fast = sl.simulate(workload, specs, 0.1, RoundRobin(), seed=3).requests
    loop = sl.simulate(workload, specs, 0.1, LoopRoundRobin(), seed=3).requests
    for field in ("start", "end", "service"):
        np.testing.assert_allclose(fast[field], loop[field], rtol=1e-9, atol=1e-9)


def test_an_empty_workload_gives_an_empty_result():
    res = sl.simulate(sl.workloads.from_times([], duration=5), instances=2, service_time=0.1)
    summary = res.summary()
    assert len(res.requests) == 0
    assert summary["requests"] == summary["completed"] == summary["errors"] == 0
    assert math.isnan(summary["mean"]) and summary["utilization"] == 0
    line = res.timeline(bin=1.0)
    np.testing.assert_array_equal(line["arrivals"], [0, 0, 0, 0, 0])
    assert np.isnan(line["p99"]).all()


# --- hand-worked scenarios (Constant service, so every number is exact) ----------------------

def run(arrivals, instances=1, service=1.0, duration=None, **kwargs):
    workload = sl.workloads.from_times(arrivals, duration=duration or max(arrivals) + 1)
    return sl.simulate(workload, instances=instances, service_time=sl.Constant(service),
                       **kwargs).requests


def test_queue_limit_one_rejects_the_third_and_fourth_request():
    records = run([0.0, 0.1, 0.2, 0.3], queue_limit=1)
    assert records["status"].tolist() == [OK, OK, REJECTED, REJECTED]
    np.testing.assert_allclose(records["start"][:2], [0.0, 1.0])
    np.testing.assert_allclose(records["end"][:2], [1.0, 2.0])


def test_a_departure_at_the_arrival_instant_frees_a_place_in_the_line_first():
    # 0 is served [0, 1); 0.5 waits. At t = 1.0 request 0 leaves and 0.5 starts, so the line is
    # empty again and 1.0 may wait; at 1.2 the line (request 2) is full.
    records = run([0.0, 0.5, 1.0, 1.2], queue_limit=1)
    assert records["status"].tolist() == [OK, OK, OK, REJECTED]
    np.testing.assert_allclose(records["start"][:3], [0.0, 1.0, 2.0])


def test_queue_limit_zero_rejects_only_when_every_slot_is_busy():
    records = run([0.0, 0.1, 0.2, 1.05], instances=[sl.Instance(slots=2)], queue_limit=0)
    assert records["status"].tolist() == [OK, OK, REJECTED, OK]
    np.testing.assert_allclose(records["start"][[0, 1, 3]], [0.0, 0.1, 1.05])


def test_queue_limit_applies_per_instance():
    records = run([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], instances=2, queue_limit=1)
    assert records["instance"].tolist() == [0, 1, 0, 1, 0, 1]
    assert records["status"].tolist() == [OK, OK, OK, OK, REJECTED, REJECTED]
    np.testing.assert_allclose(records["start"][:4], [0.0, 0.1, 1.0, 1.1])


def test_slots_serve_that_many_at_once_then_queue():
    records = run([0.0, 0.0, 0.0, 0.0, 0.0], instances=[sl.Instance(slots=2)])
    np.testing.assert_allclose(records["start"], [0, 0, 1, 1, 2])
    np.testing.assert_allclose(records["end"], [1, 1, 2, 2, 3])


def test_speed_divides_the_service_time():
    records = run([0.0, 0.0, 0.0, 0.0], instances=[sl.Instance(speed=1), sl.Instance(speed=2)])
    assert records["instance"].tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(records["service"], [1, 0.5, 1, 0.5])
    np.testing.assert_allclose(records["end"], [1, 0.5, 2, 1])


def test_cost_multiplies_the_work_of_a_request():
    workload = sl.workloads.Workload(np.array([0.0, 0.0, 10.0]), 20.0,
                                     cost=np.array([1.0, 5.0, 0.5]))
    records = sl.simulate(workload, instances=[sl.Instance(speed=2)],
                          service_time=sl.Constant(1.0)).requests
    np.testing.assert_allclose(records["service"], [0.5, 2.5, 0.25])
    np.testing.assert_allclose(records["end"], [0.5, 3.0, 10.25])


def test_overload_is_allowed_and_the_queue_grows():
    # Arrivals every 0.5 s, service 0.75 s: utilization 1.5. The instance never idles, so
    # request k ends at 0.75 (k + 1) and waits longer than the one before it.
    workload = sl.workloads.constant(rate=2, duration=10)
    res = sl.simulate(workload, instances=1, service_time=sl.Constant(0.75))
    records = res.requests
    k = np.arange(20)
    assert np.all(records["status"] == OK)
    np.testing.assert_allclose(records["end"], 0.75 * (k + 1))
    np.testing.assert_allclose(records["end"] - records["arrival"], 0.75 + 0.25 * k)
    summary = res.summary()
    assert summary["completed"] == 20 and summary["errors"] == 0
    assert summary["throughput"] == pytest.approx(13 / 10)      # ends 0.75 … 9.75 fit in 10 s
    assert summary["utilization"] == pytest.approx(1.0)
    assert summary["mean"] == pytest.approx(0.75 + 0.25 * 9.5)
    line = res.timeline(bin=2.0)
    np.testing.assert_array_equal(line["arrivals"], [4, 4, 4, 4, 4])
    np.testing.assert_allclose(line["throughput"], np.array([2, 3, 2, 3, 3]) / 2)
    np.testing.assert_allclose(line["p50"], 1.125 + np.arange(5))
    np.testing.assert_allclose(line["utilization"], 1.0)


def test_overload_with_random_service_times_still_grows_the_queue():
    # Utilization 1.5: unfinished work grows by (1.5 − 1) s per second, so a request arriving
    # at t waits about 0.5 t (fluid limit; fluctuations grow only like √t).
    workload = sl.workloads.poisson(rate=15, duration=2000, seed=2)
    res = sl.simulate(workload, instances=1, service_time=0.1, seed=2)
    records = res.requests
    latency = records["end"] - records["arrival"]
    last_quarter = records["arrival"] >= 1500
    assert latency[last_quarter].mean() == pytest.approx(0.5 * 1750, rel=0.1)
    assert res.summary()["completed"] == len(workload)


# --- balancers written by a learner ---------------------------------------------------------

class LastOne:
    """No base class, no hooks, no reset: just pick, returning an index."""

    def pick(self, instances, request):
        return len(instances) - 1


class MyRoundRobin:
    """Returns an item of ``instances``, keeps its own counter."""

    def __init__(self):
        self.count = 0

    def pick(self, instances, request):
        choice = instances[self.count % len(instances)]
        self.count += 1
        return choice


class Slotted:
    """Attributes cannot be added (no room for the simulator's ``rng``)."""

    __slots__ = ()

    def pick(self, instances, request):
        return 0


class CountingHooks:
    """Least connections from its own bookkeeping, via the optional hooks."""

    def __init__(self):
        self.started, self.finished, self.open = [], [], {}

    def pick(self, instances, request):
        return min(range(len(instances)), key=lambda j: (self.open.get(j, 0), j))

    def on_start(self, instance, request):
        self.started.append(request.id)
        self.open[instance.index] = self.open.get(instance.index, 0) + 1

    def on_finish(self, instance, request, latency):
        self.finished.append((request.id, latency))
        self.open[instance.index] -= 1


def test_a_learner_balancer_with_only_pick_works():
    records = run([0.0, 0.2, 0.4], instances=3, balancer=LastOne())
    assert records["instance"].tolist() == [2, 2, 2]
    np.testing.assert_allclose(records["end"], [1, 2, 3])
    assert run([0.0, 0.5], instances=2, balancer=Slotted())["instance"].tolist() == [0, 0]


def test_a_learner_round_robin_matches_the_built_in_one():
    workload = sl.workloads.poisson(rate=30, duration=50, seed=4)
    mine = sl.simulate(workload, 4, 0.1, MyRoundRobin(), seed=9).requests
    built_in = sl.simulate(workload, 4, 0.1, RoundRobin(), seed=9).requests
    for field in ("start", "end", "service"):
        np.testing.assert_allclose(mine[field], built_in[field], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(mine["instance"], built_in["instance"])


def test_learner_hooks_are_called_once_per_request_with_its_latency():
    workload = sl.workloads.poisson(rate=20, duration=30, seed=6)
    balancer = CountingHooks()
    res = sl.simulate(workload, 3, 0.1, balancer, seed=6, queue_limit=2)
    records = res.requests
    accepted = np.flatnonzero(records["status"] == OK)
    assert sorted(balancer.started) == accepted.tolist()
    assert sorted(i for i, _ in balancer.finished) == accepted.tolist()
    latency = dict(balancer.finished)
    for i in accepted:
        assert latency[i] == pytest.approx(records["end"][i] - records["arrival"][i])
    assert all(count == 0 for count in balancer.open.values())


def test_a_pick_of_none_is_an_error_for_that_request():
    class OddsNowhere:
        def pick(self, instances, request):
            return None if request.id % 2 else 0

    res = sl.simulate(sl.workloads.from_times([0.0, 1.0, 2.0, 3.0], duration=5),
                      instances=2, service_time=0.1, balancer=OddsNowhere())
    assert res.requests["status"].tolist() == [OK, NO_INSTANCE, OK, NO_INSTANCE]
    assert res.requests["instance"].tolist() == [0, -1, 0, -1]
    summary = res.summary()
    assert summary["completed"] == 2 and summary["errors"] == 2


@pytest.mark.parametrize("returned, error", [
    (3, ValueError), (-1, ValueError), (99, ValueError),
    ("0", TypeError), (1.0, TypeError), (True, TypeError), ([0], TypeError),
])
def test_a_balancer_returning_something_else_raises_naming_the_balancer(returned, error):
    class Wrong:
        def pick(self, instances, request):
            return returned

    with pytest.raises(error) as info:
        run([0.0, 1.0], instances=3, balancer=Wrong())
    message = str(info.value)
    assert "Wrong.pick" in message and repr(returned) in message
    assert "0..2" in message                                   # what is allowed


def test_numpy_integer_picks_are_accepted():
    class NumpyIndex:
        def pick(self, instances, request):
            return np.int64(1)

    assert run([0.0, 1.0], instances=2, balancer=NumpyIndex())["instance"].tolist() == [1, 1]


# --- bad input: named, and raised before any work ----------------------------------------------

class SpyService(sl.ServiceTime):
    mean = 1.0

    def __init__(self):
        self.samples = 0

    def sample(self, rng, n):
        self.samples += 1
        return np.ones(n)


class SpyBalancer:
    def __init__(self):
        self.calls = 0

    def reset(self):
        self.calls += 1

    def pick(self, instances, request):
        self.calls += 1
        return 0


BAD_SIMULATE = [
    # (keyword, value, error, text in the message)
    ("instances", 0, ValueError, "instances must be ≥ 1, got 0"),
    ("instances", -2, ValueError, "-2"),
    ("instances", [], ValueError, "instances"),
    ("instances", [1, 2], TypeError, "instances[0]"),
    ("instances", "4", TypeError, "'4'"),
    ("instances", 2.5, TypeError, "2.5"),
    ("instances", True, TypeError, "True"),
    ("service_time", -1.0, ValueError, "-1"),
    ("service_time", 0, ValueError, "0"),
    ("service_time", float("nan"), ValueError, "NaN"),
    ("service_time", float("inf"), ValueError, "inf"),
    ("service_time", "fast", TypeError, "'fast'"),
    ("service_time", None, TypeError, "service_time"),
    ("balancer", object(), TypeError, "pick"),
    ("queue_limit", -1, ValueError, "-1"),
    ("queue_limit", 1.5, TypeError, "1.5"),
    ("seed", -1, ValueError, "-1"),
    ("seed", 2.5, TypeError, "2.5"),
    ("workload", [0.0, 1.0], TypeError, "list"),
]


@pytest.mark.parametrize("keyword, value, error, text", BAD_SIMULATE,
                         ids=[f"{k}={v!r}" for k, v, _, _ in BAD_SIMULATE])
def test_bad_input_to_simulate_is_named_and_rejected_before_any_work(keyword, value, error,
                                                                     text):
    service, balancer = SpyService(), SpyBalancer()
    kwargs = {"workload": sl.workloads.from_times([0.0, 1.0], duration=2), "instances": 2,
              "service_time": service, "balancer": balancer, "seed": 1}
    kwargs[keyword] = value
    with pytest.raises(error) as info:
        sl.simulate(**kwargs)
    message = str(info.value)
    assert keyword in message and text in message
    assert service.samples == 0 and balancer.calls == 0


BAD_INSTANCE = [
    ({"slots": 0}, ValueError, "slots", "0"),
    ({"slots": -1}, ValueError, "slots", "-1"),
    ({"slots": 1.5}, TypeError, "slots", "1.5"),
    ({"speed": 0}, ValueError, "speed", "0"),
    ({"speed": -2.0}, ValueError, "speed", "-2"),
    ({"speed": float("nan")}, ValueError, "speed", "NaN"),
    ({"speed": "fast"}, TypeError, "speed", "'fast'"),
    ({"weight": 0}, ValueError, "weight", "0"),
]


@pytest.mark.parametrize("kwargs, error, parameter, text", BAD_INSTANCE,
                         ids=[str(k) for k, _, _, _ in BAD_INSTANCE])
def test_bad_instance_specs_are_named(kwargs, error, parameter, text):
    with pytest.raises(error) as info:
        sl.Instance(**kwargs)
    assert parameter in str(info.value) and text in str(info.value)


@pytest.mark.parametrize("distribution, text", [
    (lambda: sl.Constant(-0.5), "-0.5"), (lambda: sl.Exponential(0), "0"),
    (lambda: sl.LogNormal(mean=float("nan")), "NaN"), (lambda: sl.Pareto(mean=1, alpha=1), "1"),
])
def test_bad_service_time_distributions_are_named(distribution, text):
    with pytest.raises(ValueError) as info:
        distribution()
    message = str(info.value)
    assert any(name in message for name in ("service_time", "alpha")) and text in message


@pytest.mark.parametrize("bin, error, text", [
    (0, ValueError, "0"), (-1.0, ValueError, "-1"), (float("nan"), ValueError, "NaN"),
    ("1", TypeError, "'1'"),
])
def test_bad_timeline_bin_is_named(bin, error, text):
    res = sl.simulate(sl.workloads.poisson(rate=5, duration=10, seed=1), 1, 0.1, seed=1)
    with pytest.raises(error) as info:
        res.timeline(bin=bin)
    assert "bin" in str(info.value) and text in str(info.value)


def test_one_retry_hides_a_crash_from_clients_when_capacity_remains():
    # Refused connections and requests cut off inside the dying instance are both resent.
    wl = sl.workloads.poisson(rate=40, duration=120, seed=1)
    common = dict(instances=4, service_time=0.05, seed=1,
                  health_check=sl.HealthCheck(interval=2, unhealthy_threshold=3),
                  failures=[sl.Crash(1, at=30.0)])
    without = sl.simulate(wl, **common).summary()
    with_retry = sl.simulate(wl, retries=1, **common).summary()
    assert without["errors"] > 20
    assert with_retry["errors"] == 0
    assert with_retry["retries"] >= without["errors"]

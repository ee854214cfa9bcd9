"""Every size a simulated cluster takes has a documented limit, checked before any work or
allocation, with a message naming the parameter, the value and what is allowed; policies
must be objects; a health check's probe timeout fits its interval."""

import time
import tracemalloc

import pytest

import scalelab as sl
from scalelab import config

WORKLOAD = sl.workloads.poisson(rate=10, duration=600, seed=1)

TOO_BIG = [
    # (arguments, error, words the message must hold)
    (dict(instances=10**9), ValueError, ["instances", "10,000", "1,000,000,000"]),
    (dict(instances=[sl.Instance()] * 10_001), ValueError, ["instances", "10,000", "10,001"]),
    (dict(instances=2, autoscaler=sl.autoscalers.HPA(), max_instances=10**8), ValueError,
     ["max_instances", "10,000", "100,000,000"]),
    (dict(instances=2, autoscaler=sl.autoscalers.HPA(), control_interval=1e-6), ValueError,
     ["control_interval", "1e-06", "1,000,000"]),
    (dict(instances=4, health_check=sl.HealthCheck(interval=1e-6, timeout=1e-7)), ValueError,
     ["health_check.interval", "1e-06", "1,000,000 probes"]),
    (dict(instances=[sl.Instance(slots=10_000)] * 101), ValueError,
     ["slots", "1,000,000", "1,010,000"]),
]


@pytest.mark.parametrize("arguments, error, words", TOO_BIG,
                         ids=[str(sorted(a)) for a, _, _ in TOO_BIG])
def test_sizes_past_their_limit_are_refused_at_once_and_named(arguments, error, words):
    tracemalloc.start()
    began = time.perf_counter()
    with pytest.raises(error) as info:
        sl.simulate(WORKLOAD, service_time=0.1, **arguments)
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for word in words:
        assert word in str(info.value)
    assert peak < 50e6  # no allocation the size of the request: refused before
    assert seconds < 5


def test_an_instance_with_too_many_slots_is_refused():
    with pytest.raises(ValueError, match=r"slots must be between 1 and 10,000.*1,000,000,000"):
        sl.Instance(slots=10**9)


def test_too_many_closed_loop_users_are_refused():
    with pytest.raises(ValueError, match=r"users must be between 1 and 100,000.*10,000,000"):
        sl.simulate_closed(users=10**7, duration=60, service_time=0.1)


def test_consistent_hash_refuses_a_ring_larger_than_envoys_maximum():
    with pytest.raises(ValueError, match=r"vnodes must be between 1 and"):
        sl.balancers.ConsistentHash(vnodes=10**8)
    ring = sl.balancers.ConsistentHash(vnodes=10_000)
    with pytest.raises(ValueError, match=r"vnodes × instances"):
        sl.simulate(WORKLOAD, instances=1000, service_time=0.1, balancer=ring)


def test_the_limits_themselves_still_run():
    res = sl.simulate(sl.workloads.poisson(rate=100, duration=5, seed=1),
                      instances=config.MAX_INSTANCES, service_time=0.1, seed=1)
    assert len(res.instances) == config.MAX_INSTANCES


@pytest.mark.parametrize("keyword, policy", [
    ("balancer", sl.balancers.RoundRobin), ("balancer", sl.balancers.LeastConnections),
    ("autoscaler", sl.autoscalers.Threshold), ("autoscaler", sl.autoscalers.HPA)])
def test_a_class_instead_of_an_object_says_to_call_it(keyword, policy):
    with pytest.raises(TypeError) as info:
        sl.simulate(WORKLOAD, instances=2, service_time=0.1, **{keyword: policy})
    name = policy.__name__
    assert f"{keyword} must be an object" in str(info.value)
    assert f"pass {name}()" in str(info.value)
    with pytest.raises(TypeError, match=rf"pass {name}\(\)"):
        sl.simulate_closed(users=2, duration=10, service_time=0.1, **{keyword: policy})


def test_an_instance_class_instead_of_an_object_says_to_call_it():
    with pytest.raises(TypeError, match=r"pass sl.Instance\(\)"):
        sl.simulate(WORKLOAD, instances=sl.Instance, service_time=0.1)


@pytest.mark.parametrize("interval, timeout", [(0.5, 0.5), (0.2, 0.2), (2.0, 1.0), (5, 1.0)])
def test_a_health_check_timeout_defaults_to_fit_its_interval(interval, timeout):
    check = sl.HealthCheck(interval=interval)
    assert check.timeout == timeout
    res = sl.simulate(WORKLOAD, instances=2, service_time=0.1, health_check=check,
                      failures=[sl.Crash(instance=0, at=100.0)], retries=1)
    assert any(what == "marked down" for _, _, what in res.events)


def test_an_explicit_timeout_longer_than_the_interval_is_still_refused():
    with pytest.raises(ValueError, match="timeout must be ≤ interval"):
        sl.HealthCheck(interval=0.5, timeout=1.0)


def test_a_count_means_that_many_default_instances_everywhere():
    assert config.instance_specs(3) == [sl.Instance()] * 3
    assert sl.Instance() == sl.Instance(speed=1.0, slots=1, weight=1.0)
    res = sl.simulate(WORKLOAD, instances=3, service_time=0.1, seed=1)
    assert res.instances == [sl.Instance()] * 3
    closed = sl.simulate_closed(users=3, duration=10, service_time=0.1, instances=3)
    assert closed.instances == [sl.Instance()] * 3


def test_simulate_and_the_config_agree_on_every_argument_and_default():
    import inspect

    parameters = inspect.signature(sl.simulate).parameters
    defaults = {name: p.default for name, p in parameters.items() if name != "workload"}
    fields = {f.name: f.default for f in config.ClusterConfig.__dataclass_fields__.values()}
    assert defaults == fields

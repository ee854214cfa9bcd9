"""The fast paths for built-in least-loaded policies make exactly the picks the policies'
own pick() makes through the general loop (the oracle: a subclass whose pick calls the
built-in one, which the kernels never take)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab import kernels

POLICIES = [sl.balancers.PowerOfTwoChoices, sl.balancers.JoinShortestQueue,
            sl.balancers.LeastConnections]


def through_pick(policy):
    class ThroughPick(policy):
        def pick(self, instances, request):
            return super().pick(instances, request)
    return ThroughPick


@settings(max_examples=40, deadline=None)
@given(policy=st.sampled_from(POLICIES), n=st.integers(1, 12), load=st.floats(0.2, 1.3),
       speeds=st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=12, max_size=12),
       seed=st.integers(0, 2**16))
def test_kernels_equal_the_general_loop(policy, n, load, speeds, seed):
    instances = [sl.Instance(speed=s) for s in speeds[:n]]
    workload = sl.workloads.poisson(rate=load * n, duration=300, seed=seed)
    fast = sl.simulate(workload, instances=instances, service_time=1.0, balancer=policy(),
                       seed=seed).requests
    slow = sl.simulate(workload, instances=instances, service_time=1.0,
                       balancer=through_pick(policy)(), seed=seed).requests
    assert np.array_equal(fast["instance"], slow["instance"])
    assert np.allclose(fast["end"], slow["end"], rtol=0, atol=1e-9)
    assert np.allclose(fast["start"], slow["start"], rtol=0, atol=1e-9)


def test_kernels_are_used_only_where_they_are_exact():
    specs = [sl.Instance()] * 4
    assert kernels.kernel_for(sl.balancers.PowerOfTwoChoices(), specs) is not None
    assert kernels.kernel_for(through_pick(sl.balancers.PowerOfTwoChoices)(), specs) is None
    assert kernels.kernel_for(sl.balancers.JoinShortestQueue(), [sl.Instance(slots=2)]) is None
    weighted = [sl.Instance(weight=1), sl.Instance(weight=2)]
    assert kernels.kernel_for(sl.balancers.LeastConnections(), weighted) is None
    many = [sl.Instance()] * (kernels.SMALL + 1)
    assert kernels.kernel_for(sl.balancers.JoinShortestQueue(), many) is None


@pytest.mark.parametrize("policy", POLICIES)
def test_same_seed_same_picks_through_the_kernel(policy):
    workload = sl.workloads.poisson(rate=8, duration=200, seed=2)
    runs = [sl.simulate(workload, instances=10, service_time=1.0, balancer=policy(seed=5)
                        if policy is sl.balancers.PowerOfTwoChoices else policy(),
                        seed=1).requests["instance"] for _ in range(2)]
    assert np.array_equal(*runs)

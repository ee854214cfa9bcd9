"""Whatever path a run takes, a policy behaves the same: a learner's subclass has every hook
it overrides called, once per request, and no method name of a learner's class is taken as a
hidden hook."""

import numpy as np
import pytest

import scalelab as sl


def counting(policy):
    """A subclass of ``policy`` that overrides only the hooks, counting their calls."""
    class Counting(policy):
        def reset(self):
            super().reset()
            self.resets = getattr(self, "resets", 0) + 1
            self.starts, self.finishes = 0, 0

        def on_start(self, instance, request):
            super().on_start(instance, request)
            self.starts += 1

        def on_finish(self, instance, request, latency):
            super().on_finish(instance, request, latency)
            self.finishes += 1
    return Counting


@pytest.mark.parametrize("policy", [sl.balancers.RoundRobin, sl.balancers.Random,
                                    sl.balancers.PowerOfTwoChoices,
                                    sl.balancers.JoinShortestQueue,
                                    sl.balancers.LeastConnections])
def test_a_subclass_overriding_only_the_hooks_gets_them_called(policy):
    workload = sl.workloads.poisson(rate=20, duration=60, seed=1)
    balancer = counting(policy)()
    res = sl.simulate(workload, instances=4, service_time=0.1, balancer=balancer, seed=1)
    assert balancer.resets == 1
    assert balancer.starts == balancer.finishes == len(res.requests) > 1000
    built_in = sl.simulate(workload, instances=4, service_time=0.1, balancer=policy(), seed=1)
    assert np.array_equal(res.requests["instance"], built_in.requests["instance"])


def test_a_learner_method_named_like_an_internal_one_is_just_a_method():
    class Mine(sl.balancers.RoundRobin):
        def assign(self, instance):  # a learner's own helper, nothing to do with the engine
            return instance

        def fast(self):
            return "mine"

    workload = sl.workloads.poisson(rate=20, duration=30, seed=2)
    res = sl.simulate(workload, instances=3, service_time=0.1, balancer=Mine(), seed=2)
    built_in = sl.simulate(workload, instances=3, service_time=0.1,
                           balancer=sl.balancers.RoundRobin(), seed=2)
    assert np.array_equal(res.requests["instance"], built_in.requests["instance"])

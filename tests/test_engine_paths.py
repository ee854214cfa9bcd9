"""Whatever path a run takes, a policy behaves the same: a learner's subclass has every hook
it overrides called, once per request, and no method name of a learner's class is taken as a
hidden hook."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab import config, kernels, sim


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


# -- every path, the same picks and the same hook calls ------------------------------------

POLICIES = [sl.balancers.RoundRobin, sl.balancers.Random, sl.balancers.PowerOfTwoChoices,
            sl.balancers.JoinShortestQueue, sl.balancers.LeastConnections,
            sl.balancers.WeightedRoundRobin, sl.balancers.PeakEWMA]


def setups(n):
    """Cluster arguments that change nothing about routing: each takes another path."""
    return {
        "plain": {},
        "health checks that always pass": {"health_check": sl.HealthCheck(interval=5)},
        "an autoscaler held at n": {"autoscaler": sl.autoscalers.HPA(), "min_instances": n,
                                    "max_instances": n},
    }


def paths_taken(monkeypatch):
    taken = []
    original = sim.engine_for

    def spy(config, workload):
        how, plan = original(config, workload)
        taken.append(how)
        return how, plan
    monkeypatch.setattr(sim, "engine_for", spy)
    return taken


@settings(max_examples=30, deadline=None)
@given(policy=st.sampled_from(POLICIES), n=st.integers(1, 6), load=st.floats(0.3, 1.2),
       seed=st.integers(0, 2**16))
def test_every_path_makes_the_same_picks_and_calls_every_hook_as_often(policy, n, load, seed):
    workload = sl.workloads.poisson(rate=load * n / 0.5, duration=60, seed=seed)
    instances = [sl.Instance(speed=s) for s in (1.0, 0.5, 2.0, 1.0, 1.3, 0.7)[:n]]
    runs = []
    for name, extra in setups(n).items():
        for balancer in (policy(), counting(policy)()):
            res = sl.simulate(workload, instances=instances, service_time=0.5,
                              balancer=balancer, seed=seed, **extra)
            runs.append((name, type(balancer).__name__, res.requests))
            if hasattr(balancer, "starts"):
                assert balancer.resets == 1
                assert balancer.starts == balancer.finishes == len(workload), name
    _, _, first = runs[0]
    for name, kind, records in runs[1:]:
        assert np.array_equal(records["instance"], first["instance"]), (name, kind)
        for field in ("start", "end"):
            assert np.allclose(records[field], first[field], rtol=0, atol=1e-9), (name, kind)


def test_the_equivalence_above_covers_every_path(monkeypatch):
    taken = paths_taken(monkeypatch)
    workload = sl.workloads.poisson(rate=10, duration=60, seed=1)
    for policy in (sl.balancers.RoundRobin, sl.balancers.LeastConnections):
        for extra in setups(3).values():
            for balancer in (policy(), counting(policy)()):
                sl.simulate(workload, instances=3, service_time=0.2, balancer=balancer, **extra)
    assert set(taken) == {sim.SCAN, sim.KERNEL, sim.STREAMLINED, sim.LOOP}


def test_one_rule_decides_the_path():
    workload = sl.workloads.poisson(rate=10, duration=60, seed=1)

    def how(**arguments):
        arguments.setdefault("service_time", 0.1)
        cfg = config.ClusterConfig(**arguments)
        sl.balancers.prepare(cfg.balancer, np.random.default_rng(0))
        return sim.engine_for(cfg, workload)[0]

    lc = sl.balancers.LeastConnections
    assert how(balancer=sl.balancers.RoundRobin()) == sim.SCAN
    assert how(balancer=sl.balancers.Random()) == sim.SCAN
    assert how(balancer=lc()) == sim.KERNEL
    assert how(balancer=sl.balancers.RoundRobin(), autoscaler=sl.autoscalers.HPA()) == sim.KERNEL
    assert how(balancer=sl.balancers.Random(), autoscaler=sl.autoscalers.HPA()) == sim.LOOP
    assert how(balancer=counting(lc)()) == sim.STREAMLINED
    assert how(balancer=lc(), instances=[sl.Instance(slots=2)]) == sim.STREAMLINED
    assert how(balancer=lc(), queue_limit=3) == sim.LOOP
    assert how(balancer=lc(), sessions=sl.sessions.InMemory()) == sim.LOOP

    class OwnFastPath(counting(lc)):
        def fast_path(self, specs, most):  # it vouches for its own hooks: its kernel stands
            return kernels.least_connections(specs, most)

    assert how(balancer=OwnFastPath()) == sim.KERNEL

    mine = lc()
    mine.pick = lambda instances, request: 0  # an override on the object itself counts too
    assert how(balancer=mine) == sim.STREAMLINED


def test_a_subclass_whose_reset_skips_super_still_runs():
    class OwnReset(sl.balancers.RoundRobin):
        def reset(self):  # forgets super().reset(): the policy must still be usable
            self.seen = 0

        def pick(self, instances, request):
            self.seen += 1
            return super().pick(instances, request)

    workload = sl.workloads.poisson(rate=10, duration=30, seed=3)
    mine = OwnReset()
    res = sl.simulate(workload, instances=3, service_time=0.1, balancer=mine, seed=3)
    built_in = sl.simulate(workload, instances=3, service_time=0.1, seed=3)
    assert mine.seen == len(workload)
    assert np.array_equal(res.requests["instance"], built_in.requests["instance"])

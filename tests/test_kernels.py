"""The fast paths for built-in least-loaded policies make exactly the picks the policies'
own pick() makes through the general loop (the oracle: a subclass whose pick calls the
built-in one, which the kernels never take)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab import epochs, kernels, routing

POLICIES = [sl.balancers.PowerOfTwoChoices, sl.balancers.JoinShortestQueue,
            sl.balancers.LeastConnections, sl.balancers.RoundRobin]


def through_pick(policy):
    class ThroughPick(policy):
        def pick(self, instances, request):
            return super().pick(instances, request)
    return ThroughPick


@settings(max_examples=40, deadline=None)
@given(policy=st.sampled_from(POLICIES), n=st.integers(1, 12), load=st.floats(0.2, 1.3),
       speeds=st.lists(st.sampled_from([0.5, 1.0, 2.0, 0.7, 1.3]), min_size=12, max_size=12),
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
    assert routing.fast_path(sl.balancers.PowerOfTwoChoices(), specs, 0) is not None
    assert routing.fast_path(through_pick(sl.balancers.PowerOfTwoChoices)(), specs, 0) is None
    assert routing.fast_path(sl.balancers.JoinShortestQueue(), [sl.Instance(slots=2)], 0) is None
    weighted = [sl.Instance(weight=1), sl.Instance(weight=2)]
    assert routing.fast_path(sl.balancers.LeastConnections(), weighted, 0) is None
    many = [sl.Instance()] * (kernels.SMALL + 1)
    assert routing.fast_path(sl.balancers.JoinShortestQueue(), many, 0) is None


@pytest.mark.parametrize("policy", POLICIES)
def test_same_seed_same_picks_through_the_kernel(policy):
    workload = sl.workloads.poisson(rate=8, duration=200, seed=2)
    runs = [sl.simulate(workload, instances=10, service_time=1.0, balancer=policy(seed=5)
                        if policy is sl.balancers.PowerOfTwoChoices else policy(),
                        seed=1).requests["instance"] for _ in range(2)]
    assert np.array_equal(*runs)


@settings(max_examples=25, deadline=None)
@given(policy=st.sampled_from(POLICIES), start=st.integers(1, 4), boot=st.sampled_from([0, 5, 30]),
       speed=st.sampled_from([0.5, 1.0, 2.0, 0.7, 1.3]), seed=st.integers(0, 2**16),
       scaler=st.sampled_from(["hpa", "threshold"]))
# A new, idle instance joining one with a long queue: the counts reach past the mean.
@example(policy=sl.balancers.LeastConnections, start=1, boot=0, speed=0.5, seed=1,
         scaler="threshold")
def test_autoscaled_runs_through_a_kernel_equal_the_general_loop(policy, start, boot, speed,
                                                                 seed, scaler):
    """Epoch by epoch (kernel between control steps) gives the general loop's run: the same
    picks, the same scaling decisions, the same instance lifetimes."""
    day = sl.workloads.diurnal(mean_rate=4, amplitude=0.8, period=600, duration=1200, seed=seed)

    def run(balancer):
        autoscaler = Watched(target_utilization=0.5, min_replicas=1, max_replicas=12) \
            if scaler == "hpa" else WatchedThreshold(duration=30, cooldown=30)
        res = sl.simulate(day, instances=[sl.Instance(speed=speed)] * start, service_time=0.5,
                          balancer=balancer, autoscaler=autoscaler, control_interval=15,
                          min_instances=1, max_instances=12, boot_time=boot, seed=seed)
        return res, autoscaler.seen

    (fast, seen_fast), (slow, seen_slow) = run(policy()), run(through_pick(policy)())
    assert np.array_equal(fast.requests["instance"], slow.requests["instance"])
    for field in ("start", "end", "service"):
        assert np.allclose(fast.requests[field], slow.requests[field], rtol=0, atol=1e-9)
    assert np.array_equal(fast.lifetimes, slow.lifetimes)
    assert fast.events == slow.events
    assert len(fast.lifetimes) > start  # it did scale
    assert len(seen_fast) == len(seen_slow) > 0
    for a, b in zip(seen_fast, seen_slow):  # what the autoscaler saw, to the last bit
        assert np.array_equal(a.latencies, b.latencies)
        assert (a.time, a.ready, a.warming, a.request_rate, a.queue_length) == \
            (b.time, b.ready, b.warming, b.request_rate, b.queue_length)
        assert a.utilization == b.utilization or (np.isnan(a.utilization)
                                                  and np.isnan(b.utilization))


class Watching:
    """Keeps every observation the autoscaler is shown."""

    def reset(self):
        super().reset()
        self.seen = []

    def desired(self, observation):
        self.seen.append(observation)
        return super().desired(observation)


class Watched(Watching, sl.autoscalers.HPA):
    pass


class WatchedThreshold(Watching, sl.autoscalers.Threshold):
    pass


# Plain round-robin runs as a numpy scan, not through a kernel.
CHUNKED = [(policy, False) for policy in POLICIES if policy is not sl.balancers.RoundRobin] + \
    [(policy, True) for policy in POLICIES]


@pytest.mark.parametrize("small_batch", [0, 10**9], ids=["numpy", "python"])
@pytest.mark.parametrize("policy, scaled", CHUNKED)
def test_chunk_boundaries_change_nothing(policy, scaled, small_batch, monkeypatch):
    """Routing in chunks (here of 37 arrivals) carries every queue across the boundary,
    whether the batch's records are computed with numpy or one by one."""
    monkeypatch.setattr(epochs, "SMALL_BATCH", small_batch)
    workload = sl.workloads.poisson(rate=9, duration=400, seed=3)
    instances = [sl.Instance(speed=s) for s in (1.0, 0.7, 1.3, 1.0)]
    steady = dict(autoscaler=sl.autoscalers.HPA(), min_instances=4, max_instances=4) \
        if scaled else {}

    def run(balancer):
        return sl.simulate(workload, instances=instances, service_time=0.4, balancer=balancer,
                           seed=3, **steady).requests

    slow = run(through_pick(policy)())
    monkeypatch.setattr(epochs, "CHUNK", 37)
    fast = run(policy())
    assert np.array_equal(fast["instance"], slow["instance"])
    assert np.array_equal(fast["start"], slow["start"])
    assert np.array_equal(fast["end"], slow["end"])
    assert np.array_equal(fast["service"], slow["service"])


def test_autoscaled_runs_take_the_kernel_only_for_exact_built_ins(monkeypatch):
    routed = []
    original = epochs.run
    monkeypatch.setattr(epochs, "run", lambda *args: routed.append(1) or original(*args))
    day = sl.workloads.diurnal(mean_rate=4, amplitude=0.8, period=600, duration=600, seed=1)
    for balancer in (sl.balancers.LeastConnections(), sl.balancers.RoundRobin(),
                     through_pick(sl.balancers.LeastConnections)()):
        sl.simulate(day, instances=2, service_time=0.5, balancer=balancer,
                    autoscaler=sl.autoscalers.HPA(), min_instances=1, max_instances=8, seed=1)
    assert len(routed) == 2


@pytest.mark.parametrize("policy", POLICIES)
def test_instances_leaving_and_joining_anywhere_keep_the_policys_picks(policy):
    """The oracle is the policy's own pick() on a view whose health flags follow the
    kernel's slots, with in-flight counts kept from the ends the kernel computed. Instances
    leave from the middle (autoscaling drains the newest) and new ones join."""
    speeds = [1.0, 0.7, 1.3, 1.0, 0.5]
    kernel_policy, oracle = policy(seed=5) if policy is sl.balancers.PowerOfTwoChoices \
        else policy(), policy(seed=5) if policy is sl.balancers.PowerOfTwoChoices else policy()
    for balancer in (kernel_policy, oracle):
        balancer.reset()
    state = sl.balancers.ClusterState(speeds, [1.0] * len(speeds))
    view = sl.balancers.InstancesView(state)
    kernel = routing.fast_path(kernel_policy, [sl.Instance(speed=s) for s in speeds], 0)
    rng = np.random.default_rng(7)
    t, ending = 0.0, []
    for step in range(12):
        if step % 3 == 1:  # one in service leaves, from the middle when it can
            serving = kernel.ids
            leaving = serving[len(serving) // 2]
            kernel.remove(leaving)
            state.healthy[leaving] = False
        elif step % 3 == 2 and step < 9:  # a new instance joins
            joining = state.add(0.8, 1.0)
            kernel.add(joining, state.speed[joining])
        kernel.instances = len(state.speed)
        times = (t + np.cumsum(rng.exponential(0.3, 40))).tolist()
        work = rng.exponential(1.0, 40)
        ends, slots = kernel.route(times, work)
        ids = [kernel.ids[slot] for slot in slots]
        for i, arrival in enumerate(times):
            for end, j in sorted(ending):
                if end <= arrival:
                    state.inflight[j] -= 1
            ending = [(end, j) for end, j in ending if end > arrival]
            chosen = oracle.pick(view, sl.balancers.Request(i, arrival)).index
            assert chosen == ids[i], f"step {step}, request {i}"
            state.inflight[chosen] += 1
            ending.append((ends[i], chosen))
        t = times[-1]
    with pytest.raises(ValueError, match="only a new instance"):
        kernel.add(leaving, 1.0)  # its queue and policy state are gone

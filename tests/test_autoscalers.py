"""Autoscalers: the reference systems' worked cases (Kubernetes' HPA controller,
``pkg/controller/podautoscaler/replica_calculator.go`` and ``horizontal.go``; the AWS EC2 Auto
Scaling user guide's step-scaling example and CloudWatch's alarm evaluation), the
control loop in the simulator (timing, cooldowns, warm-up, bounds, cost, sessions), the
conformance suite, and lesson 05's explorer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalelab as sl
from scalelab import plots, scenarios
from scalelab.autoscalers import (
    HPA,
    Autoscaler,
    Observation,
    StepScaling,
    TargetTracking,
    Threshold,
    round_percent_change,
)
from scalelab.testing import check_autoscaler


def obs(time, ready, warming=0, utilization=0.5, *, interval=15.0, low=1, high=20):
    return Observation(time=float(time), ready=ready, warming=warming, utilization=utilization,
                       request_rate=0.0, queue_length=0, min_instances=low, max_instances=high,
                       interval=interval)


def scale_events(result, *kinds):
    return [(t, j) for t, j, what in result.events if what in kinds]


# -- Kubernetes HPA: replica_calculator.go and horizontal.go (kubernetes/kubernetes) -------------


def test_hpa_formula_reproduces_the_worked_cases():
    hpa = HPA(target_utilization=0.5)
    assert hpa.recommend([900] * 4) == 8                         # ceil(4 × 1.8)
    assert hpa.recommend([549] * 10) == 10                       # 54 %: within tolerance
    assert hpa.recommend([560] * 10) == 12                       # 56 %: ceil(11.2)
    # 4 ready at 800m + 4 unready: filled as idle the ratio reverses direction → no change
    assert hpa.recommend([800] * 4 + [None] * 4, ready=[True] * 4 + [False] * 4) == 8
    # 9 pods at 200m + 1 without a metric, filled as fully busy: ratio 0.56 → 6 (naive: 4)
    assert hpa.recommend([200] * 9 + [None]) == 6


def test_hpa_truncates_to_a_whole_percent_from_millicores():
    hpa = HPA(target_utilization=0.5)
    assert hpa.recommend([570] * 10) == 12                       # 57 %, not 56.999…
    assert hpa.desired(obs(15, 10, utilization=0.549)) == 10     # 54 % → tolerance
    with pytest.raises(ValueError, match="no ready pod has a metric"):
        hpa.recommend([None, None])


def test_hpa_default_scale_up_limits_give_the_documented_timeline():
    # Target 5 % at 50 % busy: the formula proposes 20 at every step (unready pods count as
    # idle), so only the default policies (4 pods or 100 % per 15 s, Max) limit the climb.
    hpa = HPA(target_utilization=0.05, max_replicas=20)
    current, ready, seen = 2, 2, []
    for t in (0, 15, 30, 45):
        pods = [500] * ready + [None] * (current - ready)
        assert hpa.recommend(pods, ready=[True] * ready + [False] * (current - ready)) == 20
        current = hpa.desired(obs(t, ready, current - ready, 0.5))
        seen.append((t, current))
    assert seen == [(0, 6), (15, 12), (30, 20), (45, 20)]


def test_hpa_scales_down_300_s_after_the_last_higher_recommendation():
    hpa = HPA(target_utilization=0.5)
    assert hpa.desired(obs(-15, 10, utilization=0.5)) == 10      # recommendation 10 at t=−15
    current, changes = 10, []
    for t in range(0, 331, 15):
        wanted = hpa.desired(obs(t, current, utilization=0.2))  # the formula now says 4
        if wanted != current:
            changes.append((t, current, wanted))
            current = wanted
    assert changes == [(285, 10, 4)]


def test_hpa_does_not_scale_down_for_five_minutes_after_start():
    hpa = HPA(target_utilization=0.5)
    answers = [hpa.desired(obs(t, 6, utilization=0.1)) for t in range(15, 331, 15)]
    assert answers.index(2) == (315 - 15) // 15                 # first at t=315


def test_hpa_holds_without_a_metric_and_respects_its_own_bounds():
    hpa = HPA(target_utilization=0.5, min_replicas=3, max_replicas=5)
    assert hpa.desired(obs(15, 0, warming=4, utilization=math.nan)) == 4
    assert hpa.desired(obs(30, 4, utilization=math.nan)) == 4
    assert hpa.desired(obs(45, 4, utilization=1.0)) == 5
    assert hpa.desired(obs(60, 2, utilization=0.5)) == 3        # below min_replicas


# -- AWS: EC2 Auto Scaling user guide (step scaling, cooldowns) and CloudWatch alarm evaluation ---


def test_aws_percent_rounding():
    assert [round_percent_change(x) for x in (12.7, 0.67, -0.58, -6.67)] == [12, 1, -1, -6]
    assert [round_percent_change(x) for x in (0, 1, -1, 3.3, -3.9)] == [0, 1, -1, 3, -3]


def test_step_scaling_reproduces_the_aws_example():
    # One-minute datapoints; capacity 10, threshold 50 %, the user guide's steps (defaults),
    # 300 s instance warm-up and no cooldown (step policies have none).
    policy = StepScaling()
    steps = [(60, 10, 0, 0.6, 11),    # +10 % of 10
             (120, 10, 1, 0.6, 11),   # same step while the new one boots: nothing more
             (180, 11, 0, 0.7, 13),   # +30 % of the 10 warmed up = 3; the new one is warming
             (240, 11, 2, 0.4, 13),   # scale-in waits while instances boot …
             (300, 13, 0, 0.4, 13),   # … and while they warm up (until 300 + 300 s)
             (600, 13, 0, 0.4, 12),   # −10 % of 13 = −1.3 → −1
             (660, 12, 0, 0.3, 9)]    # −30 % of 12 = −3.6 → −3: no cooldown after a scale-in
    for t, ready, warming, utilization, expected in steps:
        got = policy.desired(obs(t, ready, warming, utilization, interval=60))
        assert got == expected, f"t={t}: {got} instances, the AWS example has {expected}"


def test_step_scaling_acts_at_most_once_per_alarm_period():
    # 15 s readings at 10 % against a 50 % threshold: the alarm holds from t = 60 s
    policy = StepScaling(warmup=0, period=60)
    current, changes = 20, []
    for t in range(15, 136, 15):
        wanted = policy.desired(obs(t, current, utilization=0.1))
        if wanted != current:
            changes.append((t, wanted))
            current = wanted
    assert changes == [(60, 14), (120, 10)]   # −30 % of 20, then of 14 one period later


def test_step_scaling_has_no_cooldown_parameter():
    with pytest.raises(TypeError, match="cooldown"):
        StepScaling(cooldown=300)


def test_target_tracking_is_proportional_after_three_minutes_above_target():
    policy = TargetTracking(target=0.5)
    answers = [policy.desired(obs(t, 10, utilization=0.75)) for t in range(15, 196, 15)]
    assert answers[:11] == [10] * 11 and answers[11] == 15       # t=180: ceil(10 × 1.5)


def test_target_tracking_scales_in_conservatively_and_never_while_booting():
    policy = TargetTracking(target=0.5)
    answers = [policy.desired(obs(t, 10, utilization=0.3)) for t in range(15, 901, 15)]
    assert set(answers[:-1]) == {10} and answers[-1] == 6        # ceil(10 × 0.6) at 900 s
    policy.reset()
    booting = [policy.desired(obs(t, 10, 1, utilization=0.3)) for t in range(15, 1201, 15)]
    assert set(booting) == {11}


# -- Threshold: "above 70 % for 5 minutes, add one" ----------------------------------------------


def test_threshold_fires_only_after_the_whole_window():
    rule = Threshold(scale_out_above=0.7, duration=300, cooldown=300)
    answers = [rule.desired(obs(t, 2, utilization=0.9)) for t in range(15, 301, 15)]
    assert answers == [2] * 19 + [3]                             # 20 readings × 15 s = 300 s
    rule.reset()
    broken = [0.9] * 10 + [0.5] + [0.9] * 19
    answers = [rule.desired(obs(15 * (k + 1), 2, utilization=u)) for k, u in enumerate(broken)]
    assert set(answers) == {2}                                   # one calm reading restarts it


def test_threshold_in_the_simulator_fires_at_the_window_and_waits_for_warm_up_and_cooldown():
    load = sl.workloads.steps([0.8, 3.0, 3.0], step_duration=600, seed=2)
    result = sl.simulate(load, instances=2, service_time=1.0, seed=2, boot_time=60,
                         autoscaler=Threshold(duration=300, cooldown=300), max_instances=10)
    launches = [t for t, _ in scale_events(result, "launch")]
    # overloaded from 600 s: fires at 600 + 300; the next only after 60 s warm-up + 300 s
    assert launches[:3] == [900.0, 1260.0, 1620.0]
    assert not scale_events(result, "drain", "cancelled")


@pytest.mark.parametrize("make, cooldown", [
    (lambda: Threshold(duration=120, cooldown=300), 300),
    (lambda: StepScaling(warmup=300), 300),
    (lambda: TargetTracking(target=0.6), 900),
    (lambda: HPA(target_utilization=0.6), 300),
], ids=["Threshold", "StepScaling", "TargetTracking", "HPA"])
@pytest.mark.parametrize("traffic", ["day", "spike"])
def test_no_add_is_followed_by_a_remove_within_the_cooldown(make, cooldown, traffic):
    if traffic == "day":
        load, service = sl.workloads.diurnal(mean_rate=1.0, amplitude=0.7, seed=4), 2.0
    else:
        load, service = scenarios.lesson05_spike(seed=4), 1.0
    result = sl.simulate(load, instances=2, service_time=service, autoscaler=make(),
                         max_instances=12, seed=4)
    adds = [t for t, _ in scale_events(result, "launch")]
    removes = [t for t, _ in scale_events(result, "drain", "cancelled")]
    assert adds and removes, "the scenario must make the policy act both ways"
    for removed in removes:
        before = [t for t in adds if t <= removed]
        assert not before or removed - before[-1] >= cooldown, \
            f"added at {before[-1]:g} s, removed at {removed:g} s"


def test_without_a_cooldown_the_rule_flaps():
    load = sl.workloads.poisson(rate=2.0, duration=3600, seed=5)
    result = sl.simulate(load, instances=3, service_time=1.0, seed=5,
                         autoscaler=Threshold(0.7, 0.5, duration=0, cooldown=0))
    adds = [t for t, _ in scale_events(result, "launch")]
    quick = [r for r, _ in scale_events(result, "drain", "cancelled")
             if any(0 < r - a < 300 for a in adds)]
    assert len(quick) >= 10


# -- the control loop in the simulator ------------------------------------------------------------


def test_a_new_instance_takes_no_traffic_before_its_warm_up_ends():
    warm_up = 100.0  # not a multiple of the 15 s control interval
    result = sl.simulate(scenarios.lesson05_spike(seed=6), instances=2, service_time=1.0,
                         seed=6, boot_time=warm_up, autoscaler=Threshold(duration=60))
    launches = scale_events(result, "launch")
    assert launches
    records = result.requests
    for launched, j in launches:
        starts = records["start"][records["instance"] == j]
        assert result.lifetimes[j, 1] == pytest.approx(launched + warm_up)
        assert len(starts) and starts.min() >= launched + warm_up
    first_launch, first = launches[0]
    served = records["start"][records["instance"] == first]
    assert served.min() < first_launch + warm_up + 5.0   # and it is used as soon as it is ready


def test_instance_seconds_is_the_integral_of_the_instance_count():
    result = sl.simulate(scenarios.lesson05_spike(seed=7), instances=2, service_time=1.0,
                         seed=7, autoscaler=Threshold(duration=60, cooldown=60), boot_time=90)
    records, end = result.requests, result.duration
    spans = {j: [0.0, end] for j in range(2)}
    for t, j, what in result.events:
        if what == "launch":
            spans[j] = [t, end]
        elif what == "cancelled":
            spans[j][1] = t
        elif what == "drain":   # paid until its last request is answered
            ends = records["end"][records["instance"] == j]
            spans[j][1] = max(t, ends.max() if len(ends) else t)
    integral = sum(min(b, end) - min(a, end) for a, b in spans.values())
    assert scale_events(result, "drain") and scale_events(result, "launch")
    assert result.summary()["instance_seconds"] == pytest.approx(integral, rel=1e-12)


def test_running_count_never_leaves_the_bounds():
    result = sl.simulate(sl.workloads.diurnal(mean_rate=3.0, amplitude=0.9, period=3600,
                                              seed=8),
                         instances=3, service_time=1.0, seed=8, min_instances=2, max_instances=5,
                         autoscaler=Threshold(0.6, 0.5, duration=0, cooldown=0))
    count, seen = 3, []
    for _, _, what in result.events:
        count += {"launch": 1, "drain": -1, "cancelled": -1}.get(what, 0)
        seen.append(count)
    assert min(seen) == 2 and max(seen) == 5


def _sessions_run(store, autoscaler):
    users = sl.workloads.sessions(rate=0.05, duration=1800, requests=20, think_time=30, seed=3)
    return sl.simulate(users, instances=6, service_time=1.0, seed=3, sessions=store,
                       balancer=sl.balancers.ConsistentHash(), autoscaler=autoscaler)


def test_scale_in_loses_in_memory_sessions_but_not_shared_ones():
    fixed = _sessions_run(sl.sessions.InMemory(), None)
    in_memory = _sessions_run(sl.sessions.InMemory(), Threshold(duration=120, cooldown=120))
    shared = _sessions_run(sl.sessions.SharedStore(), Threshold(duration=120, cooldown=120))
    assert scale_events(in_memory, "drain") and not scale_events(in_memory, "launch")
    assert fixed.summary()["lost_sessions"] == 0
    assert in_memory.summary()["lost_sessions"] > 0
    assert shared.summary()["lost_sessions"] == 0
    assert scenarios.scale_in_sessions(sl.sessions.InMemory())["lost_sessions"] > 0


# -- bounds, property-tested ----------------------------------------------------------------------

policies = st.one_of(
    st.builds(Threshold, scale_out_above=st.floats(0.55, 0.95), scale_in_below=st.floats(0, 0.5),
              duration=st.sampled_from([0, 15, 60, 300]), step=st.integers(1, 4),
              cooldown=st.sampled_from([0, 30, 300])),
    st.builds(StepScaling, threshold=st.floats(0.3, 0.8), duration=st.sampled_from([0, 60]),
              warmup=st.sampled_from([0, 300]), period=st.sampled_from([0, 60]),
              adjustment_type=st.sampled_from(["percent", "change"]),
              scale_out=st.just(((0, 0.1, 1), (0.1, None, 3))),
              scale_in=st.just(((None, -0.1, -2), (-0.1, 0, -1)))),
    st.builds(TargetTracking, target=st.floats(0.2, 0.9),
              scale_out_duration=st.sampled_from([0, 60, 180]),
              scale_in_duration=st.sampled_from([0, 300, 900])),
    st.builds(HPA, target_utilization=st.sampled_from([0.3, 0.5, 0.7, 0.9]),
              downscale_stabilization=st.sampled_from([0, 60, 300]),
              min_replicas=st.sampled_from([None, 1, 2]), max_replicas=st.sampled_from([None, 9])),
)
steps = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4),
                           st.one_of(st.floats(0, 1), st.just(math.nan))),
                 min_size=1, max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, sequence=steps, low=st.integers(1, 4), extra=st.integers(0, 8))
def test_answers_are_whole_numbers_within_the_bounds(policy, sequence, low, extra):
    high = low + extra
    for k, (ready, warming, utilization) in enumerate(sequence):
        o = obs(15 * (k + 1), ready, warming, utilization if ready else math.nan, low=low,
                high=high)
        answer = policy.desired(o)
        assert type(answer) is int and low <= answer <= high


# -- check_autoscaler -----------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [Threshold(), StepScaling(), TargetTracking(), HPA()],
                         ids=lambda p: type(p).__name__)
def test_built_ins_pass_the_conformance_suite(policy):
    check_autoscaler(policy).raise_if_failed()


def test_a_learner_class_with_only_desired_passes_and_clamping_is_reported():
    class Simple:
        def desired(self, o):
            if o.utilization > 0.7:
                return o.current + 1
            return o.current - 1 if o.utilization < 0.3 else o.current

    report = check_autoscaler(Simple())
    report.raise_if_failed()
    assert "the simulator clamps into range" in str(report)
    assert "passed" in report._repr_html_()


def test_the_report_says_what_a_broken_policy_did():
    class Ratio(Autoscaler):
        def desired(self, o):
            return o.current * o.utilization / 0.5

    class Remembers(Autoscaler):
        calls = 0

        def desired(self, o):
            Remembers.calls += 1
            return o.current + (1 if Remembers.calls % 7 == 0 else 0)

    class NoNaN(Autoscaler):
        def desired(self, o):
            return math.ceil(o.current * o.utilization / 0.5)

    ratio = check_autoscaler(Ratio())
    assert not ratio.passed
    assert "desired returned 2.4" in ratio.checks[0].message
    assert "round it" in ratio.checks[0].message
    remembers = {c.name: c for c in check_autoscaler(Remembers()).checks}
    assert not remembers["gives the same answers for the same observations after reset()"].passed
    no_nan = {c.name: c for c in check_autoscaler(NoNaN()).checks}
    missing = no_nan["copes with a missing metric (utilization NaN)"]
    assert not missing.passed and "ValueError" in missing.message
    with pytest.raises(AssertionError, match="check_autoscaler"):
        check_autoscaler(NoNaN()).raise_if_failed()
    with pytest.raises(TypeError, match="not the class"):
        check_autoscaler(NoNaN)


# -- errors that teach ----------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: Threshold(scale_in_below=0.8), r"scale_in_below must be < scale_out_above \(0.7\)"),
    (lambda: Threshold(step=0), "step must be ≥ 1, got 0"),
    (lambda: Threshold(duration=-5), "duration must be ≥ 0, got -5"),
    (lambda: StepScaling(adjustment_type="percentage"), "adjustment_type must be one of"),
    (lambda: StepScaling(scale_out=[(0, 0.1, 1), (0.2, None, 2)]), "contiguous"),
    (lambda: StepScaling(scale_in=[(-0.1, 0, 1)]), r"scale_in\[0\] adjustment must be ≤ 0"),
    (lambda: TargetTracking(target=0), "target must be > 0, got 0"),
    (lambda: HPA(target_utilization=0.555), "whole percent"),
    (lambda: HPA(scale_up_pods=None, scale_up_percent=None), "could never scale up"),
])
def test_bad_settings_name_the_parameter_and_what_is_allowed(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


# -- lesson 05's explorer -------------------------------------------------------------------------


def test_explorer_slider_updates_the_figure_to_what_scenarios_computes():
    explorer = sl.widgets.autoscaling_explorer()
    before = np.array(explorer.figure.data[3].y, dtype=float)
    explorer.controls["duration"].value = 60
    series = scenarios.autoscaling_explorer(duration=60)
    for trace, data in zip(explorer.figure.data, plots.autoscaling_traces(series)):
        assert np.allclose(np.asarray(trace.y, float), data["y"], equal_nan=True)
    assert not np.allclose(before, series["in_service"])
    assert f"{series['instance_hours']:.2f} instance-hours" in explorer.readout.value
    assert max(len(trace.x) for trace in explorer.figure.data) <= 5000


def test_explorer_keeps_the_scale_in_threshold_below_the_scale_out_one():
    series = scenarios.autoscaling_explorer(scale_out_above=0.5, scale_in_below=0.6)
    assert series["scale_in_below"] == pytest.approx(0.45)
    assert np.nanmax(series["paid"]) <= series["max_instances"] + 1e-9


@pytest.mark.parametrize("policy", [Threshold(), StepScaling(), TargetTracking(), HPA()],
                         ids=lambda p: type(p).__name__)
def test_constructors_only_store_their_settings_and_repr_round_trips(policy):
    import inspect

    assert set(vars(policy)) == set(inspect.signature(type(policy)).parameters)
    again = eval(repr(policy), {**vars(sl.autoscalers), "inf": math.inf})
    assert vars(again) == vars(policy)


@pytest.mark.parametrize("usage, words", [
    ([-100, 50], r"usage_m\[0\] must be ≥ 0, got -100"),
    ([float("nan")], r"usage_m\[0\] must be a number, got NaN"),
    ([50, float("inf")], r"usage_m\[1\] must be finite, got inf"),
    ([50, "high"], r"usage_m\[1\] must be a number, got 'high'"),
    (700, "usage_m must be a list of millicores, one per pod, got 700"),
])
def test_hpa_recommend_names_a_usage_it_cannot_read(usage, words):
    with pytest.raises((ValueError, TypeError), match=words):
        sl.autoscalers.HPA().recommend(usage)


def test_hpa_recommend_names_a_cpu_request_it_cannot_read():
    with pytest.raises(ValueError, match="request_m must be ≥ 1, got 0.5"):
        sl.autoscalers.HPA().recommend([50], request_m=0.5)
    with pytest.raises(ValueError, match=r"request_m\[0\] must be a number, got NaN"):
        sl.autoscalers.HPA().recommend([50], request_m=[float("nan")])


# -- lesson 05: CloudWatch's alarm timeline and stale metrics --------------------------------------


def test_a_cloudwatch_alarm_needs_whole_periods_and_waits_for_late_data():
    # a jump on a period boundary: five breaching 1-minute datapoints end 300 s later
    assert scenarios.cloudwatch_alarm(600, 0.5, 1.0, delay=0)["fires_after"] == 300
    assert scenarios.cloudwatch_alarm(600, 0.5, 1.0, delay=60)["fires_after"] == 360
    # 40 % → 90 % at 120 s of a 5-minute period averages exactly 70 %: not above, so the
    # alarm waits for the next period, which ends at 600 s
    one = scenarios.cloudwatch_alarm(120, 0.4, 0.9, period=300, datapoints=1,
                                     evaluation_periods=1, delay=0)
    assert one["fires_at"] == 600
    assert scenarios.cloudwatch_alarm(600, 0.5, 1.0, datapoints=3, delay=0)["fires_after"] == 180
    with pytest.raises(ValueError, match="after must be above threshold"):
        scenarios.cloudwatch_alarm(600, 0.5, 0.6)


def test_stale_metrics_delay_the_hpa_by_the_pipeline():
    rows = scenarios.hpa_reaction(metrics_delay=30, pod_start=60, node_start=180)
    fresh, late, node = (row["first_answer"] for row in rows)
    assert fresh >= 60 and late >= fresh + 30 - 15 and node >= late + 180 - 15

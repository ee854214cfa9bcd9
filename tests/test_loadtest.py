"""Load shapes, open vs closed loop, and the breaking point.

Oracles: capacity of c servers of rate μ is cμ; a server
that stalls 1 s every 10 s delays about a tenth of open-loop requests uniformly up to 1 s
(p99 ≈ 0.9 s) but only one request per stall in a closed loop (p99 ≈ the service time):
coordinated omission, as Gil Tene describes it in the wrk2 README (github.com/giltene/wrk2).
"""

import numpy as np
import pytest

import scalelab as sl
from scalelab import loadtest


def test_step_load_plateaus_at_capacity_and_breaks_at_the_next_step():
    # 3 instances of capacity 1 request/s each, steps of 0.25/s up to 4/s.
    shape = loadtest.steps([0.25 * k for k in range(1, 17)], step_duration=1200)
    report = loadtest.run(shape, loadtest.Simulated(instances=3, service_time=sl.Constant(1.0)),
                          seed=1)
    for row in report.rows:
        if row["offered"] <= 2.75:
            assert row["throughput"] == pytest.approx(row["offered"], rel=0.08)
        if row["offered"] >= 3.25:
            assert row["throughput"] == pytest.approx(3.0, rel=0.02)
    assert report.breaking_point == 3.25
    assert "95% of offered" in report.verdict() and "3.25" in report.verdict()


def test_latency_slo_criterion_trips_at_or_below_capacity():
    shape = loadtest.steps([0.25 * k for k in range(1, 17)], step_duration=1200)
    target = loadtest.Simulated(instances=3, service_time=sl.Constant(1.0))
    report = loadtest.run(shape, target, criterion=loadtest.LatencyAbove(slo=5.0), seed=1)
    assert report.breaking_point is not None and report.breaking_point <= 3.0
    assert "p95 > 5000 ms" in str(report)


def stalled(mode):
    target = loadtest.Simulated(service_time=sl.Constant(0.001),
                                failures=[sl.Pause(0, at=5.0, length=1.0, every=10.0)])
    return loadtest.run(loadtest.soak(100, duration=600), target, mode=mode, users=1, seed=2)


def test_open_loop_sees_the_stall():
    p99 = stalled("open").result.summary()["p99"]
    assert 0.8 < p99 < 1.0


def test_closed_loop_hides_the_stall_coordinated_omission():
    summary = stalled("closed").result.summary()
    assert summary["p99"] == pytest.approx(0.001, rel=0.01)
    assert summary["max"] > 0.99  # the one request per stall that did wait


def test_closed_loop_obeys_littles_law():
    # N users = throughput × (response time + think time)
    result = sl.simulate_closed(users=20, duration=2000, think_time=1.0, instances=2,
                                service_time=0.05, seed=3)
    s = result.summary(warmup=100)
    assert 20 == pytest.approx(s["throughput"] * (s["mean"] + 1.0), rel=0.02)


def test_shapes_follow_their_rates():
    shape = loadtest.stages([(100, 10), (100, 10), (100, 0)])
    assert shape.rate_at([0, 50, 100, 150, 250]) == pytest.approx([0, 5, 10, 10, 5])
    ramp = loadtest.ramp(0, 20, duration=1000, windows=4)
    arrivals = ramp.workload(seed=1).arrivals
    counts = np.histogram(arrivals, ramp.edges)[0]
    # expected count per window: integral of the rate = mean rate × 250 s
    for count, stage in zip(counts, ramp.stages):
        expected = stage.mean_rate * 250
        assert abs(count - expected) < 4 * np.sqrt(expected)


def test_same_seed_same_report_other_seed_different():
    shape = loadtest.spike(5, 20, before=60, length=30, after=60)
    target = loadtest.Simulated(instances=2, service_time=0.05)
    a, b = loadtest.run(shape, target, seed=4), loadtest.run(shape, target, seed=4)
    c = loadtest.run(shape, target, seed=5)
    assert a.rows == b.rows and a.rows != c.rows


def test_report_reads_as_text_and_html():
    report = loadtest.run(loadtest.steps([1, 2], 60),
                          loadtest.Simulated(service_time=0.1), seed=0)
    assert "achieved /s" in str(report) and "<table>" in report._repr_html_()


@pytest.mark.parametrize("call, message", [
    (lambda: loadtest.steps([], 10), "rates must hold at least one rate"),
    (lambda: loadtest.steps([1, -2], 10), r"rates\[1\] must be ≥ 0, got -2"),
    (lambda: loadtest.ramp(0, 10, duration=0), "duration must be > 0, got 0"),
    (lambda: loadtest.run(loadtest.soak(1, 10), loadtest.Simulated(service_time=0.1),
                          mode="sideways"), "mode must be 'open' or 'closed', got 'sideways'"),
    (lambda: loadtest.run(loadtest.soak(1, 10), loadtest.Simulated(service_time=0.1),
                          mode="closed"), "users is required"),
    (lambda: loadtest.Simulated(instances=0, service_time=0.1), "instances must be ≥ 1, got 0"),
    # criteria: a latency, a fraction, a share of errors, a percentile the report has
    (lambda: loadtest.LatencyAbove(-1), "slo must be > 0, got -1"),
    (lambda: loadtest.LatencyAbove(float("nan")), "slo must be a number, got NaN"),
    (lambda: loadtest.LatencyAbove(0.5, percentile=150),
     "percentile must be one of 'p50', 'p95', 'p99' (the report's columns), got 150"),
    (lambda: loadtest.ThroughputBelow(-0.5), "fraction must be > 0, got -0.5"),
    (lambda: loadtest.ThroughputBelow(1.5), "fraction must be ≤ 1, got 1.5"),
    (lambda: loadtest.ErrorsAbove(2), "rate must be a fraction of the requests, 0 ≤ rate < 1"),
    (lambda: loadtest.ErrorsAbove(-0.1), "rate must be ≥ 0, got -0.1"),
    # sizes, refused before any stage or user is built
    (lambda: loadtest.ramp(1, 2, 10, windows=10**8),
     "windows must be ≤ 10,000 (one report row each), got 100,000,000"),
    (lambda: loadtest.soak(1, 10, windows=10**8), "windows must be ≤ 10,000"),
    (lambda: loadtest.steps(range(1, 20_002), 1), "len(rates) must be ≤ 10,000"),
    (lambda: loadtest.run(loadtest.soak(1, 10), loadtest.Simulated(service_time=0.1),
                          mode="closed", users=10**7),
     "users must be ≤ 100,000 (each is set up before the run), got 10,000,000"),
    (lambda: loadtest.ramp(0, 2e9, 1e6).workload(),
     "the shape's peak rate × duration = 2 × 10¹⁵ requests"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError),
                       match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


@pytest.mark.parametrize("order", [1, -1])
def test_several_pauses_on_one_instance_all_count_whatever_their_order(order):
    # 2.2 s of work from 4.95 s: 0.05 s, pause 5–6, 1 s, pause 7–8, the last 1.15 s → 9.15 s
    pauses = [sl.Pause(0, at=5, length=1), sl.Pause(0, at=7, length=1)][::order]
    result = sl.simulate(sl.workloads.from_times([4.95], duration=10),
                         service_time=sl.Constant(2.2), failures=pauses)
    assert result.requests["end"][0] == pytest.approx(9.15)

"""The flow view's payload (``scalelab.flowdata``) and widget (``scalelab.flow``) without a
browser: the window holds exactly the requests the records put in it, instance states follow
the run's events, every kind of run can be replayed, and bad arguments are refused."""

import numpy as np
import pytest

import scalelab as sl
from scalelab.flow import FlowView
from scalelab.flowdata import BOOTING, CAP, CRASHED, OUTCOMES, RUNNING, STATES, flow_payload


def in_window(records, start, end):
    """Rows a window [start, end) must replay: arrivals inside it, and earlier arrivals that
    the records still have queued or in service at ``start``."""
    arrival, finish = records["arrival"], records["end"]
    return np.flatnonzero(((arrival >= start) & (arrival < end))
                          | ((arrival < start) & (finish > start)))


@pytest.fixture(scope="module")
def crash_run():
    workload = sl.workloads.poisson(rate=60, duration=120, seed=3)
    return sl.simulate(workload, instances=3, service_time=0.04, seed=3,
                       failures=[sl.Crash(instance=1, at=70.0)],
                       health_check=sl.HealthCheck(interval=2, unhealthy_threshold=3))


def test_a_window_holds_exactly_its_requests_with_their_times_instance_and_status():
    workload = sl.workloads.poisson(rate=40, duration=60, seed=1)
    res = sl.simulate(workload, instances=[sl.Instance(speed=0.5), sl.Instance()],
                      service_time=0.04, seed=1)  # the slow instance builds a queue
    start, end = 30.0, 35.0
    payload = flow_payload(res, start, end)
    rows = in_window(res.requests, start, end)
    carried = rows[res.requests["arrival"][rows] < start]
    assert len(carried) > 0, "the scenario should have requests queued across the start"
    assert sorted(payload["index"].tolist()) == rows.tolist()
    assert payload["count"] == len(rows)
    picked = res.requests[payload["index"]]
    for field in ("arrival", "start", "end"):
        np.testing.assert_allclose(payload[field], picked[field] - start, atol=1e-12)
    assert (payload["instance"] == picked["instance"]).all()
    assert (payload["status"] == picked["status"]).all()
    assert (payload["retries"] == picked["retries"]).all()
    assert np.all(np.diff(payload["arrival"]) >= 0)
    assert payload["t0"] == start and payload["duration"] == end - start


def test_the_default_window_holds_at_most_the_cap_and_the_crash(crash_run):
    payload = flow_payload(crash_run)
    assert len(crash_run.requests) > 3 * CAP
    assert payload["count"] <= CAP
    start, end = payload["t0"], payload["t0"] + payload["duration"]
    assert start < 70.0 < end
    assert sorted(payload["index"].tolist()) == in_window(crash_run.requests, start, end).tolist()


def test_a_small_run_is_replayed_whole():
    res = sl.simulate(sl.workloads.poisson(rate=10, duration=60, seed=2), instances=2,
                      service_time=0.05, seed=2)
    payload = flow_payload(res)
    assert payload["count"] == len(res.requests)
    assert payload["t0"] == 0.0 and payload["duration"] >= 60.0


def test_a_cap_bounds_a_backlog_carried_into_the_default_window():
    # one instance at 125 % load: the queue only grows, so late windows start with a backlog
    res = sl.simulate(sl.workloads.poisson(rate=25, duration=600, seed=4), instances=1,
                      service_time=0.05, seed=4)
    payload = flow_payload(res, cap=500)
    assert payload["count"] <= 500
    start, end = payload["t0"], payload["t0"] + payload["duration"]
    assert sorted(payload["index"].tolist()) == in_window(res.requests, start, end).tolist()


def test_instance_states_follow_the_crash_and_the_health_check(crash_run):
    payload = flow_payload(crash_run, 60.0, 90.0)
    crashed = next(t for t, i, what in crash_run.events if what == "crash")
    down = next(t for t, i, what in crash_run.events if what == "marked down")
    check = sl.HealthCheck(interval=2, unhealthy_threshold=3)
    # a probe every 2 s; three failures in a row: 4 to 6 s after the crash
    assert crashed + 2 * check.interval <= down <= crashed + 3 * check.interval
    spans = list(zip(*payload["intervals"].values()))
    of_1 = [(lo + 60, hi + 60, STATES[s], d) for i, lo, hi, s, d in spans if i == 1]
    assert of_1 == [pytest.approx((60.0, crashed, "healthy", False)),
                    pytest.approx((crashed, down, "crashed", False)),
                    pytest.approx((down, 90.0, "crashed", True))]
    assert all(s == RUNNING and not d for i, _, _, s, d in spans if i != 1)
    assert [(round(t + 60, 6), i, what) for t, i, what in payload["events"]] == \
        [(round(crashed, 6), 1, "crashed"), (round(down, 6), 1, "marked down")]
    assert "instance 1 crashed at 70.0 s" in payload["summary"]


def test_booting_instances_are_shown_booting_until_their_warm_up_ends():
    workload = sl.workloads.steps([10, 40], step_duration=100, seed=5)
    res = sl.simulate(workload, instances=1, service_time=0.05, seed=5,
                      autoscaler=sl.autoscalers.Threshold(duration=30, cooldown=60),
                      control_interval=15, boot_time=40, max_instances=4)
    launches = [(t, i) for t, i, what in res.events if what == "launch"]
    assert launches, "the step should make the autoscaler launch instances"
    when, k = launches[0]
    payload = flow_payload(res, when - 5, when + 60)
    assert k in payload["instances"]
    spans = [(lo, hi, s) for i, lo, hi, s, _ in zip(*payload["intervals"].values()) if i == k]
    t0 = payload["t0"]
    assert spans[0][2] == STATES.index("not running")
    booting = next(span for span in spans if span[2] == BOOTING)
    assert booting[0] + t0 == pytest.approx(when)
    assert booting[1] - booting[0] == pytest.approx(40.0)  # the warm-up it was given


@pytest.mark.parametrize("kind", ["closed loop", "sessions", "shared store", "learner"])
def test_every_kind_of_run_builds_a_view(kind):
    if kind == "closed loop":
        res = sl.simulate_closed(users=20, duration=60, think_time=0.5, instances=2,
                                 service_time=0.05, seed=1,
                                 failures=[sl.Hang(instance=0, at=20, until=30)])
    elif kind in ("sessions", "shared store"):
        store = sl.sessions.InMemory() if kind == "sessions" else \
            sl.sessions.SharedStore(latency=0.002, outages=[(30, 33)])
        res = sl.simulate(sl.workloads.sessions(rate=5, duration=60, think_time=1, seed=1),
                          instances=3, service_time=0.04, sessions=store, seed=1)
    else:
        class FirstIdle(sl.balancers.Balancer):
            def pick(self, instances, request):
                return min(instances, key=lambda view: view.inflight)
        res = sl.simulate(sl.workloads.poisson(rate=40, duration=30, seed=1), instances=3,
                          service_time=0.05, balancer=FirstIdle(), seed=1)
    view = sl.widgets.flow(res, store=True if kind == "shared store" else None)
    payload = view.data
    rows = in_window(res.requests, payload["t0"], payload["t0"] + payload["duration"])
    assert sorted(payload["index"].tolist()) == rows.tolist()
    if kind == "sessions":
        assert payload["lost"].sum() == res.requests["lost_session"][rows].sum() > 0
        assert (payload["user"] >= 0).all()
    if kind == "shared store":
        assert payload["store"] and payload["lost"].sum() == 0
    if kind == "closed loop":
        assert any("hung" in what for _, _, what in payload["events"])


def test_the_widget_sends_the_payload_as_binary_arrays_that_decode_to_the_records(crash_run):
    view = FlowView(crash_run, 65.0, 75.0, speed=2.0)
    assert view.speed == 2.0
    wire = view.payload
    assert np.array_equal(np.frombuffer(wire["end"], "<f8"), view.data["end"])
    assert np.array_equal(np.frombuffer(wire["instance"], "<i4"), view.data["instance"])
    assert np.array_equal(np.frombuffer(wire["status"], "i1"), view.data["status"])
    assert wire["summary"] == view.summary and view.summary in repr(view)


def test_statuses_have_one_name_each():
    assert len(OUTCOMES) == len(sl.Status)
    assert CRASHED == STATES.index("crashed")


@pytest.mark.parametrize("arguments, error, message", [
    ({"start": 50.0, "end": 50.0}, ValueError, r"start must be before end, got start=50 s, end=50"),
    ({"start": 60.0, "end": 10.0}, ValueError, "start must be before end"),
    ({"start": 500.0, "end": 600.0}, ValueError, r"no request arrives in the window \[500, 600\)"),
    ({"start": "0", "end": 10.0}, TypeError, "start must be a number, got '0'"),
    ({"start": 0.0, "end": float("inf")}, ValueError, "must be finite"),
    ({"speed": 20}, ValueError, "speed must be ≤ 10, got 20"),
    ({"speed": 0.01}, ValueError, "speed must be ≥ 0.05, got 0.01"),
    ({"store": "redis"}, TypeError, "store must be True, False or None"),
])
def test_bad_windows_and_speeds_are_refused(crash_run, arguments, error, message):
    with pytest.raises(error, match=message):
        sl.widgets.flow(crash_run, **arguments)


def test_a_window_too_big_to_replay_is_refused():
    res = sl.simulate(sl.workloads.poisson(rate=1000, duration=60, seed=1), instances=50,
                      service_time=0.04, seed=1)
    with pytest.raises(ValueError, match=r"holds 60,\d{3} requests; at most 50,000"):
        flow_payload(res, 0, 60)
    assert flow_payload(res, 0, 30)["count"] <= 50_000


def test_only_a_result_can_be_replayed():
    with pytest.raises(TypeError, match="result must be a scalelab Result .* got ndarray"):
        sl.widgets.flow(np.zeros(3))


def test_a_real_lab_load_is_replayed_like_a_simulation():
    with sl.lab.Lab(instances=3, store="memory", retries=0, passive_ejection=False) as lab:
        res = lab.load(sl.workloads.constant(rate=100, duration=3), path="/work?ms=20",
                       failures=[sl.Crash(instance=0, at=1.0)])
    payload = sl.widgets.flow(res).data
    rows = in_window(res.requests, payload["t0"], payload["t0"] + payload["duration"])
    assert sorted(payload["index"].tolist()) == rows.tolist() and len(rows) == 300
    assert payload["instances"] == [0, 1, 2]
    crashed = [(lo, hi) for i, lo, hi, s, _ in zip(*payload["intervals"].values())
               if i == 0 and s == CRASHED]
    when = next(t for t, i, what in res.events if what == "crash")
    assert crashed and crashed[0][0] + payload["t0"] == pytest.approx(when)
    assert (payload["status"] == res.requests["status"][payload["index"]]).all()


def test_the_store_is_drawn_when_the_run_shows_one(crash_run):
    assert flow_payload(crash_run)["store"] is False
    assert flow_payload(crash_run, store=True)["store"] is True
    res = sl.simulate(sl.workloads.sessions(rate=5, duration=60, think_time=1, seed=1),
                      instances=2, service_time=0.04, seed=1,
                      sessions=sl.sessions.SharedStore(outages=[(20, 25)]))
    assert (res.requests["status"] == sl.Status.STORE_DOWN).any()
    assert flow_payload(res, 15, 30)["store"] is True  # requests failed: the store was down


def test_the_view_needs_nothing_from_the_network(crash_run):
    from importlib import resources

    static = resources.files("scalelab") / "static"
    assert (static / "flow.js").is_file() and (static / "flow.css").is_file()
    page = FlowView(crash_run, 65.0, 75.0).to_html()
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert "export default" in page and ".scalelab-flow" in page

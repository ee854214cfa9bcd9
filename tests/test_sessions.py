"""Where sessions live. Oracles: round-robin sends a follow-up request
to the instance holding the session with probability 1/N; sticky routing loses exactly the
sessions that lived on a crashed instance (counted from the request records); a shared store
loses none and adds its latency to every request."""

import numpy as np
import pytest

import scalelab as sl

WORKLOAD = sl.workloads.sessions(rate=5, duration=600, requests=6, think_time=5, seed=1)
FOLLOW_UPS = len(WORKLOAD) - len(np.unique(WORKLOAD.user))


@pytest.mark.parametrize("n", [2, 3, 5])
def test_round_robin_with_memory_loses_about_n_minus_1_over_n(n):
    result = sl.simulate(WORKLOAD, instances=n, service_time=0.05,
                         sessions=sl.sessions.InMemory(), seed=2)
    share = result.summary()["lost_sessions"] / FOLLOW_UPS
    assert share == pytest.approx((n - 1) / n, abs=0.02)
    assert result.summary()["relogins"] == result.summary()["lost_sessions"]


def test_sticky_loses_nothing_while_nothing_fails():
    result = sl.simulate(WORKLOAD, instances=4, service_time=0.05,
                         sessions=sl.sessions.InMemory(), balancer=sl.balancers.Sticky(), seed=2)
    assert result.summary()["lost_sessions"] == 0


def sessions_on(records, instance, before):
    """Users whose session lived on ``instance`` at time ``before``: their last answered
    request before then was served there."""
    done = records[(records["arrival"] < before) & (records["status"] == sl.Status.OK)]
    last = {}
    for user, where in zip(done["user"].tolist(), done["instance"].tolist()):
        last[user] = where
    return {user for user, where in last.items() if where == instance}


def test_sticky_crash_loses_exactly_the_sessions_on_the_crashed_instance():
    result = sl.simulate(WORKLOAD, instances=4, service_time=0.05,
                         sessions=sl.sessions.InMemory(), balancer=sl.balancers.Sticky(),
                         health_check=sl.HealthCheck(interval=2), retries=1,
                         failures=[sl.Crash(1, at=300)], seed=2)
    records = result.requests
    returning = set(records[records["arrival"] >= 300]["user"].tolist())
    expected = len(sessions_on(records, 1, 300) & returning)
    assert expected > 10
    assert result.summary()["lost_sessions"] == expected
    lost_users = records[records["lost_session"]]["user"]
    assert len(set(lost_users.tolist())) == len(lost_users)  # one re-login per user


def test_sticky_load_can_become_uneven():
    # Two heavy users pinned to the same instance make it busier than the rest.
    times = np.repeat(np.arange(0, 100, 0.5), 1)
    users = np.where(np.arange(len(times)) % 10 < 8, 0, np.arange(len(times)) % 10)
    workload = sl.workloads.Workload(times, 100.0, user=users)
    result = sl.simulate(workload, instances=4, service_time=0.05,
                         sessions=sl.sessions.InMemory(), balancer=sl.balancers.Sticky())
    assert result.summary()["imbalance"] > 2.5  # max/mean: one instance has most users' load


def test_shared_store_loses_nothing_through_crashes_and_adds_its_latency():
    crash = [sl.Crash(1, at=200, recover_at=260), sl.Crash(2, at=400)]
    common = dict(instances=4, service_time=sl.Constant(0.05), health_check=sl.HealthCheck(),
                  retries=2, failures=crash, seed=2)
    plain = sl.simulate(WORKLOAD, **common)
    shared = sl.simulate(WORKLOAD, sessions=sl.sessions.SharedStore(latency=0.01), **common)
    assert shared.summary()["lost_sessions"] == 0
    ok = shared.requests["status"] == sl.Status.OK
    assert np.allclose(shared.requests["service"][ok], 0.06)
    assert shared.summary()["p50"] >= plain.summary()["p50"] + 0.01 - 1e-9


def test_store_outage_fails_the_requests_that_need_it():
    store = sl.sessions.SharedStore(latency=0.001, outages=[(100, 130)])
    result = sl.simulate(WORKLOAD, instances=3, service_time=0.05, sessions=store, seed=1)
    records = result.requests
    during = (records["arrival"] >= 100) & (records["arrival"] < 130)
    assert np.all(records["status"][during] == sl.Status.STORE_DOWN)
    assert np.all(records["status"][~during] == sl.Status.OK)


def test_session_workload_shape():
    users, counts = np.unique(WORKLOAD.user, return_counts=True)
    assert counts.max() == 6
    assert np.all(np.diff(WORKLOAD.arrivals) >= 0)
    first = {}
    for t, u in zip(WORKLOAD.arrivals, WORKLOAD.user):
        first.setdefault(u, t)
    assert len(first) == len(users)


def test_timeline_counts_lost_sessions():
    result = sl.simulate(WORKLOAD, instances=3, service_time=0.05,
                         sessions=sl.sessions.InMemory(), seed=2)
    assert result.timeline(bin=60)["lost_sessions"].sum() == result.summary()["lost_sessions"]


@pytest.mark.parametrize("call, message", [
    (lambda: sl.sessions.SharedStore(latency=-1), "latency must be ≥ 0, got -1"),
    (lambda: sl.sessions.SharedStore(outages=[(5, 1)]), "must end after it starts"),
    (lambda: sl.sessions.SharedStore(outages=[7]), "must be a"),
    (lambda: sl.simulate(WORKLOAD, service_time=0.1, sessions="memory"),
     "sessions must be sl.sessions.InMemory"),
    (lambda: sl.workloads.sessions(rate=1, duration=10, requests=0), "requests must be ≥ 1"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()

"""The real lab: real processes, real HTTP on 127.0.0.1. Assertions are on counts (requests,
errors, lost sessions, processes left), never on latencies; the one timing, how fast a dead
instance is ejected, is checked against its bound from the health-check settings.

Redis tests skip with a hint when redis-server is missing, and fail instead when
SCALELAB_REQUIRE_REDIS=1 (as in CI).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import scalelab as sl
from scalelab.lab import stores

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the lab's clean-up checks read /proc (Linux)")

ROOT = Path(__file__).resolve().parent.parent
FAST_CHECK = sl.HealthCheck(interval=0.2, timeout=0.2, unhealthy_threshold=2, healthy_threshold=1)


def require_redis() -> None:
    if sl.lab.redis_available():
        return
    message = f"redis-server not found; {sl.lab.redis_server.INSTALL_HINT}"
    if os.environ.get("SCALELAB_REQUIRE_REDIS") == "1":
        pytest.fail(f"SCALELAB_REQUIRE_REDIS=1 but {message}", pytrace=False)
    pytest.skip(message)


STORES = ["memory", "sqlite", "redis"]
SHARED = ["sqlite", "redis"]


# -- helpers ---------------------------------------------------------------------------------

def alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_using(path: str) -> list[int]:
    """Live processes whose command line names ``path`` or whose working directory is in it."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if (path in command or cwd.startswith(path)) and alive(int(entry)):
            found.append(int(entry))
    return found


def wait_until_gone(pids, tmpdir: str, within: float = 2.0) -> tuple[list[int], list[int], bool]:
    deadline = time.monotonic() + within
    while True:
        left = [p for p in pids if alive(p)]
        using = processes_using(tmpdir)
        exists = os.path.exists(tmpdir)
        if not (left or using or exists) or time.monotonic() > deadline:
            return left, using, exists


def per_instance(result, n: int) -> list[int]:
    ok = result.requests[result.requests["status"] == sl.Status.OK]
    return np.bincount(ok["instance"], minlength=n).tolist()


def first(events, what: str, instance: int) -> float:
    return next(t for t, i, w in events if w == what and i == instance)


class CountingRoundRobin(sl.balancers.RoundRobin):
    """Round-robin that counts its hooks: on_finish must follow every on_start exactly once."""

    def reset(self):
        super().reset()
        self.started = self.finished = 0

    def on_start(self, instance, request):
        self.started += 1

    def on_finish(self, instance, request, latency):
        self.finished += 1


# -- life cycle ------------------------------------------------------------------------------

def test_up_and_down_cleanly():
    with sl.lab.Lab(instances=3, store="sqlite") as lab:
        pids, tmpdir = lab.pids, lab.tmpdir
        janitor = lab._res.spawner._janitor.pid
        assert len(pids) == 3 and all(alive(p) for p in pids)
        assert lab.url.startswith("http://127.0.0.1:")
        assert lab.get("/health").status == 200
        assert [s["state"] for s in lab.status()] == ["up"] * 3
    left, using, exists = wait_until_gone(pids + [janitor], tmpdir)
    assert (left, using, exists) == ([], [], False)
    with pytest.raises(RuntimeError, match="closed"):
        lab.kill(0)


def test_an_exception_inside_the_block_cleans_up():
    with pytest.raises(ZeroDivisionError), sl.lab.Lab(instances=2, store="memory") as lab:
        pids, tmpdir = lab.pids, lab.tmpdir
        raise ZeroDivisionError("a bug in the learner's cell")
    assert wait_until_gone(pids, tmpdir) == ([], [], False)


CHILD = """
import json, sys, time
import scalelab as sl
lab = sl.lab.Lab(instances=2, store=sys.argv[1]).start()
print(json.dumps({"pids": lab.pids + [lab._res.spawner._janitor.pid], "tmpdir": lab.tmpdir}),
      flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_sigkilled_parent_leaves_no_process_and_no_file(store):
    if store == "redis":
        require_redis()
    parent = subprocess.Popen([sys.executable, "-c", CHILD, store], stdout=subprocess.PIPE,
                              cwd=ROOT, start_new_session=True)
    try:
        line = parent.stdout.readline()
        assert line, "the child python did not start its lab"
        started = json.loads(line)
        assert len(started["pids"]) == (4 if store == "redis" else 3)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(5)
        left, using, exists = wait_until_gone(started["pids"], started["tmpdir"])
        assert left == [] and using == [], f"processes outlived a SIGKILLed lab: {left or using}"
        assert not exists, f"{started['tmpdir']} outlived a SIGKILLed lab"
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()


def test_importing_scalelab_does_not_load_the_lab():
    code = "import sys, scalelab; print('scalelab.lab' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    assert out.strip() == "False"


# -- balancing -------------------------------------------------------------------------------

def test_round_robin_spreads_requests_evenly():
    with sl.lab.Lab(instances=3, balancer=sl.balancers.RoundRobin(), store="memory") as lab:
        res = lab.load(sl.workloads.constant(rate=150, duration=2), path="/work?ms=2")
    assert res.summary()["errors"] == 0
    counts = per_instance(res, 3)
    assert sum(counts) == 300
    assert max(counts) - min(counts) <= 3, counts


def test_a_learners_balancer_gets_its_view_and_its_hooks():
    class FirstHealthy(sl.balancers.Balancer):
        def __init__(self):
            self.seen = []

        def pick(self, instances, request):
            self.seen.append((len(instances), request.user))
            return next((i for i in instances if i.healthy), None)

    policy = FirstHealthy()
    with sl.lab.Lab(instances=2, balancer=policy, store="memory") as lab:
        res = lab.load(sl.workloads.Workload(np.linspace(0, 0.5, 20), 1.0, user=np.full(20, 7)),
                       path="/work?ms=1")
    assert per_instance(res, 2) == [20, 0]
    assert policy.seen == [(2, 7)] * 20  # the lab's trial pick at start went to a copy
    assert (res.requests["user"] == 7).all()


def test_a_killed_instance_is_ejected_within_the_health_check_bound():
    check = FAST_CHECK
    with sl.lab.Lab(instances=3, store="memory", health_check=check,
                    passive_ejection=False) as lab:
        time.sleep(0.3)
        lab.kill(1)
        deadline = time.monotonic() + 3
        while lab.healthy[1] and time.monotonic() < deadline:
            time.sleep(0.02)
        events = lab.events
        lab.restart(1)  # waits until the health check marks it up again
        assert lab.healthy == [True, True, True]
        assert lab.get("/health").status == 200
    detection = first(events, "marked down", 1) - first(events, "crash", 1)
    bound = check.interval * check.unhealthy_threshold + check.interval
    assert 0 < detection <= bound, f"ejected {detection:.3f} s after the kill (bound {bound} s)"
    assert [w for _, i, w in events if i == 1] == ["crash", "marked down"]


# 200 requests/s of 20 ms on three instances, two once one is killed: 2 requests in
# service per instance on average, so each serves up to 8 at once to keep queues short.
CONCURRENT = [sl.Instance(slots=8)] * 3


def test_one_retry_hides_a_killed_instance_from_clients():
    balancer = CountingRoundRobin()
    with sl.lab.Lab(instances=CONCURRENT, balancer=balancer, store="memory", retries=1,
                    passive_ejection=False) as lab:
        res = lab.load(sl.workloads.constant(rate=200, duration=3), path="/work?ms=20",
                       failures=[sl.Crash(instance=0, at=1.0)])
        stats = lab.stats
    summary = res.summary()
    assert summary["requests"] == 600
    assert summary["errors"] == 0
    assert summary["retries"] > 0 and stats["retries"] == summary["retries"]
    assert balancer.started == balancer.finished == 600 + summary["retries"]
    assert [w for _, i, w in res.events if i == 0][:2] == ["crash", "marked down"]


def test_without_retry_clients_see_errors_until_the_health_check_acts():
    rate, n = 200, len(CONCURRENT)
    with sl.lab.Lab(instances=CONCURRENT, store="memory", retries=0,
                    passive_ejection=False) as lab:
        res = lab.load(sl.workloads.constant(rate=rate, duration=3), path="/work?ms=20",
                       failures=[sl.Crash(instance=0, at=0.5)])
    detection = first(res.events, "marked down", 0) - first(res.events, "crash", 0)
    expected = rate * detection / n
    errors = res.summary()["errors"]
    assert 0.4 * expected <= errors <= 2 * expected + 10, (errors, expected, detection)
    assert (res.requests["status"][res.requests["status"] != 0] == sl.Status.FAILED).all()


def test_passive_ejection_leaves_only_the_requests_in_flight():
    with sl.lab.Lab(instances=CONCURRENT, store="memory", retries=0,
                    passive_ejection=True) as lab:
        res = lab.load(sl.workloads.constant(rate=200, duration=2), path="/work?ms=20",
                       failures=[sl.Crash(instance=0, at=0.5)])
        ejections = lab.stats["ejections"]
    assert ejections == 1
    assert res.summary()["errors"] <= 15  # about rate × 20 ms / 3 in flight, plus stragglers


def test_a_hung_instance_costs_a_timeout_and_a_retry_but_no_error():
    with sl.lab.Lab(instances=3, store="memory", retries=1, timeout=0.5) as lab:
        res = lab.load(sl.workloads.constant(rate=100, duration=3), path="/work?ms=5",
                       failures=[sl.Hang(instance=2, at=0.5, until=2.0)])
        states = [s["state"] for s in lab.status()]
        stats = lab.stats
    assert res.summary()["errors"] == 0
    assert stats["timeouts"] > 0 and stats["retries"] >= stats["timeouts"]
    assert states == ["up", "up", "up"]
    assert [w for _, i, w in res.events if i == 2][:2] == ["hang", "marked down"]


def test_add_and_remove_change_who_serves():
    with sl.lab.Lab(instances=2, store="memory") as lab:
        assert lab.add() == 2
        assert sorted(lab.get("/work").instance for _ in range(6)) == [0, 0, 1, 1, 2, 2]
        lab.remove(0)
        assert sorted(lab.get("/work").instance for _ in range(4)) == [1, 1, 2, 2]
        assert [s["state"] for s in lab.status()] == ["removed", "up", "up"]
        with pytest.raises(ValueError, match="instance 0: it is removed"):
            lab.kill(0)
        assert [w for _, i, w in lab.events if w in ("launch", "drain")] == ["launch", "drain"]


def test_closed_loop_records_its_users():
    with sl.lab.Lab(instances=2, store="memory") as lab:
        res = lab.load(mode="closed", users=4, duration=1.0, path="/work?ms=10")
    summary = res.summary()
    assert summary["errors"] == 0 and summary["requests"] > 20
    assert set(res.requests["user"].tolist()) == {0, 1, 2, 3}
    assert (np.diff(res.requests["arrival"]) >= 0).all()


def test_a_count_of_instances_means_what_it_means_in_simulate():
    """``instances=1`` is one ``sl.Instance()``: one request served at a time. Four users
    sending 50 ms requests back to back get about 1 s / 50 ms = 20 answers a second, not the
    80 that four at once would give."""
    with sl.lab.Lab(instances=1, store="memory", timeout=5) as lab:
        assert lab.specs == [sl.Instance()] == sl.simulate(
            sl.workloads.from_times([0.0], 1.0), instances=1, service_time=0.1).instances
        res = lab.load(mode="closed", users=4, duration=2.0, path="/work?ms=50")
    answered = res.summary()["completed"]
    assert 20 <= answered <= 2.0 / 0.05 + 4, answered


# -- sessions --------------------------------------------------------------------------------

def test_the_memory_store_forgets_you_when_a_request_moves():
    with sl.lab.Lab(instances=3, store="memory") as lab:
        users = [lab.session(f"user{k}") for k in range(20)]
        answers = [s.me() for _ in range(3) for s in users]  # 60 requests, round-robin
    lost = sum(a.status == 401 for a in answers)
    assert 20 <= lost <= 60, lost  # about 2 in 3 land on an instance that never saw the login
    assert all(a.status in (200, 401) for a in answers)


@pytest.mark.parametrize("store", SHARED)
def test_a_shared_store_loses_no_session_when_an_instance_dies(store):
    if store == "redis":
        require_redis()
    with sl.lab.Lab(instances=3, store=store) as lab:
        if store == "redis":
            assert lab.redis_version and lab.redis_version[0].isdigit()
        users = [lab.session(f"user{k}") for k in range(30)]
        before = [s.me() for s in users]
        lab.kill(0)
        after = [s.me() for _ in range(2) for s in users]
    assert [a.status for a in before] == [200] * 30
    assert [a.status for a in after] == [200] * 60
    assert {a.body["user"] for a in after} == {f"user{k}" for k in range(30)}
    assert {a.instance for a in after} == {1, 2}


def test_the_load_generator_counts_lost_sessions():
    with sl.lab.Lab(instances=3, store="memory") as lab:
        res = lab.load(sl.workloads.constant(rate=50, duration=1), path="/me")
    summary = res.summary()
    assert summary["lost_sessions"] == 50  # no cookie: 401 each
    assert summary["errors"] == summary["http_4xx"] == 50  # and a 401 is not a served answer
    assert set(res.requests["http"]) == {401}


# -- what a load reports ---------------------------------------------------------------------

def test_every_answer_that_is_not_2xx_is_an_error_kept_with_its_status():
    with sl.lab.Lab(instances=2, store="memory", health_check=FAST_CHECK) as lab:
        missing = lab.load(sl.workloads.constant(rate=20, duration=1), path="/nowhere")
        lab.kill(0)
        lab.kill(1)
        time.sleep(2 * FAST_CHECK.interval * FAST_CHECK.unhealthy_threshold)
        nobody = lab.load(sl.workloads.constant(rate=20, duration=1))
    summary = missing.summary()
    assert summary["errors"] == summary["http_4xx"] == 20 and summary["completed"] == 0
    assert set(missing.requests["http"]) == {404}
    assert set(nobody.requests["http"]) == {503}  # the proxy: no healthy instance
    split = nobody.summary()
    assert split["errors"] == split["http_5xx"] == 20
    assert sum(split[k] for k in ("refused", "timed_out", "http_4xx", "http_5xx")) == 20


def test_a_policy_that_does_not_fit_the_fleet_fails_at_start_with_the_simulators_message():
    wrong = sl.balancers.WeightedRoundRobin(weights=[1])
    with pytest.raises(ValueError) as simulated:
        sl.simulate(sl.workloads.constant(10, 1), instances=3, service_time=0.01, balancer=wrong)
    lab = sl.lab.Lab(instances=3, store="memory", balancer=wrong)
    with pytest.raises(ValueError) as real:
        lab.start()
    assert str(real.value) == str(simulated.value)
    assert "1 weights but the cluster has 3 instances" in str(real.value)
    assert lab.pids == []  # and nothing was left running


class RaisesAfterFive(sl.balancers.RoundRobin):
    """Fine for five requests, then a bug."""

    def pick(self, instances, request):
        if request.id >= 5:
            raise ZeroDivisionError("the learner's bug")
        return super().pick(instances, request)


def test_an_exception_raised_in_pick_reaches_the_caller_of_load():
    with sl.lab.Lab(instances=2, store="memory", balancer=RaisesAfterFive()) as lab:
        with pytest.raises(ZeroDivisionError, match=r"RaisesAfterFive raised ZeroDivisionError: "
                           r"the learner's bug \(on 15 of 20 requests") as raised:
            lab.load(sl.workloads.constant(rate=20, duration=1))
    assert isinstance(raised.value.__cause__, ZeroDivisionError)


def test_utilization_is_the_instances_own_busy_share_never_above_one():
    # 100 requests/s of 20 ms on 2 × 4 slots: ρ = 100 × 0.020 / 8 = 0.25 (the sleep only overshoots)
    slotted = [sl.Instance(slots=4)] * 2
    with sl.lab.Lab(instances=slotted, store="memory") as lab:
        res = lab.load(sl.workloads.constant(rate=100, duration=2), path="/work?ms=20")
    assert 0.25 <= res.summary()["utilization"] <= 0.40
    assert np.all(res.timeline(bin=1.0)["utilization"] <= 1.0)


def test_an_overloaded_lab_prints_no_impossible_utilization():
    # 5000 requests/s of 20 ms on 3 one-slot instances: 33 × their capacity. The instances
    # cannot be more than 100 % busy, whatever the clients waited (that printed 6023 %)
    with sl.lab.Lab(instances=3, store="memory") as lab:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # whether this machine falls behind is its business
            res = lab.load(5000, duration=2)
    utilization = res.summary()["utilization"]
    assert 0.5 < utilization <= 1.0, utilization
    assert np.all(res.timeline(bin=0.5)["utilization"] <= 1.0)


def test_a_load_generator_that_falls_behind_says_so():
    # a synthetic run of 1000 requests/s: each answered 20 ms after it was meant to leave. Sent
    # 5 ms late: five requests queue in the sender, 25 % of the latency is its own: behind.
    # 0.5 ms late (half a gap: jitter) or 1.5 ms (7.5 % of the latency): on time.
    from scalelab.lab.measured import LabResult
    records = np.zeros(1000, dtype=sl.result.REQUEST_FIELDS)
    records["arrival"] = np.arange(1000) * 0.001
    records["start"], records["end"] = records["arrival"] + 0.005, records["arrival"] + 0.020
    records["http"] = 200

    def sent(late):
        return LabResult(records, [sl.Instance()], 1.0, late=np.full(1000, late))

    assert "fell behind" in sent(0.005).behind
    assert "25% of the median latency" in sent(0.005).behind
    assert sent(0.0005).behind is None and sent(0.0015).behind is None
    assert "fell behind" not in repr(sent(0.0015))


# -- stores, unit ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_stores_set_get_delete(tmp_path, kind):
    spec = kind
    if kind == "sqlite":
        stores.SQLiteStore.create(str(tmp_path / "s.db"))
        spec = f"sqlite:{tmp_path / 's.db'}"
    store = stores.open_store(spec)
    assert store.ping() and store.get("k") is None
    store.set("k", "v")
    assert store.get("k") == "v"
    assert store.delete("k") and not store.delete("k")
    store.close()


def test_resp_encoding_and_replies():
    assert stores.encode(("SET", "k", "v")) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    replies = io.BytesIO(b"+OK\r\n$-1\r\n$2\r\nhi\r\n:3\r\n*2\r\n:1\r\n$1\r\nx\r\n-ERR no\r\n")
    assert [stores.read_reply(replies) for _ in range(5)] == ["OK", None, b"hi", 3, [1, b"x"]]
    with pytest.raises(stores.RedisError, match="ERR no"):
        stores.read_reply(replies)


# -- errors that teach -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, words", [
    ({"instances": 0}, ValueError, "instances must be ≥ 1, got 0"),
    ({"store": "mysql"}, ValueError,
     "store must be one of 'memory', 'sqlite', 'redis', got 'mysql'"),
    ({"health_check": 0.5}, TypeError, "health_check must be sl.HealthCheck"),
    ({"retries": -1}, ValueError, "retries must be ≥ 0, got -1"),
    ({"balancer": "round-robin"}, TypeError, "balancer must be an object with a pick"),
    ({"instances": [sl.Instance(), 2]}, TypeError, r"instances\[1\] must be sl.Instance"),
    ({"balancer": sl.balancers.RoundRobin}, TypeError,
     r"balancer must be an object, not a class: pass RoundRobin\(\)"),
    ({"instances": [sl.Instance()] * 40}, ValueError, "instances must list ≤ 32 .* got 40"),
    ({"instances": 10**9}, ValueError, "instances must be ≤ 32 .* got 1000000000"),
    # more than the real lab's 1024 (a thread each), fewer than the simulator's limit
    ({"instances": [sl.Instance(slots=5000)]}, ValueError,
     r"instances\[0\]\.slots must be ≤ 1024 in the real lab .* got 5000"),
])
def test_bad_arguments_name_the_parameter(kwargs, error, words):
    with pytest.raises(error, match=words):
        sl.lab.Lab(**kwargs)


def test_bad_calls_on_a_running_lab_say_what_is_allowed():
    with sl.lab.Lab(instances=2, store="memory") as lab:
        with pytest.raises(ValueError, match=r"instance index 0\.\.1, got 5"):
            lab.kill(5)
        with pytest.raises(ValueError, match="mode must be 'open' or 'closed', got 'burst'"):
            lab.load(sl.workloads.constant(10, 1), mode="burst")
        with pytest.raises(ValueError, match="a rate needs a duration"):
            lab.load(100)
        with pytest.raises(ValueError, match=r"users must be ≤ \d+ here \(three sockets each"):
            lab.load(mode="closed", users=10**7, duration=1)
        with pytest.raises(TypeError, match="sl.Slowdown is for simulate"):
            lab.load(sl.workloads.constant(10, 1), failures=[sl.Slowdown(instance=0, at=0.1)])
        lab.kill(1)
        with pytest.raises(ValueError, match=r"it is killed; lab.restart\(1\)"):
            lab.hang(1)
        assert lab.get("/nowhere").status == 404


def test_sticky_balancer_keeps_logged_in_users_on_their_instance_with_memory_sessions():
    with sl.lab.Lab(instances=3, balancer=sl.balancers.Sticky(), store="memory") as lab:
        statuses = []
        for user in range(6):
            session = lab.session(f"user{user}")
            if session.user is None:
                session.login(f"user{user}")
            statuses += [session.me().status for _ in range(3)]
    assert statuses == [200] * 18

"""Real HAProxy and NGINX as the lab's balancer: real processes, real HTTP on 127.0.0.1.

Oracles come from the programs' manuals and from queueing arguments, not from the code under
test: round robin gives equal shares; least connections starves a slow instance; a consistent
hash keeps each user and moves about 1/N of them when one of N instances leaves; HAProxy's
active checks need ``fall`` failed probes ``inter`` apart; NGINX ejects after ``max_fails``
failed requests. Tests skip when a program is missing and fail when
SCALELAB_REQUIRE_PROXIES=1 (as in CI).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from proxies import require
from test_lab import ROOT, alive, first, per_instance, wait_until_gone

import scalelab as sl
from scalelab.lab.external import POLL_S

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the lab's clean-up checks read /proc (Linux)")

b = sl.balancers
CHECK = sl.HealthCheck(interval=0.2, timeout=0.2, unhealthy_threshold=3, healthy_threshold=1)


def lab(proxy: str, **options) -> sl.lab.Lab:
    require(proxy)
    return sl.lab.Lab(store="memory", proxy=proxy, **options)


def users_to_instances(url: str, users) -> dict[int, int]:
    """Which instance answers each user (one GET per user, ``X-User`` set, keep-alive)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    seen = {}
    for user in users:
        conn.request("GET", "/work?ms=0", headers={"X-User": str(user)})
        reply = conn.getresponse()
        reply.read()
        seen[user] = int(reply.getheader("X-Instance", "-1"))
    conn.close()
    return seen


def descendants(pid: int) -> list[int]:
    """``pid``'s children, grandchildren, … (NGINX's workers under its master)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


# -- life cycle ------------------------------------------------------------------------------

@pytest.mark.parametrize("proxy", ["haproxy", "nginx"])
def test_the_program_runs_its_checked_configuration_and_leaves_nothing(proxy):
    with lab(proxy, instances=2) as running:
        assert running.get("/health").status == 200
        assert running.proxy_config.startswith(f"# {'HAProxy' if proxy == 'haproxy' else 'NGINX'}")
        program = [c for c in running._res.spawner.children if c.name == proxy][0]
        pids = running.pids + descendants(program.pid)
        tmpdir = running.tmpdir
        assert len(pids) >= 3 and all(alive(p) for p in pids)
    assert wait_until_gone(pids, tmpdir) == ([], [], False)


CHILD = """
import json, sys, time
import scalelab as sl
lab = sl.lab.Lab(instances=2, store="memory", proxy=sys.argv[1]).start()
print(json.dumps({"pids": lab.pids + [lab._res.spawner._janitor.pid], "tmpdir": lab.tmpdir}),
      flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("proxy", ["haproxy", "nginx"])
def test_a_sigkilled_kernel_leaves_no_proxy_behind(proxy):
    require(proxy)
    parent = subprocess.Popen([sys.executable, "-c", CHILD, proxy], stdout=subprocess.PIPE,
                              cwd=ROOT, start_new_session=True)
    try:
        line = parent.stdout.readline()
        assert line, "the child python did not start its lab"
        started = json.loads(line)
        pids = started["pids"] + [d for p in started["pids"] for d in descendants(p)]
        assert len(pids) >= 4  # two instances, the proxy (and NGINX's worker), the janitor
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(5)
        left, using, exists = wait_until_gone(pids, started["tmpdir"])
        assert left == [] and using == [], f"processes outlived a SIGKILLed lab: {left or using}"
        assert not exists
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()


# -- balancing through HAProxy -----------------------------------------------------------------

def test_haproxy_round_robin_gives_equal_shares():
    with lab("haproxy", instances=3, balancer=b.RoundRobin()) as running:
        res = running.load(sl.workloads.constant(rate=150, duration=2), path="/work?ms=2")
    counts = per_instance(res, 3)
    assert sum(counts) == 300
    assert max(counts) - min(counts) <= 3, counts  # one connection in three, in turn


def slow_share(balancer) -> float:
    """Share of requests the slow instance (a fifth of the speed) gets through HAProxy."""
    specs = [sl.Instance(speed=1, slots=8), sl.Instance(speed=1, slots=8),
             sl.Instance(speed=0.2, slots=8)]
    with lab("haproxy", instances=specs, balancer=balancer) as running:
        res = running.load(sl.workloads.poisson(rate=120, duration=2.5, seed=3),
                           path="/work?ms=20")
    counts = per_instance(res, 3)
    return counts[2] / sum(counts)


def test_haproxy_least_connections_sends_less_to_a_slow_instance():
    # round robin gives it a third whatever its speed; least connections sees its longer
    # queue (each request holds a connection five times as long) and sends it far fewer
    assert abs(slow_share(b.RoundRobin()) - 1 / 3) < 0.02
    assert slow_share(b.LeastConnections()) < 0.2


def test_haproxy_consistent_hash_keeps_users_and_moves_about_one_nth():
    users, n = range(400), 4
    with lab("haproxy", instances=n, balancer=b.ConsistentHash()) as running:
        before = users_to_instances(running.url, users)
        again = users_to_instances(running.url, users)
        running.remove(n - 1, drain=0)
        after = users_to_instances(running.url, users)
    assert again == before
    assert set(before.values()) == set(range(n))
    moved = [u for u in users if after[u] != before[u]]
    assert all(before[u] == n - 1 for u in moved)  # only the leaver's users move …
    assert all(after[u] != n - 1 for u in users)
    assert 0.5 / n <= len(moved) / len(users) <= 1.6 / n  # … about 1/N of them


# -- a kill under load through HAProxy ---------------------------------------------------------

def kill_under_load(retries: int, rate: float = 200, n: int = 3):
    with lab("haproxy", instances=[sl.Instance(slots=8)] * n, health_check=CHECK, retries=retries,
             passive_ejection=False) as running:
        res = running.load(sl.workloads.constant(rate=rate, duration=3), path="/work?ms=20",
                           failures=[sl.Crash(instance=0, at=1.0)])
    return res, first(res.events, "marked down", 0) - first(res.events, "crash", 0)


def test_haproxy_ejects_a_killed_instance_after_fall_times_inter_and_errors_follow():
    rate, n = 200, 3
    res, detection = kill_under_load(retries=0, rate=rate, n=n)
    # the first failed probe comes within one interval of the kill, then fall − 1 more, one
    # interval apart; the lab sees HAProxy's verdict within one poll of show stat (two, if a
    # poll is late); 0.15 s more for the scheduling of a shared 2-core machine
    earliest = (CHECK.unhealthy_threshold - 1) * CHECK.interval
    latest = CHECK.unhealthy_threshold * CHECK.interval + 2 * POLL_S
    served = res.requests[res.requests["status"] == sl.Status.OK]
    last_on_killed = served["end"][served["instance"] == 0].max()
    assert earliest <= detection <= latest + 0.15, (detection, earliest, latest)
    assert last_on_killed < 1.0 + 0.05  # nothing is served by the dead process
    expected = rate * detection / n  # a third of the arrivals until HAProxy acts
    errors = res.summary()["errors"]
    assert 0.5 * expected <= errors <= 1.5 * expected + 5, (errors, expected, detection)


def test_haproxy_one_retry_with_redispatch_hides_the_kill():
    res, _ = kill_under_load(retries=1)
    summary = res.summary()
    assert summary["requests"] == 600
    assert summary["errors"] == 0
    assert summary["retries"] > 0  # HAProxy's own count, sent back as X-Retries


# -- NGINX: passive ejection only ---------------------------------------------------------------

@pytest.mark.parametrize("retries", [0, 1])
def test_nginx_ejects_a_dead_instance_after_max_fails_failed_requests(retries):
    check = sl.HealthCheck(interval=1.0, timeout=0.2, unhealthy_threshold=3, healthy_threshold=1)
    with lab("nginx", instances=3, health_check=check, retries=retries,
             passive_ejection=False) as running:
        session = running.session()
        assert {session.get("/work?ms=0").instance for _ in range(6)} == {0, 1, 2}
        running.kill(1)
        began = time.monotonic()
        answers = [session.get("/work?ms=0") for _ in range(60)]
        elapsed = time.monotonic() - began
    assert elapsed < 3  # all within fail_timeout = ⌈1 s × 3⌉
    failed = [a for a in answers if a.status >= 500]
    # without retries each failure reaches the client, and max_fails of them eject it;
    # with one retry NGINX sends the same request to the next server instead
    assert len(failed) == (check.unhealthy_threshold if retries == 0 else 0), \
        [(a.status, a.instance) for a in answers]
    assert {a.instance for a in answers if a.status == 200} == {0, 2}
    assert np.sum([a.instance == 1 for a in answers]) == 0


# -- sessions: sticky through the real programs ----------------------------------------------

@pytest.mark.parametrize("proxy", ["haproxy", "nginx"])
def test_sticky_keeps_memory_sessions_until_their_instance_dies(proxy):
    # HAProxy pins with its own cookie (cookie SRV insert); NGINX open source has none and
    # hashes the user instead: either way each user stays where their session lives
    with lab(proxy, instances=3, balancer=b.Sticky(), health_check=CHECK) as running:
        sessions = [running.session(f"user{k}") for k in range(30)]
        homes = [s.me().instance for s in sessions]
        assert all(s.me().ok for s in sessions for _ in range(3))
        assert set(homes) == {0, 1, 2}
        running.kill(0)
        time.sleep(CHECK.interval * (CHECK.unhealthy_threshold + 1) + 2 * POLL_S)
        answers = [s.me() for s in sessions]
    for home, answer in zip(homes, answers):
        assert answer.instance != 0
        # the dead instance's users lost their session (it lived in its memory); no one else did
        assert answer.ok == (home != 0), (home, answer)


def test_haproxy_finds_a_hung_instance_after_fall_times_inter_plus_timeout():
    # HAProxy schedules each check `inter` after the last one ended (src/check.c), so checks
    # that run into `timeout check` come every inter + timeout, not every inter
    with lab("haproxy", instances=3, health_check=CHECK, retries=1, timeout=0.5) as running:
        res = running.load(sl.workloads.constant(rate=100, duration=3), path="/work?ms=5",
                           failures=[sl.Hang(instance=2, at=0.5, until=2.5)])
    detection = first(res.events, "marked down", 2) - first(res.events, "hang", 2)
    cycle = CHECK.interval + CHECK.timeout
    earliest = (CHECK.unhealthy_threshold - 1) * cycle
    latest = CHECK.unhealthy_threshold * cycle + 2 * POLL_S
    assert earliest <= detection <= latest + 0.15, (detection, earliest, latest)
    assert res.summary()["errors"] == 0  # the requests it held timed out and were retried


@pytest.mark.parametrize("proxy", ["haproxy", "nginx"])
def test_add_restart_and_remove_reach_the_running_program(proxy):
    # HAProxy through its runtime API (add server, set server addr/state), NGINX by a reload
    with lab(proxy, instances=2, health_check=CHECK) as running:
        session = running.session()
        new = running.add()
        time.sleep(0.3)  # an NGINX reload finishes in the background
        assert {session.get("/work?ms=0").instance for _ in range(9)} == {0, 1, new}
        running.kill(1)
        running.restart(1)  # a new process on a new port, the same index
        time.sleep(0.3)
        assert {session.get("/work?ms=0").instance for _ in range(9)} == {0, 1, new}
        running.remove(0, drain=0)
        time.sleep(0.3)
        served = [session.get("/work?ms=0") for _ in range(9)]
    assert all(answer.status == 200 for answer in served)
    assert {answer.instance for answer in served} == {1, new}

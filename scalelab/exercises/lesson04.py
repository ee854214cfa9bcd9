"""Exercises for lesson 04 · Statelessness: where does the session live?

Objectives checked: predict the share of lost sessions under round robin with sessions in
memory (q1); what a crash costs sticky sessions (q2); choose where sessions live for a given
failure scenario (q3); a sticky balancer, in code, run through the conformance suite and
seeded simulations with sessions in memory (q4). Times in seconds.

>>> from scalelab.exercises import lesson04 as ex
>>> ex.q2.check(60).status
'pass'
"""

from __future__ import annotations

import numpy as np

from .. import simulate, workloads
from ..balancers import Balancer, ClusterState, InstancesView, Request, Sticky
from ..failures import Crash, HealthCheck
from ..sessions import InMemory
from .code import BalancerSpy, Check, Fail, PolicyClass
from .problem import Choice, Number, register

q1 = Number(
    title="Round robin forgets who you are",
    prompt="A service runs **5 instances** behind a **round-robin** balancer, and each instance "
           "keeps the sessions of the users who logged in through it **in its own memory**. "
           "Thousands of users are logged in, each sending a request every few seconds. **What "
           "fraction of the follow-up requests (every request but a user's first) land on an "
           "instance that does not hold the user's session?** Give a fraction between 0 and 1 "
           "in `q1_lost_share`.",
    answer="q1_lost_share", expected=0.8, tolerance=0.02,
    stub="q1_lost_share = ...  # a fraction between 0 and 1",
    mistakes=[
        (0.2, ("That is the share that *does* find its session: the requests that happen to "
              "land on the one instance holding it.")),
        (80, ("That looks like a percentage: give the share as a fraction between 0 and 1 "
             "(50 % is 0.5).")),
        (1.0, ("That would be right for one user alone, whom round robin never sends back to the "
              "same instance twice in a row. With thousands of users taking turns, where a "
              "user's next request lands is as good as random.")),
        (0.75, "That is the share for 4 instances; this service has 5."),
    ],
    hints=[
        ("With many users' requests interleaved, which instance gets a given user's next request "
        "is effectively random: any of the 5, equally likely."),
        ("The session lives on exactly one of the 5 instances. What is the chance that a random "
        "instance is *not* that one?"),
        "(N − 1) / N with N = 5.",
    ],
    solution="q1_lost_share = (5 - 1) / 5  # the session is on 1 instance of 5",
    explanation="(N − 1) / N = 4/5: only one instance in five holds the session, so four "
                "follow-up requests in five find none and the user is sent back to the login "
                "page. And the more instances, the worse it gets: scaling out, the very thing "
                "the balancer is for, makes in-memory sessions fail more often.",
)

q2 = Number(
    title="A crash under sticky sessions",
    prompt="A sticky balancer pins each user to one of **4 instances**, and sessions live in "
           "each instance's memory. **240 users** are logged in, spread evenly over the four. "
           "Instance C crashes; the health check takes it out of rotation and every user keeps "
           "browsing. **How many users have to log in again?** Put it in `q2_relogins`.",
    answer="q2_relogins", expected=60, tolerance=0, units="users",
    stub="q2_relogins = ...  # a whole number of users",
    mistakes=[
        (240, ("Only some users lose anything: the other instances are still running, and "
              "their memory still holds their users' sessions.")),
        (0, ("Where did C's users' sessions live? The balancer now sends those users to another "
            "instance, which has never seen them.")),
        (180, ("That counts the users of the instances that are still running; their sessions "
              "are untouched.")),
        (80, ("That divides the users by the three instances that survive. Who lost a session "
             "depends on where the sessions were before the crash.")),
    ],
    hints=[
        "Which instance's memory held the sessions that are gone?",
        ("240 users spread evenly over 4 instances: how many were pinned to C? Only they lose "
        "their session."),
    ],
    solution="q2_relogins = 240 // 4  # the users pinned to C, and only they",
    explanation="240 / 4 = 60: the users pinned to C lose their sessions with C's memory; the "
                "balancer re-pins them elsewhere and they log in again, once each. Everyone "
                "else is untouched. A scale-in does the same to the users of the instance it "
                "removes; with a shared session store, nobody would be logged out.",
)

q3 = Choice(
    title="Design for instances that come and go",
    prompt="Your shop runs on **spot instances**: they cost much less, but the cloud provider "
           "may take any of them away with two minutes' notice, and the autoscaler adds and "
           "removes instances through the day. Users **must not be logged out** by any of "
           "this. **Where should the sessions live?** Put the letter in `q3_choice`.",
    answer="q3_choice",
    options={
        "a": "In each instance's memory, behind a round-robin balancer.",
        "b": "In each instance's memory, behind a sticky balancer (a cookie pins each user to "
             "an instance).",
        "c": "In a shared store that every instance reads (Redis, or the database), itself "
             "replicated so that it survives losing a server; any balancer in front.",
        "d": "In each instance's memory, with consistent hashing on the user id so that a user "
             "always reaches the same instance.",
    },
    correct="c",
    feedback={
        "a": "Round robin sends a user's next request to another instance most of the time "
             "((N − 1) / N of follow-ups): users would be logged out all day long, even when "
             "nothing fails.",
        "b": "Sticky sessions hold while nothing changes. But each time an instance is taken "
             "away, every user pinned to it is logged out — and here that happens every day.",
        "d": "Consistent hashing is stickiness by arithmetic: an instance that disappears takes "
             "its users' sessions with it, and an instance that is added takes over about 1/N "
             "of the users, who arrive there with no session either.",
    },
    hints=[
        "For each design: what is lost when an instance disappears, and when one is added?",
        "Where must a session live so that no instance's death can take it away?",
    ],
    solution='q3_choice = "c"',
    explanation="Only a shared store lets instances come and go freely: no instance holds "
                "anything the next request needs, so any of them can vanish and any new one "
                "can answer at once. The price: a network round trip per request, and the "
                "store is now the one part that must not fail — so it is replicated, with "
                "automatic failover.",
)

# -- q4: a sticky balancer -------------------------------------------------------------------------

SERVICE_TIME = 0.1
PROBE = HealthCheck(interval=1.0, timeout=0.5, unhealthy_threshold=2, healthy_threshold=2)


def _users(seed: int, duration: float = 240.0):
    """Users who log in and send 6 requests about 5 s apart, 2 new users per second."""
    return workloads.sessions(rate=2.0, duration=duration, requests=6, think_time=5.0, seed=seed)


def _own_code(make, runner):
    """pick on a small hand-made cluster: a stub or a crash shows up here, first. Calling or
    inheriting the built-in ``Sticky.pick`` is refused by the exercise's ``own_code`` (new
    users may still go through any other balancer)."""
    spy = BalancerSpy(make(runner), runner)
    spy.rng = np.random.default_rng(0)  # as the simulator does before every run
    spy.reset()
    view = InstancesView(ClusterState([1.0] * 3, [1.0] * 3))
    for k, user in enumerate((7, 8, 7, None)):
        spy.pick(view, Request(k, float(k), user=user))


def _conformance(make, runner):
    from ..testing import check_balancer

    report = check_balancer(BalancerSpy(make(runner), runner), seed=0)
    if not report.passed:
        first = report.failed[0]
        raise Fail(f"The conformance suite (`sl.testing.check_balancer`) failed first at "
                   f"“{first.name}”: {first.message}.")


def _run(make, runner, seed: int, instances: int, failures=()):
    spy = BalancerSpy(make(runner), runner)
    result = simulate(_users(seed), instances=instances, service_time=SERVICE_TIME,
                      balancer=spy, sessions=InMemory(), seed=seed, retries=1,
                      health_check=PROBE, failures=list(failures))
    return result, spy


def _previous_instance(records) -> dict:
    """For each request index: the instance of the same user's previous request that reached
    an instance (−1 for a user's first)."""
    last, previous = {}, {}
    for k in np.argsort(records["arrival"], kind="stable").tolist():
        user, where = int(records["user"][k]), int(records["instance"][k])
        previous[k] = last.get(user, -1)
        if where >= 0:
            last[user] = where
    return previous


def _keeps_sessions(seed: int, instances: int):
    def run(make, runner):
        result, _ = _run(make, runner, seed, instances)
        records = result.requests
        lost = np.flatnonzero(records["lost_session"])
        if len(lost):
            follow = len(records) - len(np.unique(records["user"]))
            k = int(lost[np.argmin(records["arrival"][lost])])
            before = _previous_instance(records)[k]
            raise Fail(f"With sessions in memory and nothing failing, {len(lost)} of {follow} "
                       f"follow-up requests ({len(lost) / follow:.0%}) found no session. The "
                       f"first: user {int(records['user'][k])}'s request at "
                       f"t={records['arrival'][k]:.2f} s went to instance "
                       f"{int(records['instance'][k])}, but their session was on instance "
                       f"{before}, where their previous request went.")
        first = {}
        for user, where in zip(records["user"].tolist(), records["instance"].tolist()):
            first.setdefault(user, where)
        counts = np.bincount(np.array(list(first.values())), minlength=instances)
        shares = counts / counts.sum()
        if shares.min() < 0.5 / instances:
            listing = ", ".join(f"instance {j}: {s:.0%}" for j, s in enumerate(shares))
            raise Fail(f"No session was lost, but your balancer placed the {counts.sum()} users "
                       f"very unevenly ({listing}). A load balancer must spread them: every "
                       f"healthy instance should get its share of new users.")
    return Check(f"sessions in memory, nothing fails: no follow-up request loses its session, "
                 f"and the users are spread over the {instances} instances (seed {seed})", run)


def _survives_a_crash(seed: int, instances: int, crash: int, at: float, back: float):
    def run(make, runner):
        result, spy = _run(make, runner, seed, instances, [Crash(crash, at, back)])
        for request, arrival, index, _, healthy in spy.picks:
            up = [j for j, ok in enumerate(healthy) if ok]
            if up and index not in up:
                raise Fail(f"Request {request} at t={arrival:.2f} s went to "
                           f"{'None' if index is None else f'instance {index}'}, which was "
                           f"not healthy (healthy: {up}).")
        records = result.requests
        order = np.argsort(records["arrival"], kind="stable")
        lost = [k for k in order.tolist() if records["lost_session"][k]]
        previous = _previous_instance(records)
        there = _sessions_on(records, crash, at)
        seen: dict[int, float] = {}
        for k in lost:
            user, t = int(records["user"][k]), float(records["arrival"][k])
            where, before = int(records["instance"][k]), previous[k]
            if user not in there:
                came_back = (f" — instance {crash}, back in rotation since then with empty "
                             "memory" if where == crash and t >= back else "")
                raise Fail(f"Instance {crash} crashed at {at:g} s (back at {back:g} s). User "
                           f"{user}'s session was on instance {before}, which never failed, yet "
                           f"their request at t={t:.2f} s went to instance {where}{came_back}, "
                           "and found no session.")
            if user in seen:
                raise Fail(f"Instance {crash} crashed at {at:g} s (back at {back:g} s). User "
                           f"{user} lost their session at t={seen[user]:.2f} s, which is "
                           f"expected, then again at t={t:.2f} s: that request went to instance "
                           f"{where}, although their new session was on instance {before}.")
            seen[user] = t
    return Check(f"instance {crash} of {instances} crashes at {at:g} s and is back at {back:g} s: "
                 "no pick goes to an unhealthy instance, only users whose session was on it "
                 f"log in again, once each (seed {seed})", run)


def _sessions_on(records, instance: int, at: float) -> set:
    """Users whose last request sent before ``at`` went to ``instance`` (the crash at ``at``,
    the only failure in the scenario, is then why such a request was resent: retries > 0)."""
    done = records[(records["arrival"] < at) & (records["instance"] >= 0)]
    order = np.argsort(done["arrival"], kind="stable")
    last = {}
    for user, where, resent in zip(done["user"][order].tolist(),
                                   done["instance"][order].tolist(),
                                   (done["retries"][order] > 0).tolist()):
        last[user] = instance if resent else where
    return {user for user, where in last.items() if where == instance}


q4 = PolicyClass(
    title="A sticky balancer",
    prompt="Write a balancer class `StickyByUser`. Its `pick(instances, request)` sends a "
           "user's first request to a healthy instance — spread the users over the instances "
           "— and remembers that instance for `request.user`; every later request of that user "
           "goes to the same instance **as long as it is healthy**. When it is not, pick another "
           "healthy instance and remember *that one* from then on, even after the old one "
           "comes back (it comes back with empty memory). A request without a user "
           "(`request.user is None`) may go to any healthy instance; return `None` when no "
           "instance is healthy. Forget everything in `reset()`, which the simulator calls "
           "before every run.\n\n"
           "The check runs it: `pick` on a small cluster, the conformance suite "
           "(`sl.testing.check_balancer`), then seeded simulations with sessions in memory — "
           "while nothing fails, no follow-up request may lose its session and every instance "
           "must get users; when an instance crashes and comes back, no request may go to an "
           "unhealthy instance, and only the users whose session was on it may log in again, "
           "once each.",
    answer="StickyByUser", base=Balancer, own_code=[(Sticky, "pick")],
    stub='''class StickyByUser(sl.balancers.Balancer):
    def pick(self, instances, request):
        """The user's instance while it is healthy; else a healthy one, remembered.
        (Keep what you remember in self; set it up in a reset(self) method.)"""
        # YOUR CODE HERE
        raise NotImplementedError()''',
    solution='''class StickyByUser(sl.balancers.Balancer):
    def pick(self, instances, request):
        """The user's instance while it is healthy; else a healthy one, remembered.
        (Keep what you remember in self; set it up in a reset(self) method.)"""
        healthy = [instance for instance in instances if instance.healthy]
        if not healthy:
            return None
        home = self.pinned.get(request.user)
        if home is not None and instances[home].healthy:
            return instances[home]
        choice = healthy[self.turn % len(healthy)]
        self.turn += 1
        if request.user is not None:
            self.pinned[request.user] = choice.index
        return choice

    def reset(self):
        self.pinned = {}  # user -> index of the instance that holds their session
        self.turn = 0     # new users: round robin over the healthy instances''',
    checks=[
        Check("pick runs on a small cluster (and is your own)", _own_code),
        Check("passes the conformance suite (check_balancer)", _conformance),
        _keeps_sessions(seed=0, instances=4),
        _survives_a_crash(seed=0, instances=4, crash=1, at=100.0, back=140.0),
    ],
    instructor_checks=[
        _keeps_sessions(seed=101, instances=6),
        _survives_a_crash(seed=102, instances=6, crash=4, at=60.0, back=90.0),
        _survives_a_crash(seed=103, instances=3, crash=0, at=150.0, back=200.0),
    ],
    hints=[
        ("Keep a dict from user to instance index. First look the user up: if they have an "
        "instance and it is healthy, return it."),
        ("Otherwise choose among the healthy instances (round robin over them spreads new users "
        "evenly), store the choice for `request.user` — if there is a user — and return it."),
        ("`home = self.pinned.get(request.user)`; `if home is not None and "
        "instances[home].healthy: return instances[home]`; else take "
        "`healthy[self.turn % len(healthy)]`, count the turn, remember and return it."),
    ],
    explanation="Look the user up; while their instance is healthy, send them back to it. "
                "Otherwise choose a healthy instance (round robin over the healthy ones), and "
                "*replace* the pin, so that when the old instance comes back — empty — the user "
                "stays where their new session is. A pin that follows a hash of the user id "
                "(`user % N`) would send them back to the empty instance and log them out a "
                "second time. `sl.balancers.Sticky` does the same, with any balancer as the "
                "fallback for new users.",
    points=4,
)

register(globals(), lesson="lesson04", notebook="04-statelessness.ipynb",
         title="Statelessness: where does the session live?")

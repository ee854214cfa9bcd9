"""Lesson 04's part of ``scenarios``."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import _validate, metrics, workloads
from ..autoscalers import Autoscaler
from ..balancers import Sticky
from ..failures import Crash, HealthCheck
from ..sessions import InMemory, SharedStore
from ..sim import simulate
from ..workloads import Workload

# -- lesson 04: statelessness ---------------------------------------------------------------------
# One shop for the whole lesson: visitors log in and view 6 pages about 10 s apart, and one visitor
# in a hundred is a heavy client (an office behind one login, a price-comparison bot) sending 300
# requests about 1 s apart. Each request needs 0.2 s of one instance's work (exponential). Where
# the session lives is one of three designs (:data:`SESSION_DESIGNS`). Times in seconds.

__all__ = [
    "hung_store",
    "DISPOSABLE_EVENTS", "SESSION_DESIGNS", "SESSION_HEALTH_CHECK", "SESSION_SERVICE_TIME",
    "STATELESS_EXPLORER_CRASH", "STATELESS_EXPLORER_DURATION", "STORE_LATENCY", "STORY_NAMES",
    "busy_over_time", "disposable", "follow_ups", "heavy_clients", "instance_name",
    "lost_share", "lost_share_curve", "per_instance", "session_design", "session_story",
    "sessions_on", "shop", "shop_run", "stateless_explorer", "sticky_cost", "sticky_crash",
    "store_outage", "three_users",
]


SESSION_SERVICE_TIME = 0.2   # s of one instance's work per request
STORE_LATENCY = 0.002        # s the shared store adds to every request (one network round trip)
SESSION_HEALTH_CHECK = HealthCheck(interval=2.0, timeout=1.0, unhealthy_threshold=3,
                                   healthy_threshold=2)
SESSION_DESIGNS = {
    "memory": "sessions in memory, round robin",
    "sticky": "sessions in memory, sticky balancer",
    "shared": "shared session store, round robin",
}
STORY_NAMES = ("ada", "bob", "cleo")
STATELESS_EXPLORER_DURATION = 300.0       # s of shop traffic in the explorer
STATELESS_EXPLORER_CRASH = (150.0, 180.0)  # instance A crashes, and a fresh one replaces it


def instance_name(index: int) -> str:
    """Instances by letter, as the lesson's text names them: 0 → "A", 1 → "B", …"""
    index = _validate.integer("index", index, minimum=0)
    return chr(ord("A") + index) if index < 26 else f"#{index}"


def session_design(mode: str, store_latency: float = STORE_LATENCY, outages=()) -> dict:
    """Fresh ``balancer`` and ``sessions`` objects for one of :data:`SESSION_DESIGNS`:
    ``"memory"`` (round robin, sessions in each instance's memory), ``"sticky"`` (a sticky
    balancer, sessions in memory) or ``"shared"`` (round robin, a shared store adding
    ``store_latency`` s per request, down during ``outages``)."""
    from ..balancers import RoundRobin

    if mode == "memory":
        return {"balancer": RoundRobin(), "sessions": InMemory()}
    if mode == "sticky":
        return {"balancer": Sticky(), "sessions": InMemory()}
    if mode == "shared":
        return {"balancer": RoundRobin(),
                "sessions": SharedStore(latency=store_latency, outages=outages)}
    raise ValueError(f"mode must be one of {', '.join(map(repr, SESSION_DESIGNS))}, "
                     f"got {mode!r}")


def three_users() -> Workload:
    """The lesson's first example: ada, bob and cleo (users 0, 1, 2) log in and send two more
    requests each, one request per second between them all."""
    users = np.array([0, 1, 2, 1, 0, 2, 0, 1, 2])
    return Workload(np.arange(9.0), 9.0, user=users, name="ada, bob and cleo")


def session_story(result, names=STORY_NAMES) -> list[dict]:
    """One row per request of a small run: ``time`` (s), ``user`` (a name from ``names``),
    ``request`` (1 for the user's first, then 2, 3, …), ``instance`` (a letter, or "—" if
    none answered) and ``outcome``: "logs in", "session found", "no session: logs in again"
    or "failed"."""
    rows, seen = [], {}
    for record in result.requests:
        user = int(record["user"])
        seen[user] = seen.get(user, 0) + 1
        if record["status"] != 0:
            outcome = "failed"
        elif seen[user] == 1:
            outcome = "logs in"
        else:
            outcome = "no session: logs in again" if record["lost_session"] else "session found"
        where = int(record["instance"])
        rows.append({"time": float(record["arrival"]),
                     "user": names[user] if 0 <= user < len(names) else f"user {user}",
                     "request": seen[user], "instance": instance_name(where) if where >= 0
                     else "—", "outcome": outcome})
    return rows


def follow_ups(result) -> int:
    """Requests that are not their user's first: the ones that need an existing session."""
    users = result.requests["user"]
    users = users[users >= 0]
    return int(len(users) - len(np.unique(users)))


def lost_share(result) -> float:
    """Lost sessions as a fraction (0–1) of the follow-up requests (NaN if there are none)."""
    count = follow_ups(result)
    return result.summary()["lost_sessions"] / count if count else float("nan")


@lru_cache(maxsize=8)
def shop(duration: float = 600.0, visitors_per_s: float = 1.0, seed: int = 1) -> Workload:
    """The lesson's traffic: visitors arrive at ``visitors_per_s`` (Poisson), each sends 6
    requests about 10 s apart (the first is the login); heavy clients arrive 100 times less
    often and send 300 requests about 1 s apart (drawn with ``seed + 1``). User ids: the
    visitors first, then the heavy clients."""
    duration = _validate.positive("duration", duration)
    visitors_per_s = _validate.positive("visitors_per_s", visitors_per_s)
    seed = _validate.seed(seed)
    light = workloads.sessions(rate=visitors_per_s, duration=duration, requests=6,
                               think_time=10.0, seed=seed)
    heavy = workloads.sessions(rate=visitors_per_s / 100, duration=duration, requests=300,
                               think_time=1.0, seed=seed + 1)
    offset = int(light.user.max()) + 1 if len(light) else 0
    times = np.concatenate([light.arrivals, heavy.arrivals])
    users = np.concatenate([light.user, heavy.user + offset])
    order = np.argsort(times, kind="stable")
    return Workload(times[order], duration, user=users[order],
                    name=f"shop: {visitors_per_s:g} visitors/s, 1 in 100 heavy")


def heavy_clients(workload: Workload) -> dict:
    """How many users sent more than 6 requests (the heavy clients), and their share of all
    requests (0–1)."""
    users, counts = np.unique(workload.user, return_counts=True)
    heavy = counts > 6
    return {"users": len(users), "heavy": int(heavy.sum()),
            "heavy_share": float(counts[heavy].sum() / counts.sum()) if len(counts) else 0.0}


def shop_run(mode: str, instances: int = 4, failures=(), autoscaler=None, outages=(),
             store_latency: float = STORE_LATENCY, workload: Workload | None = None,
             seed: int = 1, **cluster):
    """:func:`shop` (or ``workload``) through one design of :data:`SESSION_DESIGNS` with the
    lesson's service time, health checks (probes every 2 s) and one retry; a ``Result``."""
    workload = shop(seed=seed) if workload is None else workload
    design = session_design(mode, store_latency, outages)
    if autoscaler is not None:
        cluster = {"boot_time": 30.0, **cluster}
    return simulate(workload, instances=instances, service_time=SESSION_SERVICE_TIME,
                    health_check=SESSION_HEALTH_CHECK, retries=1, failures=list(failures),
                    autoscaler=autoscaler, seed=seed, **design, **cluster)


def lost_share_curve(counts=range(1, 9), workload: Workload | None = None,
                     seed: int = 1) -> dict:
    """Round robin with sessions in memory on ``workload`` (default :func:`shop`), for each
    instance count in ``counts``: the simulated share of follow-up requests that found no
    session, beside (N − 1) / N, the chance that a request lands anywhere but on the one
    instance holding the session."""
    counts = np.array([_validate.integer("instances", n, minimum=1) for n in counts])
    simulated = np.array([lost_share(shop_run("memory", int(n), workload=workload, seed=seed))
                          for n in counts])
    return {"instances": counts, "simulated": simulated, "theory": (counts - 1) / counts}


def per_instance(result) -> dict:
    """Per instance: ``requests`` answered and ``utilization`` (busy fraction 0–1 over the
    run), with the ``imbalance`` (most requests ÷ the mean)."""
    records = result.requests[result.requests["status"] == 0]
    n = len(result.instances)
    served = np.bincount(records["instance"], minlength=n)
    busy = np.bincount(records["instance"], weights=records["service"], minlength=n)
    return {"requests": served, "utilization": busy / result.duration,
            "imbalance": float(served.max() / served.mean()) if served.any() else float("nan")}


def busy_over_time(result, bin: float = 30.0) -> np.ndarray:
    """How busy each instance was (fraction 0–1) in each ``bin`` seconds: one row per
    instance, one column per bin."""
    bin = _validate.positive("bin", bin)
    records = result.requests[result.requests["status"] == 0]
    edges = np.arange(0.0, result.duration + bin / 2, bin)
    return np.array([np.diff(metrics.busy_seconds(records["start"][records["instance"] == j],
                                                  records["end"][records["instance"] == j],
                                                  edges)) / np.diff(edges)
                     for j in range(len(result.instances))])


def sticky_cost(instances: int = 4, seed: int = 1, bin: float = 30.0) -> dict:
    """The shop on ``instances`` instances, with round robin over a shared store and with a
    sticky balancer (sessions in memory). Per design: ``requests`` and ``utilization`` per
    instance over the run, ``imbalance``, ``busy`` (each instance's busy fraction per ``bin``
    s, instances × bins), ``peak_busy`` (the highest of those), ``lost_sessions``, and latency
    ``p50``/``p95`` (s). ``time``: the bins' starts (s)."""
    designs = {}
    for mode in ("shared", "sticky"):
        result = shop_run(mode, instances, seed=seed)
        summary = result.summary()
        busy = busy_over_time(result, bin)
        designs[SESSION_DESIGNS[mode]] = {
            **per_instance(result), "busy": busy, "peak_busy": float(busy.max()),
            "lost_sessions": summary["lost_sessions"], "p50": summary["p50"],
            "p95": summary["p95"]}
    time = np.arange(busy.shape[1]) * bin
    return {"instances": instances, "names": [instance_name(i) for i in range(instances)],
            "time": time, "bin": bin, "designs": designs}


def _cut_off(records, at: float) -> np.ndarray:
    """Requests in flight at a crash at ``at`` that were resent to another instance."""
    return (records["arrival"] < at) & (records["retries"] > 0)


def sessions_on(result, instance: int, at: float) -> set:
    """Users whose session lived on ``instance`` when it crashed at ``at``: their last request
    sent before ``at`` went there — answered, or cut off by the crash (and then resent: the
    one crash in these scenarios is the only reason a request sent before it is resent)."""
    records = result.requests
    done = records[(records["arrival"] < at) & (records["instance"] >= 0)]
    cut = set(records["user"][_cut_off(records, at)].tolist())
    last = {}
    for user, where in zip(done["user"].tolist(), done["instance"].tolist()):
        last[user] = where
    return {user for user, where in last.items() if where == instance or user in cut}


def sticky_crash(instances: int = 4, crash: int = 1, at: float = 300.0,
                 replaced_at: float | None = 330.0, seed: int = 1) -> dict:
    """The sticky design, and instance ``crash`` dies at ``at`` (a fresh one replaces it at
    ``replaced_at``). ``lost_sessions`` (forced re-logins), ``users_logged_out`` (distinct
    users), ``sessions_there`` (users whose session lived on it at the crash) and
    ``came_back`` (those of them who sent another request afterwards, or whose request was
    cut off by the crash and resent)."""
    result = shop_run("sticky", instances, failures=[Crash(crash, at, replaced_at)], seed=seed)
    records = result.requests
    there = sessions_on(result, crash, at)
    later = set(records["user"][(records["arrival"] >= at) | _cut_off(records, at)].tolist())
    lost = records["user"][records["lost_session"]]
    return {"lost_sessions": result.summary()["lost_sessions"],
            "users_logged_out": len(set(lost.tolist())), "sessions_there": len(there),
            "came_back": len(there & later), "errors": result.summary()["errors"],
            "result": result}


class _Plan(Autoscaler):
    """Not a policy: an operator's plan, ``counts`` = [(from time s, instances), …]."""

    def __init__(self, start: int, counts):
        self.start, self.counts = start, list(counts)

    def desired(self, observation) -> int:
        wanted = self.start
        for when, count in self.counts:
            if observation.time >= when - 1e-9:
                wanted = count
        return wanted


DISPOSABLE_EVENTS = (
    (150.0, "B crashes"), (180.0, "a new B replaces it"), (300.0, "one instance added"),
    (450.0, "one instance removed"))


def disposable(instances: int = 4, seed: int = 1, bin: float = 10.0) -> dict:
    """Crash one, replace one, add one, remove one: instance B (1) crashes at 150 s and a fresh
    one replaces it at 180 s; at 300 s one instance is added (it boots for 30 s), and at 450 s
    one is removed (it drains). Per design of :data:`SESSION_DESIGNS`: ``lost`` (lost sessions
    per ``bin`` s), ``lost_sessions``, ``users_logged_out``, ``errors``, ``p50``, ``p95``
    (s)."""
    bin = _validate.positive("bin", bin)
    (crash_at, _), (replaced_at, _), (add_at, _), (remove_at, _) = DISPOSABLE_EVENTS
    plan = [(add_at, instances + 1), (remove_at, instances)]
    designs = {}
    for mode, name in SESSION_DESIGNS.items():
        result = shop_run(mode, instances, failures=[Crash(1, crash_at, replaced_at)],
                          autoscaler=_Plan(instances, plan), min_instances=1,
                          max_instances=instances + 1, seed=seed)
        summary = result.summary()
        lost = result.requests["user"][result.requests["lost_session"]]
        designs[name] = {"lost": result.timeline(bin=bin)["lost_sessions"],
                         "lost_sessions": summary["lost_sessions"],
                         "users_logged_out": len(set(lost.tolist())),
                         "errors": summary["errors"], "p50": summary["p50"],
                         "p95": summary["p95"], "follow_ups": follow_ups(result)}
    edges = np.arange(len(next(iter(designs.values()))["lost"])) * bin
    return {"time": edges, "bin": bin, "events": list(DISPOSABLE_EVENTS), "designs": designs}


def store_outage(instances: int = 4, outage=(400.0, 430.0), seed: int = 1) -> dict:
    """The shared-store design while the store is down from ``outage[0]`` to ``outage[1]`` s:
    ``errors`` (all requests that failed), ``during`` (requests that arrived in the outage),
    ``failed_during`` (of those, how many failed) and ``lost_sessions``."""
    start, end = outage
    result = shop_run("shared", instances, outages=[outage], seed=seed)
    records = result.requests
    inside = (records["arrival"] >= start) & (records["arrival"] < end)
    return {"outage": (float(start), float(end)), "errors": result.summary()["errors"],
            "during": int(inside.sum()),
            "failed_during": int(np.count_nonzero(records["status"][inside] != 0)),
            "lost_sessions": result.summary()["lost_sessions"]}


def stateless_explorer(mode: str = "memory", instances: int = 4, crash: bool = False,
                       seed: int = 1) -> dict:
    """The explorer's numbers: :func:`shop` through one design of :data:`SESSION_DESIGNS` on
    ``instances`` instances for :data:`STATELESS_EXPLORER_DURATION` s; with ``crash``, instance
    A (0) crashes at 150 s and a fresh one replaces it at 180 s. Series per 10 s: ``time``,
    ``lost`` (lost sessions), ``p95`` (s);
    per instance: ``names``, ``requests``; totals: ``lost_sessions``, ``follow_ups``,
    ``lost_share``, ``users_logged_out``, ``errors``, ``p50``, ``p95_all``, ``imbalance``.
    Cached: the same settings return the same (shared) dict."""
    if mode not in SESSION_DESIGNS:
        raise ValueError(f"mode must be one of {', '.join(map(repr, SESSION_DESIGNS))}, "
                         f"got {mode!r}")
    instances = _validate.integer("instances", instances, minimum=1)
    return _stateless_explorer(mode, instances, bool(crash), _validate.seed(seed))


@lru_cache(maxsize=64)
def _stateless_explorer(mode: str, instances: int, crash: bool, seed: int) -> dict:
    at, replaced_at = STATELESS_EXPLORER_CRASH
    failures = [Crash(0, at, replaced_at)] if crash else []
    result = shop_run(mode, instances, failures=failures, seed=seed,
                      workload=shop(duration=STATELESS_EXPLORER_DURATION, seed=seed))
    summary = result.summary()
    timeline = result.timeline(bin=10.0)
    lost = result.requests["user"][result.requests["lost_session"]]
    follow = follow_ups(result)
    return {
        "mode": mode, "design": SESSION_DESIGNS[mode], "instances": instances, "crash": crash,
        "crash_at": at if crash else float("nan"),
        "replaced_at": replaced_at if crash else float("nan"),
        "store_latency": STORE_LATENCY if mode == "shared" else 0.0,
        "time": timeline["time"], "lost": timeline["lost_sessions"], "p95": timeline["p95"],
        "names": [instance_name(i) for i in range(instances)],
        "requests": per_instance(result)["requests"],
        "lost_sessions": summary["lost_sessions"], "follow_ups": follow,
        "lost_share": summary["lost_sessions"] / follow if follow else float("nan"),
        "users_logged_out": len(set(lost.tolist())), "errors": summary["errors"],
        "p50": summary["p50"], "p95_all": summary["p95"], "imbalance": summary["imbalance"],
        "duration": result.duration,
    }


def hung_store(rate: float, workers: int, work: float = SESSION_SERVICE_TIME,
               store_timeout: float = 0.1) -> dict:
    """Worker arithmetic (Little's law: busy workers = arrival rate × time each request holds
    one) for a shared store that hangs instead of failing, with ``rate`` requests/s over
    ``workers`` worker threads in all, each request doing ``work`` seconds of its own.
    Returns ``busy_normally`` (workers busy on a normal day), ``exhausted_after`` (s until
    every worker waits on the hung store, when requests wait forever for it) and
    ``busy_with_timeout`` (workers busy when each store call gives up after
    ``store_timeout`` s and the request fails fast).

    >>> hung_store(rate=10, workers=40, work=0.2, store_timeout=0.1)["exhausted_after"]
    4.0
    """
    rate = _validate.positive("rate", rate)
    workers = _validate.integer("workers", workers, minimum=1)
    work = _validate.number("work", work, minimum=0)
    store_timeout = _validate.positive("store_timeout", store_timeout)
    return {"busy_normally": rate * work, "exhausted_after": workers / rate,
            "busy_with_timeout": rate * (work + store_timeout)}

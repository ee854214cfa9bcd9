"""Why a launch-day design failed a scenario: the mechanism, in one line, and the lesson that
covers it. It says what happened, never what to choose.

Each reason is read off the run: the requests that count against the error budget are split
by what went wrong (session lost, store down, connection refused or no instance left, timed
out, answered late), and the biggest shares are explained from the run's events (crashes, the
health check marking instances down, the autoscaler's launches). Times on the compressed clock.
"""

from __future__ import annotations

import numpy as np

from . import capstone_scenarios as cs
from .balancers import Sticky
from .result import Status
from .sessions import InMemory

LESSONS = {0: "lesson 00 (queues)", 1: "lesson 01 (bigger or more machines)",
           2: "lesson 02 (load balancers)", 3: "lesson 03 (when instances fail)",
           4: "lesson 04 (statelessness)", 5: "lesson 05 (autoscaling)",
           6: "lesson 06 (load testing)"}
MINOR = 0.15  # causes below this share of the bad requests are not mentioned


def mechanisms(design, scenario, result, bad, card) -> list[tuple[str, int]]:
    """[(sentence, lesson number), …], the biggest cause first."""
    r = result.requests
    status = r["status"]
    late = (status == Status.OK) & ~r["lost_session"] & \
        ((r["end"] - r["arrival"]) > _slo())
    causes = {
        "lost": int(np.count_nonzero(r["lost_session"] & (status == Status.OK))),
        "store": int(np.count_nonzero(status == Status.STORE_DOWN)),
        "refused": int(np.count_nonzero((status == Status.FAILED)
                                        | (status == Status.NO_INSTANCE))),
        "timeout": int(np.count_nonzero((status == Status.TIMEOUT)
                                        | (status == Status.REJECTED))),
        "late": int(np.count_nonzero(late)),
    }
    total = max(1, int(bad.sum()))
    found = []
    for cause, count in sorted(causes.items(), key=lambda kv: -kv[1]):
        if count and (not found or count >= MINOR * total) and card.bad and not card.slo_met:
            found.append(_EXPLAIN[cause](design, scenario, result, count, late))
    if not card.in_budget:
        found.append((f"the day cost ${card.cost:.2f}, over the ${_budget():g} budget — "
                      "every instance-hour counts, warm or idle", 1))
    return [(f"{text} ({LESSONS[lesson]})", lesson) for text, lesson in found]


def _share(count, result) -> str:
    return f"{count} requests ({count / len(result.requests):.1%})"


def _lost(design, scenario, result, count, late):
    if isinstance(design.sessions, InMemory) and not isinstance(design.balancer, Sticky):
        return (f"{_share(count, result)} landed on an instance that did not hold the user's "
                "session: sessions live in process memory and the balancer spreads each "
                "user's pages over the instances", 4)
    return (f"{_share(count, result)} found their session gone: it lived only on an instance "
            "that crashed or was removed", 4)


def _store(design, scenario, result, count, late):
    return (f"the session store outage failed {_share(count, result)}: every page needs the "
            "store, and nothing took over while it was down", 4)


def _refused(design, scenario, result, count, late):
    r = result.requests
    none_left = np.count_nonzero(r["status"] == Status.NO_INSTANCE)
    if none_left >= count / 2:
        first = r["arrival"][r["status"] == Status.NO_INSTANCE].min()
        return (f"no instance was left to answer from {cs.clock(first)}: "
                f"{_share(none_left, result)} failed — a single point of failure", 1)
    crashes = [t for t, _, what in result.events if what == "crash"]
    downs = [t for t, _, what in result.events if what == "marked down"]
    if len(crashes) >= design.min_instances and design.autoscaler is None:
        return (f"every instance crashed at {cs.clock(min(crashes))} and {_share(count, result)}"
                " failed after it — the only instance is a single point of failure", 1)
    if design.health_check is None:
        return (f"{_share(count, result)} were sent to crashed instances until the end of the "
                "day: nothing checks the instances' health", 3)
    detect = (min(downs) - min(crashes)) if crashes and downs else float("nan")
    return (f"{_share(count, result)} were refused by crashed instances in the {detect:.0f} s "
            f"before the health check marked them down, and retries={design.retries} did not "
            "resend them", 3)


def _timeout(design, scenario, result, count, late):
    return (f"{_share(count, result)} timed out: clients gave up after {design.timeout:g} s "
            "while requests queued", 3)


def _late(design, scenario, result, count, late):
    r = result.requests
    slowed = r["instance"][late]
    if scenario.family == "slow":
        target = scenario.instance % design.min_instances
        on_it = int(np.count_nonzero(slowed == target))
        if on_it >= count / 2:
            return (f"instance {target} ran {scenario.factor:.2g}× slower but passed its health "
                    f"checks; the balancer kept sending it its share and {on_it} requests "
                    "waited on it past the SLO", 2)
    start, end = _worst_stretch(r["arrival"], late)
    span = f"between {cs.clock(start)} and {cs.clock(end)}"
    if scenario.family == "storm" and abs(start - (scenario.at + scenario.length)) < 60:
        return (f"{_share(count, result)} answered late {span}: the clients of the outage all "
                "came back at once, and the queue they built took "
                f"{end - start:.0f} s to drain", 6)
    if scenario.spike_at - 60 <= start <= scenario.spike_end:
        return _late_in_spike(design, scenario, result, count, span)
    crashes = [t for t, _, what in result.events if what == "crash"]
    if crashes and start >= min(crashes) - 1:
        return (f"{_share(count, result)} answered late {span}: the instances left after the "
                "crash could not carry the load (no spare capacity)", 1)
    return (f"{_share(count, result)} answered late {span}: the instances were too busy for "
            "the traffic (queues grow long before 100 % busy)", 0)


def _late_in_spike(design, scenario, result, count, span):
    if design.autoscaler is None:
        return (f"{_share(count, result)} answered late {span}, during the spike: "
                f"{design.min_instances} instance(s) could not carry it and nothing adds more",
                5)
    launches = [t for t, _, what in result.events if what == "launch"
                and t >= scenario.spike_at]
    if not launches:
        return (f"{_share(count, result)} answered late {span}, during the spike: the "
                "autoscaler never added an instance", 5)
    delay = (min(launches) + _boot() - scenario.spike_at) / 60
    peak = int(np.max(result.timeline(bin=60)["instances"]))
    capped = " and stopped at max_instances" if peak >= design.max_instances else ""
    return (f"{_share(count, result)} answered late {span}: new capacity arrived {delay:.1f} "
            f"minutes after the spike began (the rule's window plus warm-up){capped}", 5)


def _worst_stretch(arrivals, late, bin: float = 60.0) -> tuple[float, float]:
    """First and last minute in which more than 2 % of the requests were late (the whole
    span of late requests if no minute was that bad): where the damage was, not the day's
    scattered tail."""
    edges = np.arange(0, cs.DAY + bin, bin)
    total = np.histogram(arrivals, edges)[0]
    bad = np.histogram(arrivals[late], edges)[0]
    worst = np.flatnonzero(bad > 0.02 * np.maximum(total, 1))
    if len(worst) == 0:
        return float(arrivals[late].min()), float(arrivals[late].max())
    return float(edges[worst[0]]), float(edges[worst[-1] + 1])


def _slo() -> float:
    from .capstone import SLO_LATENCY

    return SLO_LATENCY


def _budget() -> float:
    from .capstone import BUDGET_PER_DAY

    return BUDGET_PER_DAY


def _boot() -> float:
    return 60.0  # the simulator's default boot_time, which the capstone keeps


_EXPLAIN = {"lost": _lost, "store": _store, "refused": _refused, "timeout": _timeout,
            "late": _late}

"""Launch day's traffic and the things that go wrong on it: the capstone's scenarios.

One simulated hour (``DAY`` = 3600 s) stands for the launch day: the daily cycle of traffic is
compressed 24 times, so one simulated minute carries 24 minutes of the day's shape. Everything
that happens *to* the service — the launch spike, a boot, a health check, a crash, an outage —
runs at real speed, in real seconds. Rates are requests per second; times in seconds from
midnight of the compressed day.

Each :class:`Scenario` is a family (``forecast``, ``early spike``, ``crash``, ``zone``,
``store``, ``slow``, ``storm``) with its parameters. :data:`PRACTICE` is the fixed set a learner
sees; :func:`held_out` draws a fresh set of the same families from a seed.

>>> from scalelab import capstone_scenarios as cs
>>> [s.family for s in cs.PRACTICE][:3]
['forecast', 'early spike', 'crash']
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _validate
from .failures import Crash, Slowdown
from .sessions import SharedStore
from .workloads import Workload

DAY = 3600.0                 # simulated seconds that stand for one day
COMPRESSION = 24             # hours of the day per simulated hour
SERVICE_TIME = 0.04          # s of work per request on one core (exponential)
MEAN_RATE = 15.0             # requests/s, averaged over the day
AMPLITUDE = 0.6              # the daily cycle: quietest at midnight, busiest at noon
NORMAL_PEAK = MEAN_RATE * (1 + AMPLITUDE)
REQUESTS_PER_USER = 6        # a login, then five pages
THINK_TIME = 5.0             # s between a user's pages (exponential)
FORECAST_SPIKE_AT = 2100.0   # 14:00 on the compressed clock
SPIKE_UNCERTAINTY = 300.0    # ± 2 hours of the day
FORECAST_SPIKE_FACTOR = 4.0  # the spike's top is this many times the normal peak
SPIKE_RISE, SPIKE_HOLD, SPIKE_FALL = 60.0, 240.0, 120.0  # real seconds
FAMILIES = ("forecast", "early spike", "crash", "zone", "store", "slow", "storm")
RETRY_WINDOW = 10.0          # s over which the clients of an outage all come back
RETRY_COPIES = 2             # each failed request returns as the client's retry and a reload

__all__ = [
    "AMPLITUDE", "COMPRESSION", "DAY", "FAMILIES", "FORECAST_SPIKE_AT", "FORECAST_SPIKE_FACTOR",
    "MEAN_RATE", "NORMAL_PEAK", "PRACTICE", "REQUESTS_PER_USER", "SERVICE_TIME",
    "SPIKE_UNCERTAINTY", "Scenario", "clock", "failures_for", "held_out", "request_rate",
    "store_for", "workload",
]


@dataclass(frozen=True)
class Scenario:
    """One launch day: the spike (``spike_at`` s, ``spike_factor`` × the normal peak) and the
    family's incident at ``at`` s: which ``instance`` (an index, taken modulo the design's
    starting instances), for how long (``length`` s), how much slower (``factor``)."""

    family: str
    name: str
    spike_at: float = FORECAST_SPIKE_AT
    spike_factor: float = FORECAST_SPIKE_FACTOR
    at: float | None = None
    length: float | None = None
    instance: int = 0
    factor: float = 1.0
    seed: int = 1

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        _validate.number("spike_at", self.spike_at, minimum=0, maximum=DAY - 600)
        _validate.number("spike_factor", self.spike_factor, minimum=1)
        _validate.seed(self.seed)

    @property
    def spike_end(self) -> float:
        return self.spike_at + SPIKE_RISE + SPIKE_HOLD + SPIKE_FALL

    def describe(self) -> str:
        """One line: what happens, on the compressed clock."""
        spike = f"spike ×{self.spike_factor:.3g} at {clock(self.spike_at)}"
        if self.at is None:
            return spike
        when, length = clock(self.at), f"{self.length or 0:.0f} s"
        incident = {
            "crash": lambda: f"instance {self.instance} crashes at {when}",
            "zone": lambda: f"a zone (half the instances) is lost at {when}",
            "store": lambda: f"the session store is down {length} from {when}",
            "slow": lambda: f"instance {self.instance} runs {self.factor:.2g}× slower for "
                            f"{length} from {when}",
            "storm": lambda: f"a {length} outage upstream at {when}, then the retries",
        }[self.family]()
        return f"{spike}; {incident}"


def clock(t: float) -> str:
    """Simulated seconds as the time of day they stand for: ``clock(2100)`` is ``'14:00'``."""
    minutes = int(round(t * COMPRESSION / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# -- traffic ----------------------------------------------------------------------------------

def _spike_shape(t, start):
    """0 before ``start``, rising to 1 over SPIKE_RISE, holding, falling over SPIKE_FALL."""
    x = np.asarray(t, dtype=float) - start
    rise = np.clip(x / SPIKE_RISE, 0, 1)
    fall = np.clip(1 - (x - SPIKE_RISE - SPIKE_HOLD) / SPIKE_FALL, 0, 1)
    return np.minimum(rise, fall) * (x >= 0)


def request_rate(t, spike_at: float | None = FORECAST_SPIKE_AT,
                 spike_factor: float = FORECAST_SPIKE_FACTOR) -> np.ndarray:
    """The forecast in requests/s at ``t`` s: the daily cycle plus the launch spike, whose top
    is ``spike_factor`` × the normal peak (``spike_at=None``: a day without a launch)."""
    t = np.asarray(t, dtype=float)
    daily = MEAN_RATE * (1 - AMPLITUDE * np.cos(2 * np.pi * t / DAY))
    if spike_at is None:
        return daily
    return daily + (spike_factor * NORMAL_PEAK - daily) * _spike_shape(t, spike_at)


@lru_cache(maxsize=32)
def _users(spike_at: float, spike_factor: float, seed: int) -> Workload:
    """Users who log in at the forecast's rate / REQUESTS_PER_USER and browse."""
    rng = np.random.default_rng(seed)
    top = spike_factor * NORMAL_PEAK / REQUESTS_PER_USER
    candidates = np.cumsum(rng.exponential(1 / top, int(top * DAY * 1.2 + 100)))
    candidates = candidates[candidates < DAY]
    keep = rng.random(len(candidates)) * top < \
        request_rate(candidates, spike_at, spike_factor) / REQUESTS_PER_USER
    starts = candidates[keep]
    gaps = rng.exponential(THINK_TIME, (len(starts), REQUESTS_PER_USER - 1))
    times = starts[:, None] + np.concatenate([np.zeros((len(starts), 1)),
                                              np.cumsum(gaps, axis=1)], axis=1)
    users = np.repeat(np.arange(len(starts)), REQUESTS_PER_USER)
    times = times.ravel()
    inside = times < DAY
    order = np.argsort(times[inside], kind="stable")
    return Workload(times[inside][order], DAY, user=users[inside][order], name="launch day")


def workload(scenario: Scenario) -> Workload:
    """The scenario's requests. For a storm, the requests that arrived during the upstream
    outage never reached the service (nothing a design can do about them: they are left out);
    each comes back :data:`RETRY_COPIES` times within :data:`RETRY_WINDOW` s after it."""
    day = _users(scenario.spike_at, scenario.spike_factor, scenario.seed)
    if scenario.family != "storm":
        return day
    start, end = scenario.at, scenario.at + scenario.length
    lost = (day.arrivals >= start) & (day.arrivals < end)
    rng = np.random.default_rng(scenario.seed + 1)
    back = np.repeat(np.flatnonzero(lost), RETRY_COPIES)
    times = np.concatenate([day.arrivals[~lost], end + rng.uniform(0, RETRY_WINDOW, len(back))])
    users = np.concatenate([day.user[~lost], day.user[back]])
    order = np.argsort(times, kind="stable")
    return Workload(times[order], DAY, user=users[order], name="launch day, retry storm")


# -- incidents --------------------------------------------------------------------------------

def failures_for(scenario: Scenario, instances: int) -> list:
    """The scenario's failures for a cluster that starts with ``instances`` instances."""
    if scenario.family == "crash":
        return [Crash(instance=scenario.instance % instances, at=scenario.at)]
    if scenario.family == "zone":  # the even-numbered half: 0, 2, 4, … (all of one instance)
        return [Crash(instance=j, at=scenario.at) for j in range(0, instances, 2)]
    if scenario.family == "slow":
        return [Slowdown(instance=scenario.instance % instances, at=scenario.at,
                         until=scenario.at + scenario.length, factor=scenario.factor)]
    return []


def store_for(scenario: Scenario, store):
    """The design's session store as this scenario runs it: for the ``store`` family, a copy
    whose primary is down for the outage. A store without ``outages`` (sessions in process
    memory, your own kind) has no shared store to lose and is used as it is."""
    if scenario.family != "store" or not isinstance(store, SharedStore):
        return store
    outage = copy.copy(store)
    outage.outages = [(scenario.at, scenario.at + scenario.length)]
    return outage


# -- the sets ---------------------------------------------------------------------------------

PRACTICE = (
    Scenario("forecast", "the forecast as given", seed=1),
    Scenario("early spike", "the spike early and larger", spike_at=1500.0, spike_factor=6.0,
             seed=2),
    Scenario("crash", "one instance crashes at the day's peak", at=1800.0, instance=0, seed=3),
    Scenario("zone", "a zone is lost", at=1200.0, seed=4),
    Scenario("store", "the session store is down for a minute", at=1000.0, length=60.0, seed=5),
    Scenario("slow", "one instance turns slow", at=900.0, length=600.0, instance=1, factor=5.0,
             seed=6),
    Scenario("storm", "a retry storm after a brief outage", at=2800.0, length=15.0, seed=7),
)


def held_out(seed: int) -> tuple[Scenario, ...]:
    """A fresh set of the seven families, drawn from ``seed``: the spike's time (anywhere the
    forecast allows; earlier for the early spike) and size, which instance fails and when
    (never during the spike: one thing at a time), how long the outages last."""
    rng = np.random.default_rng(_validate.seed(seed))

    def spike():
        return float(rng.uniform(FORECAST_SPIKE_AT - SPIKE_UNCERTAINTY,
                                 FORECAST_SPIKE_AT + SPIKE_UNCERTAINTY))

    def day(**extra):
        return {"spike_at": spike(), "spike_factor": float(rng.uniform(3, 5)),
                "seed": int(rng.integers(1_000, 1_000_000)), **extra}

    def quiet_time(spike_at):  # busy hours, clear of the spike
        while True:
            t = float(rng.uniform(600, DAY - 700))
            if not spike_at - 180 <= t <= spike_at + SPIKE_RISE + SPIKE_HOLD + SPIKE_FALL + 120:
                return t

    sets = [Scenario("forecast", "the forecast, another day", **day())]
    early = day()
    early.update(spike_at=float(rng.uniform(1200, FORECAST_SPIKE_AT - 2 * SPIKE_UNCERTAINTY)),
                 spike_factor=float(rng.uniform(5, 7)))
    sets.append(Scenario("early spike", "the spike early and larger", **early))
    for family, name in (("crash", "one instance crashes"), ("zone", "a zone is lost"),
                         ("store", "the session store is down"), ("slow", "one instance is slow"),
                         ("storm", "a retry storm")):
        params = day()
        params["at"] = quiet_time(params["spike_at"])
        params["instance"] = int(rng.integers(0, 8))
        if family == "store":
            params["length"] = float(rng.uniform(30, 120))
        elif family == "slow":
            params.update(length=float(rng.uniform(300, 900)), factor=float(rng.uniform(3, 8)))
        elif family == "storm":
            params["length"] = float(rng.uniform(5, 20))
        sets.append(Scenario(family, name, **params))
    return tuple(sets)

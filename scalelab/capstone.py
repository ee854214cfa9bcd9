"""Launch day: a design, the practice scenarios it is tried on, and held-out grading.

A :class:`Design` is every decision of the course in one object. :func:`evaluate` runs it on
the practice scenarios and returns a :class:`Report`: one scorecard per scenario (SLO met or
not, error budget spent, lost sessions, cost per day, a verdict naming the mechanism behind a
failure and the lesson that covers it) and a golden-signals dashboard. :func:`grade` does the
same on scenarios a learner has not seen (:func:`held_out`, drawn from an instructor's seed).

The brief (see :mod:`scalelab.capstone_scenarios` for the traffic): 99.5 % of the day's requests
answered within 300 ms — a request that fails, answers late, or lands where the user's session
is not counts against the error budget of 0.5 % — for at most ``BUDGET_PER_DAY`` dollars a day at
lesson 01's prices. Times in seconds, money in dollars.

>>> import scalelab as sl
>>> design = sl.capstone.Design(size=2, min_instances=4, max_instances=8)
>>> design.size
2
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

from . import _validate
from . import capstone_scenarios as cs
from .balancers import RoundRobin
from .failures import HealthCheck
from .result import Status
from .scenarios.lesson01 import PRICE_LIST, price_per_hour
from .sessions import InMemory, ReplicatedStore, SessionStore, SharedStore
from .sim import Instance, simulate

SLO_LATENCY = 0.3        # s
SLO_TARGET = 0.995       # fraction of requests answered within SLO_LATENCY
BUDGET_PER_DAY = 40.0    # dollars
STORE_SIZE = 1           # a session store runs on machines of this size from the price list
MAX_INSTANCES = 40
held_out = cs.held_out
workload = cs.workload
PRACTICE = cs.PRACTICE

__all__ = ["BUDGET_PER_DAY", "Design", "Moment", "PRACTICE", "Report", "SLO_LATENCY",
           "SLO_TARGET", "Scorecard", "brief", "evaluate", "grade", "held_out", "run", "workload"]


@dataclass(frozen=True)
class Design:
    """Your launch-day service: machines of ``size`` cores (lesson 01's price list), between
    ``min_instances`` and ``max_instances`` of them (it starts with ``min_instances``; without
    an ``autoscaler`` it keeps them), a ``balancer``, a ``health_check`` (or None), ``retries``
    and a client ``timeout`` (s, or None), where ``sessions`` live, and an ``autoscaler`` (or
    None). Any policy of the course or your own class."""

    size: int = 2
    min_instances: int = 2
    max_instances: int = 2
    balancer: object = field(default_factory=RoundRobin)
    health_check: HealthCheck | None = None
    retries: int = 0
    timeout: float | None = None
    sessions: SessionStore = field(default_factory=InMemory)
    autoscaler: object = None

    def __post_init__(self):
        sizes = [row["size"] for row in PRICE_LIST]
        if isinstance(self.size, bool) or self.size not in sizes:
            raise ValueError(f"size must be a size on lesson 01's price list "
                             f"({', '.join(map(str, sizes))}), got {self.size!r}")
        _validate.integer("min_instances", self.min_instances, minimum=1)
        _validate.integer("max_instances", self.max_instances, minimum=self.min_instances)
        if self.max_instances > MAX_INSTANCES:
            raise ValueError(f"max_instances must be ≤ {MAX_INSTANCES} (the account's limit), "
                             f"got {self.max_instances}")
        if not callable(getattr(self.balancer, "pick", None)):
            raise TypeError("balancer must be a balancer (an object with pick(instances, "
                            f"request)), e.g. sl.balancers.LeastConnections(); got "
                            f"{self.balancer!r}")
        if self.health_check is not None and not isinstance(self.health_check, HealthCheck):
            raise TypeError("health_check must be sl.HealthCheck(…) or None, got "
                            f"{self.health_check!r}")
        _validate.integer("retries", self.retries, minimum=0)
        if self.timeout is not None:
            _validate.positive("timeout", self.timeout)
        if not isinstance(self.sessions, SessionStore):
            raise TypeError("sessions must be sl.sessions.InMemory(), SharedStore(…), "
                            f"ReplicatedStore(…) or your own SessionStore; got {self.sessions!r}")
        if self.autoscaler is not None and not callable(getattr(self.autoscaler, "desired",
                                                                None)):
            raise TypeError("autoscaler must be an autoscaler (an object with "
                            f"desired(observation)) or None, got {self.autoscaler!r}")

    def store_machines(self) -> int:
        """Machines the session store runs on: none in process memory, one for a shared
        store, two (primary and replica) for a replicated one."""
        if isinstance(self.sessions, ReplicatedStore):
            return 2
        return 1 if isinstance(self.sessions, SharedStore) else 0


def brief() -> dict:
    """The launch brief's numbers, as the lesson prints them."""
    return {
        "day": f"{cs.DAY / 60:g} simulated minutes stand for 24 hours (traffic shape "
               f"compressed {cs.COMPRESSION}×; boots, checks and outages in real seconds)",
        "mean rate (requests/s)": cs.MEAN_RATE,
        "normal peak (requests/s, at 12:00)": cs.NORMAL_PEAK,
        "launch spike": f"about {cs.FORECAST_SPIKE_FACTOR:g}× the normal peak around "
                        f"{cs.clock(cs.FORECAST_SPIKE_AT)} (± 2 hours), ~7 real minutes",
        "users": f"log in, then {cs.REQUESTS_PER_USER - 1} pages, {cs.THINK_TIME:g} s apart",
        "work per request (s on one core)": cs.SERVICE_TIME,
        "SLO": f"{SLO_TARGET:.1%} of requests answered within {SLO_LATENCY * 1000:g} ms",
        "budget ($/day)": BUDGET_PER_DAY,
    }


# -- one scenario -----------------------------------------------------------------------------

def run(design: Design, scenario: cs.Scenario):
    """Simulate ``design`` through ``scenario``; returns the simulator's ``Result``."""
    if not isinstance(design, Design):
        raise TypeError(f"design must be sl.capstone.Design(…), got {design!r}")
    scaling = {} if design.autoscaler is None else {
        "autoscaler": design.autoscaler, "min_instances": design.min_instances,
        "max_instances": design.max_instances}
    return simulate(cs.workload(scenario), instances=[Instance(slots=design.size)] *
                    design.min_instances, service_time=cs.SERVICE_TIME,
                    balancer=design.balancer, seed=scenario.seed,
                    health_check=design.health_check,
                    failures=cs.failures_for(scenario, design.min_instances),
                    retries=design.retries, timeout=design.timeout,
                    sessions=cs.store_for(scenario, design.sessions), **scaling)


def bad_requests(result) -> np.ndarray:
    """Which requests count against the error budget: failed, later than the SLO, or landed
    where the user's session was not (a forced re-login)."""
    r = result.requests
    late = (r["end"] - r["arrival"]) > SLO_LATENCY
    return (r["status"] != Status.OK) | late | r["lost_session"]


def cost_per_day(design: Design, result) -> float:
    """Dollars for the day: the run's instance-hours × the compression × the size's price,
    plus the session store's machines for 24 hours."""
    hours = result.instance_seconds / 3600 * cs.COMPRESSION
    return hours * price_per_hour(design.size) + \
        24 * design.store_machines() * price_per_hour(STORE_SIZE)


@dataclass
class Scorecard:
    """How one design did on one scenario."""

    scenario: cs.Scenario
    requests: int
    bad: int
    lost_sessions: int
    cost: float
    mechanisms: list
    result: object = field(repr=False, default=None)

    @property
    def budget_spent(self) -> float:
        """Fraction of the error budget used (1.0 = all of it)."""
        return self.bad / ((1 - SLO_TARGET) * self.requests)

    @property
    def slo_met(self) -> bool:
        return self.budget_spent <= 1.0

    @property
    def in_budget(self) -> bool:
        return self.cost <= BUDGET_PER_DAY

    @property
    def passed(self) -> bool:
        return self.slo_met and self.in_budget

    @property
    def verdict(self) -> str:
        if self.passed:
            return f"survived: {self.budget_spent:.0%} of the error budget spent"
        return "; ".join(text for text, _ in self.mechanisms) or "failed"


def score(design: Design, scenario: cs.Scenario) -> Scorecard:
    """Run ``scenario`` and judge it."""
    from .capstone_feedback import mechanisms

    result = run(design, scenario)
    bad = bad_requests(result)
    card = Scorecard(scenario, len(bad), int(bad.sum()),
                     int(result.requests["lost_session"].sum()),
                     cost_per_day(design, result), [], result)
    if not card.passed:
        card.mechanisms = mechanisms(design, scenario, result, bad, card)
    return card


@dataclass
class Moment:
    """The ``start``–``end`` s of one scenario's run in which the most requests counted
    against the error budget: ``bad`` of the ``requests`` that arrived then. Replay it with
    ``sl.widgets.flow(moment.result, start=moment.start, end=moment.end)``."""

    scenario: str
    start: float
    end: float
    bad: int
    requests: int
    result: object = field(repr=False)

    def __str__(self) -> str:
        return (f"{self.scenario}: from {self.start:g} s to {self.end:g} s (about "
                f"{cs.clock(self.start)} on the day), {self.bad:,} of {self.requests:,} requests "
                f"count against the error budget")


def worst_moment(card: Scorecard, length: float = 10.0) -> Moment:
    """The ``length`` s, starting on a whole second, of ``card``'s run that hold the most
    requests (by arrival) counted against the error budget; the earliest such window."""
    length = _validate.positive("length", length)
    arrivals, counted = card.result.requests["arrival"], bad_requests(card.result)
    bad = np.sort(arrivals[counted])
    if len(bad) == 0:  # nothing went wrong: the slowest request's moment
        bad = arrivals[[np.argmax(card.result.requests["end"] - arrivals)]]
    starts = np.unique(np.floor(bad))
    counts = np.searchsorted(bad, starts + length) - np.searchsorted(bad, starts)
    start = float(starts[np.argmax(counts)])
    inside = (arrivals >= start) & (arrivals < start + length)
    return Moment(card.scenario.name, start, start + length,
                  int((inside & counted).sum()), int(inside.sum()),
                  card.result)


# -- a set of scenarios -----------------------------------------------------------------------

class Report:
    """Scorecards of one design over a set of scenarios; shows as a table in a notebook."""

    def __init__(self, design: Design, cards: list[Scorecard], title: str):
        self.design, self.cards, self.title = design, cards, title

    @property
    def passed(self) -> bool:
        return all(card.passed for card in self.cards)

    @property
    def worst(self) -> Scorecard:
        return max(self.cards, key=lambda c: c.budget_spent)

    def summary(self) -> dict:
        """For the class view: scenarios passed, the worst error budget spent, the highest
        cost per day."""
        return {"passed": sum(c.passed for c in self.cards), "scenarios": len(self.cards),
                "worst_budget_spent": round(self.worst.budget_spent, 4),
                "cost_per_day": round(max(c.cost for c in self.cards), 2)}

    def rows(self) -> list[dict]:
        return [{"scenario": c.scenario.name, "what happens": c.scenario.describe(),
                 "SLO met": "yes" if c.slo_met else "no",
                 "error budget spent": f"{c.budget_spent:.0%}",
                 "lost sessions": c.lost_sessions, "cost ($/day)": f"{c.cost:.2f}",
                 "verdict": c.verdict} for c in self.cards]

    def feedback(self) -> str:
        """The failed scenarios, one line each, with the mechanism and the lesson."""
        lines = [f"- {c.scenario.name}: {c.verdict}" for c in self.cards if not c.passed]
        return "\n".join(lines)

    def dashboard(self, scenario: int | str | None = None):
        """The golden signals over the day for one scenario (default: the worst)."""
        from .plots import lesson07

        card = self._card(scenario)
        return lesson07.golden_signals(card.result, bad_requests(card.result),
                                       card.scenario.name, card.verdict)

    def worst_moment(self, scenario: int | str | None = None, length: float = 10.0) -> Moment:
        """The ``length`` s of one scenario's run (default: the worst scenario) in which the
        most requests counted against the error budget, ready for ``sl.widgets.flow``."""
        return worst_moment(self._card(scenario), length)

    def _card(self, scenario) -> Scorecard:
        if scenario is None:
            return self.worst
        for k, card in enumerate(self.cards):
            if scenario in (k, card.scenario.name, card.scenario.family):
                return card
        names = ", ".join(repr(c.scenario.family) for c in self.cards)
        raise ValueError(f"scenario must be an index 0..{len(self.cards) - 1} or one of "
                         f"{names}, got {scenario!r}")

    def __str__(self) -> str:
        head = f"{self.title}: {sum(c.passed for c in self.cards)}/{len(self.cards)} passed"
        return "\n".join([head] + [f"  {'✓' if c.passed else '✗'} {r['scenario']}: SLO met "
                                   f"{r['SLO met']}, budget spent {r['error budget spent']}, "
                                   f"lost sessions {r['lost sessions']}, ${r['cost ($/day)']}"
                                   f"/day — {r['verdict']}"
                                   for c, r in zip(self.cards, self.rows())])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = self.rows()
        head = "".join(f"<th style='text-align:left'>{html.escape(k)}</th>" for k in rows[0])
        body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(v))}"
                                        "</td>" for v in row.values()) + "</tr>" for row in rows)
        passed = sum(c.passed for c in self.cards)
        return (f"<table><caption>{html.escape(self.title)}: {passed} of {len(self.cards)} "
                f"scenarios passed</caption><tr>{head}</tr>{body}</table>")


def evaluate(design: Design, scenarios=None) -> Report:
    """Run ``design`` on the practice scenarios (or ``scenarios``) and return the report."""
    scenarios = PRACTICE if scenarios is None else tuple(scenarios)
    return Report(design, [score(design, s) for s in scenarios],
                  "Practice" if scenarios == PRACTICE else "Scenarios")


def grade(design: Design, seed: int) -> Report:
    """The graded run: ``design`` on :func:`held_out` scenarios drawn from ``seed``."""
    seed = _validate.seed(seed)
    report = evaluate(design, held_out(seed))
    report.title = "Held-out scenarios"
    return report

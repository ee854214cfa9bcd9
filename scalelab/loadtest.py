"""Load testing: drive a system with a shaped load, find where it breaks, and say why.

A :class:`Shape` is a sequence of stages, each holding or ramping the arrival rate
(requests per second) for some seconds — the shapes Locust and k6 users know: :func:`ramp`,
:func:`steps`, :func:`stages`, :func:`spike`, :func:`soak`. :func:`run` sends it to a target
— the simulator (:class:`Simulated`) or the real lab (``sl.lab.Lab``) — open loop by default
(requests leave on schedule; latency counts from the intended send time) or closed loop
(``users`` who each wait for the answer and think before the next request; latency counts
from the actual send, which hides stalls: coordinated omission). The :class:`Report` gives
per stage: offered rate, achieved throughput, p50/p95/p99, error rate and instances, and the
breaking point by a stated :class:`Criterion`.

>>> import scalelab as sl
>>> shape = sl.loadtest.steps([0.5, 1.0, 1.5], step_duration=300)
>>> report = sl.loadtest.run(shape, sl.loadtest.Simulated(instances=1, service_time=1.0))
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from . import _limits, _validate, workloads
from .result import Result, Status
from .sim import simulate, simulate_closed
from .workloads import Workload

# -- shapes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """``duration`` seconds during which the rate goes linearly from ``start_rate`` to
    ``end_rate`` (equal for a hold)."""

    duration: float
    start_rate: float
    end_rate: float

    @property
    def mean_rate(self) -> float:
        return (self.start_rate + self.end_rate) / 2


@dataclass(frozen=True)
class Shape:
    """A load profile: ``stages`` run one after the other."""

    stages: tuple[Stage, ...]
    name: str = "custom"

    @property
    def duration(self) -> float:
        return float(sum(stage.duration for stage in self.stages))

    @property
    def edges(self) -> np.ndarray:
        """Stage boundaries in seconds, from 0 to ``duration``."""
        return np.concatenate([[0.0], np.cumsum([stage.duration for stage in self.stages])])

    def rate_at(self, t) -> np.ndarray:
        """The offered rate (requests per second) at times ``t``."""
        t = np.asarray(t, dtype=float)
        edges = self.edges
        k = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(self.stages) - 1)
        start = np.array([s.start_rate for s in self.stages])[k]
        end = np.array([s.end_rate for s in self.stages])[k]
        length = np.array([s.duration for s in self.stages])[k]
        return start + (end - start) * (t - edges[k]) / length

    def workload(self, seed: int = 0) -> Workload:
        """Poisson arrivals following the shape (what an open-loop generator sends)."""
        peak = max(max(s.start_rate, s.end_rate) for s in self.stages)
        _limits.requests("the shape's peak rate × duration", peak * self.duration)
        times = workloads._thinned(self.rate_at, peak, self.duration, seed)
        return Workload(times, self.duration, name=self.name)


def _stage(k: int, duration, start_rate, end_rate, name: str = "stages") -> Stage:
    """Stage ``k``, its errors naming it as ``name[k]`` (the parameter it came from)."""
    return Stage(_validate.positive(f"{name}[{k}] duration", duration),
                 _validate.number(f"{name}[{k}] rate", start_rate, minimum=0),
                 _validate.number(f"{name}[{k}] rate", end_rate, minimum=0))


def _stages(name: str, count: int) -> int:
    return _limits.count(name, count, _limits.MAX_STAGES, "one report row each")


def _window(name: str, duration: float, windows: int) -> float:
    """``duration / windows``, which must not round to 0 s."""
    if not duration / windows > 0:
        raise ValueError(f"{name} must be long enough to split into {windows} windows, "
                         f"got {duration:g} s")
    return duration / windows


def _shape(stages: list[Stage], name: str) -> Shape:
    if max(max(s.start_rate, s.end_rate) for s in stages) <= 0:
        raise ValueError("a load shape needs some rate > 0, got only zeros")
    return Shape(tuple(stages), name)


def ramp(start_rate: float, end_rate: float, duration: float, windows: int = 10) -> Shape:
    """The rate grows linearly from ``start_rate`` to ``end_rate`` over ``duration`` seconds;
    the report splits it into ``windows`` equal stages."""
    windows = _stages("windows", _validate.integer("windows", windows, minimum=1))
    duration = _validate.positive("duration", duration)
    rates = np.linspace(_validate.number("start_rate", start_rate, minimum=0),
                        _validate.number("end_rate", end_rate, minimum=0), windows + 1)
    width = _window("duration", duration, windows)
    return _shape([Stage(width, rates[k], rates[k + 1]) for k in range(windows)],
                  f"ramp {start_rate:g}→{end_rate:g}/s")


def steps(rates, step_duration: float) -> Shape:
    """Hold each rate in ``rates`` for ``step_duration`` seconds (a step or stair test)."""
    step_duration = _validate.positive("step_duration", step_duration)
    rates = _validate.sequence("rates", rates)
    if not rates:
        raise ValueError("rates must hold at least one rate, got an empty list")
    _stages("len(rates)", len(rates))
    rates = [_validate.number(f"rates[{k}]", r, minimum=0) for k, r in enumerate(rates)]
    return _shape([Stage(step_duration, r, r) for r in rates],
                  f"steps {len(rates)}×{step_duration:g} s")


def stages(targets, start_rate: float = 0.0) -> Shape:
    """k6-style stages: a list of (duration s, target rate); each stage moves linearly from
    the previous target (``start_rate`` at first) to its own."""
    built, previous = [], _validate.number("start_rate", start_rate, minimum=0)
    for k, target in enumerate(_validate.sequence("targets", targets,
                                                  "(duration, target_rate) pairs")):
        try:
            duration, rate = target
        except (TypeError, ValueError):
            raise TypeError(f"targets[{k}] must be (duration, target_rate), got {target!r}") \
                from None
        built.append(_stage(k, duration, previous, rate, name="targets"))
        previous = rate
        _stages("len(targets)", len(built))
    if not built:
        raise ValueError("targets must hold at least one (duration, rate) stage")
    return _shape(built, f"{len(built)} stages")


def spike(base_rate: float, peak_rate: float, before: float, length: float,
          after: float) -> Shape:
    """``base_rate`` for ``before`` s, ``peak_rate`` for ``length`` s, ``base_rate`` for
    ``after`` s."""
    base_rate = _validate.number("base_rate", base_rate, minimum=0)
    peak_rate = _validate.number("peak_rate", peak_rate, minimum=0)
    before, length, after = (_validate.positive(name, value) for name, value in
                             (("before", before), ("length", length), ("after", after)))
    return _shape([Stage(before, base_rate, base_rate), Stage(length, peak_rate, peak_rate),
                   Stage(after, base_rate, base_rate)], f"spike {base_rate:g}→{peak_rate:g}/s")


def soak(rate: float, duration: float, windows: int = 10) -> Shape:
    """A long hold at ``rate``, to catch what only shows with time; ``windows`` report stages."""
    windows = _stages("windows", _validate.integer("windows", windows, minimum=1))
    duration = _validate.positive("duration", duration)
    rate = _validate.number("rate", rate, minimum=0)
    width = _window("duration", duration, windows)
    return _shape([Stage(width, rate, rate) for _ in range(windows)],
                  f"soak {rate:g}/s")


# -- targets --------------------------------------------------------------------------------

class Simulated:
    """The simulator as a load-test target: every argument of ``sl.simulate`` but the workload."""

    def __init__(self, **cluster):
        self.cluster = cluster
        simulate_closed(users=1, duration=1e-9, **cluster)  # checks the arguments now

    def open_loop(self, workload: Workload, seed: int) -> Result:
        return simulate(workload, **{"seed": seed, **self.cluster})

    def closed_loop(self, users: int, think_time: float, duration: float, seed: int) -> Result:
        return simulate_closed(users, duration, think_time, **{"seed": seed, **self.cluster})

    def __repr__(self) -> str:
        return f"Simulated({', '.join(f'{k}={v!r}' for k, v in self.cluster.items())})"


class LabTarget:
    """A running ``sl.lab.Lab`` as a load-test target: the shape's requests go through the real
    proxy to ``path``. ``run`` wraps a lab in one of these by itself (path ``/work?ms=20``)."""

    def __init__(self, lab, path: str = "/work?ms=20"):
        if not callable(getattr(lab, "load", None)):
            raise TypeError(f"lab must be a running sl.lab.Lab, got {lab!r}")
        self.lab, self.path = lab, path

    def open_loop(self, workload: Workload, seed: int) -> Result:
        return self.lab.load(workload, path=self.path)

    def closed_loop(self, users: int, think_time: float, duration: float, seed: int) -> Result:
        return self.lab.load(mode="closed", users=users, think=think_time, duration=duration,
                             path=self.path)

    def __repr__(self) -> str:
        return f"LabTarget({self.lab!r}, path={self.path!r})"


# -- breaking-point criteria ----------------------------------------------------------------

PERCENTILES = ("p50", "p95", "p99")


class Criterion:
    """When a stage counts as broken. ``broken(row)`` reads one report row."""

    def broken(self, row: dict) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class ThroughputBelow(Criterion):
    """Broken when achieved throughput < ``fraction`` × offered rate (the system falls behind)."""

    fraction: float = 0.95

    def __post_init__(self):
        fraction = _validate.number("fraction", self.fraction, above=0, maximum=1)
        object.__setattr__(self, "fraction", fraction)

    def broken(self, row):
        return row["throughput"] < self.fraction * row["offered"]

    def __str__(self):
        return f"achieved throughput < {self.fraction:.0%} of offered"


@dataclass(frozen=True)
class LatencyAbove(Criterion):
    """Broken when the stage's p95 latency exceeds ``slo`` seconds."""

    slo: float
    percentile: str = "p95"

    def __post_init__(self):
        object.__setattr__(self, "slo", _validate.positive("slo", self.slo))
        if self.percentile not in PERCENTILES:
            raise ValueError(f"percentile must be one of {', '.join(map(repr, PERCENTILES))} "
                             f"(the report's columns), got {self.percentile!r}")

    def broken(self, row):
        return not row[self.percentile] <= self.slo

    def __str__(self):
        return f"{self.percentile} > {self.slo * 1000:g} ms"


@dataclass(frozen=True)
class ErrorsAbove(Criterion):
    """Broken when more than ``rate`` of the stage's requests fail."""

    rate: float = 0.01

    def __post_init__(self):
        rate = _validate.number("rate", self.rate, minimum=0)
        if rate >= 1:
            raise ValueError(f"rate must be a fraction of the requests, 0 ≤ rate < 1 (no stage "
                             f"can have more than all of them fail), got {rate:g}")
        object.__setattr__(self, "rate", rate)

    def broken(self, row):
        return row["error_rate"] > self.rate

    def __str__(self):
        return f"errors > {self.rate:.0%}"


# -- running and reporting -------------------------------------------------------------------

def run(shape: Shape, target, mode: str = "open", users: int | None = None,
        think_time: float = 0.0, criterion: Criterion | None = None, seed: int = 0) -> Report:
    """Send ``shape`` to ``target`` and report each stage (see the module docstring).

    In ``mode="closed"``, ``users`` users each loop request → answer → ``think_time`` for the
    shape's duration; the shape's rates are then only the yardstick the report compares with.
    """
    if not isinstance(shape, Shape):
        raise TypeError(f"shape must be a load shape such as sl.loadtest.ramp(…), got {shape!r}")
    if not callable(getattr(target, "open_loop", None)):
        if not callable(getattr(target, "load", None)):
            raise TypeError(f"target must be sl.loadtest.Simulated(…) or a running "
                            f"sl.lab.Lab, got {target!r}")
        target = LabTarget(target)  # a real lab: same shapes, same report
    criterion = ThroughputBelow() if criterion is None else criterion
    if not isinstance(criterion, Criterion):
        raise TypeError(f"criterion must be ThroughputBelow, LatencyAbove or ErrorsAbove, "
                        f"got {criterion!r}")
    if mode == "open":
        result = target.open_loop(shape.workload(seed), seed)
    elif mode == "closed":
        users = _validate.integer("users", users, minimum=1) if users is not None else None
        if users is None:
            raise TypeError("users is required in closed mode: how many virtual users loop")
        _limits.count("users", users, _limits.MAX_USERS, "each is set up before the run")
        think_time = _validate.number("think_time", think_time, minimum=0)
        result = target.closed_loop(users, think_time, shape.duration, seed)
    else:
        raise ValueError(f"mode must be 'open' or 'closed', got {mode!r}")
    return Report(shape, result, criterion, mode)


class Report:
    """Per-stage rows and the breaking point by ``criterion``. ``rows`` is a list of dicts."""

    def __init__(self, shape: Shape, result: Result, criterion: Criterion, mode: str):
        self.shape, self.result, self.criterion, self.mode = shape, result, criterion, mode
        self.rows = [self._row(k, stage) for k, stage in enumerate(shape.stages)]

    def _row(self, k: int, stage: Stage) -> dict:
        start, end = self.shape.edges[k], self.shape.edges[k + 1]
        requests = self.result.requests
        inside = (requests["arrival"] >= start) & (requests["arrival"] < end)
        sent = requests[inside]
        ok = sent[sent["status"] == Status.OK]
        latency = ok["end"] - ok["arrival"]
        done = requests[requests["status"] == Status.OK]["end"]
        answered = np.count_nonzero((done >= start) & (done < end))
        p50, p95, p99 = np.percentile(latency, [50, 95, 99]) if len(latency) else [np.nan] * 3
        ready = self.result._ready_seconds(np.array([start, end]))[0]
        return {
            "stage": k, "start": float(start), "end": float(end),
            "offered": stage.mean_rate, "sent": len(sent) / (end - start),
            "throughput": answered / (end - start),
            "p50": float(p50), "p95": float(p95), "p99": float(p99),
            "error_rate": float(1 - len(ok) / len(sent)) if len(sent) else 0.0,
            "instances": ready / (end - start),
        }

    @property
    def breaking_point(self) -> float | None:
        """Offered rate of the first stage the criterion calls broken, or None."""
        broken = self.broken_stage
        return None if broken is None else self.rows[broken]["offered"]

    @property
    def broken_stage(self) -> int | None:
        return next((row["stage"] for row in self.rows if self.criterion.broken(row)), None)

    def verdict(self) -> str:
        point = self.breaking_point
        if point is None:
            top = max(row["offered"] for row in self.rows)  # a spike's last stage is not its top
            return f"No breaking point up to {top:g} requests/s ({self.criterion})."
        return f"Breaking point: {point:g} requests/s offered ({self.criterion})."

    _COLUMNS = (("offered", "offered /s", "{:.3g}"), ("sent", "sent /s", "{:.3g}"),
                ("throughput", "achieved /s", "{:.3g}"), ("p50", "p50 ms", "{:.0f}"),
                ("p95", "p95 ms", "{:.0f}"), ("p99", "p99 ms", "{:.0f}"),
                ("error_rate", "errors", "{:.1%}"), ("instances", "instances", "{:.1f}"))

    def _cells(self, row: dict) -> list[str]:
        scale = {"p50": 1000, "p95": 1000, "p99": 1000}
        return [fmt.format(row[key] * scale.get(key, 1)) for key, _, fmt in self._COLUMNS]

    def __str__(self) -> str:
        header = " | ".join(title for _, title, _ in self._COLUMNS)
        lines = [f"{self.mode}-loop load test, {self.shape.name}", header]
        lines += [" | ".join(self._cells(row)) for row in self.rows]
        return "\n".join(lines + [self.verdict()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        broken = self.broken_stage
        head = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in self._COLUMNS)
        bold = ' style="font-weight:bold"'
        body = "".join(
            f"<tr{bold if row['stage'] == broken else ''}>"
            + "".join(f"<td>{cell}</td>" for cell in self._cells(row)) + "</tr>"
            for row in self.rows)
        return (f"<table><caption>{html.escape(self.mode)}-loop load test, "
                f"{html.escape(self.shape.name)}</caption><tr>{head}</tr>{body}</table>"
                f"<p>{html.escape(self.verdict())}</p>")

"""Autoscaling policies: how many instances the cluster should run now.

A policy is an object with one method, ``desired(observation) -> int``, that the simulator
calls every control interval. The :class:`Observation` is a read-only snapshot: the time,
how many instances are ready and how many are still booting, their average utilization over
the last interval (0–1), the request rate (per second), the p95 latency (seconds) and the
number of requests waiting or in service. The simulator keeps the answer within
``[min_instances, max_instances]``.

>>> import scalelab as sl
>>> class AddOneWhenBusy(sl.autoscalers.Autoscaler):
...     def desired(self, observation):
...         busy = observation.utilization > 0.7
...         return observation.ready + observation.warming + (1 if busy else 0)

Built-in policies, each following a real system (the AWS EC2 Auto Scaling user guide;
Kubernetes' ``pkg/controller/podautoscaler/replica_calculator.go``):

- :class:`Threshold`: "if average CPU exceeds 70 % for 5 min, add one" — AWS simple scaling,
  with a cooldown after each action;
- :class:`StepScaling`: AWS step scaling — bigger breaches add more, percentages rounded as
  AWS rounds them (:func:`round_percent_change`), paced by instance warm-up, not a cooldown;
- :class:`TargetTracking`: AWS target tracking — ``ceil(current × metric / target)``, quick
  out, slow and conservative in;
- :class:`HPA`: the Kubernetes Horizontal Pod Autoscaler — its replica formula, tolerance,
  scale-down stabilization window and scale-up rate limits.

Every built-in returns a whole number within the observation's ``[min_instances,
max_instances]``, keeps its run state (timers, windows) in ``reset()``, and treats a missing
metric (``utilization`` NaN) as "no data": it holds the current count. Times in seconds,
utilization as a fraction 0–1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _validate

_EPS = 1e-9  # slack when comparing times and ratios built from floats


@dataclass(frozen=True)
class Observation:
    """What an autoscaler sees at ``time`` (s). Metrics cover the last control interval;
    ``utilization`` and ``p95`` are NaN when there is nothing to measure."""

    time: float
    ready: int
    warming: int
    utilization: float
    request_rate: float
    queue_length: int
    min_instances: int
    max_instances: int
    interval: float
    latencies: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def current(self) -> int:
        """Instances running or booting: what ``desired`` is compared with."""
        return self.ready + self.warming

    @property
    def p95(self) -> float:
        """95th-percentile latency (s) of the requests answered in the last interval."""
        return float(np.percentile(self.latencies, 95)) if len(self.latencies) else math.nan


class Autoscaler:
    """Base class for policies. Override ``desired``; ``reset`` is optional."""

    def desired(self, observation: Observation) -> int:
        """How many instances (ready + booting) there should be after this step."""
        raise NotImplementedError(f"{type(self).__name__} must define desired(observation)")

    def reset(self) -> None:
        """Forget run state; called before every run."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


# -- shared pieces ------------------------------------------------------------------------------


class _Builtin(Autoscaler):
    """The built-ins: constructors only store their settings; ``reset()`` sets up the run
    state, and ``desired`` calls it first if nobody has (a policy used outside the simulator)."""

    _fresh = True

    def reset(self) -> None:
        self._fresh = False

    def _ready_to_run(self) -> None:
        if self._fresh:
            self.reset()


class _Held:
    """For how many seconds a condition has held without a break (−inf while it does not).
    Each observation speaks for the ``interval`` before its time, so the first breaching one
    already counts one interval."""

    def __init__(self):
        self.since: float | None = None

    def update(self, observation: Observation, holds: bool) -> float:
        if not holds:
            self.since = None
            return -math.inf
        if self.since is None:
            self.since = observation.time - observation.interval
        return observation.time - self.since

    def restart(self) -> None:
        self.since = None


def _bounded(observation: Observation, count) -> int:
    return int(max(observation.min_instances, min(observation.max_instances, count)))


def _ceil(x: float) -> int:
    """Ceiling that ignores float dust: 0.7 / 0.5 × 10 is 14, not 15."""
    return math.ceil(x - _EPS)


class _Cooldown:
    """AWS simple-scaling timing: after an action, ignore alarms until the activity completes
    plus ``cooldown`` seconds. A scale-in completes at once; a scale-out when no instance is
    booting any more (the first control step that finds none)."""

    def __init__(self, cooldown: float):
        self.cooldown = cooldown
        self.until = -math.inf
        self.launching = False

    def ready(self, observation: Observation) -> bool:
        if self.launching:
            if observation.warming:
                return False
            self.launching = False
            self.until = observation.time + self.cooldown
        return observation.time >= self.until - _EPS

    def scaled_out(self) -> None:
        self.launching = True

    def scaled_in(self, observation: Observation) -> None:
        self.until = observation.time + self.cooldown


class _Alarms(_Builtin):
    """AWS simple scaling: alarms on utilization held for ``duration`` seconds, and a
    ``cooldown`` after each action."""

    duration: float
    cooldown: float

    def reset(self) -> None:
        super().reset()
        self._high, self._low = _Held(), _Held()
        self._clock = _Cooldown(self.cooldown)


# -- Threshold (AWS simple scaling) ---------------------------------------------------------------


class Threshold(_Alarms):
    """The classic rule: utilization above ``scale_out_above`` for ``duration`` seconds
    adds ``step`` instances; below ``scale_in_below`` for ``duration`` seconds removes ``step``.

    Reads ``utilization`` (the average over ready instances), ``ready`` and ``warming``.
    After each action it waits ``cooldown`` seconds before acting again, as AWS simple scaling
    does (default cooldown 300 s); after a scale-out the cooldown starts once the new
    instances are ready ("until the activity completes plus the cooldown"). "For ``duration``
    seconds" means every control interval in that span breached: with ``duration=300`` and a
    15 s interval, 20 in a row. A missing metric (NaN) breaks the run. An alarm that still
    holds when the cooldown ends acts again at once, as AWS re-fires an alarm that stays on.

    >>> import scalelab as sl
    >>> rule = sl.autoscalers.Threshold(scale_out_above=0.7, duration=300, cooldown=300)
    >>> wl = sl.workloads.spike(base_rate=20, peak_rate=60, at=600, length=900, duration=1800)
    >>> res = sl.simulate(wl, instances=2, service_time=0.05, autoscaler=rule)
    """

    def __init__(self, scale_out_above: float = 0.7, scale_in_below: float = 0.3,
                 duration: float = 300.0, step: int = 1, cooldown: float = 300.0):
        self.scale_out_above = _validate.number("scale_out_above", scale_out_above, above=0,
                                                maximum=1)
        self.scale_in_below = _validate.number("scale_in_below", scale_in_below, minimum=0,
                                               maximum=1)
        if not self.scale_in_below < self.scale_out_above:
            raise ValueError(f"scale_in_below must be < scale_out_above ({self.scale_out_above:g})"
                             f", got {self.scale_in_below:g}: the rule would add and remove at "
                             "the same utilization")
        self.duration = _validate.number("duration", duration, minimum=0)
        self.step = _validate.integer("step", step, minimum=1)
        self.cooldown = _validate.number("cooldown", cooldown, minimum=0)

    def desired(self, observation: Observation) -> int:
        self._ready_to_run()
        o = observation
        high = self._high.update(o, o.utilization > self.scale_out_above)
        low = self._low.update(o, o.utilization < self.scale_in_below)
        current = o.current
        if not self._clock.ready(o):
            return _bounded(o, current)
        if high >= self.duration - _EPS:
            wanted = _bounded(o, current + self.step)
            if wanted > current:
                self._clock.scaled_out()
                return wanted
        elif low >= self.duration - _EPS:
            wanted = _bounded(o, current - self.step)
            if wanted < current:
                self._clock.scaled_in(o)
                return wanted
        return _bounded(o, current)


# -- StepScaling (AWS step scaling) ---------------------------------------------------------------


def round_percent_change(x: float) -> int:
    """How AWS rounds a percentage change of capacity to whole instances: above 1 down, between
    0 and 1 to 1, between −1 and 0 to −1, below −1 up (towards zero).

    >>> [round_percent_change(x) for x in (12.7, 0.67, -0.58, -6.67)]
    [12, 1, -1, -6]
    """
    if x >= 1:
        return math.floor(x)
    if x > 0:
        return 1
    if x == 0:
        return 0
    if x > -1:
        return -1
    return math.ceil(x)


_ADJUSTMENT_TYPES = ("change", "percent", "exact")


class StepScaling(_Builtin):
    """AWS step scaling: the further utilization is past ``threshold``, the bigger the step.

    ``scale_out`` and ``scale_in`` are lists of ``(lower, upper, adjustment)``: bounds are
    offsets from ``threshold`` (fractions; ``None`` is unbounded), contiguous, without gaps;
    they are kept sorted from the lowest step up.
    Above the threshold a step covers ``[lower, upper)``, below it ``(lower, upper]``.
    ``adjustment_type`` says what ``adjustment`` means: ``"percent"`` of current capacity
    (rounded by :func:`round_percent_change`, at least ``min_adjustment_magnitude``
    instances), ``"change"`` (instances to add or remove) or ``"exact"`` (the new count).
    The defaults are the AWS user guide's example: threshold 50 %, +10 % from 60 %, +30 % from
    70 %, −10 % below 40 %, −30 % below 30 %.

    Reads ``utilization``, ``ready``, ``warming`` and ``time``. An alarm acts once
    utilization has been past the threshold for ``duration`` seconds (default 60: one
    CloudWatch minute), and then again once per ``period`` seconds (the alarm's period)
    while it stays there. Step policies have **no cooldown**; they use the **instance
    warm-up** instead: an instance is warming up while it boots and for ``warmup`` seconds
    after it starts taking traffic (default 300 s, what AWS falls back to when no warm-up is
    set). A warming instance does not count as capacity when scaling out, so repeated
    alarms in the same step add nothing more while new instances warm up, and a bigger breach
    adds only the difference; no scale-in happens while any instance is warming up. Not
    modelled: AWS also leaves a warming instance's own metrics out of the group's average
    (the simulator reports one average over the ready instances).

    >>> import scalelab as sl
    >>> policy = sl.autoscalers.StepScaling(threshold=0.5, warmup=120)
    >>> wl = sl.workloads.ramp(10, 80, duration=1800)
    >>> res = sl.simulate(wl, instances=2, service_time=0.05, autoscaler=policy)
    """

    def __init__(self, threshold: float = 0.5,
                 scale_out=((0.0, 0.1, 0), (0.1, 0.2, 10), (0.2, None, 30)),
                 scale_in=((-0.1, 0.0, 0), (-0.2, -0.1, -10), (None, -0.2, -30)),
                 adjustment_type: str = "percent", min_adjustment_magnitude: int = 1,
                 duration: float = 60.0, warmup: float = 300.0, period: float = 60.0):
        self.threshold = _validate.number("threshold", threshold, above=0, maximum=1)
        if adjustment_type not in _ADJUSTMENT_TYPES:
            allowed = ", ".join(map(repr, _ADJUSTMENT_TYPES))
            raise ValueError(f"adjustment_type must be one of {allowed}, got {adjustment_type!r}")
        self.adjustment_type = adjustment_type
        self.scale_out = _steps("scale_out", scale_out, above=True, kind=adjustment_type)
        self.scale_in = _steps("scale_in", scale_in, above=False, kind=adjustment_type)
        self.min_adjustment_magnitude = _validate.integer(
            "min_adjustment_magnitude", min_adjustment_magnitude, minimum=1)
        self.duration = _validate.number("duration", duration, minimum=0)
        self.warmup = _validate.number("warmup", warmup, minimum=0)
        self.period = _validate.number("period", period, minimum=0)

    def reset(self) -> None:
        super().reset()
        self._high, self._low = _Held(), _Held()
        self._ready_at: list[float] = []   # when each instance started taking traffic
        self._last_ready: int | None = None
        self._last_action = -math.inf

    def desired(self, observation: Observation) -> int:
        self._ready_to_run()
        o = observation
        offset = round(o.utilization - self.threshold, 9)  # 0.6 − 0.5 is 0.1, not 0.0999…
        high = self._high.update(o, offset >= 0)
        low = self._low.update(o, offset <= 0)
        current = o.current
        warm = self._in_warm_up(o)
        if o.time - self._last_action < self.period - _EPS:
            return _bounded(o, current)
        if high >= self.duration - _EPS:
            adjustment = _find_step(self.scale_out, offset, above=True)
            if adjustment is not None:
                wanted = _bounded(o, self._apply(o.ready - warm, adjustment))
                if wanted > current:
                    self._last_action = o.time
                    return wanted
        if low >= self.duration - _EPS and not o.warming and not warm:
            adjustment = _find_step(self.scale_in, offset, above=False)
            if adjustment is not None:
                wanted = _bounded(o, self._apply(current, adjustment))
                if wanted < current:
                    self._last_action = o.time
                    return wanted
        return _bounded(o, current)

    def _in_warm_up(self, o: Observation) -> int:
        """Ready instances still within ``warmup`` seconds of taking their first request; the
        instances found ready at the first observation count as warmed up."""
        if self._last_ready is not None and o.ready > self._last_ready:
            self._ready_at += [o.time] * (o.ready - self._last_ready)
        self._last_ready = o.ready
        self._ready_at = [t for t in self._ready_at if t + self.warmup > o.time + _EPS]
        return min(len(self._ready_at), o.ready)

    def _apply(self, capacity: int, adjustment: int) -> int:
        if self.adjustment_type == "exact":
            return adjustment
        if self.adjustment_type == "change":
            return capacity + adjustment
        change = round_percent_change(capacity * adjustment / 100)
        if change and abs(change) < self.min_adjustment_magnitude:
            change = int(math.copysign(self.min_adjustment_magnitude, change))
        return capacity + change

    def to_aws(self, group: str = "web", name: str = "scalelab-step",
               warmup: float | None = None) -> dict:
        """This policy as Amazon EC2 Auto Scaling step scaling (API 2011-01-01): a
        ``ScaleOutPolicy`` and a ``ScaleInPolicy`` for ``PutScalingPolicy`` (``AdjustmentType``,
        ``StepAdjustments`` with bounds in percent from the threshold), and the CloudWatch
        alarms that trigger them (``PutMetricAlarm``, API 2010-08-01: average CPU, 60 s periods,
        ``ceil(duration / 60)`` of them). ``EstimatedInstanceWarmup`` is ``warmup`` s, by default
        the policy's own. Nothing is sent to AWS; ``.json()`` gives the text. See
        :mod:`scalelab.export`."""
        from .export import step_scaling_to_aws

        return step_scaling_to_aws(self, group, name, warmup)


def _steps(name: str, steps, *, above: bool, kind: str) -> tuple:
    """Check a list of (lower, upper, adjustment) step adjustments; return it sorted."""
    try:
        rows = [tuple(step) for step in steps]
    except TypeError:
        raise TypeError(f"{name} must be a list of (lower, upper, adjustment) tuples, "
                        f"got {steps!r}") from None
    side = "≥ 0 (above the threshold)" if above else "≤ 0 (below the threshold)"
    checked = []
    for k, row in enumerate(rows):
        if len(row) != 3:
            raise ValueError(f"{name}[{k}] must be (lower, upper, adjustment), got {row!r}")
        lower, upper, adjustment = row
        lower = -math.inf if lower is None else _validate.number(f"{name}[{k}] lower", lower)
        upper = math.inf if upper is None else _validate.number(f"{name}[{k}] upper", upper)
        adjustment = _validate.integer(f"{name}[{k}] adjustment", adjustment)
        if not lower < upper:
            raise ValueError(f"{name}[{k}] must have lower < upper, got {row!r}")
        if (above and lower < 0) or (not above and upper > 0):
            raise ValueError(f"{name}[{k}] bounds must be offsets {side}, got {row!r}")
        if kind != "exact" and ((above and adjustment < 0) or (not above and adjustment > 0)):
            raise ValueError(f"{name}[{k}] adjustment must be {'≥' if above else '≤'} 0 "
                             f"(it {'adds' if above else 'removes'} capacity), got {adjustment}")
        if kind == "exact" and adjustment < 0:
            raise ValueError(f"{name}[{k}] adjustment must be ≥ 0 instances with "
                             f"adjustment_type='exact', got {adjustment}")
        checked.append((lower, upper, adjustment))
    checked.sort()
    for k in range(1, len(checked)):
        if checked[k - 1][1] != checked[k][0]:
            raise ValueError(f"{name} steps must be contiguous, without gaps or overlaps: one "
                             f"ends at {checked[k - 1][1]:g} and the next starts at "
                             f"{checked[k][0]:g}")
    return tuple((None if math.isinf(lower) else lower, None if math.isinf(upper) else upper,
                  adjustment) for lower, upper, adjustment in checked)


def _find_step(steps, offset: float, *, above: bool) -> int | None:
    for lower, upper, adjustment in steps:
        lower = -math.inf if lower is None else lower
        upper = math.inf if upper is None else upper
        inside = lower <= offset < upper if above else lower < offset <= upper
        if inside:
            return adjustment
    return None


# -- TargetTracking (AWS target tracking) ---------------------------------------------------------


class TargetTracking(_Builtin):
    """AWS target tracking: keep utilization near ``target`` with
    ``desired = ceil(instances × utilization / target)`` — quick out, conservative in.

    Reads ``utilization``, ``ready`` and ``warming``. The two alarms AWS creates:

    - **out** when utilization has been above ``target`` for ``scale_out_duration`` seconds
      (AWS: 3 datapoints in 3 minutes): to ``ceil(ready × utilization / target)``, counting
      only ready instances, so repeated alarms while new instances boot add nothing more;
    - **in** when utilization has been below ``scale_in_below × target`` for
      ``scale_in_duration`` seconds (AWS: 15 datapoints in 15 minutes; the low threshold is
      not documented, 0.9 × target here): to ``ceil(current × utilization / target)`` —
      rounding up removes fewer ("removing 1.5 removes 1") — never while an instance is
      booting, and after each scale-in the low alarm must hold for a full
      ``scale_in_duration`` again.

    >>> import scalelab as sl
    >>> policy = sl.autoscalers.TargetTracking(target=0.5)
    >>> wl = sl.workloads.diurnal(mean_rate=40, period=7200)
    >>> res = sl.simulate(wl, instances=2, service_time=0.05, autoscaler=policy)
    """

    def __init__(self, target: float = 0.5, scale_out_duration: float = 180.0,
                 scale_in_duration: float = 900.0, scale_in_below: float = 0.9):
        self.target = _validate.number("target", target, above=0, maximum=1)
        self.scale_out_duration = _validate.number("scale_out_duration", scale_out_duration,
                                                   minimum=0)
        self.scale_in_duration = _validate.number("scale_in_duration", scale_in_duration,
                                                  minimum=0)
        self.scale_in_below = _validate.number("scale_in_below", scale_in_below, above=0,
                                               maximum=1)

    def reset(self) -> None:
        super().reset()
        self._high, self._low = _Held(), _Held()

    def desired(self, observation: Observation) -> int:
        self._ready_to_run()
        o = observation
        u = o.utilization
        high = self._high.update(o, u > self.target)
        low = self._low.update(o, u < self.scale_in_below * self.target)
        current = o.current
        if high >= self.scale_out_duration - _EPS:
            wanted = _bounded(o, _ceil(o.ready * u / self.target))
            if wanted > current:
                return wanted
        if low >= self.scale_in_duration - _EPS and not o.warming:
            wanted = _bounded(o, _ceil(current * u / self.target))
            if wanted < current:
                self._low.restart()
                return wanted
        return _bounded(o, current)

    def to_aws(self, group: str = "web", name: str = "scalelab-target",
               warmup: float | None = None) -> dict:
        """This policy as an Amazon EC2 Auto Scaling target tracking policy (API 2011-01-01,
        ``PutScalingPolicy``): ``TargetTrackingConfiguration`` on ``ASGAverageCPUUtilization``
        with ``TargetValue`` = target in percent. AWS makes the alarms itself (out after 3 of 3
        minutes, in after 15 of 15): other durations cannot be exported and warn. Nothing is
        sent to AWS; ``.json()`` gives the text. See :mod:`scalelab.export`."""
        from .export import target_tracking_to_aws

        return target_tracking_to_aws(self, group, name, warmup)


# -- HPA (Kubernetes) ------------------------------------------------------------------------------


class HPA(_Builtin):
    """The Kubernetes Horizontal Pod Autoscaler for a CPU-utilization target.

    Each step: the replica formula (:meth:`recommend`) proposes
    ``ceil(ready pods × utilization% / target%)``, with utilization truncated to a whole
    percent and no change while the ratio is within ``tolerance`` of 1; booting instances are
    unready pods, counted as idle when scaling up (so they damp it). Then the behaviour
    defaults: scale-down follows the **highest** proposal of the last
    ``downscale_stabilization`` seconds (300 s: no scale-down for 5 minutes after a higher
    one, nor after start-up); scale-up is limited per ``scale_up_period`` (15 s) to the larger
    of ``+scale_up_pods`` (4) and ``+scale_up_percent`` % (100 %); scale-down to
    ``−scale_down_percent`` % per ``scale_down_period``. ``None`` turns a rate limit off.
    ``min_replicas``/``max_replicas`` default to the simulator's ``min_instances`` and
    ``max_instances``. Without a metric (no ready instance, or NaN) it holds, as the HPA does
    when it cannot fetch metrics. Not modelled: the 300 s CPU-initialization period and the
    readiness delay (a ready instance's sample always counts).

    Reads ``utilization``, ``ready``, ``warming`` and ``time``.

    >>> import scalelab as sl
    >>> hpa = sl.autoscalers.HPA(target_utilization=0.5)
    >>> hpa.recommend([900, 900, 900, 900])   # 4 pods at 900m of a 1000m request
    8
    """

    def __init__(self, target_utilization: float = 0.5, min_replicas: int | None = None,
                 max_replicas: int | None = None, tolerance: float = 0.1,
                 downscale_stabilization: float = 300.0, upscale_stabilization: float = 0.0,
                 scale_up_pods: int | None = 4, scale_up_percent: int | None = 100,
                 scale_up_period: float = 15.0, scale_down_percent: int | None = 100,
                 scale_down_period: float = 15.0):
        target = _validate.number("target_utilization", target_utilization, above=0, maximum=1)
        if abs(target * 100 - round(target * 100)) > 1e-6 or round(target * 100) < 1:
            raise ValueError("target_utilization must be a whole percent between 0.01 and 1 "
                             f"(Kubernetes takes an integer averageUtilization), got {target:g}")
        self.target_utilization = target
        self.min_replicas = None if min_replicas is None else \
            _validate.integer("min_replicas", min_replicas, minimum=1)
        self.max_replicas = None if max_replicas is None else \
            _validate.integer("max_replicas", max_replicas, minimum=self.min_replicas or 1)
        self.tolerance = _validate.number("tolerance", tolerance, minimum=0, maximum=1)
        self.downscale_stabilization = _validate.number(
            "downscale_stabilization", downscale_stabilization, minimum=0)
        self.upscale_stabilization = _validate.number(
            "upscale_stabilization", upscale_stabilization, minimum=0)
        self.scale_up_pods = _optional_int("scale_up_pods", scale_up_pods)
        self.scale_up_percent = _optional_int("scale_up_percent", scale_up_percent)
        if self.scale_up_pods is None and self.scale_up_percent is None:
            raise ValueError("scale_up_pods and scale_up_percent cannot both be None: "
                             "the HPA could never scale up")
        self.scale_up_period = _validate.positive("scale_up_period", scale_up_period)
        self.scale_down_percent = _optional_int("scale_down_percent", scale_down_percent,
                                                maximum=100)
        self.scale_down_period = _validate.positive("scale_down_period", scale_down_period)
    def to_kubernetes(self, name: str = "web", target: str | None = None,
                      kind: str = "Deployment", min_replicas: int | None = None,
                      max_replicas: int | None = None) -> dict:
        """This policy as a Kubernetes ``autoscaling/v2`` HorizontalPodAutoscaler manifest for
        the ``kind`` named ``target`` (default: ``name``): CPU ``averageUtilization`` and a
        ``behavior`` from this object (stabilization windows, the Pods and Percent scale-up
        policies, the Percent scale-down policy; no limit is written as 100 %). Replicas
        default to the object's, else 1 and 20 (the simulator's defaults). ``tolerance`` is a
        controller flag, not a field: a non-default one is kept in an annotation. A dict;
        ``.yaml()`` and ``.json()`` give the text for ``kubectl apply -f``. Nothing is sent to
        a cluster. See :mod:`scalelab.export`."""
        from .export import hpa_to_kubernetes

        return hpa_to_kubernetes(self, name, target, kind, min_replicas, max_replicas)


    def reset(self) -> None:
        super().reset()
        self._recommendations: list[tuple[float, int]] = []   # (time, unstabilized proposal)
        self._ups: list[tuple[float, int]] = []               # (time, replicas added)
        self._downs: list[tuple[float, int]] = []             # (time, replicas removed)

    # -- the replica formula (replica_calculator.go) -----------------------------------------

    def recommend(self, usage_m, ready=None, request_m=1000) -> int:
        """The replica count Kubernetes' formula proposes for these pods, before
        stabilization and rate limits.

        ``usage_m``: each pod's CPU use in millicores (``None``: no metric for it yet);
        ``ready``: each pod's readiness (default: all ready; unready pods are ignored, and
        counted as idle on a scale-up); ``request_m``: the CPU request per pod (millicores),
        one number or one per pod. Raises ``ValueError`` when no ready pod has a metric (the
        HPA then does not act).

        >>> HPA(target_utilization=0.5).recommend([549] * 10)   # 54 %: within tolerance
        10
        """
        usage_m = _pod_usage(usage_m)
        pods = len(usage_m)
        ready = [True] * pods if ready is None else \
            [bool(r) for r in _validate.sequence("ready", ready, "booleans, one per pod")]
        requests = [_millicores("request_m", request_m)] * pods if np.ndim(request_m) == 0 \
            else [_millicores(f"request_m[{i}]", r) for i, r in enumerate(request_m)]
        if len(ready) != pods or len(requests) != pods:
            raise ValueError(f"usage_m, ready and request_m must describe the same pods, got "
                             f"{pods}, {len(ready)} and {len(requests)}")
        target = round(self.target_utilization * 100)
        metrics = {i: round(u) for i, u in enumerate(usage_m) if ready[i] and u is not None}
        missing = [i for i, u in enumerate(usage_m) if ready[i] and u is None]
        unready = [i for i in range(pods) if not ready[i]]
        if not metrics:
            raise ValueError("no ready pod has a metric: the HPA does not act without one")
        ratio = _utilization_percent(metrics, requests) / target
        rebalance = bool(unready) and ratio > 1.0
        if not rebalance and not missing:
            if abs(1.0 - ratio) <= self.tolerance:
                return pods
            return math.ceil(ratio * len(metrics))   # ready pods, not all replicas
        if missing:
            if ratio < 1.0:      # scaling down: a pod without a metric counts as fully busy
                fill = {i: requests[i] * max(100, target) // 100 for i in missing}
            elif ratio > 1.0:    # scaling up: as idle
                fill = {i: 0 for i in missing}
            else:
                fill = {}
            metrics.update(fill)
        if rebalance:
            metrics.update({i: 0 for i in unready})
        new_ratio = _utilization_percent(metrics, requests) / target
        if abs(1.0 - new_ratio) <= self.tolerance or (ratio < 1.0 < new_ratio) \
                or (ratio > 1.0 > new_ratio):
            return pods   # too small a change, or filling in would reverse the direction
        proposal = math.ceil(new_ratio * len(metrics))
        if (new_ratio < 1.0 and proposal > pods) or (new_ratio > 1.0 and proposal < pods):
            return pods
        return proposal

    # -- one control step (horizontal.go) -----------------------------------------------------

    def desired(self, observation: Observation) -> int:
        self._ready_to_run()
        o = observation
        low = self.min_replicas if self.min_replicas is not None else o.min_instances
        high = self.max_replicas if self.max_replicas is not None else o.max_instances
        current = o.current
        if current > high:
            return _bounded(o, high)
        if current < low:
            return _bounded(o, low)
        if o.ready == 0 or not math.isfinite(o.utilization):
            return _bounded(o, current)   # no metric: the HPA does not act
        usage = [round(o.utilization * 1000)] * o.ready + [None] * o.warming
        ready = [True] * o.ready + [False] * o.warming
        proposal = self.recommend(usage, ready)
        wanted = self._normalize(o.time, current, proposal, low, high)
        if wanted > current:
            self._ups.append((o.time, wanted - current))
        elif wanted < current:
            self._downs.append((o.time, current - wanted))
        return _bounded(o, wanted)

    def _normalize(self, now: float, current: int, proposal: int, low: int, high: int) -> int:
        """Stabilization windows, then the scale-up and scale-down rate limits."""
        if not self._recommendations and self.downscale_stabilization > 0:
            self._recommendations.append((now, current))   # no scale-down just after start
        up_cutoff = now - self.upscale_stabilization
        down_cutoff = now - self.downscale_stabilization
        up = down = proposal
        for when, count in self._recommendations:
            if when > up_cutoff:
                up = min(up, count)
            if when > down_cutoff:
                down = max(down, count)
        wanted = min(max(current, up), down)
        self._recommendations = [(t, c) for t, c in self._recommendations
                                 if t > min(up_cutoff, down_cutoff)]
        self._recommendations.append((now, proposal))
        if wanted > current:
            start = self._period_start(now, current, self.scale_up_period)
            limits = []
            if self.scale_up_pods is not None:
                limits.append(start + self.scale_up_pods)
            if self.scale_up_percent is not None:
                limits.append(math.ceil(start * (1 + self.scale_up_percent / 100)))
            return min(wanted, max(max(limits), current), high)
        if wanted < current:
            if self.scale_down_percent is None:
                return max(wanted, low)
            start = self._period_start(now, current, self.scale_down_period)
            limit = int(start * (1 - self.scale_down_percent / 100))
            return max(wanted, min(limit, current), low)
        return wanted

    def _period_start(self, now: float, current: int, period: float) -> int:
        """Replicas at the start of the rate-limit period: events exactly one period old no
        longer count (Kubernetes keeps those strictly after the cutoff)."""
        cutoff = now - period
        added = sum(n for t, n in self._ups if t > cutoff)
        removed = sum(n for t, n in self._downs if t > cutoff)
        return current - added + removed


def _utilization_percent(metrics: dict, requests: list) -> int:
    """Whole-percent utilization of these pods, truncated as Kubernetes does (integer maths)."""
    usage = sum(metrics.values())
    request = sum(requests[i] for i in metrics)
    if request <= 0:
        raise ValueError("the pods' CPU requests must add up to more than 0 millicores")
    return usage * 100 // request


def _optional_int(name: str, value, maximum: int | None = None) -> int | None:
    if value is None:
        return None
    value = _validate.integer(name, value, minimum=1)
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be ≤ {maximum} or None, got {value}")
    return value


def _pod_usage(usage_m) -> list:
    """``usage_m`` checked: a list of each pod's CPU use in millicores (finite, ≥ 0) or None."""
    if isinstance(usage_m, (str, bytes)) or not hasattr(usage_m, "__len__"):
        raise TypeError(f"usage_m must be a list of millicores, one per pod, got {usage_m!r}")
    return [None if u is None else _finite(f"usage_m[{i}]", u) for i, u in enumerate(usage_m)]


def _finite(name: str, value) -> float:
    value = _validate.number(name, value, minimum=0)
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _millicores(name: str, value) -> int:
    """A CPU request: a whole number of millicores ≥ 1."""
    return int(_finite(name, _validate.number(name, value, minimum=1)))

"""Conformance checks for load-balancing policies: run a balancer (yours or a built-in) through
small seeded scenarios and get a report of what it did.

Each check is one small function that either returns a sentence about what the balancer did
or raises ``_Failed`` with a sentence about what it did wrong ("request 41 at t=12.40 s went
to instance 2, which was unhealthy"). A crash inside the balancer fails the check it happened
in, with the exception and the line of the balancer's code that raised it. Times in seconds.

>>> import scalelab as sl
>>> from scalelab.testing import check_balancer
>>> check_balancer(sl.balancers.LeastConnections()).passed
True
"""

from __future__ import annotations

import html
import math as _math
import os
import sysconfig
import traceback
from dataclasses import dataclass

import numpy as np

from . import _validate
from . import workloads as _workloads
from .autoscalers import Observation as _Observation
from .balancers import ClusterState, InstancesView, InstanceView, Request, StandIn
from .failures import Crash, HealthCheck
from .result import Status
from .sim import simulate
from .workloads import Workload

__all__ = ["BalancerCheckError", "CheckReport", "CheckResult", "check_balancer"]


@dataclass(frozen=True)
class CheckResult:
    """One check: its ``name``, whether it ``passed``, and a ``message`` about what happened."""

    name: str
    passed: bool
    message: str


class BalancerCheckError(AssertionError):
    """Raised by :meth:`CheckReport.raise_if_failed`; ``report`` holds the details."""

    def __init__(self, report: CheckReport):
        super().__init__(str(report))
        self.report = report


class CheckReport:
    """What :func:`check_balancer` found: ``checks`` (a list of :class:`CheckResult`),
    ``passed`` (all of them passed), ``failed`` (the ones that did not)."""

    def __init__(self, balancer: str, checks: list[CheckResult]):
        self.balancer = balancer
        self.checks = list(checks)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.passed]

    def raise_if_failed(self) -> None:
        """Raise :class:`BalancerCheckError` (an ``AssertionError``) if any check failed."""
        if not self.passed:
            raise BalancerCheckError(self)

    def _headline(self) -> str:
        n = len(self.checks)
        if self.passed:
            return f"check_balancer({self.balancer}): all {n} checks passed"
        return f"check_balancer({self.balancer}): {len(self.failed)} of {n} checks failed"

    def __str__(self) -> str:
        lines = [self._headline()]
        for check in self.checks:
            mark = "✓ passed" if check.passed else "✗ FAILED"
            lines.append(f"  {mark}  {check.name}: {check.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<CheckReport {self._headline()}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='white-space:nowrap'>{'✓ passed' if c.passed else '<b>✗ failed</b>'}"
            f"</td><td style='text-align:left'>{html.escape(c.name)}</td>"
            f"<td style='text-align:left'>{html.escape(c.message)}</td></tr>"
            for c in self.checks)
        return (f"<table><caption style='text-align:left'>{html.escape(self._headline())}"
                f"</caption>{rows}</table>")


def check_balancer(balancer, *, seed: int = 0) -> CheckReport:
    """Run every conformance check on ``balancer`` (an object with ``pick(instances,
    request)``; hooks optional) and return a :class:`CheckReport`. Nothing is raised when a
    check fails or the balancer crashes: the report says what happened.

    The checks: it returns one of the instances it was given; it never picks an unhealthy
    instance while a healthy one exists; it returns None when none is healthy; it works with
    one instance; the same seed gives the same picks; it leaves its inputs unchanged.

    >>> import scalelab as sl
    >>> report = check_balancer(sl.balancers.RoundRobin(), seed=1)
    >>> report.raise_if_failed()
    """
    if isinstance(balancer, type):
        raise TypeError(f"check_balancer needs a balancer object, not the class: "
                        f"check_balancer({balancer.__name__}())")
    if not callable(getattr(balancer, "pick", None)):
        raise TypeError(f"balancer must have a pick(instances, request) method, got {balancer!r}")
    context = _Context(balancer, _validate.seed(seed))
    return CheckReport(_name(balancer), _run_checks(_CHECKS, lambda check: check(context)))


def _run_checks(checks, run) -> list[CheckResult]:
    """``run(check)`` for each (name, check): what it says, or what went wrong."""
    results = []
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, run(check)))
        except _Failed as failure:
            results.append(CheckResult(name, False, str(failure)))
        except Exception as error:  # noqa: BLE001 — whatever stopped the scenario is the finding
            results.append(CheckResult(name, False, f"the scenario stopped: "
                                       f"{type(error).__name__}: {error}"))
    return results


def _registry(checks: list):
    """A decorator factory: ``@registry("what a good policy does")`` appends the function
    to ``checks`` under that name."""
    def named(name: str):
        def register(function):
            checks.append((name, function))
            return function
        return register
    return named


# ---------------------------------------------------------------------------------------------
# The checks. Adding one: write a function (context) -> str that returns what the balancer
# did, or raises _Failed saying what it did wrong, and decorate it with
# @_check("what a good balancer does"). context.simulate(…) and context.hand(…) run scenarios
# with every call checked; context.seed is the seed to use.

_CHECKS: list[tuple[str, object]] = []
_check = _registry(_CHECKS)


@_check("returns one of the instances it was given")
def _returns_an_instance(context: _Context) -> str:
    res = context.simulate(_workload(400, rate=3.0, seed=context.seed), instances=4)
    chosen = res.requests["instance"]
    counts = np.bincount(chosen[chosen >= 0], minlength=4)
    return (f"sent {len(res.requests)} requests to 4 healthy instances "
            f"(per instance: {', '.join(str(c) for c in counts)})")


@_check("never picks an unhealthy instance while a healthy one exists")
def _skips_unhealthy(context: _Context) -> str:
    res = context.simulate(_workload(360, rate=3.0, seed=context.seed), instances=4, retries=1,
                           failures=[Crash(instance=1, at=30.0, recover_at=70.0),
                                     Crash(instance=3, at=50.0)])
    down = sum(1 for _, _, what in res.events if what == "marked down")
    hand = context.hand(weights=[1, 2, 1, 3])
    patterns = [(1, 1, 1, 1), (0, 1, 1, 1), (1, 0, 1, 0), (1, 1, 1, 0), (0, 0, 1, 0),
                (1, 1, 0, 1), (0, 1, 0, 1), (1, 1, 1, 1)]
    for flags in patterns:
        hand.run(25, healthy=flags)
    return (f"skipped unhealthy instances in {len(res.requests)} simulated requests "
            f"({down} instances marked down by health checks) and in "
            f"{hand.sent} requests over {len(patterns)} hand-set health patterns")


@_check("returns None when no instance is healthy")
def _none_when_all_down(context: _Context) -> str:
    res = context.simulate(_workload(180, rate=3.0, seed=context.seed), instances=2,
                           service_time=0.5,
                           failures=[Crash(instance=0, at=15.0, recover_at=40.0),
                                     Crash(instance=1, at=15.0, recover_at=40.0)])
    refused = int(np.count_nonzero(res.requests["status"] == Status.NO_INSTANCE))
    hand = context.hand()
    for flags in [(1, 1, 1, 1), (0, 0, 0, 0), (1, 1, 1, 1), (0, 0, 0, 0)]:
        hand.run(15, healthy=flags)
    return (f"returned None for {refused} simulated requests while both instances were down, "
            f"and for 30 requests while 4 hand-set instances were all unhealthy")


@_check("works with one instance")
def _one_instance(context: _Context) -> str:
    res = context.simulate(_workload(120, rate=0.8, seed=context.seed), instances=1,
                           failures=[Crash(instance=0, at=60.0, recover_at=100.0)])
    sent = int(np.count_nonzero(res.requests["instance"] == 0))
    refused = int(np.count_nonzero(res.requests["status"] == Status.NO_INSTANCE))
    hand = context.hand(weights=[1])
    for flags in [(1,), (0,), (1,)]:
        hand.run(10, healthy=flags)
    return (f"sent {sent} of {len(res.requests)} simulated requests to the only instance and "
            f"returned None for {refused} while it was marked down; {hand.sent} hand-set "
            "requests likewise")


@_check("gives the same picks for the same seed")
def _repeatable(context: _Context) -> str:
    seed = context.seed
    failures = [Crash(instance=2, at=40.0, recover_at=70.0)]
    first = context.simulate(_workload(300, rate=3.0, seed=seed), instances=4, failures=failures)
    context.simulate(_workload(7, rate=3.0, seed=seed + 1), instances=3, seed=seed + 1)
    second = context.simulate(_workload(300, rate=3.0, seed=seed), instances=4, failures=failures)
    a, b = first.requests["instance"], second.requests["instance"]
    differ = np.flatnonzero(a != b)
    if len(differ):
        k = int(differ[0])
        raise _Failed(f"two runs with seed {seed} (another run in between) differed: request {k} "
                      f"(t={first.requests['arrival'][k]:.2f} s) went to instance {_where(a[k])} "
                      f"in the first and to instance {_where(b[k])} in the second (keep run state "
                      "in reset() and draw random numbers from self.rng)")
    return (f"two runs with seed {seed}, another run in between, sent all {len(a)} requests to "
            "the same instances")


@_check("leaves its inputs unchanged")
def _leaves_inputs(context: _Context) -> str:
    context.watch = True
    try:
        context.simulate(_workload(100, rate=3.0, seed=context.seed), instances=4,
                         failures=[Crash(instance=1, at=10.0, recover_at=20.0)])
        hand = context.hand(weights=[1, 2, 1, 3])
        for flags in [(1, 1, 1, 1), (1, 0, 1, 1), (1, 1, 1, 1)]:
            hand.run(40, healthy=flags)
        context.unchanged("all the scenarios")
    finally:
        context.watch = False
    return (f"changed neither the instances nor any of the {len(context.shown)} requests it was "
            "shown")


# ---------------------------------------------------------------------------------------------
# Scenario plumbing

_PROBE = HealthCheck(interval=1.0, timeout=0.5, unhealthy_threshold=2, healthy_threshold=2)


class _Failed(Exception):
    """A check failed; the message says what the balancer did."""


def _workload(count: int, rate: float, seed: int) -> Workload:
    """``count`` Poisson arrivals at ``rate`` per second, each from one of 50 users."""
    rng = np.random.default_rng([seed, 7])
    arrivals = np.cumsum(rng.exponential(1.0 / rate, count))
    users = rng.integers(0, 50, count)
    return Workload(arrivals, float(arrivals[-1]) + 1e-9, user=users, name="check")


def _where(index) -> str:
    return "none (no healthy instance)" if index < 0 else str(int(index))


def _name(balancer) -> str:
    try:
        return repr(balancer) if type(balancer).__repr__ is not object.__repr__ \
            else f"{type(balancer).__name__}()"
    except Exception:  # noqa: BLE001 — a broken __repr__ must not hide the report
        return f"{type(balancer).__name__}()"


def _fields(request) -> tuple:
    return (request.id, request.arrival, request.user, request.cost)


_FIELDS = ("id", "arrival", "user", "cost")
_LIBRARY = tuple({os.path.dirname(os.path.abspath(__file__)) + os.sep,
                  *(sysconfig.get_paths()[k] + os.sep for k in ("stdlib", "purelib", "platlib"))})


def _crash(where: str, error: BaseException, request) -> _Failed:
    """The exception, and the innermost line of the balancer's own code that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(_LIBRARY)]
    frame = (own or frames)[-1] if frames else None
    at = ""
    if frame is not None:
        at = f" (in {frame.name}, {os.path.basename(frame.filename)} line {frame.lineno}"
        at += f": {frame.line.strip()})" if frame.line else ")"
    when = f" on request {request.id} at t={request.arrival:.2f} s" if request is not None else ""
    return _Failed(f"{where} raised {type(error).__name__}{when}: {error}{at}")


class _Context:
    """One check_balancer call: the balancer, the seed, and every request it has been shown
    (with its fields as they were), so a request changed later is still noticed."""

    def __init__(self, balancer, seed: int):
        self.balancer, self.seed = balancer, seed
        self.shown: dict[int, tuple[Request, tuple]] = {}   # id(request) -> (request, fields)
        self.watch = False   # check the instances and requests around every call

    def simulate(self, workload: Workload, instances, service_time: float = 1.0,
                 failures=(), retries: int = 0, seed: int | None = None):
        """``sl.simulate`` with every call to the balancer checked; health checks probe every
        second and mark an instance down after 2 failed probes, up after 2 good ones."""
        return simulate(workload, instances=instances, service_time=service_time,
                        balancer=_Spy(self), seed=self.seed if seed is None else seed,
                        failures=failures, retries=retries,
                        health_check=_PROBE if failures else None)

    def hand(self, weights=(1, 1, 1, 1)) -> _HandCluster:
        """A cluster whose health the check sets by hand (see :class:`_HandCluster`)."""
        return _HandCluster(_Spy(self), self.seed, weights)

    def unchanged(self, during: str) -> None:
        """Raise _Failed if any request shown to the balancer has changed since."""
        for request, fields in self.shown.values():
            now = _fields(request)
            if now != fields:
                name, was, new = next((n, a, b) for n, a, b in zip(_FIELDS, fields, now) if a != b)
                raise _Failed(f"request {request.id}'s {name} changed from {was!r} to {new!r} "
                              f"(noticed after {during})")


class _Spy(StandIn):
    """Stands in for the balancer: forwards every call, checks every answer, and stops the
    scenario (raising _Failed) at the first thing the balancer gets wrong."""

    def __init__(self, context: _Context):
        self.context, self.inner = context, context.balancer
        self.recent: list[tuple[Request, tuple]] = []   # requests shown in this scenario

    def reset(self) -> None:
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            self._call("reset", reset, None)

    def pick(self, instances, request):
        watch = self.context.watch
        if id(request) not in self.context.shown:
            entry = (request, _fields(request))
            self.context.shown[id(request)] = entry
            self.recent.append(entry)
        if watch:
            before = _snapshot(instances)
        choice = self._call("pick", self.inner.pick, request, instances, request)
        index = _index_of(choice, instances, request)
        healthy = [i for i in range(len(instances)) if instances[i].healthy]
        where = f"request {request.id} at t={request.arrival:.2f} s"
        if index is None and healthy:
            raise _Failed(f"{where} got None although instances {_list(healthy)} were healthy")
        if index is not None and index not in healthy:
            if healthy:
                raise _Failed(f"{where} went to instance {index}, which was unhealthy "
                              f"(healthy: {_list(healthy)})")
            raise _Failed(f"{where} went to instance {index} although no instance was healthy")
        if watch:
            self._unchanged(before, instances, f"pick for request {request.id}")
        return choice

    def on_start(self, instance, request) -> None:
        self._hook("on_start", instance, request)

    def on_finish(self, instance, request, latency) -> None:
        self._hook("on_finish", instance, request, latency)

    def _hook(self, name: str, instance, request, *rest) -> None:
        hook = getattr(self.inner, name, None)
        if not callable(hook):
            return
        watch = self.context.watch
        before = _snapshot(instance._state) if watch else None
        self._call(name, hook, request, instance, request, *rest)
        if watch:
            self._unchanged(before, instance._state, f"{name} for request {request.id}")

    def _call(self, name: str, method, request, *args):
        try:
            return method(*args)
        except Exception as error:  # noqa: BLE001 — a crash in the balancer is a finding
            raise _crash(name, error, request) from None

    def _unchanged(self, before: dict, instances, during: str) -> None:
        after = _snapshot(instances)
        for column, values in before.items():
            for i, (was, now) in enumerate(zip(values, after[column])):
                if was != now:
                    raise _Failed(f"{during} changed instance {i}'s {column} from {was!r} "
                                  f"to {now!r}")
        for request, fields in self.recent:
            now = _fields(request)
            if now != fields:
                name, was, new = next((n, a, b) for n, a, b in zip(_FIELDS, fields, now) if a != b)
                raise _Failed(f"request {request.id}'s {name} changed from {was!r} to {new!r} "
                              f"(noticed after {during})")


def _snapshot(instances) -> dict[str, list]:
    state = instances._state if isinstance(instances, InstancesView) else instances
    return {name: list(getattr(state, name))
            for name in ("healthy", "inflight", "speed", "weight", "latency")}


def _index_of(choice, instances, request) -> int | None:
    """The index ``choice`` names, or _Failed saying what pick returned instead."""
    if choice is None:
        return None
    n = len(instances)
    what = f"request {request.id} at t={request.arrival:.2f} s"
    if isinstance(choice, InstanceView):
        if choice._state is not instances._state:
            raise _Failed(f"{what}: pick returned {choice!r}, an instance from another cluster "
                          "(kept from an earlier call?)")
        return choice.index
    if isinstance(choice, (bool, np.bool_)) or not isinstance(choice, (int, np.integer)):
        raise _Failed(f"{what}: pick returned {choice!r} ({type(choice).__name__}), which is "
                      "neither one of the instances it was given, an index, nor None")
    if not 0 <= choice < n:
        raise _Failed(f"{what}: pick returned index {choice}, but the instances it was given "
                      f"are numbered 0 to {n - 1}")
    return int(choice)


def _list(indices) -> str:
    return ", ".join(str(i) for i in indices)


class _HandCluster:
    """A cluster whose health the check sets by hand: a request arrives every 0.25 s, is sent
    where the balancer says and is answered 0.5–2 s later (random, seeded), with the hooks
    called as the simulator calls them."""

    def __init__(self, spy: _Spy, seed: int, weights):
        self.spy = spy
        self.state = ClusterState([1.0] * len(weights), weights)
        self.view = InstancesView(self.state)
        self.rng = np.random.default_rng([seed, 11])
        self.clock, self.sent = 0.0, 0
        self.pending: list[tuple[float, int, Request]] = []
        spy.rng = np.random.default_rng([seed, 13])
        spy.reset()

    def run(self, count: int, healthy) -> None:
        """Send ``count`` requests while the instances' health is ``healthy`` (0/1 each)."""
        for j, ok in enumerate(healthy):
            if self.state.healthy[j] != bool(ok):
                self.state.healthy[j] = bool(ok)
        for _ in range(count):
            self.clock += 0.25
            self._answer_until(self.clock)
            request = Request(self.sent, self.clock, user=self.sent % 13, cost=1.0)
            self.sent += 1
            choice = self.spy.pick(self.view, request)
            if choice is None:
                continue
            j = choice.index if isinstance(choice, InstanceView) else int(choice)
            self.state.inflight[j] += 1
            self.spy.on_start(self.view[j], request)
            self.pending.append((self.clock + self.rng.uniform(0.5, 2.0), j, request))
            self.pending.sort(key=lambda p: (p[0], p[2].id))

    def _answer_until(self, t: float) -> None:
        while self.pending and self.pending[0][0] <= t:
            end, j, request = self.pending.pop(0)
            self.state.inflight[j] -= 1
            self.spy.on_finish(self.view[j], request, end - request.arrival)


# =============================================================================================
# Autoscalers: check_autoscaler runs a policy through small scripted clusters (and one short
# simulation) and reports what it answered. Same report style as check_balancer.


__all__ += ["AutoscalerCheckError", "AutoscalerCheckReport", "check_autoscaler"]


class AutoscalerCheckError(AssertionError):
    """Raised by :meth:`AutoscalerCheckReport.raise_if_failed`; ``report`` holds the details."""

    def __init__(self, report: AutoscalerCheckReport):
        super().__init__(str(report))
        self.report = report


class AutoscalerCheckReport(CheckReport):
    """What :func:`check_autoscaler` found: ``checks``, ``passed``, ``failed``, as for
    balancers; ``raise_if_failed()`` raises :class:`AutoscalerCheckError`."""

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise AutoscalerCheckError(self)

    def _headline(self) -> str:
        n = len(self.checks)
        if self.passed:
            return f"check_autoscaler({self.balancer}): all {n} checks passed"
        return f"check_autoscaler({self.balancer}): {len(self.failed)} of {n} checks failed"

    def __repr__(self) -> str:
        return f"<AutoscalerCheckReport {self._headline()}>"


def check_autoscaler(autoscaler, *, seed: int = 0) -> AutoscalerCheckReport:
    """Run every conformance check on ``autoscaler`` (an object with ``desired(observation)``;
    ``reset()`` optional) and return an :class:`AutoscalerCheckReport`. Nothing is raised
    when a check fails or the policy crashes: the report says what happened.

    The checks: it answers a whole number of instances (an int, or a float such as 3.0; the
    simulator clamps answers outside ``[min_instances, max_instances]`` into range, and the
    report says when it had to); the same observations give the same answers after
    ``reset()``; it copes with zero traffic (utilization 0) and with a missing metric
    (utilization NaN: no ready instance yet, or a metrics outage); it never raises on a valid
    observation; it runs in the simulator.

    >>> import scalelab as sl
    >>> check_autoscaler(sl.autoscalers.HPA()).raise_if_failed()
    """
    if isinstance(autoscaler, type):
        raise TypeError(f"check_autoscaler needs an autoscaler object, not the class: "
                        f"check_autoscaler({autoscaler.__name__}())")
    if not callable(getattr(autoscaler, "desired", None)):
        raise TypeError(f"autoscaler must have a desired(observation) method, got {autoscaler!r}")
    seed = _validate.seed(seed)
    return AutoscalerCheckReport(_name(autoscaler), _run_checks(
        _AUTOSCALER_CHECKS, lambda check: check(autoscaler, seed)))


_AUTOSCALER_CHECKS: list[tuple[str, object]] = []
_autoscaler_check = _registry(_AUTOSCALER_CHECKS)


_MIN, _MAX, _INTERVAL, _BOOT = 1, 8, 15.0, 60.0


def _busy_then_quiet(seed: int) -> list[float]:
    """Offered load per 15 s interval, in instances' worth of work: calm, a surge, quiet."""
    rng = np.random.default_rng([seed, 41])
    plan = [1.2] * 20 + [6.0] * 60 + [0.4] * 80
    return [max(0.0, x * rng.normal(1.0, 0.1)) for x in plan]


class _ScriptedCluster:
    """A cluster without requests: each step builds the Observation the simulator would give
    (utilization = load ÷ ready instances, NaN without ready instances or when the load is
    NaN) and applies the answer as the simulator does (clamped; booting instances are
    cancelled first)."""

    def __init__(self, policy, seed: int, start_ready: int = 2, start_booting: int = 0):
        self.policy, self.rng = policy, np.random.default_rng([seed, 43])
        self.ready, self.booting = start_ready, [_BOOT] * start_booting
        self.answers: list[tuple[float, int, int]] = []   # (time, answer, current)
        self.clamped: list[tuple[float, int]] = []

    def run(self, loads) -> list[int]:
        reset = getattr(self.policy, "reset", None)
        if callable(reset):
            _ask(reset, "reset()")
        for k, load in enumerate(loads, start=1):
            self.step(k * _INTERVAL, load)
        return [answer for _, answer, _ in self.answers]

    def step(self, now: float, load: float) -> int:
        self.ready += sum(1 for t in self.booting if t <= now)
        self.booting = [t for t in self.booting if t > now]
        measured = self.ready > 0 and not _math.isnan(load)
        utilization = min(1.0, load / self.ready) if measured else _math.nan
        latencies = (self.rng.exponential(1.0 / max(1e-3, 1.0 - min(utilization, 0.99)),
                                          max(0, int(load * _INTERVAL)))
                     if measured else np.empty(0))
        observation = _Observation(
            time=now, ready=self.ready, warming=len(self.booting), utilization=utilization,
            request_rate=0.0 if _math.isnan(load) else load, queue_length=int(
                max(0.0, load - self.ready) * _INTERVAL) if measured else 0,
            min_instances=_MIN, max_instances=_MAX, interval=_INTERVAL, latencies=latencies)
        answer = _whole(_ask(self.policy.desired, f"desired(…) at t={now:g} s", observation),
                        observation)
        current = observation.current
        wanted = max(_MIN, min(_MAX, answer))
        if wanted != answer:
            self.clamped.append((now, answer))
        self.answers.append((now, answer, current))
        if wanted > current:
            self.booting += [now + _BOOT] * (wanted - current)
        for _ in range(current - wanted):
            if self.booting:
                self.booting.pop()
            else:
                self.ready -= 1
        return answer


def _ask(method, call: str, *args):
    try:
        return method(*args)
    except Exception as error:  # noqa: BLE001 — a crash in the policy is a finding
        raise _crash(call, error, None) from None


def _whole(answer, observation) -> int:
    """The answer as an int, or _Failed saying what the policy returned instead."""
    where = (f"at t={observation.time:g} s (ready {observation.ready}, booting "
             f"{observation.warming}, utilization {observation.utilization:.2f})")
    if isinstance(answer, (bool, np.bool_)):
        raise _Failed(f"desired returned {answer!r} {where}: return a number of instances, "
                      "not True/False")
    if isinstance(answer, (int, np.integer)):
        return int(answer)
    if isinstance(answer, (float, np.floating)) and _math.isfinite(answer) \
            and answer == int(answer):
        return int(answer)
    if answer is None:
        hint = " (did you forget `return`?)"
    elif isinstance(answer, (float, np.floating)) and _math.isnan(answer):
        hint = (" (utilization is NaN when nothing was measured: hold the current count, "
                "observation.current, instead of computing with it)")
    elif isinstance(answer, (float, np.floating)):
        hint = " (round it: math.ceil(…) or round(…))"
    else:
        hint = ""
    raise _Failed(f"desired returned {answer!r} {where}: it must return a whole number of "
                  f"instances{hint}")


def _span(answers) -> str:
    return f"{min(answers)}" if min(answers) == max(answers) else \
        f"between {min(answers)} and {max(answers)}"


@_autoscaler_check("returns a whole number of instances (clamped into [min, max])")
def _returns_whole_numbers(autoscaler, seed: int) -> str:
    cluster = _ScriptedCluster(autoscaler, seed)
    answers = cluster.run(_busy_then_quiet(seed))
    text = (f"answered {len(answers)} observations of a calm, busy, then quiet cluster with "
            f"whole numbers {_span(answers)}")
    if cluster.clamped:
        t, answer = cluster.clamped[0]
        return (text + f"; {len(cluster.clamped)} were outside [min_instances, max_instances] "
                f"= [{_MIN}, {_MAX}] (first: {answer} at t={t:g} s), which the simulator "
                "clamps into range")
    return text + f", all within [min_instances, max_instances] = [{_MIN}, {_MAX}]"


@_autoscaler_check("gives the same answers for the same observations after reset()")
def _repeatable_answers(autoscaler, seed: int) -> str:
    runs = [_ScriptedCluster(autoscaler, seed) for _ in range(2)]
    for cluster in runs:
        cluster.run(_busy_then_quiet(seed))
    for (t, first, _), (_, second, _) in zip(runs[0].answers, runs[1].answers):
        if first != second:
            raise _Failed(f"two runs over the same observations differed at t={t:g} s: it "
                          f"answered {first} in the first and {second} in the second (keep "
                          "timers and windows in attributes that reset() clears, and take "
                          "randomness from a seeded generator)")
    return f"two runs after reset() gave the same {len(runs[0].answers)} answers"


@_autoscaler_check("copes with zero traffic (utilization 0)")
def _zero_traffic(autoscaler, seed: int) -> str:
    cluster = _ScriptedCluster(autoscaler, seed, start_ready=4)
    answers = cluster.run([0.0] * 80)
    end = min(_MAX, max(_MIN, answers[-1]))
    return (f"with no traffic for 20 minutes it answered {_span(answers)} and ended with "
            f"{end} instance{'s' if end != 1 else ''} (starting from 4)")


@_autoscaler_check("copes with a missing metric (utilization NaN)")
def _missing_metric(autoscaler, seed: int) -> str:
    cluster = _ScriptedCluster(autoscaler, seed, start_ready=0, start_booting=2)
    loads = [1.5] * 12 + [_math.nan] * 8 + [1.5] * 12
    answers = cluster.run(loads)
    cold = [a for t, a, _ in cluster.answers if t < _BOOT]
    outage = [a for t, a, _ in cluster.answers[12:20]]
    return (f"answered {_span(cold)} while no instance was ready yet, and {_span(outage)} "
            f"during a 2-minute metrics outage ({len(answers)} observations)")


@_autoscaler_check("never raises on a valid observation")
def _random_observations(autoscaler, seed: int) -> str:
    rng = np.random.default_rng([seed, 47])
    reset = getattr(autoscaler, "reset", None)
    if callable(reset):
        _ask(reset, "reset()")
    count = 300
    for k in range(count):
        low = int(rng.integers(1, 4))
        high = int(rng.integers(low, 12))
        ready = int(rng.integers(0, high + 1))
        warming = int(rng.integers(0, max(1, high - ready + 1)))
        if ready == 0:
            utilization = _math.nan
        else:
            utilization = float(rng.choice([0.0, 1.0, _math.nan, rng.random()],
                                           p=[0.1, 0.1, 0.1, 0.7]))
        observation = _Observation(
            time=_INTERVAL * (k + 1), ready=ready, warming=warming, utilization=utilization,
            request_rate=float(rng.exponential(5.0)), queue_length=int(rng.integers(0, 50)),
            min_instances=low, max_instances=high, interval=_INTERVAL,
            latencies=rng.exponential(1.0, int(rng.integers(0, 20))))
        _whole(_ask(autoscaler.desired, f"desired(…) at t={observation.time:g} s",
                    observation), observation)
    return f"answered {count} random valid observations (NaN, 0 and 1 utilization included)"


@_autoscaler_check("runs in the simulator")
def _in_the_simulator(autoscaler, seed: int) -> str:
    spike = _workloads.spike(base_rate=1.0, peak_rate=4.0, at=300.0, length=600.0,
                             duration=1200.0, seed=seed)
    res = simulate(spike, instances=2, service_time=1.0, autoscaler=autoscaler,
                   min_instances=1, max_instances=6, boot_time=60.0, seed=seed)
    launches = sum(1 for _, _, what in res.events if what == "launch")
    removals = sum(1 for _, _, what in res.events if what in ("drain", "cancelled"))
    most = int(np.ceil(res.timeline(bin=60.0)["instances"].max()))
    return (f"in a 20-minute simulated spike it launched {launches} and removed {removals} "
            f"instances (at most {most} in service)")

"""Things that go wrong, and the health checks that notice them.

Pass failures to ``simulate(failures=[…])`` and a checker to ``simulate(health_check=…)``.
Times in seconds.

>>> import scalelab as sl
>>> crash = sl.Crash(instance=0, at=100.0)                 # dies at t = 100 s, never returns
>>> probe = sl.HealthCheck(interval=2, unhealthy_threshold=3)  # HAProxy's defaults
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _validate

DEFAULT_PROBE_TIMEOUT = 1.0  # s; a shorter interval shortens it to the interval


@dataclass(frozen=True)
class HealthCheck:
    """Active health checks: every ``interval`` s the balancer probes each instance.

    A probe fails if the instance is down (at once) or hung (after ``timeout`` s; by default
    1 s, or ``interval`` if that is shorter). ``unhealthy_threshold`` failures in a row mark an
    instance down, so no new request goes to it; ``healthy_threshold`` successes in a row
    bring it back. Detecting a crashed instance takes up to ``unhealthy_threshold × interval``
    seconds; a hung one up to ``unhealthy_threshold × interval + timeout``, since its last probe
    waits for the timeout. The defaults (2 s, 3 failures, 2 successes) are HAProxy's ``inter``,
    ``fall``, ``rise``.
    """

    interval: float = 2.0
    timeout: float | None = None
    unhealthy_threshold: int = 3
    healthy_threshold: int = 2

    def __post_init__(self):
        interval = _validate.positive("interval", self.interval)
        if self.timeout is None:
            object.__setattr__(self, "timeout", min(DEFAULT_PROBE_TIMEOUT, interval))
        _validate.positive("timeout", self.timeout)
        _validate.integer("unhealthy_threshold", self.unhealthy_threshold, minimum=1)
        _validate.integer("healthy_threshold", self.healthy_threshold, minimum=1)
        if self.timeout > self.interval:
            raise ValueError(f"timeout must be ≤ interval ({self.interval:g} s), "
                             f"got {self.timeout:g}")


class ProbeCounts:
    """The health-check state machine, the same in the simulator and the real proxy: per
    instance, the failures and the successes in a row; ``unhealthy_threshold`` failures turn
    a healthy instance unhealthy, ``healthy_threshold`` successes turn it healthy again."""

    def __init__(self, check: HealthCheck, n_instances: int = 0):
        self.check = check
        self.fails = [0] * n_instances
        self.oks = [0] * n_instances

    def add(self) -> None:
        """Count for one more instance (the next index)."""
        self.fails.append(0)
        self.oks.append(0)

    def record(self, j: int, success: bool, healthy: bool) -> bool | None:
        """Count one probe of instance ``j``, which is ``healthy`` now: its new health if a
        threshold was just met, else None."""
        if success:
            self.fails[j] = 0
            self.oks[j] += 1
            if not healthy and self.oks[j] >= self.check.healthy_threshold:
                return True
        else:
            self.oks[j] = 0
            self.fails[j] += 1
            if healthy and self.fails[j] >= self.check.unhealthy_threshold:
                return False
        return None

    def refused(self, j: int) -> None:
        """A refused connection (passive ejection): enough failures to be down, no success."""
        self.oks[j] = 0
        self.fails[j] = max(self.fails[j], self.check.unhealthy_threshold)


class Failure:
    """Base of the failure kinds: something happens to ``instance`` from ``at`` seconds."""

    instance: int
    at: float

    def _check(self, until_name: str, until) -> None:
        _validate.integer("instance", self.instance, minimum=0)
        _validate.number("at", self.at, minimum=0)
        if until is not None and _validate.number(until_name, until, minimum=0) <= self.at:
            raise ValueError(f"{until_name} must be after at ({self.at:g} s), got {until:g}")


@dataclass(frozen=True)
class Crash(Failure):
    """The instance's process dies at ``at``: requests it holds fail, new connections are
    refused. At ``recover_at`` (None: never) it is back, empty, and must pass health checks."""

    instance: int
    at: float
    recover_at: float | None = None

    def __post_init__(self):
        self._check("recover_at", self.recover_at)


@dataclass(frozen=True)
class Hang(Failure):
    """The instance stops answering at ``at`` but still accepts connections: its requests
    time out after the client's ``timeout`` (``simulate(timeout=…)``, 30 s unless given).
    At ``until`` (None: never) it comes back, empty."""

    instance: int
    at: float
    until: float | None = None

    def __post_init__(self):
        self._check("until", self.until)


@dataclass(frozen=True)
class Slowdown(Failure):
    """From ``at`` to ``until`` the instance works ``factor`` times slower (a noisy neighbour,
    a full disk). Health checks still pass: it is slow, not dead."""

    instance: int
    at: float
    until: float | None = None
    factor: float = 5.0

    def __post_init__(self):
        self._check("until", self.until)
        _validate.number("factor", self.factor, above=0)


@dataclass(frozen=True)
class Pause(Failure):
    """The instance stops working for ``length`` seconds from ``at`` (a garbage-collection
    pause, a stalled disk), and again every ``every`` seconds if given. Work resumes where it
    stopped; requests wait. Health checks still pass."""

    instance: int
    at: float
    length: float
    every: float | None = None

    def __post_init__(self):
        self._check("until", None)
        _validate.positive("length", self.length)
        if self.every is not None and _validate.positive("every", self.every) <= self.length:
            raise ValueError(f"every must be longer than length ({self.length:g} s), "
                             f"got {self.every:g}")

    def end_of_work(self, start: float, work: float) -> float:
        """When work of ``work`` seconds that may begin at ``start`` is done, pauses skipped."""
        while True:
            pause = self._pause_at_or_after(start)
            if start >= pause:                      # inside a pause: wait for its end
                start = pause + self.length
                continue
            if start + work <= pause:
                return start + work
            work -= pause - start
            start = pause + self.length

    def _pause_at_or_after(self, t: float) -> float:
        """Start of the pause that contains ``t``, or of the next one (inf if none)."""
        if self.every is None:
            return self.at if t < self.at + self.length else float("inf")
        if t < self.at:
            return self.at
        k = (t - self.at) // self.every
        start = self.at + k * self.every
        return start if t < start + self.length else start + self.every


def end_of_work(pauses, start: float, work: float) -> float:
    """When ``work`` seconds of work that may begin at ``start`` are done on an instance with
    these ``pauses`` (any number, overlapping or not): paused time does not count."""
    while True:
        nearest = min(pause._pause_at_or_after(start) for pause in pauses)
        holding = [p for p in pauses if p._pause_at_or_after(start) <= start]
        if holding:  # inside a pause: wait for the latest of the overlapping ones to end
            start = max(p._pause_at_or_after(start) + p.length for p in holding)
            continue
        if start + work <= nearest:
            return start + work
        work -= nearest - start
        start = nearest

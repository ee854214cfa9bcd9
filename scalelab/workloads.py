"""Arrival processes: when requests reach the service.

Every generator returns a :class:`Workload`: sorted arrival times in seconds from 0 to
``duration``. Rates are requests per second. Random ones take ``seed`` and give the same
times for the same seed. A workload holds at most ``_limits.MAX_REQUESTS`` (10⁷) requests:
each generator checks the expected count (rate × duration) before drawing any.

>>> import scalelab as sl
>>> wl = sl.workloads.poisson(rate=80, duration=600, seed=1)
>>> len(wl) > 0 and wl.duration
600.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _limits, _validate


@dataclass(frozen=True, eq=False)
class Workload:
    """Arrival times (seconds, sorted) over ``[0, duration]`` (generators stay below
    ``duration``; a replayed trace may end exactly on it).

    ``cost`` optionally multiplies each request's service time (a "heavy" request has cost 5);
    ``user`` optionally names the user or session behind each request.
    """

    arrivals: np.ndarray
    duration: float
    cost: np.ndarray | None = None
    user: np.ndarray | None = None
    name: str = field(default="custom")

    def __len__(self) -> int:
        return len(self.arrivals)

    @property
    def rate(self) -> float:
        """Mean arrival rate over the whole duration (requests per second)."""
        return len(self.arrivals) / self.duration

    def __repr__(self) -> str:
        return (f"Workload({self.name}: {len(self)} requests over {self.duration:g} s, "
                f"mean rate {self.rate:.4g}/s)")


def constant(rate: float, duration: float) -> Workload:
    """Evenly spaced arrivals, one every ``1/rate`` seconds (no randomness)."""
    rate = _validate.positive("rate", rate)
    duration = _validate.positive("duration", duration)
    _limits.requests("rate × duration", rate * duration)
    count = int(np.floor(rate * duration + 1e-9))
    return Workload(np.arange(count) / rate, duration, name=f"constant {rate:g}/s")


def poisson(rate: float, duration: float, seed: int = 0) -> Workload:
    """Poisson arrivals: independent exponential gaps with mean ``1/rate`` seconds."""
    rate = _validate.positive("rate", rate)
    duration = _validate.positive("duration", duration)
    _limits.requests("rate × duration", rate * duration)
    rng = np.random.default_rng(_validate.seed(seed))
    return Workload(_poisson_times(rate, duration, rng), duration, name=f"poisson {rate:g}/s")


def ramp(start_rate: float, end_rate: float, duration: float, seed: int = 0) -> Workload:
    """Poisson arrivals whose rate grows (or falls) linearly from ``start_rate`` to ``end_rate``."""
    start_rate = _validate.number("start_rate", start_rate, minimum=0)
    end_rate = _validate.number("end_rate", end_rate, minimum=0)
    duration = _validate.positive("duration", duration)
    if start_rate == end_rate == 0:
        raise ValueError("start_rate and end_rate must not both be 0")
    _limits.requests("(start_rate + end_rate) / 2 × duration",
                     (start_rate + end_rate) / 2 * duration)
    _limits.draws("max(start_rate, end_rate) × duration", max(start_rate, end_rate) * duration)

    def rate_at(t):
        return start_rate + (end_rate - start_rate) * t / duration

    times = _thinned(rate_at, max(start_rate, end_rate), duration, seed)
    return Workload(times, duration, name=f"ramp {start_rate:g}→{end_rate:g}/s")


def steps(rates, step_duration: float, seed: int = 0) -> Workload:
    """Poisson arrivals at ``rates[0]`` for ``step_duration`` seconds, then ``rates[1]``, …"""
    rates = np.array([_validate.number(f"rates[{k}]", r, minimum=0)
                      for k, r in enumerate(_validate.sequence("rates", rates))])
    if len(rates) == 0 or rates.max() <= 0:
        raise ValueError(f"rates must hold at least one rate > 0, got {rates.tolist()}")
    step_duration = _validate.positive("step_duration", step_duration)
    duration = step_duration * len(rates)
    _limits.requests("sum(rates) × step_duration", rates.sum() * step_duration)
    _limits.draws("max(rates) × step_duration × len(rates)", rates.max() * duration)

    def rate_at(t):
        return rates[np.minimum((t // step_duration).astype(int), len(rates) - 1)]

    times = _thinned(rate_at, rates.max(), duration, seed)
    return Workload(times, duration, name=f"steps {len(rates)}×{step_duration:g} s")


def spike(base_rate: float, peak_rate: float, at: float, length: float, duration: float,
          seed: int = 0) -> Workload:
    """Poisson arrivals at ``base_rate``, jumping to ``peak_rate`` from ``at`` for ``length`` s."""
    base_rate = _validate.number("base_rate", base_rate, minimum=0)
    peak_rate = _validate.positive("peak_rate", peak_rate)
    duration = _validate.positive("duration", duration)
    at = _validate.number("at", at, minimum=0, maximum=duration)
    length = _validate.positive("length", length)
    _limits.requests("base_rate × duration + (peak_rate − base_rate) × length",
                     base_rate * duration + (peak_rate - base_rate) * min(length, duration - at))
    _limits.draws("max(base_rate, peak_rate) × duration", max(base_rate, peak_rate) * duration)

    def rate_at(t):
        return np.where((t >= at) & (t < at + length), peak_rate, base_rate)

    times = _thinned(rate_at, max(base_rate, peak_rate), duration, seed)
    return Workload(times, duration, name=f"spike {base_rate:g}→{peak_rate:g}/s")


def diurnal(mean_rate: float, amplitude: float = 0.5, period: float = 86_400.0,
            duration: float | None = None, seed: int = 0) -> Workload:
    """A day of traffic: Poisson arrivals whose rate follows a sine wave around ``mean_rate``.

    The rate is lowest at t = 0 (night) and highest at ``period / 2`` (midday):
    ``mean_rate × (1 − amplitude × cos(2πt / period))``; ``amplitude`` is a fraction in [0, 1].
    """
    mean_rate = _validate.positive("mean_rate", mean_rate)
    amplitude = _validate.number("amplitude", amplitude, minimum=0, maximum=1)
    period = _validate.positive("period", period)
    duration = period if duration is None else _validate.positive("duration", duration)
    # ∫ rate dt over [0, duration] is at most mean_rate × (duration + amplitude × period / 2π)
    wave = amplitude * abs(np.sin(2 * np.pi * duration / period)) * period / (2 * np.pi)
    _limits.requests("mean_rate × duration", mean_rate * (duration + wave))
    _limits.draws("mean_rate × (1 + amplitude) × duration", mean_rate * (1 + amplitude) * duration)

    def rate_at(t):
        return mean_rate * (1 - amplitude * np.cos(2 * np.pi * t / period))

    times = _thinned(rate_at, mean_rate * (1 + amplitude), duration, seed)
    return Workload(times, duration, name=f"diurnal {mean_rate:g}/s ±{amplitude:.0%}")


def sessions(rate: float, duration: float, requests: int = 5, think_time: float = 5.0,
             seed: int = 0) -> Workload:
    """Users who log in and then browse: new users arrive as a Poisson stream at ``rate`` per
    second; each sends ``requests`` requests (the first is the login) separated by
    exponential think times with mean ``think_time`` seconds. ``Workload.user`` holds each
    request's user id (0, 1, 2, … in order of arrival); requests after ``duration`` are cut.
    """
    rate = _validate.positive("rate", rate)
    duration = _validate.positive("duration", duration)
    requests = _validate.integer("requests", requests, minimum=1)
    think_time = _validate.number("think_time", think_time, minimum=0)
    _limits.requests("rate × duration × requests", rate * duration * requests)
    rng = np.random.default_rng(_validate.seed(seed))
    starts = _poisson_times(rate, duration, rng)
    gaps = rng.exponential(think_time, (len(starts), requests - 1)) if think_time else \
        np.zeros((len(starts), requests - 1))
    times = starts[:, None] + np.concatenate([np.zeros((len(starts), 1)),
                                              np.cumsum(gaps, axis=1)], axis=1)
    users = np.repeat(np.arange(len(starts)), requests)
    times = times.ravel()
    keep = times < duration
    order = np.argsort(times[keep], kind="stable")
    return Workload(times[keep][order], duration, user=users[keep][order],
                    name=f"sessions {rate:g} users/s × {requests}")


def from_times(times, duration: float | None = None) -> Workload:
    """A workload from your own arrival times in seconds (a replayed trace); sorted for you."""
    array = np.sort(_validate.times("times", times))
    if duration is None:
        duration = float(array[-1]) if len(array) and array[-1] > 0 else 1.0
    duration = _validate.positive("duration", duration)
    if len(array) and array[-1] > duration:
        raise ValueError(f"duration must cover every time, got {duration:g} < {array[-1]:g}")
    return Workload(array, duration, name="trace")


def _poisson_times(rate: float, duration: float, rng: np.random.Generator) -> np.ndarray:
    """Homogeneous Poisson arrivals by cumulating exponential gaps (O(n), no sort)."""
    expected = rate * duration
    chunk = int(expected + 6 * np.sqrt(expected) + 16)
    times = rng.exponential(1.0 / rate, chunk)
    np.cumsum(times, out=times)
    while times[-1] < duration:
        more = np.cumsum(rng.exponential(1.0 / rate, chunk)) + times[-1]
        times = np.concatenate([times, more])
    return times[: np.searchsorted(times, duration)]


def _thinned(rate_at, max_rate: float, duration: float, seed: int) -> np.ndarray:
    """Non-homogeneous Poisson arrivals by thinning: keep a rate-``max_rate`` point at t
    with probability ``rate_at(t) / max_rate`` (exact for any bounded rate)."""
    rng = np.random.default_rng(_validate.seed(seed))
    candidates = _poisson_times(max_rate, duration, rng)
    keep = rng.random(len(candidates)) * max_rate < rate_at(candidates)
    return candidates[keep]

"""Service-time distributions: how long one request keeps an instance of speed 1 busy.

Times are in seconds. ``simulate(service_time=0.04)`` means an exponential with mean 40 ms;
pass one of these classes for anything else:

>>> import scalelab as sl
>>> sl.Constant(0.04).mean
0.04
>>> sl.LogNormal(mean=0.04, sigma=1.5)   # heavy tail: most requests fast, a few very slow
LogNormal(mean=0.04, sigma=1.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _validate


class ServiceTime:
    """Base class: a distribution with a ``mean`` (seconds) and ``sample(rng, n)``."""

    mean: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` service times in seconds."""
        raise NotImplementedError


@dataclass(frozen=True)
class Exponential(ServiceTime):
    """Exponential service times (the M in M/M/1): memoryless, coefficient of variation 1."""

    mean: float

    def __post_init__(self):
        _validate.positive("service_time mean", self.mean)

    def sample(self, rng, n):
        return rng.exponential(self.mean, n)


@dataclass(frozen=True)
class Constant(ServiceTime):
    """Every request takes exactly ``mean`` seconds (the D in M/D/1)."""

    mean: float

    def __post_init__(self):
        _validate.positive("service_time", self.mean)

    def sample(self, rng, n):
        return np.full(n, float(self.mean))


@dataclass(frozen=True)
class LogNormal(ServiceTime):
    """Heavy-tailed service times with the given ``mean``; ``sigma`` (of the log) sets the tail."""

    mean: float
    sigma: float = 1.0

    def __post_init__(self):
        _validate.positive("service_time mean", self.mean)
        _validate.positive("sigma", self.sigma)

    def sample(self, rng, n):
        mu = math.log(self.mean) - self.sigma**2 / 2
        return rng.lognormal(mu, self.sigma, n)


@dataclass(frozen=True)
class Pareto(ServiceTime):
    """Pareto service times with the given ``mean`` and tail index ``alpha`` > 1 (smaller =
    heavier)."""

    mean: float
    alpha: float = 2.5

    def __post_init__(self):
        _validate.positive("service_time mean", self.mean)
        _validate.number("alpha", self.alpha, above=1)

    def sample(self, rng, n):
        scale = self.mean * (self.alpha - 1) / self.alpha
        return scale * (1.0 + rng.pareto(self.alpha, n))


def as_service_time(value, name: str = "service_time") -> ServiceTime:
    """A float means an exponential with that mean; a ServiceTime passes through."""
    if isinstance(value, ServiceTime):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(
            f"{name} must be a mean in seconds (a number) or a distribution such as "
            f"sl.Constant(0.04), got {value!r} ({type(value).__name__})"
        )
    return Exponential(_validate.positive(name, value))

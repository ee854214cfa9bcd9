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
from statistics import NormalDist

import numpy as np

from . import _validate
from ._limits import MAX_REQUESTS


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
        _validate.positive("service_time mean", self.mean)

    def sample(self, rng, n):
        return np.full(n, float(self.mean))


def _largest_sigma(draws: int, share_missed: float) -> float:
    """The largest log-normal ``sigma`` whose mean ``draws`` samples can show.

    For X = exp(μ + σZ), the draws with Z > z carry the share 1 − Φ(z − σ) of E[X]
    (E[X; Z > z] = E[X] Φ(σ − z)). A run of n draws almost never sees Z above
    z_n = Φ⁻¹(1 − 1/n), so its mean misses that share of the tail; keeping the share below
    ``share_missed`` needs σ ≤ z_n − Φ⁻¹(1 − share_missed).
    """
    normal = NormalDist()
    return normal.inv_cdf(1 - 1 / draws) - normal.inv_cdf(1 - share_missed)


# even a run of the most requests the course holds misses at most 1 % of the mean: σ ≤ 2.87
LOGNORMAL_MAX_SIGMA = round(_largest_sigma(MAX_REQUESTS, 0.01), 2)


@dataclass(frozen=True)
class LogNormal(ServiceTime):
    """Heavy-tailed service times with the given ``mean``; ``sigma`` (of the log) sets the tail.

    ``sigma`` is at most ``LOGNORMAL_MAX_SIGMA`` (2.87): beyond it the draws rarer than one in
    10⁷ carry more than 1 % of the mean, so even the largest run's measured mean comes out low
    (at sigma = 50 every draw is 0 in floating point, and the mean with them).
    """

    mean: float
    sigma: float = 1.0

    def __post_init__(self):
        _validate.positive("service_time mean", self.mean)
        sigma = _validate.positive("sigma", self.sigma)
        if sigma > LOGNORMAL_MAX_SIGMA:
            raise ValueError(
                f"sigma must be ≤ {LOGNORMAL_MAX_SIGMA} for a log-normal, got {sigma:g}: with a "
                f"larger sigma, draws rarer than one in 10⁷ (more requests than a run holds) "
                f"carry over 1 % of the mean, so a run's mean comes out below {self.mean:g} s")

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

"""Closed forms for queues, scaling and availability: lesson curves and simulator oracles.

Units: time in seconds, rates per second, utilization (load) as a fraction 0–1,
availability as a probability 0–1. Rates, times, loads and probabilities may be numpy
arrays: the answer is then computed element by element, so a lesson can draw a curve
over a grid of loads; scalars in give floats out. Past the wall (utilization ≥ 1) the
means are ``inf`` instead of an error, so the curve can be plotted right up to it.
Counts (``servers``, ``k``, ``instances``, ``choices``, replicas) are plain integers.

>>> q = mm1(arrival_rate=8, service_time=0.1)       # one server, 80 % busy
>>> round(q.mean_response, 3), round(q.response_percentile(0.99), 3)
(0.5, 2.303)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._limits import count
from ._validate import integer

__all__ = [
    "Queue", "amdahl", "availability", "downtime_per_year", "ek_m1", "erlang_c",
    "kingman_wait", "littles_law", "mm1", "mmc", "round_robin", "series", "supermarket", "usl",
    "usl_peak",
]

MINUTES_PER_YEAR = 365 * 24 * 60
# the Erlang recursion takes one step per server (0.06 s for 10⁵ here); availability's takes
# n steps over n + 1 terms (0.03 s for 10³)
MAX_SERVERS = 10**5
MAX_REPLICAS = 10**3

_RULES = {
    "≥ 0": lambda x: x >= 0,
    "> 0": lambda x: x > 0,
    "≥ 1": lambda x: x >= 1,
    "in [0, 1]": lambda x: (x >= 0) & (x <= 1),
    "in (0, 1)": lambda x: (x > 0) & (x < 1),
}


def _real(name: str, value: ArrayLike, rule: str, *, allow_inf: bool = False) -> np.ndarray:
    """``value`` as a float array, or an error naming ``name``, the value and ``rule``."""
    try:
        kind = np.asarray(value).dtype.kind
    except ValueError:  # ragged nested lists
        kind = "O"
    if isinstance(value, (bool, np.bool_)) or kind not in "iuf":
        raise TypeError(f"{name} must be a number or an array of numbers, "
                        f"got {value!r} ({type(value).__name__})")
    x = np.asarray(value, dtype=float)
    ok = _RULES[rule](x) & (np.isfinite(x) | allow_inf)
    if not np.all(ok):
        index = int(np.argmin(ok.ravel()))
        bad = x.ravel()[index]
        need = rule if allow_inf or not np.isinf(bad) else f"finite and {rule}"
        got = f"{value}" if x.ndim == 0 else f"{bad} (element {index} of the array)"
        raise ValueError(f"{name} must be {need}, got {got}")
    return x


def _out(x: ArrayLike) -> float | np.ndarray:
    """A plain float for a scalar result, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x)


def _rates(arrival_rate: ArrayLike, service_time: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return (_real("arrival_rate", arrival_rate, "≥ 0"),
            _real("service_time", service_time, "> 0"))


@dataclass(frozen=True)
class Queue:
    """Steady state of a FIFO station of exponential servers.

    A request waits 0 s with probability ``1 - p_wait``, otherwise an exponential time
    of rate ``wait_rate`` (per second; 0 past the wall); its response time is that wait
    plus one exponential service of mean ``service_time``. M/M/1, M/M/c and GI/M/1 all
    have this shape. ``arrival_rate`` is the rate into the whole station.

    >>> q = mmc(arrival_rate=2.4, service_time=1.0, servers=3)
    >>> q.model, round(q.p_wait, 4), round(q.mean_response, 4)
    ('M/M/3', 0.6472, 2.0787)
    """

    model: str
    arrival_rate: float | np.ndarray
    service_time: float | np.ndarray
    servers: int
    p_wait: float | np.ndarray
    wait_rate: float | np.ndarray

    @property
    def utilization(self) -> float | np.ndarray:
        """Offered load per server, λ·S/c (≥ 1 means the queue grows without bound)."""
        return _out(np.multiply(self.arrival_rate, self.service_time) / self.servers)

    @property
    def mean_wait(self) -> float | np.ndarray:
        """Wq: mean seconds spent queueing before service starts."""
        with np.errstate(divide="ignore"):
            return _out(np.divide(self.p_wait, self.wait_rate))

    @property
    def mean_response(self) -> float | np.ndarray:
        """W: mean seconds from arrival to completion (wait + service)."""
        return _out(np.add(self.mean_wait, self.service_time))

    @property
    def mean_in_system(self) -> float | np.ndarray:
        """L: mean number of requests queued or in service (Little: L = λW)."""
        return _out(np.multiply(self.arrival_rate, self.mean_response))

    @property
    def mean_in_queue(self) -> float | np.ndarray:
        """Lq: mean number of requests queued (Little: Lq = λWq)."""
        return _out(np.multiply(self.arrival_rate, self.mean_wait))

    def response_percentile(self, q: ArrayLike) -> float | np.ndarray:
        """Response time (seconds) that a fraction ``q`` of requests stay under.

        >>> round(mm1(0.8, 1.0).response_percentile(0.95), 3)
        14.979
        """
        q = _real("q", q, "in (0, 1)")
        mu = 1 / np.asarray(self.service_time, dtype=float)
        if self.servers == 1:  # one server: the response time is exactly Exp(wait_rate)
            with np.errstate(divide="ignore"):
                return _out(-np.log1p(-q) / self.wait_rate)
        return _out(_wait_plus_service_quantile(q, mu, self.wait_rate, self.p_wait))


def _wait_plus_service_quantile(q, mu, theta, p_wait) -> np.ndarray:
    """Quantile of Exp(mu) + (Exp(theta) with probability p_wait, else 0), by bisection."""
    q, mu, theta, p_wait = np.broadcast_arrays(q, mu, theta, p_wait)
    stable = theta > 0
    theta = np.where(stable, theta, mu)
    rate = np.minimum(mu, theta)
    gap = np.abs(theta - mu)
    lo = np.zeros(q.shape)
    hi = 2 * np.log(2 / (1 - q)) / rate  # P(T > t) <= 2 exp(-rate t / 2)
    for _ in range(100):
        t = (lo + hi) / 2
        x = gap * t
        with np.errstate(invalid="ignore", divide="ignore"):
            shape = np.where(x > 0, -np.expm1(-x) / x, 1.0)
        # (e^{-mu t} - e^{-theta t}) / (theta - mu), written without cancellation
        between = np.exp(-rate * t) * t * shape
        survival = np.exp(-mu * t) + p_wait * mu * between
        above = survival > 1 - q
        lo, hi = np.where(above, t, lo), np.where(above, hi, t)
    return np.where(stable, (lo + hi) / 2, np.inf)


def mm1(arrival_rate: ArrayLike, service_time: ArrayLike) -> Queue:
    """M/M/1: Poisson arrivals, one exponential server; W = 1/(μ − λ).

    >>> round(mm1(arrival_rate=3.2, service_time=0.25).mean_response, 3)
    1.25
    """
    lam, s = _rates(arrival_rate, service_time)
    rho = lam * s
    return Queue("M/M/1", _out(lam), _out(s), 1, _out(np.minimum(rho, 1.0)),
                 _out(np.where(rho < 1, 1 / s - lam, 0.0)))


def _erlang_c(a: np.ndarray, c: int) -> np.ndarray:
    """P(wait) for offered load ``a`` Erlangs on ``c`` servers, via the Erlang-B recursion."""
    b = np.ones_like(a)
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rho < 1, b / (1 - rho * (1 - b)), 1.0)


def erlang_c(arrival_rate: ArrayLike, service_time: ArrayLike, servers: int) -> float | np.ndarray:
    """Erlang C: probability that a request to an M/M/c station has to wait.

    >>> round(erlang_c(arrival_rate=8, service_time=1.0, servers=12), 4)
    0.1398
    """
    lam, s = _rates(arrival_rate, service_time)
    return _out(_erlang_c(lam * s, _servers(servers)))


def mmc(arrival_rate: ArrayLike, service_time: ArrayLike, servers: int) -> Queue:
    """M/M/c: Poisson arrivals, one shared FIFO queue, ``servers`` exponential servers.

    >>> round(mmc(arrival_rate=3.2, service_time=1.0, servers=4).mean_response, 4)
    1.7455
    """
    lam, s = _rates(arrival_rate, service_time)
    c = _servers(servers)
    a = lam * s
    return Queue(f"M/M/{c}", _out(lam), _out(s), c, _out(_erlang_c(a, c)),
                 _out(np.where(a < c, c / s - lam, 0.0)))


def ek_m1(k: int, arrival_rate: ArrayLike, service_time: ArrayLike) -> Queue:
    """E_k/M/1: Erlang-k arrivals of total rate ``arrival_rate``, one exponential server.

    GI/M/1 theory: σ = A*(μ(1 − σ)) with A*(s) = (kλ/(kλ + s))^k; an arrival waits
    with probability σ and W = 1/(μ(1 − σ)).

    >>> q = ek_m1(4, arrival_rate=0.8, service_time=1.0)
    >>> round(q.p_wait, 4), round(q.mean_response, 4)
    (0.6939, 3.2674)
    """
    k = integer("k", k, minimum=1)
    lam, s = _rates(arrival_rate, service_time)
    mu = 1 / s
    lo, hi = np.zeros(np.broadcast(lam, mu).shape), np.ones(np.broadcast(lam, mu).shape)
    for _ in range(100):  # bisection: f(σ) = A*(μ(1−σ)) − σ is > 0 below the root
        sigma = (lo + hi) / 2
        above = (k * lam / (k * lam + mu * (1 - sigma))) ** k > sigma
        lo, hi = np.where(above, sigma, lo), np.where(above, hi, sigma)
    sigma = np.where(lam * s < 1, (lo + hi) / 2, 1.0)
    return Queue(f"E{k}/M/1", _out(lam), _out(s), 1, _out(sigma), _out(mu * (1 - sigma)))


def round_robin(arrival_rate: ArrayLike, service_time: ArrayLike, instances: int) -> Queue:
    """One instance's queue when round robin splits a Poisson stream over ``instances``.

    Each instance sees every n-th arrival, an Erlang-n stream of rate λ/n, so this is
    ``ek_m1(instances, arrival_rate / instances, service_time)``; its mean response is
    the whole cluster's, its ``arrival_rate`` and ``mean_in_system`` are per instance.

    >>> round(round_robin(arrival_rate=3.6, service_time=1.0, instances=4).mean_response, 3)
    6.383
    """
    n = integer("instances", instances, minimum=1)
    lam = _real("arrival_rate", arrival_rate, "≥ 0")
    return ek_m1(n, lam / n, service_time)


def supermarket(load: ArrayLike, choices: int = 2,
                service_time: ArrayLike = 1.0) -> float | np.ndarray:
    """Mean response time (seconds) with power-of-d-choices over very many servers.

    Mitzenmacher's mean-field limit T = Σ_{i≥1} λ^((dⁱ − d)/(d − 1)), times the
    service time; ``load`` is λ per server (utilization); d = 1 is M/M/1.

    >>> round(supermarket(0.8, choices=2), 4)
    1.9474
    """
    lam = _real("load", load, "≥ 0")
    d = integer("choices", choices, minimum=1)
    s = _real("service_time", service_time, "> 0")
    stable = lam < 1
    lam = np.where(stable, lam, 0.5)
    if d == 1:
        total = 1 / (1 - lam)
    else:
        total = np.zeros_like(lam)
        for i in range(1, 200):
            term = lam ** float((d**i - d) // (d - 1))
            total = total + term
            if np.all(term <= 1e-17 * total):
                break
    return _out(np.where(stable, total, np.inf) * s)


def kingman_wait(arrival_rate: ArrayLike, service_time: ArrayLike, arrival_scv: ArrayLike = 1.0,
                 service_scv: ArrayLike = 1.0) -> float | np.ndarray:
    """Kingman's G/G/1 approximation of the mean wait in the queue (seconds, service excluded).

    Wq ≈ (c_a² + c_s²)/2 · ρ/(1 − ρ) · S, with ρ = λS and c² the squared coefficient of
    variation (variance ÷ mean²) of the gaps between arrivals (``arrival_scv``: 1 for
    Poisson arrivals, 0 for evenly spaced ones) and of the work (``service_scv``: 1 for
    exponential, 0 for constant work). With Poisson arrivals it is exact for any work
    distribution (the Pollaczek–Khinchine formula): ``service_scv=0`` is the M/D/1 queue,
    whose wait is half the M/M/1 one. ``inf`` at ρ ≥ 1. Kingman (1961), "The single server
    queue in heavy traffic", Proc. Cambridge Philos. Soc. 57(4), 902–904.

    >>> round(kingman_wait(0.8, 1.0), 3), round(kingman_wait(0.8, 1.0, service_scv=0), 3)
    (4.0, 2.0)
    """
    lam, s = _rates(arrival_rate, service_time)
    ca2 = _real("arrival_scv", arrival_scv, "≥ 0")
    cs2 = _real("service_scv", service_scv, "≥ 0")
    rho = lam * s
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = (ca2 + cs2) / 2 * rho / (1 - rho) * s
    return _out(np.where(rho < 1, wait, np.inf))


def littles_law(*, throughput: ArrayLike | None = None, response_time: ArrayLike | None = None,
                in_system: ArrayLike | None = None) -> float | np.ndarray:
    """Little's law L = λW: give exactly two of the three, get the third.

    ``throughput`` in requests per second, ``response_time`` in seconds, ``in_system``
    the mean number of requests inside.

    >>> littles_law(throughput=200, response_time=0.05)
    10.0
    """
    given = {name: value for name, value in [("throughput", throughput),
             ("response_time", response_time), ("in_system", in_system)] if value is not None}
    if len(given) != 2:
        raise TypeError("littles_law needs exactly two of throughput, response_time, in_system; "
                        f"got {', '.join(given) or 'none'}")
    if in_system is None:
        return _out(_real("throughput", throughput, "≥ 0")
                    * _real("response_time", response_time, "≥ 0"))
    if response_time is None:
        return _out(_real("in_system", in_system, "≥ 0") / _real("throughput", throughput, "> 0"))
    return _out(_real("in_system", in_system, "≥ 0") / _real("response_time", response_time, "> 0"))


def amdahl(parallel_fraction: ArrayLike, n: ArrayLike) -> float | np.ndarray:
    """Amdahl's law: speedup on ``n`` workers when ``parallel_fraction`` of the work parallelizes.

    ``n`` may be ``inf`` (the ceiling 1/(1 − p)).

    >>> round(amdahl(0.95, 16), 3), round(amdahl(0.95, float("inf")), 3)
    (9.143, 20.0)
    """
    p = _real("parallel_fraction", parallel_fraction, "in [0, 1]")
    n = _real("n", n, "≥ 1", allow_inf=True)
    with np.errstate(divide="ignore"):
        return _out(1 / ((1 - p) + p / n))


def usl(n: ArrayLike, alpha: ArrayLike, beta: ArrayLike) -> float | np.ndarray:
    """Universal Scalability Law: capacity of ``n`` nodes relative to one node.

    C(N) = N / (1 + α(N − 1) + βN(N − 1)); α is contention, β coherency cost.

    >>> round(usl(31, alpha=0.05, beta=0.001), 4)
    9.0379
    """
    n = _real("n", n, "≥ 1")
    alpha = _real("alpha", alpha, "in [0, 1]")
    beta = _real("beta", beta, "≥ 0")
    return _out(n / (1 + alpha * (n - 1) + beta * n * (n - 1)))


def usl_peak(alpha: ArrayLike, beta: ArrayLike) -> float | np.ndarray:
    """Node count N* = √((1 − α)/β) where USL capacity peaks (``inf`` when β = 0).

    >>> round(usl_peak(alpha=0.05, beta=0.001), 2)
    30.82
    """
    alpha = _real("alpha", alpha, "in [0, 1]")
    beta = _real("beta", beta, "≥ 0")
    with np.errstate(divide="ignore"):
        return _out(np.maximum(1.0, np.sqrt(np.divide(1 - alpha, beta))))


def availability(a: ArrayLike, n: int = 1, k: int = 1) -> float | np.ndarray:
    """Probability that at least ``k`` of ``n`` independent replicas, each up with ``a``, are up.

    >>> round(availability(0.99, n=2), 6), round(availability(0.99, n=3, k=2), 6)
    (0.9999, 0.999702)
    """
    a = _real("a", a, "in [0, 1]")
    n = count("n", integer("n", n, minimum=1), MAX_REPLICAS, "one step per replica, each over "
              "all of them")
    k = integer("k", k, minimum=1)
    if k > n:
        raise ValueError(f"k must be ≤ n ({n}), got {k}")
    up = np.zeros((n + 1,) + a.shape)  # up[j]: P(exactly j replicas up)
    up[0] = 1.0
    for _ in range(n):
        up[1:] = up[1:] * (1 - a) + up[:-1] * a
        up[0] = up[0] * (1 - a)
    return _out(up[k:].sum(axis=0))


def series(*availabilities: ArrayLike) -> float | np.ndarray:
    """Availability of components in series (all must be up): the product.

    >>> round(series(0.999, availability(0.99, n=2)), 4)   # one LB in front of 2 replicas
    0.9989
    """
    if not availabilities:
        raise TypeError("series needs at least one availability, got none")
    total = np.ones(())
    for i, a in enumerate(availabilities):
        total = total * _real(f"availabilities[{i}]", a, "in [0, 1]")
    return _out(total)


def downtime_per_year(a: ArrayLike) -> float | np.ndarray:
    """Expected minutes down per 365-day year at availability ``a``.

    >>> round(downtime_per_year(0.9999), 1)
    52.6
    """
    return _out((1 - _real("a", a, "in [0, 1]")) * MINUTES_PER_YEAR)


def _servers(servers) -> int:
    return count("servers", integer("servers", servers, minimum=1), MAX_SERVERS,
                 "the Erlang recursion takes one step per server")

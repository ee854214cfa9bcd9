"""Load-balancing policies: which instance serves the next request.

A policy is a small object with one method, ``pick(instances, request)``, that returns the
chosen instance (an item of ``instances`` or its index), or ``None`` when no instance is
healthy. ``instances`` is a read-only view: for each instance its ``index``, ``healthy``,
``inflight`` (requests it holds now), ``speed``, ``weight`` and ``latency`` (recent
response time in seconds, an exponentially weighted average; 0 before the first answer).
The same object runs in the simulator, in the real lab's proxy and in the exercise checker.
Times are in seconds (``request.arrival`` is the simulator's clock).

Built-in policies, each matching the reference behaviour named in its docstring:
:class:`RoundRobin`, :class:`WeightedRoundRobin`, :class:`Random`, :class:`LeastConnections`,
:class:`PowerOfTwoChoices`, :class:`JoinShortestQueue`, :class:`ConsistentHash` (and
:func:`jump_hash`), :class:`PeakEWMA`. ``scalelab.testing.check_balancer`` checks your own.

>>> import scalelab as sl
>>> class FirstHealthy(sl.balancers.Balancer):
...     def pick(self, instances, request):
...         return next((i for i in instances if i.healthy), None)
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from . import _validate, kernels
from .hashing import MAX_RING_POINTS, hash64, jump_hash, ring  # noqa: F401 — jump_hash: public
from .speedups import CountIndex, CountTracker, Draws, HealthyCache
from .views import (  # noqa: F401 — part of this module's public face
    ClusterState,
    InstancesView,
    InstanceView,
    Request,
    pick_avoiding,
    state_of,
)


class Balancer:
    """Base class for policies. Override ``pick``; the hooks are optional.

    ``self.rng`` is a ``numpy.random.Generator`` the simulator seeds before each run: use it
    for any randomness so that the same seed gives the same picks.
    """

    rng: np.random.Generator
    _ready = False  # prepare() has given it a generator and reset its run state

    def pick(self, instances: InstancesView, request: Request):
        """Return the instance (or its index) for ``request``, or ``None`` if none is healthy."""
        raise NotImplementedError(f"{type(self).__name__} must define pick(instances, request)")

    def on_start(self, instance: InstanceView, request: Request) -> None:
        """Called when ``request`` is sent to ``instance``."""

    def on_finish(self, instance: InstanceView, request: Request, latency: float) -> None:
        """Called when ``instance`` answers ``request`` after ``latency`` seconds."""

    def reset(self) -> None:
        """Forget run state; called before every run. (A built-in policy used outside a run
        resets itself before its first pick; ``super().reset()`` records that it is done.)"""
        self._ready = True

    fast_path = None
    """Optional, for speed only: ``fast_path(specs, most)`` returns a kernel (see
    ``scalelab.kernels``) that makes exactly the picks ``pick`` would make on instances
    ``specs`` with at most ``most`` of them taking traffic at once, or None. A subclass that
    overrides ``pick``, ``on_start``, ``on_finish`` or ``reset`` runs its own code, without
    the fast path, unless it defines ``fast_path`` too (``routing.fast_path``)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and k != "rng")
        return f"{type(self).__name__}({params})"


def prepare(balancer, rng: np.random.Generator | None = None) -> None:
    """Before a run (simulated or real): give the policy its seeded generator, then let it
    reset its run state. Works for any object with a ``pick`` method. A built-in policy used
    outside a run prepares itself at its first pick, with a generator seeded 0 unless it has
    one, so its picks still repeat."""
    if rng is None and getattr(balancer, "rng", None) is None:
        rng = np.random.default_rng(0)
    for name, value in (("rng", rng), ("_ready", True)):
        if value is not None:
            try:
                setattr(balancer, name, value)
            except AttributeError:
                pass
    reset = getattr(balancer, "reset", None)
    if callable(reset):
        reset()


class StandIn:
    """Base for an object that stands in for a policy (``self.inner``), such as a spy that
    records its picks: the seeded generator ``prepare`` hands the stand-in is the policy's."""

    @property
    def rng(self):
        return getattr(self.inner, "rng", None)

    @rng.setter
    def rng(self, value) -> None:
        try:
            self.inner.rng = value
        except AttributeError:
            pass


class RoundRobin(Balancer):
    """Each healthy instance in turn: 0, 1, 2, …, N−1, 0, 1, …"""

    _next = 0  # also for a subclass whose reset() does not call this one

    def reset(self) -> None:
        super().reset()
        self._next = 0

    def pick(self, instances, request):
        if not self._ready:
            prepare(self)
        n = len(instances)
        for step in range(n):
            candidate = instances[(self._next + step) % n]
            if candidate.healthy:
                self._next = (candidate.index + 1) % n
                return candidate
        return None

    def fast_path(self, specs, most):
        if not self._ready:
            prepare(self)
        return kernels.round_robin(specs, self._next)


class WeightedRoundRobin(Balancer):
    """NGINX's smooth weighted round-robin: instance i gets ``weights[i]`` of every Σw picks,
    spread out rather than in runs.

    Each pick adds every healthy instance's weight to its ``current`` score, takes the highest
    score (the earliest instance on ties) and subtracts the healthy total from it. Reads
    ``healthy`` and, with ``weights=None``, each instance's ``weight``.

    >>> import scalelab as sl
    >>> wrr = sl.balancers.WeightedRoundRobin(weights=[5, 1, 2])
    >>> view = sl.balancers.InstancesView(sl.balancers.ClusterState([1] * 3, [1] * 3))
    >>> wrr.reset()
    >>> [wrr.pick(view, None).index for _ in range(8)]
    [0, 2, 0, 0, 1, 0, 2, 0]
    """

    def __init__(self, weights=None):
        self.weights = None if weights is None else _weights(weights)

    def reset(self) -> None:
        super().reset()
        self._current: list[float] = []

    def pick(self, instances, request):
        state = state_of(instances)
        healthy = state.healthy
        n = len(healthy)
        weights = state.weight if self.weights is None else self.weights
        if len(weights) != n:
            raise ValueError(f"WeightedRoundRobin has {len(weights)} weights but the cluster has "
                             f"{n} instance{'s' * (n != 1)}: pass one weight per instance, or "
                             "weights=None to read each instance's weight")
        if not self._ready:
            prepare(self)
        current = self._current
        current.extend([0] * (n - len(current)))
        best, total = -1, 0
        for i in range(n):
            if healthy[i]:
                w = weights[i]
                current[i] += w
                total += w
                if best < 0 or current[i] > current[best]:
                    best = i
        if best < 0:
            return None
        current[best] -= total
        return instances[best]


def _weights(weights) -> list[float]:
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
        raise TypeError(f"weights must be a list of numbers, one per instance, got {weights!r}")
    if len(weights) == 0:
        raise ValueError("weights must hold one number per instance, got an empty list")
    values = [_validate.positive(f"weights[{k}]", w) for k, w in enumerate(weights)]
    return [int(w) if w.is_integer() else w for w in values]


class Random(Balancer):
    """A healthy instance chosen uniformly at random (each one then sees Poisson arrivals)."""

    def __init__(self, seed: int | None = None):
        self.seed = None if seed is None else _validate.seed(seed)

    def reset(self) -> None:
        super().reset()
        _seeded(self)

    def pick(self, instances, request):
        if not self._ready:
            prepare(self)
        healthy = instances.healthy()
        if not healthy:
            return None
        return healthy[int(self.rng.integers(len(healthy)))]

    def fast_path(self, specs, most):
        if not self._ready:
            prepare(self)
        return kernels.uniform(specs, self.rng)


def _seeded(policy) -> None:
    """Give a policy with ``seed`` its own generator; without one keep the simulator's (or,
    used outside a run, one seeded 0: still repeatable). Then its block of draws."""
    if policy.seed is not None:
        policy.rng = np.random.default_rng(policy.seed)
    elif getattr(policy, "rng", None) is None:
        policy.rng = np.random.default_rng(0)
    policy._draws = Draws(policy.rng)


class PowerOfTwoChoices(Balancer):
    """Envoy's least-request with two choices: draw two healthy instances at random (with
    replacement) and keep the first unless the second has strictly fewer requests in flight.

    Almost as good as least-connections while looking at only two instances. Reads
    ``healthy`` and ``inflight``; randomness comes from ``seed`` or the simulator's ``rng``.

    >>> import scalelab as sl
    >>> res = sl.simulate(sl.workloads.poisson(rate=8, duration=100, seed=1), instances=10,
    ...                   service_time=1.0, balancer=sl.balancers.PowerOfTwoChoices(), seed=1)
    """

    def __init__(self, seed: int | None = None):
        self.seed = None if seed is None else _validate.seed(seed)

    def reset(self) -> None:
        super().reset()
        _seeded(self)
        self._healthy = HealthyCache()

    def pick(self, instances, request):
        if not self._ready:
            prepare(self)
        state = state_of(instances)
        healthy, everyone = self._healthy.get(instances, state)
        m = len(healthy)
        if m == 0:
            return None
        below = self._draws.below
        if everyone:
            first, second = below(m), below(m)
        else:
            first, second = healthy[below(m)], healthy[below(m)]
        inflight = state.inflight
        return instances[second if inflight[second] < inflight[first] else first]

    def fast_path(self, specs, most):
        if not self._ready:
            prepare(self)
        return kernels.power_of_two(specs, self._draws)


class _Counted(Balancer):
    """The least-loaded policies' shared part: a count index (``speedups.CountTracker``) kept
    up to date from ``on_start``/``on_finish``, so a pick costs O(1)."""

    def reset(self) -> None:
        super().reset()
        self._counts = CountTracker(self._rebuild)

    def on_start(self, instance, request) -> None:
        self._counts.started(instance)

    def on_finish(self, instance, request, latency) -> None:
        self._counts.finished(instance)

    def _lowest(self, instances) -> tuple[CountIndex | None, int]:
        if not self._ready:
            prepare(self)
        return self._counts.lowest(instances)

    def _rebuild(self, state: ClusterState, index: CountIndex | None) -> CountIndex | None:
        return CountIndex(state.inflight, state.healthy, [0] * len(state.healthy))


class JoinShortestQueue(_Counted):
    """The healthy instance with the fewest requests in flight; the lowest index wins ties.

    The reference model for "least connections" in queueing theory and the benchmarks. Reads
    ``healthy`` and ``inflight``; a pick costs O(1) however many instances there are.

    >>> import scalelab as sl
    >>> state = sl.balancers.ClusterState([1] * 3, [1] * 3)
    >>> state.inflight[:] = [2, 1, 1]
    >>> sl.balancers.JoinShortestQueue().pick(sl.balancers.InstancesView(state), None).index
    1
    """

    def pick(self, instances, request):
        _, i = self._lowest(instances)
        return None if i < 0 else instances[i]

    def fast_path(self, specs, most):
        return kernels.shortest_queue(specs, most)


class LeastConnections(_Counted):
    """NGINX ``least_conn``: the healthy instance with the fewest requests in flight per unit
    of weight (compared as ``inflight_a × weight_b < inflight_b × weight_a``); ties are broken
    by smooth weighted round-robin among the tied instances, as NGINX does.

    Reads ``healthy``, ``inflight`` and ``weight``. When every weight is equal (the usual case)
    it keeps the instances bucketed by in-flight count, moved in ``on_start``/``on_finish``,
    so a pick costs O(1) amortized at any cluster size and still makes NGINX's exact choice.
    It re-reads the whole view after a health change, a new instance, or a pick that no
    ``on_start`` followed (so counts set by hand between such picks are seen). With unequal
    weights each pick scans every instance, as NGINX itself does.

    >>> import scalelab as sl
    >>> res = sl.simulate(sl.workloads.poisson(rate=8, duration=100, seed=1), instances=10,
    ...                   service_time=1.0, balancer=sl.balancers.LeastConnections(), seed=1)
    """

    def reset(self) -> None:
        super().reset()
        self._current: list[float] = []   # NGINX current_weight while scanning (or parked)
        self._unit = 1.0                  # the common weight while the count index is in use

    def pick(self, instances, request):
        index, i = self._lowest(instances)
        if index is None:
            return self._scan(instances, state_of(instances))
        if i < 0:
            return None
        if index.size[index.low] > 1:
            index.take(i)
        return instances[i]

    def fast_path(self, specs, most):
        return kernels.least_connections(specs, most)

    def _rebuild(self, state: ClusterState, index: CountIndex | None) -> CountIndex | None:
        current = self._current
        if index is not None:  # carry the tie-break scores over
            unit = self._unit
            for i in range(len(index.where)):
                if index.where[i] >= 0:
                    current[i] = index.current(i) * unit
        n = len(state.healthy)
        current.extend([0] * (n - len(current)))
        weights = state.weight
        if n and min(weights) == max(weights):
            self._unit = unit = weights[0]
            return CountIndex(state.inflight, state.healthy, [round(c / unit) for c in current])
        return None

    def _scan(self, instances, state: ClusterState):
        """NGINX ``ngx_http_upstream_get_least_conn_peer``, line by line."""
        healthy, inflight, weight, current = (state.healthy, state.inflight, state.weight,
                                              self._current)
        best, many = -1, False
        for i in range(len(healthy)):
            if not healthy[i]:
                continue
            if best < 0 or inflight[i] * weight[best] < inflight[best] * weight[i]:
                best, many = i, False
            elif inflight[i] * weight[best] == inflight[best] * weight[i]:
                many = True
        if best < 0:
            return None
        if many:
            first, total = best, 0
            for i in range(first, len(healthy)):
                if not healthy[i] or inflight[i] * weight[first] != inflight[first] * weight[i]:
                    continue
                current[i] += weight[i]
                total += weight[i]
                if current[i] > current[best]:
                    best = i
            current[best] -= total
        return instances[best]


class ConsistentHash(Balancer):
    """Ring hash (ketama): the same user always reaches the same instance, and adding an
    instance moves only about 1/N of the users, all of them to the new instance.

    Each instance owns ``vnodes`` points on a ring of 64-bit hashes; a request goes to the
    first point at or after the hash of its ``user`` (its ``id`` when it has no user),
    walking on past points of unhealthy instances. Reads ``healthy``; the ring is rebuilt
    when the number of instances changes.

    >>> import scalelab as sl
    >>> view = sl.balancers.InstancesView(sl.balancers.ClusterState([1] * 4, [1] * 4))
    >>> ring = sl.balancers.ConsistentHash(vnodes=100)
    >>> user_7 = sl.balancers.Request(id=0, arrival=0.0, user=7)
    >>> ring.pick(view, user_7).index == ring.pick(view, user_7).index
    True
    """

    def __init__(self, vnodes: int = 100):
        self.vnodes = _validate.integer("vnodes", vnodes, minimum=1)
        if self.vnodes > MAX_RING_POINTS // 10:
            raise ValueError(f"vnodes must be between 1 and {MAX_RING_POINTS // 10:,}, "
                             f"got {self.vnodes:,}")

    def pick(self, instances, request):
        state = state_of(instances)
        healthy = state.healthy
        if not healthy:
            return None
        if len(healthy) * self.vnodes > MAX_RING_POINTS:
            raise ValueError(f"vnodes × instances must be ≤ {MAX_RING_POINTS:,} ring points, got "
                             f"{self.vnodes:,} × {len(healthy):,}: use fewer vnodes")
        points, owners = ring(len(healthy), self.vnodes)
        key = request.id if request.user is None else request.user
        k = bisect_left(points, hash64(str(key)))
        size = len(points)
        owner = owners[k % size]
        if healthy[owner]:
            return instances[owner]
        if True not in healthy:
            return None
        for step in range(1, size):
            owner = owners[(k + step) % size]
            if healthy[owner]:
                return instances[owner]
        return None  # unreachable: some instance is healthy


#: Finagle's penalty for an instance with requests in flight but no answer yet:
#: ``Long.MaxValue >> 16`` nanoseconds, in seconds.
FINAGLE_PENALTY = ((1 << 63) - 1 >> 16) / 1e9


class PeakEWMA(Balancer):
    """Finagle's (and Linkerd's) peak-EWMA: power of two choices over latency × load.

    Each instance has a ``cost``: a moving average of its response times (s) that jumps up
    at once to any slower response and decays back with time constant ``decay`` seconds.
    Its load is ``cost × (inflight + 1)``, or ``penalty + inflight`` if it has requests in
    flight but no answer yet. A pick draws two distinct healthy instances and keeps the first
    only if its load is strictly lower. Reads ``healthy`` and ``inflight``; times come from
    ``request.arrival`` (the finish time is ``arrival + latency``).

    >>> import scalelab as sl
    >>> res = sl.simulate(sl.workloads.poisson(rate=8, duration=100, seed=1),
    ...                   instances=[sl.Instance(speed=2)] + [sl.Instance()] * 9,
    ...                   service_time=1.0, balancer=sl.balancers.PeakEWMA(decay=10), seed=1)
    """

    def __init__(self, decay: float = 10.0, seed: int | None = None,
                 penalty: float = FINAGLE_PENALTY):
        self.decay = _validate.positive("decay", decay)
        self.seed = None if seed is None else _validate.seed(seed)
        self.penalty = _validate.positive("penalty", penalty)

    def reset(self) -> None:
        super().reset()
        _seeded(self)
        self._healthy = HealthyCache()
        self._cost: list[float] = []    # seconds
        self._stamp: list[float] = []   # when each cost was last brought up to date (s)

    def cost(self, index: int, now: float) -> float:
        """Instance ``index``'s cost (s), decayed to time ``now`` (s)."""
        self._observe(index, 0.0, now)
        return self._cost[index]

    def load(self, instance, now: float) -> float:
        """Finagle's load of ``instance`` (a view item) at time ``now`` (s)."""
        cost = self.cost(instance.index, now)
        pending = instance.inflight
        return self.penalty + pending if cost == 0.0 and pending > 0 else cost * (pending + 1)

    def pick(self, instances, request):
        if not self._ready:
            prepare(self)
        state = state_of(instances)
        healthy, _ = self._healthy.get(instances, state)
        m = len(healthy)
        if m <= 1:
            return instances[healthy[0]] if m else None
        a = self._draws.below(m)
        b = self._draws.below(m - 1)
        b += b >= a                      # a second instance distinct from the first
        first, second = instances[healthy[a]], instances[healthy[b]]
        now = request.arrival
        return first if self.load(first, now) < self.load(second, now) else second

    def on_finish(self, instance, request, latency) -> None:
        self._observe(instance.index, latency, request.arrival + latency)

    def _observe(self, i: int, rtt: float, now: float) -> None:
        cost, stamp = self._cost, self._stamp
        if i >= len(cost):
            cost.extend([0.0] * (i + 1 - len(cost)))
            stamp.extend([0.0] * (i + 1 - len(stamp)))
        w = math.exp(-max(now - stamp[i], 0.0) / self.decay)
        cost[i] = rtt if rtt > cost[i] else cost[i] * w + rtt * (1.0 - w)
        stamp[i] = now


class Sticky(Balancer):
    """Sticky sessions by cookie: a user's first request goes wherever ``fallback`` (default
    round-robin) sends it, and every later one goes back to that instance while it is
    healthy. When it is not, the user is re-pinned to the fallback's choice.

    Reads ``request.user`` (requests without one just use the fallback) and ``healthy``.

    >>> import scalelab as sl
    >>> sticky = sl.balancers.Sticky(fallback=sl.balancers.LeastConnections())
    """

    def __init__(self, fallback: Balancer | None = None):
        self.fallback = RoundRobin() if fallback is None else fallback
        if not callable(getattr(self.fallback, "pick", None)):
            raise TypeError(f"fallback must be a balancer with a pick method, got {fallback!r}")

    def reset(self) -> None:
        super().reset()
        self._pinned: dict[int, int] = {}
        prepare(self.fallback, getattr(self, "rng", None))

    def pick(self, instances, request):
        if not self._ready:
            prepare(self)
        pinned = self._pinned.get(request.user) if request.user is not None else None
        if pinned is not None and pinned < len(instances) and instances[pinned].healthy:
            return instances[pinned]
        choice = self.fallback.pick(instances, request)
        if choice is not None and request.user is not None:
            self._pinned[request.user] = getattr(choice, "index", choice)
        return choice

    def on_start(self, instance, request) -> None:
        hook = getattr(self.fallback, "on_start", None)
        if hook is not None:
            hook(instance, request)

    def on_finish(self, instance, request, latency) -> None:
        hook = getattr(self.fallback, "on_finish", None)
        if hook is not None:
            hook(instance, request, latency)

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

import hashlib
import math
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache
from heapq import heapify, heappop, heappush, heapreplace

import numpy as np

from . import _validate


class Request:
    """What a balancer knows about a request: its ``id``, ``arrival`` time (s), ``user``, ``cost``."""

    __slots__ = ("arrival", "cost", "id", "user")

    def __init__(self, id: int, arrival: float, user: int | None = None, cost: float = 1.0):
        self.id, self.arrival, self.user, self.cost = id, arrival, user, cost

    def __repr__(self) -> str:
        return f"Request(id={self.id}, arrival={self.arrival:.6g}, user={self.user}, cost={self.cost:g})"


class _Flags(list):
    """The list of health flags: it counts every change, so policies can cache the healthy set."""

    changes = 0


def _counting(name: str):
    method = getattr(list, name)

    def mutate(self, *args, **kwargs):
        self.changes += 1
        return method(self, *args, **kwargs)

    mutate.__name__ = name
    return mutate


for _name in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop",
              "remove", "clear", "sort", "reverse"):
    setattr(_Flags, _name, _counting(_name))


class ClusterState:
    """The mutable per-instance numbers the simulator (or the real proxy) keeps up to date."""

    def __init__(self, speeds, weights):
        self.speed = [float(s) for s in speeds]
        self.weight = [float(w) for w in weights]
        self.healthy = [True] * len(self.speed)
        self.inflight = [0] * len(self.speed)
        self.latency = [0.0] * len(self.speed)

    @property
    def healthy(self) -> list[bool]:
        """One flag per instance; setting one (or the whole list) is counted in ``changes``."""
        return self._healthy

    @healthy.setter
    def healthy(self, flags) -> None:
        before = getattr(self, "_healthy", None)
        self._healthy = _Flags(flags)
        self._healthy.changes = 0 if before is None else before.changes + 1

    def add(self, speed: float = 1.0, weight: float = 1.0) -> int:
        """Append an instance; return its index."""
        for values, value in ((self.speed, speed), (self.weight, weight), (self.healthy, True),
                              (self.inflight, 0), (self.latency, 0.0)):
            values.append(value)
        return len(self.speed) - 1


class InstanceView:
    """Read-only view of one instance."""

    __slots__ = ("_state", "index")

    def __init__(self, state: ClusterState, index: int):
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError(f"instances are read-only: cannot set {name!r}")

    healthy = property(lambda self: self._state.healthy[self.index])
    inflight = property(lambda self: self._state.inflight[self.index])
    speed = property(lambda self: self._state.speed[self.index])
    weight = property(lambda self: self._state.weight[self.index])
    latency = property(lambda self: self._state.latency[self.index])

    def __repr__(self) -> str:
        return (f"Instance(index={self.index}, healthy={self.healthy}, inflight={self.inflight}, "
                f"speed={self.speed:g}, weight={self.weight:g}, latency={self.latency:.4g})")


class InstancesView(Sequence):
    """Read-only sequence of :class:`InstanceView`, one per instance, in index order."""

    def __init__(self, state: ClusterState):
        self._state = state
        self._items = [InstanceView(state, i) for i in range(len(state.speed))]

    def __len__(self) -> int:
        return len(self._state.speed)

    def __getitem__(self, index):
        if len(self._items) != len(self._state.speed):
            self._items = [InstanceView(self._state, i) for i in range(len(self._state.speed))]
        return self._items[index]

    def healthy(self) -> list[InstanceView]:
        """The instances that are healthy now."""
        return [self[i] for i, ok in enumerate(self._state.healthy) if ok]

    @property
    def health_changes(self) -> int:
        """A counter that moves whenever an instance's health is set: while it and
        ``len(instances)`` stay the same, so does the set of healthy instances."""
        return self._state.healthy.changes

    def __repr__(self) -> str:
        return f"InstancesView({len(self)} instances, {len(self.healthy())} healthy)"


def _state_of(instances) -> ClusterState:
    """The numbers behind ``instances``: the view's own state, or a snapshot of any other
    sequence of instance-like objects (then caches keyed on it rebuild on every call)."""
    if isinstance(instances, InstancesView):
        return instances._state
    items = list(instances)
    state = ClusterState([getattr(i, "speed", 1.0) for i in items],
                         [getattr(i, "weight", 1.0) for i in items])
    state.healthy = [bool(i.healthy) for i in items]
    state.inflight = [int(i.inflight) for i in items]
    return state


class Balancer:
    """Base class for policies. Override ``pick``; the hooks are optional.

    ``self.rng`` is a ``numpy.random.Generator`` the simulator seeds before each run: use it
    for any randomness so that the same seed gives the same picks.
    """

    rng: np.random.Generator

    def pick(self, instances: InstancesView, request: Request):
        """Return the instance (or its index) for ``request``, or ``None`` if none is healthy."""
        raise NotImplementedError(f"{type(self).__name__} must define pick(instances, request)")

    def on_start(self, instance: InstanceView, request: Request) -> None:
        """Called when ``request`` is sent to ``instance``."""

    def on_finish(self, instance: InstanceView, request: Request, latency: float) -> None:
        """Called when ``instance`` answers ``request`` after ``latency`` seconds."""

    def reset(self) -> None:
        """Forget run state; called before every run."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and k != "rng")
        return f"{type(self).__name__}({params})"


def prepare(balancer, rng: np.random.Generator) -> None:
    """Before a run (simulated or real): give the policy its seeded generator, then let it
    reset its run state. Works for any object with a ``pick`` method."""
    try:
        balancer.rng = rng
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


def pick_avoiding(balancer, instances: InstancesView, request: Request, tried: list[int]):
    """``balancer.pick``, with the instances in ``tried`` shown as unhealthy: how a proxy
    resends a request to another instance than the ones that already failed it."""
    healthy = instances._state.healthy
    saved = [healthy[j] for j in tried]
    for j in tried:
        healthy[j] = False
    try:
        return balancer.pick(instances, request)
    finally:
        for j, was in zip(tried, saved):
            healthy[j] = was


class RoundRobin(Balancer):
    """Each healthy instance in turn: 0, 1, 2, …, N−1, 0, 1, … (the course text's balancer)."""

    _next = 0

    def reset(self) -> None:
        self._next = 0

    def pick(self, instances, request):
        n = len(instances)
        for step in range(n):
            candidate = instances[(self._next + step) % n]
            if candidate.healthy:
                self._next = (candidate.index + 1) % n
                return candidate
        return None

    def _fixed_routing(self, count: int, n_instances: int) -> np.ndarray:
        """The indices ``pick`` would give ``count`` requests while all instances are healthy."""
        return (np.arange(count) + self._next) % n_instances


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
        self._current: list[float] = []

    def pick(self, instances, request):
        state = _state_of(instances)
        healthy = state.healthy
        n = len(healthy)
        weights = state.weight if self.weights is None else self.weights
        if len(weights) != n:
            raise ValueError(f"WeightedRoundRobin has {len(weights)} weights but the cluster has "
                             f"{n} instance{'s' * (n != 1)}: pass one weight per instance, or "
                             "weights=None to read each instance's weight")
        if "_current" not in vars(self):  # used before any run
            self.reset()
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
        if self.seed is not None:
            self.rng = np.random.default_rng(self.seed)

    def pick(self, instances, request):
        if getattr(self, "rng", None) is None:  # used before any run
            _seeded(self)
        healthy = instances.healthy()
        if not healthy:
            return None
        return healthy[int(self.rng.integers(len(healthy)))]

    def _fixed_routing(self, count: int, n_instances: int) -> np.ndarray:
        """The indices ``pick`` would give ``count`` requests while all instances are healthy."""
        return self.rng.integers(0, n_instances, count, dtype=np.int32)


class _Draws:
    """Uniform random integers drawn from a policy's ``rng`` in blocks (one numpy call per
    thousands of picks), so a pick costs no more than a list lookup."""

    _BLOCK = 4096

    def __init__(self, rng: np.random.Generator):
        self.rng, self.values, self.next = rng, [], 0

    def below(self, m: int) -> int:
        """A uniform integer in [0, m): (32 random bits × m) >> 32."""
        if self.next == len(self.values):
            self.values = self.rng.integers(0, 1 << 32, self._BLOCK, dtype=np.uint64).tolist()
            self.next = 0
        x = self.values[self.next]
        self.next += 1
        return (x * m) >> 32


class _HealthyCache:
    """The indices of the healthy instances, recomputed only when health changes."""

    def __init__(self):
        self.key, self.indices, self.all = None, [], False

    def get(self, instances, state: ClusterState) -> tuple[list[int], bool]:
        """``(healthy indices, whether every instance is healthy)``."""
        flags = state.healthy
        key = (state, len(flags), flags.changes)
        if key != self.key or not isinstance(instances, InstancesView):
            self.indices = [i for i, ok in enumerate(flags) if ok]
            self.all = len(self.indices) == len(flags)
            self.key = key
        return self.indices, self.all


def _seeded(policy) -> None:
    """Give a policy with ``seed`` its own generator; without one keep the simulator's."""
    if policy.seed is not None:
        policy.rng = np.random.default_rng(policy.seed)
    elif getattr(policy, "rng", None) is None:
        policy.rng = np.random.default_rng(0)  # used outside a run: still repeatable
    policy._draws = _Draws(policy.rng)


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
        _seeded(self)
        self._healthy = _HealthyCache()

    def pick(self, instances, request):
        if not hasattr(self, "_draws"):
            self.reset()
        state = _state_of(instances)
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


class _CountIndex:
    """Healthy instances bucketed by in-flight count, so the least loaded one is found in O(1).

    Bucket c is a heap of keys ``i − s·2³²`` for its instances i: the top is the largest s,
    then the lowest index. s is an instance's NGINX ``current_weight`` minus the bucket's
    ``offset``, so adding 1 to every instance in a bucket is ``offset[c] += 1``. Keys left
    behind by moves are skipped when they reach the top, and swept when they pile up.
    """

    _MASK = (1 << 32) - 1

    def __init__(self, counts, healthy, current):
        n = len(counts)
        self.count = list(counts)
        self.where = [-1] * n        # the bucket an instance is in; −1: unhealthy, in none
        self.key = [0] * n
        self.heaps: list[list[int]] = []
        self.size: list[int] = []
        self.offset: list[int] = []
        self.low = 0
        for i in range(n):
            if healthy[i]:
                self._insert(i, self.count[i], current[i], push=False)
        for heap in self.heaps:
            heapify(heap)
        self.low = 0

    def _insert(self, i: int, c: int, current: int, push: bool = True) -> None:
        heaps = self.heaps
        while len(heaps) <= c:
            heaps.append([])
            self.size.append(0)
            self.offset.append(0)
        key = i - ((current - self.offset[c]) << 32)
        heap = heaps[c]
        if push:
            heappush(heap, key)
        else:
            heap.append(key)
        self.key[i] = key
        self.where[i] = c
        size = self.size[c] = self.size[c] + 1
        self.low = min(self.low, c)
        if len(heap) > 2 * size + 32:
            self._sweep(c)

    def _sweep(self, c: int) -> None:
        where, key = self.where, self.key
        heap = list({k for k in self.heaps[c] if where[k & self._MASK] == c
                     and key[k & self._MASK] == k})
        heapify(heap)
        self.heaps[c] = heap

    def current(self, i: int) -> int:
        """Instance i's current_weight (it must be in a bucket)."""
        return self.offset[self.where[i]] - ((self.key[i] - i) >> 32)

    def move(self, i: int, count: int) -> None:
        """Instance i now has ``count`` requests in flight (the hot path: kept inline)."""
        self.count[i] = count
        c = self.where[i]
        if c < 0 or c == count:
            return
        heaps, size, offset = self.heaps, self.size, self.offset
        if count >= len(heaps):
            self._insert(i, count, offset[c] - ((self.key[i] - i) >> 32))
            size[c] -= 1
            return
        size[c] -= 1
        key = i - ((offset[c] - ((self.key[i] - i) >> 32) - offset[count]) << 32)
        heap = heaps[count]
        heappush(heap, key)
        self.key[i] = key
        self.where[i] = count
        size[count] += 1
        if count < c:
            self.low = min(self.low, count)
        if len(heap) > 2 * size[count] + 32:
            self._sweep(count)

    def lowest(self) -> int:
        """The instance to pick from the lowest bucket (−1 if none is healthy); moves ``low``
        up to that bucket and drops stale keys from its top."""
        size, low = self.size, self.low
        while low < len(size) and size[low] == 0:
            low += 1
        self.low = low
        if low == len(size):
            return -1
        heap, where, key = self.heaps[low], self.where, self.key
        while True:
            top = heap[0]
            i = top & self._MASK
            if where[i] == low and key[i] == top:
                return i
            heappop(heap)

    def take(self, i: int) -> None:
        """NGINX's tie-break among the k instances of the lowest bucket, which ``lowest()``
        just returned i from: each gains 1, then i (the highest) loses k."""
        low = self.low
        k = self.size[low]
        self.offset[low] += 1
        new = self.key[i] + (k << 32)
        heapreplace(self.heaps[low], new)
        self.key[i] = new


class _Counted(Balancer):
    """Shared machinery of the least-loaded policies: a :class:`_CountIndex` kept up to date
    from ``on_start``/``on_finish`` and rebuilt from the view whenever it may have drifted."""

    _view = None  # until reset() runs

    def reset(self) -> None:
        self._index: _CountIndex | None = None
        self._view = None            # the InstancesView the index mirrors …
        self._flags = None           # … its health flags, their change count and length
        self._changes = self._n = -1
        self._inflight = None        # … and its in-flight counts
        self._unstarted = False      # a pick was not followed by on_start: re-check the counts

    def on_start(self, instance, request) -> None:
        self._unstarted = False
        index = self._index
        if index is not None:
            try:
                index.move(instance.index, instance.inflight)
            except IndexError:  # an instance added since the last pick: rebuild at the next
                self._unstarted = True

    def on_finish(self, instance, request, latency) -> None:
        index = self._index
        if index is not None:
            try:
                index.move(instance.index, instance.inflight)
            except IndexError:
                self._unstarted = True

    def _synced(self, instances) -> _CountIndex | None:
        """The count index, rebuilt from the view when it may have drifted: another view, a
        health change, more instances, or counts changed by something other than a run."""
        if instances is self._view and not self._unstarted:
            state = instances._state
            flags = state._healthy
            if flags is self._flags and flags.changes == self._changes and \
                    len(flags) == self._n and state.inflight is self._inflight:
                self._unstarted = True
                return self._index
        if "_index" not in vars(self):  # used before any run
            self.reset()
        state = _state_of(instances)
        flags = state.healthy
        index = self._index
        if (instances is not self._view or flags is not self._flags
                or flags.changes != self._changes or len(flags) != self._n
                or state.inflight is not self._inflight
                or (index is not None and index.count != state.inflight)):
            self._index = index = self._rebuild(state)
            self._view = instances if isinstance(instances, InstancesView) else None
            self._flags, self._changes, self._n = flags, flags.changes, len(flags)
            self._inflight = state.inflight
        self._unstarted = True
        return index

    def _lowest(self, instances) -> tuple[_CountIndex | None, int]:
        """The count index and its least loaded healthy instance (−1: none healthy)."""
        index = self._synced(instances)
        if index is None:
            return None, -1
        i = index.lowest()
        if i >= 0 and self._inflight[i] != index.count[i]:  # changed behind the hooks' back
            self._unstarted = True
            index = self._synced(instances)
            i = index.lowest() if index is not None else -1
        return index, i

    def _rebuild(self, state: ClusterState) -> _CountIndex | None:
        return _CountIndex(state.inflight, state.healthy, [0] * len(state.healthy))


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
            return self._scan(instances, _state_of(instances))
        if i < 0:
            return None
        if index.size[index.low] > 1:
            index.take(i)
        return instances[i]

    def _rebuild(self, state: ClusterState) -> _CountIndex | None:
        current = self._current
        if self._index is not None:  # carry the tie-break scores over
            index, unit = self._index, self._unit
            for i in range(len(index.where)):
                if index.where[i] >= 0:
                    current[i] = index.current(i) * unit
        n = len(state.healthy)
        current.extend([0] * (n - len(current)))
        weights = state.weight
        if n and min(weights) == max(weights):
            self._unit = unit = weights[0]
            return _CountIndex(state.inflight, state.healthy, [round(c / unit) for c in current])
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


def _hash64(text: str) -> int:
    """A stable 64-bit hash (the first 8 bytes of MD5), the same in every process."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


@lru_cache(maxsize=16)
def _ring(n_instances: int, vnodes: int) -> tuple[list[int], list[int]]:
    """Sorted ring points ``hash(f"{index}_{v}")`` and the instance owning each."""
    points = sorted((_hash64(f"{i}_{v}"), i) for i in range(n_instances) for v in range(vnodes))
    return [p for p, _ in points], [i for _, i in points]


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

    def pick(self, instances, request):
        state = _state_of(instances)
        healthy = state.healthy
        if not healthy:
            return None
        points, owners = _ring(len(healthy), self.vnodes)
        key = request.id if request.user is None else request.user
        k = bisect_left(points, _hash64(str(key)))
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


def jump_hash(key: int, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash: the bucket in [0, buckets) for a 64-bit key.

    Going from n to n+1 buckets moves only the keys that land in the new bucket.

    >>> [jump_hash(k, 10) for k in range(5)]
    [0, 6, 6, 8, 1]
    """
    key = _validate.integer("key", key, minimum=0)
    if key >= 1 << 64:
        raise ValueError(f"key must be < 2**64 (an unsigned 64-bit integer), got {key}")
    buckets = _validate.integer("buckets", buckets, minimum=1)
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFF_FFFF_FFFF_FFFF
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


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
        _seeded(self)
        self._healthy = _HealthyCache()
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
        if not hasattr(self, "_cost"):
            self.reset()
        state = _state_of(instances)
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
        self._pinned: dict[int, int] = {}
        if getattr(self, "rng", None) is not None:
            self.fallback.rng = self.rng
        reset = getattr(self.fallback, "reset", None)
        if callable(reset):
            reset()

    def pick(self, instances, request):
        if "_pinned" not in vars(self):
            self.reset()
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

"""Fast paths for the built-in policies: kernels that make exactly the picks the policy's own
``pick`` would make — same tie-breaks, same random draws — without the per-request objects
and hooks the general loop needs, so a request costs a few list operations.

A policy offers one through its ``fast_path(specs, most)`` method, which calls one of the
factories below; each returns None where its kernel would not be exact (several slots per
instance, unequal weights, too many instances for a scan). ``routing.fast_path`` decides
whether a policy's offer stands (not for a subclass that overrides ``pick`` or a hook), and
``sim`` decides how the run executes. The tests check every kernel against the general loop.

A kernel answers two questions:

- ``fixed(count)``: where the first ``count`` requests go when routing does not depend on
  the cluster's state (round-robin, random), as an :class:`Assignment` — ``sim`` then runs
  the numpy scan; None otherwise;
- ``route(times, work)``: end times and slots of a batch of requests, keeping its state
  between calls, so an autoscaled run routes the arrivals between two control events in one
  call and lets the general loop handle the events (``epochs.run``). The instances taking
  traffic are the kernel's *slots*, in index order; ``add`` and ``remove`` change them.
  ``routes`` is False for a kernel that has only ``fixed``.

Times in seconds.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import deque

import numpy as np

from .speedups import Draws

SMALL = 64  # up to this many instances, a scan of the in-flight counts beats any index


def _single_slot(specs) -> bool:
    return all(spec.slots == 1 for spec in specs)


def round_robin(specs, next_instance: int):
    """Round-robin from instance ``next_instance``."""
    return _RoundRobin([s.speed for s in specs], next_instance) if _single_slot(specs) else None


def uniform(specs, rng: np.random.Generator):
    """Uniformly random routing with ``rng``: fixed routing only (no ``route``)."""
    if not _single_slot(specs):
        return None
    n = len(specs)
    return FixedRouting(lambda count: Assignment.of(rng.integers(0, n, count, dtype=np.int32), n))


def power_of_two(specs, draws: Draws):
    """Envoy's least request with two choices, drawing from the policy's ``draws``."""
    return _PowerOfTwo([s.speed for s in specs], draws) if _single_slot(specs) else None


def shortest_queue(specs, most: int):
    """Join the shortest queue, when at most ``SMALL`` instances take traffic at once."""
    if not _single_slot(specs) or max(len(specs), most) > SMALL:
        return None
    return _ShortestQueue([s.speed for s in specs])


def least_connections(specs, most: int):
    """NGINX ``least_conn`` with equal weights, at most ``SMALL`` instances at once."""
    if not _single_slot(specs) or max(len(specs), most) > SMALL \
            or len({spec.weight for spec in specs}) != 1:
        return None
    return _LeastConnections([s.speed for s in specs])


class Assignment:
    """Routing fixed in advance: ``instance[i]`` (int32) for request i, and ``groups[j]``,
    the requests instance j gets, in arrival order (a slice or an index array). ``first``:
    for a cycle (request i to instance (first + i) mod n), its first instance, else None."""

    def __init__(self, instance: np.ndarray, groups: list, first: int | None = None):
        self.instance, self.groups, self.first = instance, groups, first

    @classmethod
    def of(cls, instance: np.ndarray, n: int) -> Assignment:
        """Group any assignment to ``n`` instances (one radix sort of 16-bit labels)."""
        labels = instance.astype(np.int16) if n < 2**15 else instance
        order = np.argsort(labels, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n))]).tolist()
        return cls(instance, [order[bounds[j]:bounds[j + 1]] for j in range(n)])

    @classmethod
    def cyclic(cls, count: int, n: int, first: int) -> Assignment:
        """first, first + 1, …, n − 1, 0, 1, …: instance j gets every n-th request."""
        cycle = np.roll(np.arange(n, dtype=np.int32), -first)
        instance = np.tile(cycle, -(-count // n))[:count]
        return cls(instance, [slice((j - first) % n, None, n) for j in range(n)], first)


class FixedRouting:
    """Routing that depends only on the request's position: ``fixed(count)``."""

    routes = False

    def __init__(self, assign):
        self.fixed = assign


class _Kernel:
    """The slots (instances taking traffic, by index) and their speeds."""

    routes = True

    def __init__(self, speeds: list[float]):
        self.ids = list(range(len(speeds)))
        self.speeds = list(speeds)
        self.instances = len(speeds)  # all the policy sees, booting and retired ones too
        self.left: set[int] = set()

    def fixed(self, count: int) -> Assignment | None:
        """The instances of the first ``count`` requests, if routing ignores the state."""
        return None

    def route(self, times: list[float], work: np.ndarray) -> tuple[list[float], list[int]]:
        """Send requests arriving at ``times`` (ascending, after every earlier call's) with
        ``work`` seconds each at speed 1; returns their end times and slots."""
        raise NotImplementedError

    def last_end(self, slot: int) -> float:
        """When the slot's last request ends (−inf if it never had one in this kernel)."""
        raise NotImplementedError

    def add(self, instance: int, speed: float) -> None:
        """A new instance (one added to the cluster after every slot's) starts taking
        traffic, idle. An instance that left cannot come back: the kernel has dropped its
        queue and its policy state."""
        if self.ids and instance <= self.ids[-1] or instance in self.left:
            raise ValueError(f"instance {instance} cannot join: only a new instance, "
                             f"numbered after {self.ids[-1] if self.ids else -1}, can")
        self.ids.append(instance)
        self.speeds.append(speed)
        self._append()

    def remove(self, instance: int) -> None:
        """``instance`` takes no more traffic (its requests still finish)."""
        slot = self.ids.index(instance)
        del self.ids[slot], self.speeds[slot]
        self.left.add(instance)
        self._delete(slot)

    def _append(self) -> None:
        raise NotImplementedError

    def _delete(self, slot: int) -> None:
        raise NotImplementedError


class _LastEnds(_Kernel):
    """Keeps when each slot's last request ends."""

    def __init__(self, speeds: list[float]):
        super().__init__(speeds)
        self.last = [-math.inf] * len(speeds)

    def last_end(self, slot):
        return self.last[slot]

    def _append(self):
        self.last.append(-math.inf)

    def _delete(self, slot):
        del self.last[slot]


class _RoundRobin(_LastEnds):
    """Each instance taking traffic in turn, from the first at or after ``next`` (wrapping
    round), as ``RoundRobin.pick`` skips the ones that take none."""

    def __init__(self, speeds: list[float], next_instance: int):
        super().__init__(speeds)
        self.next = next_instance

    def fixed(self, count):
        return Assignment.cyclic(count, len(self.ids), self.next % len(self.ids))

    def route(self, times, work):
        if not times:
            return [], []
        m = len(self.ids)
        first = bisect_left(self.ids, self.next) % m
        where = ((first + np.arange(len(times))) % m).tolist()
        last, speeds = self.last, self.speeds
        end = []
        end_append = end.append
        for t, w, j in zip(times, work.tolist(), where):
            b = last[j]
            finish = (t if t > b else b) + w / speeds[j]
            last[j] = finish
            end_append(finish)
        self.next = (self.ids[where[-1]] + 1) % self.instances
        return end, where


class _PowerOfTwo(_Kernel):
    """Envoy's least request with two draws: the second draw wins only with strictly fewer
    in flight. A slot's in-flight count is its queue of pending end times, emptied lazily of
    those at or before the arrival — only the two candidates are looked at."""

    def __init__(self, speeds: list[float], draws: Draws):
        super().__init__(speeds)
        self.draws = draws
        self.pending = [deque() for _ in speeds]

    def route(self, times, work):
        pending = self.pending
        raw = self.draws.take(2 * len(times))
        pairs = ((raw * len(pending)) >> 32).reshape(-1, 2).T
        first, second = pairs.tolist()
        speeds = np.array(self.speeds)
        if speeds.min() == speeds.max():  # either candidate: the same seconds
            seconds_a = seconds_b = (work if speeds[0] == 1 else work / speeds[0]).tolist()
        else:
            seconds_a = (work / speeds[pairs[0]]).tolist()
            seconds_b = (work / speeds[pairs[1]]).tolist()
        end, where = [], []
        end_append, where_append = end.append, where.append
        for t, a, b, wa, wb in zip(times, first, second, seconds_a, seconds_b):
            qa = pending[a]
            if qa and qa[-1] > t:  # a is busy: compare with b
                while qa[0] <= t:
                    qa.popleft()
                qb = pending[b]
                if qb and qb[-1] > t:
                    while qb[0] <= t:
                        qb.popleft()
                    if len(qb) < len(qa):
                        a, qa, wa = b, qb, wb
                    finish = qa[-1] + wa
                else:  # b is idle: fewer in flight
                    qb.clear()
                    a, qa = b, qb
                    finish = t + wb
            else:  # a is idle: b cannot have fewer
                qa.clear()
                finish = t + wa
            qa.append(finish)
            end_append(finish)
            where_append(a)
        return end, where

    def last_end(self, slot):
        queue = self.pending[slot]
        return queue[-1] if queue else -math.inf

    def _append(self):
        self.pending.append(deque())

    def _delete(self, slot):
        del self.pending[slot]


_NEVER = (math.inf, -1)


class _Counting(_LastEnds):
    """In-flight counts kept exact by one heap of (end time, slot)."""

    def __init__(self, speeds: list[float]):
        super().__init__(speeds)
        self.counts = [0] * len(speeds)
        self.finishing: list[tuple[float, int]] = [_NEVER]  # the sentinel is never due

    def _append(self):
        super()._append()
        self.counts.append(0)

    def _delete(self, slot):
        super()._delete(slot)
        del self.counts[slot]
        self.finishing = [(end, k - (k > slot)) for end, k in self.finishing if k != slot]
        heapq.heapify(self.finishing)  # the sentinel (slot −1) stays


class _ShortestQueue(_Counting):
    """Join the shortest queue: the fewest in flight, the lowest index on ties."""

    def route(self, times, work):
        counts, last, speeds, finishing = self.counts, self.last, self.speeds, self.finishing
        pop, push, index = heapq.heappop, heapq.heappush, counts.index
        end, where = [], []
        end_append, where_append = end.append, where.append
        for t, w in zip(times, work.tolist()):
            while finishing[0][0] <= t:
                counts[pop(finishing)[1]] -= 1
            j = index(min(counts))
            b = last[j]
            finish = (t if t > b else b) + w / speeds[j]
            last[j] = finish
            counts[j] += 1
            push(finishing, (finish, j))
            end_append(finish)
            where_append(j)
        return end, where


class _LeastConnections(_Counting):
    """NGINX ``least_conn`` with equal weights: the fewest in flight; ties broken by smooth
    weighted round-robin among the tied instances (``ngx_http_upstream_get_least_conn_peer``:
    each tied instance's ``current_weight`` gains 1, the highest — the earliest on ties —
    wins and loses as many as were tied).

    Within ``route`` one ``max`` over a list of keys finds the winner. Slot k's key is
    ``64·(current[k] − offset[c] − BIG·c) + (63 − k)`` for its in-flight count c: the largest
    key has the fewest in flight, then the highest ``current_weight``, then the lowest index,
    which its low 6 bits give back (at most ``SMALL`` = 64 slots). A tie at count c adds 1 to
    every tied instance's ``current_weight``, which is ``offset[c] += 1``. A slot going from
    count c to c − 1 gains ``step[c] = 64·(offset[c] − offset[c − 1] + BIG)``, and from c to
    c + 1 loses ``step[c + 1]``; only the steps are kept (``step[0]`` holds
    ``64·offset[0]``). The offsets start at 0 in every call, so BIG need only exceed what one
    call's ties can spread ``current − offset`` by, and the keys stay small integers."""

    def __init__(self, speeds: list[float]):
        super().__init__(speeds)
        self.current = [0] * len(speeds)  # NGINX's current_weight, between calls

    def route(self, times, work):
        counts, last, speeds, finishing = self.counts, self.last, self.speeds, self.finishing
        big = 4 * (len(times) + len(counts) + 1)
        key = [64 * (weight - big * c) + 63 - k
               for k, (weight, c) in enumerate(zip(self.current, counts))]
        # Counts reached: what a slot has now, or the fewest at a pick plus one, which is at
        # most the mean count once every request so far is in flight.
        highest = max(max(counts, default=0),
                      (sum(counts) + len(times)) // max(1, len(counts))) + 2
        step = [0] + [64 * big] * highest
        pop, push, count = heapq.heappop, heapq.heappush, counts.count
        end, where = [], []
        end_append, where_append = end.append, where.append
        for t, w in zip(times, work.tolist()):
            while finishing[0][0] <= t:
                k = pop(finishing)[1]
                c = counts[k]
                counts[k] = c - 1
                key[k] += step[c]
            j = 63 - (max(key) & 63)
            c = counts[j]
            tied = count(c)
            if tied > 1:
                step[c] += 64
                up = step[c + 1] - 64
                step[c + 1] = up
                key[j] -= up + (tied << 6)
            else:
                key[j] -= step[c + 1]
            counts[j] = c + 1
            b = last[j]
            finish = (t if t > b else b) + w / speeds[j]
            last[j] = finish
            push(finishing, (finish, j))
            end_append(finish)
            where_append(j)
        offset = [step[0] // 64]
        for c in range(1, max(counts, default=0) + 1):
            offset.append(offset[-1] + step[c] // 64 - big)
        self.current = [(k >> 6) + big * c + offset[c] for k, c in zip(key, counts)]
        return end, where

    def _append(self):
        super()._append()
        self.current.append(0)  # idle, current_weight 0

    def _delete(self, slot):
        super()._delete(slot)
        del self.current[slot]

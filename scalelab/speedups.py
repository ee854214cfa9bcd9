"""The speed structures behind the built-in policies: what lets a pick cost O(1) whatever
the number of instances, without changing which instance it picks.

- :class:`Draws`: uniform random integers drawn in blocks, one numpy call per thousands of
  picks;
- :class:`HealthyCache`: the indices of the healthy instances, recomputed only when health
  changes;
- :class:`CountIndex` and :class:`CountTracker`: healthy instances bucketed by in-flight
  count, kept up to date from the policy's hooks, for least-connections and
  join-shortest-queue.

The policies in ``balancers`` say what they pick; this module only makes them fast.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush, heapreplace

import numpy as np

from .views import ClusterState, InstancesView, state_of


class Draws:
    """Uniform random integers drawn from a policy's ``rng`` in blocks (one numpy call per
    thousands of picks), so a pick costs no more than a list lookup."""

    BLOCK = 4096

    def __init__(self, rng: np.random.Generator):
        self.rng, self.values, self.next = rng, [], 0

    def below(self, m: int) -> int:
        """A uniform integer in [0, m): (32 random bits × m) >> 32."""
        if self.next == len(self.values):
            self.values = self.rng.integers(0, 1 << 32, self.BLOCK, dtype=np.uint64).tolist()
            self.next = 0
        x = self.values[self.next]
        self.next += 1
        return (x * m) >> 32

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` raw 32-bit draws, the numbers ``count`` calls of ``below`` would
        use: whole blocks from the same generator (one call for k blocks gives the numbers of
        k calls)."""
        taken = np.array(self.values[self.next:], dtype=np.uint64)
        blocks = max(0, -(-(count - len(taken)) // self.BLOCK))
        fresh = self.rng.integers(0, 1 << 32, blocks * self.BLOCK, dtype=np.uint64)
        values = np.concatenate([taken, fresh])
        self.values, self.next = values[count:].tolist(), 0
        return values[:count]


class HealthyCache:
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




class CountIndex:
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


class CountTracker:
    """A :class:`CountIndex` of a view, kept up to date from a policy's ``on_start`` and
    ``on_finish`` and rebuilt whenever it may have drifted: another view, a health change, more
    instances, or counts changed by something other than a run. ``rebuild(state, index)``
    makes a new index from the view's numbers and the old index (None when there is none, or
    when the policy must scan instead)."""

    def __init__(self, rebuild):
        self.rebuild = rebuild
        self.index: CountIndex | None = None
        self.view = None             # the InstancesView the index mirrors …
        self.flags = None            # … its health flags, their change count and length
        self.changes = self.n = -1
        self.inflight = None         # … and its in-flight counts
        self.unstarted = False       # a pick was not followed by on_start: re-check the counts

    def started(self, instance) -> None:
        self.unstarted = False
        self.finished(instance)

    def finished(self, instance) -> None:
        index = self.index
        if index is not None:
            try:
                index.move(instance.index, instance.inflight)
            except IndexError:  # an instance added since the last pick: rebuild at the next
                self.unstarted = True

    def synced(self, instances) -> CountIndex | None:
        """The count index, rebuilt from the view when it may have drifted."""
        state = state_of(instances)
        if instances is self.view and not self.unstarted:
            flags = state.healthy
            if flags is self.flags and flags.changes == self.changes and \
                    len(flags) == self.n and state.inflight is self.inflight:
                self.unstarted = True
                return self.index
        flags = state.healthy
        index = self.index
        if (instances is not self.view or flags is not self.flags
                or flags.changes != self.changes or len(flags) != self.n
                or state.inflight is not self.inflight
                or (index is not None and index.count != state.inflight)):
            self.index = index = self.rebuild(state, index)
            self.view = instances if isinstance(instances, InstancesView) else None
            self.flags, self.changes, self.n = flags, flags.changes, len(flags)
            self.inflight = state.inflight
        self.unstarted = True
        return index

    def lowest(self, instances) -> tuple[CountIndex | None, int]:
        """The count index and its least loaded healthy instance (−1: none healthy)."""
        index = self.synced(instances)
        if index is None:
            return None, -1
        i = index.lowest()
        if i >= 0 and self.inflight[i] != index.count[i]:  # changed behind the hooks' back
            self.unstarted = True
            index = self.synced(instances)
            i = index.lowest() if index is not None else -1
        return index, i

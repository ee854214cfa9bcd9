"""Runs routed by a kernel (``kernels.py``), epoch by epoch.

Between two timed events (a control step, an instance becoming ready) nothing changes which
instances take traffic, so the kernel routes all the arrivals in between in one call (in
chunks of at most ``CHUNK``, which keeps the arrays it writes in cache). A run without an
autoscaler has no events: one epoch. The events run in the general loop's own handlers
(``Loop.run_next_event``), so an autoscaler sees exactly what it sees in every other run.
Before each event the loop is told (``Loop.catch_up``) what it would know had it handled
every answer due by then: the service seconds and latencies of the requests answered since
the last event, in the order the general loop answers them (by end time, then arrival), the
arrivals, what each instance has in flight, and when each one's queue empties. The runner
talks to the loop through those methods only. Times in seconds.
"""

from __future__ import annotations

import math

import numpy as np

CHUNK = 1 << 16
SMALL_BATCH = 256  # fewer arrivals between two events: plain Python beats numpy's per-call cost


def run(loop, kernel, arrivals: np.ndarray, work: np.ndarray):
    """Run ``arrivals`` (with ``work`` seconds each at speed 1) through ``loop``'s cluster,
    routing with ``kernel``. Returns (the records' columns, lifetimes, log), as ``Loop.run``
    does."""
    progress = _Progress(arrivals, work)
    while (when := loop.next_event_time()) < math.inf:
        progress.route(loop, kernel, int(np.searchsorted(arrivals, when, side="left")))
        progress.tell(loop, kernel, when)
        loop.run_next_event()
        _follow(loop, kernel)
    progress.route(loop, kernel, len(arrivals))
    return (progress.records, *loop.outcome())


class _Progress:
    """The records the kernel has written, and what the loop has been told of them."""

    def __init__(self, arrivals: np.ndarray, work: np.ndarray):
        self.arrivals, self.work = arrivals, work
        n = len(arrivals)
        self.records = {"arrival": arrivals, "start": np.empty(n), "end": np.empty(n),
                        "service": np.empty(n), "instance": np.empty(n, dtype=np.int32),
                        "status": np.zeros(n, dtype=np.int8)}  # the records' columns
        self.routed = 0                               # arrivals routed so far
        self.told = 0                                 # arrivals the loop has been told about
        self.unanswered = np.empty(0, dtype=np.intp)  # told, not answered by the last event
        self.speeds = np.empty(0)                     # every instance's, by index

    def route(self, loop, kernel, upto: int) -> None:
        """Route the arrivals before index ``upto``."""
        if len(self.speeds) != len(loop.specs):  # instances only ever join the list
            self.speeds = np.array([spec.speed for spec in loop.specs])
        speeds = self.speeds
        while self.routed < upto:
            lo, hi = self.routed, min(upto, self.routed + CHUNK)
            ids = kernel.ids
            before = [kernel.last_end(slot) for slot in range(len(ids))]  # by slot
            arrivals, work = self.arrivals[lo:hi], self.work[lo:hi]
            times = arrivals.tolist()
            end, slots = kernel.route(times, work)
            if hi - lo < SMALL_BATCH:
                start = _starts_in_order(times, end, slots, before)
                where = slots if ids == list(range(len(ids))) else [ids[k] for k in slots]
            else:
                end = np.fromiter(end, dtype=float, count=hi - lo)
                where = np.fromiter(slots, dtype=np.int32, count=hi - lo)
                if ids != list(range(len(ids))):
                    where = np.array(ids, dtype=np.int32)[where]
                previous = np.full(len(speeds), -math.inf)  # each instance's last end so far
                previous[ids] = before
                start = _starts(arrivals, end, where, previous)
            records = self.records
            records["end"][lo:hi], records["instance"][lo:hi] = end, where
            records["service"][lo:hi] = work / speeds[where]
            records["start"][lo:hi] = start
            self.routed = hi

    def tell(self, loop, kernel, now: float) -> None:
        """Bring ``loop`` up to ``now``: arrivals, answers, in-flight counts, queue ends."""
        arrived = self.routed - self.told
        pool = np.concatenate([self.unanswered, np.arange(self.told, self.routed)])
        self.told = self.routed
        end = self.records["end"]
        answered = end[pool] <= now
        done, self.unanswered = pool[answered], pool[~answered]
        done = done[np.lexsort((done, end[done]))]
        where = self.records["instance"][self.unanswered]
        loop.catch_up(arrived, end[done] - self.arrivals[done], self.records["service"][done],
                      np.bincount(where, minlength=len(loop.specs)),
                      {j: kernel.last_end(slot) for slot, j in enumerate(kernel.ids)})


def _starts_in_order(times: list[float], end: list[float], slots: list[int],
                     before: list[float]) -> list[float]:
    """:func:`_starts` for a short batch, one request after the other (``before[k]``: when
    slot k's queue ended before the batch)."""
    last = list(before)
    start = []
    for t, finish, k in zip(times, end, slots):
        previous = last[k]
        start.append(t if t > previous else previous)
        last[k] = finish
    return start


def _starts(arrival: np.ndarray, end: np.ndarray, where: np.ndarray,
            previous: np.ndarray) -> np.ndarray:
    """When each request started (FIFO, one slot): its arrival, or the end of the request
    before it on the same instance, whichever is later. ``previous[j]`` is when instance j's
    queue ended before these requests."""
    labels = where.astype(np.int16) if len(previous) < 2**15 else where
    order = np.argsort(labels, kind="stable")  # a radix sort for 16-bit labels
    sorted_where = where[order]
    before = np.empty(len(order))
    before[1:] = end[order][:-1]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_where[1:] != sorted_where[:-1]
    before[first] = previous[sorted_where[first]]
    start = np.empty(len(order))
    start[order] = np.maximum(arrival[order], before)
    return start


def _follow(loop, kernel) -> None:
    """Make the kernel's slots the instances the loop now sends traffic to."""
    kernel.instances = len(loop.specs)
    serving = loop.serving()
    if serving == kernel.ids:
        return
    for j in set(kernel.ids) - set(serving):
        kernel.remove(j)
    for j in sorted(set(serving) - set(kernel.ids)):
        kernel.add(j, loop.specs[j].speed)

"""What a simulation returns: one record per request, and the summaries lessons plot.

Times and latencies in seconds, throughput in requests per second, utilization 0–1.
"""

from __future__ import annotations

import html
from enum import IntEnum

import numpy as np

from . import _validate, metrics

REQUEST_FIELDS = np.dtype([
    ("arrival", "f8"),   # when the request reached the balancer
    ("start", "f8"),     # when an instance began serving it
    ("end", "f8"),       # when the answer left the instance
    ("service", "f8"),   # seconds of service on that instance (work ÷ speed)
    ("instance", "i4"),  # index of the instance, −1 if none was chosen
    ("status", "i1"),    # a Status value
    ("retries", "i1"),   # how many times it was resent after a refused connection
    ("user", "i8"),      # the user behind it, −1 if the workload has none
    ("lost_session", "?"),  # it landed where the user's session was not: a forced re-login
    ("http", "i2"),      # the real lab: the HTTP status the client got, 0 for none (simulated)
])


class Status(IntEnum):
    """What happened to a request. Anything but OK counts as an error."""

    OK = 0
    REJECTED = 1      # the instance's queue was full
    NO_INSTANCE = 2   # no healthy instance to send it to
    FAILED = 3        # connection refused, or the instance crashed while holding it
    TIMEOUT = 4       # the client gave up waiting
    STORE_DOWN = 5    # the shared session store did not answer
    CLIENT_ERROR = 6  # the real lab: a 4xx answer (a wrong path, 401 without a session, …)


MAX_BINS = 10**6  # bins in a timeline: 8 MB a series

ERROR_KINDS = ("refused", "timed_out", "http_4xx", "http_5xx")


def error_kinds(status: np.ndarray, http: np.ndarray) -> dict[str, int]:
    """How the failed requests failed; the four counts add up to the errors.

    - ``refused``: no answer at all (connection refused or broken; simulated: the instance
      refused the connection or crashed while holding the request);
    - ``timed_out``: the client gave up waiting, or the proxy answered 504;
    - ``http_4xx``: an answer 400–499 (the request was wrong or not allowed);
    - ``http_5xx``: every other error answer: 5xx, and the simulator's full queue, no healthy
      instance and store down, which a real balancer answers with 503.
    """
    failed = status != Status.OK
    refused = failed & (status == Status.FAILED) & (http == 0)
    timed_out = failed & (status == Status.TIMEOUT)
    http_4xx = failed & ~timed_out & (http >= 400) & (http < 500)
    counts = [int(np.count_nonzero(kind)) for kind in (refused, timed_out, http_4xx)]
    return dict(zip(ERROR_KINDS, [*counts, int(np.count_nonzero(failed)) - sum(counts)]))


#: What a field holds when the engine that made the records left it out.
DEFAULTS = {"retries": 0, "user": -1, "lost_session": False, "http": 0}


def empty_records(count: int) -> np.ndarray:
    """``count`` requests' records, all OK so far, with no user."""
    records = np.zeros(count, dtype=REQUEST_FIELDS)  # status 0 is Status.OK
    records["user"] = -1
    return records


def records_from(columns: dict) -> np.ndarray:
    """The record array of ``columns`` (one array per field; the fields in ``DEFAULTS`` may
    be left out)."""
    records = np.empty(len(columns["arrival"]), dtype=REQUEST_FIELDS)
    for name in REQUEST_FIELDS.names:
        records[name] = columns[name] if name in columns else DEFAULTS[name]
    return records


class Result:
    """The outcome of ``simulate``: ``requests`` (a numpy record array), ``summary()``,
    ``timeline(bin=…)``.

    ``requests`` may be given as the record array or as a dict of its columns, one
    contiguous array per field (what the simulator's engines write): then ``summary()`` and
    ``timeline()`` read the columns, and the record array is only built when ``requests`` is
    first read; from then on it is the one the numbers come from."""

    def __init__(self, requests, instances, duration: float, balancer: str = "",
                 seed: int = 0, events=(), lifetimes=None):
        if isinstance(requests, dict):
            self._records, self._columns = None, requests
        else:
            self._records, self._columns = requests, None
        self._in_order: bool | None = None  # arrivals in time order (checked once, if asked)
        self.instances = list(instances)
        self.duration = float(duration)
        self.balancer = balancer
        self.seed = seed
        self.events = list(events)  # (time s, instance, what): crash, marked down, launch, …
        if lifetimes is None:
            lifetimes = np.tile([0.0, 0.0, np.inf], (len(self.instances), 1))
        # per instance: launched, ready (takes traffic), removed (inf: still there), seconds
        self.lifetimes = np.asarray(lifetimes, dtype=float)

    @property
    def requests(self) -> np.ndarray:
        """One record per request (fields: ``REQUEST_FIELDS``)."""
        if self._records is None:
            self._records, self._columns = records_from(self._columns), None
        return self._records

    def _column(self, name: str) -> np.ndarray:
        if self._records is not None:
            return self._records[name]
        column = self._columns.get(name)
        if column is None:
            column = np.full(len(self._columns["arrival"]), DEFAULTS[name],
                             dtype=REQUEST_FIELDS[name])
        return column

    def _left_out(self, name: str) -> bool:
        """Whether field ``name`` holds only its default (the engine did not write it)."""
        return self._records is None and name not in self._columns

    @property
    def slots(self) -> int:
        """Total slots over every instance that ran (requests served at once)."""
        return sum(spec.slots for spec in self.instances)

    def _in_service(self) -> tuple[np.ndarray, np.ndarray]:
        """Per instance, when it started taking traffic and when it stopped (finite stand-ins
        for "never"); an instance cancelled while booting never served, so it adds nothing."""
        ready = np.minimum(self.lifetimes[:, 1], 1e300)
        removed = np.maximum(np.minimum(self.lifetimes[:, 2], 1e300), ready)
        return ready, removed

    def _slot_seconds(self, edges: np.ndarray) -> np.ndarray:
        """Slot-seconds in service (ready, not yet removed) inside each bin of ``edges``."""
        slots = np.array([spec.slots for spec in self.instances])
        ready, removed = self._in_service()
        total = np.zeros(len(edges))
        for size in np.unique(slots):  # a few sizes; never one row per slot (slots may be huge)
            same = slots == size
            total += float(size) * metrics.busy_seconds(ready[same], removed[same], edges)
        return np.diff(total)

    def _ready_seconds(self, edges: np.ndarray) -> np.ndarray:
        """Instance-seconds in service inside each bin of ``edges``."""
        return np.diff(metrics.busy_seconds(*self._in_service(), edges))

    @property
    def instance_seconds(self) -> float:
        """What you pay for: seconds from launch to removal (or the end), summed."""
        ends = np.minimum(self.lifetimes[:, 2], self.duration)
        return float(np.clip(ends - self.lifetimes[:, 0], 0, None).sum())

    def latencies(self, warmup: float = 0.0) -> np.ndarray:
        """Response times (s) of the answered requests that arrived after ``warmup`` seconds."""
        arrival, end = self._column("arrival"), self._column("end")
        keep = self._answered(self._kept(warmup), self._failed())
        return end - arrival if keep is None else end[keep] - arrival[keep]

    def summary(self, warmup: float = 0.0) -> dict:
        """Totals and latency percentiles; requests arriving before ``warmup`` s are left out.

        Keys: requests, completed, errors, error_rate, refused, timed_out, http_4xx, http_5xx
        (the errors by kind, see :func:`error_kinds`), throughput (answers per second inside
        [warmup, duration]), mean, p50, p95, p99, max (latency, s), mean_wait (s in queue),
        utilization (0–1), instance_seconds (launch to removal, summed), lost_sessions (requests
        that found no session where they landed; each is a re-login, so relogins is the same
        count), imbalance (most requests served by one instance ÷ the mean), retries.
        """
        warmup = self._check_warmup(warmup)
        column = self._column
        arrival, start, end = column("arrival"), column("start"), column("end")
        kept, failed = self._kept(warmup), self._failed()
        ok = self._answered(kept, failed)

        def answered(values):
            return values if ok is None else values[ok]
        latency = answered(end) - answered(arrival)
        requests = len(arrival) if kept is None else len(arrival[kept]) \
            if isinstance(kept, slice) else int(np.count_nonzero(kept))
        completed = len(latency)
        mean = float(latency.mean()) if completed else float("nan")
        longest = float(latency.max()) if completed else float("nan")
        p50, p95, p99 = metrics.percentiles(latency, (50, 95, 99), in_place=True)
        wait = np.subtract(answered(start), answered(arrival), out=latency)  # latency is spent
        mean_wait = float(wait.mean()) if completed else float("nan")
        window = self.duration - warmup
        in_window = end <= self.duration
        if warmup:
            in_window &= end >= warmup
        answered_in_window = np.count_nonzero(in_window if failed is None
                                              else in_window & ~failed)
        # every request answered: the latency-sized array is scratch space from here
        busy = metrics.busy_in_window(start, end, warmup, self.duration,
                                      scratch=(wait, np.empty_like(wait)) if ok is None else None)
        slot_seconds = self._slot_seconds(np.array([warmup, self.duration]))[0]
        served_by = np.bincount(answered(column("instance")), minlength=len(self.instances))
        lost = self._count_in("lost_session", kept)
        return {
            "requests": requests,
            "completed": completed,
            "errors": requests - completed,
            "error_rate": (requests - completed) / requests if requests else 0.0,
            **self._error_kinds(kept, failed),
            "throughput": float(answered_in_window / window),
            "mean": mean,
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "max": longest,
            "mean_wait": mean_wait,
            "utilization": float(busy / slot_seconds) if slot_seconds else float("nan"),
            "instance_seconds": self.instance_seconds,
            "lost_sessions": lost,
            "relogins": lost,
            "imbalance": float(served_by.max() / served_by.mean()) if served_by.any()
            else float("nan"),
            "retries": self._count_in("retries", kept, total=True),
        }

    def _failed(self) -> np.ndarray | None:
        """Which requests were not answered, or None when every one was."""
        status = self._column("status")
        return status != Status.OK if status.any() else None

    def _error_kinds(self, kept, failed) -> dict[str, int]:
        """:func:`error_kinds` of the ``kept`` requests (all zero when none ``failed``)."""
        if failed is None:
            return dict.fromkeys(ERROR_KINDS, 0)
        status, http = self._column("status"), self._column("http")
        if kept is not None:
            status, http = status[kept], http[kept]
        return error_kinds(status, http)

    def _kept(self, warmup: float) -> np.ndarray | slice | None:
        """Which requests arrived at or after ``warmup`` s: None for all of them, a slice
        when the arrivals are in time order (the simulator's always are), else a mask."""
        if not warmup:
            return None
        arrival = self._column("arrival")
        if self._in_order is None:
            self._in_order = bool((arrival[1:] >= arrival[:-1]).all())
        if self._in_order:
            return slice(int(np.searchsorted(arrival, warmup, side="left")), None)
        return arrival >= warmup

    def _answered(self, kept: np.ndarray | slice | None,
                  failed: np.ndarray | None) -> np.ndarray | slice | None:
        """Which of the ``kept`` requests were answered (none ``failed``), or None for all."""
        if failed is None:
            return kept
        if isinstance(kept, slice):
            answered = ~failed
            answered[:kept.start] = False
            return answered
        return ~failed if kept is None else kept & ~failed

    def _count_in(self, name: str, kept: np.ndarray | slice | None,
                  total: bool = False) -> int:
        """How many kept requests have field ``name`` set (or, with ``total``, its sum)."""
        if self._left_out(name):
            return 0
        values = self._column(name)
        values = values if kept is None else values[kept]
        return int(values.sum()) if total else int(np.count_nonzero(values))

    def timeline(self, bin: float = 1.0) -> dict[str, np.ndarray]:
        """Per-bin series over [0, duration): ``time`` (bin start, s), ``arrivals`` (count),
        ``throughput`` (answers per second, by end time), ``p50``/``p95``/``p99`` (latency of
        the requests that arrived in the bin, s; NaN if none), ``errors`` (count, by arrival),
        ``retries`` and ``lost_sessions`` (counts, by arrival), ``instances`` (in service,
        averaged over the bin), ``healthy`` (instances the balancer considers healthy at the bin
        start), ``scale_out``/``scale_in`` (autoscaler actions) and ``utilization`` (busy
        fraction of the slots in service)."""
        bin = _validate.positive("bin", bin)
        if not self.duration / bin <= MAX_BINS:
            raise ValueError(f"bin must be ≥ duration / {MAX_BINS:,} = "
                             f"{self.duration / MAX_BINS:g} s (at most {MAX_BINS:,} bins: a "
                             f"figure shows a few thousand points), got {bin:g}")
        n_bins = max(1, int(np.ceil(self.duration / bin - 1e-9)))
        edges = np.arange(n_bins + 1) * bin
        widths = np.diff(edges)
        column = self._column
        arrival, start, end = column("arrival"), column("start"), column("end")
        failed = self._failed()
        ok_arrival, ok_end = (arrival, end) if failed is None else \
            (arrival[~failed], end[~failed])
        percentiles = metrics.binned_percentiles(ok_arrival, ok_end - ok_arrival, edges)
        busy = np.diff(metrics.busy_seconds(start, end, edges))

        def nothing():
            return np.zeros(n_bins, dtype=int)
        return {
            "time": edges[:-1],
            "arrivals": metrics.binned_count(arrival, edges),
            "throughput": metrics.binned_count(ok_end, edges) / widths,
            "p50": percentiles[50],
            "p95": percentiles[95],
            "p99": percentiles[99],
            "errors": nothing() if failed is None else metrics.binned_count(arrival[failed], edges),
            "retries": nothing() if self._left_out("retries") else np.histogram(
                arrival, edges, weights=column("retries").astype(float))[0].astype(int),
            "instances": self._ready_seconds(edges) / widths,
            "lost_sessions": nothing() if self._left_out("lost_session") else
            metrics.binned_count(arrival[column("lost_session")], edges),
            "scale_out": self._events_per_bin(edges, "launch"),
            "scale_in": self._events_per_bin(edges, "drain", "cancelled"),
            "healthy": self._healthy_at(edges[:-1]),
            "utilization": busy / np.maximum(self._slot_seconds(edges), 1e-300),
        }

    def _events_per_bin(self, edges: np.ndarray, *kinds: str) -> np.ndarray:
        times = np.array([t for t, _, what in self.events if what in kinds])
        return metrics.binned_count(times, edges)

    def _healthy_at(self, times: np.ndarray) -> np.ndarray:
        """Instances in service and not marked down by the health check, at each time."""
        ready, removed = self.lifetimes[:, 1], self.lifetimes[:, 2]
        in_service = ((ready[None, :] <= times[:, None]) & (times[:, None] < removed[None, :]))
        count = in_service.sum(axis=1)
        change = [(t, 1 if what == "marked down" else -1) for t, _, what in self.events
                  if what in ("marked down", "marked up")]
        if change:
            when, step = np.array(change).T
            down = np.concatenate([[0], np.cumsum(step)])
            count = count - down[np.searchsorted(when, times, side="right")]
        return count.astype(int)

    def _check_warmup(self, warmup) -> float:
        return _validate.number("warmup", warmup, minimum=0, maximum=self.duration * (1 - 1e-9)) \
            if warmup else 0.0

    def __repr__(self) -> str:
        s = self.summary()
        return (f"Result({s['requests']} requests on {_plural(len(self.instances), 'instance')}: "
                f"mean {s['mean']:.4g} s, p99 {s['p99']:.4g} s, errors {s['errors']}, "
                f"utilization {s['utilization']:.0%})")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{_format(v)}</td></tr>" for k, v in self.summary().items())
        return (f"<table><caption>{_plural(len(self.instances), 'instance')}, "
                f"{html.escape(self.balancer)}</caption>{rows}</table>")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _format(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

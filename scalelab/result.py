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


def error_kinds(requests: np.ndarray) -> dict[str, int]:
    """How the failed requests failed; the four counts add up to the errors.

    - ``refused``: no answer at all (connection refused or broken; simulated: the instance
      refused the connection or crashed while holding the request);
    - ``timed_out``: the client gave up waiting, or the proxy answered 504;
    - ``http_4xx``: an answer 400–499 (the request was wrong or not allowed);
    - ``http_5xx``: every other error answer: 5xx, and the simulator's full queue, no healthy
      instance and store down, which a real balancer answers with 503.
    """
    status, http = requests["status"], requests["http"]
    failed = status != Status.OK
    refused = failed & (status == Status.FAILED) & (http == 0)
    timed_out = failed & (status == Status.TIMEOUT)
    http_4xx = failed & ~timed_out & (http >= 400) & (http < 500)
    counts = [int(np.count_nonzero(kind)) for kind in (refused, timed_out, http_4xx)]
    return dict(zip(ERROR_KINDS, [*counts, int(np.count_nonzero(failed)) - sum(counts)]))


def empty_records(count: int) -> np.ndarray:
    """``count`` requests' records, all OK so far, with no user."""
    records = np.zeros(count, dtype=REQUEST_FIELDS)  # status 0 is Status.OK
    records["user"] = -1
    return records


class Result:
    """The outcome of ``simulate``: ``requests`` (a numpy record array), ``summary()``,
    ``timeline(bin=…)``."""

    def __init__(self, requests: np.ndarray, instances, duration: float, balancer: str = "",
                 seed: int = 0, events=(), lifetimes=None):
        self.requests = requests
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
        return metrics.latency(self._after(warmup))

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
        requests = self._after(warmup)
        ok = requests[requests["status"] == Status.OK]
        latency = ok["end"] - ok["arrival"]
        p50, p95, p99 = np.percentile(latency, [50, 95, 99]) if len(latency) else [np.nan] * 3
        window = self.duration - warmup
        everything = self.requests
        served = everything["status"] == Status.OK
        answered = np.count_nonzero(served & (everything["end"] >= warmup)
                                    & (everything["end"] <= self.duration))
        busy = metrics.busy_in_window(everything["start"], everything["end"], warmup,
                                      self.duration)
        slot_seconds = self._slot_seconds(np.array([warmup, self.duration]))[0]
        served_by = np.bincount(ok["instance"], minlength=len(self.instances))
        lost = int(np.count_nonzero(requests["lost_session"]))
        return {
            "requests": len(requests),
            "completed": len(ok),
            "errors": len(requests) - len(ok),
            "error_rate": (len(requests) - len(ok)) / len(requests) if len(requests) else 0.0,
            **error_kinds(requests),
            "throughput": float(answered / window),
            "mean": float(latency.mean()) if len(latency) else float("nan"),
            "p50": float(p50),
            "p95": float(p95),
            "p99": float(p99),
            "max": float(latency.max()) if len(latency) else float("nan"),
            "mean_wait": float((ok["start"] - ok["arrival"]).mean()) if len(ok) else float("nan"),
            "utilization": float(busy / slot_seconds) if slot_seconds else float("nan"),
            "instance_seconds": self.instance_seconds,
            "lost_sessions": lost,
            "relogins": lost,
            "imbalance": float(served_by.max() / served_by.mean()) if served_by.any()
            else float("nan"),
            "retries": int(requests["retries"].sum()),
        }

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
        requests = self.requests
        ok = requests[requests["status"] == 0]
        percentiles = metrics.binned_percentiles(ok["arrival"], ok["end"] - ok["arrival"], edges)
        busy = np.diff(metrics.busy_seconds(requests["start"], requests["end"], edges))
        return {
            "time": edges[:-1],
            "arrivals": metrics.binned_count(requests["arrival"], edges),
            "throughput": metrics.binned_count(ok["end"], edges) / widths,
            "p50": percentiles[50],
            "p95": percentiles[95],
            "p99": percentiles[99],
            "errors": metrics.binned_count(requests["arrival"][requests["status"] != 0], edges),
            "retries": np.histogram(requests["arrival"], edges,
                                    weights=requests["retries"].astype(float))[0].astype(int),
            "instances": self._ready_seconds(edges) / widths,
            "lost_sessions": metrics.binned_count(
                requests["arrival"][requests["lost_session"]], edges),
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

    def _after(self, warmup: float) -> np.ndarray:
        return self.requests[self.requests["arrival"] >= warmup] if warmup else self.requests

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

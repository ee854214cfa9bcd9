"""What the animated flow view replays: a window of a run's request records, in compact
arrays, and what each instance was doing meanwhile.

A pure function of a :class:`~scalelab.result.Result` (simulated or from the real lab), so it
is testable without Jupyter. Times in seconds; in the payload they count from the window's
start (``t0``, absolute).

A request belongs to the window ``[start, end)`` when it arrives inside it, or arrived before
it and is still queued or in service at ``start``. Without ``start`` and ``end`` the window
holds at most :data:`CAP` requests and starts a little before the run's most interesting
moment: the first crash, hang, mark-down or launch, else the first error, else the longest
wait (a small run with none of these is replayed whole).

>>> import scalelab as sl
>>> res = sl.simulate(sl.workloads.poisson(rate=50, duration=60, seed=1), instances=3,
...                   service_time=0.05, failures=[sl.Crash(instance=1, at=30.0)], seed=1)
>>> payload = flow_payload(res)
>>> payload["count"] <= CAP
True
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from . import _validate
from .result import Result, Status

CAP = 2000          # requests in a default window
MOST = 50_000       # requests in any window: more would swamp the browser
LEAD = 0.25         # share of the default window that comes before the moment it is chosen for
LEAD_SECONDS = 5.0  # and at most this long before it (s), so the moment comes soon
SAMPLE = 200_000    # records looked at when searching a big run for its first error or worst wait
FOCUS_EVENTS = ("crash", "hang", "marked down", "launch", "drain", "slow", "cancelled")

# What an instance's process is doing; the view labels each box with it.
STATES = ("healthy", "booting", "crashed", "hung", "draining", "slowed", "not running")
RUNNING, BOOTING, CRASHED, HUNG, DRAINING, SLOWED, ABSENT = range(len(STATES))
_PRECEDENCE = (ABSENT, CRASHED, HUNG, BOOTING, DRAINING, SLOWED)  # first that holds wins
# What happened to a request, by Status code, in the words the view shows.
OUTCOMES = ("answered", "rejected", "no instance", "failed", "timed out", "store down",
            "client error")
# What a cluster event's name means, in the words the view shows.
EVENT_WORDS = {"crash": "crashed", "hang": "hung", "recover": "restarted", "unhang": "woke up",
               "slow": "slowed down", "fast": "back to full speed", "launch": "launched",
               "ready": "ready", "drain": "draining", "cancelled": "cancelled while booting",
               "marked down": "marked down", "marked up": "marked up"}
_SWITCHES = {  # event → (flag, value) it sets
    "crash": ("crashed", True), "recover": ("crashed", False), "hang": ("hung", True),
    "unhang": ("hung", False), "slow": ("slowed", True), "fast": ("slowed", False),
    "marked down": ("down", True), "marked up": ("down", False), "drain": ("draining", True),
}


def flow_payload(result: Result, start: float | None = None, end: float | None = None,
                 cap: int = CAP, store: bool | None = None) -> dict:
    """The window ``[start, end)`` of ``result`` (default: at most ``cap`` requests around the
    most interesting moment) as the flow view's payload. ``store``: draw a shared session
    store (``None``: when the run says it had one, see :func:`_has_store`).

    Keys: ``t0`` and ``duration`` (s), ``count``; per request, in arrival order, ``index`` (row
    in ``result.requests``), ``arrival``/``start``/``end`` (s from ``t0``), ``instance``,
    ``status`` (a :class:`~scalelab.result.Status` value), ``retries``, ``lost`` (0/1) and
    ``user`` (−1: none); ``instances`` (the indices the view draws) and their ``slots``;
    ``intervals`` (per instance, from/to in s from ``t0``, a :data:`STATES` code and whether
    the health check had it marked down); ``events`` (time from ``t0``, instance, what
    happened in :data:`EVENT_WORDS`' words);
    ``store`` (draw a shared session store); ``statuses`` and ``states`` (names of the codes)
    and ``summary`` (one paragraph of text for screen readers).
    """
    if not isinstance(result, Result):
        raise TypeError("result must be a scalelab Result (what sl.simulate, "
                        "sl.simulate_closed or lab.load return), got "
                        f"{type(result).__name__}")
    cap = _validate.integer("cap", cap, minimum=1)
    if store is not None and not isinstance(store, (bool, np.bool_)):
        raise TypeError(f"store must be True, False or None (decide from the run), got {store!r}")
    records = result.requests
    if len(records) == 0:
        raise ValueError("result has no requests to replay")
    if start is None and end is None:
        start, end, rows = _default_window(result, cap)
    else:
        start, end = _checked_window(result, start, end)
        rows = _rows_in(records, start, end)
        if len(rows) == 0:
            raise ValueError(f"no request arrives in the window [{start:g}, {end:g}) s or is "
                             f"in the system at its start; requests arrive from "
                             f"{records['arrival'][0]:g} s to {records['arrival'][-1]:g} s")
        if len(rows) > MOST:
            raise ValueError(f"the window [{start:g}, {end:g}) s holds {len(rows):,} requests; "
                             f"at most {MOST:,} can be replayed: choose a shorter window")
    payload = _payload(result, rows, start, end)
    if store is not None:
        payload["store"] = bool(store)
    return payload


def _checked_window(result: Result, start, end) -> tuple[float, float]:
    arrivals = result.requests["arrival"]
    start = float(min(0.0, arrivals[0])) if start is None else \
        _validate.number("start", start)
    end = _run_end(result) if end is None else _validate.number("end", end)
    if math.isinf(start) or math.isinf(end):
        raise ValueError(f"start and end must be finite seconds, got start={start}, end={end}")
    if not start < end:
        raise ValueError(f"start must be before end, got start={start:g} s, end={end:g} s")
    return start, end


def _run_end(result: Result) -> float:
    """Just after the last arrival, and no earlier than the run's duration."""
    last = float(result.requests["arrival"][-1])
    return max(result.duration, math.nextafter(last, math.inf))


def _rows_in(records: np.ndarray, start: float, end: float) -> np.ndarray:
    """Rows of the requests that arrive in [start, end), after those still in the system at
    ``start`` that arrived before it; each group in arrival order."""
    arrivals = records["arrival"]
    lo = bisect.bisect_left(arrivals, start)
    hi = bisect.bisect_left(arrivals, end)
    inside = np.arange(lo, hi)
    if hi - lo > 1 and np.any(np.diff(arrivals[lo:hi]) < 0):  # not sorted: look at every one
        inside = np.flatnonzero((arrivals >= start) & (arrivals < end))
        carried = np.flatnonzero((arrivals < start) & (records["end"] > start))
    else:
        carried = _carried(records, lo, start)
    return np.concatenate([carried, inside])


def _carried(records: np.ndarray, lo: int, start: float) -> np.ndarray:
    """Rows before ``lo`` (arrived before ``start``) still queued or in service at ``start``."""
    return np.flatnonzero(records["end"][:lo] > start) if lo else np.empty(0, dtype=np.intp)


def _default_window(result: Result, cap: int):
    records = result.requests
    arrivals = records["arrival"]
    n = len(records)
    focus, striking = _focus(result)
    if n <= cap and not striking:
        start, end = float(min(0.0, arrivals[0])), _run_end(result)
        return start, end, _rows_in(records, start, end)
    at = bisect.bisect_left(arrivals, focus)
    lo = max(0, at - int(cap * LEAD), bisect.bisect_left(arrivals, focus - LEAD_SECONDS))
    while True:
        start = float(arrivals[lo])
        lo = bisect.bisect_left(arrivals, start)  # every request arriving at that instant
        carried = _carried(records, lo, start)
        if len(carried) <= cap // 2 or lo == 0:
            break
        lo //= 2  # a backlog this long fills the window: look where it was shorter
    hi = min(n, lo + max(1, cap - len(carried)))
    end = float(arrivals[hi]) if hi < n else _run_end(result)
    if end == start:  # more than the cap arrive at one instant: take them all
        end = math.nextafter(start, math.inf)
    return start, end, np.concatenate([carried, np.arange(lo, bisect.bisect_left(arrivals, end))])


def _focus(result: Result) -> tuple[float, bool]:
    """Where to look, and whether something stands out there: the first crash, hang,
    mark-down, launch…; else the first error; else (nothing striking) the worst wait, in a
    sample of at most :data:`SAMPLE` records for big runs."""
    for kind in FOCUS_EVENTS:
        times = [t for t, _, what in result.events if what == kind]
        if times:
            return float(min(times)), True
    records = result.requests
    sample = records[::max(1, math.ceil(len(records) / SAMPLE))]
    errors = np.flatnonzero(sample["status"] != Status.OK)
    if len(errors):
        return float(sample["arrival"][errors[0]]), True
    return float(sample["arrival"][np.argmax(sample["start"] - sample["arrival"])]), False


def _payload(result: Result, rows: np.ndarray, start: float, end: float) -> dict:
    picked = result.requests[rows]
    instances = _drawn_instances(result, picked["instance"], start, end)
    intervals = _intervals(result, instances, start, end)
    events = [(float(t - start), int(i), EVENT_WORDS.get(what, str(what)))
              for t, i, what in sorted(result.events) if start <= t < end]
    payload = {
        "t0": start,
        "duration": end - start,
        "count": len(rows),
        "index": rows.astype(np.int64),
        "arrival": picked["arrival"] - start,
        "start": picked["start"] - start,
        "end": picked["end"] - start,
        "instance": picked["instance"].astype(np.int32),
        "status": picked["status"].astype(np.int8),
        "retries": picked["retries"].astype(np.int8),
        "lost": picked["lost_session"].astype(np.uint8),
        "user": np.clip(picked["user"], -1, 2**31 - 1).astype(np.int32),
        "instances": instances,
        "slots": [_slots(result, i) for i in instances],
        "intervals": intervals,
        "events": events,
        "store": _has_store(result, picked),
        "statuses": list(OUTCOMES),
        "states": list(STATES),
    }
    payload["summary"] = summary_text(payload)
    return payload


def _slots(result: Result, i: int) -> int:
    return int(result.instances[i].slots) if i < len(result.instances) else 1


def _drawn_instances(result: Result, chosen: np.ndarray, start: float, end: float) -> list[int]:
    """Every instance running at some moment of the window, and any a request went to."""
    life = result.lifetimes
    known = len(life)
    alive = [i for i in range(known) if life[i, 0] < end and life[i, 2] > start]
    used = np.unique(chosen[chosen >= 0]).tolist()
    return sorted(set(alive) | set(int(i) for i in used))


def _intervals(result: Result, instances: list[int], start: float, end: float) -> dict:
    """Per drawn instance, the spans of constant state inside the window (s from ``start``)."""
    by_instance: dict[int, list[tuple[float, str]]] = {i: [] for i in instances}
    for t, i, what in result.events:
        if i in by_instance and what in _SWITCHES:
            by_instance[i].append((float(t), what))
    columns = {"instance": [], "from": [], "to": [], "state": [], "down": []}
    for i in instances:
        for t_from, t_to, state, down in _spans(result, i, sorted(by_instance[i]), start, end):
            for name, value in zip(columns, (i, t_from - start, t_to - start, state, down)):
                columns[name].append(value)
    return columns


def _spans(result: Result, i: int, events: list, start: float, end: float):
    """(from, to, state, down) spans of instance ``i`` covering [start, end)."""
    if i < len(result.lifetimes):
        launched, ready, removed = (float(x) for x in result.lifetimes[i])
    else:
        launched, ready, removed = -math.inf, -math.inf, math.inf
    changes = sorted({start, end, *(t for t, _ in events),
                      *(t for t in (launched, ready, removed) if start < t < end)})
    flags = {"crashed": False, "hung": False, "slowed": False, "down": False, "draining": False}
    spans, k = [], 0
    for t_from, t_to in zip(changes, changes[1:]):
        while k < len(events) and events[k][0] <= t_from:
            flag, value = _SWITCHES[events[k][1]]
            flags[flag] = value
            k += 1
        if t_from >= end:
            break
        present = launched <= t_from < removed
        holds = {ABSENT: not present, CRASHED: flags["crashed"], HUNG: flags["hung"],
                 BOOTING: t_from < ready, DRAINING: flags["draining"], SLOWED: flags["slowed"]}
        state = next((s for s in _PRECEDENCE if holds[s]), RUNNING)
        span = (max(t_from, start), min(t_to, end), state, bool(flags["down"]))
        if spans and spans[-1][2:] == span[2:]:
            spans[-1] = (spans[-1][0], span[1], *span[2:])
        elif span[1] > span[0]:
            spans.append(span)
    return spans


def _has_store(result: Result, picked: np.ndarray) -> bool:
    """Draw a shared session store: the run says it had one (a ``sessions`` attribute naming a
    shared store, object or text), or some request failed because the store did not answer."""
    sessions = getattr(result, "sessions", None)
    if sessions is not None:
        name = sessions if isinstance(sessions, str) else type(sessions).__name__
        return "shared" in name.lower()
    return bool(np.any(picked["status"] == Status.STORE_DOWN))


def summary_text(payload: dict) -> str:
    """One paragraph that says what the window shows, for readers who cannot see it."""
    status = payload["status"]
    names = payload["statuses"]
    t0 = payload["t0"]
    count = payload["count"]
    parts = [f"{count:,} request{'s' if count != 1 else ''} from {t0:.1f} s to "
             f"{t0 + payload['duration']:.1f} s on {len(payload['instances'])} "
             f"instance{'s' if len(payload['instances']) != 1 else ''}"]
    outcomes = [f"{np.count_nonzero(status == code):,} {names[code]}"
                for code in range(len(names)) if np.any(status == code)]
    parts.append(", ".join(outcomes))
    retried = int(np.count_nonzero(payload["retries"]))
    if retried:
        parts.append(f"{retried:,} retried on another instance")
    lost = int(np.count_nonzero(payload["lost"]))
    if lost:
        parts.append(f"{lost:,} found no session (a forced login)")
    happenings = [f"instance {i} {what} at {t0 + t:.1f} s" for t, i, what in payload["events"]]
    text = "Replays " + "; ".join(parts) + "."
    if happenings:
        shown = happenings[:8]
        more = len(happenings) - len(shown)
        text += " Meanwhile: " + "; ".join(shown) + (f"; and {more} more" if more else "") + "."
    return text

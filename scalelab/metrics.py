"""Pure functions over request records: latency, percentiles, throughput, utilization, and
binning into time series.

Times and latencies are in seconds, rates per second, utilization a fraction 0–1. The
records are the structured array ``Result.requests`` (fields ``arrival``, ``start``, ``end``,
``service``, ``instance``, ``status``); status 0 means answered.
"""

from __future__ import annotations

import numpy as np

OK = 0


def latency(requests: np.ndarray) -> np.ndarray:
    """Response time (end − arrival) of every answered request, in arrival order."""
    done = requests[requests["status"] == OK]
    return done["end"] - done["arrival"]


def percentile(values: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0–100, linear interpolation) or NaN when there are no values."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def percentiles(values: np.ndarray, qs, *, in_place: bool = False) -> list[float]:
    """The ``qs``-th percentiles (0–100) of ``values``, NaN for each when there are none:
    ``numpy.percentile``'s linear interpolation, to the last bit, from one partition.
    ``in_place``: partition ``values`` itself (it is left reordered) instead of a copy."""
    count = len(values)
    if not count:
        return [float("nan")] * len(qs)
    position = (count - 1) * np.true_divide(np.asarray(qs, dtype=float), 100)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, count - 1)
    ordered = values if in_place else values.copy()
    ordered.partition(np.unique(np.concatenate([low, high])))
    below, above = ordered[low], ordered[high]
    gamma = position - low
    step = above - below
    result = below + step * gamma
    upper = gamma >= 0.5  # numpy's lerp counts down from the upper value there
    result[upper] = (above - step * (1 - gamma))[upper]
    return result.tolist()


def busy_seconds(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Total service time spent before each time in ``edges``, summed over all requests.

    ``np.diff`` of the result is the busy time inside each bin. Exact for intervals that
    straddle bin edges: Σ max(0, min(e, end) − start) = Σ_{start<e}(e − start) − Σ_{end<e}(e − end).
    """
    return _area_before(np.sort(start), edges) - _area_before(np.sort(end), edges)


def busy_in_window(start: np.ndarray, end: np.ndarray, begin: float, finish: float,
                   scratch: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Service seconds spent inside ``[begin, finish]``, summed over all requests (no sort).
    ``scratch``: two float arrays as long as ``start`` to write into instead of new ones."""
    inside, other = scratch if scratch is not None else (None, None)
    if begin <= 0:  # times are ≥ 0: only the upper bound clips
        inside = np.minimum(end, finish, out=inside)
        inside -= np.minimum(start, finish, out=other)
    else:
        inside = np.clip(end, begin, finish, out=inside)
        inside -= np.clip(start, begin, finish, out=other)
    return float(inside.sum())


def _area_before(sorted_times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Σ over times t < e of (e − t), for each e in edges."""
    count = np.searchsorted(sorted_times, edges, side="left")
    prefix = np.concatenate([[0.0], np.cumsum(sorted_times)])
    return count * edges - prefix[count]


def binned_count(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """How many of ``times`` fall in each bin ``[edges[k], edges[k+1])``."""
    return np.histogram(times, edges)[0]


def binned_percentiles(times: np.ndarray, values: np.ndarray, edges: np.ndarray,
                       qs=(50, 95, 99)) -> dict[float, np.ndarray]:
    """Percentiles of ``values`` grouped by the bin their ``times`` fall in (NaN for empty bins).

    Vectorized: one sort by (bin, value), then linear interpolation inside each bin, the same
    rule as ``numpy.percentile``.
    """
    n_bins = len(edges) - 1
    bins = np.searchsorted(edges, times, side="right") - 1
    inside = (bins >= 0) & (bins < n_bins)
    bins, values = bins[inside], values[inside]
    order = np.lexsort((values, bins))
    values = values[order]
    counts = np.bincount(bins, minlength=n_bins)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    result = {}
    for q in qs:
        position = (counts - 1) * (q / 100.0)
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, counts - 1)
        fraction = position - low
        out = np.full(n_bins, np.nan)
        has = counts > 0
        lo_value = values[first[has] + low[has]]
        hi_value = values[first[has] + high[has]]
        out[has] = lo_value + (hi_value - lo_value) * fraction[has]
        result[q] = out
    return result

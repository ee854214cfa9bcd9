"""metrics: the vectorized functions against brute-force loops written from their definitions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalelab import metrics
from scalelab.result import REQUEST_FIELDS, Status

# Times on a 0.25-s grid so that ties and values exactly on a bin edge come up often.
grid_times = st.integers(min_value=-8, max_value=80).map(lambda k: k / 4)
smooth_times = st.floats(min_value=-5, max_value=25, allow_nan=False)
times = st.one_of(grid_times, smooth_times)


@st.composite
def intervals(draw):
    """A list of (start, end) with start ≤ end, some of zero length."""
    starts = draw(st.lists(times, max_size=30))
    lengths = draw(st.lists(st.one_of(st.just(0.0), st.floats(0, 10)),
                            min_size=len(starts), max_size=len(starts)))
    return np.array(starts, dtype=float), np.array(starts, dtype=float) + np.array(lengths)


@st.composite
def bin_edges(draw, min_bins=1):
    """Strictly increasing edges (at least ``min_bins`` bins)."""
    values = draw(st.lists(times, min_size=min_bins + 1, max_size=12, unique=True))
    return np.array(sorted(values), dtype=float)


# --- busy_seconds ---------------------------------------------------------------------------

def brute_busy(start, end, edges):
    return np.array([sum(max(0.0, min(e, b) - a) for a, b in zip(start, end)) for e in edges])


@settings(max_examples=300, deadline=None)
@given(intervals(), st.lists(times, max_size=12))
def test_busy_seconds_matches_a_loop_over_requests(pair, edges):
    start, end = pair
    edges = np.array(sorted(edges), dtype=float)
    got = metrics.busy_seconds(start, end, edges)
    np.testing.assert_allclose(got, brute_busy(start, end, edges), rtol=1e-9, atol=1e-9)


def test_busy_seconds_by_hand():
    # [0, 2) and [1, 4): busy 0 before t=0, 1 before t=1, 3 before t=2, 5 before t=10.
    got = metrics.busy_seconds(np.array([0.0, 1.0]), np.array([2.0, 4.0]),
                               np.array([0.0, 1.0, 2.0, 10.0]))
    np.testing.assert_allclose(got, [0, 1, 3, 5])
    np.testing.assert_allclose(np.diff(got), [1, 2, 2])   # busy seconds inside each bin


# --- binned_count ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(times, max_size=40), bin_edges())
def test_binned_count_matches_a_loop(values, edges):
    # Bins are [edges[k], edges[k+1]). A time exactly on the last edge is left out of this
    # check: np.histogram (used inside) counts it in the last bin, binned_percentiles does not.
    values = np.array([t for t in values if t != edges[-1]], dtype=float)
    expected = [np.count_nonzero((values >= lo) & (values < hi))
                for lo, hi in itertools.pairwise(edges)]
    np.testing.assert_array_equal(metrics.binned_count(values, edges), expected)


def test_binned_count_puts_a_time_on_an_inner_edge_in_the_later_bin():
    counts = metrics.binned_count(np.array([0.0, 0.5, 1.0, 1.0, 2.5, -1.0, 7.0]),
                                  np.array([0.0, 1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(counts, [2, 2, 1])


# --- binned_percentiles ---------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.data(), bin_edges(),
       st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=4, unique=True))
def test_binned_percentiles_equal_numpy_percentile_per_bin(data, edges, qs):
    t = np.array(data.draw(st.lists(times, max_size=40)), dtype=float)
    values = np.array(data.draw(st.lists(st.floats(-1e3, 1e3, allow_nan=False),
                                         min_size=len(t), max_size=len(t))), dtype=float)
    got = metrics.binned_percentiles(t, values, edges, qs=qs)
    assert set(got) == set(qs)
    for q in qs:
        assert len(got[q]) == len(edges) - 1
        for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
            inside = values[(t >= lo) & (t < hi)]
            if len(inside) == 0:
                assert math.isnan(got[q][k]), (q, k)
            else:
                assert got[q][k] == pytest.approx(np.percentile(inside, q), rel=1e-9, abs=1e-9)


def test_binned_percentiles_default_quantiles_and_empty_bins_by_hand():
    t = np.array([0.1, 0.2, 0.3, 0.4, 2.5])
    values = np.array([4.0, 1.0, 3.0, 2.0, 9.0])
    got = metrics.binned_percentiles(t, values, np.array([0.0, 1.0, 2.0, 3.0]))
    assert sorted(got) == [50, 95, 99]
    # Bin 0 holds 1, 2, 3, 4: median 2.5, p95 = 3 + 0.85 = 3.85. Bin 1 is empty, bin 2 is 9.
    np.testing.assert_allclose(got[50], [2.5, np.nan, 9.0])
    np.testing.assert_allclose(got[95], [3.85, np.nan, 9.0])


def test_binned_percentiles_with_no_values_at_all_are_nan():
    got = metrics.binned_percentiles(np.array([]), np.array([]), np.array([0.0, 1.0, 2.0]))
    assert np.isnan(got[50]).all() and len(got[50]) == 2


# --- percentile and latency -----------------------------------------------------------------

def test_percentile_of_nothing_is_nan():
    assert math.isnan(metrics.percentile(np.array([]), 50))
    assert math.isnan(metrics.percentile(np.array([]), 99))


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50),
       st.floats(0, 100))
def test_percentile_interpolates_linearly(values, q):
    expected = np.percentile(np.array(values), q)
    assert metrics.percentile(np.array(values), q) == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_percentile_by_hand():
    assert metrics.percentile(np.array([10.0, 20.0, 30.0, 40.0]), 50) == 25.0
    assert metrics.percentile(np.array([10.0, 20.0, 30.0, 40.0]), 100) == 40.0
    assert isinstance(metrics.percentile(np.array([1.0]), 50), float)


def test_latency_is_end_minus_arrival_of_answered_requests_only():
    records = np.zeros(3, dtype=REQUEST_FIELDS)
    records["arrival"] = [0.0, 1.0, 2.0]
    records["start"] = [0.5, 0.0, 2.0]
    records["end"] = [1.5, 0.0, 2.25]
    records["status"] = [Status.OK, Status.REJECTED, Status.OK]
    np.testing.assert_allclose(metrics.latency(records), [1.5, 0.25])


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=300),
       qs=st.lists(st.floats(0, 100), min_size=1, max_size=4))
def test_percentiles_from_one_partition_are_numpys_to_the_last_bit(values, qs):
    array = np.array(values, dtype=float)
    ours = metrics.percentiles(array, qs)
    if not len(values):
        assert all(np.isnan(ours))
        return
    assert ours == np.percentile(array, qs).tolist()
    assert np.array_equal(array, np.array(values))  # a copy was partitioned, not the input


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), warmup=st.floats(0, 50), crash=st.booleans(),
       shuffle=st.booleans())
def test_a_summary_after_a_warmup_counts_exactly_the_later_requests(seed, warmup, crash,
                                                                     shuffle):
    """The oracle: the summary of records holding only the requests that arrived at or after
    the warm-up, without one (arrivals in time order or not)."""
    import scalelab as sl

    failures = [sl.Crash(instance=0, at=20.0)] if crash else []
    res = sl.simulate(sl.workloads.poisson(rate=20, duration=60, seed=seed), instances=2,
                      service_time=0.05, failures=failures, seed=seed)
    records = res.requests
    if shuffle:
        records = records[np.random.default_rng(seed).permutation(len(records))]
    later = records[records["arrival"] >= warmup]
    whole = sl.Result(records, res.instances, res.duration).summary(warmup=warmup)
    oracle = sl.Result(later, res.instances, res.duration).summary()
    for key in ("requests", "completed", "errors", "lost_sessions", "retries"):
        assert whole[key] == oracle[key], key
    for key in ("mean", "p50", "p95", "p99", "max", "mean_wait"):
        assert whole[key] == pytest.approx(oracle[key], rel=1e-12, nan_ok=True), key

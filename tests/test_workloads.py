"""Arrival generators: shape (sorted, inside the window), counts against the integral of the
rate, seeding, and errors that name the parameter and the value.

Count checks allow 5 standard deviations of a Poisson count (sd = √expected): a correct
generator fails one of them about once in a million runs, a wrong rate fails them outright.
"""

from __future__ import annotations

import itertools
import math
import tracemalloc

import numpy as np
import pytest

from scalelab import workloads

RANDOM_GENERATORS = {
    "poisson": lambda seed: workloads.poisson(rate=20, duration=50, seed=seed),
    "ramp": lambda seed: workloads.ramp(start_rate=5, end_rate=40, duration=50, seed=seed),
    "steps": lambda seed: workloads.steps([10, 30, 0, 20], step_duration=10, seed=seed),
    "spike": lambda seed: workloads.spike(base_rate=5, peak_rate=60, at=20, length=5,
                                          duration=50, seed=seed),
    "diurnal": lambda seed: workloads.diurnal(mean_rate=20, amplitude=0.8, period=50, seed=seed),
}
ALL_GENERATORS = {
    **RANDOM_GENERATORS,
    "constant": lambda seed: workloads.constant(rate=7, duration=50),
    "from_times": lambda seed: workloads.from_times([4.0, 0.5, 2.25, 2.25, 0.0], duration=5),
}


def assert_counts_match(arrivals, edges, expected):
    """Count per segment [edges[k], edges[k+1]) within 5 Poisson sd of ``expected[k]``."""
    counts = np.array([np.count_nonzero((arrivals >= lo) & (arrivals < hi))
                       for lo, hi in itertools.pairwise(edges)])
    expected = np.asarray(expected, dtype=float)
    allowed = 5 * np.sqrt(expected) + 1e-9
    assert np.all(np.abs(counts - expected) <= allowed), (counts, expected.round(1))


# --- shape shared by every generator -------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ALL_GENERATORS))
def test_arrivals_are_sorted_and_inside_the_window(name):
    wl = ALL_GENERATORS[name](seed=3)
    arrivals = wl.arrivals
    assert len(arrivals) > 0
    assert np.all(np.diff(arrivals) >= 0)
    assert arrivals[0] >= 0
    assert arrivals[-1] < wl.duration
    assert len(wl) == len(arrivals)
    assert wl.rate == pytest.approx(len(arrivals) / wl.duration)


@pytest.mark.parametrize("name", sorted(RANDOM_GENERATORS))
def test_same_seed_gives_the_same_times_and_another_seed_different_times(name):
    make = RANDOM_GENERATORS[name]
    first, again, other = make(seed=11), make(seed=11), make(seed=12)
    np.testing.assert_array_equal(first.arrivals, again.arrivals)
    assert len(first) != len(other) or not np.array_equal(first.arrivals, other.arrivals)


# --- constant -------------------------------------------------------------------------------

def test_constant_spaces_arrivals_one_over_rate_apart():
    wl = workloads.constant(rate=4, duration=2.5)
    np.testing.assert_allclose(wl.arrivals, [0, .25, .5, .75, 1, 1.25, 1.5, 1.75, 2, 2.25])
    assert wl.duration == 2.5


def test_constant_with_a_rate_that_does_not_divide_the_duration():
    wl = workloads.constant(rate=3, duration=1)
    np.testing.assert_allclose(wl.arrivals, [0, 1 / 3, 2 / 3])
    # 4.5 expected arrivals: the gaps are still exactly 1/rate and the count rounds (4 or 5).
    wl = workloads.constant(rate=3, duration=1.5)
    np.testing.assert_allclose(np.diff(wl.arrivals), 1 / 3)
    assert wl.arrivals[0] == 0 and len(wl) in (4, 5)


# --- poisson --------------------------------------------------------------------------------

def test_poisson_count_is_rate_times_duration():
    wl = workloads.poisson(rate=50, duration=400, seed=1)
    expected = 50 * 400
    assert abs(len(wl) - expected) <= 5 * math.sqrt(expected)


def test_poisson_gaps_are_exponential_and_counts_overdispersed_like_poisson():
    wl = workloads.poisson(rate=10, duration=5000, seed=2)
    gaps = np.diff(wl.arrivals)
    # Exponential gaps: mean 1/rate and coefficient of variation 1 (a constant stream has 0).
    assert gaps.mean() == pytest.approx(0.1, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.03)
    # Counts in 1-s windows: variance/mean = 1 for Poisson (sd of the ratio ≈ √(2/5000) = 0.02).
    counts = np.histogram(wl.arrivals, np.arange(5001))[0]
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.1)


# --- inhomogeneous generators: count per segment = integral of the rate ---------------------

def test_rising_ramp_count_per_segment_matches_the_integral():
    wl = workloads.ramp(start_rate=0, end_rate=200, duration=100, seed=4)   # rate(t) = 2t
    edges = np.linspace(0, 100, 11)
    expected = edges[1:] ** 2 - edges[:-1] ** 2                             # ∫ 2t dt
    assert_counts_match(wl.arrivals, edges, expected)


def test_falling_ramp_count_per_segment_matches_the_integral():
    wl = workloads.ramp(start_rate=100, end_rate=20, duration=80, seed=5)   # rate = 100 − t

    def integral(t):
        return 100 * t - t**2 / 2

    edges = np.linspace(0, 80, 9)
    assert_counts_match(wl.arrivals, edges, integral(edges[1:]) - integral(edges[:-1]))


def test_steps_count_per_step_and_a_zero_step_is_empty():
    wl = workloads.steps([10, 50, 0, 30], step_duration=20, seed=6)
    assert wl.duration == 80
    assert_counts_match(wl.arrivals, [0, 20, 40, 60, 80], [200, 1000, 0, 600])
    assert not np.any((wl.arrivals >= 40) & (wl.arrivals < 60))


def test_spike_count_before_during_and_after_the_spike():
    wl = workloads.spike(base_rate=10, peak_rate=100, at=30, length=10, duration=100, seed=7)
    assert_counts_match(wl.arrivals, [0, 30, 40, 100], [300, 1000, 600])


def test_spike_with_zero_base_rate_only_has_arrivals_inside_the_spike():
    wl = workloads.spike(base_rate=0, peak_rate=50, at=12, length=4, duration=30, seed=8)
    assert len(wl) > 0
    assert wl.arrivals.min() >= 12 and wl.arrivals.max() < 16


def test_diurnal_count_per_segment_follows_the_sine():
    mean, amplitude, period = 50.0, 0.6, 1000.0
    wl = workloads.diurnal(mean_rate=mean, amplitude=amplitude, period=period, seed=9)
    assert wl.duration == period                       # one day by default

    def integral(t):                                   # ∫ mean (1 − A cos(2πt/P)) dt
        return mean * (t - amplitude * period / (2 * np.pi) * np.sin(2 * np.pi * t / period))

    edges = np.linspace(0, period, 11)
    expected = integral(edges[1:]) - integral(edges[:-1])
    assert_counts_match(wl.arrivals, edges, expected)
    counts = np.histogram(wl.arrivals, edges)[0]
    assert counts[0] < counts[4] and counts[-1] < counts[5]   # night < midday


def test_diurnal_with_an_explicit_duration_covers_two_periods():
    wl = workloads.diurnal(mean_rate=20, amplitude=1.0, period=100, duration=200, seed=10)
    assert wl.duration == 200
    # Rate 0 at t = 0, 100, 200 and 40/s at 50, 150: each half period holds mean × 50 = 1000.
    assert_counts_match(wl.arrivals, [0, 50, 100, 150, 200], [1000, 1000, 1000, 1000])


# --- from_times -----------------------------------------------------------------------------

def test_from_times_sorts_and_keeps_every_time():
    wl = workloads.from_times([3.0, 1.0, 2.0, 1.0], duration=5)
    np.testing.assert_array_equal(wl.arrivals, [1.0, 1.0, 2.0, 3.0])
    assert wl.duration == 5.0


def test_from_times_defaults_the_duration_to_the_last_time():
    assert workloads.from_times([0.5, 4.0, 2.0]).duration == 4.0
    empty = workloads.from_times([])
    assert len(empty) == 0 and empty.duration > 0


# --- bad input: the error names the parameter and the value --------------------------------

BAD_INPUT = [
    # (call, error type, parameter named, value shown)
    (lambda: workloads.constant(rate=0, duration=10), ValueError, "rate", "0"),
    (lambda: workloads.constant(rate=5, duration=-1), ValueError, "duration", "-1"),
    (lambda: workloads.constant(rate=float("inf"), duration=1), ValueError, "rate", "inf"),
    (lambda: workloads.poisson(rate=-3, duration=10), ValueError, "rate", "-3"),
    (lambda: workloads.poisson(rate=float("nan"), duration=10), ValueError, "rate", "nan"),
    (lambda: workloads.poisson(rate=5, duration=0), ValueError, "duration", "0"),
    (lambda: workloads.poisson(rate=5, duration=float("nan")), ValueError, "duration", "nan"),
    (lambda: workloads.poisson(rate="5", duration=10), TypeError, "rate", "'5'"),
    (lambda: workloads.poisson(rate=None, duration=10), TypeError, "rate", "None"),
    (lambda: workloads.poisson(rate=True, duration=10), TypeError, "rate", "True"),
    (lambda: workloads.poisson(rate=5, duration=[10]), TypeError, "duration", "[10]"),
    (lambda: workloads.poisson(rate=5, duration=10, seed=-1), ValueError, "seed", "-1"),
    (lambda: workloads.poisson(rate=5, duration=10, seed=1.5), TypeError, "seed", "1.5"),
    (lambda: workloads.ramp(start_rate=-1, end_rate=5, duration=10), ValueError,
     "start_rate", "-1"),
    (lambda: workloads.ramp(start_rate=1, end_rate=float("nan"), duration=10), ValueError,
     "end_rate", "nan"),
    (lambda: workloads.ramp(start_rate=0, end_rate=0, duration=10), ValueError,
     "start_rate", "0"),
    (lambda: workloads.ramp(start_rate=1, end_rate=5, duration=0), ValueError, "duration", "0"),
    (lambda: workloads.steps([10, -5], step_duration=1), ValueError, "rates", "-5"),
    (lambda: workloads.steps([10, float("nan")], step_duration=1), ValueError, "rates", "nan"),
    (lambda: workloads.steps([0, 0], step_duration=1), ValueError, "rates", "0"),
    (lambda: workloads.steps([], step_duration=1), ValueError, "rates", "[]"),
    (lambda: workloads.steps(["a", "b"], step_duration=1), TypeError, "rates", "'a'"),
    (lambda: workloads.steps([10], step_duration=0), ValueError, "step_duration", "0"),
    (lambda: workloads.spike(base_rate=-1, peak_rate=5, at=1, length=1, duration=10),
     ValueError, "base_rate", "-1"),
    (lambda: workloads.spike(base_rate=1, peak_rate=0, at=1, length=1, duration=10),
     ValueError, "peak_rate", "0"),
    (lambda: workloads.spike(base_rate=1, peak_rate=5, at=-2, length=1, duration=10),
     ValueError, "at", "-2"),
    (lambda: workloads.spike(base_rate=1, peak_rate=5, at=12, length=1, duration=10),
     ValueError, "at", "12"),
    (lambda: workloads.spike(base_rate=1, peak_rate=5, at=1, length=0, duration=10),
     ValueError, "length", "0"),
    (lambda: workloads.diurnal(mean_rate=0), ValueError, "mean_rate", "0"),
    (lambda: workloads.diurnal(mean_rate=5, amplitude=1.5), ValueError, "amplitude", "1.5"),
    (lambda: workloads.diurnal(mean_rate=5, amplitude=-0.1), ValueError, "amplitude", "-0.1"),
    (lambda: workloads.diurnal(mean_rate=5, period=0), ValueError, "period", "0"),
    (lambda: workloads.diurnal(mean_rate=5, period=10, duration=-1), ValueError,
     "duration", "-1"),
    (lambda: workloads.from_times([1.0, -2.0]), ValueError, "times", "-2"),
    (lambda: workloads.from_times([1.0, float("nan")]), ValueError, "times", "nan"),
    (lambda: workloads.from_times([1.0, float("inf")]), ValueError, "times", "inf"),
    (lambda: workloads.from_times([[1.0, 2.0]]), ValueError, "times", "(1, 2)"),
    (lambda: workloads.from_times(["soon"]), TypeError, "times", "soon"),
    (lambda: workloads.from_times([1.0, 5.0], duration=3), ValueError, "duration", "3"),
    (lambda: workloads.from_times([1.0], duration=0), ValueError, "duration", "0"),
]


@pytest.mark.parametrize("call, error, parameter, value", BAD_INPUT,
                         ids=[f"{p}={v}" for _, _, p, v in BAD_INPUT])
def test_bad_input_raises_an_error_naming_the_parameter_and_the_value(call, error, parameter,
                                                                      value):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert parameter in message
    assert value.lower() in message.lower()


# -- sizes: checked from rate × duration before any arrival is drawn ---------------------------

TOO_BIG = [
    (lambda: workloads.poisson(1e9, 1e6), "rate × duration = 10¹⁵ requests"),
    (lambda: workloads.constant(1e9, 1e6), "rate × duration = 10¹⁵ requests"),
    (lambda: workloads.constant(1e300, 1e300), "rate × duration = more than 10³⁰⁸ requests"),
    (lambda: workloads.ramp(0, 2e9, 1e6), "(start_rate + end_rate) / 2 × duration = 10¹⁵"),
    (lambda: workloads.steps([1e9, 1e9], 1e6), "sum(rates) × step_duration = 2 × 10¹⁵"),
    (lambda: workloads.diurnal(1e9, duration=1e6), "mean_rate × duration = 10¹⁵"),
    (lambda: workloads.sessions(1e6, 1e6, requests=10), "rate × duration × requests = 10¹³"),
    # few requests, but drawn by thinning at the peak rate over the whole day: 8.6 × 10¹⁰ draws
    (lambda: workloads.spike(0, 1e6, at=0, length=1, duration=86_400),
     "max(base_rate, peak_rate) × duration = 8.6 × 10¹⁰ arrivals drawn at the peak rate"),
]


@pytest.mark.parametrize("call, words", TOO_BIG, ids=[w.split(" =")[0] for _, w in TOO_BIG])
def test_a_workload_too_big_for_memory_is_refused_before_any_allocation(call, words):
    tracemalloc.start()  # the oracle for "before any allocation": numpy's arrays are traced
    try:
        with pytest.raises(ValueError, match="this runs in memory") as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in str(info.value)
    assert peak < 1_000_000


def test_the_largest_workload_allowed_is_ten_million_requests():
    assert workloads.constant(1e7, 1.0).arrivals.size == 10**7  # 80 MB: fine
    with pytest.raises(ValueError, match=r"10⁷ this runs in memory"):
        workloads.constant(1e7 + 1, 1.0)

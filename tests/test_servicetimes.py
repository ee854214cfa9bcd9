"""Service-time distributions: a log-normal must be able to show its own mean."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

import scalelab as sl
from scalelab import servicetimes


def test_the_largest_sigma_keeps_the_unseen_tail_under_one_percent_of_the_mean():
    # E[X; Z > z] / E[X] = Φ(σ − z) for X = exp(μ + σZ). A run of 10⁷ draws reaches about
    # z = Φ⁻¹(1 − 10⁻⁷) = 5.20; the tail beyond it holds ≤ 1 % of the mean while σ ≤ 5.20 − 2.33
    z = NormalDist().inv_cdf(1 - 1e-7)
    assert servicetimes.LOGNORMAL_MAX_SIGMA == pytest.approx(z - NormalDist().inv_cdf(0.99),
                                                             abs=0.005)
    assert 1 - NormalDist().cdf(z - servicetimes.LOGNORMAL_MAX_SIGMA) == pytest.approx(0.01,
                                                                                        rel=0.02)


def test_a_sigma_whose_samples_cannot_show_the_mean_is_refused():
    # at sigma 50 every draw is 0 in float64 (μ = ln 0.1 − 1250): a run's mean was 0 s
    with np.errstate(under="ignore"):
        assert np.random.default_rng(1).lognormal(np.log(0.1) - 1250, 50, 10_000).mean() < 1e-100
    with pytest.raises(ValueError, match=r"sigma must be ≤ 2.87 for a log-normal, got 50"):
        sl.LogNormal(mean=0.1, sigma=50)
    with pytest.raises(ValueError, match="got 3"):
        sl.LogNormal(mean=0.1, sigma=3)


def test_the_lessons_heavy_tail_is_allowed_and_shows_its_mean():
    work = sl.LogNormal(mean=0.1, sigma=1.5).sample(np.random.default_rng(1), 1_000_000)
    assert work.mean() == pytest.approx(0.1, rel=0.05)

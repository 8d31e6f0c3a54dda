"""The ratio of two models' scores and its interval, against a direct computation."""

import numpy as np
import pytest
from scipy import stats as sps

from sklearn_crossenc.evaluation import ratio_interval, run_statistics
from sklearn_crossenc.metrics import pearson_score


def test_ratio_and_its_jackknife_interval_equal_a_direct_leave_one_run_out():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((7, 2, 60, 5))
    a = y + 2 * rng.standard_normal(y.shape)
    b = y + rng.standard_normal(y.shape)
    got = ratio_interval(run_statistics(y, a), run_statistics(y, b), confidence=0.9)
    full = pearson_score(y, a) / pearson_score(y, b)
    keep = [np.arange(7) != j for j in range(7)]
    jack = np.array([pearson_score(y[k], a[k]) / pearson_score(y[k], b[k]) for k in keep])
    se = np.sqrt(6 / 7 * ((jack - jack.mean()) ** 2).sum())
    half = sps.t.ppf(0.95, 6) * se
    assert got["estimate"] == pytest.approx(full, abs=1e-9)
    assert got["se"] == pytest.approx(se, rel=1e-6)
    assert (got["low"], got["high"]) == pytest.approx((full - half, full + half), rel=1e-6)


def test_a_ratio_over_a_non_positive_score_is_refused():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((4, 1, 30, 3))
    with pytest.raises(ValueError, match="denominator .* is not positive"):
        ratio_interval(run_statistics(y, y), run_statistics(y, -y))

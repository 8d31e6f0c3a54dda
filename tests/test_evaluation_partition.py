"""Variance partitioning against population values computed from the generating model."""

import numpy as np
import pytest

from sklearn_crossenc.evaluation._partition import partition_variance


def _population_r2(cov_xx, cov_xy, var_y):
    """R² of the best linear read-out of y from predictors with these covariances."""
    beta = np.linalg.solve(cov_xx, cov_xy)
    return float(beta @ cov_xy / var_y)


@pytest.mark.parametrize("w_s, w_m, w_c, w_e", [(1.0, 1.0, 1.0, 1.0), (0.5, 1.5, 0.3, 1.0),
                                                (1.2, 0.0, 0.8, 0.7)])
def test_pieces_match_the_population_values(w_s, w_m, w_c, w_e):
    # y = s + m + c + e; model = s + m; ceiling = s + c (independent unit components with
    # weights): population R² from the covariances, then the pieces by their definition.
    rng = np.random.default_rng(1)
    s, m, c, e = rng.standard_normal((4, 20, 2, 2000, 3))  # 20 runs, 2 subjects, 3 parcels
    y = w_s * s + w_m * m + w_c * c + w_e * e
    a, b = w_s * s + w_m * m, w_s * s + w_c * c
    var_y = w_s ** 2 + w_m ** 2 + w_c ** 2 + w_e ** 2
    va, vb, cab = w_s ** 2 + w_m ** 2, w_s ** 2 + w_c ** 2, w_s ** 2
    r2a, r2b = va / var_y, vb / var_y
    r2ab = _population_r2(np.array([[va, cab], [cab, vb]]), np.array([va, vb]), var_y)
    parts = partition_variance(y, a, b)
    expected = {"r2_model": r2a, "r2_ceiling": r2b, "r2_both": r2ab,
                "unique_model": r2ab - r2b, "unique_ceiling": r2ab - r2a,
                "shared": r2a + r2b - r2ab}
    for key, value in expected.items():
        assert parts[key].shape == (2, 3)
        np.testing.assert_allclose(parts[key], value, atol=0.01, err_msg=key)


def test_orthogonal_predictions_share_nothing_and_identical_ones_share_all():
    rng = np.random.default_rng(2)
    m, c, e = rng.standard_normal((3, 10, 1, 3000, 2))
    parts = partition_variance(m + c + e, m, c)
    np.testing.assert_allclose(parts["shared"], 0.0, atol=0.01)
    np.testing.assert_allclose(parts["unique_model"], 1 / 3, atol=0.01)
    same = partition_variance(m + e, m, 3.0 * m)  # collinear: the joint read-out is one
    np.testing.assert_allclose(same["unique_model"], 0.0, atol=1e-9)
    np.testing.assert_allclose(same["unique_ceiling"], 0.0, atol=1e-9)
    np.testing.assert_allclose(same["shared"], 0.5, atol=0.01)


def test_pieces_ignore_offsets_and_scales_of_each_series():
    rng = np.random.default_rng(3)
    s, m, c, e = rng.standard_normal((4, 5, 2, 200, 4))
    y, a, b = s + m + c + e, s + m, s + c
    ref = partition_variance(y, a, b)
    off = np.arange(4) * 1e4  # per-parcel constants, and per-run shifts of the model
    shifted = partition_variance(y * 1e-3 + off, a * 50 + rng.standard_normal((5, 1, 1, 1)),
                                 b * 1e3 - off)
    for key in ref:
        np.testing.assert_allclose(shifted[key], ref[key], atol=1e-6, err_msg=key)


def test_each_run_is_scored_by_a_fit_that_did_not_see_it():
    # Pure noise predictors: in-sample R² would be positive; held out it is not.
    rng = np.random.default_rng(4)
    y, a, b = rng.standard_normal((3, 4, 1, 30, 200))
    parts = partition_variance(y, a, b)
    assert parts["r2_model"].mean() < 0 and parts["r2_both"].mean() < parts["r2_model"].mean()


def test_fewer_than_two_runs_is_refused():
    y = np.zeros((1, 2, 10, 3))
    with pytest.raises(ValueError, match="needs at least 2 runs, got 1"):
        partition_variance(y, y, y)

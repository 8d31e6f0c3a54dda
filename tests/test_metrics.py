"""Pearson metrics and scorers: values against independent computations."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sklearn_crossenc.metrics import (
    make_pearson_scorer,
    pearson_map,
    pearson_r,
    pearson_score,
    pearson_scorer,
)


def _np_corr(a, b):
    # Independent reference: numpy's corrcoef column by column.
    return np.array([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(a.shape[1])])


def test_pearson_r_matches_corrcoef():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((200, 7))
    b = 0.5 * a + rng.standard_normal((200, 7))
    np.testing.assert_allclose(pearson_r(a, b), _np_corr(a, b), atol=1e-6)


def test_pearson_r_matches_seed_formula_float32():
    # The seed's pearsonr_score, computed in float32 as the notebook does.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 5)).astype(np.float32)
    b = (a + rng.standard_normal((300, 5))).astype(np.float32)
    at = a - a.mean(0)
    at = at / (np.linalg.norm(at, axis=0) + 1e-7)
    bt = b - b.mean(0)
    bt = bt / (np.linalg.norm(bt, axis=0) + 1e-7)
    np.testing.assert_allclose(pearson_r(a, b), (at * bt).sum(0), atol=1e-5)


def test_pearson_r_constant_column_is_zero_without_warning():
    a = np.ones((10, 2))
    b = np.arange(20.0).reshape(10, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pearson_r(a, b)
    assert np.all(r == 0.0)


def test_pearson_r_shape_errors():
    with pytest.raises(ValueError, match="same shape"):
        pearson_r(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="2-D"):
        pearson_r(np.zeros(5), np.zeros(5))


def test_pearson_map_concatenates_episodes_per_subject():
    rng = np.random.default_rng(2)
    y_true = [rng.standard_normal((3, t, 4)).astype(np.float32) for t in (30, 41, 25)]
    y_pred = [ep + rng.standard_normal(ep.shape) for ep in y_true]
    r = pearson_map(y_true, y_pred)
    assert r.shape == (3, 4)
    for s in range(3):
        a = np.concatenate([ep[s] for ep in y_true])
        b = np.concatenate([ep[s] for ep in y_pred])
        np.testing.assert_allclose(r[s], _np_corr(a, b), atol=1e-6)
    expected = np.mean([_np_corr(np.concatenate([ep[s] for ep in y_true]),
                                 np.concatenate([ep[s] for ep in y_pred])).mean()
                        for s in range(3)])
    assert pearson_score(y_true, y_pred) == pytest.approx(expected, abs=1e-6)


def test_pearson_map_trim_drops_both_ends_of_each_episode():
    rng = np.random.default_rng(3)
    y_true = [rng.standard_normal((2, 30, 3)) for _ in range(2)]
    y_pred = [rng.standard_normal((2, 30, 3)) for _ in range(2)]
    r = pearson_map(y_true, y_pred, trim=5)
    a = np.concatenate([ep[0, 5:25] for ep in y_true])
    b = np.concatenate([ep[0, 5:25] for ep in y_pred])
    np.testing.assert_allclose(r[0], _np_corr(a, b), atol=1e-6)
    with pytest.raises(ValueError, match="trim must be >= 0"):
        pearson_map(y_true, y_pred, trim=-1)
    with pytest.raises(ValueError, match="fewer than"):
        pearson_map(y_true, y_pred, trim=15)


def test_pearson_map_accepts_4d_arrays_and_checks_structure():
    y = np.random.default_rng(4).standard_normal((2, 3, 20, 4))
    np.testing.assert_allclose(pearson_map(y, y), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="episodes"):
        pearson_map(y, y[:1])
    with pytest.raises(ValueError, match="parcels"):
        pearson_map(y, y[..., :3])


class _Identity:
    def predict(self, X):
        return X


class _Noisy:
    def predict(self, X):
        return [ep + 1.0 * np.sin(np.arange(ep.shape[1]))[None, :, None] for ep in X]


def test_pearson_scorer_uses_x_as_target_when_y_is_none():
    rng = np.random.default_rng(5)
    X = [rng.standard_normal((2, 20, 3)) for _ in range(2)]
    assert pearson_scorer(_Identity(), X) == pytest.approx(1.0, abs=1e-6)
    est = _Noisy()
    assert pearson_scorer(est, X) == pytest.approx(pearson_score(X, est.predict(X)))
    y = [rng.standard_normal((2, 20, 3)) for _ in range(2)]
    assert pearson_scorer(est, X, y) == pytest.approx(pearson_score(y, est.predict(X)))


def test_make_pearson_scorer_trim():
    rng = np.random.default_rng(6)
    X = [rng.standard_normal((2, 30, 3)) for _ in range(2)]
    est = _Noisy()
    scorer = make_pearson_scorer(trim=5)
    assert scorer(est, X) == pytest.approx(pearson_score(X, est.predict(X), trim=5))
    with pytest.raises(ValueError, match="trim"):
        make_pearson_scorer(trim=-2)


# -- properties (hypothesis) -------------------------------------------------------------

_finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
_pairs = st.integers(min_value=3, max_value=40).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (n, 3), elements=_finite),
        arrays(np.float64, (n, 3), elements=_finite),
    )
)


@settings(max_examples=60, deadline=None)
@given(_pairs)
def test_property_bounded_and_symmetric(pair):
    a, b = pair
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # constant series must not leak NaN warnings
        r_ab = pearson_r(a, b)
        r_ba = pearson_r(b, a)
    assert np.all(np.isfinite(r_ab))
    assert np.all(np.abs(r_ab) <= 1.0 + 1e-9)
    np.testing.assert_allclose(r_ab, r_ba, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    _pairs,
    st.floats(min_value=-100, max_value=100),
    st.floats(min_value=0.1, max_value=100),
)
def test_property_invariant_to_shift_and_positive_scale(pair, shift, scale):
    a, b = pair
    # Only columns with a clearly non-zero spread, after scaling: eps is negligible there.
    spread = np.minimum(a.std(0), b.std(0) * min(scale, 1.0))
    keep = spread > 1e-1
    assume(keep.any())  # draw again instead of passing without an assertion
    a, b = a[:, keep], b[:, keep]
    np.testing.assert_allclose(
        pearson_r(a, b), pearson_r(a, scale * b + shift), atol=1e-6
    )
    np.testing.assert_allclose(pearson_r(a, b), -pearson_r(a, -scale * b), atol=1e-6)


def _seed_pearsonr_score(y_true, y_pred, eps=1e-7):
    # The seed notebook's pearsonr_score, verbatim in float64.
    y_true = y_true - y_true.mean(0)
    y_true = y_true / (np.linalg.norm(y_true, axis=0) + eps)
    y_pred = y_pred - y_pred.mean(0)
    y_pred = y_pred / (np.linalg.norm(y_pred, axis=0) + eps)
    return (y_true * y_pred).sum(0)


@pytest.mark.parametrize("std", [0.4, 0.5, 0.6])
def test_pearson_r_equals_the_seed_at_fmri_scales(std):
    rng = np.random.default_rng(7)
    a = std * rng.standard_normal((300, 50))
    b = 0.5 * a + std * rng.standard_normal((300, 50))
    np.testing.assert_allclose(pearson_r(a, b), _seed_pearsonr_score(a, b), atol=1e-6)


def test_pearson_r_of_small_magnitude_data_is_not_shrunk():
    # The seed's eps shrinks r towards 0 at small scales (r=1 gives ~0.5 at norms 1e-7).
    t = np.linspace(0.0, 1.0, 50)[:, None]
    for scale in (1e-6, 1e-9, 1e-12):
        np.testing.assert_allclose(pearson_r(scale * t, scale * t), [1.0], atol=1e-12)
    assert _seed_pearsonr_score(1e-9 * t, 1e-9 * t)[0] < 0.01  # what the guard avoids


def test_pearson_r_constant_columns_are_zero_at_any_offset():
    y = np.full((20, 3), [0.1, -3e7, 1e-12])  # means with rounding residue
    x = np.arange(60.0).reshape(20, 3)
    assert np.all(pearson_r(y, x) == 0.0)
    assert np.all(pearson_r(x, y) == 0.0)


_scales = st.floats(min_value=1e-12, max_value=1e12)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), _scales, _scales)
def test_property_scale_invariant_from_1e_minus_12_to_1e12(seed, s_true, s_pred):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((40, 4))
    b = 0.3 * a + rng.standard_normal((40, 4))
    r = pearson_r(a, b)
    np.testing.assert_allclose(pearson_r(s_true * a, b), r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(pearson_r(a, s_pred * b), r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(pearson_r(s_true * a, s_pred * b), r, rtol=0, atol=1e-9)

"""What the oldest supported dependencies broke, pinned down on every release.

- scipy 1.11's ``eigh(driver="evd")`` fails for a 1 x 1 matrix (``dsyevd:lwork=1``):
  ridge on a single feature must still solve, to the closed form.
- skorch 1.0 pickles a net's modules with ``torch.save`` and restores them with a bare
  ``torch.load``, which torch >= 2.6 refuses (``weights_only``): such a pickle must load.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.encoder._net import CrossSubjectNet
from sklearn_crossenc.solvers import ridge_fold_scores, ridge_stats, solve_ridge_stats

ALPHAS = np.array([0.1, 10.0, 1000.0])


def _one_feature(seed=0, n=50, c=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1)) + 1.5  # (N, 1)
    y = 0.7 * x + rng.standard_normal((n, c)) + 0.3  # (N, C)
    return x, y


def _closed_form(x, y, alpha, fit_intercept):
    """Scalar ridge per target: w = <x, y> / (<x, x> + alpha) on centred data."""
    mx, my = (x.mean(0), y.mean(0)) if fit_intercept else (np.zeros(1), np.zeros(y.shape[1]))
    xc, yc = x - mx, y - my
    w = (xc[:, 0] @ yc) / (xc[:, 0] @ xc[:, 0] + alpha)  # (C,)
    return w[None, :], my - mx[0] * w


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_feature_ridge_is_the_scalar_closed_form(fit_intercept, dtype):
    x, y = _one_feature()
    for alpha in ALPHAS:
        coef, intercept = solve_ridge_stats(ridge_stats([x], [y]), alpha,
                                            fit_intercept=fit_intercept, dtype=dtype)
        w, b = _closed_form(x, y, alpha, fit_intercept)
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(coef, w, rtol=tol, atol=tol)
        np.testing.assert_allclose(intercept, b, rtol=tol, atol=tol)


def test_one_feature_fold_scores_are_the_closed_form_r2():
    x, y = _one_feature(seed=1)
    xv, yv = _one_feature(seed=2, n=30)
    scores = ridge_fold_scores(ridge_stats([x], [y]), ridge_stats([xv], [yv]), ALPHAS)  # (A, C)
    for a, alpha in enumerate(ALPHAS):
        w, b = _closed_form(x, y, alpha, True)
        expected = r2_score(yv, xv @ w + b, multioutput="raw_values")
        np.testing.assert_allclose(scores[a], expected, rtol=1e-10)


def test_one_feature_zero_variance_gives_zero_coefficient():
    x = np.full((20, 1), 3.0)
    y = np.arange(40.0).reshape(20, 2)
    coef, intercept = solve_ridge_stats(ridge_stats([x], [y]), 1.0)
    np.testing.assert_array_equal(coef, 0.0)
    np.testing.assert_allclose(intercept, y.mean(0))


# ------------------------------------------------------------------ skorch 1.0 pickles
def _as_skorch_1_0_state(net) -> dict:
    """The state skorch 1.0's ``__getstate__`` returns: CUDA-dependent attributes in one
    ``torch.save`` archive (later releases write a plain pickle stream there)."""
    state = net.__dict__.copy()
    keys = [k for k in state if any(k.startswith(p) for p in net.cuda_dependent_attributes_)]
    archive = io.BytesIO()
    torch.save({k: state.pop(k) for k in keys}, archive)
    state["__cuda_dependent_attributes__"] = archive.getvalue()
    return state


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).standard_normal((4, 3, 40, 6)).astype(np.float32)
    enc = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
                              batch_size=8, max_epochs=2, device="cpu", random_state=0)
    return enc.fit(X), X


def test_net_pickled_by_skorch_1_0_loads_and_predicts_the_same(fitted):
    enc, X = fitted
    state = _as_skorch_1_0_state(enc.net_)
    assert state["__cuda_dependent_attributes__"][:2] == b"PK"  # a torch.save zip archive
    net = CrossSubjectNet.__new__(CrossSubjectNet)
    net.__setstate__(state)
    assert not any(k == "__cuda_dependent_attributes__" for k in net.__dict__)
    assert str(net.device) == "cpu"
    expected = enc.net_.predict_episodes(list(X))
    for got, want in zip(net.predict_episodes(list(X)), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    for p, q in zip(net.module_.parameters(), enc.net_.module_.parameters(), strict=True):
        assert torch.equal(p, q)


def test_encoder_pickle_round_trip_with_the_installed_skorch(fitted):
    enc, X = fitted
    loaded = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(loaded.predict(X), enc.predict(X))
    assert loaded.device_ == torch.device("cpu")

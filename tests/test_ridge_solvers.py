"""The ridge array solvers against closed forms and scikit-learn, on small problems."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, ShuffleSplit

from sklearn_crossenc.baseline import mean_of_others
from sklearn_crossenc.solvers import (
    RidgeStats,
    delay_features,
    ridge_cv_stats,
    ridge_fold_scores,
    ridge_stats,
    solve_ridge_stats,
    split_blocks,
)

ALPHAS = np.array([0.01, 0.3, 3.0, 30.0, 300.0])


def _problem(seed=0, n=80, p=6, c=4, offset=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) * 0.5
    Y = X @ rng.standard_normal((p, c)) + 2.0 * rng.standard_normal((n, c))
    if offset:
        X += rng.standard_normal(p)
        Y += 3.0 * rng.standard_normal(c)
    return X, Y


# ------------------------------------------------------------------------- features


def test_mean_of_others_by_hand():
    rng = np.random.default_rng(1)
    ep = rng.standard_normal((4, 7, 3))
    out = mean_of_others(ep)
    for s in range(4):
        others = [ep[j] for j in range(4) if j != s]
        np.testing.assert_allclose(out[s], sum(others) / 3, rtol=1e-12)


def test_mean_of_others_needs_two_subjects():
    with pytest.raises(ValueError, match="at least 2 subjects; got 1"):
        mean_of_others(np.zeros((1, 5, 2)))


def test_delay_features_by_hand():
    x = np.arange(1.0, 13.0).reshape(6, 2)  # (T=6, F=2)
    out = delay_features(x, (-2, 0, 1, 7))
    assert out.shape == (6, 8)
    for t in range(6):
        for k, d in enumerate((-2, 0, 1, 7)):
            want = x[t - d] if 0 <= t - d < 6 else np.zeros(2)
            np.testing.assert_array_equal(out[t, 2 * k:2 * k + 2], want)


# ---------------------------------------------------------------- sufficient stats


def test_stats_add_up_over_pieces():
    X, Y = _problem()
    whole = ridge_stats([X], [Y])
    parts = ridge_stats([X[:30], X[30:55], X[55:]], [Y[:30], Y[30:55], Y[55:]])
    assert parts.n == whole.n == 80
    for name in ("sx", "sy", "xx", "xy", "yy"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-10)
    np.testing.assert_allclose(whole.xx, X.T @ X, rtol=1e-12)
    np.testing.assert_allclose(whole.yy, (Y**2).sum(0), rtol=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_solve_closed_form_and_sklearn(fit_intercept):
    X, Y = _problem()
    alpha = np.array([0.1, 5.0, 50.0, 500.0])  # one per target
    coef, intercept = solve_ridge_stats(ridge_stats([X], [Y]), alpha,
                                        fit_intercept=fit_intercept)
    # Closed form, target by target: (Xc^T Xc + a I)^-1 Xc^T yc.
    Xc = X - X.mean(0) if fit_intercept else X
    Yc = Y - Y.mean(0) if fit_intercept else Y
    for c in range(4):
        w = np.linalg.solve(Xc.T @ Xc + alpha[c] * np.eye(6), Xc.T @ Yc[:, c])
        np.testing.assert_allclose(coef[:, c], w, rtol=1e-9, atol=1e-12)
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X, Y)
    np.testing.assert_allclose(coef, ref.coef_.T, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(intercept, ref.intercept_ if fit_intercept else 0.0, atol=1e-9)


@pytest.mark.parametrize("scoring", ["r2", "pearson", "neg_mean_squared_error"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fold_scores_equal_explicit_predictions(scoring, fit_intercept):
    X, Y = _problem(seed=3)
    tr, te = np.arange(0, 55), np.arange(55, 80)
    scores = ridge_fold_scores(ridge_stats([X[tr]], [Y[tr]]), ridge_stats([X[te]], [Y[te]]),
                               ALPHAS, fit_intercept=fit_intercept, scoring=scoring)
    assert scores.shape == (ALPHAS.size, 4)
    for a, alpha in enumerate(ALPHAS):
        pred = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X[tr], Y[tr]).predict(X[te])
        if scoring == "r2":
            want = r2_score(Y[te], pred, multioutput="raw_values")
        elif scoring == "neg_mean_squared_error":
            want = -((Y[te] - pred) ** 2).mean(0)
        else:
            want = [np.corrcoef(Y[te][:, c], pred[:, c])[0, 1] for c in range(4)]
        np.testing.assert_allclose(scores[a], want, rtol=1e-8, atol=1e-10)


def test_float32_products_close_to_float64():
    X, Y = _problem(seed=5, n=200)
    s64 = ridge_stats([X[:150]], [Y[:150]]), ridge_stats([X[150:]], [Y[150:]])
    s32 = (ridge_stats([X[:150]], [Y[:150]], dtype=np.float32),
           ridge_stats([X[150:]], [Y[150:]], dtype=np.float32))
    assert s32[0].xx.dtype == np.float32
    r64 = ridge_fold_scores(*s64, ALPHAS)
    r32 = ridge_fold_scores(*s32, ALPHAS, dtype=np.float32)
    np.testing.assert_allclose(r32, r64, atol=1e-4)


def test_constant_validation_target_scores_zero_not_nan():
    X, Y = _problem(seed=6)
    Y[50:, 0] = 1.5  # constant target in the validation part
    for scoring in ("r2", "pearson"):
        s = ridge_fold_scores(ridge_stats([X[:50]], [Y[:50]]), ridge_stats([X[50:]], [Y[50:]]),
                              ALPHAS, scoring=scoring)
        assert np.all(np.isfinite(s))
        np.testing.assert_array_equal(s[:, 0], 0.0)


def test_bad_alphas_and_scoring():
    X, Y = _problem()
    st = ridge_stats([X], [Y])
    with pytest.raises(ValueError, match=r"alphas must be finite and > 0; got \[1.0, 0.0\]"):
        solve_ridge_stats(st, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="non-empty"):
        ridge_fold_scores(st, st, [])
    with pytest.raises(ValueError, match="scoring must be one of"):
        ridge_fold_scores(st, st, ALPHAS, scoring="accuracy")
    with pytest.raises(ValueError, match="no data"):
        ridge_stats([], [])


# ------------------------------------------------------------------- folds / blocks


def test_split_blocks_kfold_has_k_blocks():
    splits = list(KFold(4).split(np.zeros((10, 1))))
    block_of, fold_train, fold_test = split_blocks(splits, 10)
    assert block_of.max() + 1 == 4
    for f, (tr, te) in enumerate(splits):
        assert sorted(np.flatnonzero(np.isin(block_of, fold_test[f]))) == sorted(te)
        assert sorted(np.flatnonzero(np.isin(block_of, fold_train[f]))) == sorted(tr)


def test_split_blocks_overlapping_and_partial_splits():
    # ShuffleSplit: episodes can be in neither part, and test sets overlap across splits.
    splits = list(ShuffleSplit(3, test_size=3, train_size=4, random_state=0)
                  .split(np.zeros((9, 1))))
    block_of, fold_train, fold_test = split_blocks(splits, 9)
    for f, (tr, te) in enumerate(splits):
        assert set(np.flatnonzero(np.isin(block_of, fold_test[f]))) == set(te)
        assert set(np.flatnonzero(np.isin(block_of, fold_train[f]))) == set(tr)


def test_ridge_cv_stats_matches_explicit_loop():
    """Episode-level CV from block statistics equals a loop of sklearn Ridge fits."""
    rng = np.random.default_rng(7)
    eps_x = [rng.standard_normal((int(rng.integers(8, 15)), 5)) for _ in range(6)]
    w = rng.standard_normal((5, 3))
    eps_y = [x @ w + 1.5 * rng.standard_normal((x.shape[0], 3)) + 0.7 for x in eps_x]
    splits = list(KFold(3).split(np.zeros((6, 1))))
    block_of, fold_train, fold_test = split_blocks(splits, 6)
    blocks = [RidgeStats.zeros(5, 3, np.float64) for _ in range(block_of.max() + 1)]
    for e in range(6):
        blocks[block_of[e]].add(eps_x[e], eps_y[e])
    calls = []
    coef, intercept, best, cv = ridge_cv_stats(blocks, fold_train, fold_test, ALPHAS,
                                               progress=lambda: calls.append(1))
    assert len(calls) == 4  # three folds and the refit

    fold_r2 = []
    for tr, te in splits:
        Xtr, Ytr = np.concatenate([eps_x[e] for e in tr]), np.concatenate([eps_y[e] for e in tr])
        Xte, Yte = np.concatenate([eps_x[e] for e in te]), np.concatenate([eps_y[e] for e in te])
        fold_r2.append([r2_score(Yte, Ridge(alpha=a).fit(Xtr, Ytr).predict(Xte),
                                 multioutput="raw_values") for a in ALPHAS])
    want_cv = np.mean(fold_r2, axis=0)
    np.testing.assert_allclose(cv, want_cv, rtol=1e-8, atol=1e-10)
    want_best = ALPHAS[np.argmax(want_cv, axis=0)]
    np.testing.assert_array_equal(best, want_best)
    ref = Ridge(alpha=want_best).fit(np.concatenate(eps_x), np.concatenate(eps_y))
    np.testing.assert_allclose(coef, ref.coef_.T, rtol=1e-8)
    np.testing.assert_allclose(intercept, ref.intercept_, rtol=1e-8)


def test_ridge_cv_stats_rejects_empty_fold():
    X, Y = _problem()
    blocks = [ridge_stats([X], [Y])]
    with pytest.raises(ValueError, match="needs training and test episodes"):
        ridge_cv_stats(blocks, [[0]], [[]], ALPHAS)


def test_a_metric_without_a_closed_form_is_refused_not_scored_as_r2(monkeypatch):
    """A metric added to scoring.METRICS without a closed form in the solver was optimised
    as R² without a word; it is refused, by the solver and by both ridge estimators."""
    from sklearn_crossenc import CrossSubjectRidge
    from sklearn_crossenc import scoring as scoring_module
    from sklearn_crossenc.solvers import CRITERIA, check_scoring

    monkeypatch.setitem(scoring_module.METRICS, "spearman", scoring_module.METRICS["pearson"])
    with pytest.raises(ValueError, match="'spearman' has no closed form in the ridge's solver"):
        check_scoring("spearman")
    X = np.random.default_rng(0).standard_normal((4, 3, 30, 5))
    with pytest.raises(ValueError, match="scoring must be"):
        CrossSubjectRidge(scoring="spearman", cv=2).fit(X)
    assert set(CRITERIA) <= set(scoring_module.METRICS)


# ---------------------------------------------------------------- toward a prior map


def _pearson_columns(pred, Y) -> np.ndarray:
    """Pearson r of each column, computed from the predictions themselves: (C,)."""
    return np.array([np.corrcoef(pred[:, c], Y[:, c])[0, 1] for c in range(Y.shape[1])])


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fold_scores_toward_a_prior_are_the_pearson_r_of_its_predictions(fit_intercept):
    """Issue 27: the prior is an option of the ridge's fold scoring. Each (weight, alpha)
    score is the Pearson r of the predictions of the ridge toward ``weight * W0``, formed
    here with ``solve_toward_prior``; weight 0 is the plain ridge's score."""
    from sklearn_crossenc.solvers import shift_targets, solve_toward_prior

    X, Y = _problem(seed=3, n=90, p=5, c=3)
    W0 = np.random.default_rng(4).standard_normal((5, 3))
    b0 = np.array([0.5, -1.0, 2.0])
    weights = (0.0, 0.5, 1.0)
    train, val = ridge_stats([X[:60]], [Y[:60]]), ridge_stats([X[60:]], [Y[60:]])
    if not fit_intercept:  # the no-intercept fit is around the prior's intercept
        train, val = shift_targets(train, b0), shift_targets(val, b0)
    got = ridge_fold_scores(train, val, ALPHAS, fit_intercept=fit_intercept, scoring="pearson",
                            prior=W0, prior_weights=weights)  # (G, A, C)
    assert got.shape == (3, ALPHAS.size, 3)
    for i, w in enumerate(weights):
        for a, alpha in enumerate(ALPHAS):
            coef, icpt = solve_toward_prior(ridge_stats([X[:60]], [Y[:60]]), w * W0, b0, alpha,
                                            fit_intercept=fit_intercept)
            np.testing.assert_allclose(got[i, a], _pearson_columns(X[60:] @ coef + icpt, Y[60:]),
                                       rtol=1e-9, atol=1e-12)
    plain = ridge_fold_scores(train, val, ALPHAS, fit_intercept=fit_intercept, scoring="pearson")
    np.testing.assert_allclose(got[0], plain, rtol=1e-10, atol=1e-13)


def test_fold_scores_toward_a_prior_take_per_target_strengths_and_inf():
    """Strengths (A, C), one per target; ``inf`` scores the prior itself, ``X W0``."""
    X, Y = _problem(seed=5, n=70, p=4, c=2, offset=False)
    W0 = np.random.default_rng(6).standard_normal((4, 2))
    train, val = ridge_stats([X[:50]], [Y[:50]]), ridge_stats([X[50:]], [Y[50:]])
    lams = np.array([[0.3, np.inf], [30.0, 3.0]])  # (A, C)
    got = ridge_fold_scores(train, val, lams, scoring="pearson", prior=W0)[0]  # (A, C)
    by_alpha = ridge_fold_scores(train, val, [0.3, 3.0, 30.0], scoring="pearson", prior=W0)[0]
    assert got[0, 0] == by_alpha[0, 0] and got[1, 0] == by_alpha[2, 0]
    assert got[1, 1] == by_alpha[1, 1]
    np.testing.assert_allclose(got[0, 1], _pearson_columns(X[50:] @ W0, Y[50:])[1], rtol=1e-9)


def test_fold_scores_toward_a_prior_refuse_what_they_cannot_score():
    X, Y = _problem(c=2)
    st = ridge_stats([X], [Y])
    with pytest.raises(ValueError, match="Pearson r only; got scoring='r2'"):
        ridge_fold_scores(st, st, ALPHAS, prior=np.zeros((6, 2)))
    with pytest.raises(ValueError, match=r"prior has shape \(2, 6\); expected \(6, 2\)"):
        ridge_fold_scores(st, st, ALPHAS, scoring="pearson", prior=np.zeros((2, 6)))
    with pytest.raises(ValueError, match="alphas must be > 0"):
        ridge_fold_scores(st, st, [0.0, 1.0], scoring="pearson", prior=np.zeros((6, 2)))
    with pytest.raises(ValueError, match="A training fold holds no time points"):
        ridge_fold_scores(ridge_stats([X[:0]], [Y[:0]]), st, ALPHAS)

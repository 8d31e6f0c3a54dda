"""Tests written to kill mutants that survived ``tools/mutate.py`` (see docs/testing.md).

Each test names the behaviour a surviving mutant changed. Values are checked against
``np.corrcoef`` at normal fMRI scales (std about 0.5), so they hold whatever the metric's eps.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from sklearn_crossenc.metrics import make_pearson_scorer, pearson_map, pearson_score


def _corr_map(y_true, y_pred):
    """(S, C) np.corrcoef per subject and parcel over the concatenated episodes."""
    S, _, C = y_true[0].shape
    return np.array([[np.corrcoef(np.concatenate([e[s, :, c] for e in y_true]),
                                  np.concatenate([e[s, :, c] for e in y_pred]))[0, 1]
                      for c in range(C)] for s in range(S)])


def _episodes(n, shape=(2, 30, 3), seed=0):
    rng = np.random.default_rng(seed)
    return [0.5 * rng.standard_normal(shape) for _ in range(n)]


# ------------------------------------------------------------------------ pearson_map
def test_single_episode_map_and_parcel_mismatch_message():
    """Mutants: ``yt[0]`` -> ``yt[1]`` (shape of the first episode) on a one-episode input."""
    y, p = _episodes(1, (3, 40, 4)), _episodes(1, (3, 40, 4), seed=1)
    np.testing.assert_allclose(pearson_map(y, p), _corr_map(y, p), atol=1e-6)
    np.testing.assert_allclose(pearson_map(np.stack(y), np.stack(p)), _corr_map(y, p), atol=1e-6)
    with pytest.raises(ValueError, match="^y_true has 4 parcels but y_pred has 3.$"):
        pearson_map(y, [p[0][..., :3]])


def test_trim_accepts_the_shortest_episode_it_allows():
    """Mutants of ``min_length=2 * trim + 2``: two time points left per episode suffice."""
    y, p = _episodes(2, (2, 12, 3)), _episodes(2, (2, 12, 3), seed=1)
    got = pearson_map(y, p, trim=5)  # 2 points of each episode remain
    np.testing.assert_allclose(got, _corr_map([e[:, 5:7] for e in y], [e[:, 5:7] for e in p]),
                               atol=1e-6)
    with pytest.raises(ValueError, match="fewer than the 14"):
        pearson_map(y, p, trim=6)


def test_nan_in_predictions_gives_nan_for_that_parcel_only():
    """Mutant ``allow_nan=True`` -> False: a diverged model's NaN shows up in its scores."""
    y, p = _episodes(2), _episodes(2, seed=1)
    p[1][0, 4, 2] = np.nan
    r = pearson_map(y, p)
    assert np.isnan(r[0, 2]) and np.isfinite(np.delete(r.ravel(), 2)).all()
    np.testing.assert_allclose(r[1], _corr_map(y, p)[1], atol=1e-6)


# ----------------------------------------------------------------------------- scorers
class _Shift(TransformerMixin, BaseEstimator):
    def __init__(self, by=1.0, scale=1.0):
        self.by, self.scale = by, scale

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return [self.scale * x + self.by * np.sin(np.arange(x.shape[1]))[None, :, None]
                for x in X]


class _Echo(BaseEstimator):
    """Predicts its input plus a fixed wave (so the score is not 1)."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return [x + np.cos(np.arange(x.shape[1]) / 3.0)[None, :, None] for x in X]


@pytest.mark.parametrize("n_transforms", [0, 1, 2])
def test_scorer_targets_are_x_after_every_step_but_the_last(n_transforms):
    """Mutants of ``_self_target``: ``len(steps) > 1`` and ``estimator[:-1]``."""
    X = _episodes(2)
    steps = [(f"t{i}", _Shift(by=1.0 + i, scale=2.0 + i)) for i in range(n_transforms)]
    pipe = Pipeline([*steps, ("echo", _Echo())]).fit(X)
    target = X
    for _, t in steps:
        target = t.transform(target)
    expected = _corr_map(target, pipe.predict(X)).mean()
    assert make_pearson_scorer()(pipe, X) == pytest.approx(expected, abs=1e-6)


def test_make_pearson_scorer_default_is_no_trim():
    """Mutant of the default ``trim=0``."""
    X = _episodes(2)
    est = _Echo()
    assert make_pearson_scorer()(est, X) == pytest.approx(
        _corr_map(X, est.predict(X)).mean(), abs=1e-6)
    assert make_pearson_scorer()(est, X) == pytest.approx(pearson_score(X, est.predict(X)))


# ------------------------------------------------------------------------ ridge solvers
def test_mean_of_others_with_two_subjects_swaps_them():
    """Mutants of ``n_subjects < 2``: two subjects are enough (each predicts the other)."""
    from sklearn_crossenc.baseline import mean_of_others

    ep = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(mean_of_others(ep), ep[::-1], atol=1e-6)


def _offset_problem(seed=0, n=60, p=5, c=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 3.0  # an offset only an intercept absorbs
    Y = X @ rng.standard_normal((p, c)) + rng.standard_normal((n, c)) + 5.0
    return X, Y


def test_solver_defaults_fit_an_intercept_like_sklearn():
    """Mutants of the ``fit_intercept=True`` defaults of the solvers."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    from sklearn_crossenc.solvers import ridge_fold_scores, ridge_stats, solve_ridge_stats

    X, Y = _offset_problem()
    coef, intercept = solve_ridge_stats(ridge_stats([X], [Y]), 3.0)
    ref = Ridge(alpha=3.0).fit(X, Y)
    np.testing.assert_allclose(np.asarray(coef).reshape(ref.coef_.T.shape), ref.coef_.T,
                               atol=1e-7)
    np.testing.assert_allclose(np.ravel(intercept), ref.intercept_, atol=1e-7)
    Xv, Yv = _offset_problem(seed=1)
    scores = ridge_fold_scores(ridge_stats([X], [Y]), ridge_stats([Xv], [Yv]), [3.0])
    expected = r2_score(Yv, ref.predict(Xv), multioutput="raw_values")
    np.testing.assert_allclose(np.ravel(scores), expected, atol=1e-7)


@pytest.mark.parametrize("scoring", ["r2", "pearson", "neg_mean_squared_error"])
def test_fold_scores_at_fmri_scale_match_explicit_predictions(scoring):
    """Mutants of the clipping at 0 (``np.maximum(sse, 0.0)``, ``np.maximum(var_p, 0.0)``):
    with fMRI-scale targets (std about 0.5) the sums of squares are below 1."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import mean_squared_error, r2_score

    from sklearn_crossenc.solvers import ridge_fold_scores, ridge_stats

    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 3)) * 0.2
    X, Xv = 0.5 * rng.standard_normal((20, 4)), 0.5 * rng.standard_normal((15, 4))
    Y = X @ W + 0.05 * rng.standard_normal((20, 3))
    Yv = Xv @ W + 0.05 * rng.standard_normal((15, 3))
    got = ridge_fold_scores(ridge_stats([X], [Y]), ridge_stats([Xv], [Yv]), [0.1, 1.0],
                            scoring=scoring)
    for a, alpha in enumerate([0.1, 1.0]):
        pred = Ridge(alpha=alpha).fit(X, Y).predict(Xv)
        if scoring == "r2":
            ref = r2_score(Yv, pred, multioutput="raw_values")
        elif scoring == "neg_mean_squared_error":
            ref = -mean_squared_error(Yv, pred, multioutput="raw_values")
        else:
            ref = [np.corrcoef(Yv[:, c], pred[:, c])[0, 1] for c in range(3)]
        np.testing.assert_allclose(got[a], ref, atol=1e-8)


def test_stats_of_pieces_add_up_to_the_stats_of_the_whole_in_every_field():
    """Mutants of ``RidgeStats.__add__`` (``yy`` was never compared) and of ``strict=True``."""
    from sklearn_crossenc.solvers import ridge_stats

    X, Y = _offset_problem()
    whole = ridge_stats([X], [Y])
    summed = ridge_stats([X[:25]], [Y[:25]]) + ridge_stats([X[25:]], [Y[25:]])
    for field in ("n", "sx", "sy", "xx", "xy", "yy"):
        np.testing.assert_allclose(getattr(summed, field), getattr(whole, field), rtol=1e-12)
    np.testing.assert_allclose(whole.yy, (Y * Y).sum(0), rtol=1e-12)
    with pytest.raises(ValueError):
        ridge_stats([X[:25], X[25:]], [Y[:25]])  # a target missing for the second piece


def test_one_time_point_validation_fold_is_scored_not_refused():
    """Mutant ``val.n == 0`` -> ``val.n == 1``: only an empty fold is an error."""
    from sklearn_crossenc.solvers import ridge_fold_scores, ridge_stats

    X, Y = _offset_problem()
    one = ridge_stats([X[:1]], [Y[:1]])
    got = ridge_fold_scores(ridge_stats([X[1:]], [Y[1:]]), one, [1.0],
                            scoring="neg_mean_squared_error")
    from sklearn.linear_model import Ridge

    pred = Ridge(alpha=1.0).fit(X[1:], Y[1:]).predict(X[:1])
    np.testing.assert_allclose(got[0], -((Y[:1] - pred) ** 2)[0], rtol=1e-8)
    with pytest.raises(ValueError, match="holds no time points"):
        ridge_fold_scores(ridge_stats([X[1:]], [Y[1:]]), ridge_stats([X[:0]], [Y[:0]]), [1.0])

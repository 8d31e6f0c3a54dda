"""MeanOfOthers and CrossSubjectRidge against independent computations."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    LeaveOneOut,
    PredefinedSplit,
    cross_validate,
)

from sklearn_crossenc.metrics import pearson_map, pearson_score, pearson_scorer
from sklearn_crossenc.ridge import CrossSubjectRidge, MeanOfOthers

ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def _episodes(seed=0, n_episodes=6, n_subjects=3, n_parcels=5, lengths=None, offset=0.0):
    """Ragged episodes: a shared signal plus subject noise, (S, T_i, C) each."""
    rng = np.random.default_rng(seed)
    lengths = lengths or [int(rng.integers(20, 31)) for _ in range(n_episodes)]
    mix = rng.standard_normal((n_subjects, n_parcels, n_parcels)) * 0.4 + np.eye(n_parcels)
    out = []
    for T in lengths:
        shared = rng.standard_normal((T, n_parcels))
        ep = np.einsum("tc,scd->std", shared, mix)
        ep += rng.standard_normal((n_subjects, T, n_parcels)) * np.linspace(0.3, 3.0, n_parcels)
        out.append((ep + offset).astype(np.float64))
    return out


def _others(ep, s):
    """Mean of the other subjects, written as a loop."""
    return sum(ep[j] for j in range(ep.shape[0]) if j != s) / (ep.shape[0] - 1)


def _delayed(x, delays):
    """Hand-built delayed design of one episode: column block k holds x[t - delays[k]]."""
    T, C = x.shape
    out = np.zeros((T, len(delays) * C))
    for t in range(T):
        for k, d in enumerate(delays):
            if 0 <= t - d < T:
                out[t, k * C:(k + 1) * C] = x[t - d]
    return out


# ------------------------------------------------------------------------ MeanOfOthers


def test_mean_of_others_by_hand_and_structure():
    eps = _episodes(lengths=[20, 25, 22])
    model = MeanOfOthers().fit(eps)
    assert (model.n_subjects_, model.n_parcels_) == (3, 5)
    pred = model.predict(eps)
    assert isinstance(pred, list) and [p.shape for p in pred] == [e.shape for e in eps]
    for ep, p in zip(eps, pred, strict=True):
        for s in range(3):
            np.testing.assert_allclose(p[s], _others(ep, s), rtol=1e-5, atol=1e-6)
    arr = np.stack(_episodes(lengths=[20, 20]))
    out = model.predict(arr)
    assert isinstance(out, np.ndarray) and out.shape == arr.shape


def test_mean_of_others_score_is_pearson_of_the_mean():
    eps = _episodes(seed=2)
    model = MeanOfOthers().fit(eps)
    by_hand = [[_others(ep, s) for s in range(3)] for ep in eps]
    want = pearson_score(eps, [np.stack(b) for b in by_hand])
    assert model.score(eps) == pytest.approx(want, abs=1e-6)
    assert pearson_scorer(model, eps) == pytest.approx(want, abs=1e-6)
    np.testing.assert_allclose(model.score_map(eps),
                               pearson_map(eps, [np.stack(b) for b in by_hand]), atol=1e-6)


def test_mean_of_others_errors():
    with pytest.raises(ValueError, match="1 subject"):
        MeanOfOthers().fit(np.zeros((2, 1, 10, 4)))
    model = MeanOfOthers().fit(np.zeros((2, 3, 10, 4)))
    with pytest.raises(ValueError, match="has 5 parcels but the model was fitted on 4"):
        model.predict(np.zeros((2, 3, 10, 5)))
    with pytest.raises(ValueError, match="has 4 subjects but the model was fitted on 3"):
        model.predict(np.zeros((2, 4, 10, 4)))
    bad = np.zeros((2, 3, 10, 4))
    bad[1, 0, 3, 2] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] contains 1 NaN or Inf"):
        model.predict(bad)


# ------------------------------------------------------------------- CrossSubjectRidge


def _references(eps, s):
    """Training means (C,) and root-mean-square stds of subject ``s``'s others and targets."""
    x = np.concatenate([_others(ep, s) for ep in eps])  # (N, C)
    y = np.concatenate([ep[s] for ep in eps])  # (N, C)
    return (x.mean(axis=0), np.sqrt(x.var(axis=0).mean()),
            y.mean(axis=0), np.sqrt(y.var(axis=0).mean()))


def _reference_cv(eps, splits, alphas, s, delays=(0,), scoring="r2"):
    """Independent computation for subject ``s``: explicit sklearn Ridge fits per fold, on
    features and targets centred on their training means and divided by their
    root-mean-square std (the alphas are relative to the data's scale)."""
    x0, sx, y0, sy = _references(eps, s)
    feats = [_delayed((_others(ep, s) - x0) / sx, delays) for ep in eps]
    targets = [(ep[s] - y0) / sy for ep in eps]
    per_fold = []
    for tr, te in splits:
        Xtr, Ytr = np.concatenate([feats[e] for e in tr]), np.concatenate([targets[e] for e in tr])
        Xte, Yte = np.concatenate([feats[e] for e in te]), np.concatenate([targets[e] for e in te])
        row = []
        for a in alphas:
            pred = Ridge(alpha=a).fit(Xtr, Ytr).predict(Xte)
            if scoring == "r2":
                row.append(r2_score(Yte, pred, multioutput="raw_values"))
            else:
                row.append([np.corrcoef(Yte[:, c], pred[:, c])[0, 1] for c in range(Yte.shape[1])])
        per_fold.append(row)
    cv = np.mean(per_fold, axis=0)  # (A, C)
    best = np.asarray(alphas)[np.argmax(cv, axis=0)]
    final = Ridge(alpha=best).fit(np.concatenate(feats), np.concatenate(targets))
    final.coef_ = final.coef_ * (sy / sx)  # (C, P) in the data's units
    final.intercept_ = y0 + sy * final.intercept_ - np.tile(x0, len(delays)) @ final.coef_.T
    return cv, best, final


@pytest.mark.parametrize("scoring", ["r2", "pearson"])
def test_cross_subject_ridge_equals_sklearn_ridge_per_fold(scoring):
    eps = _episodes(seed=3, offset=0.4)
    model = CrossSubjectRidge(alphas=ALPHAS, cv=3, scoring=scoring, dtype="float64").fit(eps)
    splits = list(KFold(3).split(np.zeros((6, 1))))
    assert model.n_splits_ == 3
    for s in range(3):
        cv, best, final = _reference_cv(eps, splits, ALPHAS, s, scoring=scoring)
        np.testing.assert_allclose(model.cv_scores_[s], cv, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(model.best_alphas_[s], best)
        np.testing.assert_allclose(model.coef_[s], final.coef_.T, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(model.intercept_[s], final.intercept_, rtol=1e-7, atol=1e-10)
    # The choice is not degenerate: several alphas win somewhere.
    assert len(np.unique(model.best_alphas_)) > 1


def test_cross_subject_ridge_delays_equal_hand_built_design():
    delays = (-2, 0, 1, 3)
    eps = _episodes(seed=4, n_episodes=4)
    splits = [(np.array([0, 1, 2]), np.array([3])), (np.array([1, 2, 3]), np.array([0]))]
    model = CrossSubjectRidge(alphas=ALPHAS, delays=delays, cv=splits, dtype="float64").fit(eps)
    assert model.coef_.shape == (3, 4 * 5, 5) and model.delays_ == delays
    for s in range(3):
        cv, best, final = _reference_cv(eps, splits, ALPHAS, s, delays=delays)
        np.testing.assert_allclose(model.cv_scores_[s], cv, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(model.best_alphas_[s], best)
        np.testing.assert_allclose(model.coef_[s], final.coef_.T, rtol=1e-7, atol=1e-10)
    pred = model.predict(eps)
    for ep, p in zip(eps, pred, strict=True):
        for s in range(3):
            x0 = model.x_offset_[s]  # the delayed copies are padded with the training mean
            want = (_delayed(_others(ep, s) - x0, delays) @ model.coef_[s] + model.intercept_[s]
                    + np.tile(x0, len(delays)) @ model.coef_[s])
            np.testing.assert_allclose(p[s], want, rtol=1e-10, atol=1e-12)


def test_delays_never_cross_episode_boundaries():
    """Two episodes differ from their concatenation exactly by the padded edge rows."""
    eps = _episodes(seed=5, n_episodes=2, lengths=[12, 15])
    model = CrossSubjectRidge(alphas=(1.0,), delays=(-1, 0, 2), cv=[(np.array([0]), np.array([1]))],
                              dtype="float64").fit(eps)
    pred = model.predict(eps)
    joined = model.predict([np.concatenate(eps, axis=1)])[0]
    np.testing.assert_allclose(pred[0][:, :11], joined[:, :11], atol=1e-12)  # far from the seam
    np.testing.assert_allclose(pred[1][:, 2:], joined[:, 14:], atol=1e-12)
    assert not np.allclose(pred[0][:, 11], joined[:, 11])  # t=11 would see episode 1 at t+1


def test_loo_over_single_point_episodes_equals_ridgecv_alpha_per_target():
    """With one time point per episode and LeaveOneOut, the folds are RidgeCV's own."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((40, 3, 1, 4))  # 40 one-TR episodes, 3 subjects, 4 parcels
    X[:, 0] += 0.8 * X[:, 1]
    alphas = (0.01, 0.1, 1.0, 10.0, 100.0)
    model = CrossSubjectRidge(alphas=alphas, cv=LeaveOneOut(), scoring="neg_mean_squared_error",
                              dtype="float64").fit(X)
    for s in range(3):
        x0, sx, y0, sy = _references(list(X), s)
        feats = np.stack([_others(ep, s)[0] for ep in X])  # (40, 4)
        ref = RidgeCV(alphas=alphas, alpha_per_target=True).fit((feats - x0) / sx,
                                                                (X[:, s, 0] - y0) / sy)
        np.testing.assert_array_equal(model.best_alphas_[s], ref.alpha_)
        coef = ref.coef_.T * (sy / sx)  # (P, C) in the data's units
        np.testing.assert_allclose(model.coef_[s], coef, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(model.intercept_[s], y0 + sy * ref.intercept_ - x0 @ coef,
                                   rtol=1e-8, atol=1e-12)


def test_groups_and_splitters_reach_the_folds():
    eps = _episodes(seed=7)
    groups = [0, 0, 1, 1, 2, 2]
    a = CrossSubjectRidge(alphas=ALPHAS, cv=GroupKFold(3), dtype="float64").fit(eps, groups=groups)
    explicit = list(GroupKFold(3).split(np.zeros((6, 1)), groups=groups))
    b = CrossSubjectRidge(alphas=ALPHAS, cv=explicit, dtype="float64").fit(eps)
    np.testing.assert_allclose(a.cv_scores_, b.cv_scores_, rtol=1e-12)
    ps = PredefinedSplit([0, -1, 1, -1, 0, 1])  # -1: always in training
    c = CrossSubjectRidge(alphas=ALPHAS, cv=ps, dtype="float64").fit(eps)
    cv, best, _ = _reference_cv(eps, list(ps.split()), ALPHAS, 0)
    np.testing.assert_allclose(c.cv_scores_[0], cv, rtol=1e-7, atol=1e-9)
    assert not np.allclose(a.cv_scores_, c.cv_scores_)


def test_explicit_y_and_structure():
    eps = _episodes(seed=8, lengths=[20, 20, 20, 20])
    X = np.stack(eps)
    y = X * 2.0 + 1.0
    model = CrossSubjectRidge(alphas=ALPHAS, cv=2, dtype="float64").fit(X, y)
    plain = CrossSubjectRidge(alphas=ALPHAS, cv=2, dtype="float64").fit(X)
    np.testing.assert_allclose(model.coef_, 2 * plain.coef_, rtol=1e-8)  # ridge scales with y
    pred = model.predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == X.shape
    assert isinstance(model.predict(list(X)), list)


def test_float32_close_to_float64():
    eps = _episodes(seed=9)
    m64 = CrossSubjectRidge(alphas=ALPHAS, cv=3, dtype="float64").fit(eps)
    m32 = CrossSubjectRidge(alphas=ALPHAS, cv=3, dtype="float32").fit(eps)
    assert m32.coef_.dtype == np.float32 and m32.predict(eps)[0].dtype == np.float32
    np.testing.assert_allclose(m32.cv_scores_, m64.cv_scores_, atol=1e-4)
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=1e-4)


def test_recovers_strong_signal_and_beats_mean_of_others_on_mixed_parcels():
    eps = _episodes(seed=10, n_episodes=12)
    train, test = eps[:8], eps[8:]
    ridge = CrossSubjectRidge(cv=4).fit(train)
    base = MeanOfOthers().fit(train)
    # Subjects mix the shared signal differently: parcel-to-parcel ridge undoes it.
    assert ridge.score(test) > base.score(test) + 0.02


def test_score_scorer_and_gridsearch():
    eps = _episodes(seed=11)
    model = CrossSubjectRidge(alphas=ALPHAS, cv=3).fit(eps)
    assert model.score(eps) == pytest.approx(pearson_score(eps, model.predict(eps)))
    assert pearson_scorer(model, eps) == pytest.approx(model.score(eps))
    grid = GridSearchCV(CrossSubjectRidge(alphas=ALPHAS, cv=2),
                        {"delays": [None, (-1, 0, 1)]}, cv=KFold(3), scoring=pearson_scorer)
    grid.fit(eps)
    train, test = list(KFold(3).split(eps))[2]
    held = [eps[i] for i in test]
    fold = CrossSubjectRidge(alphas=ALPHAS, cv=2, delays=(-1, 0, 1)).fit([eps[i] for i in train])
    assert grid.cv_results_["split2_test_score"][1] == pytest.approx(fold.score(held), abs=1e-12)
    res = cross_validate(CrossSubjectRidge(alphas=ALPHAS, cv=2), np.stack(
        _episodes(seed=12, lengths=[20] * 6)), cv=3, scoring=pearson_scorer)
    assert res["test_score"].shape == (3,) and np.all(res["test_score"] > 0)


def test_clone_pickle_joblib(tmp_path):
    eps = _episodes(seed=13)
    est = CrossSubjectRidge(alphas=(1.0, 10.0), delays=(0, 1), cv=2, dtype="float64")
    params = est.get_params()
    assert params["alphas"] == (1.0, 10.0) and params["delays"] == (0, 1)
    assert clone(est).get_params() == params
    est.fit(eps)
    want = est.predict(eps)
    again = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "ridge.joblib")
    loaded = joblib.load(tmp_path / "ridge.joblib")
    for other in (again, loaded):
        for a, b in zip(want, other.predict(eps), strict=True):
            np.testing.assert_array_equal(a, b)
    assert not hasattr(clone(est), "coef_")


def test_verbose_progress_runs(capsys):
    eps = _episodes(seed=14, n_episodes=4)
    CrossSubjectRidge(alphas=ALPHAS, cv=2, verbose=1).fit(eps)
    assert "CrossSubjectRidge" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, match", [
    ({"cv": 7}, "cv=7 folds need at least 7 episodes; got 6"),
    ({"cv": 1}, "cv must be an integer >= 2, a cross-validation splitter or an iterable"),
    ({"fit_intercept": "no"}, "CrossSubjectRidge: fit_intercept must be True or False; got 'no'"),
    ({"alphas": "1,2"}, "alphas must be a sequence of numbers; got '1,2'"),
    ({"alphas": (1.0, -1.0)}, "alphas must be finite and > 0"),
    ({"alphas": ()}, "non-empty"),
    ({"dtype": "float16"}, "dtype must be 'float32' or 'float64'; got 'float16'"),
    ({"delays": (0, 0)}, "must not repeat"),
    ({"delays": (0.5,)}, "tuple of ints"),
    ({"scoring": "mae"}, "scoring must be one of"),
])
def test_parameter_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrossSubjectRidge(**{"cv": 3, **kwargs}).fit(_episodes())


def test_input_errors():
    eps = _episodes()
    with pytest.raises(ValueError, match="1 subject"):
        CrossSubjectRidge(cv=2).fit([ep[:1] for ep in eps])
    with pytest.raises(ValueError, match="groups has 2 labels but there are 6 episodes"):
        CrossSubjectRidge(cv=GroupKFold(2)).fit(eps, groups=[0, 1])
    with pytest.raises(ValueError, match="cv could not split 6 episodes"):
        CrossSubjectRidge(cv=GroupKFold(2)).fit(eps)  # groups missing
    with pytest.raises(ValueError, match="refers to episode 9"):
        CrossSubjectRidge(cv=[(np.array([0, 9]), np.array([1]))]).fit(eps)
    with pytest.raises(ValueError, match="y has 4 parcels but X has 5"):
        CrossSubjectRidge(cv=2).fit(eps, [ep[..., :4] for ep in eps])
    with pytest.raises(ValueError, match="X has 6 episodes but y has 5"):
        CrossSubjectRidge(cv=2).fit(eps, eps[:5])
    with pytest.raises(ValueError, match="3-D array"):
        CrossSubjectRidge(cv=2).fit(eps[0])
    model = CrossSubjectRidge(alphas=ALPHAS, cv=2).fit(eps)
    with pytest.raises(ValueError, match="has 4 parcels but the model was fitted on 5"):
        model.predict([ep[..., :4] for ep in eps])
    bad = [ep.copy() for ep in eps]
    bad[2][0, 0, 0] = np.inf
    with pytest.raises(ValueError, match=r"X\[2\] contains 1 NaN or Inf"):
        model.predict(bad)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        CrossSubjectRidge().predict(eps)

"""FeatureRidge (the development kit's stimulus-feature encoder) against hand-built designs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_crossenc.metrics import pearson_map, pearson_scorer
from sklearn_crossenc.ridge import KIT_ALPHAS, FeatureRidge, feature_episodes
from sklearn_crossenc.ridge._design import _single_index, _window_index

DIMS = {"visual": 3, "audio": 2, "language": 2}
ALPHAS = (0.01, 1.0, 10.0, 100.0, 1e4)


def _data(seed=0, n_episodes=4, n_subjects=2, n_parcels=3, hrf=3, lengths=None):
    """Features whose chunk t - hrf drives the fMRI at t; chunks = TRs + {-1, 0, 1}."""
    rng = np.random.default_rng(seed)
    w = {m: rng.standard_normal((d, n_subjects, n_parcels)) for m, d in DIMS.items()}
    X, y = [], []
    for T in lengths or [int(rng.integers(28, 36)) for _ in range(n_episodes)]:
        n_chunks = T + int(rng.integers(-1, 2))
        feats = {m: rng.standard_normal((n_chunks, d)) * (1 + np.arange(d)) + 0.5
                 for m, d in DIMS.items()}
        src = np.clip(np.arange(T) - hrf, 0, n_chunks - 1)
        sig = sum(np.einsum("td,dsc->stc", feats[m][src], w[m]) for m in DIMS)
        y.append(sig + 0.8 * rng.standard_normal((n_subjects, T, n_parcels)))
        X.append(feats)
    return X, y


def _kit_window(t, n_chunks, hrf, window):
    """The kit's rule for one TR, written as a loop: the chunks it concatenates."""
    end = t - hrf + 1
    start = end - window
    if start < 0:
        start = 0
    if start + window > n_chunks:
        start = n_chunks - window
    return list(range(start, start + window))


def _hand_design(X_train, ep, T, hrf=3, window=2, modalities=("visual", "audio", "language")):
    """Independent design matrix: numpy standardisation, loop over TRs and modalities."""
    rows = []
    for t in range(T):
        row = []
        for m in modalities:
            chunks = np.concatenate([x[m] for x in X_train])
            f = (ep[m] - chunks.mean(0)) / chunks.std(0)
            if m == "language":
                row.append(f[min(max(t - hrf, 0), f.shape[0] - 1)])
            else:
                row.extend(f[i] for i in _kit_window(t, f.shape[0], hrf, window))
        rows.append(np.concatenate(row))
    return np.array(rows)


def test_window_indices_follow_the_kit_rule():
    for n_times, n_chunks in ((12, 12), (12, 10), (9, 14)):
        idx = _window_index(n_times, n_chunks, 3, 5)
        assert idx.shape == (n_times, 5)
        for t in range(n_times):
            assert idx[t].tolist() == _kit_window(t, n_chunks, 3, 5)
    np.testing.assert_array_equal(_single_index(7, 5, 3), [0, 0, 0, 0, 1, 2, 3])
    np.testing.assert_array_equal(_window_index(9, 20, 3, 5)[8], [1, 2, 3, 4, 5])  # t-7 .. t-3


def test_design_matches_hand_built():
    X, y = _data()
    model = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2).fit(X, y)
    for ep, yy in zip(X, y, strict=True):
        T = yy.shape[1]
        np.testing.assert_allclose(model._design(ep, T, np.float64), _hand_design(X, ep, T),
                                   rtol=1e-10, atol=1e-12)


def _hand_targets(yy, trim):
    T = yy.shape[1]
    return yy[:, trim:T - trim]  # (S, n, C)


def test_fit_equals_sklearn_ridge_on_hand_design():
    X, y = _data(seed=1, n_episodes=5)
    splits = list(KFold(2).split(np.zeros((5, 1))))
    model = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2, trim=4).fit(X, y)
    designs = [_hand_design(X, ep, yy.shape[1])[4:yy.shape[1] - 4] for ep, yy in zip(X, y,
                                                                                       strict=True)]
    assert model.coef_.shape == (2, 2 * 3 + 2 * 2 + 2, 3)
    for s in range(2):
        targets = [_hand_targets(yy, 4)[s] for yy in y]
        per_fold = []
        for tr, te in splits:
            Xtr, Ytr = np.concatenate([designs[e] for e in tr]), np.concatenate([targets[e]
                                                                                 for e in tr])
            Xte, Yte = np.concatenate([designs[e] for e in te]), np.concatenate([targets[e]
                                                                                 for e in te])
            per_fold.append([r2_score(Yte, Ridge(alpha=a).fit(Xtr, Ytr).predict(Xte),
                                      multioutput="raw_values") for a in ALPHAS])
        cv = np.mean(per_fold, axis=0)
        best = np.asarray(ALPHAS)[np.argmax(cv, axis=0)]
        np.testing.assert_allclose(model.cv_scores_[s], cv, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(model.best_alphas_[s], best)
        ref = Ridge(alpha=best).fit(np.concatenate(designs), np.concatenate(targets))
        np.testing.assert_allclose(model.coef_[s], ref.coef_.T, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(model.intercept_[s], ref.intercept_, rtol=1e-7, atol=1e-9)


def test_cv_none_is_the_kits_ridgecv_per_subject():
    X, y = _data(seed=2)
    model = FeatureRidge(stimulus_window=2, cv=None).fit(X, y)
    assert model.cv_scores_ is None
    design = np.concatenate([_hand_design(X, ep, yy.shape[1])[5:yy.shape[1] - 5]
                             for ep, yy in zip(X, y, strict=True)])
    for s in range(2):
        Y = np.concatenate([_hand_targets(yy, 5)[s] for yy in y])
        ref = RidgeCV(alphas=KIT_ALPHAS, alpha_per_target=True).fit(design, Y)
        np.testing.assert_array_equal(model.best_alphas_[s], ref.alpha_)
        np.testing.assert_allclose(model.coef_[s], ref.coef_.T, rtol=1e-7, atol=1e-9)


def test_one_model_per_subject():
    """Solving all subjects together equals fitting each subject alone."""
    X, y = _data(seed=3, n_subjects=3)
    joint = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2).fit(X, y)
    for s in range(3):
        alone = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2).fit(X, [yy[s:s + 1]
                                                                           for yy in y])
        np.testing.assert_allclose(joint.coef_[s], alone.coef_[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(joint.best_alphas_[s], alone.best_alphas_[0])


def test_learns_the_delayed_features():
    X, y = _data(seed=4, n_episodes=10, lengths=[60] * 10)
    model = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=3).fit(X[:7], y[:7])
    assert model.score(X[7:], y[7:], trim=5) > 0.7
    shifted = FeatureRidge(hrf_delay=0, stimulus_window=1, alphas=ALPHAS, cv=3).fit(X[:7], y[:7])
    assert shifted.score(X[7:], y[7:], trim=5) < model.score(X[7:], y[7:], trim=5) - 0.3


def test_predict_lengths_precedence_and_score():
    X, y = _data(seed=5)
    model = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2).fit(X, y)
    n_chunks = [min(x[m].shape[0] for m in DIMS) for x in X]
    assert [p.shape[1] for p in model.predict(X)] == n_chunks
    assert [p.shape[1] for p in model.predict(X, lengths=[20, 21, 22, 23])] == [20, 21, 22, 23]
    tagged = [{**x, "n_times": yy.shape[1]} for x, yy in zip(X, y, strict=True)]
    pred = model.predict(tagged)
    assert [p.shape for p in pred] == [yy.shape for yy in y]
    # predict at the fMRI length = the design's rows times the coefficients
    d = model._design(X[0], y[0].shape[1], np.float64)
    np.testing.assert_allclose(pred[0][1], d @ model.coef_[1] + model.intercept_[1], rtol=1e-10)
    np.testing.assert_allclose(model.score_map(X, y), pearson_map(y, pred), rtol=1e-12)
    assert model.score(X, y, trim=5) == pytest.approx(pearson_map(y, pred, trim=5).mean())
    assert pearson_scorer(model, tagged, y) == pytest.approx(model.score(X, y))
    with pytest.raises(ValueError, match="pass the fMRI episodes as y"):
        model.score(X)
    with pytest.raises(ValueError, match="lengths has 2 entries but X has 4 episodes"):
        model.predict(X, lengths=[10, 10])


def test_gridsearch_with_pearson_scorer():
    X, y = _data(seed=6, n_episodes=6)
    X = [{**x, "n_times": yy.shape[1]} for x, yy in zip(X, y, strict=True)]
    grid = GridSearchCV(FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2),
                        {"hrf_delay": [0, 3]}, cv=KFold(3), scoring=pearson_scorer).fit(X, y)
    assert grid.best_params_ == {"hrf_delay": 3}


def test_clone_and_pickle():
    X, y = _data(seed=7)
    est = FeatureRidge(stimulus_window=2, alphas=ALPHAS, cv=2, modalities=("visual", "audio"))
    assert clone(est).get_params() == est.get_params()
    est.fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    for a, b in zip(est.predict(X), again.predict(X), strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.coef_.shape[1] == 2 * 3 + 2 * 2


def test_errors():
    X, y = _data(seed=8)
    ok = {"stimulus_window": 2, "alphas": ALPHAS, "cv": 2}
    with pytest.raises(ValueError, match=r"X\[1\] has no 'audio' features; it has"):
        FeatureRidge(**ok).fit([X[0], {"visual": X[1]["visual"]}] + X[2:], y)
    with pytest.raises(ValueError, match="X has 4 episodes but y has 3"):
        FeatureRidge(**ok).fit(X, y[:3])
    with pytest.raises(ValueError, match="list of dicts"):
        FeatureRidge(**ok).fit(X[0], y)
    bad = [dict(x) for x in X]
    bad[2]["visual"] = bad[2]["visual"].copy()
    bad[2]["visual"][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[2\]\['visual'\] contains NaN"):
        FeatureRidge(**ok).fit(bad, y)
    short = [dict(x) for x in X]
    short[0]["audio"] = short[0]["audio"][:1]
    with pytest.raises(ValueError, match=r"X\[0\]\['audio'\] has 1 chunks; at least 2"):
        FeatureRidge(**ok).fit(short, y)
    with pytest.raises(ValueError, match="fewer than the 61 this operation needs"):
        FeatureRidge(**ok, trim=30).fit(X, y)
    with pytest.raises(ValueError, match="FeatureRidge: stimulus_window must be an integer >= 1"):
        FeatureRidge(**{**ok, "stimulus_window": 0}).fit(X, y)
    with pytest.raises(ValueError, match="modalities must be a non-empty tuple"):
        FeatureRidge(**ok, modalities="visual").fit(X, y)
    with pytest.raises(ValueError, match="fit_intercept must be True or False; got 'no'"):
        FeatureRidge(**ok, fit_intercept="no").fit(X, y)
    model = FeatureRidge(**ok).fit(X, y)
    wrong = [dict(x) for x in X]
    wrong[3]["language"] = np.zeros((30, 5))
    with pytest.raises(ValueError, match=r"X\[3\]\['language'\] has 5 dims but 2 were seen in fit"):
        model.predict(wrong)
    with pytest.raises(ValueError, match=r"n_times'\] must be a positive int"):
        model.predict([{**X[0], "n_times": 0}])


def test_feature_episodes_from_dict_and_errors():
    fmri = {"a": np.zeros((2, 10, 3)), "b": np.zeros((2, 12, 3))}
    feats = {"visual": {"a": np.ones((11, 2)), "b": np.ones((12, 2))}}
    X = feature_episodes(feats, fmri, modalities=("visual",))
    assert [x["n_times"] for x in X] == [10, 12] and X[1]["visual"].shape == (12, 2)
    with pytest.raises(ValueError, match=r"visual features are missing for runs \['b'\]"):
        feature_episodes({"visual": {"a": np.ones((11, 2))}}, fmri, modalities=("visual",))
    with pytest.raises(ValueError, match="features has no 'audio' modality"):
        feature_episodes(feats, fmri, modalities=("audio",))
    with pytest.raises(ValueError, match="fmri must be a non-empty dict"):
        feature_episodes(feats, [], modalities=("visual",))


def test_on_the_synthetic_dataset(synthetic_root, friends_tiny):
    """Loader features -> FeatureRidge: predictions shaped like the fMRI, above chance."""
    train, val = friends_tiny
    mods = ("audio",)  # 20 dims: keeps the test fast
    Xtr = feature_episodes(synthetic_root, train, modalities=mods)
    Xval = feature_episodes(synthetic_root, val, modalities=mods)
    model = FeatureRidge(modalities=mods, cv=3).fit(Xtr, list(train.values()))
    pred = model.predict(Xval)
    assert [p.shape for p in pred] == [v.shape for v in val.values()]
    assert model.score(Xval, list(val.values()), trim=5) > 0.05

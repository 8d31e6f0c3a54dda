"""Episode scorers (Pearson, MSE, R²) and the scikit-learn utilities they serve."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_predict,
    cross_validate,
    learning_curve,
    validation_curve,
)

from sklearn_crossenc import CrossSubjectRidge, EpisodeZScore, MeanOfOthers
from sklearn_crossenc.baseline import mean_of_others
from sklearn_crossenc.metrics import pearson_score
from sklearn_crossenc.scoring import (
    EPISODE_SCORERS,
    make_episode_scorer,
    make_episode_scorers,
    mse_map,
    r2_map,
)


@pytest.fixture(scope="module")
def episodes():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((6, 1, 30, 5))
    return shared + 0.7 * rng.standard_normal((6, 3, 30, 5))  # (E, S, T, C)


def _concat(eps, s, trim):
    return np.concatenate([ep[s, trim: ep.shape[1] - trim] for ep in eps])  # (T, C)


@pytest.mark.parametrize("trim", [0, 3])
def test_maps_equal_sklearn_metrics_on_the_concatenated_episodes(trim):
    rng = np.random.default_rng(1)
    yt = [rng.standard_normal((2, t, 4)) for t in (15, 12)]
    yp = [y + rng.standard_normal(y.shape) for y in yt]
    for s in range(2):
        a, b = _concat(yt, s, trim), _concat(yp, s, trim)
        np.testing.assert_allclose(
            mse_map(yt, yp, trim=trim)[s],
            mean_squared_error(a, b, multioutput="raw_values"), rtol=1e-12)
        np.testing.assert_allclose(
            r2_map(yt, yp, trim=trim)[s], r2_score(a, b, multioutput="raw_values"), rtol=1e-12)


def test_r2_of_a_constant_parcel_is_finite():
    y = np.zeros((1, 1, 6, 2))
    y[..., 1] = 2.0
    pred = y.copy()
    pred[0, 0, 0, 1] = 1.0
    np.testing.assert_array_equal(r2_map(y, y), [[1.0, 1.0]])
    np.testing.assert_array_equal(r2_map(y, pred), [[1.0, 0.0]])


@pytest.mark.parametrize("trim", [0, 2])
def test_scorers_reduce_over_parcels_then_subjects_with_the_right_sign(episodes, trim):
    model = MeanOfOthers().fit(episodes)
    pred = np.stack([mean_of_others(ep) for ep in episodes])
    scorers = make_episode_scorers(trim=trim)
    assert scorers["pearson"](model, episodes) == pytest.approx(
        pearson_score(episodes, pred, trim=trim), rel=1e-6)  # predict is float32
    mse = np.mean([mean_squared_error(_concat(episodes, s, trim), _concat(pred, s, trim))
                   for s in range(3)])
    assert scorers["neg_mean_squared_error"](model, episodes) == pytest.approx(-mse, rel=1e-6)
    r2 = np.mean([r2_score(_concat(episodes, s, trim), _concat(pred, s, trim))
                  for s in range(3)])
    assert scorers["r2"](model, episodes) == pytest.approx(r2, rel=1e-6)
    assert scorers["r2"](model, episodes, episodes) == scorers["r2"](model, episodes)


def test_scorer_errors_and_repr():
    with pytest.raises(ValueError, match="metric must be one of .*got 'rmse'"):
        make_episode_scorer("rmse")
    with pytest.warns(FutureWarning, match="metric 'mse' is deprecated; use "
                                           "'neg_mean_squared_error'"):
        assert make_episode_scorer("mse").metric == "neg_mean_squared_error"
    with pytest.raises(ValueError, match="trim"):
        make_episode_scorer("r2", trim=-1)
    assert repr(EPISODE_SCORERS["r2"]) == "make_episode_scorer('r2', trim=0)"


def test_multi_metric_grid_search_refits_on_the_chosen_metric(episodes):
    search = GridSearchCV(CrossSubjectRidge(cv=2), {"alphas": [(0.01,), (1e5,)]},
                          scoring=EPISODE_SCORERS, refit="neg_mean_squared_error", cv=KFold(3))
    search.fit(episodes)
    res = search.cv_results_
    for name in EPISODE_SCORERS:
        assert np.isfinite(res[f"mean_test_{name}"]).all()
    best = int(np.argmax(res["mean_test_neg_mean_squared_error"]))
    assert search.best_index_ == best
    assert search.best_params_ == res["params"][best]


def test_sklearn_string_scorer_gives_nan_with_episodes(episodes):
    # What docs/sklearn.md warns about at the top: sklearn's string scorers need 2-D y.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cross_validate(MeanOfOthers(), episodes, cv=KFold(2), scoring="r2")
    assert np.isnan(res["test_score"]).all()
    res = cross_validate(MeanOfOthers(), episodes, cv=KFold(2), scoring=EPISODE_SCORERS["r2"])
    assert np.isfinite(res["test_score"]).all()


def test_cross_val_predict_with_4d_input_equals_per_fold_predictions(episodes):
    model = CrossSubjectRidge(alphas=(1.0, 10.0), cv=2)
    pred = cross_val_predict(model, episodes, cv=KFold(3))
    assert pred.shape == episodes.shape
    fold = CrossSubjectRidge(alphas=(1.0, 10.0), cv=2).fit(episodes[2:])
    np.testing.assert_allclose(pred[:2], fold.predict(episodes[:2]), rtol=1e-6)


def test_cross_val_predict_with_lists(episodes):
    # Equal lengths: scikit-learn stacks the folds' lists into a 4-D array.
    pred = cross_val_predict(MeanOfOthers(), list(episodes), cv=KFold(3))
    assert isinstance(pred, np.ndarray) and pred.shape == episodes.shape
    # Unequal lengths cannot be stacked: scikit-learn's own error (documented).
    ragged = [ep[:, : 30 - i] for i, ep in enumerate(episodes)]
    # (numpy >= 1.24: "inhomogeneous shape"; older: "could not broadcast")
    with pytest.raises(ValueError, match="inhomogeneous|could not broadcast"):
        cross_val_predict(MeanOfOthers(), ragged, cv=KFold(3))


def test_learning_and_validation_curve_recipes(episodes):
    pearson = EPISODE_SCORERS["pearson"]
    sizes, train, test = learning_curve(
        CrossSubjectRidge(alphas=(1.0,), cv=2), episodes, None, train_sizes=[2, 4],
        cv=KFold(3), scoring=pearson)
    assert list(sizes) == [2, 4] and test.shape == (2, 3) and np.isfinite(test).all()
    train, test = validation_curve(
        CrossSubjectRidge(cv=2), episodes, None, param_name="alphas",
        param_range=[(1e-2,), (1e6,)], cv=KFold(3), scoring=EPISODE_SCORERS["r2"])
    assert train.shape == (2, 3)
    # A huge alpha shrinks the prediction to the intercept: R² near 0 on training folds.
    assert train[1].mean() < 0.05 < train[0].mean()


def test_scorer_targets_the_pipeline_transformed_input(episodes):
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(EpisodeZScore(), MeanOfOthers()).fit(episodes)
    z = EpisodeZScore().fit_transform(episodes)
    expected = -mse_map(z, np.stack([mean_of_others(ep) for ep in z])).mean()
    assert EPISODE_SCORERS["neg_mean_squared_error"](pipe, episodes) == pytest.approx(expected)


def test_skops_round_trip_of_a_fitted_ridge(episodes, tmp_path):
    sio = pytest.importorskip("skops.io")
    model = CrossSubjectRidge(alphas=(1.0, 10.0), cv=2).fit(episodes)
    path = tmp_path / "ridge.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert any("CrossSubjectRidge" in t for t in untrusted)
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(episodes), model.predict(episodes))

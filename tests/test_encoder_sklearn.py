"""CrossSubjectEncoder inside scikit-learn: estimator checks, GridSearchCV, Pipeline."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    PredefinedSplit,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_crossenc import CrossSubjectEncoder, EpisodeZScore, pearson_scorer
from sklearn_crossenc.data import as_episodes, episode_groups
from sklearn_crossenc.metrics import pearson_score

FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=2,
            device="cpu", random_state=0)


@pytest.fixture(scope="module")
def friends(friends_tiny):
    train, val = friends_tiny
    return as_episodes(train), episode_groups(train), as_episodes(val)


@pytest.mark.parametrize("check", [
    check_get_params_invariance,
    check_set_params,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
])
def test_sklearn_data_free_checks(check):
    check(type(CrossSubjectEncoder()).__name__, CrossSubjectEncoder())


def test_clone_and_repr():
    enc = CrossSubjectEncoder(embed_dim=32, validation=0.2, callbacks=[])
    c = clone(enc)
    assert c is not enc and c.get_params() == enc.get_params()
    assert repr(enc) == "CrossSubjectEncoder(callbacks=[], embed_dim=32, validation=0.2)"
    assert repr(CrossSubjectEncoder()) == "CrossSubjectEncoder()"


def test_defaults_are_the_seeds():
    p = CrossSubjectEncoder().get_params()
    assert {k: p[k] for k in ("embed_dim", "encoder_kernel_size", "decoder_kernel_size",
                              "lr", "weight_decay", "batch_size", "sample_length",
                              "samples_per_epoch", "max_epochs", "lr_schedule")} == dict(
        embed_dim=64, encoder_kernel_size=7, decoder_kernel_size=0, lr=3e-4,
        weight_decay=1e-3, batch_size=16, sample_length=64, samples_per_epoch=2000,
        max_epochs=10, lr_schedule="constant")


def _check_search(search, X, grid):
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and len(scores) == np.prod([len(v) for v in grid.values()])
    # The refit best estimator is a fit with best_params_ (set_params reaches the model).
    ref = CrossSubjectEncoder(**{**FAST, **search.best_params_}).fit(X)
    np.testing.assert_array_equal(search.best_estimator_.predict(X[:2])[0], ref.predict(X[:2])[0])


@pytest.mark.parametrize("cv_kind", ["kfold", "group", "predefined"])
def test_grid_search_over_sizes_with_episode_folds(friends, cv_kind):
    X, seasons, _ = friends
    grid = {"embed_dim": [2, 4], "encoder_kernel_size": [0, 3], "decoder_kernel_size": [0, 3]}
    if cv_kind == "kfold":
        cv, groups = KFold(2, shuffle=True, random_state=0), None
    elif cv_kind == "group":
        cv, groups = GroupKFold(n_splits=2), seasons
    else:  # the seed's split, shrunk: the last season validates
        cv, groups = PredefinedSplit(np.where(seasons == seasons.max(), 0, -1)), None
    search = GridSearchCV(CrossSubjectEncoder(**FAST), grid, scoring=pearson_scorer, cv=cv)
    search.fit(X, groups=groups)
    _check_search(search, X, grid)


def test_grid_search_test_score_is_the_metric_on_the_held_out_fold(friends):
    X, _, _ = friends
    cv = KFold(2)
    search = GridSearchCV(CrossSubjectEncoder(**FAST), {"embed_dim": [3]},
                          scoring=pearson_scorer, cv=cv).fit(X)
    train, test = next(cv.split(X))
    enc = CrossSubjectEncoder(**{**FAST, "embed_dim": 3}).fit([X[i] for i in train])
    held = [X[i] for i in test]
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(
        pearson_score(held, enc.predict(held)), abs=1e-12)


@pytest.mark.slow
def test_grid_search_parallel_equals_serial(friends):
    X, seasons, _ = friends
    grid = {"embed_dim": [2, 4]}
    res = [
        GridSearchCV(CrossSubjectEncoder(**{**FAST, "n_threads": 1}), grid,
                     scoring=pearson_scorer, cv=GroupKFold(n_splits=2), n_jobs=n_jobs)
        .fit(X, groups=seasons).cv_results_["mean_test_score"]
        for n_jobs in (1, 2)
    ]
    np.testing.assert_allclose(res[0], res[1], rtol=1e-5)


def test_cross_validate_with_season_groups(friends):
    X, seasons, _ = friends
    out = cross_validate(CrossSubjectEncoder(**FAST), X, groups=seasons,
                         cv=GroupKFold(n_splits=3), scoring=pearson_scorer)
    assert out["test_score"].shape == (3,) and np.isfinite(out["test_score"]).all()


def test_pipeline_fits_predicts_scores_and_searches(friends):
    X, _, val = friends
    pipe = Pipeline([("z", EpisodeZScore()), ("enc", CrossSubjectEncoder(**FAST))]).fit(X)
    pred = pipe.predict(val)
    assert isinstance(pred, list) and pred[0].shape == val[0].shape
    # Targets after a transformer: the pipeline is scored against the z-scored episodes.
    z = EpisodeZScore().fit_transform(val)
    assert pipe.score(val) == pytest.approx(pearson_score(z, pred))
    assert pearson_scorer(pipe, val) == pytest.approx(pearson_score(z, pred))
    # Pearson r is scale-free per parcel and episode z-scoring only rescales each episode's
    # series, so for a single episode the raw and z-scored targets give the same score.
    one = [val[0]]
    assert pearson_score(one, pipe.predict(one)) == pytest.approx(pipe.score(one), abs=1e-6)
    search = GridSearchCV(pipe, {"enc__embed_dim": [2, 4]}, scoring=pearson_scorer, cv=KFold(2))
    search.fit(X)
    # A fold's test score is the metric against that fold's z-scored episodes.
    train, test = next(KFold(2).split(X))
    fold = clone(pipe).set_params(enc__embed_dim=4).fit([X[i] for i in train])
    held = [X[i] for i in test]
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(
        pearson_score(EpisodeZScore().fit_transform(held), fold.predict(held)), abs=1e-12)


def test_cross_validate_on_a_4d_array_with_explicit_targets():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 3, 30, 6)).astype(np.float32)
    out = cross_validate(CrossSubjectEncoder(**FAST), X, X.copy(), cv=KFold(2),
                         scoring=pearson_scorer, return_estimator=True)
    assert out["test_score"].shape == (2,)
    for est, (_, test) in zip(out["estimator"], KFold(2).split(X), strict=True):
        assert est.predict(X[test]).shape == X[test].shape
        assert est.score(X[test]) == pytest.approx(
            pearson_score(X[test], est.predict(X[test])))

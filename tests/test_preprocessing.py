"""Tests for sklearn_crossenc.preprocessing.EpisodeZScore."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from sklearn_crossenc.preprocessing import EpisodeZScore


def _ref_zscore(ep, with_mean=True, with_std=True):
    """Independent loop computation: one series at a time, float64."""
    s_n, _, c_n = ep.shape
    out = np.empty(ep.shape, dtype=np.float64)
    for s in range(s_n):
        for c in range(c_n):
            v = ep[s, :, c].astype(np.float64)
            m = v.sum() / v.size
            sd = np.sqrt(((v - m) ** 2).sum() / v.size)
            w = v - m if with_mean else v.copy()
            if with_std and sd > 1e-8:
                w = w / sd
            out[s, :, c] = w
    return out


@pytest.fixture
def episodes_list():
    rng = np.random.default_rng(0)
    # Parcel series centred-ish but not unit variance, as in the real data.
    return [
        rng.normal(0.3, 0.5, size=(3, t, 6)).astype(np.float32) for t in (12, 17, 9)
    ]


@pytest.mark.parametrize("with_mean", [True, False])
@pytest.mark.parametrize("with_std", [True, False])
def test_values_match_independent_computation(episodes_list, with_mean, with_std):
    z = EpisodeZScore(with_mean=with_mean, with_std=with_std).fit_transform(episodes_list)
    assert isinstance(z, list) and len(z) == 3
    for ep, out in zip(episodes_list, z, strict=True):
        assert out.shape == ep.shape and out.dtype == np.float32
        np.testing.assert_allclose(out, _ref_zscore(ep, with_mean, with_std), atol=2e-6)


def test_unit_moments_per_episode(episodes_list):
    z = EpisodeZScore().fit_transform(episodes_list)
    for out in z:
        np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-6)
        np.testing.assert_allclose(out.std(axis=1), 1.0, atol=1e-5)


def test_4d_structure_kept_and_each_episode_independent():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.4, size=(4, 2, 15, 3))
    z = EpisodeZScore().fit(X).transform(X)
    assert isinstance(z, np.ndarray) and z.shape == X.shape and z.dtype == np.float64
    # Transforming one episode alone gives the same result: no state across episodes.
    single = EpisodeZScore().fit(X).transform(X[2:3])
    np.testing.assert_array_equal(single[0], z[2])
    np.testing.assert_allclose(z[1], _ref_zscore(X[1]), atol=1e-12)


def test_constant_parcel_gives_zero_not_nan():
    X = np.random.default_rng(2).normal(size=(2, 3, 10, 4))
    X[0, 1, :, 2] = 5.0
    X[1, :, :, 0] = 0.0
    z = EpisodeZScore().fit_transform(X)
    assert np.isfinite(z).all()
    np.testing.assert_array_equal(z[0, 1, :, 2], 0.0)
    np.testing.assert_array_equal(z[1, :, :, 0], 0.0)
    # Without centring a constant series is left unscaled.
    z2 = EpisodeZScore(with_mean=False).fit_transform(X)
    np.testing.assert_allclose(z2[0, 1, :, 2], 5.0)


def test_input_not_modified(episodes_list):
    before = [ep.copy() for ep in episodes_list]
    EpisodeZScore().fit_transform(episodes_list)
    for a, b in zip(before, episodes_list, strict=True):
        np.testing.assert_array_equal(a, b)


def test_integer_input_gives_float32():
    X = np.arange(2 * 2 * 5 * 3).reshape(2, 2, 5, 3)
    z = EpisodeZScore().fit_transform(X)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[0], _ref_zscore(X[0]), atol=2e-6)


def test_clone_get_set_params_pickle(episodes_list):
    est = EpisodeZScore(with_std=False, eps=1e-3)
    assert est.get_params() == {"with_mean": True, "with_std": False, "eps": 1e-3}
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "n_subjects_")
    c.set_params(with_std=True)
    assert c.with_std is True and est.with_std is False
    est.fit(episodes_list)
    assert (est.n_subjects_, est.n_parcels_) == (3, 6)
    est2 = pickle.loads(pickle.dumps(est))
    for a, b in zip(est.transform(episodes_list), est2.transform(episodes_list), strict=True):
        np.testing.assert_array_equal(a, b)
    assert repr(est) == "EpisodeZScore(eps=0.001, with_std=False)"


def test_not_fitted():
    with pytest.raises(NotFittedError):
        EpisodeZScore().transform(np.zeros((1, 2, 5, 3)))


def test_errors(episodes_list):
    est = EpisodeZScore().fit(episodes_list)
    with pytest.raises(ValueError, match="2 subjects but the model was fitted on 3"):
        est.transform([np.zeros((2, 10, 6))])
    with pytest.raises(ValueError, match="5 parcels but the model was fitted on 6"):
        est.transform([np.zeros((3, 10, 5))])
    with pytest.raises(ValueError, match="3-D array"):
        est.transform(np.zeros((3, 10, 6)))
    bad = [ep.copy() for ep in episodes_list]
    bad[1][0, 3, 2] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] contains 1 NaN or Inf"):
        est.transform(bad)
    with pytest.raises(ValueError, match="no episodes"):
        est.transform([])
    with pytest.raises(ValueError, match="EpisodeZScore: eps must be a number >= 0; got -1.0"):
        EpisodeZScore(eps=-1.0).fit(episodes_list)
    with pytest.raises(ValueError, match="eps must be a number >= 0; got 'small'"):
        EpisodeZScore(eps="small").fit(episodes_list)
    with pytest.raises(ValueError, match="with_std must be True or False; got 'no'"):
        EpisodeZScore(with_std="no").fit(episodes_list)


def test_in_pipeline_with_encoder(episodes_list):
    encoder = pytest.importorskip("sklearn_crossenc.encoder")
    rng = np.random.default_rng(3)
    # 4 episodes of 3 subjects sharing a signal, plus subject noise, std about 0.5.
    X = [(0.5 * (rng.normal(size=(1, 40, 6)) + 0.3 * rng.normal(size=(3, 40, 6))))
         .astype(np.float32) for _ in range(4)]
    pipe = Pipeline([
        ("z", EpisodeZScore()),
        ("enc", encoder.CrossSubjectEncoder(
            embed_dim=4, encoder_kernel_size=3, sample_length=16, samples_per_epoch=32,
            max_epochs=2, batch_size=8, random_state=0, device="cpu")),
    ])
    pipe.fit(X)
    pred = pipe.predict(X)
    assert isinstance(pred, list) and [p.shape for p in pred] == [x.shape for x in X]
    score = pipe.score(X)
    # Independently: per subject and parcel np.corrcoef over concatenated z-scored episodes.
    Zx = [(x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True) for x in X]  # (S, T, C)
    r = [[np.corrcoef(np.concatenate([z[s, :, c] for z in Zx]),
                      np.concatenate([p[s, :, c] for p in pred]))[0, 1] for c in range(6)]
         for s in range(3)]
    assert score == pytest.approx(np.mean(r), abs=1e-5)
    # The pipeline's score is the encoder's score on the z-scored input.
    Z = pipe[:-1].transform(X)
    assert score == pytest.approx(pipe[-1].score(Z), abs=1e-6)


def test_pipeline_grid_search():
    encoder = pytest.importorskip("sklearn_crossenc.encoder")
    from sklearn.model_selection import GridSearchCV, KFold

    from sklearn_crossenc.metrics import pearson_score, pearson_scorer

    rng = np.random.default_rng(4)
    X = [(0.5 * (rng.normal(size=(1, 30, 5)) + 0.3 * rng.normal(size=(3, 30, 5))))
         .astype(np.float32) for _ in range(4)]
    pipe = Pipeline([
        ("z", EpisodeZScore()),
        ("enc", encoder.CrossSubjectEncoder(
            encoder_kernel_size=0, sample_length=16, samples_per_epoch=32, max_epochs=1,
            batch_size=8, random_state=0, device="cpu")),
    ])
    search = GridSearchCV(pipe, {"enc__embed_dim": [2, 4]}, cv=KFold(2), scoring=pearson_scorer)
    search.fit(X)
    scores = search.cv_results_["mean_test_score"]
    # Fold 1, embed_dim=2: the pipeline fitted on the other fold, scored on z-scored targets.
    train, test = list(KFold(2).split(X))[1]
    fold = clone(pipe).set_params(enc__embed_dim=2).fit([X[i] for i in train])
    held = [X[i] for i in test]
    assert search.cv_results_["split1_test_score"][0] == pytest.approx(
        pearson_score(fold[:-1].transform(held), fold.predict(held)), abs=1e-12)
    assert scores.shape == (2,) and np.isfinite(scores).all()
    assert search.best_estimator_.predict(X)[0].shape == (3, 30, 5)


@pytest.mark.parametrize("dtype, expected", [("float64", np.float64), ("float32", np.float32),
                                             ("float16", np.float32), ("int64", np.float32)])
def test_dtype_float64_kept_others_float32(dtype, expected):
    X = (np.arange(2 * 2 * 6 * 3) % 7).reshape(2, 2, 6, 3).astype(dtype)
    est = EpisodeZScore().fit(X)
    assert est.transform(X).dtype == expected
    assert est.transform(list(X))[0].dtype == expected


@pytest.mark.parametrize("with_mean, with_std", [(True, True), (True, False), (False, True)])
def test_inverse_transform_restores_the_reference_units(with_mean, with_std):
    rng = np.random.default_rng(3)
    X = [rng.normal(5.0, 3.0, size=(2, t, 4)) for t in (12, 9)]
    est = EpisodeZScore(with_mean=with_mean, with_std=with_std).fit(X)
    Z = est.transform(X)
    back = est.inverse_transform(Z, reference=X)
    for b, x in zip(back, X, strict=True):
        assert b.dtype == np.float64
        np.testing.assert_allclose(b, x, rtol=1e-12, atol=1e-12)
    # A prediction in z-units (here 2 * z) maps to mean + 2 * std, computed independently.
    twice = est.inverse_transform([2 * z for z in Z], reference=X)
    mean = X[1].mean(axis=1, keepdims=True) if with_mean else 0.0
    std = X[1].std(axis=1, keepdims=True) if with_std else 1.0
    np.testing.assert_allclose(twice[1], mean + 2 * (X[1] - mean) / std * std, atol=1e-10)


def test_inverse_transform_needs_the_reference():
    X = np.random.default_rng(0).normal(size=(2, 2, 8, 3))
    est = EpisodeZScore().fit(X)
    with pytest.raises(ValueError, match="needs reference="):
        est.inverse_transform(est.transform(X))
    with pytest.raises(ValueError, match="X has 2 episodes but reference has 1"):
        est.inverse_transform(est.transform(X), reference=X[:1])
    ident = EpisodeZScore(with_mean=False, with_std=False).fit(X)
    np.testing.assert_array_equal(ident.inverse_transform(X), X)


def test_pandas_output_is_refused_with_a_clear_error():
    import sklearn

    X = np.random.default_rng(0).normal(size=(2, 2, 8, 3))
    est = EpisodeZScore()
    assert est.set_output(transform="default") is est
    for kind in ("pandas", "polars"):
        with pytest.raises(ValueError, match=f"{kind} output has no meaning for episodes"):
            est.set_output(transform=kind)
    est.fit(X)
    with sklearn.config_context(transform_output="pandas"):
        with pytest.raises(ValueError, match="transform_output='pandas'"):
            est.transform(X)

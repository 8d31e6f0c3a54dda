"""SubjectAdder: a subject added to a fitted CrossSubjectEncoder with the shared model frozen."""

from __future__ import annotations

import io
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_crossenc import CrossSubjectEncoder, SubjectAdder
from sklearn_crossenc.jobs.new_subject import (
    budget_trs,
    run_new_subject,
    split_for_cv,
    take_budget,
)
from sklearn_crossenc.report import format_learning_curve

TINY = dict(embed_dim=8, sample_length=32, samples_per_epoch=64, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def data(friends_tiny):
    """(train, val): lists of (4, T, 48) episodes; subject index 3 is the newcomer."""
    train, val = friends_tiny
    return list(train.values()), list(val.values())


@pytest.fixture(scope="module")
def linear_encoder(data):
    """Encoder of subjects 0-2 without temporal kernels: latents are one matrix product."""
    train, _ = data
    return CrossSubjectEncoder(encoder_kernel_size=0, **TINY).fit([ep[:3] for ep in train])


@pytest.fixture(scope="module")
def conv_encoder(data):
    """Encoder of subjects 0-2 with an encoder kernel and LayerNorm."""
    train, _ = data
    return CrossSubjectEncoder(encoder_kernel_size=3, normalize=True, **TINY).fit(
        [ep[:3] for ep in train])


def _latents(enc, ep):
    """Independent numpy latents of a kernel-free, norm-free encoder: (S, T, C) -> (S, T, D)."""
    m = enc.net_.module_
    w = (m.shared_encoder_weight + m.subject_encoder_weight).detach().double().numpy()  # (S,D,C)
    b = (m.shared_encoder_bias + m.subject_encoder_bias).detach().double().numpy()  # (S, D)
    return np.einsum("stc,sdc->std", ep.astype(np.float64), w) + b[:, None]


def _decode(enc, mixed):
    """Independent numpy decoders of a kernel-free model: (S, T, D) -> (S, T, C)."""
    m = enc.net_.module_
    w = (m.shared_decoder_weight + m.subject_decoder_weight).detach().double().numpy()  # (S,C,D)
    b = (m.shared_decoder_bias + m.subject_decoder_bias).detach().double().numpy()  # (S, C)
    return np.einsum("std,scd->stc", mixed, w) + b[:, None]


def _state(enc):
    return {k: v.clone() for k, v in enc.net_.module_.state_dict().items()}


# ------------------------------------------------------------------ frozen model


@pytest.mark.parametrize("fit_encoder", [False, True])
def test_frozen_parts_unchanged_bit_for_bit(conv_encoder, data, fit_encoder):
    train, val = data
    before, params = _state(conv_encoder), conv_encoder.get_params()
    pred_before = conv_encoder.predict([ep[:3] for ep in val])
    adder = SubjectAdder(conv_encoder, alpha=3.0, fit_encoder=fit_encoder).fit(train)
    adder.predict(val)
    after = _state(conv_encoder)
    assert adder.encoder_ is conv_encoder
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert conv_encoder.get_params() == params
    for p, q in zip(pred_before, conv_encoder.predict([ep[:3] for ep in val]), strict=True):
        assert np.array_equal(p, q)


def test_fitted_subjects_predictions_unchanged_without_the_new_encoder(conv_encoder, data):
    train, val = data
    pred = SubjectAdder(conv_encoder, alpha=3.0).fit(train).predict(val)
    frozen = conv_encoder.predict([ep[:3] for ep in val])
    for p, f in zip(pred, frozen, strict=True):
        assert p.shape == (4,) + f.shape[1:] and p.dtype == np.float32
        assert np.array_equal(p[:3], f)


def test_with_the_new_encoder_the_newcomer_joins_the_others_average(linear_encoder, data):
    train, val = data
    adder = SubjectAdder(linear_encoder, alpha=2.0, fit_encoder=True, encoder_alpha=50.0)
    pred = adder.fit(train).predict(val)
    for ep, p in zip(val, pred, strict=True):
        z = _latents(linear_encoder, ep[:3])  # (3, T, D)
        z_new = ep[3].astype(np.float64) @ adder.encoder_coef_ + adder.encoder_intercept_
        mixed = (z.sum(0) - z + z_new) / 3.0  # each subject: mean of its 3 others
        np.testing.assert_allclose(p[:3], _decode(linear_encoder, mixed), rtol=1e-4, atol=1e-5)
    frozen = linear_encoder.predict([ep[:3] for ep in val])
    assert not np.allclose(pred[0][:3], frozen[0])


# ------------------------------------------------------------------ closed forms


def test_new_subject_prediction_is_the_decoder_of_the_frozen_latent(linear_encoder, data):
    train, val = data
    adder = SubjectAdder(linear_encoder, alpha=2.0).fit(train)
    zbar = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in train])  # (n, D)
    target = np.concatenate([ep[3] for ep in train])  # (n, C)
    ref = Ridge(alpha=2.0).fit(zbar, target)
    np.testing.assert_allclose(adder.decoder_coef_, ref.coef_.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(adder.decoder_intercept_, ref.intercept_, rtol=1e-4, atol=1e-6)
    assert adder.n_samples_ == target.shape[0]
    for ep, p in zip(val, adder.predict(val), strict=True):
        direct = _latents(linear_encoder, ep[:3]).mean(0) @ adder.decoder_coef_ \
            + adder.decoder_intercept_
        np.testing.assert_allclose(p[3], direct, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(p[3], ref.predict(_latents(linear_encoder, ep[:3]).mean(0)),
                                   rtol=1e-3, atol=1e-4)


def test_new_encoder_is_the_ridge_from_parcels_to_the_frozen_latent(linear_encoder, data):
    train, _ = data
    adder = SubjectAdder(linear_encoder, fit_encoder=True, encoder_alpha=50.0).fit(train)
    x = np.concatenate([ep[3] for ep in train])  # (n, C)
    zbar = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in train])
    ref = Ridge(alpha=50.0).fit(x, zbar)
    np.testing.assert_allclose(adder.encoder_coef_, ref.coef_.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(adder.encoder_intercept_, ref.intercept_, rtol=1e-4, atol=1e-6)


def test_no_intercept_and_explicit_targets(linear_encoder, data):
    train, _ = data
    y = [ep * 2.0 for ep in train]
    adder = SubjectAdder(linear_encoder, alpha=2.0, fit_intercept=False).fit(train, y)
    zbar = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in train])
    ref = Ridge(alpha=2.0, fit_intercept=False).fit(zbar, np.concatenate([t[3] for t in y]))
    np.testing.assert_allclose(adder.decoder_coef_, ref.coef_.T, rtol=1e-4, atol=1e-6)
    assert np.all(adder.decoder_intercept_ == 0)


# ------------------------------------------------------------------ errors


def test_subject_count_and_parcel_mismatches_are_named(conv_encoder, data):
    train, val = data
    with pytest.raises(ValueError, match=r"X has 3 subjects; .* 3 fitted subjects.*4 subjects"):
        SubjectAdder(conv_encoder).fit([ep[:3] for ep in train])
    with pytest.raises(ValueError, match=r"X has 40 parcels but the encoder was fitted on 48"):
        SubjectAdder(conv_encoder).fit([ep[..., :40] for ep in train])
    adder = SubjectAdder(conv_encoder).fit(train)
    with pytest.raises(ValueError, match=r"X has 5 subjects; .*4 subjects"):
        adder.predict([np.concatenate([ep, ep[:1]]) for ep in val])
    with pytest.raises(ValueError, match=r"y has 3 subjects"):
        SubjectAdder(conv_encoder).fit(train, [ep[:3] for ep in train])


def test_encoder_and_parameter_errors(conv_encoder, data):
    train, _ = data
    with pytest.raises(NotFittedError, match="CrossSubjectEncoder is not fitted"):
        SubjectAdder(CrossSubjectEncoder()).fit(train)
    with pytest.raises(TypeError, match="fitted CrossSubjectEncoder .*got Ridge"):
        SubjectAdder(Ridge()).fit(train)
    for name, bad in (("alpha", 0.0), ("alpha", -1), ("encoder_alpha", float("nan")),
                      ("alpha", "big")):
        with pytest.raises(ValueError, match=f"{name} must be a finite number > 0; got"):
            SubjectAdder(conv_encoder, **{name: bad}).fit(train)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SubjectAdder(conv_encoder).predict(train)


# ------------------------------------------------------------------ sklearn protocol


def test_clone_shares_the_frozen_encoder_and_refits_identically(conv_encoder, data):
    train, val = data
    adder = SubjectAdder(conv_encoder, alpha=3.0, fit_encoder=True).fit(train)
    twin = clone(adder)
    assert twin.encoder is conv_encoder and not hasattr(twin, "decoder_coef_")
    assert twin.get_params(deep=False) == adder.get_params(deep=False)
    for p, q in zip(adder.predict(val), twin.fit(train).predict(val), strict=True):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_pickle_and_joblib_round_trip(conv_encoder, data, how, tmp_path):
    train, val = data
    adder = SubjectAdder(conv_encoder, alpha=3.0, fit_encoder=True).fit(train)
    if how == "pickle":
        back = pickle.loads(pickle.dumps(adder))
    else:
        buf = io.BytesIO()
        joblib.dump(adder, buf)
        buf.seek(0)
        back = joblib.load(buf)
    for p, q in zip(adder.predict(val), back.predict(val), strict=True):
        assert np.array_equal(p, q)
    assert back.score(val) == adder.score(val)


@pytest.mark.parametrize("wrap", [False, True])
def test_grid_search_over_alpha(conv_encoder, data, wrap):
    train, val = data
    enc = FrozenEstimator(conv_encoder) if wrap else conv_encoder
    alphas = [0.1, 1e9]
    search = GridSearchCV(SubjectAdder(enc), {"alpha": alphas}, cv=KFold(3)).fit(train)
    # The same scores by hand: fit on the training folds, score on the held-out fold.
    by_hand = []
    for alpha in alphas:
        folds = [SubjectAdder(conv_encoder, alpha=alpha)
                 .fit([train[i] for i in tr]).score([train[i] for i in te])
                 for tr, te in KFold(3).split(train)]
        by_hand.append(np.mean(folds))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], by_hand, rtol=1e-6)
    assert search.best_params_ == {"alpha": alphas[int(np.argmax(by_hand))]}
    assert search.best_estimator_.encoder_ is conv_encoder
    # An enormous penalty leaves the new subject at its mean: the score drops.
    assert by_hand[0] > by_hand[1]


# ------------------------------------------------------------------ job helpers


def test_budgets_take_runs_in_order_and_cut_the_last():
    eps = [np.full((2, 30, 3), i, dtype=np.float32) for i in range(3)]
    assert budget_trs(1) == 40 and budget_trs(60) == 2416 and budget_trs(None) is None
    out = take_budget(eps, 45)
    assert [e.shape[1] for e in out] == [30, 15] and out[1][0, 0, 0] == 1
    assert take_budget(eps, 30)[-1] is not None and len(take_budget(eps, 30)) == 1
    assert len(take_budget(eps, None)) == 3
    with pytest.raises(ValueError, match="budget of 91 time points exceeds the 90"):
        take_budget(eps, 91)
    for bad in (-1, 0, float("inf"), float("nan"), True, "5"):
        with pytest.raises(ValueError, match=f"finite number of minutes > 0, or None for all "
                                             f"the data; got {bad!r}"):
            budget_trs(bad)
    with pytest.raises(ValueError, match="a budget of 0.001 min is less than one time point"):
        budget_trs(0.001)
    parts = split_for_cv(out, 5)
    assert len(parts) == 5 and sum(p.shape[1] for p in parts) == 45
    assert np.array_equal(np.concatenate(parts, axis=1), np.concatenate(out, axis=1))


@pytest.mark.slow
def test_run_new_subject_on_the_tiny_dataset(synthetic_root):
    logs = []
    res = run_new_subject(synthetic_root, budgets_min=(1, None), log=logs.append,
                          encoder_params=TINY, alphas=(1.0, 100.0), n_splits=3)
    assert [r["n_trs"] for r in res["budgets"]][0] == 40
    assert res["budgets"][-1]["n_trs"] == res["available_trs"]
    for row in res["budgets"]:
        for part in ("added", "ridge", "added_encoder"):
            assert -1 <= row[part]["friends_s6"] <= 1 and -1 <= row[part]["movie10_run1"] <= 1
    assert res["fitted_subjects"] == [1, 2, 3] and logs
    table = format_learning_curve(res)
    assert table.count("\n") == 3 and "| 1 min | 40 |" in table and "| all |" in table

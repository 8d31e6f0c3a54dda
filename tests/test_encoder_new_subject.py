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
from sklearn_crossenc.encoder._kernel_prior import subject_decoders
from sklearn_crossenc.encoder._new_subject import PRIOR_WEIGHTS
from sklearn_crossenc.encoder._prior_ridge import group_prior, prior_delays
from sklearn_crossenc.jobs.new_subject import (
    budget_trs,
    run_new_subject,
    split_for_cv,
    take_budget,
)
from sklearn_crossenc.report import format_learning_curve
from sklearn_crossenc.ridge._folds import cv_row_splits
from sklearn_crossenc.solvers import (
    DEFAULT_ALPHAS,
    RidgeStats,
    delay_features,
    prior_ridge_cv,
    ridge_stats,
    solve_toward_prior,
    split_blocks,
)

TINY = dict(embed_dim=8, sample_length=32, samples_per_epoch=64, max_epochs=2, random_state=0)
#: The method before issue 30: no temporal kernel, the isotropic penalty.
TODAY = dict(prior="isotropic", kernel_delays=(0,))


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


@pytest.fixture(scope="module")
def conv_decoder_encoder(data):
    """Encoder of subjects 0-2 whose decoders have a depthwise temporal kernel."""
    train, _ = data
    return CrossSubjectEncoder(encoder_kernel_size=0, decoder_kernel_size=3, **TINY).fit(
        [ep[:3] for ep in train])


@pytest.fixture(scope="module")
def causal_encoder(data):
    """Encoder of subjects 0-2 with causal encoder and decoder kernels."""
    train, _ = data
    return CrossSubjectEncoder(encoder_kernel_size=3, decoder_kernel_size=3, causal=True,
                               **TINY).fit([ep[:3] for ep in train])


def _latents(enc, ep):
    """Independent numpy latents of a kernel-free, norm-free encoder: (S, T, C) -> (S, T, D),
    of the data standardised as the net trained on it (``scaling_``)."""
    mean, scale = enc.scaling_[:2]
    ep = (ep - mean[:, None]) / scale[:, None, None]
    m = enc.net_.module_
    w = (m.shared_encoder_weight + m.subject_encoder_weight).detach().double().numpy()  # (S,D,C)
    b = (m.shared_encoder_bias + m.subject_encoder_bias).detach().double().numpy()  # (S, D)
    return np.einsum("stc,sdc->std", ep.astype(np.float64), w) + b[:, None]


def _decode(enc, mixed):
    """Independent numpy decoders of a kernel-free model: (S, T, D) -> (S, T, C)."""
    m = enc.net_.module_
    w = (m.shared_decoder_weight + m.subject_decoder_weight).detach().double().numpy()  # (S,C,D)
    b = (m.shared_decoder_bias + m.subject_decoder_bias).detach().double().numpy()  # (S, C)
    mean, scale = enc.scaling_[2:]  # back to the data's units
    return (np.einsum("std,scd->stc", mixed, w) + b[:, None]) * scale[:, None, None] \
        + mean[:, None]


def _new(adder, x, which=2):
    """The new subject's inputs (``which=0``) or targets (2) in its standardised units."""
    return (x - adder.new_scaling_[which]) / adder.new_scaling_[which + 1]


def _back(adder, y):
    """The new subject's standardised prediction in the data's units."""
    return y * adder.new_scaling_[3] + adder.new_scaling_[2]


def _state(enc):
    return {k: v.clone() for k, v in enc.net_.module_.state_dict().items()}


# ------------------------------------------------------------------ frozen model


@pytest.mark.parametrize("which", ["conv_encoder", "causal_encoder"])
@pytest.mark.parametrize("params", [dict(alpha=3.0, prior_weight=1.0), dict(),
                                    dict(fit_encoder=True), dict(delays=(-2, -1, 0, 1, 2))])
def test_frozen_parts_unchanged_bit_for_bit(request, data, which, params):
    train, val = data
    enc = request.getfixturevalue(which)
    before, enc_params = _state(enc), enc.get_params()
    pred_before = enc.predict([ep[:3] for ep in val])
    adder = SubjectAdder(enc, **params).fit(train)
    adder.predict(val)
    SubjectAdder(enc).fit([ep[:, :0] for ep in train])  # no data: the group's decoder
    after = _state(enc)
    assert adder.encoder_ is enc
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k
    assert enc.get_params() == enc_params
    for p, q in zip(pred_before, enc.predict([ep[:3] for ep in val]), strict=True):
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
        z_new = _new(adder, ep[3], 0) @ adder.encoder_coef_ + adder.encoder_intercept_
        mixed = (z.sum(0) - z + z_new) / 3.0  # each subject: mean of its 3 others
        np.testing.assert_allclose(p[:3], _decode(linear_encoder, mixed), rtol=1e-4, atol=1e-5)
    frozen = linear_encoder.predict([ep[:3] for ep in val])
    assert not np.allclose(pred[0][:3], frozen[0])


# ------------------------------------------------------------------ closed forms


def test_new_subject_prediction_is_the_decoder_of_the_frozen_latent(linear_encoder, data):
    train, val = data
    adder = SubjectAdder(linear_encoder, alpha=2.0, prior_weight=0.0, **TODAY).fit(train)
    zbar = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in train])  # (n, D)
    target = _new(adder, np.concatenate([ep[3] for ep in train]))  # (n, C)
    ref = Ridge(alpha=2.0).fit(zbar, target)
    np.testing.assert_allclose(adder.decoder_coef_, ref.coef_.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(adder.decoder_intercept_, ref.intercept_, rtol=1e-4, atol=1e-6)
    assert adder.n_samples_ == target.shape[0]
    for ep, p in zip(val, adder.predict(val), strict=True):
        direct = _latents(linear_encoder, ep[:3]).mean(0) @ adder.decoder_coef_ \
            + adder.decoder_intercept_
        np.testing.assert_allclose(p[3], _back(adder, direct), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            p[3], _back(adder, ref.predict(_latents(linear_encoder, ep[:3]).mean(0))),
            rtol=1e-3, atol=1e-4)


def test_new_encoder_is_the_ridge_from_parcels_to_the_frozen_latent(linear_encoder, data):
    train, _ = data
    adder = SubjectAdder(linear_encoder, fit_encoder=True, encoder_alpha=50.0).fit(train)
    x = _new(adder, np.concatenate([ep[3] for ep in train]), 0)  # (n, C)
    zbar = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in train])
    ref = Ridge(alpha=50.0).fit(x, zbar)
    np.testing.assert_allclose(adder.encoder_coef_, ref.coef_.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(adder.encoder_intercept_, ref.intercept_, rtol=1e-4, atol=1e-6)


def test_no_intercept_and_explicit_targets(linear_encoder, data):
    train, _ = data
    y = [ep * 2.0 for ep in train]
    adder = SubjectAdder(linear_encoder, alpha=2.0, prior_weight=0.0, fit_intercept=False,
                         **TODAY).fit(train, y)
    zbar = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in train])
    # Without intercept the decoder's intercept is the group's: the ridge fits y - b0.
    b0 = adder.prior_intercept_
    target = _new(adder, np.concatenate([t[3] for t in y]))  # centred, in its own units
    ref = Ridge(alpha=2.0, fit_intercept=False).fit(zbar, target - b0)
    np.testing.assert_allclose(adder.decoder_coef_, ref.coef_.T, rtol=1e-4, atol=1e-6)
    assert np.array_equal(adder.decoder_intercept_, b0) and np.any(b0 != 0)


# ------------------------------------------------------------------ the group prior


def _group_prediction(enc, ep):
    """mean_s decode_s(zbar) through the frozen module itself: (S+1, T, C) -> (T, C)."""
    m = enc.net_.module_
    S, T = ep.shape[0] - 1, ep.shape[1]
    mean, scale = enc.scaling_[:2]
    x = ((ep[:S] - mean[:, None]) / scale[:, None, None]).astype(np.float32)  # as trained
    with torch.no_grad():
        z = m.encode(torch.from_numpy(x), 1, T)  # (S, T, D)
        if m.norm is not None:
            z = m.norm(z)
        zbar = z.double().mean(0, keepdim=True).float().expand(S, T, -1).contiguous()
        return m.decode(zbar, 1, T).double().mean(0).numpy()  # (T, C)


def _group_prior_numpy(enc):
    """W0 (D, C) and b0 (C,) of a decoder-kernel-free model, by hand."""
    m = enc.net_.module_
    w = m.shared_decoder_weight.detach().double().numpy() \
        + m.subject_decoder_weight.detach().double().numpy()  # (S, C, D)
    b = m.shared_decoder_bias.detach().double().numpy() \
        + m.subject_decoder_bias.detach().double().numpy()  # (S, C)
    return w.mean(0).T, b.mean(0)


@pytest.mark.parametrize("which", ["linear_encoder", "conv_decoder_encoder", "causal_encoder"])
def test_with_zero_data_the_prediction_is_the_group_prior(request, data, which):
    train, val = data
    enc = request.getfixturevalue(which)
    for empty in ([ep[:, :0] for ep in train[:2]], np.zeros((1, 4, 0, 48), np.float32)):
        adder = SubjectAdder(enc).fit(empty)
        assert adder.n_samples_ == 0 and adder.cv_scores_ is None
        assert adder.scale_ == float("inf") and adder.prior_weight_ == 1.0
        assert adder.alpha_ is None and np.all(np.isinf(adder.strengths_))
        assert adder.kernel_.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
        for ep, p in zip(val, adder.predict(val), strict=True):
            np.testing.assert_allclose(p[3], _group_prediction(enc, ep), rtol=1e-4, atol=1e-5)
    if which == "linear_encoder":  # the prior by hand
        w0, b0 = _group_prior_numpy(enc)
        np.testing.assert_allclose(adder.prior_coef_, w0, rtol=1e-12)
        np.testing.assert_allclose(adder.prior_intercept_, b0, rtol=1e-12)
    # An overwhelming pull toward the whole prior gives its map whatever the data.
    far = SubjectAdder(enc, alpha=1e12, prior_weight=1.0, **TODAY).fit(train)
    np.testing.assert_allclose(far.decoder_coef_, far.prior_coef_, rtol=1e-4, atol=1e-6)


def test_the_prior_needs_the_decoders_delays(conv_decoder_encoder, linear_encoder, data):
    train, val = data
    with pytest.raises(ValueError, match=r"delays=\(0,\) lacks the delays \[-1, 1\] that "
                                         r"the fitted decoders' kernel reads"):
        SubjectAdder(conv_decoder_encoder, delays=(0,)).fit(train)
    assert SubjectAdder(conv_decoder_encoder).fit(train).delays_ == (-1, 0, 1)
    # A temporal kernel for the newcomer: more delays, the prior zero outside lag 0.
    wide = SubjectAdder(linear_encoder, delays=(1, 0, -1)).fit([ep[:, :0] for ep in train])
    D = linear_encoder.net_.module_.embed_dim
    assert wide.decoder_coef_.shape == (3 * D, 48)
    assert not wide.prior_coef_[:D].any() and not wide.prior_coef_[2 * D:].any()
    for ep, p in zip(val, wide.predict(val), strict=True):
        np.testing.assert_allclose(p[3], _group_prediction(linear_encoder, ep), rtol=1e-4,
                                   atol=1e-5)


def _pearson_by_hand(y, p):
    """Pearson r per column, 0 where a column is constant: (T, C), (T, C) -> (C,)."""
    yc, pc = y - y.mean(0), p - p.mean(0)
    den = np.sqrt((yc**2).sum(0) * (pc**2).sum(0))
    return np.where(den > 0, (yc * pc).sum(0) / np.where(den > 0, den, 1.0), 0.0)


def _cv_by_hand(X, Y, folds, w0, alphas, weights):
    """Mean over folds of the held-out mean Pearson r of each (weight, alpha): (G, A)."""
    out = np.zeros((len(weights), len(alphas)))
    for tr, te in folds:
        mx, my = X[tr].mean(0), Y[tr].mean(0)
        xc, yc = X[tr] - mx, Y[tr] - my
        for i, w in enumerate(weights):
            for a, alpha in enumerate(alphas):
                W = np.linalg.solve(xc.T @ xc + alpha * np.eye(X.shape[1]),
                                    xc.T @ yc + alpha * w * w0)
                pred = X[te] @ W + (my - mx @ W)
                out[i, a] += _pearson_by_hand(Y[te], pred).mean() / len(folds)
    return out


@pytest.mark.parametrize("case", ["one run cut in pieces", "runs as folds"])
def test_cv_choice_equals_a_fold_by_fold_hand_computation(linear_encoder, data, case):
    train, _ = data
    alphas, weights = (0.3, 10.0, 300.0, 1e4), (0.0, 0.5, 1.0)
    if case == "one run cut in pieces":
        eps, cv, gap = [train[0]], 5, 2
        T = train[0].shape[1]
        folds = []
        for piece in np.array_split(np.arange(T), 5):
            near = np.arange(max(0, piece[0] - gap), min(T, piece[-1] + 1 + gap))
            folds.append((np.setdiff1d(np.arange(T), near), piece))
    else:
        eps, cv, gap = train[:6], 3, 2
        starts = np.cumsum([0] + [ep.shape[1] for ep in eps])
        rows = [np.arange(starts[e], starts[e + 1]) for e in range(6)]
        groups = [(0, 1), (2, 3), (4, 5)]
        folds = [(np.concatenate([rows[e] for g in groups if g != held for e in g]),
                  np.concatenate([rows[e] for e in held])) for held in groups]
    X = np.concatenate([_latents(linear_encoder, ep[:3]).mean(0) for ep in eps])  # (n, D)
    adder = SubjectAdder(linear_encoder, alphas=alphas, prior_weights=weights, cv=cv,
                         gap=gap, **TODAY).fit(eps)
    Y = _new(adder, np.concatenate([ep[3] for ep in eps]).astype(np.float64))  # (n, C)
    w0, _ = _group_prior_numpy(linear_encoder)
    expected = _cv_by_hand(X, Y, folds, w0, alphas, weights)
    np.testing.assert_allclose(adder.cv_scores_[0, 0], expected, rtol=1e-6, atol=1e-8)
    i, a = np.unravel_index(np.argmax(expected), expected.shape)
    assert (adder.prior_weight_, adder.alpha_) == (weights[i], alphas[a])
    xc, yc = X - X.mean(0), Y - Y.mean(0)
    W = np.linalg.solve(xc.T @ xc + alphas[a] * np.eye(X.shape[1]),
                        xc.T @ yc + alphas[a] * weights[i] * w0)  # the refit on all the data
    np.testing.assert_allclose(adder.decoder_coef_, W, rtol=1e-4, atol=1e-6)


def _todays_blocks(feats, news, cv, gap):
    """The statistics blocks exactly as SubjectAdder built them before issue 30."""
    lengths = [x.shape[0] for x in feats]
    block_of, fold_train, fold_test = split_blocks(cv_row_splits(lengths, cv, gap), sum(lengths))
    blocks = [RidgeStats.zeros(feats[0].shape[1], news[0].shape[1], np.float64)
              for _ in range(int(block_of.max()) + 1)]
    start = 0
    for x, y in zip(feats, news, strict=True):
        ids = block_of[start:start + x.shape[0]]
        for b in np.unique(ids):
            blocks[b].add(x[ids == b], y[ids == b])
        start += x.shape[0]
    return blocks, fold_train, fold_test


@pytest.mark.parametrize("which", ["linear_encoder", "conv_decoder_encoder"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_a_single_tap_with_todays_penalty_is_todays_method_bit_for_bit(request, data, which,
                                                                        fit_intercept):
    """Issue 30: kernel (0,) and the isotropic penalty reproduce the method before it,
    computed here by its own functions (prior_ridge_cv, solve_toward_prior), exactly."""
    train, val = data
    enc = request.getfixturevalue(which)
    adder = SubjectAdder(enc, fit_intercept=fit_intercept, **TODAY).fit(train)
    module = enc.net_.module_
    delays = prior_delays(module)
    w0, b0 = group_prior(module, delays)
    feats = [delay_features(SubjectAdder._latents(enc, ep[:3]).double().mean(0).numpy(),
                            delays) for ep in train]
    news = [_new(adder, ep[3].astype(np.float64)) for ep in train]  # in its own units
    blocks, ftr, fte = _todays_blocks(feats, news, 5, 3)
    coef, icpt, alpha, weight, cv = prior_ridge_cv(blocks, ftr, fte, w0, b0, DEFAULT_ALPHAS,
                                                   PRIOR_WEIGHTS, fit_intercept=fit_intercept)
    assert np.array_equal(adder.decoder_coef_, coef)
    assert np.array_equal(adder.decoder_intercept_, icpt)
    assert np.array_equal(adder.cv_scores_, cv[None, None])
    assert (adder.alpha_, adder.prior_weight_) == (alpha, weight)
    assert adder.kernel_.tolist() == [1.0] and adder.scale_ is None
    for ep, p in zip(val, adder.predict(val), strict=True):
        zbar = SubjectAdder._latents(enc, ep[:3]).double().mean(0).numpy()
        assert np.array_equal(p[3], _back(adder, delay_features(zbar, delays) @ coef + icpt)
                              .astype(np.float32))
    fixed = SubjectAdder(enc, alpha=30.0, prior_weight=0.5, fit_intercept=fit_intercept,
                         **TODAY).fit(train)
    c2, i2 = solve_toward_prior(ridge_stats(feats, news), 0.5 * w0, b0, 30.0,
                                fit_intercept=fit_intercept)
    assert np.array_equal(fixed.decoder_coef_, c2) and np.array_equal(fixed.decoder_intercept_, i2)


@pytest.mark.parametrize("which", ["linear_encoder", "conv_decoder_encoder", "causal_encoder"])
def test_each_fitted_subjects_decoder_averages_to_the_group_prior(request, which):
    module = request.getfixturevalue(which).net_.module_
    delays = prior_delays(module)
    each = subject_decoders(module, delays)  # (S, P, C)
    np.testing.assert_allclose(each.mean(0), group_prior(module, delays)[0], rtol=1e-12,
                               atol=1e-14)
    if which == "linear_encoder":  # by hand: shared plus own decoder, transposed
        by_hand = module.shared_decoder_weight.detach().double().numpy() \
            + module.subject_decoder_weight.detach().double().numpy()  # (S, C, D)
        np.testing.assert_allclose(each, by_hand.transpose(0, 2, 1), rtol=1e-12)


def test_the_kernel_filters_the_latent_the_decoder_reads(linear_encoder, data):
    """The newcomer's prediction written out: sum_k h_k zbar_{t - e_k} W + b."""
    train, val = data
    taps = (-2, -1, 0, 1, 2)
    adder = SubjectAdder(linear_encoder, kernel_delays=taps).fit(train)
    assert adder.cv_scores_.shape == (2, 2, 5, 14) and adder.kernel_.sum() == pytest.approx(1.0)
    forced = SubjectAdder(linear_encoder, kernel_delays=taps, scale=1.0).fit(train)
    for fitted in (adder, forced):
        for ep, p in zip(val, fitted.predict(val), strict=True):
            zbar = _latents(linear_encoder, ep[:3]).mean(0)  # (T, D)
            filt = sum(h * delay_features(zbar, (e,)) for h, e in zip(fitted.kernel_, taps,
                                                                     strict=True))
            np.testing.assert_allclose(p[3], _back(fitted, filt @ fitted.decoder_coef_
                                                   + fitted.decoder_intercept_),
                                       rtol=1e-4, atol=1e-5)


def test_cv_over_runs_matches_grid_search(linear_encoder, data):
    train, _ = data
    alphas = [1.0, 30.0, 1e3, 1e5]
    adder = SubjectAdder(linear_encoder, prior_weight=0.5, alphas=alphas, cv=3,
                         **TODAY).fit(train[:6])
    search = GridSearchCV(SubjectAdder(linear_encoder, prior_weight=0.5, **TODAY),
                          {"alpha": alphas},
                          cv=KFold(3), scoring=lambda est, X, y=None: est.score_map(X)[-1].mean())
    search.fit(train[:6])
    # The closed form standardises the new subject once, on all the data; each fit of the
    # search on its fold's training runs: the prior's pull differs by that much.
    np.testing.assert_allclose(adder.cv_scores_[0, 0, 0], search.cv_results_["mean_test_score"],
                               rtol=1e-5, atol=1e-4)
    assert adder.alpha_ == search.best_params_["alpha"]


def test_too_little_data_for_the_folds_is_named(linear_encoder, data):
    train, _ = data
    with pytest.raises(ValueError, match="3 time points are too few to cut into 5 folds"):
        SubjectAdder(linear_encoder).fit([train[0][:, :3]])
    with pytest.raises(ValueError, match="a cross-validation fold has no training or no "
                                         "validation time points; give more data, fewer "
                                         "folds or a smaller gap"):
        SubjectAdder(linear_encoder, gap=10).fit([train[0][:, :10]])
    # A fixed strength and weight need no folds.
    fixed = SubjectAdder(linear_encoder, alpha=10.0, prior_weight=1.0, **TODAY).fit(
        [train[0][:, :3]])
    assert fixed.cv_scores_ is None and fixed.n_samples_ == 3


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
    for name, bad, allowed in (
            ("alpha", 0.0, "a number > 0 or one of 'cv'"), ("alpha", -1, None),
            ("alpha", "big", None), ("encoder_alpha", float("nan"), "a number > 0"),
            ("prior_weight", 1.5, "a number in \\[0, 1\\] or one of 'cv'"),
            ("gap", -1, "an integer >= 0"), ("fit_encoder", "no", "True or False")):
        allowed = allowed or "a number > 0 or one of 'cv'"
        with pytest.raises(ValueError, match=f"SubjectAdder: {name} must be {allowed}; got "
                                             f"{bad!r}"):
            SubjectAdder(conv_encoder, **{name: bad}).fit(train)
    with pytest.raises(ValueError, match=r"prior_weights must be a non-empty sequence of "
                                         r"numbers in \[0, 1\]; got \[0.5, 2\]"):
        SubjectAdder(conv_encoder, prior_weights=[0.5, 2]).fit(train)
    with pytest.raises(ValueError, match=r"alphas must be finite and > 0; got \[0.0\]"):
        SubjectAdder(conv_encoder, alphas=[0.0]).fit(train)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SubjectAdder(conv_encoder).predict(train)


def test_kernel_and_empirical_bayes_parameter_errors(conv_encoder, data):
    train, _ = data
    for name, bad, allowed in (
            ("prior", "flat", "one of 'empirical_bayes', 'isotropic'"),
            ("kernel", "always", "one of 'cv', 'fitted'"),
            ("shrinkage", 2.0, "a number in \\[0, 1\\] or one of 'cv'")):
        with pytest.raises(ValueError, match=f"SubjectAdder: {name} must be {allowed}; got "
                                             f"{bad!r}"):
            SubjectAdder(conv_encoder, **{name: bad}).fit(train)
    with pytest.raises(ValueError, match=r"kernel_delays must include 0 \(the identity "
                                         r"kernel\); got \(1, 2\)"):
        SubjectAdder(conv_encoder, kernel_delays=(1, 2)).fit(train)
    with pytest.raises(ValueError, match=r"scales must be a non-empty sequence of numbers > 0 "
                                         r"\(inf: no refinement\); got \[1.0, -1\]"):
        SubjectAdder(conv_encoder, scales=[1.0, -1]).fit(train)
    with pytest.raises(ValueError, match=r"scale must be a number > 0 \(inf: no refinement\) "
                                         r"or 'cv'; got 0"):
        SubjectAdder(conv_encoder, scale=0).fit(train)
    with pytest.raises(ValueError, match=r"shrinkages must be a non-empty sequence of numbers "
                                         r"in \[0, 1\]; got \(\)"):
        SubjectAdder(conv_encoder, shrinkages=()).fit(train)
    # Without subject-specific decoders the subjects cannot differ: nothing to estimate.
    shared = CrossSubjectEncoder(subject_specific=False, encoder_kernel_size=0, **TINY).fit(
        [ep[:3] for ep in train])
    with pytest.raises(ValueError, match="the fitted subjects' decoders are all equal .* use "
                                         "prior='isotropic'"):
        SubjectAdder(shared).fit(train)
    assert SubjectAdder(shared, prior="isotropic").fit(train).alpha_ > 0


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
    search = GridSearchCV(SubjectAdder(enc, prior_weight=0.0, **TODAY), {"alpha": alphas},
                          cv=KFold(3)).fit(train)
    # The same scores by hand: fit on the training folds, score on the held-out fold.
    by_hand = []
    for alpha in alphas:
        folds = [SubjectAdder(conv_encoder, alpha=alpha, prior_weight=0.0, **TODAY)
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
    lines = table.splitlines()  # head, rule, one row per budget: plain text, no escapes
    assert len(lines) == 4 and set(lines[1]) == {"-"} and "\\" not in table
    assert lines[2].split()[:3] == ["1", "min", "40"] and lines[3].split()[0] == "all"

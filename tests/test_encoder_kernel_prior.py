"""The newcomer's temporal kernel and the empirical-Bayes prior (encoder/_kernel_prior.py),
against closed forms and independent computations on small synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_crossenc.encoder._kernel_prior import (
    EB_SCALES,
    Penalty,
    eb_prior,
    fit_kernel,
    kernel_filter,
    kernel_prior_cv,
    union_delays,
)
from sklearn_crossenc.solvers import delay_features, ridge_stats

TAPS = (-2, -1, 0, 1, 2)


def _shifted(z, e):
    """``z`` delayed by ``e`` (positive: the past), zero-padded, written out: (T, D)."""
    out = np.zeros_like(z)
    for t in range(z.shape[0]):
        if 0 <= t - e < z.shape[0]:
            out[t] = z[t - e]
    return out


def _episodes(rng, lengths=(150, 130), D=6):
    """Smooth latents, one (T, D) per episode."""
    out = []
    for T in lengths:
        white = rng.standard_normal((T + 4, D))
        out.append(white[4:] + white[3:-1] + 0.5 * white[2:-2])  # (T, D): a slow signal
    return out


def _kernel_by_hand(zs, ys, w0, taps):
    """Least squares of the centred newcomer on the centred shifted group predictions,
    every parcel stacked into one column; normalised to unit sum: (K,)."""
    cols = [np.concatenate([_shifted(z, e) @ w0 for z in zs]) for e in taps]  # K x (n, C)
    y = np.concatenate(ys)
    A = np.stack([(c - c.mean(0)).ravel() for c in cols], axis=1)  # (n C, K)
    h = np.linalg.lstsq(A, (y - y.mean(0)).ravel(), rcond=None)[0]
    return h / h.sum()


def test_the_kernel_recovers_a_known_lag_and_matches_least_squares_by_hand():
    rng = np.random.default_rng(0)
    zs = _episodes(rng)
    D, C = 6, 30
    w0 = rng.standard_normal((D, C))
    truth = np.array([0.0, 0.0, 0.25, 0.75, 0.0])  # mostly one TR late
    w_new = w0 + 0.3 * rng.standard_normal((D, C))  # the newcomer's own decoder differs
    ys = [sum(h * _shifted(z, e) for h, e in zip(truth, TAPS, strict=True)) @ w_new + 2.0
          + 0.5 * rng.standard_normal((z.shape[0], C)) for z in zs]
    union = union_delays((0,), TAPS)
    stats = ridge_stats([delay_features(z, union) for z in zs], ys)
    h = fit_kernel(stats, w0, (0,), TAPS, union)
    np.testing.assert_allclose(h, _kernel_by_hand(zs, ys, w0, TAPS), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h, truth, atol=0.05)
    assert h.sum() == pytest.approx(1.0)
    # No lag: the identity comes back; a kernel whose taps sum to <= 0 is refused.
    ys0 = [z @ w_new + 0.5 * rng.standard_normal((z.shape[0], C)) for z in zs]
    h0 = fit_kernel(ridge_stats([delay_features(z, union) for z in zs], ys0), w0, (0,), TAPS,
                    union)
    np.testing.assert_allclose(h0, [0, 0, 1, 0, 0], atol=0.05)
    neg = [-y for y in ys]
    assert fit_kernel(ridge_stats([delay_features(z, union) for z in zs], neg), w0, (0,), TAPS,
                      union).tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_the_filter_is_the_kernel_applied_to_the_latent_then_delayed():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((20, 3))
    delays, taps, h = (-1, 0, 1), (-1, 0, 2), np.array([0.2, 0.5, 0.3])
    union = union_delays(delays, taps)
    H = kernel_filter(h, delays, taps, union, 3)
    by_hand = np.concatenate([sum(hk * _shifted(z, d + e) for hk, e in zip(h, taps,
                                                                            strict=True))
                              for d in delays], axis=1)  # (T, len(delays) * D)
    np.testing.assert_allclose(delay_features(z, union) @ H, by_hand, rtol=1e-12)


def _eb_by_hand(decoders, w0):
    """Sigma (trace P) and tau_c^2 written with loops."""
    S, P, C = decoders.shape
    sigma = np.zeros((P, P))
    for s in range(S):
        for c in range(C):
            d = decoders[s, :, c] - w0[:, c]
            sigma += np.outer(d, d)
    sigma /= C * (S - 1)
    sigma *= P / np.trace(sigma)
    inv = np.linalg.inv(sigma)
    tau2 = np.array([sum((decoders[s, :, c] - w0[:, c]) @ inv @ (decoders[s, :, c] - w0[:, c])
                         for s in range(S)) / ((S - 1) * P) for c in range(C)])
    return sigma, tau2


def test_the_empirical_bayes_spread_against_loops():
    rng = np.random.default_rng(2)
    S, P, C = 4, 5, 9
    spread = np.linspace(0.5, 3.0, C)  # parcels whose subjects differ more and more
    mix = np.eye(P) + 0.3 * rng.standard_normal((P, P))  # well conditioned: no floor
    decoders = rng.standard_normal((1, P, C)) + spread * np.einsum(
        "pq,sqc->spc", mix, rng.standard_normal((S, P, C)))
    w0 = decoders.mean(0)
    L, tau2 = eb_prior(decoders, w0)
    sigma, tau2_hand = _eb_by_hand(decoders, w0)
    np.testing.assert_allclose(L @ L.T, sigma, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tau2, tau2_hand, rtol=1e-10)
    assert np.corrcoef(tau2, spread**2)[0, 1] > 0.8
    # Shrunk all the way, Sigma is the identity and tau_c^2 the mean squared deviation.
    L1, tau1 = eb_prior(decoders, w0, shrink=1.0)
    np.testing.assert_allclose(L1 @ L1.T, np.eye(P), atol=1e-12)
    np.testing.assert_allclose(tau1, ((decoders - w0) ** 2).sum((0, 1)) / ((S - 1) * P))
    with pytest.raises(ValueError, match="decoders are all equal .* use prior='isotropic'"):
        eb_prior(np.repeat(w0[None], 3, axis=0), w0)


def _posterior_mean(X, Y, w0, sigma, lams, centre=True):
    """Per parcel: (Xc^T Xc + lam_c Sigma^-1)^-1 (Xc^T yc + lam_c Sigma^-1 w0_c), intercept."""
    xc, yc = (X - X.mean(0), Y - Y.mean(0)) if centre else (X, Y)
    inv = np.linalg.inv(sigma)
    W = np.stack([np.linalg.solve(xc.T @ xc + lam * inv, xc.T @ yc[:, c] + lam * inv @ w0[:, c])
                  if np.isfinite(lam) else w0[:, c] for c, lam in enumerate(lams)], axis=1)
    return W, (Y.mean(0) - X.mean(0) @ W) if centre else np.zeros(Y.shape[1])


def _noise_by_hand(X, Y, w0, centre=True):
    """Residual variance per parcel of X w0 plus the best intercept (or none)."""
    r = Y - X @ w0
    return (((r - r.mean(0)) if centre else r) ** 2).mean(0)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("scale", [0.3, 20.0, float("inf")])
def test_the_empirical_bayes_fit_is_the_posterior_mean_with_the_stated_strengths(scale,
                                                                                fit_intercept):
    rng = np.random.default_rng(3)
    n, P, C, S = 60, 4, 7, 3
    X = rng.standard_normal((n, P))
    decoders = rng.standard_normal((S, P, C)) * np.linspace(0.2, 2.0, C)
    w0 = decoders.mean(0)
    Y = X @ (w0 + rng.standard_normal((P, C))) + rng.standard_normal((n, C)) * np.arange(1, C + 1)
    L, tau2 = eb_prior(decoders, w0)
    b0 = np.linspace(-1.0, 1.0, C)  # the group's intercept: kept as is without intercept
    fit = kernel_prior_cv([ridge_stats([X], [Y])], [], [], w0, b0,
                          Penalty([scale], (1.0,), L, tau2), (0,), (0,), ("identity",),
                          fit_intercept=fit_intercept)
    Yt = Y if fit_intercept else Y - b0
    lams = scale * _noise_by_hand(X, Yt, w0, fit_intercept) / tau2  # the formula, by hand
    np.testing.assert_allclose(fit["lams"], lams, rtol=1e-10)
    W, b = _posterior_mean(X, Yt, w0, L @ L.T, lams, fit_intercept)
    np.testing.assert_allclose(fit["coef"], W, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit["intercept"], b if fit_intercept else b0, rtol=1e-8,
                               atol=1e-10)
    assert fit["cv_scores"] is None and fit["which"] == "identity"


def _pearson(y, p):
    yc, pc = y - y.mean(0), p - p.mean(0)
    den = np.sqrt((yc**2).sum(0) * (pc**2).sum(0))
    return np.where(den > 0, (yc * pc).sum(0) / np.where(den > 0, den, 1.0), 0.0)


def test_cv_over_kernels_and_scales_equals_a_fold_by_fold_hand_computation():
    """Every fold by hand: the kernel from the training rows' explicit shifted predictions,
    the filtered latent, the noise variance, the per-parcel posterior mean, the held-out r."""
    rng = np.random.default_rng(4)
    zs = _episodes(rng, lengths=(70, 60, 50), D=4)
    D, C, S = 4, 12, 3
    decoders = rng.standard_normal((S, D, C)) * np.linspace(0.3, 1.5, C)
    w0 = decoders.mean(0)
    ys = [0.3 * _shifted(z, 0) @ w0 + 0.7 * _shifted(z, 1) @ (w0 + 0.5 * decoders[0])
          + 1.5 * rng.standard_normal((z.shape[0], C)) for z in zs]
    union = union_delays((0,), TAPS)
    blocks = [ridge_stats([delay_features(z, union)], [y]) for z, y in zip(zs, ys, strict=True)]
    folds = [([1, 2], [0]), ([0, 2], [1]), ([0, 1], [2])]
    scales = np.array([0.1, 3.0, 100.0, np.inf])
    L, tau2 = eb_prior(decoders, w0)
    fit = kernel_prior_cv(blocks, [f[0] for f in folds], [f[1] for f in folds], w0,
                          np.zeros(C), Penalty(scales, (1.0,), L, tau2), (0,), TAPS)
    expected = np.zeros((2, 1, 1, scales.size))
    for tr, te in folds:
        for j, which in enumerate(("identity", "fitted")):
            h = (np.array([0, 0, 1.0, 0, 0]) if which == "identity"
                 else _kernel_by_hand([zs[i] for i in tr], [ys[i] for i in tr], w0, TAPS))
            filt = [sum(hk * _shifted(z, e) for hk, e in zip(h, TAPS, strict=True)) for z in zs]
            Xtr, Ytr = np.concatenate([filt[i] for i in tr]), np.concatenate([ys[i] for i in tr])
            Xte, Yte = np.concatenate([filt[i] for i in te]), np.concatenate([ys[i] for i in te])
            lams_unit = _noise_by_hand(Xtr, Ytr, w0) / tau2
            for a, scale in enumerate(scales):
                W, b = _posterior_mean(Xtr, Ytr, w0, L @ L.T, scale * lams_unit)
                expected[j, 0, 0, a] += _pearson(Yte, Xte @ W + b).mean() / len(folds)
    np.testing.assert_allclose(fit["cv_scores"], expected, rtol=1e-7, atol=1e-9)
    j, _, _, a = np.unravel_index(np.argmax(expected), expected.shape)
    assert (fit["which"], fit["strength"]) == (("identity", "fitted")[j], scales[a])
    assert fit["which"] == "fitted"  # the lag is there to be found


def test_the_default_scales_span_the_grid_the_issue_asks_for():
    assert EB_SCALES[0] == pytest.approx(1e-2) and EB_SCALES[-2] == pytest.approx(1e4)
    assert EB_SCALES[-1] == float("inf") and len(EB_SCALES) == 14

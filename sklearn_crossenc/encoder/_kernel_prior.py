"""The newcomer's temporal kernel and the empirical-Bayes prior, CV in closed form: pure arrays.

:class:`~sklearn_crossenc.encoder.SubjectAdder` predicts a newcomer from the frozen
leave-one-out latent ``zbar`` (with the delayed copies its decoders read, ``delays``).
Subjects differ most systematically in their haemodynamic lag, which the decoder alone
cannot learn. Two additions, both fitted from sufficient statistics:

**A temporal kernel** ``h`` over a few taps (``kernel_delays``, default -2 .. 2 TRs, positive
= the past) shared by every parcel: the newcomer's decoder reads the *filtered* latent
``x_t = sum_k h_k zbar_{t - e_k}``. ``h`` is the least-squares fit of the newcomer's
(centred) data by the group's shifted predictions ``g_{t - e_k} = zbar_{t - e_k} W0``, pooled
over parcels (``K`` unknowns from ``T x C`` values)::

    A_kl = <Xc_k^T Xc_l, W0 W0^T>,   b_k = <Xc_k^T Yc, W0>,   h = A^-1 b,   h <- h / sum(h)

(``Xc_k``: the centred latent delayed by ``e_k``; every term is a block of the Gram matrix of
the latent delayed by every ``d + e_k``, accumulated once.) The unit sum keeps the slow
signal's scale, so that ``W0`` stays the prior of the filtered latent; a kernel whose taps
sum to <= 0 is replaced by the identity. The filtered statistics are a linear map of the
accumulated ones (``F^T X^T X F``), so no data is read twice.

**An empirical-Bayes prior**: the fitted subjects' decoders ``W_s`` scatter around their
average ``W0``; the newcomer's decoder is taken as one more draw,
``W[:, c] ~ N(W0[:, c], tau_c^2 Sigma)``, with ``Sigma`` (trace ``P``) the shape of that
scatter pooled over parcels and ``tau_c^2`` its size in parcel ``c``. The posterior mean
under noise of variance ``sigma_c^2`` is the ridge toward ``W0`` with the penalty
``lambda_c (W - W0)^T Sigma^-1 (W - W0)``, ``lambda_c = sigma_c^2 / tau_c^2``. ``sigma_c^2`` is
estimated on the newcomer's minutes (the residual variance of the group's prediction of the
filtered latent); one scale ``kappa`` multiplies every ``lambda_c`` and is chosen by CV from
a wide grid that also holds ``kappa = inf``, no refinement at all (the prior itself). In
whitened coordinates ``W = L U`` (``Sigma = L L^T``) the penalty is ``lambda_c ||U - U0||^2``:
one ``eigh`` per fold and kernel serves every scale and parcel.

The penalty of :func:`sklearn_crossenc.solvers.solve_toward_prior` (``alpha ||W - w W0||^2``,
``Sigma = I``, the same ``lambda`` in every parcel, a prior weight ``w``) is the other choice
(``prior="isotropic"``); with the single tap ``(0,)`` it reproduces
:func:`sklearn_crossenc.solvers.prior_ridge_cv`. Both are scored by the ridge's own fold
scoring, :func:`sklearn_crossenc.solvers.ridge_fold_scores` with ``prior=``.
"""

from __future__ import annotations

import numpy as np

from ..ridge._folds import cv_row_splits
from ..solvers import (
    EMPTY_FOLD,
    RidgeStats,
    centred_train,
    ridge_fold_scores,
    shift_targets,
    shrunk_solve,
    split_blocks,
    sum_stats,
)

__all__ = ["KERNEL_DELAYS", "EB_SCALES", "union_delays", "kernel_filter", "fit_kernel",
           "eb_prior", "Penalty", "kernel_prior_cv", "subject_decoders", "episode_blocks",
           "read_map"]

#: The temporal kernel's taps by default (TRs; positive: the past).
KERNEL_DELAYS = (-2, -1, 0, 1, 2)
#: Scales of the empirical-Bayes strengths searched by default: 1e-2 .. 1e4 in half
#: decades, and ``inf`` (no refinement: the prior itself).
EB_SCALES = tuple(float(s) for s in np.logspace(-2, 4, 13)) + (float("inf"),)
#: Eigenvalues of the prior's covariance are floored at this fraction of their mean, so
#: that a direction the fitted decoders never vary in is pinned hard but not infinitely.
_EIG_FLOOR = 1e-3


def union_delays(delays, kernel_delays) -> tuple[int, ...]:
    """Every ``d + e`` (decoder delay ``d``, kernel tap ``e``), sorted.

    Examples
    --------
    >>> union_delays((0,), (-1, 0, 1)), union_delays((-1, 0, 1), (0, 2))
    ((-1, 0, 1), (-1, 0, 1, 2, 3))
    """
    return tuple(sorted({int(d) + int(e) for d in delays for e in kernel_delays}))


def _tap_rows(delays, kernel_delays, union, D: int) -> list[np.ndarray]:
    """Per tap ``e_k``: the rows of the union design holding the decoder's features
    shifted by ``e_k`` (delay ``d + e_k`` for each decoder delay ``d``), (P,) each."""
    pos = {u: i for i, u in enumerate(union)}
    return [np.concatenate([pos[d + e] * D + np.arange(D) for d in delays])
            for e in kernel_delays]


def kernel_filter(kernel, delays, kernel_delays, union, D: int) -> np.ndarray:
    """The matrix ``H`` (len(union) * D, len(delays) * D) with ``x_union @ H`` the decoder's
    features of the filtered latent: block ``d`` is ``sum_k h_k zbar_{t - d - e_k}``."""
    P = len(delays) * D
    H = np.zeros((len(union) * D, P))  # (P_U, P)
    for h, rows in zip(kernel, _tap_rows(delays, kernel_delays, union, D), strict=True):
        H[rows, np.arange(P)] += h
    return H


def read_map(kernel, coef, delays, kernel_delays, D: int):
    """The delays a prediction reads and the decoder as a map of them, the kernel folded
    in: ``(union, H @ coef)``, (len(union) * D, C); ``coef`` itself without a kernel."""
    union = union_delays(delays, kernel_delays)
    if union == tuple(delays) and list(kernel) == [1.0]:
        return union, coef
    return union, kernel_filter(kernel, delays, kernel_delays, union, D) @ coef


def identity_kernel(kernel_delays) -> np.ndarray:
    """The kernel that leaves the latent as it is: 1 at tap 0, (K,)."""
    return np.array([1.0 if e == 0 else 0.0 for e in kernel_delays])


def fit_kernel(stats: RidgeStats, prior_coef, delays, kernel_delays, union, *,
               fit_intercept: bool = True) -> np.ndarray:
    """The temporal kernel (K,) fitted by the group's shifted predictions (module docstring).

    ``stats`` are those of the union design (targets already shifted by the prior's
    intercept when ``fit_intercept=False``). Returns the identity kernel when the taps
    sum to <= 0 or the normal equations are singular.
    """
    w0 = np.asarray(prior_coef, dtype=np.float64)  # (P, C)
    D = w0.shape[0] // len(delays)
    xx, xy, _, _ = centred_train(stats, fit_intercept)  # (P_U, P_U), (P_U, C)
    rows = _tap_rows(delays, kernel_delays, union, D)
    ww = w0 @ w0.T  # (P, P)
    A = np.array([[np.sum(xx[np.ix_(r, q)] * ww) for q in rows] for r in rows])  # (K, K)
    b = np.array([np.sum(xy[r] * w0) for r in rows])  # (K,)
    try:
        h = np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        return identity_kernel(kernel_delays)
    total = h.sum()
    if not np.isfinite(total) or total <= 1e-12 * np.abs(h).sum():
        return identity_kernel(kernel_delays)
    return h / total


def subject_decoders(module, delays) -> np.ndarray:
    """Each fitted subject's decoder as a map of the delayed latent, (S, len(delays) * D, C).

    Their mean is :func:`._prior_ridge.group_prior`'s ``coef`` (same conventions).
    """
    from ._prior_ridge import group_prior  # the delays are checked there

    group_prior(module, delays)

    def get(name):
        p = getattr(module, name)
        return None if p is None else p.detach().cpu().double().numpy()

    S, C, D = module.num_subjects, module.fmri_dim, module.embed_dim
    pos = {d: i for i, d in enumerate(delays)}
    out = np.zeros((S, len(delays) * D, C))  # (S, P, C)
    w_sh, w_s = get("shared_decoder_weight"), get("subject_decoder_weight")  # (C,D), (S,C,D)
    zero = slice(pos[0] * D, (pos[0] + 1) * D)
    if w_sh is not None:
        out[:, zero] += w_sh.T
    if w_s is None:
        return out
    if not module.dec_conv:
        out[:, zero] += np.transpose(w_s, (0, 2, 1))
        return out
    conv_w = get("decoder_conv_weight") * get("decoder_causal_mask")  # (S, D, K)
    left = (int(module.decoder_kernel_size) - 1) // 2
    for k in range(conv_w.shape[2]):
        if np.any(conv_w[:, :, k]):  # conv(e)[t] reads e[t + k - left]: delay left - k
            i = pos[left - k]
            out[:, i * D:(i + 1) * D] += np.einsum("sd,scd->sdc", conv_w[:, :, k], w_s)
    return out


def eb_prior(decoders, prior_coef, shrink: float = 0.0):
    """The empirical-Bayes prior's whitening and per-parcel spread.

    Parameters
    ----------
    decoders : ndarray of shape (S, P, C)
        The fitted subjects' decoders (:func:`subject_decoders`).
    prior_coef : ndarray of shape (P, C)
        Their mean ``W0``.
    shrink : float in [0, 1], default=0
        ``Sigma`` is shrunk toward the identity: ``(1 - shrink) Sigma + shrink I`` (both of
        trace ``P``); 1 gives the same penalty in every direction.

    Returns
    -------
    L : ndarray of shape (P, P)
        ``Sigma = L L^T`` (trace ``P``), the pooled shape of ``W_s - W0``.
    tau2 : ndarray of shape (C,)
        ``tau_c^2 = sum_s ||L^-1 (W_s - W0)[:, c]||^2 / ((S - 1) P)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((3, 2, 4)) * np.array([1.0, 2.0, 3.0, 4.0])
    >>> L, tau2 = eb_prior(W, W.mean(0))
    >>> L.shape, tau2.shape, bool(np.all(np.diff(tau2) > 0))
    ((2, 2), (4,), True)
    """
    dev = np.asarray(decoders, np.float64) - np.asarray(prior_coef, np.float64)  # (S, P, C)
    S, P, C = dev.shape
    if S < 2 or not np.any(dev):
        raise ValueError(
            "the fitted subjects' decoders are all equal (one subject, or no subject-specific "
            "decoders): there is no spread to estimate an empirical-Bayes prior from; use "
            "prior='isotropic'.")
    sigma = np.einsum("spc,sqc->pq", dev, dev) / (C * (S - 1))  # (P, P)
    e, V = np.linalg.eigh(sigma)
    e = np.maximum(e, _EIG_FLOOR * max(e.mean(), 1e-300))
    e = (1.0 - shrink) * e * (P / e.sum()) + shrink  # trace P
    L = V * np.sqrt(e)  # (P, P): L L^T = Sigma
    white = np.einsum("pq,sqc->spc", (V / np.sqrt(e)).T, dev)  # (S, P, C): L^-1 dev
    tau2 = np.einsum("spc,spc->c", white, white) / ((S - 1) * P)  # (C,)
    return L, np.maximum(tau2, 1e-12 * max(tau2.mean(), 1e-300))


class Penalty:
    """The decoder's penalty: isotropic (``L`` None, strengths shared by every parcel, prior
    weights) or empirical Bayes (``L``, ``tau2``: strength ``scale * sigma_c^2 / tau_c^2``).

    Parameters
    ----------
    strengths : ndarray of shape (A,)
        Alphas (isotropic) or scales (empirical Bayes; ``inf``: the prior itself).
    weights : ndarray of shape (G,)
        Prior weights (``(1.0,)`` for empirical Bayes).
    L : ndarray of shape (P, P) or None
    tau2 : ndarray of shape (C,) or None
    """

    def __init__(self, strengths, weights=(1.0,), L=None, tau2=None):
        self.strengths = np.asarray(strengths, dtype=np.float64)  # (A,)
        self.weights = np.asarray(weights, dtype=np.float64)  # (G,)
        self.L, self.tau2 = L, tau2
        self.L_inv = None if L is None else np.linalg.inv(L)

    def prior_u(self, prior_coef) -> np.ndarray:
        """``W0`` in the penalty's coordinates, (P, C)."""
        w0 = np.asarray(prior_coef, dtype=np.float64)
        return w0 if self.L is None else self.L_inv @ w0

    def lams(self, stats_t: RidgeStats, u0, fit_intercept: bool) -> np.ndarray:
        """Per-parcel strengths of every candidate, (A, C), on transformed statistics."""
        C = u0.shape[1]
        if self.L is None:
            return np.repeat(self.strengths[:, None], C, axis=1)
        return self.strengths[:, None] * (noise_variance(stats_t, u0, fit_intercept)
                                          / self.tau2)[None, :]


def noise_variance(stats: RidgeStats, coef, fit_intercept: bool) -> np.ndarray:
    """Residual variance per parcel of the prediction ``X coef`` (+ the best intercept), (C,)."""
    xx, xy, _, my = centred_train(stats, fit_intercept)
    yy = stats.yy - (stats.n * my**2 if fit_intercept else 0.0)  # (C,)
    rss = yy - 2 * np.einsum("pc,pc->c", coef, xy) + np.einsum("pc,pc->c", coef, xx @ coef)
    floor = 1e-12 * max(float(np.mean(np.abs(yy))), 1e-300)
    return np.maximum(rss, floor) / max(stats.n, 1)


def transform(stats: RidgeStats, F) -> RidgeStats:
    """Statistics of the features ``X F`` (``F`` None: unchanged)."""
    if F is None:
        return stats
    return RidgeStats(stats.n, stats.sx @ F, stats.sy, F.T @ stats.xx @ F, F.T @ stats.xy,
                      stats.yy)


def _kernel_of(which, stats, prior_coef, delays, kernel_delays, union, fit_intercept):
    if which == "identity":
        return identity_kernel(kernel_delays)
    return fit_kernel(stats, prior_coef, delays, kernel_delays, union,
                      fit_intercept=fit_intercept)


def _filter(kernel, delays, kernel_delays, union, D, penalty: Penalty):
    """``F = H L`` (None when both are the identity)."""
    H = None if tuple(union) == tuple(delays) and list(kernel) == [1.0] \
        else kernel_filter(kernel, delays, kernel_delays, union, D)
    if penalty.L is None:
        return H
    return penalty.L if H is None else H @ penalty.L


def kernel_prior_cv(blocks, fold_train, fold_test, prior_coef, prior_intercept, penalties,
                    delays, kernel_delays, kernels=("identity", "fitted"), *,
                    fit_intercept: bool = True) -> dict:
    """Kernel, penalty, prior weight and strength by CV over blocks, then the refit.

    Parameters
    ----------
    blocks : list of RidgeStats
        Statistics of the union design (:func:`union_delays`) of disjoint groups of time
        points. ``fold_train``, ``fold_test``: block indices of each fold.
    prior_coef : ndarray of shape (len(delays) * D, C)
    prior_intercept : ndarray of shape (C,)
    penalties : Penalty or sequence of Penalty
        The penalties searched (their covariances), sharing strengths and weights.
    delays, kernel_delays : tuple of int
    kernels : sequence of {"identity", "fitted"}
        Kernels searched; ties go to the first kernel, penalty, weight, strength.
    fit_intercept : bool

    Returns
    -------
    fit : dict
        ``coef`` (P, C: the decoder of the filtered latent), ``intercept`` (C,),
        ``kernel`` (K,), ``which`` (the kernel kept), ``penalty`` (the index of the one
        kept), ``weight``, ``strength``, ``lams`` (C,: the per-parcel strengths of the
        refit), ``cv_scores`` (J, M, G, A) or None when there was a single candidate.
    """
    penalties = [penalties] if isinstance(penalties, Penalty) else list(penalties)
    first = penalties[0]
    w0 = np.asarray(prior_coef, dtype=np.float64)
    b0 = np.asarray(prior_intercept, dtype=np.float64)
    union = union_delays(delays, kernel_delays)
    D = w0.shape[0] // len(delays)
    shape = (len(kernels), len(penalties), first.weights.size, first.strengths.size)
    shift = (lambda s: s) if fit_intercept else (lambda s: shift_targets(s, b0))
    cv_scores = None
    j, m, i, a = 0, 0, 0, 0
    if np.prod(shape) > 1:
        if not all(fold_train) or not all(fold_test):
            raise ValueError(EMPTY_FOLD)
        cv_scores = np.zeros(shape)  # (J, M, G, A)
        for tr, te in zip(fold_train, fold_test, strict=True):
            train, val = shift(sum_stats(blocks, tr)), shift(sum_stats(blocks, te))
            for jj, which in enumerate(kernels):
                h = _kernel_of(which, train, w0, delays, kernel_delays, union, fit_intercept)
                for mm, pen in enumerate(penalties):
                    F = _filter(h, delays, kernel_delays, union, D, pen)
                    tr_t, va_t = transform(train, F), transform(val, F)
                    u0 = pen.prior_u(w0)  # (P, C)
                    cv_scores[jj, mm] += ridge_fold_scores(
                        tr_t, va_t, pen.lams(tr_t, u0, fit_intercept), scoring="pearson",
                        fit_intercept=fit_intercept, prior=u0,
                        prior_weights=pen.weights).mean(axis=2)
        cv_scores /= len(fold_train)
        j, m, i, a = np.unravel_index(int(np.argmax(cv_scores)), shape)
    pen = penalties[m]
    full = shift(sum_stats(blocks, list(range(len(blocks)))))
    h = _kernel_of(kernels[j], full, w0, delays, kernel_delays, union, fit_intercept)
    full_t = transform(full, _filter(h, delays, kernel_delays, union, D, pen))
    u0 = pen.prior_u(w0)
    lams = pen.lams(full_t, u0, fit_intercept)[a]  # (C,)
    weight = float(pen.weights[i])
    U, icpt = shrunk_solve(full_t, u0, lams, weight, fit_intercept=fit_intercept)
    coef = U if pen.L is None else pen.L @ U  # (P, C)
    return {"coef": coef, "intercept": icpt + (0.0 if fit_intercept else b0),
            "kernel": h, "which": kernels[j], "penalty": int(m), "weight": weight,
            "strength": float(pen.strengths[a]), "lams": lams, "cv_scores": cv_scores}


def episode_blocks(feats, news, cv, gap: int):
    """Statistics of the blocks that the folds of ``cv`` (with ``gap``) treat alike.

    Parameters
    ----------
    feats, news : list of ndarray of shape (T_e, P) and (T_e, C)
        Features and targets of each episode.
    cv, gap
        As :func:`sklearn_crossenc.ridge._folds.cv_row_splits`.

    Returns
    -------
    blocks : list of RidgeStats
    fold_train, fold_test : list of list of int
    """
    lengths = [x.shape[0] for x in feats]
    block_of, fold_train, fold_test = split_blocks(cv_row_splits(lengths, cv, int(gap)),
                                                   sum(lengths))
    blocks = [RidgeStats.zeros(feats[0].shape[1], news[0].shape[1], np.float64)
              for _ in range(int(block_of.max()) + 1)]
    start = 0
    for x, y in zip(feats, news, strict=True):
        ids = block_of[start:start + x.shape[0]]  # (T_e,)
        for b in np.unique(ids):
            blocks[b].add(x[ids == b], y[ids == b])
        start += x.shape[0]
    return blocks, fold_train, fold_test

"""Ridge shrunk toward a prior map, and the group prior of a fitted encoder: pure arrays.

:class:`~sklearn_crossenc.encoder.SubjectAdder` fits the newcomer's decoder (features
``x_t``: the frozen leave-one-out latent, optionally with time-shifted copies) by the
ridge regression shrunk toward a prior map rather than toward zero:

    min_{W, b}  ||Y - X W - b||^2 + alpha ||W - w W0||^2
    W = (Xc^T Xc + alpha I)^-1 (Xc^T Yc + alpha w W0),   b = mean(Y) - mean(X) W

(``Xc``, ``Yc`` centred; without intercept ``b`` is the prior's ``b0`` and nothing is
centred). ``W0`` is the *group's* decoder, the average of the fitted subjects' decoders
written as one affine map of the (delayed) latent (:func:`group_prior`), and the prior
weight ``w`` in [0, 1] splits the penalty between a pull toward the group and a pull
toward zero: ``alpha ||W - w W0||^2`` equals ``w alpha ||W - W0||^2 + (1 - w) alpha
||W||^2`` up to a constant. With no data, or ``alpha -> inf`` and ``w = 1``, ``W = W0``:
the prediction is the group's.

The pair (``w``, ``alpha``) is chosen by cross-validation from sufficient statistics, as
the ridge baselines' solver does (:mod:`sklearn_crossenc.ridge._solvers`): per fold one
``eigh`` of the training Gram matrix serves every pair, and the validation Pearson r of
every (pair, parcel) follows in closed form from the validation fold's statistics. In the
eigenbasis ``Xc^T Xc = V diag(lam) V^T`` the coefficients are
``V^T W = (V^T Xc^T Yc + alpha w V^T W0) / (lam + alpha)``.
"""

from __future__ import annotations

import numpy as np

from ..ridge._solvers import RidgeStats, _centred_train, _eigh, _sum_stats

__all__ = ["group_prior", "prior_delays", "solve_toward_prior", "prior_fold_scores",
           "prior_ridge_cv"]


_EMPTY_FOLD = ("a cross-validation fold has no training or no validation time points; give "
               "more data, fewer folds or a smaller gap.")


def _same_pad_left(kernel_size: int) -> int:
    """Left padding of ``F.conv1d(..., padding="same")``: ``(K - 1) // 2``."""
    return (int(kernel_size) - 1) // 2


def prior_delays(module) -> tuple[int, ...]:
    """Delays (in TRs, positive = past) that the fitted decoders read: ``(0,)`` without a
    decoder kernel, else the support of their (causally masked) depthwise kernel.

    Examples
    --------
    >>> from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder
    >>> prior_delays(CrossSubjectConvLinearEncoder(3, 10, 4, decoder_kernel_size=0))
    (0,)
    >>> prior_delays(CrossSubjectConvLinearEncoder(3, 10, 4, decoder_kernel_size=3))
    (-1, 0, 1)
    >>> prior_delays(CrossSubjectConvLinearEncoder(3, 10, 4, decoder_kernel_size=3, causal=True))
    (0, 1)
    """
    if not module.dec_conv:
        return (0,)
    left = _same_pad_left(module.decoder_kernel_size)
    mask = module.decoder_causal_mask.detach().cpu().numpy()  # (K,)
    delays = {0} | {left - k for k in range(module.decoder_kernel_size) if mask[k] != 0}
    return tuple(sorted(delays))


def group_prior(module, delays) -> tuple[np.ndarray, np.ndarray]:
    """The fitted subjects' average decoder as one affine map of the delayed latent.

    ``mean_s decode_s(e)`` of :class:`CrossSubjectConvLinearEncoder` (shared plus
    per-subject decoders, the per-subject depthwise kernel included) equals
    ``delay_features(e, delays) @ coef + intercept`` (zero-padded at the episode's edges,
    as the decoders' ``"same"`` convolution is), provided ``delays`` holds
    :func:`prior_delays` of the module.

    Parameters
    ----------
    module : CrossSubjectConvLinearEncoder
        Read only.
    delays : sequence of int
        The newcomer's delays (see :func:`sklearn_crossenc.ridge._solvers.delay_features`).

    Returns
    -------
    coef : ndarray of shape (len(delays) * embed_dim, n_parcels), float64
    intercept : ndarray of shape (n_parcels,), float64
    """
    delays = tuple(int(d) for d in delays)
    missing = sorted(set(prior_delays(module)) - set(delays))
    if missing:
        raise ValueError(f"delays={delays} lacks the delays {missing} that the fitted "
                         "decoders' kernel reads; include them.")

    def get(name):
        p = getattr(module, name)
        return None if p is None else p.detach().cpu().double().numpy()

    S, C, D = module.num_subjects, module.fmri_dim, module.embed_dim
    w_sh, b_sh = get("shared_decoder_weight"), get("shared_decoder_bias")  # (C, D), (C,)
    w_s, b_s = get("subject_decoder_weight"), get("subject_decoder_bias")  # (S, C, D), (S, C)
    blocks = {d: np.zeros((D, C)) for d in delays}  # delay -> (D, C)
    intercept = np.zeros(C)
    if w_sh is not None:
        blocks[0] += w_sh.T
        intercept += b_sh
    if w_s is not None:
        intercept += b_s.mean(0)
        if not module.dec_conv:
            blocks[0] += w_s.mean(0).T
        else:
            conv_w = get("decoder_conv_weight") * get("decoder_causal_mask")  # (S, D, K)
            conv_b = get("decoder_conv_bias")  # (S, D)
            left = _same_pad_left(module.decoder_kernel_size)
            for k in range(conv_w.shape[2]):
                if np.any(conv_w[:, :, k]):
                    # conv(e)[t] reads e[t + k - left]: delay left - k.
                    blocks[left - k] += np.einsum("sd,scd->dc", conv_w[:, :, k], w_s) / S
            intercept += np.einsum("sd,scd->c", conv_b, w_s) / S
    coef = np.concatenate([blocks[d] for d in delays])  # (len(delays) * D, C)
    return coef, intercept


def _shift_targets(stats: RidgeStats, b0: np.ndarray) -> RidgeStats:
    """Statistics of the targets ``y - b0`` (the no-intercept fit around the prior's)."""
    return RidgeStats(
        stats.n, stats.sx, stats.sy - stats.n * b0,
        stats.xx, stats.xy - np.outer(stats.sx, b0),
        stats.yy - 2.0 * b0 * stats.sy + stats.n * b0**2,
    )


def solve_toward_prior(stats: RidgeStats, prior_coef, prior_intercept, alpha, *,
                       fit_intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Ridge coefficients shrunk toward ``prior_coef`` (see the module docstring).

    With no time points (``stats.n == 0``) the prior itself is returned.

    Parameters
    ----------
    stats : RidgeStats
    prior_coef : ndarray of shape (P, C)
    prior_intercept : ndarray of shape (C,)
    alpha : float
        Strength of the pull toward the prior (> 0).
    fit_intercept : bool, default=True
        Fit the intercept (else it is the prior's).

    Returns
    -------
    coef : ndarray of shape (P, C), float64
    intercept : ndarray of shape (C,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.ridge._solvers import ridge_stats
    >>> X = np.array([[0.0], [1.0], [2.0]]); Y = 2 * X + 1
    >>> W0, b0 = np.array([[5.0]]), np.array([0.0])
    >>> [np.round(a, 3) for a in solve_toward_prior(ridge_stats([X], [Y]), W0, b0, 2.0)]
    [array([[3.5]]), array([-0.5])]
    >>> [a.tolist() for a in solve_toward_prior(ridge_stats([X[:0]], [Y[:0]]), W0, b0, 2.0)]
    [[[5.0]], [0.0]]
    """
    w0 = np.asarray(prior_coef, dtype=np.float64)  # (P, C)
    b0 = np.asarray(prior_intercept, dtype=np.float64)  # (C,)
    if stats.n == 0:
        return w0.copy(), b0.copy()
    if not fit_intercept:
        stats = _shift_targets(stats, b0)
    xx, xy, mx, my = _centred_train(stats, fit_intercept)
    coef = np.linalg.solve(xx + alpha * np.eye(xx.shape[0]), xy + alpha * w0)  # (P, C)
    intercept = my - mx @ coef if fit_intercept else b0.copy()
    return coef, intercept


def prior_fold_scores(train: RidgeStats, val: RidgeStats, prior_coef, prior_intercept,
                      alphas, prior_weights=(1.0,), *, fit_intercept: bool = True) -> np.ndarray:
    """Validation Pearson r of every (prior weight, alpha, parcel), fitted on ``train``.

    The fit of weight ``w`` and strength ``alpha`` is :func:`solve_toward_prior` toward
    ``w * prior_coef``. The result is exactly the Pearson r of the predictions
    ``X_val W + b`` with ``Y_val`` per parcel (0 where either is constant on ``val``),
    computed from the statistics without forming predictions.

    Returns
    -------
    scores : ndarray of shape (n_weights, n_alphas, n_parcels)
    """
    w0 = np.asarray(prior_coef, dtype=np.float64)  # (P, C)
    b0 = np.asarray(prior_intercept, dtype=np.float64)  # (C,)
    alphas = np.asarray(alphas, dtype=np.float64)  # (A,)
    weights = np.asarray(prior_weights, dtype=np.float64)  # (G,)
    if val.n == 0 or train.n == 0:
        raise ValueError(_EMPTY_FOLD)
    if not fit_intercept:
        train, val = _shift_targets(train, b0), _shift_targets(val, b0)
    xx, xy, mx, my = _centred_train(train, fit_intercept)
    lam, V = _eigh(xx)  # (P,), (P, P)
    Q, Q0 = V.T @ xy, V.T @ w0  # (P, C), (P, C): data and prior in the eigenbasis
    val_e = _val_in_eigenbasis(val, mx, my, V)
    scores = np.empty((weights.size, alphas.size, w0.shape[1]))  # (G, A, C)
    for i, weight in enumerate(weights):
        for a, alpha in enumerate(alphas):
            U = (Q + alpha * weight * Q0) / (lam + alpha)[:, None]  # (P, C): V^T W
            scores[i, a] = _val_pearson(U, *val_e)
    return scores


def _val_in_eigenbasis(val: RidgeStats, mx, my, V):
    """Validation statistics around the training means (Pearson r ignores the shift), in
    the training Gram's eigenbasis ``V``: ``(G (P, P), H (P, C), g (P,), syc (C,), sst (C,),
    n)``."""
    nv = val.n
    sxc = val.sx - nv * mx  # (P,)
    syc = val.sy - nv * my  # (C,)
    xxc = val.xx - np.outer(val.sx, mx) - np.outer(mx, val.sx) + nv * np.outer(mx, mx)  # (P, P)
    xyc = val.xy - np.outer(val.sx, my) - np.outer(mx, val.sy) + nv * np.outer(mx, my)  # (P, C)
    sst = np.maximum(val.yy - val.sy**2 / nv, 0.0)  # (C,)
    return V.T @ xxc @ V, V.T @ xyc, V.T @ sxc, syc, sst, nv


def _val_pearson(U, G, H, g, syc, sst, nv) -> np.ndarray:
    """Validation Pearson r per parcel of the coefficients ``U = V^T W`` (P, C), (C,)."""
    spred = g @ U  # (C,) sum_t yhat
    cov = np.einsum("pc,pc->c", U, H) - spred * syc / nv
    var = np.maximum(np.einsum("pc,pc->c", U, G @ U) - spred**2 / nv, 0.0)
    denom = np.sqrt(var * sst)
    return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 1e-12 * nv)


def prior_ridge_cv(blocks, fold_train, fold_test, prior_coef, prior_intercept, alphas,
                   prior_weights=(1.0,), *, fit_intercept: bool = True):
    """Cross-validated prior weight and strength, then the refit on every block.

    The pair kept maximises the validation Pearson r averaged over parcels, then over
    folds (``GridSearchCV``'s mean test score); ties go to the first weight, then the
    first alpha, in the order given.

    Parameters
    ----------
    blocks : list of RidgeStats
        Statistics of disjoint groups of time points (see
        :func:`sklearn_crossenc.ridge._solvers.split_blocks`).
    fold_train, fold_test : list of list of int
        Block indices of each fold's training and validation parts.
    prior_coef, prior_intercept, fit_intercept
        As in :func:`solve_toward_prior`.
    alphas : array-like of shape (A,)
    prior_weights : array-like of shape (G,)

    Returns
    -------
    coef : ndarray of shape (P, C)
    intercept : ndarray of shape (C,)
    alpha, prior_weight : float
    cv_scores : ndarray of shape (G, A)
        Mean validation Pearson r of each (weight, alpha).
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    weights = np.asarray(prior_weights, dtype=np.float64)
    if not all(fold_train) or not all(fold_test):
        raise ValueError(_EMPTY_FOLD)
    fold_scores = [
        prior_fold_scores(_sum_stats(blocks, tr), _sum_stats(blocks, te), prior_coef,
                          prior_intercept, alphas, weights,
                          fit_intercept=fit_intercept).mean(axis=2)
        for tr, te in zip(fold_train, fold_test, strict=True)
    ]  # F x (G, A)
    cv_scores = np.mean(fold_scores, axis=0)  # (G, A)
    i, a = np.unravel_index(int(np.argmax(cv_scores)), cv_scores.shape)
    alpha, weight = float(alphas[a]), float(weights[i])
    coef, intercept = solve_toward_prior(_sum_stats(blocks, list(range(len(blocks)))),
                                         weight * np.asarray(prior_coef), prior_intercept,
                                         alpha, fit_intercept=fit_intercept)
    return coef, intercept, alpha, weight, cv_scores

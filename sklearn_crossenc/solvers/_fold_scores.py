"""A validation fold's score of every ridge penalty, in closed form from sufficient statistics.

For each fold the training Gram matrix is diagonalised once (``eigh``, the Gram form of
the SVD used by himalaya's ``solve_ridge_cv_svd``); that one decomposition serves every
penalty and every target. The validation error, R^2 or Pearson r of every (penalty,
target) pair then follows in closed form from the validation fold's statistics, without
ever forming predictions: the cost per penalty is one (P, P) x (P, C) product,
independent of the number of time points.

The same fold scoring serves the ridge shrunk toward a prior map ``W0`` (the new-subject
prior, :mod:`._toward_prior`): with the penalty ``alpha ||W - w W0||^2`` the coefficients
in the eigenbasis ``Xc^T Xc = V diag(lam) V^T`` are
``V^T W = (V^T Xc^T Yc + alpha w V^T W0) / (lam + alpha)`` (:func:`eigen_coef`), and
``W0 = 0`` is the plain ridge.
"""

from __future__ import annotations

import numpy as np

from .._interrupt import interruptible
from ..scoring import metric_name
from ._sufficient import RidgeStats, centred_train, check_alphas, eigh_psd

__all__ = ["CRITERIA", "EMPTY_FOLD", "check_scoring", "eigen_coef", "ridge_fold_scores"]

#: Validation criteria of the ridge's alpha selection: the metrics of
#: :data:`sklearn_crossenc.scoring.METRICS` that have a closed form here (a new metric is
#: refused until it gets one, never scored as another).
CRITERIA = ("r2", "pearson", "neg_mean_squared_error")
#: The error of a fold without training or validation time points.
EMPTY_FOLD = ("a cross-validation fold has no training or no validation time points; give "
              "more data, fewer folds or a smaller gap.")


def check_scoring(scoring, name: str = "scoring") -> str:
    """A criterion of :data:`CRITERIA` (old spellings warn; see ``metric_name``).

    Examples
    --------
    >>> from sklearn_crossenc.solvers import check_scoring
    >>> check_scoring("pearson")
    'pearson'
    """
    scoring = metric_name(scoring, name)
    if scoring not in CRITERIA:
        raise ValueError(f"{name} {scoring!r} has no closed form in the ridge's solver; "
                         f"choose one of {', '.join(CRITERIA)}.")
    return scoring


def eigen_coef(Q, Q0, lam, lams, weight) -> np.ndarray:
    """``V^T W`` of the ridge toward ``weight * W0``, per-parcel strengths ``lams`` (C,).

    ``Q = V^T Xc^T Yc`` and ``Q0 = V^T W0`` (P, C), ``lam`` (P,) the training Gram's
    eigenvalues; a strength ``inf`` gives the prior itself, ``weight * Q0``. Returns (P, C).
    """
    fin = np.isfinite(lams)  # (C,)
    safe = np.where(fin, lams, 0.0)
    den = lam[:, None] + safe[None, :]  # (P, C)
    if not fin.all():  # those columns are replaced below; no 0 / 0 on the way
        den[:, ~fin] = 1.0
    U = (Q + (safe * weight)[None, :] * Q0) / den  # (P, C)
    if not fin.all():
        U[:, ~fin] = weight * Q0[:, ~fin]
    return U


def _val_in_eigenbasis(val: RidgeStats, mx, my, V, dtype):
    """Validation statistics around the *training* means, in the training Gram's eigenbasis
    ``V``: ``G`` (P, P), ``H`` (P, C), ``g`` (P,), ``syc`` (C,), ``yyc`` (C,), ``sst`` (C,).

    Predictions minus ``my`` are ``(x - mx) @ W``, residuals ``(y - my) - (x - mx) @ W``.
    Centring in float64; ``sst`` is centred on the validation mean.
    """
    nv = val.n
    sxc = val.sx - nv * mx  # (P,)
    syc = val.sy - nv * my  # (C,)
    xxc = (val.xx.astype(np.float64) - np.outer(val.sx, mx) - np.outer(mx, val.sx)
           + nv * np.outer(mx, mx)).astype(dtype)  # (P, P)
    xyc = (val.xy.astype(np.float64) - np.outer(val.sx, my) - np.outer(mx, val.sy)
           + nv * np.outer(mx, my)).astype(dtype)  # (P, C)
    yyc = val.yy - 2.0 * my * val.sy + nv * my**2  # (C,)
    sst = np.maximum(val.yy - val.sy**2 / nv, 0.0)  # (C,)
    G = interruptible(np.linalg.multi_dot, [V.T, xxc, V])  # (P, P) validation Gram, eigenbasis
    H = (V.T @ xyc).astype(np.float64)  # (P, C)
    g = V.T.astype(np.float64) @ sxc  # (P,)
    return G, H, g, syc, yyc, sst


def _val_pearson(U, G, H, g, syc, sst, nv) -> np.ndarray:
    """Validation Pearson r per parcel of the coefficients ``U = V^T W`` (P, C), (C,)."""
    spred = g @ U  # (C,) sum_t yhat
    cov = np.einsum("pc,pc->c", U, H) - spred * syc / nv
    var = np.maximum(np.einsum("pc,pc->c", U, G @ U) - spred**2 / nv, 0.0)
    denom = np.sqrt(var * sst)
    return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 1e-12 * nv)


def _prior_scores(Z, Q0, lam, alphas, weights, val_e, nv) -> np.ndarray:
    """Pearson r of every (weight, strength, parcel) toward the prior, (G, A, C)."""
    G, H, g, syc, _, sst = val_e
    lams = alphas if alphas.ndim == 2 else np.repeat(alphas[:, None], Z.shape[1], axis=1)
    scores = np.empty((weights.size, lams.shape[0], Z.shape[1]))  # (G, A, C)
    for i, weight in enumerate(weights):
        for a in range(lams.shape[0]):
            scores[i, a] = _val_pearson(eigen_coef(Z, Q0, lam, lams[a], weight), G, H, g,
                                        syc, sst, nv)
    return scores


def _check_prior(prior, prior_weights, alphas, scoring, n_features, n_targets):
    """The prior (P, C), its weights (G,) and strengths (A,) or (A, C), checked."""
    if scoring != "pearson":
        raise ValueError(f"the fold scores toward a prior are Pearson r only; got "
                         f"scoring={scoring!r}.")
    prior = np.asarray(prior, dtype=np.float64)  # (P, C)
    if prior.shape != (n_features, n_targets):
        raise ValueError(f"prior has shape {prior.shape}; expected ({n_features}, "
                         f"{n_targets}), the statistics' (features, targets).")
    alphas = np.asarray(alphas, dtype=np.float64)  # (A,) or (A, C)
    if alphas.ndim not in (1, 2) or alphas.size == 0 or not np.all(alphas > 0) or (
            alphas.ndim == 2 and alphas.shape[1] != n_targets):
        raise ValueError(f"with a prior, alphas must be > 0 (inf: the prior itself), of shape "
                         f"(A,) or (A, {n_targets}); got shape {alphas.shape}.")
    return prior, np.asarray(prior_weights, dtype=np.float64), alphas


def ridge_fold_scores(train: RidgeStats, val: RidgeStats, alphas, *, fit_intercept=True,
                      scoring="r2", dtype=np.float64, prior=None,
                      prior_weights=(1.0,)) -> np.ndarray:
    """Validation score of every alpha for every target, from sufficient statistics.

    Fits ridge on ``train`` for each alpha (one ``eigh`` for all alphas and targets)
    and evaluates it on ``val`` exactly as if predictions had been formed.

    Parameters
    ----------
    train, val : RidgeStats
    alphas : ndarray of shape (A,)
        With a ``prior``, also (A, C): one strength per target; ``inf`` is the prior itself.
    fit_intercept : bool, default=True
    scoring : {"r2", "pearson", "neg_mean_squared_error"}, default="r2"
        Coefficient of determination, Pearson correlation, or minus the mean squared
        error of the validation predictions, per target (higher is better). Pearson only
        with a ``prior``.
    dtype : numpy dtype, default=np.float64
        Dtype of the eigen-decomposition and of the (P, P) products; sums, centring and
        the final reductions are float64.
    prior : ndarray of shape (P, C), optional
        Shrink toward this map instead of toward zero: the penalty
        ``alpha ||W - w prior||^2`` for each weight ``w`` of ``prior_weights`` (see
        :func:`~sklearn_crossenc.solvers.solve_toward_prior`; targets already shifted by the
        prior's intercept when ``fit_intercept=False``).
    prior_weights : sequence of float, default=(1.0,)
        The weights ``w`` (G,), with a ``prior`` only.

    Returns
    -------
    scores : ndarray of shape (A, C), or (G, A, C) with a prior; float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.solvers import ridge_fold_scores, ridge_stats
    >>> X = np.arange(8.0).reshape(-1, 1); Y = 2 * X + 1
    >>> train, val = ridge_stats([X[:6]], [Y[:6]]), ridge_stats([X[6:]], [Y[6:]])
    >>> np.round(ridge_fold_scores(train, val, [1e-6, 1e6]), 3)  # the fit; about the mean
    array([[  1.   ],
           [-63.998]])
    >>> ridge_fold_scores(train, val, [1e6], scoring="pearson", prior=[[-2.0]],
    ...                   prior_weights=(0.0, 1.0))  # pulled toward 0, or the wrong sign
    array([[[ 1.]],
    <BLANKLINE>
           [[-1.]]])
    """
    scoring = check_scoring(scoring)
    if prior is None:
        alphas = check_alphas(alphas)
    else:
        prior, weights, alphas = _check_prior(prior, prior_weights, alphas, scoring,
                                              *train.xy.shape)
    if val.n == 0 or train.n == 0:
        raise ValueError(f"A {'validation' if val.n == 0 else 'training'} fold holds no time "
                         "points; give more data, fewer folds or a smaller gap.")
    xx, xy, mx, my = centred_train(train, fit_intercept)
    lam, V = eigh_psd(xx, dtype)  # (P,) float64, (P, P) dtype
    Z = (V.T @ xy.astype(dtype)).astype(np.float64)  # (P, C) training cross-product, eigenbasis
    nv = val.n
    val_e = _val_in_eigenbasis(val, mx, my, V, dtype)
    if prior is not None:
        return _prior_scores(Z, V.T @ prior, lam, alphas, weights, val_e, nv)
    G, H, g, syc, yyc, sst = val_e

    # Per alpha a, the eigenbasis weights are Wp_a = D[a][:, None] * Z with
    # D[a, p] = 1 / (lam_p + alpha_a). Linear terms are one small product for all alphas.
    D = 1.0 / (lam[None, :] + alphas[:, None])  # (A, P)
    cross = D @ (Z * H)  # (A, C)  sum_t yhat_c * y_c   (yhat, y around the training means)
    Zd = Z.astype(dtype)  # (P, C)
    quad = np.empty((alphas.size, Z.shape[1]))  # (A, C)  sum_t yhat_c^2
    for a in range(alphas.size):
        Wp = Zd * D[a].astype(dtype)[:, None]  # (P, C)
        GW = G @ Wp  # (P, C): the one (P, P) x (P, C) product per alpha
        Wp *= GW
        quad[a] = Wp.sum(axis=0, dtype=np.float64)
    if scoring == "pearson":
        spred = D @ (Z * g[:, None])  # (A, C)  sum_t yhat_c
        cov = cross - spred * syc / nv
        var_p = np.maximum(quad - spred**2 / nv, 0.0)
        denom = np.sqrt(var_p * sst)
        return np.divide(cov, denom, out=np.zeros_like(cov), where=denom > 0)
    sse = np.maximum(yyc - 2.0 * cross + quad, 0.0)  # (A, C)
    if scoring == "neg_mean_squared_error":
        return -sse / nv
    scores = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), 0.0)  # (A, C)
    return scores

"""Ridge shrunk toward a prior map rather than toward zero, from sufficient statistics.

The new subject's decoder (:class:`~sklearn_crossenc.encoder.SubjectAdder`) is the ridge
regression

    min_{W, b}  ||Y - X W - b||^2 + alpha ||W - w W0||^2
    W = (Xc^T Xc + alpha I)^-1 (Xc^T Yc + alpha w W0),   b = mean(Y) - mean(X) W

(``Xc``, ``Yc`` centred; without intercept ``b`` is the prior's ``b0`` and nothing is
centred). The prior weight ``w`` in [0, 1] splits the penalty between a pull toward the
prior ``W0`` and a pull toward zero: ``alpha ||W - w W0||^2`` equals
``w alpha ||W - W0||^2 + (1 - w) alpha ||W||^2`` up to a constant. With no data, or
``alpha -> inf`` and ``w = 1``, ``W = W0``.

The pair (``w``, ``alpha``) is chosen by cross-validation with the ridge's own fold
scoring (:func:`~._fold_scores.ridge_fold_scores` with ``prior=``): per fold one ``eigh``
of the training Gram matrix serves every pair, and the validation Pearson r of every
(pair, parcel) follows in closed form from the validation fold's statistics.
"""

from __future__ import annotations

import numpy as np

from ._fold_scores import EMPTY_FOLD, eigen_coef, ridge_fold_scores
from ._sufficient import RidgeStats, centred_train, eigh_psd, sum_stats

__all__ = ["shift_targets", "solve_toward_prior", "shrunk_solve", "prior_ridge_cv"]


def shift_targets(stats: RidgeStats, b0: np.ndarray) -> RidgeStats:
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
    >>> from sklearn_crossenc.solvers import ridge_stats
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
        stats = shift_targets(stats, b0)
    xx, xy, mx, my = centred_train(stats, fit_intercept)
    coef = np.linalg.solve(xx + alpha * np.eye(xx.shape[0]), xy + alpha * w0)  # (P, C)
    intercept = my - mx @ coef if fit_intercept else b0.copy()
    return coef, intercept


def shrunk_solve(stats: RidgeStats, u0, lams, weight, *, fit_intercept: bool = True):
    """The ridge toward ``weight * u0`` with per-parcel strengths ``lams`` (C,), ``inf``
    allowed (the prior itself).

    Shared finite strengths use :func:`solve_toward_prior`;
    else one ``eigh``. Statistics already transformed (and shifted without intercept).

    Returns
    -------
    coef : ndarray of shape (P, C)
    intercept_shift : ndarray of shape (C,)
        ``mean(y) - mean(x) coef`` (zeros without intercept).
    """
    C = u0.shape[1]
    if np.all(np.isfinite(lams)) and np.all(lams == lams[0]):
        coef, icpt = solve_toward_prior(stats, weight * u0, np.zeros(C), float(lams[0]),
                                        fit_intercept=fit_intercept)
        return coef, icpt
    xx, xy, mx, my = centred_train(stats, fit_intercept)
    lam, V = eigh_psd(xx)
    coef = V @ eigen_coef(V.T @ xy, V.T @ u0, lam, lams, weight)  # (P, C)
    return coef, (my - mx @ coef) if fit_intercept else np.zeros(C)


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
        :func:`~sklearn_crossenc.solvers.split_blocks`).
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
        raise ValueError(EMPTY_FOLD)
    b0 = np.asarray(prior_intercept, dtype=np.float64)  # (C,)
    shift = (lambda s: s) if fit_intercept else (lambda s: shift_targets(s, b0))
    fold_scores = [
        ridge_fold_scores(shift(sum_stats(blocks, tr)), shift(sum_stats(blocks, te)), alphas,
                          fit_intercept=fit_intercept, scoring="pearson", prior=prior_coef,
                          prior_weights=weights).mean(axis=2)
        for tr, te in zip(fold_train, fold_test, strict=True)
    ]  # F x (G, A)
    cv_scores = np.mean(fold_scores, axis=0)  # (G, A)
    i, a = np.unravel_index(int(np.argmax(cv_scores)), cv_scores.shape)
    alpha, weight = float(alphas[a]), float(weights[i])
    coef, intercept = solve_toward_prior(sum_stats(blocks, list(range(len(blocks)))),
                                         weight * np.asarray(prior_coef), prior_intercept,
                                         alpha, fit_intercept=fit_intercept)
    return coef, intercept, alpha, weight, cv_scores

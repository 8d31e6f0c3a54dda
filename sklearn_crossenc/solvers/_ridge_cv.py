"""Ridge regression from sufficient statistics: the solve, and cross-validation over blocks.

Everything here works on numpy arrays and knows nothing about estimators: the one data
pass of both ridge baselines (:func:`ridge_cv_episodes`), the choice of each target's
alpha from the fold scores (:func:`~._fold_scores.ridge_fold_scores`), and the refit.
"""

from __future__ import annotations

import numpy as np

from ._fold_scores import ridge_fold_scores
from ._sufficient import RidgeStats, centred_train, check_alphas, eigh_psd, split_blocks, sum_stats

__all__ = ["DEFAULT_ALPHAS", "KIT_ALPHAS", "solve_ridge_stats", "ridge_cv_stats",
           "ridge_cv_episodes"]

#: Default grid of :class:`CrossSubjectRidge`: 17 values from 1e-2 to 1e6.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-2, 6, 17))
#: The Algonauts 2025 development kit's alphas (``RidgeCV`` of its baseline).
KIT_ALPHAS = (1e6, 1e5, 1e4, 1e3, 100.0, 10.0, 1.0, 0.5, 0.1, 0.05, 0.01, 0.005, 1e-3, 1e-4,
              1e-5)


def solve_ridge_stats(stats: RidgeStats, alpha, *, fit_intercept: bool = True,
                      dtype=np.float64):
    """Ridge coefficients from sufficient statistics, one alpha per target allowed.

    Solves, for every target ``c``,
    ``min_w ||y_c - X w - b_c||^2 + alpha_c ||w||^2`` (``b_c = 0`` without intercept).

    Parameters
    ----------
    stats : RidgeStats
    alpha : float or ndarray of shape (C,)
    fit_intercept : bool, default=True
    dtype : numpy dtype, default=np.float64
        Dtype of the eigen-decomposition and of the (P, P) x (P, C) products.

    Returns
    -------
    coef : ndarray of shape (P, C), float64
    intercept : ndarray of shape (C,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.solvers import ridge_stats, solve_ridge_stats
    >>> X = np.array([[0.0], [1.0], [2.0]]); Y = 2 * X + 1
    >>> coef, intercept = solve_ridge_stats(ridge_stats([X], [Y]), 1e-9)
    >>> np.round(coef, 6), np.round(intercept, 6)
    (array([[2.]]), array([1.]))
    """
    n_targets = stats.xy.shape[1]
    alpha = np.broadcast_to(check_alphas(alpha), (n_targets,))  # (C,)
    xx, xy, mx, my = centred_train(stats, fit_intercept)
    lam, V = eigh_psd(xx, dtype)  # (P,), (P, P)
    Z = V.T @ xy.astype(dtype)  # (P, C)
    scaled = (Z / (lam[:, None] + alpha[None, :])).astype(dtype)  # (P, C)
    coef = (V @ scaled).astype(np.float64)  # (P, C)
    intercept = my - mx @ coef  # (C,)
    return coef, intercept


def ridge_cv_stats(blocks, fold_train, fold_test, alphas, *, fit_intercept=True,
                   scoring="r2", dtype=np.float64, progress=None):
    """Cross-validated ridge with one alpha per target, from block statistics.

    Parameters
    ----------
    blocks : list of RidgeStats
        Statistics of disjoint groups of episodes (see :func:`split_blocks`).
    fold_train, fold_test : list of list of int
        Block indices of the training and validation part of each fold.
    alphas : array-like of shape (A,)
    fit_intercept : bool, default=True
    scoring : {"r2", "pearson", "neg_mean_squared_error"}, default="r2"
    dtype : numpy dtype
    progress : callable, optional
        Called with no argument after each fold and after the refit.

    Returns
    -------
    coef : ndarray of shape (P, C), float64
        Refit on all blocks with each target's best alpha.
    intercept : ndarray of shape (C,), float64
    best_alphas : ndarray of shape (C,)
    cv_scores : ndarray of shape (A, C)
        Validation score of each alpha and target, averaged over folds.
    """
    alphas = check_alphas(alphas)
    fold_scores = []
    for train_ids, test_ids in zip(fold_train, fold_test, strict=True):
        if not train_ids or not test_ids:
            raise ValueError("Every cross-validation split needs training and test episodes.")
        fold_scores.append(ridge_fold_scores(
            sum_stats(blocks, train_ids), sum_stats(blocks, test_ids), alphas,
            fit_intercept=fit_intercept, scoring=scoring, dtype=dtype,
        ))
        if progress is not None:
            progress()
    cv_scores = np.mean(fold_scores, axis=0)  # (A, C)
    best_alphas = alphas[np.argmax(cv_scores, axis=0)]  # (C,)
    coef, intercept = solve_ridge_stats(
        sum_stats(blocks, list(range(len(blocks)))), best_alphas, fit_intercept=fit_intercept,
        dtype=dtype,
    )
    if progress is not None:
        progress()
    return coef, intercept, best_alphas, cv_scores


def ridge_cv_episodes(pairs, splits, n_episodes: int, alphas, *, fit_intercept=True,
                      scoring="r2", dtype=np.float64, progress=None):
    """The one data pass of both ridges: sum each episode into its block, then cross-validate.

    ``pairs`` yields the design (T_e, P) and targets (T_e, C) of each episode in order
    (consumed lazily); ``splits`` are (train, test) episode-index arrays (see
    :func:`split_blocks`); ``progress`` is called after each episode, each fold and the
    refit. The other parameters and the result are those of :func:`ridge_cv_stats`.
    """
    block_of, fold_train, fold_test = split_blocks(splits, n_episodes)
    blocks = None
    for e, (x, y) in enumerate(pairs):  # (T_e, P), (T_e, C)
        if blocks is None:
            blocks = [RidgeStats.zeros(x.shape[1], y.shape[1], dtype)
                      for _ in range(int(block_of.max()) + 1)]
        blocks[block_of[e]].add(x, y)
        if progress is not None:
            progress()
    return ridge_cv_stats(blocks, fold_train, fold_test, alphas, fit_intercept=fit_intercept,
                          scoring=scoring, dtype=dtype, progress=progress)

"""Pure array functions behind the ridge baselines.

Everything here works on numpy arrays and knows nothing about estimators.

The cross-validated ridge solver works on *sufficient statistics* rather than on the
design matrix itself. For a set of time points with features ``x_t`` (P,) and targets
``y_t`` (C,), the statistics are

    n, sum_t x_t (P,), sum_t y_t (C,), sum_t x_t x_t^T (P, P), sum_t x_t y_t^T (P, C),
    sum_t y_t**2 (C,)

They add up over episodes, so the statistics of any cross-validation fold are sums of
per-block statistics computed in a single pass over the data. For each fold the training
Gram matrix is diagonalised once (``eigh``, the Gram form of the SVD used by himalaya's
``solve_ridge_cv_svd``); that one decomposition serves every alpha and every target.
The validation error, R^2 or Pearson r of every (alpha, target) pair then follows in
closed form from the validation fold's statistics, without ever forming predictions:
the cost per alpha is one (P, P) x (P, C) product, independent of the number of time
points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .._interrupt import interruptible
from ..scoring import metric_name

__all__ = [
    "RidgeStats",
    "delay_features",
    "ridge_stats",
    "split_blocks",
    "ridge_fold_scores",
    "solve_ridge_stats",
    "ridge_cv_stats",
    "ridge_cv_episodes",
    "CRITERIA",
    "DEFAULT_ALPHAS",
    "KIT_ALPHAS",
]

#: Validation criteria of the ridge's alpha selection: the metrics of
#: :data:`sklearn_crossenc.scoring.METRICS` that have a closed form here (a new metric is
#: refused until it gets one, never scored as another).
CRITERIA = ("r2", "pearson", "neg_mean_squared_error")
#: Default grid of :class:`CrossSubjectRidge`: 17 values from 1e-2 to 1e6.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-2, 6, 17))
#: The Algonauts 2025 development kit's alphas (``RidgeCV`` of its baseline).
KIT_ALPHAS = (1e6, 1e5, 1e4, 1e3, 100.0, 10.0, 1.0, 0.5, 0.1, 0.05, 0.01, 0.005, 1e-3, 1e-4,
              1e-5)


def _check_dtype(dtype, name: str = "dtype") -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dtype!r}.") from exc
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dtype!r}.")
    return dt


def _check_scoring(scoring, name: str = "scoring") -> str:
    """A criterion of :data:`CRITERIA` (old spellings warn; see ``metric_name``)."""
    scoring = metric_name(scoring, name)
    if scoring not in CRITERIA:
        raise ValueError(f"{name} {scoring!r} has no closed form in the ridge's solver; "
                         f"choose one of {', '.join(CRITERIA)}.")
    return scoring


# ----------------------------------------------------------------------------- features


def delay_features(x: np.ndarray, delays) -> np.ndarray:
    """Stack time-shifted copies of ``x`` side by side, zero-padded at the edges.

    Column block ``k`` holds ``x`` delayed by ``delays[k]`` time points: row ``t`` of
    the block is ``x[t - delays[k]]``, or zeros where ``t - delays[k]`` falls outside
    ``[0, n_times)``. A positive delay looks into the past, a negative one into the
    future. Applied to one episode at a time, so no delay crosses an episode boundary.

    Parameters
    ----------
    x : ndarray of shape (n_times, n_features)
    delays : sequence of int

    Returns
    -------
    x_delayed : ndarray of shape (n_times, len(delays) * n_features)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.ridge._solvers import delay_features
    >>> delay_features(np.array([[1.0], [2.0], [3.0]]), (-1, 0, 1))
    array([[2., 1., 0.],
           [3., 2., 1.],
           [0., 3., 2.]])
    """
    n_times, n_features = x.shape
    out = np.zeros((n_times, len(delays) * n_features), dtype=x.dtype)  # (T, D*F)
    for k, d in enumerate(delays):
        d = int(d)
        block = out[:, k * n_features:(k + 1) * n_features]  # (T, F) view
        if d >= 0:
            if d < n_times:
                block[d:] = x[:n_times - d]
        elif -d < n_times:
            block[:d] = x[-d:]
    return out


# ------------------------------------------------------------------ sufficient statistics


@dataclass
class RidgeStats:
    """Sufficient statistics of a set of time points for ridge regression.

    Attributes
    ----------
    n : int
        Number of time points.
    sx : ndarray of shape (P,), float64
    sy : ndarray of shape (C,), float64
    xx : ndarray of shape (P, P)
        ``X^T X``, in the compute dtype.
    xy : ndarray of shape (P, C)
        ``X^T Y``, in the compute dtype.
    yy : ndarray of shape (C,), float64
        Sum of squares of each target.
    """

    n: int
    sx: np.ndarray
    sy: np.ndarray
    xx: np.ndarray
    xy: np.ndarray
    yy: np.ndarray

    @classmethod
    def zeros(cls, n_features: int, n_targets: int, dtype) -> RidgeStats:
        return cls(
            0,
            np.zeros(n_features),
            np.zeros(n_targets),
            np.zeros((n_features, n_features), dtype=dtype),
            np.zeros((n_features, n_targets), dtype=dtype),
            np.zeros(n_targets),
        )

    def add(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Add the time points of ``X`` (T, P) and ``Y`` (T, C) in place."""
        self.xx += X.T @ X  # (P, P)
        self.xy += X.T @ Y  # (P, C)
        self.n += X.shape[0]
        self.sx += X.sum(axis=0, dtype=np.float64)
        self.sy += Y.sum(axis=0, dtype=np.float64)
        self.yy += np.einsum("tc,tc->c", Y, Y, dtype=np.float64)

    def __add__(self, other: RidgeStats) -> RidgeStats:
        return RidgeStats(
            self.n + other.n,
            self.sx + other.sx,
            self.sy + other.sy,
            self.xx + other.xx,
            self.xy + other.xy,
            self.yy + other.yy,
        )


def ridge_stats(Xs, Ys, dtype=np.float64) -> RidgeStats:
    """Sufficient statistics of the concatenation of ``Xs`` and ``Ys``.

    Parameters
    ----------
    Xs : iterable of ndarray of shape (n_times_i, P)
    Ys : iterable of ndarray of shape (n_times_i, C)
    dtype : numpy dtype
        Dtype of the products ``X^T X`` and ``X^T Y``.

    Returns
    -------
    stats : RidgeStats
    """
    stats = None
    for X, Y in zip(Xs, Ys, strict=True):
        X = np.asarray(X, dtype=dtype)
        Y = np.asarray(Y, dtype=dtype)
        if stats is None:
            stats = RidgeStats.zeros(X.shape[1], Y.shape[1], dtype)
        stats.add(X, Y)
    if stats is None:
        raise ValueError("ridge_stats got no data.")
    return stats


def split_blocks(splits, n_episodes: int):
    """Group episodes into blocks that every split treats alike.

    Parameters
    ----------
    splits : list of (train, test) pairs of episode indices
    n_episodes : int

    Returns
    -------
    block_of : ndarray of shape (n_episodes,), int
        Block index of each episode.
    fold_train, fold_test : list of list of int
        For each split, the blocks of its training and of its validation episodes.

    Two episodes share a block when they are in the training set of the same splits and
    in the test set of the same splits; for ``KFold(k)`` there are ``k`` blocks. The
    statistics of a fold are then a sum of block statistics.
    """
    n_splits = len(splits)
    role = np.zeros((n_episodes, n_splits), dtype=np.int8)  # (E, F): 0 out, 1 train, 2 test
    for f, (train, test) in enumerate(splits):
        role[np.asarray(train, dtype=int), f] = 1
        role[np.asarray(test, dtype=int), f] = 2
    signatures, block_of = np.unique(role, axis=0, return_inverse=True)  # (B, F), (E,)
    block_of = np.asarray(block_of).ravel()
    fold_train = [list(np.flatnonzero(signatures[:, f] == 1)) for f in range(n_splits)]
    fold_test = [list(np.flatnonzero(signatures[:, f] == 2)) for f in range(n_splits)]
    return block_of, fold_train, fold_test


def _sum_stats(blocks, ids) -> RidgeStats:
    total = blocks[ids[0]]
    for i in ids[1:]:
        total = total + blocks[i]
    return total


# ---------------------------------------------------------------------------- solvers


def _centred_train(stats: RidgeStats, fit_intercept: bool):
    """Centred Gram (P, P) and cross-product (P, C) in float64, with the means."""
    xx = stats.xx.astype(np.float64)  # (P, P)
    xy = stats.xy.astype(np.float64)  # (P, C)
    if not fit_intercept:
        return xx, xy, np.zeros_like(stats.sx), np.zeros_like(stats.sy)
    mx = stats.sx / stats.n  # (P,)
    my = stats.sy / stats.n  # (C,)
    xx -= stats.n * np.outer(mx, mx)
    xy -= stats.n * np.outer(mx, my)
    return xx, xy, mx, my


def _eigh(xx: np.ndarray, dtype=np.float64):
    """Eigen-decomposition of a symmetric PSD matrix in ``dtype``; rounding negatives -> 0.

    Returns float64 eigenvalues (P,) and eigenvectors (P, P) in ``dtype``.
    """
    a = np.array(xx, dtype=dtype)  # (P, P) a copy that eigh may overwrite
    if a.shape[0] <= 1:  # scipy's "evd" sizes its workspace wrongly for P = 1 (scipy 1.11)
        return np.maximum(np.diagonal(a).astype(np.float64), 0.0), np.eye(a.shape[0], dtype=dtype)
    # One LAPACK call of up to ~15 s at P ~ 10^4: interruptible keeps Ctrl-C prompt.
    lam, V = interruptible(linalg.eigh, a, overwrite_a=True, check_finite=False,
                           driver="evd")  # (P,), (P, P)
    return np.maximum(lam.astype(np.float64), 0.0), V


def _check_alphas(alphas, name: str = "alphas") -> np.ndarray:
    if isinstance(alphas, (str, bytes)) or np.asarray(alphas).dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a sequence of numbers; got {alphas!r}.")
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence; got shape {alphas.shape}.")
    if not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError(f"{name} must be finite and > 0; got {alphas.tolist()}.")
    return alphas


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
    >>> from sklearn_crossenc.ridge._solvers import ridge_stats, solve_ridge_stats
    >>> X = np.array([[0.0], [1.0], [2.0]]); Y = 2 * X + 1
    >>> coef, intercept = solve_ridge_stats(ridge_stats([X], [Y]), 1e-9)
    >>> np.round(coef, 6), np.round(intercept, 6)
    (array([[2.]]), array([1.]))
    """
    n_targets = stats.xy.shape[1]
    alpha = np.broadcast_to(_check_alphas(alpha), (n_targets,))  # (C,)
    xx, xy, mx, my = _centred_train(stats, fit_intercept)
    lam, V = _eigh(xx, dtype)  # (P,), (P, P)
    Z = V.T @ xy.astype(dtype)  # (P, C)
    scaled = (Z / (lam[:, None] + alpha[None, :])).astype(dtype)  # (P, C)
    coef = (V @ scaled).astype(np.float64)  # (P, C)
    intercept = my - mx @ coef  # (C,)
    return coef, intercept


def ridge_fold_scores(train: RidgeStats, val: RidgeStats, alphas, *, fit_intercept=True,
                      scoring="r2", dtype=np.float64) -> np.ndarray:
    """Validation score of every alpha for every target, from sufficient statistics.

    Fits ridge on ``train`` for each alpha (one ``eigh`` for all alphas and targets)
    and evaluates it on ``val`` exactly as if predictions had been formed.

    Parameters
    ----------
    train, val : RidgeStats
    alphas : ndarray of shape (A,)
    fit_intercept : bool, default=True
    scoring : {"r2", "pearson", "neg_mean_squared_error"}, default="r2"
        Coefficient of determination, Pearson correlation, or minus the mean squared
        error of the validation predictions, per target (higher is better).
    dtype : numpy dtype, default=np.float64
        Dtype of the eigen-decomposition and of the (P, P) products; sums, centring and
        the final reductions are float64.

    Returns
    -------
    scores : ndarray of shape (A, C), float64
    """
    alphas = _check_alphas(alphas)
    scoring = _check_scoring(scoring)
    if val.n == 0:
        raise ValueError("A validation fold holds no time points.")
    xx, xy, mx, my = _centred_train(train, fit_intercept)
    lam, V = _eigh(xx, dtype)  # (P,) float64, (P, P) dtype
    Z = (V.T @ xy.astype(dtype)).astype(np.float64)  # (P, C) training cross-product, eigenbasis

    # Validation statistics around the *training* means: predictions minus my are
    # (x - mx) @ W, residuals are (y - my) - (x - mx) @ W. Centring in float64.
    nv = val.n
    sxc = val.sx - nv * mx  # (P,)
    syc = val.sy - nv * my  # (C,)
    xxc = (val.xx.astype(np.float64) - np.outer(val.sx, mx) - np.outer(mx, val.sx)
           + nv * np.outer(mx, mx)).astype(dtype)  # (P, P)
    xyc = (val.xy.astype(np.float64) - np.outer(val.sx, my) - np.outer(mx, val.sy)
           + nv * np.outer(mx, my)).astype(dtype)  # (P, C)
    yyc = val.yy - 2.0 * my * val.sy + nv * my**2  # (C,)
    sst = val.yy - val.sy**2 / nv  # (C,) centred on the validation mean

    G = interruptible(np.linalg.multi_dot, [V.T, xxc, V])  # (P, P) validation Gram, eigenbasis
    H = (V.T @ xyc).astype(np.float64)  # (P, C)
    g = V.T.astype(np.float64) @ sxc  # (P,)

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
    alphas = _check_alphas(alphas)
    fold_scores = []
    for train_ids, test_ids in zip(fold_train, fold_test, strict=True):
        if not train_ids or not test_ids:
            raise ValueError("Every cross-validation split needs training and test episodes.")
        fold_scores.append(ridge_fold_scores(
            _sum_stats(blocks, train_ids), _sum_stats(blocks, test_ids), alphas,
            fit_intercept=fit_intercept, scoring=scoring, dtype=dtype,
        ))
        if progress is not None:
            progress()
    cv_scores = np.mean(fold_scores, axis=0)  # (A, C)
    best_alphas = alphas[np.argmax(cv_scores, axis=0)]  # (C,)
    coef, intercept = solve_ridge_stats(
        _sum_stats(blocks, list(range(len(blocks)))), best_alphas, fit_intercept=fit_intercept,
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

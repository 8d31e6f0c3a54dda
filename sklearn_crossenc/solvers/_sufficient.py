"""Sufficient statistics of ridge regression, and the checks of a solver's inputs.

Everything here works on numpy arrays and knows nothing about estimators. For a set of
time points with features ``x_t`` (P,) and targets ``y_t`` (C,), the statistics are

    n, sum_t x_t (P,), sum_t y_t (C,), sum_t x_t x_t^T (P, P), sum_t x_t y_t^T (P, C),
    sum_t y_t**2 (C,)

They add up over episodes, so the statistics of any cross-validation fold are sums of
per-block statistics (:func:`split_blocks`, :func:`sum_stats`) computed in a single pass
over the data. A fold's training Gram matrix, centred (:func:`centred_train`), is
diagonalised once (:func:`eigh_psd`) for every penalty and target.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .._interrupt import interruptible

__all__ = ["RidgeStats", "ridge_stats", "split_blocks", "sum_stats", "centred_train",
           "eigh_psd", "delay_features", "check_alphas", "check_delays", "check_dtype"]


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as float32 or float64 (the compute dtypes of the solvers)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dtype!r}.") from exc
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be 'float32' or 'float64'; got {dtype!r}.")
    return dt


def check_alphas(alphas, name: str = "alphas") -> np.ndarray:
    """``alphas`` as a non-empty 1-D float64 array of finite values > 0."""
    if isinstance(alphas, (str, bytes)) or np.asarray(alphas).dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a sequence of numbers; got {alphas!r}.")
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence; got shape {alphas.shape}.")
    if not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
        raise ValueError(f"{name} must be finite and > 0; got {alphas.tolist()}.")
    return alphas


def check_delays(delays, name: str = "delays") -> tuple[int, ...]:
    """``delays`` as a tuple of distinct ints; a clear error otherwise.

    Examples
    --------
    >>> from sklearn_crossenc.solvers import check_delays
    >>> check_delays(range(-1, 2))
    (-1, 0, 1)
    """
    values = tuple(np.atleast_1d(np.asarray(delays, dtype=object)).tolist())
    if not values or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                             for d in values):
        raise ValueError(f"{name} must be a non-empty tuple of ints; got {delays!r}.")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value; got {delays!r}.")
    return tuple(int(d) for d in values)


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
    >>> from sklearn_crossenc.solvers import delay_features
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


def sum_stats(blocks, ids) -> RidgeStats:
    """The sum of ``blocks[i]`` for ``i`` in ``ids`` (a non-empty list of indices)."""
    total = blocks[ids[0]]
    for i in ids[1:]:
        total = total + blocks[i]
    return total


def centred_train(stats: RidgeStats, fit_intercept: bool):
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


def eigh_psd(xx: np.ndarray, dtype=np.float64):
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

"""Pearson correlation metrics and scorers for episode-structured predictions.

The score is the seed notebook's: for each subject, the Pearson correlation of each
parcel over the concatenated time points of all episodes, averaged over parcels, then
over subjects. Optionally the first and last ``trim`` time points of every episode are
left out first (the Algonauts challenge drops 5 at each end; the seed drops none).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_predictions, check_trim

__all__ = [
    "pearson_r",
    "pearson_map",
    "pearson_score",
    "pearson_scorer",
    "make_pearson_scorer",
    "challenge_map",
    "challenge_score",
    "CHALLENGE_TRIM",
]

#: Time points the Algonauts 2025 scoring program drops at each end of every run.
CHALLENGE_TRIM = 5

#: The seed's epsilon, added to norms (kept for code that mirrors the seed's formula).
EPS = 1e-7
#: A column whose spread (max |y - mean|) is at most RTOL times its magnitude
#: (max |y|) counts as constant: its r is 0. Rounding of the mean leaves ~1e-15.
RTOL = 1e-10


def _unit_columns(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centred columns of unit norm, and a mask of the columns that are not constant.

    Each column is divided by its largest deviation first, so no square under- or
    overflows whatever the scale; a constant column is left at 0.
    """
    dev = y - y.mean(axis=0)  # (T, C)
    spread = np.abs(dev).max(axis=0, initial=0.0)  # (C,)
    ok = spread > RTOL * np.abs(y).max(axis=0, initial=0.0)
    u = np.divide(dev, spread, out=np.zeros_like(dev), where=ok)  # entries in [-1, 1]
    norm = np.linalg.norm(u, axis=0)  # >= 1 where ok
    return np.divide(u, norm, out=u, where=ok), ok


def pearson_r(y_true, y_pred) -> np.ndarray:
    """Pearson correlation of each column of two 2-D arrays.

    The seed notebook's ``pearsonr_score`` centres each column and divides it by its
    norm plus ``1e-7``; that epsilon makes the score depend on the data's scale below
    ~1e-3 (an r of 1 becomes 0.5 at norms of 1e-7). Here the division is guarded
    instead, so r is unchanged when either array is multiplied by a positive number of
    any scale. At fMRI scales (values of order 0.1-1, hundreds of time points) it
    equals the seed's metric to ~1e-8. A constant column (spread at most
    ``RTOL = 1e-10`` of its magnitude) gives 0, as the seed's epsilon does; a column
    holding NaN or Inf gives NaN. Computed in float64.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_times, n_columns)

    Returns
    -------
    r : ndarray of shape (n_columns,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.metrics import pearson_r
    >>> t = np.arange(10.0)[:, None]
    >>> np.round(pearson_r(t, 2 * t + 1), 6)
    array([1.])
    >>> np.round(pearson_r(1e-9 * t, 1e-9 * t ** 2), 6) == np.round(pearson_r(t, t ** 2), 6)
    array([ True])
    >>> pearson_r(np.ones((5, 1)), t[:5])
    array([0.])
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"pearson_r needs two 2-D arrays of the same shape; got {y_true.shape} "
            f"and {y_pred.shape}."
        )
    a, ok_a = _unit_columns(y_true)  # (T, C)
    b, ok_b = _unit_columns(y_pred)  # (T, C)
    r = np.where(ok_a & ok_b, np.einsum("tc,tc->c", a, b), 0.0)
    # A NaN or Inf anywhere in a column (a diverged model) shows as NaN, never as 0.
    bad = ~(np.isfinite(y_true).all(axis=0) & np.isfinite(y_pred).all(axis=0))
    return np.where(bad, np.nan, r)


#: Values of a block of parcels over all time points in :func:`pearson_map` (32 MiB in
#: float64 per temporary).
_BLOCK_FLOATS = 2**22


def _trimmed(ep: np.ndarray, trim: int) -> np.ndarray:
    return ep[:, trim: ep.shape[1] - trim] if trim else ep


def pearson_map(y_true, y_pred, *, trim: int = 0) -> np.ndarray:
    """Per-subject, per-parcel Pearson correlation over concatenated episodes.

    Parameters
    ----------
    y_true, y_pred : episodes
        4-D arrays ``(episodes, subjects, time, parcels)`` or lists of 3-D arrays
        ``(subjects, time_i, parcels)`` with matching shapes.
    trim : int, default=0
        Time points left out at the start and at the end of every episode.

    Returns
    -------
    r : ndarray of shape (n_subjects, n_parcels)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.metrics import pearson_map
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 2, 20, 4))
    >>> pearson_map(y, y).round(6)
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """
    trim, yt, yp = check_predictions(y_true, y_pred, trim=trim)
    n_subjects, n_parcels = yt[0].shape[0], yt[0].shape[2]
    n_times = sum(ep.shape[1] - 2 * trim for ep in yt)
    # Blocks of parcels bound the float64 temporaries (runs streamed from disk are read a
    # block at a time): each column's r is computed on its own either way.
    step = max(1, _BLOCK_FLOATS // max(n_times, 1))
    out = np.empty((n_subjects, n_parcels))
    for s in range(n_subjects):
        for c in range(0, n_parcels, step):
            a = np.concatenate([_trimmed(ep, trim)[s, :, c:c + step] for ep in yt], axis=0)
            b = np.concatenate([_trimmed(ep, trim)[s, :, c:c + step] for ep in yp], axis=0)
            out[s, c:c + step] = pearson_r(a, b)
    return out


def pearson_score(y_true, y_pred, *, trim: int = 0) -> float:
    """Mean Pearson correlation: over parcels, then over subjects (the seed's metric).

    Parameters
    ----------
    y_true, y_pred : episodes
        See :func:`pearson_map`.
    trim : int, default=0
        Time points left out at each end of every episode.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.metrics import pearson_score
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 2, 50, 4))
    >>> round(pearson_score(y, y), 6)
    1.0
    """
    return float(pearson_map(y_true, y_pred, trim=trim).mean(axis=1).mean())


def challenge_map(y_true, y_pred, groups, *, trim: int = CHALLENGE_TRIM):
    """Per-subject, per-group, per-parcel Pearson r under the challenge's rule.

    The Algonauts 2025 scoring program drops the first and last ``trim`` time points of
    every run, concatenates the runs of one movie (a Friends season, a Movie10 movie) and
    correlates each parcel over them.

    Parameters
    ----------
    y_true, y_pred : episodes
        See :func:`pearson_map`.
    groups : sequence of str
        The group (movie) of each episode, e.g. ``"s06"`` or ``"figures"``.
    trim : int, default=5

    Returns
    -------
    r : ndarray of shape (n_subjects, n_groups, n_parcels)
    names : list of str
        The groups in order of first appearance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 2, 30, 4))
    >>> r, names = challenge_map(y, y, ["a", "b", "a"])
    >>> r.shape, names
    ((2, 2, 4), ['a', 'b'])
    """
    trim, yt, yp = check_predictions(y_true, y_pred, trim=trim)
    groups = list(groups)
    if len(groups) != len(yt):
        raise ValueError(f"groups names {len(groups)} episodes; there are {len(yt)}")
    names = list(dict.fromkeys(groups))
    maps = [pearson_map([yt[i] for i, g in enumerate(groups) if g == name],
                        [yp[i] for i, g in enumerate(groups) if g == name], trim=trim)
            for name in names]  # G x (S, C)
    return np.stack(maps, axis=1), names  # (S, G, C)


def challenge_score(y_true, y_pred, groups, *, trim: int = CHALLENGE_TRIM) -> float:
    """The challenge's score: :func:`challenge_map` averaged over parcels, then groups,
    then subjects.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).standard_normal((2, 2, 30, 4))
    >>> round(challenge_score(y, y, ["s06", "s06"]), 6)
    1.0
    """
    r, _ = challenge_map(y_true, y_pred, groups, trim=trim)
    return float(r.mean(axis=2).mean(axis=1).mean())


def _self_target(estimator, X):
    """The target an unsupervised cross-subject fit predicts: ``X`` as the last step sees it.

    For a :class:`~sklearn.pipeline.Pipeline`, ``X`` goes through every step but the
    last, so a pipeline that z-scores its input is scored against the z-scored data,
    exactly as ``Pipeline.score(X)`` does.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1].transform(X)
    return X


class _PearsonScorer:
    """Callable ``(estimator, X, y=None) -> float`` usable as ``scoring=``."""

    def __init__(self, trim: int = 0):
        self.trim = trim

    def __call__(self, estimator, X, y=None, **kwargs):
        y_pred = estimator.predict(X)
        y_true = y if y is not None else _self_target(estimator, X)
        return self._score(y_true, y_pred)

    def _score(self, y_true, y_pred) -> float:
        return pearson_score(y_true, y_pred, trim=self.trim)

    def __repr__(self):
        return f"make_pearson_scorer(trim={self.trim})"


def make_pearson_scorer(trim: int = 0):
    """Make a scorer for ``GridSearchCV`` / ``cross_validate`` from the seed's metric.

    The scorer calls ``estimator.predict(X)`` and compares it with ``y``, or, when
    ``y`` is None (cross-subject encoding predicts its own input), with ``X`` as the
    final estimator sees it (after the transforms of a ``Pipeline``).

    Parameters
    ----------
    trim : int, default=0
        Time points left out at each end of every episode (the challenge uses 5).

    Returns
    -------
    scorer : callable ``(estimator, X, y=None) -> float``

    Examples
    --------
    >>> from sklearn_crossenc.metrics import make_pearson_scorer
    >>> make_pearson_scorer(trim=5)
    make_pearson_scorer(trim=5)
    """
    trim = check_trim(trim)
    return _PearsonScorer(trim)


#: The seed's metric as a scorer (no trimming); see :func:`make_pearson_scorer`.
pearson_scorer = make_pearson_scorer(0)

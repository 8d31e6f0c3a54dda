"""Episode scorers for ``scoring=``: Pearson r, mean squared error and R².

Every metric here follows the seed's reduction: for each subject and parcel the metric is
computed over the concatenated time points of all episodes (the first and last ``trim``
of every episode left out), then averaged over parcels, then over subjects.

scikit-learn's string scorers (``scoring="r2"``, ``"neg_mean_squared_error"``) need a
2-D ``y``: with episodes they give NaN (``y=None``) or an error (4-D ``y``). Use
:data:`EPISODE_SCORERS` (or :func:`make_episode_scorer`) instead::

    GridSearchCV(CrossSubjectEncoder(), grid, scoring=EPISODE_SCORERS, refit="pearson")
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validation import check_predictions, check_trim
from .metrics import _PearsonScorer, _trimmed, pearson_map, pearson_scorer

__all__ = [
    "EPISODE_SCORERS",
    "METRICS",
    "metric_name",
    "make_episode_scorer",
    "make_episode_scorers",
    "mse_map",
    "pearson_scorer",
    "r2_map",
]


def _subject_series(y_true, y_pred, trim: int):
    """Yield ``(true, pred)`` per subject: (n_times, n_parcels) float64 over all episodes."""
    trim = check_trim(trim)
    trim, yt, yp = check_predictions(y_true, y_pred, trim=trim, min_length=2 * trim + 1)
    for s in range(yt[0].shape[0]):
        a = np.concatenate([_trimmed(ep, trim)[s] for ep in yt], axis=0)  # (T, C)
        b = np.concatenate([_trimmed(ep, trim)[s] for ep in yp], axis=0)  # (T, C)
        yield a.astype(np.float64), b.astype(np.float64)


def mse_map(y_true, y_pred, *, trim: int = 0) -> np.ndarray:
    """Mean squared error per subject and parcel over the concatenated episodes.

    Parameters
    ----------
    y_true, y_pred : episodes
        4-D arrays ``(episodes, subjects, time, parcels)`` or lists of 3-D arrays.
    trim : int, default=0
        Time points left out at each end of every episode.

    Returns
    -------
    mse : ndarray of shape (n_subjects, n_parcels)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.scoring import mse_map
    >>> y = np.zeros((2, 1, 4, 2))
    >>> mse_map(y, y + 3.0)
    array([[9., 9.]])
    """
    return np.stack([((a - b) ** 2).mean(axis=0) for a, b in _subject_series(y_true, y_pred, trim)])


def r2_map(y_true, y_pred, *, trim: int = 0) -> np.ndarray:
    """Coefficient of determination per subject and parcel over the concatenated episodes.

    ``1 - sum((y - p)^2) / sum((y - mean(y))^2)``, the mean taken over the concatenated
    time points. A constant target parcel scores 1 when predicted exactly, else 0
    (scikit-learn's ``r2_score`` with ``force_finite=True``).

    Parameters
    ----------
    y_true, y_pred : episodes
    trim : int, default=0

    Returns
    -------
    r2 : ndarray of shape (n_subjects, n_parcels)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.scoring import r2_map
    >>> y = np.arange(8.0).reshape(1, 1, 8, 1)
    >>> r2_map(y, y), r2_map(y, np.full_like(y, y.mean()))
    (array([[1.]]), array([[0.]]))
    """
    out = []
    for a, b in _subject_series(y_true, y_pred, trim):
        ss_res = ((a - b) ** 2).sum(axis=0)  # (C,)
        ss_tot = ((a - a.mean(axis=0)) ** 2).sum(axis=0)  # (C,)
        safe = np.where(ss_tot > 0, ss_tot, 1.0)
        out.append(np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0)))
    return np.stack(out)


#: Metric name -> (per-subject, per-parcel map, sign that makes greater better).
METRICS = {
    "pearson": (pearson_map, 1.0),
    "r2": (r2_map, 1.0),
    "neg_mean_squared_error": (mse_map, -1.0),
}


#: Old spellings of metric names, accepted with a FutureWarning for one release.
DEPRECATED_NAMES = {"mse": "neg_mean_squared_error", "neg_mse": "neg_mean_squared_error"}


def metric_name(name, argument: str = "metric") -> str:
    """The name of a metric of :data:`METRICS`, checked (one spelling for each metric).

    Parameters
    ----------
    name : str
        A key of :data:`METRICS`; the old spellings ``"mse"`` and ``"neg_mse"`` of
        ``"neg_mean_squared_error"`` are accepted with a ``FutureWarning``.
    argument : str, default="metric"
        The argument's name in the error message.

    Examples
    --------
    >>> from sklearn_crossenc.scoring import metric_name
    >>> metric_name("r2")
    'r2'
    >>> metric_name("rmse", "scoring")
    Traceback (most recent call last):
    ...
    ValueError: scoring must be one of 'pearson', 'r2', 'neg_mean_squared_error'; got 'rmse'.
    """
    if name in DEPRECATED_NAMES:
        warnings.warn(f"{argument} {name!r} is deprecated; use {DEPRECATED_NAMES[name]!r}.",
                      FutureWarning, stacklevel=3)
        return DEPRECATED_NAMES[name]
    if name not in METRICS:
        names = ", ".join(repr(m) for m in METRICS)
        raise ValueError(f"{argument} must be one of {names}; got {name!r}.")
    return name


class _EpisodeScorer(_PearsonScorer):
    """Callable ``(estimator, X, y=None) -> float`` usable as ``scoring=``: the Pearson
    scorer's target rule with any metric of :data:`METRICS`."""

    def __init__(self, metric: str, trim: int = 0):
        self.metric = metric
        self.trim = trim

    def _score(self, y_true, y_pred) -> float:
        map_fn, sign = METRICS[self.metric]
        return sign * float(map_fn(y_true, y_pred, trim=self.trim).mean(axis=1).mean())

    def __repr__(self):
        return f"make_episode_scorer({self.metric!r}, trim={self.trim})"


def make_episode_scorer(metric: str = "pearson", *, trim: int = 0):
    """A scorer of episode predictions for ``GridSearchCV``, ``cross_validate``, curves.

    The scorer calls ``estimator.predict(X)`` and compares it with ``y``, or, when ``y``
    is None (cross-subject encoding predicts its own input), with ``X`` as the final
    estimator sees it (after the transforms of a ``Pipeline``).

    Parameters
    ----------
    metric : {"pearson", "r2", "neg_mean_squared_error"}, default="pearson"
        Greater is better for all three (the MSE is negated, as in scikit-learn).
    trim : int, default=0
        Time points left out at each end of every episode (the challenge uses 5).

    Returns
    -------
    scorer : callable ``(estimator, X, y=None) -> float``

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc import MeanOfOthers
    >>> from sklearn_crossenc.scoring import make_episode_scorer
    >>> X = np.random.default_rng(0).standard_normal((2, 3, 20, 4))
    >>> scorer = make_episode_scorer("neg_mean_squared_error", trim=2)
    >>> scorer
    make_episode_scorer('neg_mean_squared_error', trim=2)
    >>> scorer(MeanOfOthers().fit(X), X) < 0
    True
    """
    return _EpisodeScorer(metric_name(metric), check_trim(trim))


def make_episode_scorers(trim: int = 0) -> dict:
    """``{"pearson": ..., "r2": ..., "neg_mean_squared_error": ...}`` with one ``trim``.

    Examples
    --------
    >>> from sklearn_crossenc.scoring import make_episode_scorers
    >>> sorted(make_episode_scorers(trim=5))
    ['neg_mean_squared_error', 'pearson', 'r2']
    """
    return {name: make_episode_scorer(name, trim=trim) for name in METRICS}


#: The three episode scorers without trimming, for ``scoring=`` (multi-metric searches).
EPISODE_SCORERS = make_episode_scorers(0)

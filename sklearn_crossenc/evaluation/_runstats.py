"""Per-run sufficient statistics of (y_true, y_pred) and Pearson r from their weighted sums.

For each run ``r``, subject ``s`` and parcel ``c`` we keep the number of time points and
the sums ``Sy, Sp, Syy, Spp, Syp``. The Pearson correlation over any multiset of whole
runs (a bootstrap resample, a leave-one-run-out jackknife sample, all runs) is then a
function of the count-weighted sums of these statistics, so thousands of resamples cost
a matrix product each instead of a pass over the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_episodes, check_same_structure

__all__ = ["RunStatistics", "run_statistics", "pearson_from_sums"]

_FIELDS = ("sy", "sp", "syy", "spp", "syp")


@dataclass(frozen=True)
class RunStatistics:
    """Sufficient statistics of one model's predictions, per run, subject and parcel.

    Attributes
    ----------
    n : ndarray of shape (n_runs,)
        Time points per run (after trimming).
    sy, sp, syy, spp, syp : ndarray of shape (n_runs, n_subjects, n_parcels)
        Sums of y, of the prediction p, of y**2, of p**2 and of y*p over each run's time
        points, in float64.
    """

    n: np.ndarray
    sy: np.ndarray
    sp: np.ndarray
    syy: np.ndarray
    spp: np.ndarray
    syp: np.ndarray

    @property
    def n_runs(self) -> int:
        return int(self.n.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_subjects, n_parcels)``."""
        return tuple(self.sy.shape[1:])

    def stacked(self) -> np.ndarray:
        """All sums as one array of shape (5, n_runs, n_subjects * n_parcels)."""
        return np.stack([getattr(self, f).reshape(self.n_runs, -1) for f in _FIELDS])


def run_statistics(y_true, y_pred, *, trim: int = 0) -> RunStatistics:
    """Per-run sufficient statistics of a model's predictions, for fast resampling.

    Parameters
    ----------
    y_true, y_pred : episodes
        4-D arrays ``(runs, subjects, time, parcels)`` or lists of 3-D arrays
        ``(subjects, time_i, parcels)`` with matching shapes (for example
        ``list(data.values())`` and the model's ``predict`` of it).
    trim : int, default=0
        Time points left out at the start and at the end of every run, as in
        :func:`sklearn_crossenc.metrics.pearson_map`.

    Returns
    -------
    stats : RunStatistics

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, pearson_from_sums
    >>> from sklearn_crossenc.metrics import pearson_map
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 2, 40, 5))
    >>> p = y + rng.standard_normal(y.shape)
    >>> st = run_statistics(y, p)
    >>> st.n, st.shape
    (array([40, 40, 40]), (2, 5))
    >>> np.allclose(pearson_from_sums(st, np.ones(3)), pearson_map(y, p))
    True
    """
    trim = int(trim)
    if trim < 0:
        raise ValueError(f"trim must be >= 0; got {trim}.")
    yt = check_episodes(y_true, name="y_true", dtype=None, min_length=2 * trim + 2)
    yp = check_episodes(y_pred, name="y_pred", dtype=None)
    check_same_structure(yt, yp, names=("y_true", "y_pred"))
    if yt[0].shape[2] != yp[0].shape[2]:
        raise ValueError(f"y_true has {yt[0].shape[2]} parcels but y_pred has {yp[0].shape[2]}.")
    n = np.array([ep.shape[1] - 2 * trim for ep in yt])
    sums = {f: np.empty((len(yt),) + (yt[0].shape[0], yt[0].shape[2])) for f in _FIELDS}
    for r, (a, b) in enumerate(zip(yt, yp, strict=True)):
        a = np.asarray(a[:, trim: a.shape[1] - trim], np.float64)  # (S, T, C)
        b = np.asarray(b[:, trim: b.shape[1] - trim], np.float64)  # (S, T, C)
        sums["sy"][r] = a.sum(axis=1)
        sums["sp"][r] = b.sum(axis=1)
        sums["syy"][r] = np.einsum("stc,stc->sc", a, a)
        sums["spp"][r] = np.einsum("stc,stc->sc", b, b)
        sums["syp"][r] = np.einsum("stc,stc->sc", a, b)
    return RunStatistics(n=n, **sums)


#: Relative variance below which a series counts as constant (see ``_pearson``).
VAR_RTOL = 1e-10


def _pearson(n, sy, sp, syy, spp, syp):
    """Pearson r from summed statistics; broadcasts. Matches ``metrics.pearson_r``.

    The division is guarded like ``pearson_r``'s (no epsilon, so no scale dependence);
    a variance below ``VAR_RTOL`` of the mean square (sums lose ~n * 1e-16 of it to
    rounding) counts as a constant series, whose r is 0.
    """
    n = np.maximum(n, 1)
    vy = np.maximum(syy - sy * sy / n, 0.0)
    vp = np.maximum(spp - sp * sp / n, 0.0)
    cov = syp - sy * sp / n
    ok = (vy > VAR_RTOL * syy) & (vp > VAR_RTOL * spp)
    den = np.sqrt(np.where(ok, vy, 1.0)) * np.sqrt(np.where(ok, vp, 1.0))
    return np.where(ok, cov / den, 0.0)


def pearson_from_sums(stats: RunStatistics, weights) -> np.ndarray:
    """Per-subject, per-parcel Pearson r over runs repeated ``weights`` times.

    Parameters
    ----------
    stats : RunStatistics
    weights : array-like of shape (n_runs,) or (n_samples, n_runs)
        How often each run enters (bootstrap counts; 1 everywhere for all runs, a 0 to
        leave a run out).

    Returns
    -------
    r : ndarray of shape (n_subjects, n_parcels) or (n_samples, n_subjects, n_parcels)
        The value :func:`~sklearn_crossenc.metrics.pearson_map` gives on the
        concatenation of the weighted runs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, pearson_from_sums
    >>> rng = np.random.default_rng(1)
    >>> y = rng.standard_normal((2, 1, 30, 3))
    >>> st = run_statistics(y, 2 * y)
    >>> pearson_from_sums(st, [[1, 1], [2, 0]]).round(6)
    array([[[1., 1., 1.]],
    <BLANKLINE>
           [[1., 1., 1.]]])
    """
    w = np.asarray(weights, dtype=np.float64)
    single = w.ndim == 1
    w = np.atleast_2d(w)  # (B, R)
    if w.shape[1] != stats.n_runs:
        raise ValueError(f"weights cover {w.shape[1]} runs but stats hold {stats.n_runs}.")
    summed = np.einsum("br,frk->fbk", w, stats.stacked())  # (5, B, S*C)
    n = (w @ stats.n)[:, None]  # (B, 1)
    r = _pearson(n, *summed).reshape((w.shape[0],) + stats.shape)  # (B, S, C)
    return r[0] if single else r

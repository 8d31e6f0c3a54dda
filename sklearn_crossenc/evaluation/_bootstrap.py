"""Intervals for mean scores and paired model comparisons, resampling whole runs.

Runs are the independent units: time points within a run are autocorrelated (the
haemodynamic response, slow drifts), so resampling time points would understate the
uncertainty, while different runs show different stimuli. Resamples draw run indices
with replacement and apply the *same* draw to every subject and every model: all
subjects saw the same run (their scores are correlated through the stimulus) and a paired
comparison must compare two models on identical data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ._intervals import check_confidence, check_method, fdr_bh, interval, p_value
from ._runstats import RunStatistics, pearson_from_sums

__all__ = ["ScoreInterval", "PairedComparison", "bootstrap_score", "bootstrap_scores",
           "paired_comparison", "resample_counts"]

_CHUNK_VALUES = 4_000_000  # resamples x subjects x parcels handled per matrix product


@dataclass(frozen=True)
class ScoreInterval:
    """A mean score (over parcels, then subjects) with its confidence interval.

    Attributes
    ----------
    estimate : float
        The score on all runs (what ``pearson_score`` gives).
    low, high : float
        Interval bounds.
    confidence : float
    method : str
    distribution : ndarray of shape (n_resamples,)
        The score on each bootstrap resample.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    distribution: np.ndarray


@dataclass(frozen=True)
class PairedComparison:
    """Model A minus model B on the same runs: mean difference and per-parcel tests.

    Attributes
    ----------
    difference, low, high, p_value : float
        Mean-score difference (A - B), its interval and two-sided p-value (H0: 0).
    parcel_difference : ndarray of shape (n_parcels,)
        Per-parcel difference of r, averaged over subjects.
    parcel_p_value, parcel_p_adjusted : ndarray of shape (n_parcels,)
        Per-parcel two-sided p-values, raw and Benjamini-Hochberg adjusted.
    parcel_significant : ndarray of bool, shape (n_parcels,)
        Parcels whose difference is significant at false-discovery rate ``fdr``.
    n_better, n_worse : int
        Significant parcels where A beats B, and where B beats A.
    confidence, fdr : float
    method : str
    distribution : ndarray of shape (n_resamples,)
        The mean difference on each bootstrap resample.
    """

    difference: float
    low: float
    high: float
    p_value: float
    parcel_difference: np.ndarray
    parcel_p_value: np.ndarray
    parcel_p_adjusted: np.ndarray
    parcel_significant: np.ndarray
    n_better: int
    n_worse: int
    confidence: float
    fdr: float
    method: str
    distribution: np.ndarray


def resample_counts(n_runs: int, n_resamples: int, random_state=None) -> np.ndarray:
    """How often each run enters each bootstrap resample; shape (n_resamples, n_runs).

    Examples
    --------
    >>> from sklearn_crossenc.evaluation import resample_counts
    >>> c = resample_counts(9, 4, random_state=0)
    >>> c.shape, c.sum(axis=1).tolist()
    ((4, 9), [9, 9, 9, 9])
    """
    n_resamples = int(n_resamples)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1; got {n_resamples}.")
    rng = check_random_state(random_state)
    idx = rng.randint(0, n_runs, size=(n_resamples, n_runs))  # (B, R) run drawn
    counts = np.zeros((n_resamples, n_runs), dtype=np.int64)
    np.add.at(counts, (np.arange(n_resamples)[:, None], idx), 1)
    return counts


def _check_stats(stats_by_model: Mapping) -> list[RunStatistics]:
    stats = list(stats_by_model.values())
    for name, st in stats_by_model.items():
        if not isinstance(st, RunStatistics):
            raise ValueError(f"{name!r}: expected RunStatistics from run_statistics(), got "
                             f"{type(st).__name__}.")
    first = stats[0]
    if first.n_runs < 3:
        raise ValueError(f"need at least 3 runs to resample; got {first.n_runs}.")
    for name, st in stats_by_model.items():
        if st.shape != first.shape or not np.array_equal(st.n, first.n) or not (
                np.allclose(st.sy, first.sy) and np.allclose(st.syy, first.syy)):
            raise ValueError(f"{name!r} was scored on other data than {list(stats_by_model)[0]!r}"
                             " (runs, lengths or y_true differ); resampling must pair them.")
    return stats


def _parcel_r(stats: list[RunStatistics], weights: np.ndarray) -> list[np.ndarray]:
    """Mean-over-subjects r per parcel, per model: each (n_weights, C), chunked."""
    S, C = stats[0].shape
    step = max(1, _CHUNK_VALUES // (S * C))
    out = [np.empty((weights.shape[0], C)) for _ in stats]
    for i in range(0, weights.shape[0], step):
        w = weights[i: i + step]
        for m, st in enumerate(stats):
            out[m][i: i + step] = pearson_from_sums(st, w).mean(axis=1)  # (b, C)
    return out


def _leave_one_out(n_runs: int) -> np.ndarray:
    return 1.0 - np.eye(n_runs)  # (R, R): row j leaves run j out


def _samples(stats, n_resamples, random_state):
    """Per-parcel r of each model on all runs, bootstrap resamples and jackknife samples."""
    R = stats[0].n_runs
    weights = np.vstack([np.ones((1, R)), _leave_one_out(R),
                         resample_counts(R, n_resamples, random_state)])
    per_model = _parcel_r(stats, weights)
    return [(r[0], r[1 + R:], r[1: 1 + R]) for r in per_model]  # (full, boot, jack)


def bootstrap_scores(stats_by_model: Mapping, *, n_resamples: int = 2000,
                     confidence: float = 0.95, method: str = "t-jackknife",
                     random_state=None) -> dict[str, ScoreInterval]:
    """Confidence intervals of several models' mean scores, from one joint resampling.

    Parameters
    ----------
    stats_by_model : dict of str to RunStatistics
        Each model's :func:`run_statistics` on the same runs.
    n_resamples : int, default=2000
        Bootstrap resamples of whole runs (the same for every model and subject).
    confidence : float, default=0.95
    method : {"t-jackknife", "bca", "percentile"}, default="t-jackknife"
        Interval construction. ``t-jackknife`` (score -/+ t quantile x leave-one-run-out
        standard error) is the one calibrated with few runs: see ``docs/evaluation.md``.
    random_state : int, RandomState or None

    Returns
    -------
    intervals : dict of str to ScoreInterval

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, bootstrap_scores
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((9, 2, 50, 20))
    >>> stats = {"good": run_statistics(y, y + rng.standard_normal(y.shape)),
    ...          "bad": run_statistics(y, y + 3 * rng.standard_normal(y.shape))}
    >>> ci = bootstrap_scores(stats, n_resamples=200, random_state=0)
    >>> ci["good"].low < ci["good"].estimate < ci["good"].high
    True
    >>> ci["bad"].high < ci["good"].low
    True
    """
    if not isinstance(stats_by_model, Mapping) or not stats_by_model:
        raise ValueError("stats_by_model must be a non-empty dict of name -> RunStatistics.")
    check_method(method)
    confidence = check_confidence(confidence)
    stats = _check_stats(stats_by_model)
    out = {}
    samples = _samples(stats, n_resamples, random_state)
    for name, (full, boot, jack) in zip(stats_by_model, samples, strict=True):
        theta = full.mean(keepdims=True)  # (1,)
        b, j = boot.mean(axis=1)[:, None], jack.mean(axis=1)[:, None]  # (B, 1), (R, 1)
        low, high = interval(theta, b, j, confidence=confidence, method=method)
        out[name] = ScoreInterval(float(theta[0]), float(low[0]), float(high[0]), confidence,
                                  method, b[:, 0])
    return out


def bootstrap_score(stats: RunStatistics, **kwargs) -> ScoreInterval:
    """Confidence interval of one model's mean score; see :func:`bootstrap_scores`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, bootstrap_score
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((9, 2, 50, 20))
    >>> ci = bootstrap_score(run_statistics(y, y + rng.standard_normal(y.shape)),
    ...                      n_resamples=200, random_state=0)
    >>> round(ci.estimate, 1), ci.method  # 1 / sqrt(2) in the population
    (0.7, 't-jackknife')
    """
    return bootstrap_scores({"model": stats}, **kwargs)["model"]


def paired_comparison(stats_a: RunStatistics, stats_b: RunStatistics, *,
                      n_resamples: int = 2000, confidence: float = 0.95,
                      method: str = "t-jackknife", fdr: float = 0.05,
                      random_state=None) -> PairedComparison:
    """Model A minus model B on the same data: interval, p-value, parcels after FDR.

    Both models are resampled with the same runs, so run-to-run variation that affects
    both alike cancels in the difference (a paired test).

    Parameters
    ----------
    stats_a, stats_b : RunStatistics
        :func:`run_statistics` of each model on the same ``y_true``.
    n_resamples, confidence, method, random_state
        As in :func:`bootstrap_scores`.
    fdr : float, default=0.05
        False-discovery rate of the per-parcel tests (Benjamini-Hochberg over parcels).

    Returns
    -------
    comparison : PairedComparison

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, paired_comparison
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((9, 2, 50, 20))
    >>> a = run_statistics(y, y + rng.standard_normal(y.shape))
    >>> b = run_statistics(y, y + 2 * rng.standard_normal(y.shape))
    >>> cmp = paired_comparison(a, b, n_resamples=200, random_state=0)
    >>> cmp.difference > 0, cmp.p_value < 0.05, cmp.n_better, cmp.n_worse
    (True, True, 20, 0)
    """
    check_method(method)
    confidence = check_confidence(confidence)
    if not 0.0 < float(fdr) < 1.0:
        raise ValueError(f"fdr must be in (0, 1); got {fdr!r}.")
    (fa, ba, ja), (fb, bb, jb) = _samples(_check_stats({"stats_a": stats_a,
                                                        "stats_b": stats_b}),
                                          n_resamples, random_state)
    full, boot, jack = fa - fb, ba - bb, ja - jb  # (C,), (B, C), (R, C)
    theta = full.mean(keepdims=True)
    b, j = boot.mean(axis=1)[:, None], jack.mean(axis=1)[:, None]
    low, high = interval(theta, b, j, confidence=confidence, method=method)
    p = p_value(theta, b, j, method=method)
    parcel_p = p_value(full, boot, jack, method=method)
    significant, adjusted = fdr_bh(parcel_p, q=fdr)
    return PairedComparison(
        float(theta[0]), float(low[0]), float(high[0]), float(p[0]), full, parcel_p, adjusted,
        significant, int((significant & (full > 0)).sum()), int((significant & (full < 0)).sum()),
        confidence, float(fdr), method, b[:, 0])

"""The result objects of the interval functions: a score's interval, a paired comparison.

Both say what their uncertainty covers (``covers``): the evaluation runs only, or the runs
and the random states of a model given with repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ScoreInterval", "PairedComparison"]


@dataclass(frozen=True)
class ScoreInterval:
    """A mean score (over parcels, then subjects) with its confidence interval.

    Attributes
    ----------
    estimate : float
        The score on all runs (what ``pearson_score`` gives); with repeats, its mean over
        the repeats.
    low, high : float
        Interval bounds.
    confidence : float
    method : str
    distribution : ndarray of shape (n_resamples,)
        The score on each bootstrap resample of the runs (averaged over repeats: it does
        not show the between-repeat spread).
    n_repeats : int
        Random states the interval covers (1: one model, evaluation runs only).
    repeat_estimates : ndarray of shape (n_repeats,)
        The score of each repeat on all runs.
    repeat_sd : float
        Between-repeat standard deviation of the score (``ddof=1``); NaN with one repeat.
    se_runs : float
        Leave-one-run-out jackknife standard error of the (repeat-averaged) score.
    se_repeats : float
        What the random state adds (``se**2 = se_runs**2 + se_repeats**2``); NaN with one
        repeat (not estimated).
    df : float
        Degrees of freedom of the t quantile (``t-jackknife``); NaN for other methods.
    covers : str
        What the interval covers, for a report: ``"evaluation runs only"`` or
        ``"evaluation runs and K random states"``.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    distribution: np.ndarray
    n_repeats: int = 1
    repeat_estimates: np.ndarray | None = None
    repeat_sd: float = float("nan")
    se_runs: float = float("nan")
    se_repeats: float = float("nan")
    df: float = float("nan")

    @property
    def covers(self) -> str:
        if self.n_repeats == 1:
            return "evaluation runs only"
        return f"evaluation runs and {self.n_repeats} random states"


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
        The mean difference on each bootstrap resample of the runs.
    n_repeats_a, n_repeats_b : int
        Random states of each model (1: given once, deterministic or not repeated).
    repeat_sd_a, repeat_sd_b : float
        Between-repeat standard deviation of each model's mean score; NaN with one repeat.
    se_runs : float
        Leave-one-run-out jackknife standard error of the (repeat-averaged) difference.
    se_repeats : float
        What the random states add (both models together); NaN when neither is repeated.
    df : float
        Degrees of freedom of the mean difference's t test; NaN for other methods.
    covers : str
        What the interval and tests cover, for a report.
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
    n_repeats_a: int = 1
    n_repeats_b: int = 1
    repeat_sd_a: float = float("nan")
    repeat_sd_b: float = float("nan")
    se_runs: float = float("nan")
    se_repeats: float = float("nan")
    df: float = float("nan")

    @property
    def covers(self) -> str:
        if self.n_repeats_a == self.n_repeats_b == 1:
            return "evaluation runs only"
        return (f"evaluation runs and random states ({self.n_repeats_a} of A, "
                f"{self.n_repeats_b} of B)")

"""Confidence intervals and p-values from resampled statistics; Benjamini-Hochberg FDR.

Pure array functions. A statistic is a vector of ``K`` numbers (one mean score, or one
value per parcel); ``boot`` holds it on ``B`` bootstrap resamples of whole runs and
``jack`` on the ``R`` leave-one-run-out samples.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import stats as sps

__all__ = ["METHODS", "interval", "p_value", "t_interval", "t_p_value", "fdr_bh"]

METHODS = ("t-jackknife", "bca", "percentile")


def check_method(method: str) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    return method


#: The most resamples one call draws: the run counts are held in memory, (n_resamples, runs).
MAX_RESAMPLES = 1_000_000


def check_n_resamples(n_resamples) -> int:
    """``n_resamples`` as an int in [1, MAX_RESAMPLES]; floats, bools and the rest refused."""
    if isinstance(n_resamples, (bool, np.bool_)) or not isinstance(n_resamples, Integral):
        raise ValueError(f"n_resamples must be an integer >= 1; got {n_resamples!r} "
                         f"({type(n_resamples).__name__}).")
    if not 1 <= n_resamples <= MAX_RESAMPLES:
        raise ValueError(f"n_resamples must be between 1 and {MAX_RESAMPLES} (the resamples are "
                         f"held in memory); got {n_resamples!r}.")
    return int(n_resamples)


def check_unit_fraction(value, name: str) -> float:
    """A real number strictly between 0 and 1 (``confidence``, ``fdr``); bools refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number in (0, 1); got {value!r} "
                         f"({type(value).__name__}).")
    if not 0.0 < float(value) < 1.0:  # NaN fails too
        raise ValueError(f"{name} must be in (0, 1); got {value!r}.")
    return float(value)


def check_confidence(confidence) -> float:
    return check_unit_fraction(confidence, "confidence")


def jackknife_se(jack: np.ndarray) -> np.ndarray:
    """Jackknife standard error over the leave-one-out axis 0; shape (K,)."""
    R = jack.shape[0]
    d = jack - jack.mean(axis=0)
    return np.sqrt((R - 1) / R * (d * d).sum(axis=0))


def _bca_constants(theta, boot, jack):
    """Bias correction z0 and acceleration a of the BCa interval, each (K,)."""
    B = boot.shape[0]
    below = (boot < theta).sum(axis=0) + 0.5 * (boot == theta).sum(axis=0)
    prop = np.clip(below / B, 0.5 / B, 1 - 0.5 / B)
    z0 = sps.norm.ppf(prop)
    d = jack.mean(axis=0) - jack  # (R, K)
    num = (d ** 3).sum(axis=0)
    den = 6.0 * (d ** 2).sum(axis=0) ** 1.5
    return z0, np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def interval(theta, boot, jack, *, confidence: float, method: str):
    """Two-sided interval ``(low, high)``, each of shape (K,).

    ``t-jackknife``: ``theta -/+ t(R-1, 1-alpha/2) * se_jack``. ``bca``: Efron's
    bias-corrected and accelerated percentile interval. ``percentile``: plain quantiles
    of the bootstrap distribution.
    """
    if method == "t-jackknife":
        return t_interval(theta, jackknife_se(jack), jack.shape[0] - 1, confidence=confidence)
    alpha = 1.0 - confidence
    levels = np.array([alpha / 2, 1 - alpha / 2])
    if method == "percentile":
        q = np.quantile(boot, levels, axis=0)
        return q[0], q[1]
    z0, a = _bca_constants(theta, boot, jack)
    z = sps.norm.ppf(levels)[:, None] + z0  # (2, K)
    adj = sps.norm.cdf(z0 + z / (1 - a * z))  # (2, K)
    low = np.array([np.quantile(boot[:, k], adj[0, k]) for k in range(boot.shape[1])])
    high = np.array([np.quantile(boot[:, k], adj[1, k]) for k in range(boot.shape[1])])
    return low, high


def p_value(theta, boot, jack, *, method: str) -> np.ndarray:
    """Two-sided p-value of ``H0: statistic = 0``, by inverting :func:`interval`; (K,).

    The p-value is the smallest ``alpha`` whose ``1 - alpha`` interval excludes 0.
    """
    if method == "t-jackknife":
        return t_p_value(theta, jackknife_se(jack), jack.shape[0] - 1)
    B = boot.shape[0]
    below = ((boot < 0).sum(axis=0) + 0.5 * (boot == 0).sum(axis=0)) / B  # mid-rank of 0
    if method == "percentile":
        return np.minimum(1.0, 2.0 * np.minimum(below, 1.0 - below))
    z0, a = _bca_constants(theta, boot, jack)
    w = sps.norm.ppf(np.clip(below, 0.5 / B, 1 - 0.5 / B)) - z0
    z_level = w / (1 + a * w) - z0  # the normal quantile whose BCa bound is 0
    return np.minimum(1.0, 2.0 * sps.norm.cdf(-np.abs(z_level)))


def t_interval(theta, se, df, *, confidence: float):
    """``theta -/+ t(df, 1 - alpha/2) * se``; ``df`` a number or one per statistic."""
    alpha = 1.0 - confidence
    half = sps.t.ppf(1 - alpha / 2, df) * se
    return theta - half, theta + half


def t_p_value(theta, se, df) -> np.ndarray:
    """Two-sided p-value of ``H0: statistic = 0`` from ``theta / se ~ t(df)``."""
    t = np.abs(theta) / np.maximum(se, 1e-300)
    return np.minimum(1.0, 2.0 * sps.t.sf(t, df))


def fdr_bh(p_values, q: float = 0.05):
    """Benjamini-Hochberg false-discovery-rate control.

    Parameters
    ----------
    p_values : array-like of shape (n_tests,)
    q : float, default=0.05
        False-discovery rate.

    Returns
    -------
    rejected : ndarray of bool, shape (n_tests,)
        Tests declared significant: those with ``p <= k* q / m``, ``k*`` the largest rank
        ``k`` with ``p_(k) <= k q / m``.
    adjusted : ndarray of shape (n_tests,)
        BH-adjusted p-values, ``min_{j >= k} m p_(j) / j`` capped at 1; ``adjusted <= q``
        exactly for the rejected tests.

    Examples
    --------
    >>> from sklearn_crossenc.evaluation import fdr_bh
    >>> rejected, adjusted = fdr_bh([0.01, 0.04, 0.03, 0.5], q=0.05)
    >>> rejected
    array([ True, False, False, False])
    >>> adjusted.round(3)
    array([0.04 , 0.053, 0.053, 0.5  ])
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"p_values must be a non-empty 1-D array; got shape {p.shape}.")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p_values must lie in [0, 1] (no NaN).")
    check_unit_fraction(q, "q")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)  # p_(k) m / k
    adjusted_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted <= q, adjusted

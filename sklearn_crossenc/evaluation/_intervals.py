"""Confidence intervals and p-values from resampled statistics; Benjamini-Hochberg FDR.

Pure array functions. A statistic is a vector of ``K`` numbers (one mean score, or one
value per parcel); ``boot`` holds it on ``B`` bootstrap resamples of whole runs and
``jack`` on the ``R`` leave-one-run-out samples.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

__all__ = ["METHODS", "interval", "p_value", "fdr_bh"]

METHODS = ("t-jackknife", "bca", "percentile")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    return method


def check_confidence(confidence) -> float:
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
    return c


def _jackknife_se(jack: np.ndarray) -> np.ndarray:
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
    alpha = 1.0 - confidence
    if method == "t-jackknife":
        half = sps.t.ppf(1 - alpha / 2, jack.shape[0] - 1) * _jackknife_se(jack)
        return theta - half, theta + half
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
        se = _jackknife_se(jack)
        t = np.abs(theta) / np.maximum(se, 1e-300)
        return np.minimum(1.0, 2.0 * sps.t.sf(t, jack.shape[0] - 1))
    B = boot.shape[0]
    below = ((boot < 0).sum(axis=0) + 0.5 * (boot == 0).sum(axis=0)) / B  # mid-rank of 0
    if method == "percentile":
        return np.minimum(1.0, 2.0 * np.minimum(below, 1.0 - below))
    z0, a = _bca_constants(theta, boot, jack)
    w = sps.norm.ppf(np.clip(below, 0.5 / B, 1 - 0.5 / B)) - z0
    z_level = w / (1 + a * w) - z0  # the normal quantile whose BCa bound is 0
    return np.minimum(1.0, 2.0 * sps.norm.cdf(-np.abs(z_level)))


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
    if not 0.0 < float(q) < 1.0:
        raise ValueError(f"q must be in (0, 1); got {q!r}.")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)  # p_(k) m / k
    adjusted_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted <= q, adjusted

"""Noise ceiling from repeated viewings (Movie10 ``figures`` and ``life``, runs 1 and 2).

Model: for a subject and parcel, run ``k`` of a repeated clip is ``y_k = s + e_k`` with a
stimulus-driven signal ``s`` common to both viewings and noise ``e_1, e_2`` independent of
``s`` and of each other, of equal variance ``v_e``. Then the split-half correlation is
``r12 = v_s / (v_s + v_e)`` and the best any model can do when scored against one run
(predicting ``s`` exactly) is ``corr(y_1, s) = sqrt(v_s / (v_s + v_e)) = sqrt(r12)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ..metrics import pearson_map
from ._intervals import fdr_bh

__all__ = ["NoiseCeiling", "noise_ceiling", "repeat_pairs", "fraction_of_ceiling"]

RUN2_SUFFIX = "_run-2"


@dataclass(frozen=True)
class NoiseCeiling:
    """Split-half reliability and noise ceiling per subject and parcel.

    Attributes
    ----------
    split_half_r : ndarray of shape (n_subjects, n_parcels)
        Correlation of run 1 with run 2 over the concatenated repeated clips (``r12``).
    ceiling : ndarray of shape (n_subjects, n_parcels)
        ``sqrt(max(r12, 0))``: the highest Pearson r reachable against a single run.
    p_value : ndarray of shape (n_subjects, n_parcels)
        One-sided p-value of ``r12 > 0``, with an effective sample size corrected for
        the autocorrelation of both runs.
    reliable : ndarray of bool, shape (n_subjects, n_parcels)
        ``r12 > 0`` significant at false-discovery rate ``fdr`` (Benjamini-Hochberg over
        each subject's parcels).
    n_effective : ndarray of shape (n_subjects, n_parcels)
    pairs : list of (str, str)
        The (run 1, run 2) keys used.
    fdr : float
    """

    split_half_r: np.ndarray
    ceiling: np.ndarray
    p_value: np.ndarray
    reliable: np.ndarray
    n_effective: np.ndarray
    pairs: list
    fdr: float


def repeat_pairs(data: Mapping) -> list[tuple[str, str]]:
    """The ``(run-1 key, run-2 key)`` pairs of a loader dict (``"figures01"``, ...).

    Examples
    --------
    >>> from sklearn_crossenc.evaluation import repeat_pairs
    >>> repeat_pairs({"bourne01": 0, "life01": 0, "life01_run-2": 0})
    [('life01', 'life01_run-2')]
    """
    return [(k[: -len(RUN2_SUFFIX)], k) for k in data
            if k.endswith(RUN2_SUFFIX) and k[: -len(RUN2_SUFFIX)] in data]


def _aligned(data, pairs):
    """Run-1 and run-2 episodes, each pair cut to its shorter length."""
    first, second = [], []
    for k1, k2 in pairs:
        a, b = np.asarray(data[k1]), np.asarray(data[k2])  # (S, T1, C), (S, T2, C)
        if a.ndim != 3 or a.shape[0::2] != b.shape[0::2]:
            raise ValueError(f"data[{k1!r}] {a.shape} and data[{k2!r}] {b.shape} must be "
                             "(subjects, time, parcels) with equal subjects and parcels.")
        t = min(a.shape[1], b.shape[1])
        first.append(a[:, :t])
        second.append(b[:, :t])
    return first, second


def _autocorrelation(episodes, max_lag):
    """Autocorrelation at lags 1..max_lag, pooled over episodes; (max_lag, S, C)."""
    num = np.zeros((max_lag,) + episodes[0].shape[0::2])
    den = np.zeros(episodes[0].shape[0::2])
    for ep in episodes:
        x = np.asarray(ep, np.float64)
        x = x - x.mean(axis=1, keepdims=True)  # (S, T, C)
        den += np.einsum("stc,stc->sc", x, x)
        for k in range(1, min(max_lag, x.shape[1] - 1) + 1):
            num[k - 1] += np.einsum("stc,stc->sc", x[:, k:], x[:, :-k])
    return num / np.maximum(den, 1e-300)


def _effective_n(first, second, max_lag):
    """Pyper & Peterman (1998): 1/n_eff = 1/n + 2/n sum_k (n-k)/n rho1(k) rho2(k)."""
    n = sum(ep.shape[1] for ep in first)
    lags = np.arange(1, max_lag + 1)[:, None, None]
    prod = _autocorrelation(first, max_lag) * _autocorrelation(second, max_lag)  # (K, S, C)
    inv = 1.0 / n + 2.0 / n * (((n - lags) / n) * prod).sum(axis=0)
    return np.clip(1.0 / inv, 3.0, n)


def noise_ceiling(data: Mapping, *, fdr: float = 0.05, max_lag: int = 20) -> NoiseCeiling:
    """Noise ceiling per subject and parcel from clips shown twice.

    Parameters
    ----------
    data : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        A Movie10 loader dict holding both viewings, e.g.
        ``load_movie10(root, movies=["figures", "life"], runs=[1, 2])``. Keys without
        a repeat are ignored. Friends has no repeated viewings: there is no ceiling to
        estimate from it.
    fdr : float, default=0.05
        False-discovery rate of the reliability test.
    max_lag : int, default=20
        Largest lag (TRs) of the autocorrelations in the effective sample size.

    Returns
    -------
    ceiling : NoiseCeiling

    Raises
    ------
    ValueError
        When ``data`` holds no repeated clip.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import noise_ceiling
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((1, 4000, 2)) * [1.0, 0.0]   # parcel 2 has no signal
    >>> data = {"life01": s + rng.standard_normal(s.shape),
    ...         "life01_run-2": s + rng.standard_normal(s.shape)}
    >>> nc = noise_ceiling(data)
    >>> nc.ceiling.round(1), nc.reliable
    (array([[0.7, 0. ]]), array([[ True, False]]))
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a loader dict; got {type(data).__name__}.")
    pairs = repeat_pairs(data)
    if not pairs:
        raise ValueError(
            "no repeated viewings in data (keys like 'figures01' with 'figures01_run-2'): load "
            "Movie10 with runs=[1, 2]; Friends has no repeats, so it has no noise ceiling")
    if not 0.0 < float(fdr) < 1.0:
        raise ValueError(f"fdr must be in (0, 1); got {fdr!r}.")
    first, second = _aligned(data, pairs)
    r12 = pearson_map(first, second)  # (S, C)
    n_eff = _effective_n(first, second, int(max_lag))  # (S, C)
    t = r12 * np.sqrt((n_eff - 2) / np.maximum(1 - r12 ** 2, 1e-12))
    p = sps.t.sf(t, n_eff - 2)  # one-sided: r12 > 0
    reliable = np.stack([fdr_bh(ps, q=fdr)[0] for ps in p]) & (r12 > 0)
    return NoiseCeiling(r12, np.sqrt(np.clip(r12, 0, None)), p, reliable, n_eff, pairs,
                        float(fdr))


def fraction_of_ceiling(scores, ceiling: NoiseCeiling) -> np.ndarray:
    """Per subject: mean r over reliable parcels divided by their mean ceiling.

    A ratio of means, not a mean of ratios: parcels with a ceiling near 0 would make
    the per-parcel ratio explode.

    Parameters
    ----------
    scores : ndarray of shape (n_subjects, n_parcels)
        Per-parcel Pearson r of a model against run 1 (``pearson_map``).
    ceiling : NoiseCeiling

    Returns
    -------
    fraction : ndarray of shape (n_subjects,)
        NaN for a subject without any reliable parcel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import NoiseCeiling, fraction_of_ceiling
    >>> nc = NoiseCeiling(None, np.array([[0.5, 0.8, 0.1]]), None,
    ...                   np.array([[True, True, False]]), None, [], 0.05)
    >>> fraction_of_ceiling(np.array([[0.25, 0.4, 0.3]]), nc)
    array([0.5])
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != ceiling.ceiling.shape:
        raise ValueError(f"scores have shape {scores.shape} but the ceiling has "
                         f"{ceiling.ceiling.shape} (subjects, parcels).")
    rel = ceiling.reliable
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(rel, scores, 0).sum(1) / np.where(rel, ceiling.ceiling, 0).sum(1))

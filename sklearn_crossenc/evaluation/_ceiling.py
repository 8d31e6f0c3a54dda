"""Noise ceiling from repeated viewings (Movie10 ``figures`` and ``life``, runs 1 and 2).

Model: for a subject and parcel, run ``k`` of a repeated clip is ``y_k = s + e_k`` with a
stimulus-driven signal ``s`` common to both viewings and noise ``e_1, e_2`` independent of
``s`` and of each other, of equal variance ``v_e``. Then the split-half correlation is
``r12 = v_s / (v_s + v_e)`` and the best any model can do when scored against one run
(predicting ``s`` exactly) is ``corr(y_1, s) = sqrt(v_s / (v_s + v_e)) = sqrt(r12)``.
"""

from __future__ import annotations

import numbers
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
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a loader dict of run key -> (subjects, time, parcels) "
                         f"array; got {type(data).__name__}.")
    return [(k[: -len(RUN2_SUFFIX)], k) for k in data
            if isinstance(k, str) and k.endswith(RUN2_SUFFIX) and k[: -len(RUN2_SUFFIX)] in data]


def _run(data, key: str) -> np.ndarray:
    """``data[key]`` as a finite float64 (subjects, time, parcels) array, else an error
    naming the key."""
    try:
        a = np.asarray(data[key])
    except ValueError:  # ragged nested lists
        raise ValueError(f"data[{key!r}] is not an array of shape (subjects, time, parcels)."
                         ) from None
    if a.dtype.kind not in "fiu" or a.ndim != 3:
        raise ValueError(f"data[{key!r}] has shape {a.shape} and dtype {a.dtype}; expected a "
                         "numeric array of shape (subjects, time, parcels).")
    a = a.astype(np.float64, copy=False)
    bad = a.size - int(np.isfinite(a).sum())
    if bad:
        raise ValueError(f"data[{key!r}] contains {bad} NaN or Inf values.")
    return a


def _aligned(data, pairs):
    """Run-1 and run-2 episodes, each pair cut to its shorter length; every run checked
    and named by its key."""
    first, second, ref = [], [], None
    for k1, k2 in pairs:
        a, b = _run(data, k1), _run(data, k2)  # (S, T1, C), (S, T2, C)
        for k, x in ((k1, a), (k2, b)):
            ref = ref or (k, x.shape[0::2])
            if x.shape[0::2] != ref[1]:
                raise ValueError(
                    f"data[{k!r}] has {x.shape[0]} subjects and {x.shape[2]} parcels but "
                    f"data[{ref[0]!r}] has {ref[1][0]} and {ref[1][1]}; a noise ceiling needs "
                    "the same subjects and parcels in every run.")
        t = min(a.shape[1], b.shape[1])
        if t < 2:
            raise ValueError(f"data[{k1!r}] and data[{k2!r}] share {t} time point(s); a "
                             "split-half correlation needs at least 2.")
        first.append(a[:, :t])
        second.append(b[:, :t])
    return first, second


def _check_fdr(fdr) -> float:
    if isinstance(fdr, bool) or not isinstance(fdr, numbers.Real) or not 0.0 < fdr < 1.0:
        raise ValueError(f"fdr must be a number in (0, 1); got {fdr!r}.")
    return float(fdr)


def _check_max_lag(max_lag) -> int:
    if isinstance(max_lag, bool) or not isinstance(max_lag, numbers.Integral) or max_lag < 0:
        raise ValueError(f"max_lag must be an integer >= 0 (time points); got {max_lag!r}.")
    return int(max_lag)


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
        False-discovery rate of the reliability test, in (0, 1).
    max_lag : int, default=20
        Largest lag (TRs, >= 0) of the autocorrelations in the effective sample size
        (0: none, the time points count as independent).

    Returns
    -------
    ceiling : NoiseCeiling

    Raises
    ------
    ValueError
        When ``data`` holds no repeated clip, a run that is not a finite numeric
        (subjects, time, parcels) array or differs from the others in subjects or
        parcels (each names its key), or ``fdr`` or ``max_lag`` is out of range.

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
    fdr, max_lag = _check_fdr(fdr), _check_max_lag(max_lag)
    pairs = repeat_pairs(data)
    if not pairs:
        raise ValueError(
            "no repeated viewings in data (keys like 'figures01' with 'figures01_run-2'): load "
            "Movie10 with runs=[1, 2]; Friends has no repeats, so it has no noise ceiling")
    first, second = _aligned(data, pairs)
    r12 = pearson_map(first, second)  # (S, C)
    # Lags beyond the longest run add nothing (and would only allocate).
    max_lag = min(max_lag, max(ep.shape[1] for ep in first) - 1)
    n_eff = _effective_n(first, second, max_lag)  # (S, C)
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
    if not isinstance(ceiling, NoiseCeiling):
        raise ValueError(f"ceiling must be the NoiseCeiling of noise_ceiling(); got "
                         f"{type(ceiling).__name__}.")
    scores = np.asarray(scores)
    if scores.dtype.kind not in "fiu":
        raise ValueError(f"scores must be numbers (per-parcel r); got dtype {scores.dtype}.")
    scores = scores.astype(np.float64)
    if scores.shape != ceiling.ceiling.shape:
        raise ValueError(f"scores have shape {scores.shape} but the ceiling has "
                         f"{ceiling.ceiling.shape} (subjects, parcels).")
    rel = ceiling.reliable
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(rel, scores, 0).sum(1) / np.where(rel, ceiling.ceiling, 0).sum(1))

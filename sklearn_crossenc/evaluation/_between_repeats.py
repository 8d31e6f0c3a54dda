"""Repeats of a stochastic model: K random states scored on the same evaluation runs.

A stochastic model (the encoder: its initialisation and clip sampling depend on the random
state) trained with K random states gives K :class:`RunStatistics` on the same runs. Its
score is the mean over the repeats. A statistic of repeat ``k`` (a mean score, or one
parcel's r) follows a crossed random-effects model, repeats x runs::

    theta_k = mu + a_k + (run effects, shared by every repeat)
                       + (interaction: repeat k's own errors on each run)

``a_k`` is what a random state changes on every run (a better or worse trained model),
the interaction what it changes run by run. The variance of the repeat mean is
``Var_runs(repeat mean) + sigma_a^2 / K``. The jackknife over runs of the repeat-averaged
statistic estimates the first term, interaction included (it varies from run to run).
The between-repeat variance of the mean, ``var_k(theta_k) / K``, estimates
``sigma_a^2 / K`` *plus* the interaction's share, which the jackknife already holds; that
share is estimated from the repeat x run residuals of the leave-one-run-out values and
subtracted (truncated at zero). Degrees of freedom: the variance-weighted harmonic mean
of the components' (``R - 1`` for the runs, ``K - 1`` for each model's repeats), which
Satterthwaite's rule overstates when a component has one or two degrees of freedom. The
derivation and the calibration are in ``docs/evaluation.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._intervals import jackknife_se
from ._runstats import RunStatistics

__all__ = ["as_repeats", "check_repeats", "repeat_components", "seed_variance",
           "degrees_of_freedom", "combined_se"]


def as_repeats(value, label: str) -> list[RunStatistics]:
    """One model's statistics as a list of repeats (one RunStatistics is one repeat)."""
    if isinstance(value, RunStatistics):
        return [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{label}: expected RunStatistics from run_statistics(), or a list of "
                         f"them (one per random state); got {type(value).__name__}.")
    if len(value) == 0:
        raise ValueError(f"{label} is an empty sequence: give one RunStatistics, or a list of "
                         "K >= 1 of them (one per random state).")
    for i, st in enumerate(value):
        if not isinstance(st, RunStatistics):
            raise ValueError(f"{label}[{i}]: expected RunStatistics from run_statistics(), got "
                             f"{type(st).__name__}.")
    return list(value)


def check_repeats(label: str, repeats: list[RunStatistics]) -> None:
    """Every repeat of a model must cover the runs and the (subjects, parcels) of the first."""
    first = repeats[0]
    for i, st in enumerate(repeats[1:], start=1):
        if st.n_runs != first.n_runs or st.shape != first.shape:
            raise ValueError(
                f"{label}[{i}] covers {st.n_runs} runs of (subjects, parcels) {st.shape} but "
                f"{label}[0] covers {first.n_runs} runs of {first.shape}: every repeat of a "
                "model must be scored on the same runs.")


def repeat_components(full: np.ndarray, jack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Between-repeat variance of the mean, and the interaction's share of it.

    Parameters
    ----------
    full : ndarray of shape (K, P)
        The statistic of each repeat on all runs.
    jack : ndarray of shape (K, R, P)
        The statistic of each repeat with each run left out.

    Returns
    -------
    between : ndarray of shape (P,)
        ``var_k(full) / K`` (``ddof=1``).
    interaction : ndarray of shape (P,)
        ``(mean_k V_k - V) / (K - 1)``, with ``V_k`` the jackknife variance of repeat ``k``
        and ``V`` that of the repeat mean: ``(R-1) / (R K (K-1)) sum_kj e_kj^2``, ``e`` the
        leave-one-run-out values centred over runs and over repeats.
    """
    K, R = jack.shape[:2]
    between = full.var(axis=0, ddof=1) / K
    d = jack - jack.mean(axis=1, keepdims=True)  # (K, R, P) centred over runs
    e = d - d.mean(axis=0, keepdims=True)  # (K, R, P) and over repeats: repeat x run
    interaction = (R - 1) / (R * K * (K - 1)) * (e * e).sum(axis=(0, 1))  # (P,)
    return between, interaction


def seed_variance(full: np.ndarray, jack: np.ndarray) -> np.ndarray:
    """``sigma_a^2 / K``: what the random state adds beyond the run jackknife; (P,), >= 0."""
    between, interaction = repeat_components(full, jack)
    return np.maximum(between - interaction, 0.0)


def degrees_of_freedom(v_runs, seeds: list[tuple[np.ndarray, int]], n_runs: int):
    """``df = var / (v_runs / (R-1) + sum_m seed_m / (K_m - 1))``, ``var = v_runs + sum seed``.

    The variance-weighted harmonic mean of the components' degrees of freedom (``R - 1``
    for the run jackknife, ``K_m - 1`` for model ``m``'s repeats); ``R - 1`` where every
    component is 0.
    """
    var = v_runs + sum(s for s, _ in seeds)
    den = v_runs / (n_runs - 1) + sum(s / (k - 1) for s, k in seeds)
    return np.divide(var, den, out=np.full_like(var, n_runs - 1.0), where=den > 0)


def combined_se(jack: np.ndarray, seeds: list[tuple[np.ndarray, int]]):
    """Standard error and degrees of freedom over runs and random states.

    Parameters
    ----------
    jack : ndarray of shape (R, P)
        Leave-one-run-out values of the repeat-averaged statistic (of a difference, for a
        paired comparison).
    seeds : list of (ndarray of shape (P,), int)
        Each repeated model's :func:`seed_variance` and its number of repeats ``K``.

    Returns
    -------
    se_runs, se, df : ndarray of shape (P,)
        The run jackknife's standard error, the total one (``se^2 = se_runs^2 + sum of
        the seed variances``) and :func:`degrees_of_freedom`.
    """
    v_runs = jackknife_se(jack) ** 2  # (P,)
    var = v_runs + sum(s for s, _ in seeds)
    return np.sqrt(v_runs), np.sqrt(var), degrees_of_freedom(v_runs, seeds, jack.shape[0])

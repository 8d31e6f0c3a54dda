"""Intervals for mean scores and paired model comparisons, resampling whole runs.

Runs are the independent units: time points within a run are autocorrelated (the
haemodynamic response, slow drifts), so resampling time points would understate the
uncertainty, while different runs show different stimuli. Resamples draw run indices
with replacement and apply the *same* draw to every subject and every model: all
subjects saw the same run (their scores are correlated through the stimulus) and a paired
comparison must compare two models on identical data.

A stochastic model may come with K repeats (one RunStatistics per random state, on the
same runs): its score is the mean over the repeats, and the t-jackknife interval and test
add the between-repeat variance to the run resampling (``_repeats.py``). Every repeat
shares the same run draws too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ._between_repeats import as_repeats, check_repeats, combined_se, seed_variance
from ._intervals import (
    check_confidence,
    check_method,
    check_n_resamples,
    check_unit_fraction,
    fdr_bh,
    interval,
    jackknife_se,
    p_value,
    t_interval,
    t_p_value,
)
from ._results import PairedComparison, ScoreInterval
from ._runstats import RunStatistics, pearson_from_sums

__all__ = ["bootstrap_score", "bootstrap_scores", "paired_comparison", "ratio_interval",
           "resample_counts", "MIN_RUNS"]

#: The fewest evaluation runs an interval resamples (the jobs' pre-flight checks it too).
MIN_RUNS = 3

_CHUNK_VALUES = 4_000_000  # resamples x subjects x parcels handled per matrix product


def resample_counts(n_runs: int, n_resamples: int, random_state=None) -> np.ndarray:
    """How often each run enters each bootstrap resample; shape (n_resamples, n_runs).

    Examples
    --------
    >>> from sklearn_crossenc.evaluation import resample_counts
    >>> c = resample_counts(9, 4, random_state=0)
    >>> c.shape, c.sum(axis=1).tolist()
    ((4, 9), [9, 9, 9, 9])
    """
    n_resamples = check_n_resamples(n_resamples)
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
        raise ValueError(f"need at least {MIN_RUNS} runs to resample; got {first.n_runs}.")
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


@dataclass(frozen=True)
class _Resampled:
    """One model's per-parcel r (mean over subjects) on all runs, resamples and jackknife."""

    full: np.ndarray  # (K, C) each repeat on all runs
    boot: np.ndarray  # (B, C) bootstrap resamples, mean over repeats
    jack: np.ndarray  # (K, R, C) each repeat, each run left out

    @property
    def k(self) -> int:
        return self.full.shape[0]

    def mean_full(self) -> np.ndarray:  # (C,)
        return self.full[0] if self.k == 1 else self.full.mean(axis=0)

    def mean_jack(self) -> np.ndarray:  # (R, C)
        return self.jack[0] if self.k == 1 else self.jack.mean(axis=0)

    def seed(self, per_parcel: bool) -> tuple[np.ndarray, int]:
        """Between-repeat variance beyond the run jackknife, per parcel or of the mean."""
        if per_parcel:
            return seed_variance(self.full, self.jack), self.k  # (C,)
        return seed_variance(self.full.mean(axis=1)[:, None],
                             self.jack.mean(axis=2)[..., None]), self.k  # (1,)


def _collect(by_model: Mapping, prefix: str | None) -> tuple[list[RunStatistics], list[int]]:
    """Every model's repeats (checked) in one list, and the number of repeats per model."""
    flat, counts = {}, []
    for name, value in by_model.items():
        label = name if prefix is None else f"{prefix}[{name!r}]"
        reps = as_repeats(value, label)
        check_repeats(label, reps)
        if isinstance(value, RunStatistics):
            flat[name] = value
        else:
            flat.update({f"{name}[{i}]": st for i, st in enumerate(reps)})
        counts.append(len(reps))
    if len(flat) != sum(counts):
        raise ValueError(f"model names {list(by_model)} collide with the labels of their "
                         "repeats ('name[i]'); rename the models.")
    return _check_stats(flat), counts


def _check_method_for_repeats(method: str, by_model: Mapping, counts: list[int]) -> None:
    for name, k in zip(by_model, counts, strict=True):
        if k > 1 and method != "t-jackknife":
            raise ValueError(f"method={method!r} resamples evaluation runs only, but {name!r} "
                             f"has {k} repeats (random states): use method='t-jackknife', which "
                             "adds the between-repeat variance.")


def _resample(stats, counts, n_resamples, random_state) -> list[_Resampled]:
    """Each model's :class:`_Resampled`, from one draw of runs shared by all repeats."""
    samples = _samples(stats, n_resamples, random_state)
    out, i = [], 0
    for k in counts:
        group, i = samples[i: i + k], i + k
        if k == 1:
            full, boot, jack = group[0]
            out.append(_Resampled(full[None], boot, jack[None]))
        else:
            out.append(_Resampled(np.stack([g[0] for g in group]),
                                  np.mean([g[1] for g in group], axis=0),
                                  np.stack([g[2] for g in group])))
    return out


def _nan_sd(values: np.ndarray) -> float:
    return float(values.std(ddof=1)) if values.size > 1 else float("nan")


def _score_interval(m: _Resampled, confidence: float, method: str) -> ScoreInterval:
    theta = m.mean_full().mean(keepdims=True)  # (1,)
    b, j = m.boot.mean(axis=1)[:, None], m.mean_jack().mean(axis=1)[:, None]  # (B, 1), (R, 1)
    per_repeat = m.full.mean(axis=1)  # (K,)
    if m.k == 1:
        low, high = interval(theta, b, j, confidence=confidence, method=method)
        se_runs, se_rep = jackknife_se(j), np.full(1, np.nan)
        df = np.full(1, j.shape[0] - 1.0 if method == "t-jackknife" else np.nan)
    else:
        seed = m.seed(per_parcel=False)
        se_runs, se, df = combined_se(j, [seed])
        low, high = t_interval(theta, se, df, confidence=confidence)
        se_rep = np.sqrt(seed[0])
    return ScoreInterval(float(theta[0]), float(low[0]), float(high[0]), confidence, method,
                         b[:, 0], n_repeats=m.k, repeat_estimates=per_repeat,
                         repeat_sd=_nan_sd(per_repeat), se_runs=float(se_runs[0]),
                         se_repeats=float(se_rep[0]), df=float(df[0]))


def bootstrap_scores(stats_by_model: Mapping, *, n_resamples: int = 2000,
                     confidence: float = 0.95, method: str = "t-jackknife",
                     random_state=None) -> dict[str, ScoreInterval]:
    """Confidence intervals of several models' mean scores, from one joint resampling.

    Parameters
    ----------
    stats_by_model : dict of str to RunStatistics or list of RunStatistics
        Each model's :func:`run_statistics` on the same runs: one, or one per random state
        of a stochastic model (K repeats). With repeats the estimate is the mean over them
        and the interval adds the between-repeat variance to the run resampling
        (``t-jackknife`` only; see ``docs/evaluation.md``).
    n_resamples : int, default=2000
        Bootstrap resamples of whole runs (the same for every model, repeat and subject).
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
    >>> ci["good"].covers
    'evaluation runs only'

    Three random states of a stochastic model, beside a deterministic one:

    >>> repeats = [run_statistics(y, y + rng.standard_normal(y.shape)) for _ in range(3)]
    >>> ci = bootstrap_scores({"stochastic": repeats, "bad": stats["bad"]},
    ...                       n_resamples=200, random_state=0)
    >>> ci["stochastic"].n_repeats, ci["stochastic"].covers
    (3, 'evaluation runs and 3 random states')
    >>> bool(np.isclose(ci["stochastic"].estimate, ci["stochastic"].repeat_estimates.mean()))
    True
    """
    if not isinstance(stats_by_model, Mapping) or not stats_by_model:
        raise ValueError("stats_by_model must be a non-empty dict of name -> RunStatistics "
                         "(or a list of them, one per random state).")
    check_method(method)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    stats, counts = _collect(stats_by_model, "stats_by_model")
    _check_method_for_repeats(method, stats_by_model, counts)
    models = _resample(stats, counts, n_resamples, random_state)
    return {name: _score_interval(m, confidence, method)
            for name, m in zip(stats_by_model, models, strict=True)}


def bootstrap_score(stats, **kwargs) -> ScoreInterval:
    """Confidence interval of one model's mean score; see :func:`bootstrap_scores`.

    ``stats`` is one :class:`RunStatistics` or a list of them (one per random state).

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


def _paired_tests(a: _Resampled, b: _Resampled, confidence: float, method: str) -> dict:
    """A - B: mean difference, interval, p-values (mean and per parcel), their terms."""
    full = a.mean_full() - b.mean_full()  # (C,)
    boot, jack = a.boot - b.boot, a.mean_jack() - b.mean_jack()  # (B, C), (R, C)
    theta = full.mean(keepdims=True)  # (1,)
    bm, jm = boot.mean(axis=1)[:, None], jack.mean(axis=1)[:, None]  # (B, 1), (R, 1)
    out = {"full": full, "theta": theta, "boot": bm, "se_runs": jackknife_se(jm)}
    if a.k == b.k == 1:
        out["low"], out["high"] = interval(theta, bm, jm, confidence=confidence, method=method)
        out["p"] = p_value(theta, bm, jm, method=method)
        out["parcel_p"] = p_value(full, boot, jack, method=method)
        out["se_repeats"] = np.full(1, np.nan)
        out["df"] = np.full(1, jack.shape[0] - 1.0 if method == "t-jackknife" else np.nan)
        return out
    repeated = [m for m in (a, b) if m.k > 1]
    seeds = [m.seed(per_parcel=False) for m in repeated]
    _, se, out["df"] = combined_se(jm, seeds)
    out["low"], out["high"] = t_interval(theta, se, out["df"], confidence=confidence)
    out["p"] = t_p_value(theta, se, out["df"])
    _, se_c, df_c = combined_se(jack, [m.seed(per_parcel=True) for m in repeated])  # (C,)
    out["parcel_p"] = t_p_value(full, se_c, df_c)
    out["se_repeats"] = np.sqrt(sum(s for s, _ in seeds))
    return out


def paired_comparison(stats_a, stats_b, *, n_resamples: int = 2000, confidence: float = 0.95,
                      method: str = "t-jackknife", fdr: float = 0.05,
                      random_state=None) -> PairedComparison:
    """Model A minus model B on the same data: interval, p-value, parcels after FDR.

    Both models are resampled with the same runs, so run-to-run variation that affects
    both alike cancels in the difference (a paired test).

    Parameters
    ----------
    stats_a, stats_b : RunStatistics or list of RunStatistics
        :func:`run_statistics` of each model on the same ``y_true``: one, or one per random
        state of a stochastic model (K repeats; a deterministic model beside it is given
        once). With repeats, each model's score is its mean over the repeats, the repeats of
        A and B are independent random states, and the interval and every test add their
        between-repeat variance (``t-jackknife`` only).
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

    Three random states of A against a deterministic B:

    >>> a3 = [run_statistics(y, y + rng.standard_normal(y.shape)) for _ in range(3)]
    >>> cmp = paired_comparison(a3, b, n_resamples=200, random_state=0)
    >>> cmp.n_repeats_a, cmp.n_repeats_b, cmp.p_value < 0.05
    (3, 1, True)
    """
    check_method(method)
    confidence = check_confidence(confidence)
    n_resamples = check_n_resamples(n_resamples)
    fdr = check_unit_fraction(fdr, "fdr")
    by_model = {"stats_a": stats_a, "stats_b": stats_b}
    stats, counts = _collect(by_model, None)
    _check_method_for_repeats(method, by_model, counts)
    a, b = _resample(stats, counts, n_resamples, random_state)
    t = _paired_tests(a, b, confidence, method)
    full = t["full"]
    significant, adjusted = fdr_bh(t["parcel_p"], q=fdr)
    return PairedComparison(
        float(t["theta"][0]), float(t["low"][0]), float(t["high"][0]), float(t["p"][0]), full,
        t["parcel_p"], adjusted, significant, int((significant & (full > 0)).sum()),
        int((significant & (full < 0)).sum()), confidence, fdr, method, t["boot"][:, 0],
        n_repeats_a=a.k, n_repeats_b=b.k, repeat_sd_a=_nan_sd(a.full.mean(axis=1)),
        repeat_sd_b=_nan_sd(b.full.mean(axis=1)), se_runs=float(t["se_runs"][0]),
        se_repeats=float(t["se_repeats"][0]), df=float(t["df"][0]))


def ratio_interval(stats_a, stats_b, *, confidence: float = 0.95) -> dict:
    """Model A's mean score over model B's, with a t-jackknife interval over runs.

    The ratio of the two mean scores (mean over parcels, then subjects) on all runs, its
    leave-one-run-out jackknife standard error and ``t(R - 1)`` interval: the t-jackknife
    construction of :func:`bootstrap_scores` applied to the ratio (a smooth function of
    the run statistics). Both models must be scored on the same runs, once each.

    Parameters
    ----------
    stats_a, stats_b : RunStatistics
    confidence : float, default=0.95

    Returns
    -------
    ratio : dict
        ``estimate``, ``low``, ``high``, ``se`` and ``confidence``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, ratio_interval
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((9, 2, 50, 20))
    >>> a = run_statistics(y, y + 2 * rng.standard_normal(y.shape))
    >>> b = run_statistics(y, y + rng.standard_normal(y.shape))
    >>> r = ratio_interval(a, b)
    >>> round(r["estimate"], 2), r["low"] < r["estimate"] < r["high"]
    (0.62, True)
    """
    confidence = check_confidence(confidence)
    for name, st in (("stats_a", stats_a), ("stats_b", stats_b)):
        if not isinstance(st, RunStatistics):
            raise ValueError(f"{name}: expected one RunStatistics (a model scored once); got "
                             f"{type(st).__name__}.")
    stats = _check_stats({"stats_a": stats_a, "stats_b": stats_b})
    R = stats[0].n_runs
    weights = np.vstack([np.ones((1, R)), _leave_one_out(R)])  # (1 + R, R)
    num, den = (r.mean(axis=1) for r in _parcel_r(stats, weights))  # (1 + R,) each
    if np.any(den <= 0):
        raise ValueError("the ratio's denominator (model B's mean score) is not positive on "
                         "every leave-one-run-out sample: a ratio would be meaningless.")
    ratio = num / den  # (1 + R,)
    se = jackknife_se(ratio[1:, None])  # (1,)
    low, high = t_interval(ratio[:1], se, R - 1, confidence=confidence)
    return {"estimate": float(ratio[0]), "low": float(low[0]), "high": float(high[0]),
            "se": float(se[0]), "confidence": confidence}

"""The comparison's evaluation step: intervals, paired tests and noise ceilings.

Works on the per-run sufficient statistics of each model's predictions
(:func:`sklearn_crossenc.evaluation.run_statistics`), so that thousands of resamples
cost seconds. Returns plain numbers for the report and per-parcel arrays for the
brain maps.
"""

from __future__ import annotations

import time

import numpy as np

from ..data import REPEATED_MOVIES, load_movie10
from ..evaluation import (
    bootstrap_scores,
    fraction_of_ceiling,
    noise_ceiling,
    paired_comparison,
    pearson_from_sums,
)

__all__ = ["compare_models", "ceiling_of_repeats", "ceiling_set", "evaluate_comparison"]

#: Why a set has no noise ceiling.
NO_REPEATS = "no repeated viewings (Friends episodes were shown once)"
NO_DATASET_REPEATS = ("no repeated run of this set in the dataset description's "
                      "[runs.repeats]")


def _per_subject(values: np.ndarray, labels) -> dict:
    return {lab: float(v) for lab, v in zip(labels, values, strict=True)}


def compare_models(stats: dict, *, n_resamples: int, confidence: float, fdr: float,
                   random_state, reference: str | None) -> tuple[dict, dict]:
    """Intervals of every model's mean score and the reference against each other model.

    Parameters
    ----------
    stats : dict
        Set -> model -> :class:`~sklearn_crossenc.evaluation.RunStatistics`.
    reference : str or None
        The model compared with each other one (the registry's reference model); None:
        no pairwise comparison.

    Returns
    -------
    summary : dict
        ``intervals`` (set -> model -> ``{"low", "high"}``), ``pairwise`` (set ->
        list of ``{"a", "b", "difference", "low", "high", "p_value", "n_better",
        "n_worse", "n_parcels"}``) and, for the sets where neither of the two best models
        is the reference, ``top_pair`` (set -> the best minus the next, the same keys).
    maps : dict
        ``"<a> - <b>"`` -> set -> ``{"difference", "significant"}`` per parcel.
    """
    summary = {"intervals": {}, "pairwise": {}}
    maps: dict = {}
    kwargs = dict(n_resamples=n_resamples, confidence=confidence, random_state=random_state)
    for key, by_model in stats.items():
        intervals = bootstrap_scores(by_model, **kwargs)
        summary["method"] = next(iter(intervals.values())).method
        summary["intervals"][key] = {
            m: {"low": ci.low, "high": ci.high, "method": ci.method, "estimate": ci.estimate,
                "n_repeats": ci.n_repeats, "repeat_scores": (None if ci.repeat_estimates is None
                                  else [float(v) for v in ci.repeat_estimates]),
                "repeat_sd": ci.repeat_sd, "se_runs": ci.se_runs, "se_repeats": ci.se_repeats,
                "df": ci.df, "covers": ci.covers}
            for m, ci in intervals.items()
        }
        summary["pairwise"][key] = []
        top = _top_pair(by_model, summary["intervals"][key], reference, fdr, kwargs)
        if top is not None:
            summary.setdefault("top_pair", {})[key] = top
        if reference not in by_model:
            continue
        for other in by_model:
            if other == reference:
                continue
            c = paired_comparison(by_model[reference], by_model[other], fdr=fdr, **kwargs)
            summary["pairwise"][key].append(_row(reference, other, c))
            maps.setdefault(f"{reference} - {other}", {})[key] = {
                "difference": c.parcel_difference, "significant": c.parcel_significant,
                "q_value": c.parcel_p_adjusted,
            }
    return summary, maps


def _row(a: str, b: str, c) -> dict:
    """A paired comparison of ``a`` minus ``b`` as the result records it."""
    return {"a": a, "b": b, "difference": c.difference, "low": c.low, "high": c.high,
            "p_value": c.p_value, "n_better": c.n_better, "n_worse": c.n_worse,
            "n_parcels": int(c.parcel_difference.size), "n_repeats_a": c.n_repeats_a,
            "n_repeats_b": c.n_repeats_b, "repeat_sd_a": c.repeat_sd_a,
            "repeat_sd_b": c.repeat_sd_b, "se_runs": c.se_runs, "se_repeats": c.se_repeats,
            "df": c.df, "covers": c.covers}


def _top_pair(by_model: dict, intervals: dict, reference, fdr, kwargs) -> dict | None:
    """The best model minus the next on a set (by their mean scores), for the verdict, when
    neither is the reference (whose comparisons are in ``pairwise`` already); else None."""
    ranked = sorted(intervals, key=lambda m: intervals[m]["estimate"], reverse=True)
    if len(ranked) < 2 or reference in ranked[:2]:
        return None
    best, nxt = ranked[:2]
    return _row(best, nxt, paired_comparison(by_model[best], by_model[nxt], fdr=fdr, **kwargs))


def ceiling_of_repeats(viewings: dict, eval_runs: list[str], stats: dict, labels,
                       *, fdr: float) -> tuple[dict, np.ndarray | None]:
    """Noise ceiling from the repeated clips, and each model's fraction of it.

    Parameters
    ----------
    viewings : dict
        Movie10 loader dict with both viewings of :data:`REPEATED_MOVIES`.
    eval_runs : list of str
        Run keys of the Movie10 run-1 evaluation set, in the order of ``stats``.
    stats : dict
        Model -> run statistics on the Movie10 run-1 set (or the list of its repeats', whose
        per-parcel r is averaged).

    Returns
    -------
    summary : dict
        ``status`` (``"ok"`` or ``"unavailable"`` with a ``reason``); when ok: ``mean``,
        ``per_subject`` (mean ceiling over reliable parcels), ``split_half_r`` (the raw
        split-half correlation) and ``spearman_brown`` (``2 r / (1 + r)``, the reliability
        of both viewings' mean), means over reliable parcels, ``reliable_fraction``,
        ``pairs`` and, per model, ``r_on_repeats`` and ``fraction`` (mean and per subject).
    ceiling : ndarray of shape (n_subjects, n_parcels) or None
        Per-parcel ceiling, NaN where it is not reliable.
    """
    try:
        nc = noise_ceiling(viewings, fdr=fdr)
    except ValueError as exc:
        return {"status": "unavailable", "reason": str(exc)}, None
    if not nc.reliable.any():
        return {"status": "unavailable",
                "reason": f"no parcel of the {len(nc.pairs)} repeated clips is reliable at "
                          f"{100 * fdr:.0f}% FDR"}, None
    first = {a for a, _ in nc.pairs}
    weights = np.array([1.0 if run in first else 0.0 for run in eval_runs])  # (R,)
    rel = nc.reliable  # (S, C)
    with np.errstate(invalid="ignore"):
        ceil_mean = np.where(rel, nc.ceiling, 0).sum(1) / rel.sum(1)  # (S,)
        half = np.where(rel, nc.split_half_r, 0).sum(1) / rel.sum(1)  # (S,) raw r12
        brown = np.where(rel, 2 * nc.split_half_r / (1 + nc.split_half_r), 0).sum(1) / rel.sum(1)
    summary = {
        "status": "ok",
        "pairs": [list(p) for p in nc.pairs],
        "fdr": nc.fdr,
        "reliable_fraction": float(rel.mean()),
        "mean": float(np.nanmean(ceil_mean)),
        "per_subject": _per_subject(ceil_mean, labels),
        "split_half_r": float(np.nanmean(half)),
        "spearman_brown": float(np.nanmean(brown)),
        "models": {},
    }
    for name, st in stats.items():
        if not weights.any():
            continue
        fits = st if isinstance(st, (list, tuple)) else [st]  # the model's repeated fits
        r = np.mean([pearson_from_sums(one, weights) for one in fits], axis=0)  # (S, C)
        frac = fraction_of_ceiling(r, nc)  # (S,)
        summary["models"][name] = {
            "r_on_repeats": float(r.mean(axis=1).mean()),
            "fraction": float(np.nanmean(frac)),
            "fraction_per_subject": _per_subject(frac, labels),
        }
    return summary, np.where(rel, nc.ceiling, np.nan)


def ceiling_set(protocol):
    """The evaluation set whose runs include the first viewing of the repeated clips
    (Movie10 run 1 in the seed's protocol), or None."""
    return next((s for s in protocol.evaluation if s.kind == "movie10"
                 and (s.runs is None or 1 in s.runs)
                 and (s.movies is None or set(REPEATED_MOVIES) & set(s.movies))), None)


def _ceiling_source(root, protocol, subjects):
    """The evaluation set the noise ceiling is for (None: none) and a function reading
    both viewings of its repeated runs as a loader dict (second viewings under
    ``RUN2_SUFFIX``): the release's repeated Movie10 clips, or a ``dataset.toml``'s
    ``[runs.repeats]`` whose first showing is in an evaluation set."""
    from ..evaluation._ceiling import RUN2_SUFFIX

    desc = protocol.dataset
    if desc is None:
        return ceiling_set(protocol), lambda: load_movie10(
            root, subjects=subjects, movies=REPEATED_MOVIES, runs=[1, 2])
    target = next((s for s in protocol.evaluation
                   if any(a in s.keys for a, _ in desc.repeats.values())), None)
    pairs = [] if target is None else [(a, b) for a, b in desc.repeats.values()
                                       if a in target.keys]

    def read() -> dict:
        runs = desc.load_runs(list(dict.fromkeys(k for p in pairs for k in p)), subjects)
        return {**{a: runs[a] for a, _ in pairs}, **{a + RUN2_SUFFIX: runs[b] for a, b in pairs}}
    return target, read


def evaluate_comparison(root, protocol, sets, stats, maps, data, options) -> dict:
    """Intervals, paired tests and noise ceilings of the fitted models (into ``maps`` too).

    ``options``: ``n_resamples``, ``confidence``, ``fdr``, ``random_state`` and
    ``reference`` (the model compared with each other one, or None).
    """
    t0 = time.perf_counter()
    by_set = {k: {m: st[k] for m, st in stats.items()} for k in protocol.eval_sets}
    summary, diff_maps = compare_models(by_set, **options)
    maps.update(diff_maps)
    no_repeats = NO_REPEATS if protocol.dataset is None else NO_DATASET_REPEATS
    ceilings = {k: {"status": "unavailable", "reason": no_repeats} for k in protocol.eval_sets}
    target, read_viewings = _ceiling_source(root, protocol, data["subjects"])
    if target is not None:
        try:
            viewings = read_viewings()
        except ValueError as exc:
            ceilings[target.key] = {"status": "unavailable", "reason": str(exc)}
        else:
            ceilings[target.key], ceiling_map = ceiling_of_repeats(
                viewings, list(sets[target.key]), by_set[target.key], data["subject_labels"],
                fdr=options["fdr"],
            )
            if ceiling_map is not None:
                maps["noise ceiling"] = {target.key: ceiling_map}
    summary["noise_ceiling"] = ceilings
    summary.update(reference=options["reference"], n_resamples=options["n_resamples"],
                   confidence=options["confidence"], fdr=options["fdr"],
                   random_state=options["random_state"], seconds=time.perf_counter() - t0)
    return summary

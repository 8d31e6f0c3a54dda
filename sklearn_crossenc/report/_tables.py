"""A comparison's numbers and sentences, before any layout: the rows of each evaluation
set's table, the verdict, the paired tests, the notes on the ceilings, and how each cell
is written. The sections of the report (:mod:`._compare_sections`) are built from these."""

from __future__ import annotations

import math

__all__ = ["CEILING", "FRACTION_HEADER", "NOISE_CEILING", "ceiling_notes", "fmt_ci",
           "fmt_pct", "fmt_r", "main_pair", "paired_rows", "pairwise_intro", "p_value_source",
           "report_title", "score_rows", "verdict_lines"]

CEILING = "oracle ceiling"
NOISE_CEILING = "noise ceiling"
#: The column of a model's fraction of the noise ceiling: what it covers is in its name.
FRACTION_HEADER = "% of noise ceiling (repeated clips, reliable parcels)"


def fmt_r(x) -> str:
    """A score as the report writes it: 3 decimals, ``-`` when there is none."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.3f}"


def _interval(result, set_key, name):
    """``(low, high)`` of a model's mean score on a set, or None."""
    ev = result.get("evaluation") or {}
    ci = (ev.get("intervals") or {}).get(set_key, {}).get(name)
    return None if ci is None else (ci["low"], ci["high"])


def _fraction(result, set_key, name):
    """A model's fraction of the noise ceiling on a set, or None."""
    nc = ((result.get("evaluation") or {}).get("noise_ceiling") or {}).get(set_key) or {}
    return (nc.get("models") or {}).get(name, {}).get("fraction")


def score_rows(result, set_key):
    """Rows of a set's table: the ceilings, then each model.

    Each row: ``(label, mean, interval, per-subject list, fraction of ceiling, fit s, note)``.
    """
    subjects = result["data"]["subject_labels"]
    rows = []
    ceiling = result.get("ceiling")
    if ceiling and set_key in ceiling:
        c = ceiling[set_key]
        rows.append((CEILING, c["mean"], None, [c["per_subject"][s] for s in subjects],
                     None, None, ""))
    nc = ((result.get("evaluation") or {}).get("noise_ceiling") or {}).get(set_key)
    if nc and nc.get("status") == "ok":
        rows.append((NOISE_CEILING, nc["mean"], None, [nc["per_subject"][s] for s in subjects],
                     None, None, ""))
    for name, m in result["models"].items():
        if m.get("status") != "ok":
            rows.append((name, None, None, [None] * len(subjects), None, None,
                         m.get("reason", "")))
            continue
        sc = m["scores"][set_key]
        rows.append((name, sc["mean"], _interval(result, set_key, name),
                     [sc["per_subject"][s] for s in subjects], _fraction(result, set_key, name),
                     m.get("fit_s"), ""))
    return rows


def main_pair(result) -> tuple[str, str] | None:
    """The pair of models the figures single out: the reference model (the evaluation's,
    else the registry's) and the first other model that learns from the training runs
    (the first other model, when none does); None without both.

    Examples
    --------
    >>> result = {"models": {"A": {"tuning": {"tuned": "epochs"}, "status": "ok"},
    ...                      "M": {"tuning": {"tuned": "nothing"}, "status": "ok"},
    ...                      "R": {"tuning": {"tuned": "alpha"}, "status": "ok"}},
    ...           "evaluation": {"reference": "A"}}
    >>> main_pair(result)
    ('A', 'R')
    """
    from ..jobs._registry import REGISTRY

    models = result.get("models") or {}
    ev = result.get("evaluation")
    if ev is not None:
        ref = ev.get("reference")
    else:
        ref = next((s.label for s in REGISTRY.values() if s.reference), None)
    others = [n for n, m in models.items() if n != ref and m.get("status") == "ok"]
    if ref not in models or not others:
        return None

    def learns(name):
        return (models[name].get("tuning") or {}).get("tuned", "nothing") != "nothing"

    return ref, next((b for b in others if learns(b)), others[0])


def p_value_source(ev: dict, row: dict) -> str:
    """Which test gave a paired row's p-value, in words.

    Examples
    --------
    >>> p_value_source({"method": "t-jackknife"}, {"df": 8.0})
    't test on the leave-one-run-out jackknife, 8 degrees of freedom'
    >>> p_value_source({"method": "bca", "n_resamples": 2000}, {"df": float("nan")})
    'bca bootstrap of whole runs, 2000 resamples'
    """
    method = ev.get("method", "?")
    if method == "t-jackknife":
        df = row.get("df")
        dof = "" if df is None or not math.isfinite(df) else f", {df:.0f} degrees of freedom"
        return "t test on the leave-one-run-out jackknife" + dof
    return f"{method} bootstrap of whole runs, {ev.get('n_resamples', '?')} resamples"


def paired_rows(result) -> list[tuple[str, dict]]:
    """``(set label, row)`` of every paired test, set by set: the reference minus each
    baseline, then the two best models' when neither is the reference (``top_pair``)."""
    ev = result.get("evaluation") or {}
    out = []
    for key, label in result["eval_sets"].items():
        rows = ((ev.get("pairwise") or {}).get(key) or [])
        top = (ev.get("top_pair") or {}).get(key)
        out += [(label, r) for r in rows + ([top] if top else [])]
    return out


def pairwise_intro(result) -> str:
    """The sentence above the pairwise table: what the difference, its interval, the
    p-value (and the test that gave it) and the parcel counts are."""
    ev = result["evaluation"]
    rows = [r for rs in ev["pairwise"].values() for r in rs]
    tests = sorted({p_value_source(ev, r) for r in rows})
    return (f"Difference of mean r ({ev['reference']} minus the baseline) on the same runs; "
            f"its {100 * ev['confidence']:.0f}% interval; its two-sided p-value, from the "
            f"{' / '.join(tests)}; and the parcels (each parcel's r averaged over subjects) "
            f"where it is significantly better / worse at {100 * ev['fdr']:.0f}% "
            "false-discovery rate (Benjamini-Hochberg), of the parcels tested.")


def _paired_row(result, set_key, a, b):
    """The paired test of ``a`` against ``b`` on a set (the reference's comparisons, and
    the two best models' when neither is the reference), as ``a`` minus ``b`` (the stored
    row flipped when it was ``b`` minus ``a``), or None when it was not made."""
    ev = result.get("evaluation") or {}
    top = (ev.get("top_pair") or {}).get(set_key)
    for row in ((ev.get("pairwise") or {}).get(set_key) or []) + ([top] if top else []):
        if (row["a"], row["b"]) == (a, b):
            return row
        if (row["a"], row["b"]) == (b, a):
            return {**row, "a": a, "b": b, "difference": -row["difference"],
                    "low": -row["high"], "high": -row["low"],
                    "n_better": row["n_worse"], "n_worse": row["n_better"]}
    return None


def verdict_lines(result) -> list[str]:
    """The verdict, one sentence per evaluation set: the best model by mean r, its
    difference to the next with its interval and p-value (and the test that gave it),
    and the parcels where it is significantly better and worse.

    Examples
    --------
    >>> result = {"eval_sets": {"s6": "Friends s6"}, "data": {"n_parcels": 3},
    ...   "models": {"A": {"status": "ok", "scores": {"s6": {"mean": 0.30}}},
    ...              "B": {"status": "ok", "scores": {"s6": {"mean": 0.25}}}},
    ...   "evaluation": {"confidence": 0.95, "fdr": 0.05, "method": "t-jackknife",
    ...     "pairwise": {"s6": [{"a": "B", "b": "A", "difference": -0.05, "low": -0.07,
    ...       "high": -0.03, "p_value": 0.001, "n_better": 0, "n_worse": 2, "df": 8.0}]}}}
    >>> print(verdict_lines(result)[0])  # doctest: +NORMALIZE_WHITESPACE
    Friends s6: A scores best (mean r 0.300), 0.050 above B (95% interval 0.030 to
    0.070; p = 0.001, t test on the leave-one-run-out jackknife, 8 degrees of freedom);
    significantly better in 2 and worse in 0 of 3 parcels (r averaged over subjects, 5%
    false-discovery rate).
    """
    ev = result.get("evaluation") or {}
    lines = []
    for set_key, label in result["eval_sets"].items():
        ranked = sorted(((m["scores"][set_key]["mean"], n) for n, m in result["models"].items()
                         if m.get("status") == "ok"), reverse=True)
        if not ranked:
            lines.append(f"{label}: no model was scored.")
            continue
        (best_r, best), *rest = ranked
        text = f"{label}: {best} scores best (mean r {best_r:.3f})"
        if not rest:
            lines.append(text + ", the only model scored.")
            continue
        nxt_r, nxt = rest[0]
        row = _paired_row(result, set_key, best, nxt)
        if row is None:
            lines.append(text + f", {best_r - nxt_r:.3f} above {nxt} ({nxt_r:.3f}; the two "
                         "were not compared by a paired test).")
            continue
        lines.append(
            text + f", {row['difference']:.3f} above {nxt} "
            f"({100 * ev['confidence']:.0f}% interval {row['low']:.3f} to {row['high']:.3f}; "
            f"p = {row['p_value']:.2g}, {p_value_source(ev, row)}); significantly better in "
            f"{row['n_better']} and worse in {row['n_worse']} of {result['data']['n_parcels']} "
            f"parcels (r averaged over subjects, {100 * ev['fdr']:.0f}% false-discovery rate).")
    return lines


def fmt_ci(ci) -> str:
    """An interval ``(low, high)`` as ``[low,high]``, empty when there is none."""
    return "" if ci is None else f"[{ci[0]:.3f},{ci[1]:.3f}]"


def fmt_pct(x) -> str:
    """A fraction as a whole percentage, empty when there is none."""
    return "" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def ceiling_notes(result) -> list[str]:
    """One sentence per note on the ceilings: why a set has none, how the noise ceiling was
    made, and why the oracle and noise ceilings of one set differ."""
    ceilings = ((result.get("evaluation") or {}).get("noise_ceiling")) or {}
    notes = []
    for set_key, nc in ceilings.items():
        label = result["eval_sets"][set_key]
        if nc.get("status") != "ok":
            notes.append(f"{label}: no {NOISE_CEILING}: {str(nc.get('reason')).rstrip('.')}.")
            continue
        clips = ", ".join(a for a, _ in nc["pairs"])
        notes.append(
            f"{label}: the {NOISE_CEILING} is the sqrt of the split-half r of the "
            f"{len(nc['pairs'])} clips seen twice ({clips}), averaged over the "
            f"{100 * nc['reliable_fraction']:.0f}% reliable parcels; % ceil is a model's r on "
            "those clips' first viewing divided by it, over the reliable parcels.")
        if set_key in (result.get("ceiling") or {}):
            notes.append(
                f"{label}: the {CEILING} (r of the data with the synthetic noise-free signal) "
                "covers every run and every parcel of the set, the noise ceiling only the "
                "repeated clips and the reliable parcels, so either can be the higher.")
    return notes


def report_title(result) -> str:
    """The report's title: a comparison's, or a headroom job's."""
    if result.get("job") == "headroom":
        return "Cross-subject encoding: headroom report"
    return "Cross-subject encoding: comparison report"

"""A comparison as text: the terminal table and the Markdown report."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from ._headroom_section import TITLE, headroom_markdown, verdicts
from ._markdown import code, data_source, footer, header, plain
from ._tuning_section import interval_note, tuning_lines, tuning_notes

__all__ = ["CEILING", "FRACTION_HEADER", "NOISE_CEILING", "format_table", "main_pair",
           "paired_rows", "pairwise_intro", "p_value_source",
           "report_markdown", "verdict_lines"]

CEILING = "oracle ceiling"
NOISE_CEILING = "noise ceiling"
#: The column of a model's fraction of the noise ceiling: what it covers is in its name.
FRACTION_HEADER = "% of noise ceiling (repeated clips, reliable parcels)"
WIDTH = 100  # columns of the terminal table


def _fmt(x, width=8) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-".rjust(width)
    return f"{x:.3f}".rjust(width)


def _interval(result, set_key, name):
    """``(low, high)`` of a model's mean score on a set, or None."""
    ev = result.get("evaluation") or {}
    ci = (ev.get("intervals") or {}).get(set_key, {}).get(name)
    return None if ci is None else (ci["low"], ci["high"])


def _fraction(result, set_key, name):
    """A model's fraction of the noise ceiling on a set, or None."""
    nc = ((result.get("evaluation") or {}).get("noise_ceiling") or {}).get(set_key) or {}
    return (nc.get("models") or {}).get(name, {}).get("fraction")


def _rows(result, set_key):
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


def _fmt_ci(ci, width=16) -> str:
    return ("" if ci is None else f"[{ci[0]:.3f},{ci[1]:.3f}]").rjust(width)


def _fmt_pct(x, width=8) -> str:
    return ("" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%").rjust(width)


def _set_block(result, set_key, set_label, name_w, header) -> list[str]:
    info = result["data"]["sets"][set_key]
    lines = [
        f"{set_label}: Pearson r per parcel, mean over parcels then subjects "
        f"({info['n_runs']} runs, {info['n_times']} TRs, {result['data']['n_parcels']} parcels)",
        header,
        "-" * len(header),
    ]
    for label, mean, ci, per_subject, frac, fit_s, note in _rows(result, set_key):
        if mean is None:
            lines.append(label.ljust(name_w) + f"  skipped: {note}")
            continue
        line = label.ljust(name_w) + _fmt(mean) + _fmt_ci(ci)
        line += "".join(_fmt(v) for v in per_subject) + _fmt_pct(frac)
        line += f"{fit_s:9.1f}" if fit_s is not None else ""
        lines.append(line.rstrip())
    return lines


def format_table(result) -> str:
    """The comparison as plain text: the verdict (one sentence per evaluation set), a
    table per evaluation set, then the pairwise comparisons and the noise-ceiling notes.

    Each block lists the oracle ceiling (synthetic data only), the noise ceiling (sets
    with repeated viewings) and each model with its mean Pearson r (over parcels, then
    subjects), its confidence interval, the per-subject means, its fraction of the noise
    ceiling and the fit time in seconds. Skipped models show why. Fits in 100 columns.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.

    Returns
    -------
    table : str
    """
    subjects = result["data"]["subject_labels"]
    name_w = max([len(CEILING), len(NOISE_CEILING)] + [len(n) for n in result["models"]]) + 2
    ev = result.get("evaluation") or {}
    level = f"{100 * ev.get('confidence', 0.95):.0f}% CI"
    header = ("model".ljust(name_w) + _fmt_str("mean") + _fmt_str(level, 16)
              + "".join(_fmt_str(s) for s in subjects) + _fmt_str("% ceil") + "fit (s)".rjust(9))
    headroom_first = result.get("job") == "headroom"  # the job's answer first
    verdict = [f"{TITLE}:"] + _wrapped([f"- {v}" for v in verdicts(result)]) + [""]
    if headroom_first and verdicts(result):
        lines = list(verdict)
    else:
        lines = _wrapped(["VERDICT " + v for v in verdict_lines(result)])
        lines += [""] if lines else []
    for set_key, set_label in result["eval_sets"].items():
        lines += _set_block(result, set_key, set_label, name_w, header) + [""]
    if not headroom_first and verdicts(result):
        lines += verdict
    notes = tuning_notes(result)
    if notes:
        lines += _wrapped([f"NOTE: {n}" for n in notes]) + [""]
    lines += _pairwise_lines(result) + _wrapped(_ceiling_notes(result))
    if interval_note(result):
        lines += _wrapped([interval_note(result)])
    if any(m.get("tuning") for m in result["models"].values()):
        lines += [""] + [line for text in tuning_lines(result)
                         for line in textwrap.wrap(text, WIDTH, subsequent_indent="    ")]
    return "\n".join(lines).rstrip() + "\n"


def _pairwise_lines(result) -> list[str]:
    ev = result.get("evaluation") or {}
    pairwise = ev.get("pairwise") or {}
    if not any(pairwise.values()):
        return []
    level = f"{100 * ev['confidence']:.0f}% CI"
    lines = textwrap.wrap(pairwise_intro(result), WIDTH)
    header = ("set".ljust(15) + "baseline".ljust(20) + _fmt_str("diff") + _fmt_str(level, 18)
              + _fmt_str("p", 9) + _fmt_str("better") + _fmt_str("worse") + _fmt_str("tested"))
    lines += [header, "-" * len(header)]
    for set_key, rows in pairwise.items():
        for row in rows:
            lines.append(
                result["eval_sets"][set_key].ljust(15) + row["b"].ljust(20)
                + f"{row['difference']:+8.3f}" + _fmt_ci((row["low"], row["high"]), 18)
                + f"{row['p_value']:9.2g}" + f"{row['n_better']:8d}" + f"{row['n_worse']:8d}"
                + f"{row.get('n_parcels', result['data']['n_parcels']):8d}"
            )
    return lines + [""]


def _ceiling_notes(result) -> list[str]:
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


def _wrapped(notes: list[str]) -> list[str]:
    return [line for note in notes for line in textwrap.wrap(note, WIDTH)]


def _fmt_str(s, width=8) -> str:
    return str(s).rjust(width)


def _md_table(result, set_key) -> list[str]:
    subjects = result["data"]["subject_labels"]
    out = [
        "| model | mean | CI | " + " | ".join(subjects) + f" | {FRACTION_HEADER} | fit (s) |",
        "|---|---:|---:|" + "---:|" * len(subjects) + "---:|---:|",
    ]
    for label, mean, ci, per_subject, frac, fit_s, note in _rows(result, set_key):
        if mean is None:
            out.append(f"| {label} | skipped: {plain(note)} |" + " |" * (len(subjects) + 3))
            continue
        cells = [f"{mean:.3f}", _fmt_ci(ci, 0)] + [f"{v:.3f}" for v in per_subject]
        cells += [_fmt_pct(frac, 0), "" if fit_s is None else f"{fit_s:.1f}"]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def _md_pairwise(result) -> list[str]:
    ev = result.get("evaluation") or {}
    if not any((ev.get("pairwise") or {}).values()):
        return []
    out = [
        f"## {ev['reference']} against each baseline",
        "",
        pairwise_intro(result),
        "",
        "| set | baseline | difference | interval | p | parcels better | parcels worse | "
        "parcels tested |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for set_key, rows in ev["pairwise"].items():
        for r in rows:
            out.append(
                f"| {result['eval_sets'][set_key]} | {r['b']} | {r['difference']:+.3f} | "
                f"{_fmt_ci((r['low'], r['high']), 0)} | {r['p_value']:.2g} | {r['n_better']} | "
                f"{r['n_worse']} | {r.get('n_parcels', result['data']['n_parcels'])} |"
            )
    return out + [""]


def report_title(result) -> str:
    """The report's title: a comparison's, or a headroom job's."""
    if result.get("job") == "headroom":
        return "Cross-subject encoding: headroom report"
    return "Cross-subject encoding: comparison report"


def report_markdown(result, figures: dict | None = None, files: dict | None = None) -> str:
    """The comparison as a Markdown document (tables, configuration, timings, figures).

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    figures : dict of str to path, optional
        Figures written beside the report (kind -> file); linked when given.
    files : dict of str to path, optional
        Other files written beside it (per-parcel tables, NIfTI maps); listed when given.

    Returns
    -------
    text : str
    """
    cfg, data = result["config"], result["data"]
    train = data["sets"]["train"]
    verdict = verdict_lines(result)
    lines = header(report_title(result), result)
    if result.get("job") == "headroom":  # the job's answer first
        lines += headroom_markdown(result)
    elif verdict:
        lines += ["## Verdict", ""] + [f"- {v}" for v in verdict] + [""]
        if "differences" in (figures or {}):
            lines += [f"![paired differences]({Path(figures['differences']).name})", ""]
    lines += [
        f"Data: {data_source(cfg)}"
        + (" (synthetic: the oracle ceiling is known)" if data["synthetic"] else "")
        + f"; subjects {', '.join(data['subject_labels'])}; {data['n_parcels']} parcels.",
        f"Protocol: train on {train['label']} ({train['n_runs']} runs, {train['n_times']} TRs); "
        "evaluate on "
        + ", ".join(f"{label} ({data['sets'][k]['n_runs']} runs)"
                    for k, label in result["eval_sets"].items())
        + ".",
        f"Score: Pearson r per parcel over the concatenated runs, mean over parcels, then over "
        f"subjects; {cfg['trim']} TRs left out at each end of every run.",
        *([f"Brain maps: {plain(cfg['atlas_reason'])}."] if cfg.get("atlas_reason") else []),
        "",
    ]
    if cfg.get("quick"):
        lines += ["**Quick run** (`--quick`): reduced training, numbers are a smoke test only.", ""]
    headroom_first = result.get("job") == "headroom"
    for set_key, set_label in result["eval_sets"].items():
        lines += [f"## {set_label}", ""] + _md_table(result, set_key) + [""]
    notes = _ceiling_notes(result)
    if notes:
        lines += ["Notes on the ceilings:", ""] + [f"- {plain(n)}" for n in notes] + [""]
    notes = tuning_notes(result)
    if notes:
        lines += [f"**Note:** {n}" for n in notes] + [""]
    lines += _md_pairwise(result)
    if not headroom_first:
        lines += headroom_markdown(result)
    if interval_note(result):
        lines += [interval_note(result), ""]
    if any(m.get("tuning") for m in result["models"].values()):
        lines += ["## Protocol: how each model chose its settings", ""]
        lines += tuning_lines(result) + [""]
    lines += ["## Models", ""]
    for name, m in result["models"].items():
        if m.get("status") != "ok":
            lines.append(f"- **{name}**: skipped ({plain(m.get('reason', ''))})")
            continue
        params = ", ".join(f"{k}={v!r}" for k, v in m.get("params", {}).items())
        params = code(params) if params else "(no parameters)"
        lines.append(
            f"- **{name}**: fit {m['fit_s']:.1f} s, evaluation {m['eval_s']:.1f} s. {params}"
        )
    lines.append("")
    if figures:
        lines += ["## Figures", ""]
        for kind, path in figures.items():
            lines += [f"![{kind}]({Path(path).name})", ""]
    if files:
        lines += ["## Per-parcel files", ""]
        lines += [f"- {kind}: [{Path(p).name}]({Path(p).name})" for kind, p in files.items()]
        lines.append("")
    return "\n".join(lines + footer(result)) + "\n"

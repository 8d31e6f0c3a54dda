"""The headroom section: each stimulus model against the cross-subject ceiling.

One set of rows and sentences (:func:`headroom_rows`, :func:`verdicts`), one section
(:func:`headroom_section`) that the terminal, report.md and report.html render. The brain
maps of the section (the headroom with its significant parcels, the model's unique
variance, per evaluation set) are listed by :func:`headroom_maps` for the map writers.
"""

from __future__ import annotations

import numpy as np

from ..jobs._headroom import UNIQUE_PREFIX, unique_map_name
from ._sections import Items, Paragraph, Section, Table

__all__ = ["TITLE", "headroom_maps", "headroom_section", "verdicts", "headroom_rows",
           "is_headroom_map"]

TITLE = "Headroom against the cross-subject ceiling"
#: What the section's numbers mean, said once for both renderings.
EXPLAINED = (
    "The ceiling is {ceiling}: what the other subjects predict of a subject, the best-known "
    "bound for a stimulus model. Headroom is the ceiling's mean r minus the model's (positive: "
    "the model falls short), with its {level} interval and the paired t-jackknife test over "
    "evaluation runs; parcels below / above count the parcels (mean over subjects) where the "
    "ceiling is significantly better / worse at {fdr} FDR (above: stimulus information the "
    "other subjects do not carry). Model / ceiling is the ratio of mean r with its jackknife "
    "interval. The challenge rule drops 5 TRs at each end of every run and scores each movie "
    "(a Friends season, a Movie10 movie) over its concatenated runs.")
PARTITION_EXPLAINED = (
    "Variance partitioning: out-of-sample R² of linear read-outs of each parcel from the "
    "model, the ceiling and both, fitted on all evaluation runs but one and scored on that "
    "one; unique to model = R²(both) - R²(ceiling), unique to ceiling = R²(both) - R²(model), "
    "shared = the rest. Means over subjects and parcels; pieces are not clipped at 0 (a part "
    "that is zero in truth comes out slightly negative as often as positive), and the share "
    "of parcels whose unique part is negative is given.")
HEADROOM_MAP = "headroom of {model}"
UNIQUE_MAP = UNIQUE_PREFIX + "{model}"


def is_headroom_map(kind: str) -> bool:
    """Whether a figure kind (``"brain: <label>"``) is one of this section's maps."""
    label = kind[len("brain: "):] if kind.startswith("brain: ") else ""
    return label.startswith((HEADROOM_MAP.split("{")[0], UNIQUE_MAP.split("{")[0]))


def _f(x, digits=3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.0f}%"


def _p(p) -> str:
    return "n/a" if p is None else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def _models(result):
    return list(result.get("headroom") or {})


def _ceiling(result) -> str:
    return (result.get("ceiling_model") or {}).get("name") or (
        result.get("evaluation") or {}).get("reference") or "CrossSubjectEncoder"


def headroom_rows(result) -> list[dict]:
    """One row per model and evaluation set: every number of the section's table."""
    rows = []
    ceiling = _ceiling(result)
    for model in _models(result):
        for key, h in result["headroom"][model].items():
            scores = result["models"][model]["scores"][key]
            ceil = result["models"][ceiling]["scores"][key]
            rows.append({
                "model": model, "set": result["eval_sets"][key], "set_key": key,
                "model_r": scores["mean"], "ceiling_r": ceil["mean"],
                "headroom": h["mean"], "interval": h["interval"], "p": h["p"],
                "ratio": h["ratio"], "below": h["parcels_below"],
                "above": h["parcels_above"], "n_parcels": h["n_parcels"],
                "challenge_model": scores.get("challenge"),
                "challenge_ceiling": ceil.get("challenge"),
                "partition": (result.get("partition") or {}).get(model, {}).get(key),
            })
    return rows


def verdicts(result) -> list[str]:
    """One sentence per model and evaluation set: where the model stands to the ceiling."""
    ev = result.get("evaluation") or {}
    fdr = f"{100 * ev.get('fdr', 0.05):.0f}%"
    out = []
    for row in headroom_rows(result):
        lo, hi = row["interval"]
        side = "below" if row["headroom"] > 0 else "above"
        out.append(
            f"{row['model']} on {row['set']}: r {_f(row['model_r'])} against the ceiling's "
            f"{_f(row['ceiling_r'])}, {_f(abs(row['headroom']))} {side} it (headroom "
            f"{_f(row['headroom'])} [{_f(lo)}, {_f(hi)}], p {_p(row['p'])}); "
            f"{_pct(row['ratio']['estimate'])} of the ceiling [{_pct(row['ratio']['low'])}, "
            f"{_pct(row['ratio']['high'])}]; {row['below']} of {row['n_parcels']} parcels "
            f"significantly below the ceiling, {row['above']} above ({fdr} FDR).")
    return out


def _noise_rows(result) -> list[str]:
    """The split-half noise ceilings, raw and Spearman-Brown corrected, where they exist."""
    out = []
    nc = ((result.get("evaluation") or {}).get("noise_ceiling") or {})
    for key, c in nc.items():
        if c.get("status") == "ok" and "split_half_r" in c:
            out.append(
                f"{result['eval_sets'][key]}: split-half noise ceiling from repeated viewings, "
                f"reliable parcels: split-half r {_f(c['split_half_r'])} (raw), "
                f"{_f(c['spearman_brown'])} Spearman-Brown corrected; reachable r against one "
                f"run {_f(c['mean'])}.")
    return out


_HEAD = ["model", "set", "model r", "ceiling r", "headroom [interval]", "p",
         "model / ceiling", "parcels below / above", "challenge rule: model / ceiling"]
_PART_HEAD = ["model", "set", "R² model", "R² ceiling", "R² both", "unique to model",
              "shared", "unique to ceiling", "negative unique (model / ceiling)"]


def _cells(row) -> list[str]:
    r = row["ratio"]
    return [row["model"], row["set"], _f(row["model_r"]), _f(row["ceiling_r"]),
            f"{_f(row['headroom'])} [{_f(row['interval'][0])}, {_f(row['interval'][1])}]",
            _p(row["p"]), f"{_pct(r['estimate'])} [{_pct(r['low'])}, {_pct(r['high'])}]",
            f"{row['below']} / {row['above']} (of {row['n_parcels']})",
            f"{_f(row['challenge_model'])} / {_f(row['challenge_ceiling'])}"]


def _part_cells(row) -> list[str] | None:
    p = row["partition"]
    if p is None:
        return None
    return [row["model"], row["set"], *(_f(p[k]) for k in (
        "r2_model", "r2_ceiling", "r2_both", "unique_model", "shared", "unique_ceiling")),
        f"{_pct(p['unique_model_negative_fraction'])} / "
        f"{_pct(p['unique_ceiling_negative_fraction'])}"]


def _network_tables(result) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    for model, by_set in (result.get("networks") or {}).items():
        for key, rows in by_set.items():
            out.append((f"{model}, {result['eval_sets'][key]}: per network",
                        ["network", "parcels", "headroom", "below", "above"],
                        [[r["network"], str(r["n_parcels"]), _f(r["headroom"]),
                          str(r["parcels_below"]), str(r["parcels_above"])] for r in rows]))
    return out


def _explained(result) -> str:
    ev = result.get("evaluation") or {}
    return EXPLAINED.format(ceiling=_ceiling(result),
                            level=f"{100 * ev.get('confidence', 0.95):.0f}%",
                            fdr=f"{100 * ev.get('fdr', 0.05):.0f}%")


def headroom_section(result, maps=()) -> Section:
    """The section (empty when the result has no headroom): the verdicts (all the terminal
    shows), the table, the variance partitioning, the noise ceilings, the networks, and
    the section's brain maps (``maps``, :class:`._sections.Figure` blocks) at its end."""
    rows = headroom_rows(result)
    if not rows:
        return Section("headroom", TITLE)
    blocks = [Items(tuple(verdicts(result))), Table(tuple(_HEAD), tuple(map(_cells, rows))),
              Paragraph(_explained(result), muted=True)]
    parts = [c for c in (_part_cells(r) for r in rows) if c is not None]
    if parts:
        blocks += [Table(tuple(_PART_HEAD), tuple(parts)),
                   Paragraph(PARTITION_EXPLAINED, muted=True)]
    if _noise_rows(result):
        blocks.append(Items(tuple(_noise_rows(result))))
    blocks += [Table(tuple(head), tuple(body), caption=title)
               for title, head, body in _network_tables(result)]
    return Section("headroom", TITLE, tuple(blocks) + tuple(maps), nav="headroom", brief=(0,))


def headroom_maps(result, set_key: str) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
    """``(label, kind, values (C,), significant or None)`` of the headroom maps of one
    evaluation set: per model, the headroom (ceiling minus model, mean over subjects; kind
    "difference") and the model's unique variance (kind "unique")."""
    maps = result.get("maps") or {}
    ceiling = _ceiling(result)
    out = []
    for model in _models(result):
        pair = (maps.get(f"{ceiling} - {model}") or {}).get(set_key)
        if pair is not None:
            out.append((HEADROOM_MAP.format(model=model), "difference",
                        np.asarray(pair["difference"], dtype=float),
                        np.asarray(pair["significant"], dtype=bool)))
        unique = (maps.get(unique_map_name(model)) or {}).get(set_key)
        if unique is not None:
            out.append((UNIQUE_MAP.format(model=model), "unique",
                        np.asarray(unique, dtype=float), None))
    return out

"""The new-subject job's learning curve (:mod:`sklearn_crossenc.jobs.new_subject`) as a
table and as its ``report.md``."""

from __future__ import annotations

from ._markdown import code, footer, header

__all__ = ["format_learning_curve", "new_subject_markdown", "LEGEND"]

#: Every column of the learning curve, explained (the report prints this legend).
LEGEND = {
    "budget": "minutes of the new subject's training runs used ('all': every run)",
    "TRs": "time points in that budget",
    "added": "mean Pearson r of the new subject added to the frozen encoder (SubjectAdder)",
    "ridge": "CrossSubjectRidge from the mean of the others to the new subject, same data",
    "mean of others": "the mean of the fitted subjects as the prediction: needs no data",
    "reference": "an encoder trained from scratch on all subjects with all the data",
    "prior weight": "where the decoder's penalty pulls: 1 toward the group's decoder (the "
                    "fitted subjects' average), 0 toward zero; chosen with alpha by "
                    "cross-validation over the budget's runs",
    "alpha": "the decoder's penalty chosen by cross-validation over the budget's runs",
    "add (s)": "seconds to fit the adder at the chosen penalty",
    "search (s)": "seconds of the cross-validated fit (prior weight and alpha)",
    "ridge fit (s)": "seconds to fit the ridge",
    "!": "the added subject scores below the mean of the others on that set",
}


def _fmt(x, spec=".3f") -> str:
    return "-" if x is None else format(x, spec)


def _budget(minutes) -> str:
    return "all" if minutes is None else f"{minutes:g} min"


def _below_mean(row: dict, result: dict) -> bool:
    mean = result.get("mean_of_others") or {}
    return any(row["added"][k] < mean[k] for k in mean if k in row["added"])


def _columns(result: dict) -> list[str]:
    sets = result["eval_sets"]
    cols = ["budget", "TRs"]
    cols += [f"added {lab}" for lab in sets.values()] + [f"ridge {lab}" for lab in sets.values()]
    cols += [f"mean of others {lab}" for lab in sets.values()]
    cols += [f"reference {lab}" for lab in sets.values()]
    return cols + ["prior weight", "alpha", "add (s)", "search (s)", "ridge fit (s)", "!"]


def _cells(row: dict, result: dict) -> list[str]:
    sets = list(result["eval_sets"])
    a, r = row["added"], row.get("ridge") or {}
    mean, ref = result.get("mean_of_others") or {}, result.get("reference") or {}
    return ([_budget(row["minutes"]), str(row["n_trs"])]
            + [_fmt(a[k]) for k in sets] + [_fmt(r.get(k)) for k in sets]
            + [_fmt(mean.get(k)) for k in sets] + [_fmt(ref.get(k)) for k in sets]
            + [f"{a['prior_weight']:g}", f"{a['alpha']:g}", f"{a['add_time_s']:.2f}",
               f"{a['search_time_s']:.1f}",
               _fmt(r.get("fit_time_s"), ".1f"), "!" if _below_mean(row, result) else ""])


def format_learning_curve(result: dict) -> str:
    """The learning curve as a Markdown table (scores of the new subject, seconds)."""
    cols = _columns(result)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cells(row, result)) + " |" for row in result["budgets"]]
    return "\n".join(lines)


def new_subject_markdown(result: dict) -> str:
    """The new-subject job's ``report.md``: what was done, the table, its legend."""
    cfg = result["config"]
    others = ", ".join(f"sub-{s:02d}" for s in result["fitted_subjects"])
    sets = ", ".join(result["eval_sets"].values())
    lines = header(f"Adding subject sub-{result['new_subject']:02d} to a trained encoder",
                   result) + [
        f"Data: {code(cfg['data_dir'])}. The encoder was trained on {others} "
        f"({cfg['protocol']['train']}, {result['timings']['encoder_fit_s']:.1f} s) and frozen; "
        f"sub-{result['new_subject']:02d} was added from the first minutes of its "
        f"{cfg['protocol']['train']} runs ({result['available_trs']} time points in all), at "
        f"budgets of {', '.join(_budget(m) for m in cfg['budgets_min'])}, and scored on "
        f"{sets}. The fitted subjects' own scores: "
        + ", ".join(f"{result['eval_sets'][k]} {v:.3f}" for k, v in result["frozen"].items())
        + ".",
        "",
    ]
    if cfg.get("quick"):
        lines += ["**Quick run** (`--quick`): reduced training, numbers are a smoke test only.", ""]
    lines += ["## Learning curve", "", format_learning_curve(result), ""]
    flagged = [_budget(r["minutes"]) for r in result["budgets"] if _below_mean(r, result)]
    if flagged:
        lines += [f"**Below the mean of the others** (flag `!`) at {', '.join(flagged)}: "
                  "there, predicting the new subject by the average of the others is better.",
                  ""]
    lines += ["Columns:", ""] + [f"- **{k}**: {v}" for k, v in LEGEND.items()] + [""]
    return "\n".join(lines + footer(result)) + "\n"

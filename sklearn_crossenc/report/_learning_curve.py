"""The new-subject job's learning curve (:mod:`sklearn_crossenc.jobs.new_subject`) as a
section (:mod:`._sections`): the terminal's table and the sections of its ``report.md``."""

from __future__ import annotations

from ..data._paths import subject_label
from ._job_sections import data_source, footer_sections, quick_section
from ._markdown import header
from ._sections import (
    Callout,
    Code,
    Column,
    Fields,
    Paragraph,
    Section,
    Table,
    to_markdown,
    to_text,
)

__all__ = ["format_learning_curve", "learning_curve_section", "new_subject_markdown", "LEGEND"]

#: Every column of the learning curve, explained (the report prints this legend).
LEGEND = {
    "budget": "minutes of the new subject's training runs used ('all': every run)",
    "TRs": "time points in that budget",
    "added": "mean Pearson r of the new subject added to the frozen encoder (SubjectAdder)",
    "ridge": "CrossSubjectRidge from the mean of the others to the new subject, same data",
    "mean of others": "the mean of the fitted subjects as the prediction: needs no data",
    "reference": "an encoder trained from scratch on all subjects with all the data",
    "kernel": "the new subject's temporal kernel, its taps at the delays shown in the header "
              "(TRs, positive: the past), shared by all parcels and fitted from the group's "
              "shifted predictions; 'none' when cross-validation kept the latent as it is",
    "strength": "the decoder's penalty toward the group's decoder (the fitted subjects' "
                "average), chosen by cross-validation over the budget's runs. Empirical "
                "Bayes: the scale of the per-parcel strengths (noise variance over "
                "between-subject variance), the prior weight w, how far the prior's "
                "covariance was shrunk toward the identity, and the strengths' median; "
                "'prior alone' when no refinement won. Isotropic: the prior weight w and "
                "alpha",
    "add (s)": "seconds to fit the adder at the chosen penalty",
    "search (s)": "seconds of the cross-validated fit (kernel and strength)",
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
    return cols + ["kernel", "strength", "add (s)", "search (s)", "ridge fit (s)", "!"]


def kernel_cell(added: dict) -> str:
    """The chosen kernel's taps, or 'none' (the identity).

    Examples
    --------
    >>> kernel_cell({"kernel": [0.0, 0.1, 0.6, 0.3, 0.0], "kernel_fitted": True})
    '0.00 0.10 0.60 0.30 0.00'
    >>> kernel_cell({"kernel": [0.0, 0.0, 1.0, 0.0, 0.0], "kernel_fitted": False})
    'none'
    """
    if not added.get("kernel_fitted"):
        return "none"
    return " ".join(f"{h:.2f}" for h in added["kernel"])


def strength_cell(added: dict) -> str:
    """The chosen penalty in a few characters.

    Examples
    --------
    >>> strength_cell({"prior": "empirical_bayes", "refined": True, "scale": 3.16,
    ...                "prior_weight": 0.75, "shrinkage": 0.0,
    ...                "strength_quantiles": [0.5, 2.0, 9.0]})
    'scale 3.16, w 0.75, shrinkage 0 (median 2)'
    >>> strength_cell({"prior": "empirical_bayes", "refined": False})
    'prior alone'
    >>> strength_cell({"prior": "isotropic", "refined": True, "prior_weight": 0.5,
    ...                "alpha": 1000.0})
    'w 0.5, alpha 1000'
    """
    if not added.get("refined", True):
        return "prior alone"
    if added.get("prior", "isotropic") == "isotropic":
        return f"w {added['prior_weight']:g}, alpha {added['alpha']:g}"
    shrink = "" if added.get("shrinkage") is None else f", shrinkage {added['shrinkage']:g}"
    return (f"scale {added['scale']:.3g}, w {added['prior_weight']:g}{shrink} "
            f"(median {added['strength_quantiles'][1]:.3g})")


def _cells(row: dict, result: dict) -> list[str]:
    sets = list(result["eval_sets"])
    a, r = row["added"], row.get("ridge") or {}
    mean, ref = result.get("mean_of_others") or {}, result.get("reference") or {}
    return ([_budget(row["minutes"]), str(row["n_trs"])]
            + [_fmt(a[k]) for k in sets] + [_fmt(r.get(k)) for k in sets]
            + [_fmt(mean.get(k)) for k in sets] + [_fmt(ref.get(k)) for k in sets]
            + [kernel_cell(a), strength_cell(a), f"{a['add_time_s']:.2f}",
               f"{a['search_time_s']:.1f}",
               _fmt(r.get("fit_time_s"), ".1f"), "!" if _below_mean(row, result) else ""])


def learning_curve_section(result: dict) -> Section:
    """The learning curve: the kernel's taps and the penalty, the table (scores of the new
    subject, seconds), the budgets where it falls below the mean of the others, and the
    columns' legend."""
    cfg = result["config"]
    taps = ", ".join(str(d) for d in cfg.get("kernel_delays", ()))
    blocks = [Paragraph((f"Kernel taps at delays {taps} (TRs); penalty ",
                         Code(cfg.get("prior", "isotropic")), ".")),
              Table(tuple(Column(c, left=c in ("budget", "kernel", "strength"))
                          for c in _columns(result)),
                    tuple(tuple(_cells(row, result)) for row in result["budgets"]))]
    flagged = [_budget(r["minutes"]) for r in result["budgets"] if _below_mean(r, result)]
    if flagged:
        blocks.append(Callout("Below the mean of the others", (
            f"(flag !) at {', '.join(flagged)}: there, predicting the new subject by the "
            "average of the others is better.")))
    blocks += [Paragraph("Columns:"), Fields(tuple(LEGEND.items()))]
    return Section("curve", "Learning curve", tuple(blocks))


def format_learning_curve(result: dict) -> str:
    """The learning curve for the terminal (scores of the new subject, seconds): the table
    of :func:`learning_curve_section` in aligned columns, as report.md has it."""
    table = Section("curve", "", learning_curve_section(result).blocks[1:2])
    return to_text(table)


def new_subject_markdown(result: dict) -> str:
    """The new-subject job's ``report.md``: what was done, the table, its legend."""
    cfg = result["config"]
    others = ", ".join(subject_label(s) for s in result["fitted_subjects"])
    sets = ", ".join(result["eval_sets"].values())
    intro = Section("summary", "", (Paragraph((
        "Data: ", *data_source(cfg), f". The encoder was trained on {others} "
        f"({cfg['protocol']['train']}, {result['timings']['encoder_fit_s']:.1f} s) and frozen; "
        f"{subject_label(result['new_subject'])} was added from the first minutes of its "
        f"{cfg['protocol']['train']} runs ({result['available_trs']} time points in all), at "
        f"budgets of {', '.join(_budget(m) for m in cfg['budgets_min'])}, and scored on "
        f"{sets}. The fitted subjects' own scores: "
        + ", ".join(f"{result['eval_sets'][k]} {v:.3f}" for k, v in result["frozen"].items())
        + ".")),))
    sections = [intro, quick_section(result), learning_curve_section(result),
                *footer_sections(result)]
    title = f"Adding subject {subject_label(result['new_subject'])} to a trained encoder"
    return "\n".join(header(title, result) + ["\n\n".join(
        to_markdown(s).rstrip("\n") for s in sections if s)]) + "\n"

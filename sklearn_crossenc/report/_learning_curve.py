"""The new-subject job's learning curve as a table (:mod:`sklearn_crossenc.jobs.new_subject`)."""

from __future__ import annotations

__all__ = ["format_learning_curve"]


def _fmt(x, spec=".3f") -> str:
    return "-" if x is None else format(x, spec)


def format_learning_curve(result: dict) -> str:
    """The learning curve as a Markdown table (scores of the new subject, seconds)."""
    ref = result.get("reference") or {}
    mean = result.get("mean_of_others") or {}
    head = ("| budget | TRs | added s6 | added m10 | ridge s6 | ridge m10 | mean-of-others s6 "
            "| reference s6 | reference m10 | alpha | add (s) | alpha search (s) | ridge fit (s) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in result["budgets"]:
        a, r = row["added"], row.get("ridge", {})
        budget = "all" if row["minutes"] is None else f"{row['minutes']:g} min"
        lines.append(
            f"| {budget} | {row['n_trs']} | {_fmt(a['friends_s6'])} | {_fmt(a['movie10_run1'])} "
            f"| {_fmt(r.get('friends_s6'))} | {_fmt(r.get('movie10_run1'))} "
            f"| {_fmt(mean.get('friends_s6'))} | {_fmt(ref.get('friends_s6'))} "
            f"| {_fmt(ref.get('movie10_run1'))} | {a['alpha']:g} | {a['add_time_s']:.2f} "
            f"| {a['search_time_s']:.1f} | {_fmt(r.get('fit_time_s'), '.1f')} |"
        )
    return "\n".join(lines)

"""A comparison as text: the terminal table and the Markdown report."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["CEILING", "format_table", "report_markdown"]

CEILING = "oracle ceiling"


def _fmt(x, width=8) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-".rjust(width)
    return f"{x:.3f}".rjust(width)


def _rows(result, set_key):
    """(label, mean, per-subject list, fit seconds, note) for the ceiling and each model."""
    subjects = result["data"]["subject_labels"]
    rows = []
    ceiling = result.get("ceiling")
    if ceiling and set_key in ceiling:
        c = ceiling[set_key]
        rows.append((CEILING, c["mean"], [c["per_subject"][s] for s in subjects], None, ""))
    for name, m in result["models"].items():
        if m.get("status") != "ok":
            rows.append((name, None, [None] * len(subjects), None, m.get("reason", "")))
            continue
        sc = m["scores"][set_key]
        rows.append(
            (name, sc["mean"], [sc["per_subject"][s] for s in subjects], m.get("fit_s"), "")
        )
    return rows


def format_table(result) -> str:
    """The comparison as a plain-text table, one block per evaluation set.

    Each block lists the oracle ceiling (synthetic data only) and each model with its
    mean Pearson r (over parcels, then subjects), the per-subject means and the fit
    time in seconds. Skipped models show why.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.

    Returns
    -------
    table : str
    """
    subjects = result["data"]["subject_labels"]
    name_w = max([len(CEILING)] + [len(n) for n in result["models"]]) + 2
    header = "model".ljust(name_w) + _fmt_str("mean") + "".join(_fmt_str(s) for s in subjects)
    header += "fit (s)".rjust(9)
    lines = []
    for set_key, set_label in result["eval_sets"].items():
        info = result["data"]["sets"][set_key]
        lines.append(
            f"{set_label}: Pearson r per parcel, mean over parcels then subjects "
            f"({info['n_runs']} runs, {info['n_times']} TRs, {result['data']['n_parcels']} parcels)"
        )
        lines.append(header)
        lines.append("-" * len(header))
        for label, mean, per_subject, fit_s, note in _rows(result, set_key):
            if mean is None:
                lines.append(label.ljust(name_w) + f"  skipped: {note}")
                continue
            line = label.ljust(name_w) + _fmt(mean) + "".join(_fmt(v) for v in per_subject)
            line += f"{fit_s:9.1f}" if fit_s is not None else ""
            lines.append(line)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _fmt_str(s, width=8) -> str:
    return str(s).rjust(width)


def _md_table(result, set_key) -> list[str]:
    subjects = result["data"]["subject_labels"]
    out = [
        "| model | mean | " + " | ".join(subjects) + " | fit (s) |",
        "|---|---:|" + "---:|" * len(subjects) + "---:|",
    ]
    for label, mean, per_subject, fit_s, note in _rows(result, set_key):
        if mean is None:
            out.append(f"| {label} | skipped: {note} |" + " |" * (len(subjects) + 1))
            continue
        cells = [f"{mean:.3f}"] + [f"{v:.3f}" for v in per_subject]
        cells.append("" if fit_s is None else f"{fit_s:.1f}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def report_markdown(result, figures: dict | None = None) -> str:
    """The comparison as a Markdown document (tables, configuration, timings, figures).

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    figures : dict of str to path, optional
        Figures written beside the report (kind -> file); linked when given.

    Returns
    -------
    text : str
    """
    cfg, data, env = result["config"], result["data"], result["environment"]
    lines = [
        "# Cross-subject encoding: comparison report",
        "",
        f"Created {result.get('created_utc', '?')} with sklearn-crossenc "
        f"{env['packages'].get('sklearn-crossenc', '?')} on {env['device']['name']}.",
        "",
        f"Data: `{cfg['data_dir']}`"
        + (" (synthetic: the oracle ceiling is known)" if data["synthetic"] else "")
        + f"; subjects {', '.join(data['subject_labels'])}; {data['n_parcels']} parcels.",
        f"Protocol: train on {data['sets']['train']['label']} "
        f"({data['sets']['train']['n_runs']} runs, {data['sets']['train']['n_times']} TRs); "
        "evaluate on "
        + ", ".join(
            f"{label} ({data['sets'][k]['n_runs']} runs)"
            for k, label in result["eval_sets"].items()
        )
        + ".",
        f"Score: Pearson r per parcel over the concatenated runs, mean over parcels, then over "
        f"subjects; {cfg['trim']} TRs left out at each end of every run.",
        "",
    ]
    if cfg.get("quick"):
        lines += ["**Quick run** (`--quick`): reduced training, numbers are a smoke test only.", ""]
    for set_key, set_label in result["eval_sets"].items():
        lines += [f"## {set_label}", ""] + _md_table(result, set_key) + [""]
    lines += ["## Models", ""]
    for name, m in result["models"].items():
        if m.get("status") != "ok":
            lines.append(f"- **{name}**: skipped ({m.get('reason', '')})")
            continue
        params = ", ".join(f"{k}={v!r}" for k, v in m.get("params", {}).items())
        params = f"`{params}`" if params else "(no parameters)"
        lines.append(
            f"- **{name}**: fit {m['fit_s']:.1f} s, evaluation {m['eval_s']:.1f} s. {params}"
        )
    t = result.get("timings", {})
    lines += [
        "",
        "## Timings",
        "",
        f"Loading {t.get('load_s', float('nan')):.1f} s; "
        f"whole job {t.get('total_s', float('nan')):.1f} s.",
        "",
    ]
    if figures:
        lines += ["## Figures", ""]
        for kind, path in figures.items():
            lines += [f"![{kind}]({Path(path).name})", ""]
    lines += ["## Environment", ""]
    dev = env["device"]
    lines.append(
        f"- device: {dev['type']} ({dev['name']}), torch threads {env.get('torch_threads')}"
    )
    lines.append(f"- CPU: {env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores")
    if env.get("load_average"):
        lines.append(
            "- load average at the start (1, 5, 15 min): "
            + ", ".join(f"{x:.2f}" for x in env["load_average"])
        )
    lines.append(f"- Python {env.get('python', '?')} on {env.get('platform', '?')}")
    lines.append(
        "- packages: " + ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    )
    if result.get("command"):
        lines += ["", "Command:", "", "```", result["command"], "```"]
    return "\n".join(lines) + "\n"



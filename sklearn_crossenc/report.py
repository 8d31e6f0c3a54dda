"""Reports of a comparison: terminal table, ``report.json``, ``report.md`` and figures.

Every function here reads the result dict of
:func:`sklearn_crossenc.compare.run_comparison` and writes nothing but into the
output folder it is given. Files are written atomically (temporary file, then
rename; see :mod:`sklearn_crossenc._io`), and a folder inside the data folder is
refused. Figures need matplotlib (the ``plot`` extra); without it they are skipped
with a one-line message.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._io import atomic_path, atomic_write_json, atomic_write_text

__all__ = [
    "check_output_dir",
    "to_jsonable",
    "format_table",
    "report_markdown",
    "write_report",
    "write_figures",
    "FIGURES",
]

#: File names of the figures, by kind.
FIGURES = {
    "bars": "scores_by_subject.png",
    "scatter": "parcels_encoder_vs_ridge.png",
    "histogram": "parcel_histogram.png",
}

CEILING = "oracle ceiling"


# ---------------------------------------------------------------------------- output folder


def _is_inside(path: Path, folder: Path) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def check_output_dir(out, data_dir=None) -> Path:
    """Return ``out`` as a resolved path; refuse one inside (or equal to) ``data_dir``.

    Parameters
    ----------
    out : path-like
        Output folder (it need not exist).
    data_dir : path-like, optional
        The data folder, which is never written to.

    Returns
    -------
    out : Path

    Raises
    ------
    ValueError
        When ``out`` is ``data_dir`` or lies inside it, or is an existing file.

    Examples
    --------
    >>> from sklearn_crossenc.report import check_output_dir
    >>> check_output_dir("/tmp/crossenc-out", "/data/algonauts").name
    'crossenc-out'
    >>> check_output_dir("/data/algonauts/out", "/data/algonauts")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output folder /data/algonauts/out is inside the data folder /data/algonauts; ...
    """
    out = Path(out).expanduser().resolve()
    if data_dir is not None and _is_inside(out, Path(data_dir).expanduser()):
        data = Path(data_dir).expanduser().resolve()
        raise ValueError(
            f"output folder {out} is inside the data folder {data}; "
            "nothing is ever written into the data folder: choose another --out."
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a folder.")
    return out


# ---------------------------------------------------------------------------- JSON


def to_jsonable(obj):
    """Turn a result dict into plain JSON types (drops per-parcel maps and estimators).

    NumPy scalars become Python numbers, arrays become lists, paths strings, and NaN
    becomes ``None`` (JSON has no NaN). The keys ``"maps"`` and ``"estimators"`` of the
    top-level dict are left out: maps go to ``parcel_scores.npz``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.report import to_jsonable
    >>> to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "maps": {}, "c": float("nan")})
    {'a': 0.5, 'b': [0, 1], 'c': None}
    """
    if isinstance(obj, dict):
        return {
            str(k): to_jsonable(v) for k, v in obj.items() if k not in ("maps", "estimators")
        }
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return repr(obj)


# ---------------------------------------------------------------------------- table


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
        The output of :func:`sklearn_crossenc.compare.run_comparison`.

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


# ---------------------------------------------------------------------------- markdown


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
        The output of :func:`sklearn_crossenc.compare.run_comparison`.
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


# ---------------------------------------------------------------------------- figures


def _ok_models(result):
    return [n for n, m in result["models"].items() if m.get("status") == "ok"]


def _fig_bars(result, Figure):
    sets = list(result["eval_sets"].items())
    subjects = result["data"]["subject_labels"]
    models = _ok_models(result)
    fig = Figure(figsize=(5 * len(sets) + 2, 4), layout="constrained")
    axes = fig.subplots(1, len(sets), squeeze=False)[0]
    groups = subjects + ["mean"]
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(groups))
    for ax, (set_key, set_label) in zip(axes, sets, strict=True):
        for i, name in enumerate(models):
            sc = result["models"][name]["scores"][set_key]
            vals = [sc["per_subject"][s] for s in subjects] + [sc["mean"]]
            ax.bar(x - 0.4 + width * (i + 0.5), vals, width, label=name)
        ceiling = (result.get("ceiling") or {}).get(set_key)
        if ceiling:
            vals = [ceiling["per_subject"][s] for s in subjects] + [ceiling["mean"]]
            ax.scatter(x, vals, marker="_", s=600, color="k", zorder=3, label=CEILING)
        ax.set_xticks(x, groups)
        ax.set_title(set_label)
        ax.set_ylabel("mean Pearson r over parcels")
        ax.axhline(0, color="0.5", lw=0.5)
    axes[-1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def _fig_scatter(result, Figure, x_name="CrossSubjectRidge", y_name="CrossSubjectEncoder"):
    maps = result.get("maps", {})
    if x_name not in maps or y_name not in maps:
        return None
    sets = list(result["eval_sets"].items())
    fig = Figure(figsize=(4.5 * len(sets), 4.5), layout="constrained")
    axes = fig.subplots(1, len(sets), squeeze=False)[0]
    for ax, (set_key, set_label) in zip(axes, sets, strict=True):
        xr = np.asarray(maps[x_name][set_key]).ravel()  # (S * C,)
        yr = np.asarray(maps[y_name][set_key]).ravel()  # (S * C,)
        ax.scatter(xr, yr, s=3, alpha=0.3, linewidths=0)
        lo = float(min(xr.min(), yr.min(), 0.0))
        hi = float(max(xr.max(), yr.max(), 0.1))
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        above = float(np.mean(yr > xr))
        ax.set_title(f"{set_label}\n{y_name} better on {above:.0%} of the points")
        ax.set_xlabel(f"{x_name} r (per subject and parcel)")
        ax.set_ylabel(f"{y_name} r")
        ax.set_aspect("equal")
    return fig


def _fig_hist(result, Figure):
    maps = result.get("maps", {})
    sets = list(result["eval_sets"].items())
    names = ([CEILING] if "ceiling" in maps else []) + [n for n in _ok_models(result) if n in maps]
    if not names:
        return None
    fig = Figure(figsize=(5.5 * len(sets), 4), layout="constrained")
    axes = fig.subplots(1, len(sets), squeeze=False)[0]
    for ax, (set_key, set_label) in zip(axes, sets, strict=True):
        per_parcel = {
            n: np.asarray((maps["ceiling"] if n == CEILING else maps[n])[set_key]).mean(axis=0)
            for n in names
        }  # name -> (C,)
        allv = np.concatenate(list(per_parcel.values()))
        bins = np.linspace(min(allv.min(), 0.0), max(allv.max(), 0.1), 41)
        for n, v in per_parcel.items():
            style = dict(color="k", ls="--") if n == CEILING else {}
            ax.hist(v, bins=bins, label=n, histtype="step", lw=1.6, **style)
        ax.set_title(f"{set_label}: accuracy by parcel")
        ax.set_xlabel("Pearson r (mean over subjects)")
        ax.set_ylabel("parcels")
    axes[0].legend(fontsize="small")
    return fig


def write_figures(result, out_dir, *, log: Callable[[str], None] | None = None) -> dict:
    """Write the comparison's figures as PNG files into ``out_dir`` (atomically).

    - ``scores_by_subject.png``: per-model, per-subject mean r, with the ceiling;
    - ``parcels_encoder_vs_ridge.png``: per-parcel r of the encoder against
      CrossSubjectRidge (when both were run);
    - ``parcel_histogram.png``: distribution of per-parcel r (mean over subjects).

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.compare.run_comparison` (with ``"maps"``).
    out_dir : path-like
        Output folder.
    log : callable, optional
        Receives a one-line message when matplotlib is missing.

    Returns
    -------
    figures : dict of str to Path
        Kind -> written file; empty when matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        if log is not None:
            log("matplotlib is not installed: figures skipped "
                "(pip install 'sklearn-crossenc[plot]').")
        return {}
    out_dir = Path(out_dir)
    makers = {"bars": _fig_bars, "scatter": _fig_scatter, "histogram": _fig_hist}
    written = {}
    for kind, make in makers.items():
        if not _ok_models(result):
            break
        fig = make(result, Figure)
        if fig is None:
            continue
        path = out_dir / FIGURES[kind]
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        written[kind] = path
    return written


# ---------------------------------------------------------------------------- all outputs


def _save_maps(result, path: Path) -> Path | None:
    maps = result.get("maps") or {}
    arrays = {
        f"{name}/{set_key}": np.asarray(m, dtype=np.float32)
        for name, by_set in maps.items()
        for set_key, m in by_set.items()
    }
    if not arrays:
        return None
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def write_report(
    result,
    out_dir,
    *,
    figures: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Write ``report.json``, ``report.md``, ``parcel_scores.npz`` and figures into ``out_dir``.

    Every file is written atomically; ``out_dir`` is created if needed and refused when
    it lies inside the result's data folder.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.compare.run_comparison`.
    out_dir : path-like
        Output folder.
    figures : bool, default=True
        Whether to draw figures (needs matplotlib; skipped with a message otherwise).
    log : callable, optional
        Receives one-line messages.

    Returns
    -------
    paths : dict of str to Path
        ``"json"``, ``"markdown"``, ``"maps"`` (when per-parcel maps exist) and one entry
        per figure kind.
    """
    out_dir = check_output_dir(out_dir, result.get("config", {}).get("data_dir"))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    maps_path = _save_maps(result, out_dir / "parcel_scores.npz")
    if maps_path is not None:
        paths["maps"] = maps_path
    fig_paths = write_figures(result, out_dir, log=log) if figures else {}
    doc = to_jsonable(result)
    doc["outputs"] = {
        "parcel_scores": maps_path.name if maps_path else None,
        "figures": {k: p.name for k, p in fig_paths.items()},
    }
    paths["json"] = atomic_write_json(out_dir / "report.json", doc)
    paths["markdown"] = atomic_write_text(
        out_dir / "report.md", report_markdown(result, fig_paths)
    )
    paths.update(fig_paths)
    return paths

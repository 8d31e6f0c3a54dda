"""A comparison's figures (matplotlib, the ``plot`` extra), written as PNG files.

Without matplotlib the figures are skipped with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ._tables import CEILING

__all__ = ["FIGURES", "write_figures"]

#: File names of the figures, by kind.
FIGURES = {
    "bars": "scores_by_subject.png",
    "scatter": "parcels_encoder_vs_ridge.png",
    "histogram": "parcel_histogram.png",
}


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
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison` (with ``"maps"``).
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



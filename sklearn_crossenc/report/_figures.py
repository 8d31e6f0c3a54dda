"""A comparison's figures (matplotlib, the ``plot`` extra), written as PNG files.

Without matplotlib the figures are skipped with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ._tables import CEILING, NOISE_CEILING, main_pair, paired_rows

__all__ = ["FIGURES", "figure_file", "scatter_caption", "write_figures"]

#: File names of the figures, by kind.
FIGURES = {
    "bars": "scores_by_subject.png",
    "scatter": "parcels_encoder_vs_ridge.png",
    "histogram": "parcel_histogram.png",
    "differences": "paired_differences.png",
}


def figure_file(kind: str, result) -> str:
    """The file name of a figure: :data:`FIGURES`'s, except the scatter's, which names the
    pair it draws by the models' short names (``parcels_encoder_vs_ridge.png`` for the
    default pair, ``parcels_encoder_vs_feature.png`` with ``--models encoder feature``)."""
    pair = main_pair(result) if kind == "scatter" else None
    if pair is None:
        return FIGURES[kind]
    from ..jobs._registry import REGISTRY

    short = {spec.label: spec.name for spec in REGISTRY.values()}
    y, x = (short.get(name) or "".join(c for c in name.lower() if c.isalnum()) for name in pair)
    return f"parcels_{y}_vs_{x}.png"


def scatter_caption(result) -> str:
    """The scatter's caption, naming the pair it draws."""
    pair = main_pair(result)
    if pair is None:
        return "Per subject and parcel: one model's r against another's"
    return f"Per subject and parcel: {pair[0]}'s r against {pair[1]}'s"


def _ok_models(result):
    return [n for n, m in result["models"].items() if m.get("status") == "ok"]


def _noise_ceiling(result, set_key):
    """The noise ceiling's summary on ``set_key`` when it was measured, else None."""
    nc = ((result.get("evaluation") or {}).get("noise_ceiling") or {}).get(set_key)
    return nc if nc and nc.get("status") == "ok" else None


def _interval_note(result) -> str:
    ev = result.get("evaluation") or {}
    if not ev.get("intervals"):
        return ""
    level = ev.get("confidence")
    return (f"; error bars: {level:.0%} interval of the mean" if level
            else "; error bars: interval of the mean")


def _bar_errors(result, set_key, name):
    """``(centre, half width)`` of a model's interval, or None: the error bar is drawn from
    its low to its high end, wherever the mean lies (an interval need not hold it)."""
    ci = (((result.get("evaluation") or {}).get("intervals") or {}).get(set_key) or {}).get(name)
    if not ci or ci.get("low") is None or ci.get("high") is None:
        return None
    return (ci["low"] + ci["high"]) / 2, (ci["high"] - ci["low"]) / 2


def _ceiling_ticks(ax, result, set_key, x, subjects):
    """The oracle ceiling (black) and the noise ceiling (grey) as ticks over each group."""
    ticks = (((result.get("ceiling") or {}).get(set_key), CEILING, "k"),
             (_noise_ceiling(result, set_key),
              f"{NOISE_CEILING} (repeated clips, reliable parcels)", "0.45"))
    for c, label, colour in ticks:
        if c:
            vals = [c["per_subject"][s] for s in subjects] + [c["mean"]]
            ax.scatter(x, vals, marker="_", s=600, linewidths=2, color=colour, zorder=3,
                       label=label)


def _fig_bars(result, Figure):
    sets = list(result["eval_sets"].items())
    subjects = result["data"]["subject_labels"]
    models = _ok_models(result)
    fig = Figure(figsize=(5 * len(sets) + 2.5, 4), layout="constrained")
    axes = fig.subplots(1, len(sets), squeeze=False)[0]
    groups = subjects + ["mean"]
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(groups))
    for ax, (set_key, set_label) in zip(axes, sets, strict=True):
        for i, name in enumerate(models):
            sc = result["models"][name]["scores"][set_key]
            vals = [sc["per_subject"][s] for s in subjects] + [sc["mean"]]
            pos = x - 0.4 + width * (i + 0.5)
            bars = ax.bar(pos, vals, width, label=name)
            err = _bar_errors(result, set_key, name)
            if err is not None:
                ax.errorbar(pos[-1:], [err[0]], yerr=[err[1]], fmt="none", capsize=3, lw=1.2,
                            color=bars.patches[-1].get_facecolor(), ecolor="k")
        _ceiling_ticks(ax, result, set_key, x, subjects)
        ax.set_xticks(x, groups)
        ax.set_title(set_label)
        ax.set_ylabel("Pearson r (mean over parcels)")
        ax.axhline(0, color="0.5", lw=0.5)
    handles = {}
    for ax in axes:  # one legend for all panels, every entry once
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    axes[-1].legend(handles.values(), handles.keys(), fontsize="small", loc="upper left",
                    bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Accuracy per subject and on average" + _interval_note(result),
                 fontsize="medium")
    return fig


def _fig_scatter(result, Figure):
    maps = result.get("maps", {})
    pair = main_pair(result)
    if pair is None or pair[0] not in maps or pair[1] not in maps:
        return None
    y_name, x_name = pair
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
        above = int(np.sum(yr > xr))
        ax.set_title(f"{set_label}\n{y_name} higher at {above} of {xr.size} points\n"
                     f"(subject x parcel; a count, not a test)", fontsize="medium")
        ax.set_xlabel(f"{x_name}: Pearson r (per subject and parcel)")
        ax.set_ylabel(f"{y_name}: Pearson r")
        ax.set_aspect("equal")
    return fig


def _per_parcel(result, set_key):
    """Name -> per-parcel values (mean over subjects, finite only) drawn in the histogram."""
    maps = result.get("maps", {})
    out = {}
    if set_key in (maps.get("ceiling") or {}):
        out[CEILING] = np.asarray(maps["ceiling"][set_key]).mean(axis=0)  # (C,)
    if set_key in (maps.get("noise ceiling") or {}):
        nc = np.asarray(maps["noise ceiling"][set_key], dtype=float)  # (S, C), NaN: unreliable
        n = np.isfinite(nc).sum(axis=0)
        mean = np.nansum(nc, axis=0) / np.maximum(n, 1)  # (C,)
        out[f"{NOISE_CEILING} (reliable parcels)"] = mean[n > 0]
    for n in _ok_models(result):
        if set_key in maps.get(n, {}):
            out[n] = np.asarray(maps[n][set_key]).mean(axis=0)  # (C,)
    return out


def _fig_hist(result, Figure):
    sets = list(result["eval_sets"].items())
    panels = {k: _per_parcel(result, k) for k, _ in sets}
    if not any(panels.values()):
        return None
    fig = Figure(figsize=(5.5 * len(sets), 4), layout="constrained")
    axes = fig.subplots(1, len(sets), squeeze=False)[0]
    styles = {CEILING: dict(color="k", ls="--"),
              f"{NOISE_CEILING} (reliable parcels)": dict(color="0.45", ls=":")}
    for ax, (set_key, set_label) in zip(axes, sets, strict=True):
        per_parcel = panels[set_key]
        if not per_parcel:
            ax.set_axis_off()
            continue
        allv = np.concatenate(list(per_parcel.values()))
        bins = np.linspace(min(allv.min(), 0.0), max(allv.max(), 0.1), 41)
        for n, v in per_parcel.items():
            ax.hist(v, bins=bins, label=n, histtype="step", lw=1.6, **styles.get(n, {}))
        ax.set_title(f"{set_label}: accuracy by parcel")
        ax.set_xlabel("Pearson r per parcel (mean over subjects)")
        ax.set_ylabel("number of parcels")
        ax.legend(fontsize="small")
    return fig


def _fig_differences(result, Figure):
    """Every paired difference (the reference minus each baseline and the two best models',
    on each set) with its interval on one axis, zero dashed: the verdict's figure; None
    without paired tests."""
    ev = result.get("evaluation") or {}
    rows = paired_rows(result)
    if not rows:
        return None
    fig = Figure(figsize=(8, 0.45 * len(rows) + 1.3), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]  # the first row on top
    for yi, (_, r) in zip(y, rows, strict=True):
        colour = "#1d3f73" if r["low"] > 0 or r["high"] < 0 else "0.55"
        ax.plot([r["low"], r["high"]], [yi, yi], color=colour, lw=2.5)
        ax.plot([r["difference"]], [yi], "o", color=colour)
    ax.axvline(0.0, color="0.5", ls="--", lw=1)
    ax.set_yticks(y, [f"{label}: {r['a']} - {r['b']}" for label, r in rows])
    ax.set_xlabel(f"difference of mean r on the same runs, "
                  f"{ev.get('confidence', 0.95):.0%} interval (blue: excludes 0)")
    return fig


def write_figures(result, out_dir, *, log: Callable[[str], None] | None = None) -> dict:
    """Write the comparison's figures as PNG files into ``out_dir`` (atomically).

    - ``scores_by_subject.png``: per-model, per-subject mean r, the interval of each
      model's mean, the oracle and noise ceilings;
    - ``parcels_<a>_vs_<b>.png`` (:func:`figure_file`): per-parcel r of the reference
      model against the first learned baseline (``parcels_encoder_vs_ridge.png`` by
      default);
    - ``parcel_histogram.png``: distribution of per-parcel r (mean over subjects), with
      the ceilings';
    - ``paired_differences.png``: every paired difference with its interval (the
      verdict's figure; when the result has paired tests).

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
    makers = {"bars": _fig_bars, "scatter": _fig_scatter, "histogram": _fig_hist,
              "differences": _fig_differences}
    written = {}
    for kind, make in makers.items():
        if not _ok_models(result):
            break
        fig = make(result, Figure)
        if fig is None:
            continue
        path = out_dir / figure_file(kind, result)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        written[kind] = path
    return written



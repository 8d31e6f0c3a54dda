"""The small drawings report.html carries inline as SVG: a row's mean and interval on its
set's axis (:func:`interval_svg`) and the paired differences' forest plot
(:func:`difference_svg`). Numbers in a drawing are in its labels; the text of the report
carries them too."""

from __future__ import annotations

import html
import math

from ._tables import paired_rows

__all__ = ["axis", "interval_svg", "difference_svg"]


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def axis(rows) -> tuple[float, float]:
    """``(low, high)`` of a set's interval plots: every mean, interval and ceiling, and 0."""
    values = [0.0, 0.1]
    for _, mean, ci, *_rest in rows:
        values += [v for v in ([mean] + list(ci or ())) if v is not None and math.isfinite(v)]
    return min(values), max(values)


def interval_svg(mean, ci, scale, ceiling: bool) -> str:
    """A small inline plot of one row: the mean (dot) and its interval on the set's scale."""
    if mean is None or not math.isfinite(mean):
        return ""
    lo, hi = scale
    width, pad = 150, 6

    def x(v):
        return pad + (width - 2 * pad) * (v - lo) / (hi - lo)

    parts = [f'<line x1="{x(0.0):.1f}" y1="1" x2="{x(0.0):.1f}" y2="13" stroke="#b8bfca"/>']
    if ci is not None:
        parts.append(f'<line x1="{x(ci[0]):.1f}" y1="7" x2="{x(ci[1]):.1f}" y2="7" '
                     'stroke="#2b5fab" stroke-width="2"/>')
    shape = (f'<rect x="{x(mean) - 1.5:.1f}" y="2" width="3" height="10" fill="#5a6374"/>'
             if ceiling else
             f'<circle cx="{x(mean):.1f}" cy="7" r="3.5" fill="#1d3f73"/>')
    label = f"mean {mean:.3f}" + ("" if ci is None else f", interval {ci[0]:.3f} to {ci[1]:.3f}")
    return (f'<svg width="{width}" height="14" role="img" aria-label="{_e(label)}">'
            + "".join(parts) + shape + "</svg>")


def difference_svg(result) -> str:
    """The paired differences (reference minus each baseline and the two best models',
    every set) with their intervals on one axis, zero marked: a forest plot, inline SVG;
    empty without tests."""
    ev = result.get("evaluation") or {}
    rows = paired_rows(result)
    if not rows:
        return ""
    ends = [0.0] + [v for _, r in rows for v in (r["low"], r["high"], r["difference"])
                    if v is not None and math.isfinite(v)]
    span = max(abs(min(ends)), abs(max(ends)), 0.01) * 1.1
    labels = [f'{label}: {r["a"]} - {r["b"]}' for label, r in rows]
    left, width, step = 20 + 7 * max(len(t) for t in labels), 420, 24  # ~7 px a character

    def x(v):
        return left + width * (v + span) / (2 * span)

    height = step * len(rows) + 40
    parts = [f'<line x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - 30}" '
             'stroke="#8a92a0" stroke-dasharray="4 3"/>']
    for i, ((_, r), text) in enumerate(zip(rows, labels, strict=True)):
        y = 16 + step * i
        colour = "#1d3f73" if r["low"] > 0 or r["high"] < 0 else "#8a92a0"
        parts += [f'<text x="{left - 10}" y="{y + 4}" text-anchor="end" font-size="13">'
                  f"{_e(text)}</text>",
                  f'<line x1="{x(r["low"]):.1f}" y1="{y}" x2="{x(r["high"]):.1f}" y2="{y}" '
                  f'stroke="{colour}" stroke-width="2.5"/>',
                  f'<circle cx="{x(r["difference"]):.1f}" cy="{y}" r="4.5" fill="{colour}"/>',
                  f'<text x="{left + width + 10}" y="{y + 4}" font-size="12">'
                  f'{r["difference"]:+.3f} [{r["low"]:+.3f}, {r["high"]:+.3f}]</text>']
    for v in (-span, -span / 2, 0.0, span / 2, span):
        parts.append(f'<text x="{x(v):.1f}" y="{height - 12}" text-anchor="middle" '
                     f'font-size="11" fill="#5a6374">{v:+.3f}</text>')
    level = f"{100 * ev.get('confidence', 0.95):.0f}%"
    return (f'<svg width="{left + width + 170}" height="{height}" role="img" '
            f'aria-label="differences of mean r with their {level} intervals">'
            + "".join(parts) + "</svg>")

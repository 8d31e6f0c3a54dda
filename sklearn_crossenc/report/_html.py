"""A comparison as one self-contained HTML page: ``report.html``.

Tables, figures and brain maps are inside the page (images as ``data:`` URIs, small
interval plots as inline SVG, the style sheet inline); nothing is loaded from the
network, and a Content-Security-Policy forbids it (``default-src 'none'``). The rows
are those of the Markdown report (:mod:`._tables`); every string from the data (model
names, paths, the command) is escaped.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from .._io import atomic_write_text
from ._figures import scatter_caption
from ._headroom_section import headroom_html, is_headroom_map
from ._tables import (
    CEILING,
    FRACTION_HEADER,
    NOISE_CEILING,
    _ceiling_notes,
    _fmt,
    _fmt_ci,
    _fmt_pct,
    _rows,
    paired_rows,
    pairwise_intro,
    report_title,
    verdict_lines,
)
from ._tuning_section import interval_note, tuning_lines, tuning_notes

__all__ = ["CSP", "report_html", "write_report_html"]

#: The page's Content-Security-Policy: no script, no connection, images only inline.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}

_CAPTIONS = {
    "bars": "Mean Pearson r by subject and model",
    "histogram": "Distribution of per-parcel r (mean over subjects)",
}

#: Sections after the tables, for the page's table of contents: id -> title.
_NAV = (("headroom", "headroom"), ("pairwise", "pairwise"), ("ceilings", "noise ceilings"),
        ("protocol", "protocol"),
        ("figures", "figures"),
        ("maps", "brain maps"), ("models", "models"), ("configuration", "configuration"),
        ("environment", "environment"))

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:0 auto;max-width:1150px;padding:1.2em 1.6em 3em;color:#1d2330;line-height:1.45}
h1{font-size:1.6em;margin:.2em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .4em;
 border-bottom:1px solid #d5d9e0;padding-bottom:.15em}h3{font-size:1.05em;margin:1.1em 0 .3em}
.sub{color:#5a6374;margin:0 0 1em}.quick{background:#fff4d6;border:1px solid #e8c766;
 padding:.5em .8em;border-radius:4px}
nav{font-size:.92em;margin:.6em 0 1em}nav a{margin-right:1em}
table{border-collapse:collapse;margin:.4em 0 .8em;font-size:.92em}
th,td{padding:.25em .6em;border-bottom:1px solid #e3e6eb;text-align:right;vertical-align:middle}
th{background:#f2f4f7;font-weight:600;white-space:nowrap}th.wrap{white-space:normal;min-width:9em}td:first-child,th:first-child{text-align:left}
td.text,th.text{text-align:left}td{font-variant-numeric:tabular-nums}
tr.ceiling td{color:#5a6374;font-style:italic}tr.skipped td{color:#8a92a0}
caption{caption-side:top;text-align:left;color:#5a6374;padding-bottom:.3em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.88em}
pre{background:#f5f6f8;padding:.6em .8em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
figure{margin:.8em 0 1.4em}figure img{max-width:100%;height:auto;border:1px solid #e3e6eb}
figcaption{color:#5a6374;font-size:.9em}.maps{display:grid;
 grid-template-columns:1fr;gap:0 1.2em}
.verdict li{margin:.3em 0;font-size:1.05em}
.notes li{margin:.2em 0}.notes ul{margin:.2em 0 .4em;padding-left:1.4em;color:#3b4352}
"""


def _e(value) -> str:
    """``value`` as text, escaped for HTML (quotes included)."""
    return html.escape(str(value), quote=True)


def _num(x) -> str:
    return _fmt(x, 0).strip()


def _scale(rows) -> tuple[float, float]:
    """``(low, high)`` of a set's interval plots: every mean, interval and ceiling, and 0."""
    values = [0.0, 0.1]
    for _, mean, ci, *_rest in rows:
        values += [v for v in ([mean] + list(ci or ())) if v is not None and math.isfinite(v)]
    return min(values), max(values)


def _interval_svg(mean, ci, scale, ceiling: bool) -> str:
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


def _set_table(result, set_key, set_label) -> list[str]:
    """One evaluation set's table: ceilings, then every model, with intervals."""
    subjects = result["data"]["subject_labels"]
    info = result["data"]["sets"][set_key]
    ev = result.get("evaluation") or {}
    level = f"{100 * ev.get('confidence', 0.95):.0f}% interval"
    rows = _rows(result, set_key)
    scale = _scale(rows)
    head = ["model", "mean", level, "plot"] + subjects + [FRACTION_HEADER, "fit (s)"]
    out = [
        '<table class="scores">',
        f"<caption>Pearson r per parcel, mean over parcels then subjects: {info['n_runs']} "
        f"runs, {info['n_times']} TRs, {result['data']['n_parcels']} parcels. The plot draws "
        f"each mean (dot; a bar for a ceiling) and its interval on one axis from "
        f"{scale[0]:.2f} to {scale[1]:.2f}, the grey line at 0.</caption>",
        "<thead><tr>" + "".join(f'<th class="wrap">{_e(h)}</th>' if h == FRACTION_HEADER
                                else f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>",
    ]
    for label, mean, ci, per_subject, frac, fit_s, note in rows:
        if mean is None:
            out.append(f'<tr class="skipped"><td>{_e(label)}</td>'
                       f'<td class="text" colspan="{len(head) - 1}">skipped: {_e(note)}</td></tr>')
            continue
        ceiling = label in (CEILING, NOISE_CEILING)
        cells = [_num(mean), "" if ci is None else _fmt_ci(ci, 0)]
        cells += [_interval_svg(mean, ci, scale, ceiling)]
        cells += [_num(v) for v in per_subject] + [_fmt_pct(frac, 0).strip()]
        cells += ["" if fit_s is None else f"{fit_s:.1f}"]
        tds = "".join(f"<td>{c if i == 2 else _e(c)}</td>" for i, c in enumerate(cells))
        out.append(f'<tr class="{"ceiling" if ceiling else "model"}"><td>{_e(label)}</td>'
                   f"{tds}</tr>")
    return out + ["</tbody></table>"]


def _pairwise(result) -> list[str]:
    """The reference model against each baseline, every set, or nothing."""
    ev = result.get("evaluation") or {}
    pairwise = ev.get("pairwise") or {}
    if not any(pairwise.values()):
        return []
    ref, level = _e(ev["reference"]), f"{100 * ev['confidence']:.0f}%"
    out = [
        f'<h2 id="pairwise">{ref} against each baseline</h2>',
        f"<p>{_e(pairwise_intro(result))}</p>",
        '<table class="pairwise"><thead><tr><th>set</th><th class="text">baseline</th>'
        f"<th>difference</th><th>{level} interval</th><th>p</th><th>parcels better</th>"
        "<th>parcels worse</th><th>parcels tested</th></tr></thead><tbody>",
    ]
    for set_key, rows in pairwise.items():
        for r in rows:
            cells = [f"{r['difference']:+.3f}", _fmt_ci((r["low"], r["high"]), 0),
                     f"{r['p_value']:.2g}", r["n_better"], r["n_worse"],
                     r.get("n_parcels", result["data"]["n_parcels"])]
            out.append(f"<tr><td>{_e(result['eval_sets'][set_key])}</td>"
                       f'<td class="text">{_e(r["b"])}</td>'
                       + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return out + ["</tbody></table>"]


def _difference_svg(result) -> str:
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
    return (f'<figure data-kind="differences"><svg width="{left + width + 170}" '
            f'height="{height}" role="img" aria-label="differences of mean r with their '
            f'{level} intervals">' + "".join(parts) + "</svg><figcaption>Difference of mean r "
            f"on the same runs with its {level} interval (blue: the interval excludes 0); "
            "the dashed line is no difference.</figcaption></figure>")


def _verdict(result) -> list[str]:
    """The verdict first: one sentence per evaluation set, then the differences' plot."""
    lines = verdict_lines(result)
    if not lines:
        return []
    return (['<h2 id="verdict">Verdict</h2>', '<ul class="verdict">']
            + [f"<li>{_e(t)}</li>" for t in lines] + ["</ul>", _difference_svg(result)])


def _unequal(result) -> list[str]:
    """A highlighted note wherever the models were not tuned alike (none when they were)."""
    return [f'<p class="quick unequal"><strong>Note:</strong> {_e(n)}</p>'
            for n in tuning_notes(result)]


def _coverage(result) -> list[str]:
    """What the intervals and p-values cover (evaluation runs; repeats when there are some)."""
    note = interval_note(result)
    return [f'<p class="coverage">{_e(note)}</p>'] if note else []


def _protocol(result) -> list[str]:
    """How each model chose its settings on the training runs (the Markdown report's
    protocol section): one item per model, its details (repeats, grid candidates) nested."""
    if not any(m.get("tuning") for m in (result.get("models") or {}).values()):
        return []
    first, *rest = tuning_lines(result)
    items: list[tuple[str, list[str]]] = []
    for line in rest:
        if line.startswith("- "):
            items.append((line[2:], []))
        elif items:
            items[-1][1].append(line.strip())
    out = ['<h2 id="protocol">Protocol: how each model chose its settings</h2>',
           f"<p>{_e(first)}</p>", '<ul class="notes protocol">']
    for text, details in items:
        sub = "".join(f"<li>{_e(d)}</li>" for d in details)
        out.append(f"<li>{_e(text)}" + (f"<ul>{sub}</ul>" if sub else "") + "</li>")
    return out + ["</ul>"]


def _notes(result) -> list[str]:
    """The noise-ceiling notes, one item each, as in the Markdown report (:mod:`._tables`)."""
    items = _ceiling_notes(result)
    if not items:
        return []
    return (['<h2 id="ceilings">Noise ceilings</h2>', '<ul class="notes">']
            + [f"<li>{_e(t)}</li>" for t in items] + ["</ul>"])


def _image(path: Path) -> str | None:
    """``path`` (an image) as a ``data:`` URI, or None when it cannot be read."""
    mime = _MIME.get(Path(path).suffix.lower())
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _figure(kind: str, path: Path, caption: str) -> str:
    uri = _image(path)
    name = _e(Path(path).name)
    if uri is None:
        return f"<p>{_e(caption)}: <code>{name}</code> could not be read.</p>"
    return (f'<figure data-kind="{_e(kind)}"><img src="{uri}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)} (<code>{name}</code>)</figcaption></figure>")


def _figures(figures: dict, result) -> list[str]:
    """Figures, then brain maps (kinds ``"brain: <label>"``), every image inline; files that
    are not images (NIfTI, tables) named at the end."""
    others = [Path(p).name for p in figures.values() if Path(p).suffix.lower() not in _MIME]
    figures = {k: p for k, p in figures.items() if Path(p).suffix.lower() in _MIME}
    plots = {k: p for k, p in figures.items()  # the differences: inline SVG at the top
             if not k.startswith("brain: ") and k != "differences"}
    maps = {k: p for k, p in figures.items() if k.startswith("brain: ")}
    out = []
    if plots:
        out.append('<h2 id="figures">Figures</h2>')
        out += [_figure(k, p, _CAPTIONS.get(k) or (scatter_caption(result) if k == "scatter"
                                                   else k)) for k, p in plots.items()]
    if maps:
        out += ['<h2 id="maps">Brain maps</h2>', '<div class="maps">']
        out += [_figure(k, p, k[len("brain: "):]) for k, p in maps.items()]
        out.append("</div>")
    if others:
        out.append("<p>Also written beside this page: "
                   + ", ".join(f"<code>{_e(n)}</code>" for n in others) + ".</p>")
    return out


def _dl(pairs) -> list[str]:
    return ["<dl>"] + [f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in pairs] + ["</dl>"]


def _summary(result) -> list[str]:
    """Data and protocol: the folder, subjects, sets, the score."""
    cfg, data = result["config"], result["data"]
    train = data["sets"]["train"]
    sets = ", ".join(f"{_e(label)} ({_e(data['sets'][k]['n_runs'])} runs, "
                     f"{_e(data['sets'][k]['n_times'])} TRs)"
                     for k, label in result["eval_sets"].items())
    synthetic = " (synthetic: the oracle ceiling is known)" if data.get("synthetic") else ""
    pairs = [
        ("data", f"<code>{_e(cfg.get('data_dir'))}</code>{synthetic}"),
        ("subjects", _e(", ".join(data["subject_labels"]))),
        ("parcels", _e(data["n_parcels"])),
        ("training", f"{_e(train['label'])} ({_e(train['n_runs'])} runs, "
                     f"{_e(train['n_times'])} TRs)"),
        ("evaluation", sets),
        ("score", "Pearson r per parcel over the concatenated runs, mean over parcels, then "
                  f"over subjects; {_e(cfg.get('trim', 0))} TRs left out at each end of "
                  "every run"),
    ]
    return ['<h2 id="data">Data and protocol</h2>'] + _dl(pairs)


def _models(result) -> list[str]:
    """Every model's status, times and parameters."""
    out = ['<h2 id="models">Models</h2>', '<table class="models"><thead><tr><th>model</th>'
           '<th>fit (s)</th><th>evaluation (s)</th><th class="text">parameters</th>'
           "</tr></thead><tbody>"]
    for name, m in result["models"].items():
        if m.get("status") != "ok":
            out.append(f'<tr class="skipped"><td>{_e(name)}</td><td class="text" colspan="3">'
                       f"skipped: {_e(m.get('reason', ''))}</td></tr>")
            continue
        params = ", ".join(f"{k}={v!r}" for k, v in (m.get("params") or {}).items())
        out.append(f"<tr><td>{_e(name)}</td><td>{m['fit_s']:.1f}</td><td>{m['eval_s']:.1f}</td>"
                   f'<td class="text"><code>{_e(params or "(no parameters)")}</code></td></tr>')
    return out + ["</tbody></table>"]


def _configuration(result) -> list[str]:
    """The job's configuration, key by key, and its timings."""
    cfg = result.get("config") or {}
    pairs = [(k, f"<code>{_e(v if isinstance(v, str) else repr(v))}</code>")
             for k, v in cfg.items()]
    t = result.get("timings") or {}
    pairs += [("timings", f"loading {t.get('load_s', float('nan')):.1f} s; whole job "
                          f"{t.get('total_s', float('nan')):.1f} s")]
    return ['<h2 id="configuration">Configuration</h2>'] + _dl(pairs)


def _environment(result) -> list[str]:
    """Device, CPU, load, Python and package versions; then the command."""
    env = result.get("environment") or {}
    dev = env.get("device") or {}
    pairs = [("device", _e(f"{dev.get('type', '?')} ({dev.get('name', '?')}), "
                           f"torch threads {env.get('torch_threads')}")),
             ("CPU", _e(f"{env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores"))]
    if env.get("load_average"):
        pairs.append(("load average (1, 5, 15 min)",
                      _e(", ".join(f"{x:.2f}" for x in env["load_average"]))))
    pairs.append(("Python", _e(f"{env.get('python', '?')} on {env.get('platform', '?')}")))
    pairs.append(("packages", _e(", ".join(f"{k} {v}"
                                           for k, v in (env.get("packages") or {}).items()))))
    command = result.get("command")
    out = ['<h2 id="environment">Environment</h2>'] + _dl(pairs)
    out.append('<h2 id="command">Command</h2>')
    out.append(f"<pre><code>{_e(command)}</code></pre>" if command else
               "<p>Run from Python (no command line).</p>")
    return out


def report_html(result, figures: dict | None = None) -> str:
    """The comparison as one self-contained HTML page.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    figures : dict of str to path, optional
        Figures written beside the report (kind -> PNG or SVG file); each is put into the
        page as a ``data:`` URI, the kinds ``"brain: <label>"`` under "Brain maps".

    Returns
    -------
    page : str
        An HTML document that loads nothing (its Content-Security-Policy forbids it).

    Examples
    --------
    >>> from sklearn_crossenc.report._html import report_html
    >>> result = {"config": {"data_dir": "<d>"}, "environment": {}, "models": {},
    ...           "eval_sets": {}, "data": {"subject_labels": ["sub-01"], "n_parcels": 2,
    ...           "sets": {"train": {"label": "Friends s1-5", "n_runs": 1, "n_times": 9}}}}
    >>> page = report_html(result)
    >>> page.startswith("<!DOCTYPE html>"), "<code>&lt;d&gt;</code>" in page
    (True, True)
    """
    env = result.get("environment") or {}
    version = (env.get("packages") or {}).get("sklearn-crossenc", "?")
    device = (env.get("device") or {}).get("name", "?")
    sets = list(result["eval_sets"].items())
    figures = figures or {}
    headroom = headroom_html(result, [_figure(k, p, k[len("brain: "):])
                                      for k, p in figures.items() if is_headroom_map(k)
                                      and Path(p).suffix.lower() in _MIME])
    figures = {k: p for k, p in figures.items() if not is_headroom_map(k)}
    first = result.get("job") == "headroom"  # the job's answer first
    sections = (_unequal(result) + _pairwise(result) + ([] if first else headroom)
                + _coverage(result) + _notes(result)
                + _protocol(result) + _figures(figures, result)
                + _models(result) + _configuration(result) + _environment(result))
    verdict = [] if first else _verdict(result)  # a headroom page: its answer first
    nav = [("verdict", "verdict")] if verdict else []
    nav += [(f"set-{i}", label) for i, (_, label) in enumerate(sets)]
    nav += [(i, t) for i, t in _NAV if any(f'<h2 id="{i}">' in s for s in sections + headroom)]
    title = report_title(result)
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="sub">Created {_e(result.get("created_utc", "?"))} with sklearn-crossenc '
            f"{_e(version)} on {_e(device)}.</p>",
            "<nav>" + "".join(f'<a href="#{i}">{_e(t)}</a>' for i, t in nav) + "</nav>"]
    if (result.get("config") or {}).get("quick"):
        body.append('<p class="quick"><strong>Quick run</strong> (<code>--quick</code>): '
                    "reduced training, the numbers are a smoke test only.</p>")
    body += (headroom if first else verdict) + _summary(result)
    for i, (set_key, set_label) in enumerate(sets):
        body += [f'<h2 id="set-{i}">{_e(set_label)}</h2>'] + _set_table(result, set_key, set_label)
    body += sections
    head = ('<meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title>"
            f"<style>{_STYLE}</style>")
    return ('<!DOCTYPE html>\n<html lang="en"><head>' + head + "</head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report_html(result, path, figures: dict | None = None) -> Path:
    """Write :func:`report_html` to ``path`` atomically and return the path."""
    return atomic_write_text(path, report_html(result, figures))

"""A comparison as one self-contained HTML page: ``report.html``.

Tables, figures and brain maps are inside the page (images as ``data:`` URIs, small
interval plots as inline SVG, the style sheet inline); nothing is loaded from the
network, and a Content-Security-Policy forbids it (``default-src 'none'``). The sections
are those of the Markdown report (:func:`._compare_sections.compare_sections`), rendered
by :func:`._sections.to_html`, which escapes every string (model names, paths, the command).
"""

from __future__ import annotations

import html
from pathlib import Path

from .._io import atomic_write_text
from ._compare_sections import compare_sections
from ._sections import to_html
from ._tables import report_title

__all__ = ["CSP", "report_html", "write_report_html"]

#: The page's Content-Security-Policy: no script, no connection, images only inline.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

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
    sections = [s for s in compare_sections(result, figures) if s]
    title = report_title(result)
    nav = [(s.id, s.nav) for s in sections if s.nav]
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="sub">Created {_e(result.get("created_utc", "?"))} with sklearn-crossenc '
            f"{_e(version)} on {_e(device)}.</p>",
            "<nav>" + "".join(f'<a href="#{_e(i)}">{_e(t)}</a>' for i, t in nav) + "</nav>"]
    body += [to_html(s) for s in sections]
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

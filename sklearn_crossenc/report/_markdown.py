"""What every job's ``report.md`` shares: its header, and the escaping of text from data.

Each job's Markdown (:func:`~sklearn_crossenc.report.report_markdown` for ``compare``,
:func:`~sklearn_crossenc.report.grid_markdown`,
:func:`~sklearn_crossenc.report.new_subject_markdown`) begins with :func:`header` and
ends with :func:`._job_sections.footer`, both read from the common top level of the job's
result (:mod:`sklearn_crossenc.jobs._job`).
"""

from __future__ import annotations

import re

__all__ = ["header", "fmt_load", "code", "plain", "fenced"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _visible(text) -> str:
    """``text`` on one line: control characters (newlines...) written as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def code(text) -> str:
    r"""An inline code span of ``text`` that nothing in it can close (a data folder named with
    backticks, newlines and a code fence once broke out into raw HTML).

    Examples
    --------
    >>> from sklearn_crossenc.report._markdown import code
    >>> code("/data/a`b\n```<img>")
    '```` /data/a`b\\n```<img> ````'
    """
    text = _visible(text)
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs or text[:1] == " " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text) -> str:
    r"""``text`` as running Markdown text: on one line, HTML and Markdown marks escaped.

    Examples
    --------
    >>> from sklearn_crossenc.report._markdown import plain
    >>> plain("no atlas at /x/<img src=y>|*_")
    'no atlas at /x/&lt;img src=y&gt;\\|\\*\\_'
    """
    text = _visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]{}|#!~])", r"\\\1", text)


def fenced(text) -> list[str]:
    """``text`` as a fenced code block whose fence nothing in it can close."""
    runs = [len(r) for r in re.findall(r"`+", str(text))]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [fence, str(text), fence]


def fmt_load(load) -> str:
    """``"0.52, 0.40, 0.31"`` for a list of load averages, ``"?"`` when unknown."""
    return "?" if not load else ", ".join(f"{x:.2f}" for x in load)


def header(title: str, result: dict) -> list[str]:
    """The title and the line saying when, with what and on what the result was made."""
    env = result["environment"]
    return [
        f"# {title}",
        "",
        f"Created {result.get('created_utc', '?')} with sklearn-crossenc "
        f"{env['packages'].get('sklearn-crossenc', '?')} on {env['device']['name']}.",
        "",
    ]


"""A report's sections as data, and their three renderings: terminal text, Markdown, HTML.

A section (:class:`Section`) is a title and a list of blocks: paragraphs, lists, tables,
label-value fields, highlighted notes, figures, preformatted text. Every string of a
section is said once here; :func:`to_text`, :func:`to_markdown` and :func:`to_html` only
lay it out, so that the terminal, ``report.md`` and ``report.html`` carry the same words
and numbers by construction. Text is escaped by the renderers (:func:`._markdown.plain`
for Markdown, :func:`html.escape` for HTML); a :class:`Code` fragment is set as code
(:func:`._markdown.code`, ``<code>``). A new section is one function that returns a
:class:`Section`.

Examples
--------
>>> from sklearn_crossenc.report._sections import (Code, Section, Table, to_html,
...     to_markdown, to_text)
>>> s = Section("scores", "Scores", (Table(("model", "r"), (("A", "0.300"),)),))
>>> print(to_markdown(s))
## Scores
<BLANKLINE>
| model | r |
| --- | ---: |
| A | 0.300 |
<BLANKLINE>
>>> print(to_text(s))
Scores:
model      r
------------
A      0.300
"""

from __future__ import annotations

import base64
import html
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from ._markdown import code, fenced, plain

__all__ = ["Callout", "Code", "Column", "Fields", "Figure", "Items", "Paragraph", "Pre",
           "Section", "Table", "to_html", "to_markdown", "to_text", "text_of", "IMAGE_TYPES"]

WIDTH = 100  # columns of the terminal text

#: Image files that ``report.html`` embeds (as ``data:`` URIs): suffix -> MIME type.
IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
               ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


class Code(str):
    """A fragment set as code (a path, parameters, an option)."""


#: Running text: a string, or fragments of plain text and :class:`Code`.
Text = str | tuple


@dataclass(frozen=True)
class Paragraph:
    text: Text
    muted: bool = False  # a side remark (HTML class "sub")


@dataclass(frozen=True)
class Items:
    """A list; each item a text, or ``(text, sub-items)``."""

    items: tuple
    cls: str = ""


@dataclass(frozen=True)
class Column:
    name: str
    short: str = ""  # the terminal's header, where the name is long
    left: bool = False  # text, not numbers

    @property
    def terminal(self) -> str:
        return self.short or self.name


@dataclass(frozen=True)
class Table:
    """Rows of cell texts; a row shorter than the columns spans the rest with its last cell
    (a skipped model and why). ``marks`` (HTML row classes) and ``plots`` (an inline SVG
    per row, drawn after column ``plot_after``) only dress the HTML page."""

    columns: tuple
    rows: tuple
    caption: Text = ""
    cls: str = ""
    marks: tuple = ()
    plots: tuple = ()
    plot_after: int = 0

    def column(self, i) -> Column:
        c = self.columns[i]
        return c if isinstance(c, Column) else Column(c, left=i == 0)


@dataclass(frozen=True)
class Fields:
    """Label-value pairs (a value is :data:`Text`)."""

    pairs: tuple


@dataclass(frozen=True)
class Callout:
    """A highlighted note: ``lead`` in bold, then the text."""

    lead: str
    text: Text
    cls: str = ""


@dataclass(frozen=True)
class Figure:
    """A figure: the file beside the report (linked by Markdown, embedded by HTML) and, for
    HTML, an inline SVG drawing that replaces the file when given."""

    kind: str
    caption: str
    path: Path | None = None
    svg: str = ""


@dataclass(frozen=True)
class Pre:
    """Preformatted text (a command line)."""

    text: str


@dataclass(frozen=True)
class Section:
    """One section of a report: its anchor, title and blocks; ``nav`` is its short name in
    the page's table of contents (empty: not listed); ``brief`` the blocks' indices the
    terminal shows (None: all)."""

    id: str
    title: str
    blocks: tuple = field(default_factory=tuple)
    nav: str = ""
    brief: tuple | None = None
    level: int = 2

    def __bool__(self) -> bool:
        return bool(self.blocks)


def _fragments(text: Text) -> tuple:
    return text if isinstance(text, tuple) else (text,)


def text_of(text: Text) -> str:
    """``text`` as one plain string."""
    return "".join(str(f) for f in _fragments(text))


# ------------------------------------------------------------------------- terminal text
def _text_table(t: Table) -> list[str]:
    cols = [t.column(i) for i in range(len(t.columns))]
    full = [r for r in t.rows if len(r) == len(cols)]
    widths = [max([len(c.terminal)] + [len(str(r[i])) for r in (t.rows if i == 0 else full)])
              for i, c in enumerate(cols)]

    def line(cells):
        if len(cells) < len(cols):  # a skipped row: its label, then why
            return (str(cells[0]).ljust(widths[0]) + "  " + "  ".join(map(str, cells[1:])))
        return "  ".join(str(x).ljust(w) if c.left else str(x).rjust(w)
                         for x, c, w in zip(cells, cols, widths, strict=True)).rstrip()

    head = line([c.terminal for c in cols])
    caption = _wrap(text_of(t.caption)) if t.caption else []
    return caption + [head, "-" * len(head)] + [line(r) for r in t.rows]


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False) or [first]


def _text_block(b) -> list[str]:
    if isinstance(b, Paragraph):
        return _wrap(text_of(b.text))
    if isinstance(b, Items):
        out = []
        for item in b.items:
            text, sub = _item(item)
            out += _wrap(text_of(text), "- ", "    ")
            out += [line for s in sub for line in _wrap(text_of(s), "    - ", "        ")]
        return out
    if isinstance(b, Table):
        return _text_table(b)
    if isinstance(b, Fields):
        return [line for k, v in b.pairs for line in _wrap(f"{k}: {text_of(v)}", "", "    ")]
    if isinstance(b, Callout):
        return _wrap(f"{b.lead.upper()} {text_of(b.text)}")
    if isinstance(b, Pre):
        return [b.text]
    return []  # figures: files beside the report, not for the terminal


def to_text(section: Section) -> str:
    """``section`` for the terminal: its title, then its (brief) blocks, 100 columns wide."""
    blocks = [b for i, b in enumerate(section.blocks)
              if section.brief is None or i in section.brief]
    lines = [f"{section.title}:"] if section.title else []
    return "\n".join(lines + [line for b in blocks for line in _text_block(b)])


# ------------------------------------------------------------------------------ Markdown
def _md(text: Text) -> str:
    return "".join(code(f) if isinstance(f, Code) else plain(f) for f in _fragments(text))


def _md_row(cells) -> str:
    return "| " + " | ".join(_md(c) for c in cells) + " |"


def _md_block(b) -> list[str]:
    if isinstance(b, Paragraph):
        return [_md(b.text), ""]
    if isinstance(b, Items):
        out = []
        for item in b.items:
            text, sub = _item(item)
            out += [f"- {_md(text)}"] + [f"  - {_md(s)}" for s in sub]
        return out + [""]
    if isinstance(b, Table):
        n = len(b.columns)
        cols = [b.column(i) for i in range(n)]
        out = ([_md(b.caption), ""] if b.caption else []) + [_md_row(c.name for c in cols)]
        out.append("|" + "|".join(" --- " if c.left else " ---: " for c in cols) + "|")
        out += [_md_row(list(r) + [""] * (n - len(r))) for r in b.rows]
        return out + [""]
    if isinstance(b, Fields):
        return [f"- **{plain(k)}**: {_md(v)}" for k, v in b.pairs] + [""]
    if isinstance(b, Callout):
        return [f"**{plain(b.lead)}** {_md(b.text)}", ""]
    if isinstance(b, Figure):
        if b.path is None:  # a drawing only the page carries: its caption says so
            return [f"Figure in report.html: {plain(b.caption)}", ""] if b.svg else []
        name = Path(b.path).name
        return [f"![{plain(b.caption)}]({name})", ""]
    if isinstance(b, Pre):
        return fenced(b.text) + [""]
    raise TypeError(f"not a block: {b!r}")


def _item(item) -> tuple:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], list):
        return item
    return item, []


def to_markdown(section: Section) -> str:
    """``section`` as Markdown: a heading of its level, then its blocks."""
    lines = [f"{'#' * section.level} {plain(section.title)}", ""] if section.title else []
    return "\n".join(lines + [line for b in section.blocks for line in _md_block(b)])


# ---------------------------------------------------------------------------------- HTML
def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _h(text: Text) -> str:
    return "".join(f"<code>{_e(f)}</code>" if isinstance(f, Code) else _e(f)
                   for f in _fragments(text))


def _image(path) -> str | None:
    """``path`` (an image) as a ``data:`` URI, or None when it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    mime = IMAGE_TYPES[Path(path).suffix.lower()]
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _html_figure(b: Figure) -> list[str]:
    if b.svg:
        return [f'<figure data-kind="{_e(b.kind)}">{b.svg}<figcaption>{_e(b.caption)}'
                "</figcaption></figure>"]
    if b.path is None:
        return []
    uri, name = _image(b.path), _e(Path(b.path).name)
    if uri is None:
        return [f"<p>{_e(b.caption)}: <code>{name}</code> could not be read.</p>"]
    return [f'<figure data-kind="{_e(b.kind)}"><img src="{uri}" alt="{_e(b.caption)}">'
            f"<figcaption>{_e(b.caption)} (<code>{name}</code>)</figcaption></figure>"]


#: What a table's inline plots draw (the header's tooltip).
_PLOT = ("each row's mean (a dot; a bar for a ceiling) and its interval, on one axis for the "
         "table's rows; the grey line is zero")


def _html_table(t: Table) -> list[str]:
    cols = [t.column(i) for i in range(len(t.columns))]
    cls = f' class="{_e(t.cls)}"' if t.cls else ""
    head = []
    for i, c in enumerate(cols):
        kind = "wrap" if len(c.name) > 24 else ("text" if c.left and i else "")
        head.append(f'<th class="{kind}">' if kind else "<th>")
        head[-1] += _e(c.name) + "</th>"
        if t.plots and i == t.plot_after:
            head.append(f'<th title="{_PLOT}">plot</th>')
    out = [f"<table{cls}>"] + ([f"<caption>{_h(t.caption)}</caption>"] if t.caption else [])
    out.append("<thead><tr>" + "".join(head) + "</tr></thead><tbody>")
    width = len(cols) + bool(t.plots)
    for n, row in enumerate(t.rows):
        mark = t.marks[n] if t.marks else ""
        tds = []
        for i, cell in enumerate(row):
            span = width - len(row) + 1 if i == len(row) - 1 and len(row) < len(cols) else 1
            kind = "text" if (cols[i].left and i) or span > 1 else ""
            tds.append("<td" + (f' class="{kind}"' if kind else "")
                        + (f' colspan="{span}"' if span > 1 else "") + f">{_h(cell)}</td>")
            if t.plots and i == t.plot_after and len(row) == len(cols):
                tds.append(f"<td>{t.plots[n]}</td>")
        out.append((f'<tr class="{_e(mark)}">' if mark else "<tr>") + "".join(tds) + "</tr>")
    return out + ["</tbody></table>"]


def _html_block(b) -> list[str]:
    if isinstance(b, Paragraph):
        return [f'<p class="sub">{_h(b.text)}</p>' if b.muted else f"<p>{_h(b.text)}</p>"]
    if isinstance(b, Items):
        out = [f'<ul class="{_e(b.cls)}">' if b.cls else "<ul>"]
        for item in b.items:
            text, sub = _item(item)
            inner = "".join(f"<li>{_h(s)}</li>" for s in sub)
            out.append(f"<li>{_h(text)}" + (f"<ul>{inner}</ul>" if inner else "") + "</li>")
        return out + ["</ul>"]
    if isinstance(b, Table):
        return _html_table(b)
    if isinstance(b, Fields):
        return ["<dl>"] + [f"<dt>{_e(k)}</dt><dd>{_h(v)}</dd>" for k, v in b.pairs] + ["</dl>"]
    if isinstance(b, Callout):
        cls = " ".join(["quick"] + ([b.cls] if b.cls else []))
        return [f'<p class="{cls}"><strong>{_e(b.lead)}</strong> {_h(b.text)}</p>']
    if isinstance(b, Figure):
        return _html_figure(b)
    if isinstance(b, Pre):
        return [f"<pre><code>{_e(b.text)}</code></pre>"]
    raise TypeError(f"not a block: {b!r}")


def to_html(section: Section) -> str:
    """``section`` as HTML, every string escaped: a heading with its anchor, then blocks."""
    h = f"h{section.level}"
    anchor = f' id="{_e(section.id)}"' if section.id else ""
    lines = [f"<{h}{anchor}>{_e(section.title)}</{h}>"] if section.title else []
    return "\n".join(lines + [line for b in section.blocks for line in _html_block(b)])

"""report.md and report.html of one result carry the same sections, in the same order, with
the same numbers (issue 27): each section is written once (report/_sections.py) and
rendered twice. The texts are read back independently: report.md by splitting at its
``## `` headings and undoing Markdown's escapes, report.html with html.parser (the text
of the page, drawings and attributes left out)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from test_report import make_result
from test_report_html import PNG, evaluated, with_tuning

from sklearn_crossenc.report import _sections, format_table, report_html, report_markdown

#: A number as the reports write it: sign, digits, decimals, exponent, percent.
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?")


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text)


def md_sections(md: str) -> list[tuple[str, str]]:
    """``(title, text)`` of each ``## `` section of report.md, Markdown undone: escapes,
    entities, code spans' backticks, table rules, image marks (their alt text and file
    kept, as the page keeps a figure's caption and file name)."""
    out = []
    for line in md.splitlines():
        if line.startswith("## "):
            out.append([line[3:], []])
        elif out and not re.fullmatch(r"\|( ---:? \|)+", line):
            out[-1][1].append(line)
    sections = []
    for title, lines in out:
        text = "\n".join(lines)
        text = re.sub(r"!\[((?:[^\]\\]|\\.)*)\]\(([^)]*)\)", r"\1 (\2)", text)
        text = html.unescape(re.sub(r"\\(.)", r"\1", text)).replace("`", "")
        sections.append((html.unescape(re.sub(r"\\(.)", r"\1", title)), text))
    return sections


class PageText(HTMLParser):
    """``(title, text)`` of each ``<h2>`` section of report.html: its text nodes, without
    inline drawings (SVG), the style sheet and attributes."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.sections, self._title, self._skip = [], None, 0
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in ("svg", "style", "head"):
            self._skip += 1
        elif tag == "h2":
            self._title = []
            self.sections.append(["", []])
        elif tag in ("td", "th", "li", "p", "dd", "dt", "tr", "caption", "figcaption", "pre"):
            self._data(" ")

    def handle_endtag(self, tag):
        if tag in ("svg", "style", "head"):
            self._skip -= 1
        elif tag == "h2":
            self.sections[-1][0] = "".join(self._title).strip()
            self._title = None

    def _data(self, data):
        if self._skip:
            return
        if self._title is not None:
            self._title.append(data)
        elif self.sections:
            self.sections[-1][1].append(data)

    def handle_data(self, data):
        self._data(data)


def html_sections(page: str) -> list[tuple[str, str]]:
    return [(t, "".join(parts)) for t, parts in PageText(page).sections]


def assert_same_sections(md: str, page: str) -> list[str]:
    """The same titles in the same order, and in each section the same numbers in the
    same order; the titles."""
    md_s, html_s = md_sections(md), html_sections(page)
    assert [t for t, _ in md_s] == [t for t, _ in html_s]
    for (title, md_text), (_, html_text) in zip(md_s, html_s, strict=True):
        assert numbers(md_text) == numbers(html_text), title
    return [t for t, _ in md_s]


@pytest.fixture
def files(tmp_path):
    """Figures, brain maps, a headroom map and per-parcel files written beside a report."""
    kinds = {"bars": "scores_by_subject.png", "scatter": "parcels_encoder_vs_ridge.png",
             "differences": "paired_differences.png",
             "brain: CrossSubjectEncoder (Movie10 run 1)": "brain_enc_movie10_run1.png",
             "table: movie10_run1": "parcels_movie10_run1.tsv",
             "nifti: CrossSubjectEncoder (Friends s6)": "brain_enc_friends_s6.nii.gz"}
    out = {}
    for i, (kind, name) in enumerate(kinds.items()):
        out[kind] = tmp_path / name
        out[kind].write_bytes(PNG + bytes([i]))
    return out


def test_report_md_and_html_carry_the_same_sections_and_numbers(files):
    result = with_tuning(evaluated(make_result()), early_stopping=None, repeats=3)
    result["command"] = "crossenc compare --trim 5 --out /tmp/x"
    titles = assert_same_sections(report_markdown(result, files), report_html(result, files))
    assert titles[:4] == ["Verdict", "Data and protocol", "Friends s6", "Movie10 run 1"]
    assert titles[-4:] == ["Configuration", "Timings", "Environment", "Command"]
    for title in ("CrossSubjectEncoder against each baseline", "Noise ceilings",
                  "Protocol: how each model chose its settings", "Figures", "Brain maps",
                  "Models"):
        assert title in titles


def test_without_figures_or_evaluation_too():
    """No figures written (the differences drawn in the page only), then no evaluation
    and no tuning either: fewer sections, still the same."""
    result = evaluated(make_result())
    assert_same_sections(report_markdown(result), report_html(result))
    result = make_result(ceiling=False)
    titles = assert_same_sections(report_markdown(result), report_html(result))
    assert "Noise ceilings" not in titles and "Figures" not in titles


def test_the_comparison_fails_when_one_rendering_differs(files, monkeypatch):
    """The check sees a row one rendering drops and a number written differently."""
    result = evaluated(make_result())
    md, page = report_markdown(result, files), report_html(result, files)
    assert_same_sections(md, page)
    dropped = re.sub(r"<tr class=\"model\"><td>CrossSubjectRidge</td>.*?</tr>", "", page,
                     count=1)
    assert dropped != page
    with pytest.raises(AssertionError):
        assert_same_sections(md, dropped)
    original = _sections._md_row
    monkeypatch.setattr(_sections, "_md_row", lambda cells: original(
        [re.sub(r"^(\d)\.(\d\d)\d$", r"\1.\2", str(c)) for c in cells]))  # 2 decimals
    with pytest.raises(AssertionError):
        assert_same_sections(report_markdown(result, files), page)


def test_the_terminal_prints_the_tables_numbers_of_the_files():
    """The terminal's sections come from the same sections: each evaluation set's table
    and the paired tests carry the numbers of report.md."""
    result = with_tuning(evaluated(make_result()))
    md = dict(md_sections(report_markdown(result)))
    blocks = {b.splitlines()[0].rstrip(":"): b.split("\n", 1)[1]
              for b in format_table(result).split("\n\n")}
    for title in ("Friends s6", "Movie10 run 1", "CrossSubjectEncoder against each baseline",
                  "Noise ceilings", "Protocol: how each model chose its settings"):
        assert numbers(blocks[title]) == numbers(md[title]), title

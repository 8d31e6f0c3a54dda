"""report.md carries no raw HTML from a folder name or a command line (issue 31, defect 13).

A data folder named with a backtick, a newline and a code fence broke out of the code spans
of report.md: ``<img onerror=...>`` landed as HTML in any viewer that renders Markdown
(report.html was safe). User text now goes into code spans and fences that nothing in it
can close, on one line, and into running text with HTML and Markdown marks escaped.
"""

from __future__ import annotations

import re
import shutil

from sklearn_crossenc.cli import main
from sklearn_crossenc.report._markdown import code, fenced, plain

HOSTILE = "a`b\n```\n<img src=x onerror=alert(1)>"


def _outside_fences(lines):
    """The lines of a Markdown text outside its fenced code blocks."""
    out, fence = [], None
    for line in lines:
        m = re.match(r"^(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line.startswith(fence) and set(line.strip()) == {"`"}:
            fence = None
        elif fence is None:
            out.append(line)
    return out


def test_a_hostile_data_folder_name_stays_inside_its_code_span(synthetic_root, tmp_path):
    data = tmp_path / HOSTILE / "data"
    shutil.copytree(synthetic_root, data)
    out = tmp_path / "out"
    assert main(["compare", "--quick", "--quiet", "--models", "mean", "--no-figures",
                 "--data-dir", str(data), "--out", str(out)]) == 0
    lines = (out / "report.md").read_text().splitlines()
    outside = _outside_fences(lines)
    assert f"- **data**: {code(data.resolve())}" in "\n".join(outside)
    for line in outside:  # no raw tag outside a code span
        spans = re.sub(r"(`+)(.*?)\1", "", line)
        assert "<img" not in spans, line
    fence = next(ln for ln in lines if re.match(r"^`{3,}$", ln))  # the command's block
    start = lines.index(fence)
    end = lines.index(fence, start + 1)
    assert lines.count(fence) == 2 and end == len(lines) - 1  # nothing else opened or closed
    block = "\n".join(lines[start + 1:end])
    assert "onerror" in block and len(fence) > max(len(r) for r in re.findall(r"`+", block))


def test_code_fenced_and_plain_cannot_be_closed_or_carry_html():
    assert code("x") == "`x`"
    assert code("a``b") == "``` a``b ```"
    assert "\n" not in code("a\nb") and "\n" not in plain("a\nb")
    assert fenced("a\n```\nb")[0] == "````"
    assert plain("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert plain("a|b*c_d`e") == r"a\|b\*c\_d\`e"

"""Every ```python block of README.md and docs/*.md runs, on the dataset it names.

Blocks of one file run in order in one namespace, in a temporary working directory.
The release placeholder ``/path/to/algonauts_2025.competitors`` becomes the tiny synthetic
dataset and absolute ``/tmp/...`` output paths become temporary folders. A block preceded
by ``<!-- not-run: reason -->`` is skipped (it needs a cluster, a GPU, ...); the reason
must be given. Blocks written as a doctest (``>>>``) run as one, their outputs checked.
"""

import doctest
import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- not-run:(?P<why>[^>]*)-->\s*)?```python\n(?P<code>.*?)```", re.S)
PLACEHOLDER = re.compile(r"/?path/to/algonauts_2025\.competitors")


def blocks(path: Path) -> list[tuple[str | None, str]]:
    """``(not-run reason or None, code)`` of every python block of ``path``."""
    return [(m["why"], m["code"]) for m in BLOCK.finditer(path.read_text())]


def _with_blocks():
    return [p for p in FILES if blocks(p)]


def test_not_run_markers_give_a_reason():
    for path in FILES:
        for why, _ in blocks(path):
            assert why is None or why.strip(), f"{path.name}: not-run without a reason"


@pytest.mark.slow
@pytest.mark.parametrize("path", _with_blocks(), ids=lambda p: p.name)
def test_python_blocks_run(path, synthetic_root, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__doc__"}
    ran = 0
    for i, (why, code) in enumerate(blocks(path)):
        if why is not None:
            continue
        code = re.sub(r'"/tmp/([^"]+)"', lambda m: repr(str(tmp_path / m[1])), code)
        code = PLACEHOLDER.sub(str(synthetic_root), code)
        name = f"{path.name}[python block {i}]"
        if code.lstrip().startswith(">>>"):
            _run_doctest(code, ns, name)
        else:
            exec(compile(code, name, "exec"), ns)
        ran += 1
    assert ran or all(why for why, _ in blocks(path))


def _run_doctest(code: str, ns: dict, name: str) -> None:
    test = doctest.DocTestParser().get_doctest(code, ns, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append, clear_globs=False)
    ns.update(test.globs)
    assert runner.failures == 0, "".join(out)


def test_every_test_named_in_the_sklearn_table_exists():
    text = (ROOT / "docs" / "sklearn.md").read_text()
    last = None
    for m in re.finditer(r"`(tests/\w+\.py)?(::\w+)?`", text):
        file, name = m[1], m[2]
        if not file and not name:
            continue
        last = file or last
        source = (ROOT / last).read_text()
        if name:
            assert f"def {name[2:]}(" in source, f"{last}{name}"

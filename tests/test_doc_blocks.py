"""Every ```python block of README.md and docs/*.md runs, on the dataset it names.

Blocks of one file run in order in one namespace, in a temporary working directory.
The release placeholder ``/path/to/algonauts_2025.competitors`` becomes the tiny synthetic
dataset and absolute ``/tmp/...`` output paths become temporary folders. A block preceded
by ``<!-- not-run: reason -->`` is skipped (it needs a cluster, a GPU, ...); the reason
must be given. Blocks written as a doctest (``>>>``) run as one, their outputs checked.
"""

import doctest
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!-- not-run:(?P<why>[^>]*)-->\s*)?```python\n(?P<code>.*?)```", re.S)
PLACEHOLDER = re.compile(r"/?path/to/algonauts_2025\.competitors")
# Optional extras (pyproject.toml) by the module a block may import: without the extra, a
# block that needs it is skipped with a reason naming the extra.
EXTRA_OF_MODULE = {"matplotlib": "plot", "nilearn": "plot", "nibabel": "plot",
                   "dask": "distributed", "distributed": "distributed"}


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
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

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
        try:
            if code.lstrip().startswith(">>>"):
                _run_doctest(code, ns, name)
            else:
                exec(compile(code, name, "exec"), ns)
        except ImportError as err:
            _skip_if_an_extra_is_missing(err, name)
            raise
        ran += 1
    assert ran or all(why for why, _ in blocks(path))


def _skip_if_an_extra_is_missing(err: ImportError, name: str) -> None:
    """Skip, naming the extra, when ``err`` comes from an optional extra not installed."""
    module = (err.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:  # the package's own message names the extra: sklearn-crossenc[plot]
        extra = next((e for e in set(EXTRA_OF_MODULE.values())
                      if f"sklearn-crossenc[{e}]" in str(err)), None)
    if extra is not None and not all(importlib.util.find_spec(m) for m, e in
                                     EXTRA_OF_MODULE.items() if e == extra):
        pytest.skip(f"{name} needs the '{extra}' extra ({err}): "
                    f"pip install 'sklearn-crossenc[{extra}]'")


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


def test_a_block_needing_a_missing_extra_is_skipped_naming_it(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "nilearn" else object())
    err = ModuleNotFoundError("No module named 'nilearn'", name="nilearn")
    with pytest.raises(pytest.skip.Exception, match=r"README.md\[python block 3\] needs the "
                       r"'plot' extra .*pip install 'sklearn-crossenc\[plot\]'"):
        _skip_if_an_extra_is_missing(err, "README.md[python block 3]")
    # The package's own message naming the extra counts too; another ImportError does not.
    own = ImportError("plots need matplotlib (pip install 'sklearn-crossenc[plot]').")
    with pytest.raises(pytest.skip.Exception, match="needs the 'plot' extra"):
        _skip_if_an_extra_is_missing(own, "x")
    _skip_if_an_extra_is_missing(ModuleNotFoundError("no", name="torchvision"), "x")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # all installed
    _skip_if_an_extra_is_missing(err, "x")  # a real failure then: not skipped

"""docs/architecture.md names every module of the package with its layer, and the imports
obey the layers: no module imports from a layer above its own (function-level imports
included)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sklearn_crossenc"
DOC = ROOT / "docs" / "architecture.md"


def _table() -> dict[str, int]:
    """Module path (relative to the package) -> layer, from the doc's table."""
    rows = re.findall(r"^\| `([\w/]+\.py)` \| (\d) \|", DOC.read_text(), flags=re.MULTILINE)
    return {path: int(layer) for path, layer in rows}


def _modules() -> set[str]:
    return {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
            if p.name != "__init__.py" or p.parent == PACKAGE}


def _module_name(path: str) -> str:
    parts = ["sklearn_crossenc", *Path(path).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer_of(module: str, layers: dict[str, int]) -> int | None:
    """Layer of a dotted module name: its own row, or its subpackage's (``data`` -> the
    layer of ``data/*``)."""
    by_name = {_module_name(p): layer for p, layer in layers.items()}
    while module:
        if module in by_name:
            return by_name[module]
        sub = {layer for name, layer in by_name.items() if name.startswith(module + ".")}
        if len(sub) == 1:
            return sub.pop()
        module = module.rpartition(".")[0]
    return None


def imports_of(path: Path) -> set[str]:
    """Every ``sklearn_crossenc`` module ``path`` imports, anywhere in the file."""
    name = _module_name(path.relative_to(PACKAGE).as_posix())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # ``from . import _registry`` names a module
                out.add(f"{target}.{alias.name}")
            out.add(target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("sklearn_crossenc.")}


def test_architecture_table_matches_the_tree():
    named = set(_table())
    modules = _modules()
    assert named - modules == set(), "the doc names modules that do not exist"
    assert modules - named == set(), "modules missing from docs/architecture.md"


def test_imports_of_finds_relative_and_function_level_imports(tmp_path):
    path = PACKAGE / "jobs" / "new_subject.py"
    found = imports_of(path)
    assert "sklearn_crossenc.jobs._registry" in found  # ``from . import _registry``
    assert "sklearn_crossenc.ridge" in found  # inside a function


@pytest.mark.parametrize("path", sorted(_modules()))
def test_no_import_runs_back_up_the_layers(path):
    layers = _table()
    own = layers[path]
    for target in sorted(imports_of(PACKAGE / path)):
        layer = _layer_of(target, layers)
        if layer is None:  # a name, not a module (``from .data import SUBJECTS``)
            continue
        assert layer <= own, f"{path} (layer {own}) imports {target} (layer {layer})"


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (function-level imports included);
    packages' ``__init__`` files, which only re-export, are left out."""
    files = {_module_name(p): p for p in _modules() if not p.endswith("__init__.py")}
    return {name: {t for t in imports_of(PACKAGE / path) if t in files and t != name}
            for name, path in files.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle of ``graph``, once each (depth-first search)."""
    found, seen = [], set()

    def walk(node, stack):
        for nxt in sorted(graph.get(node, ())):
            if nxt == stack[0]:
                if frozenset(stack) not in seen:
                    seen.add(frozenset(stack))
                    found.append(stack + [nxt])
            elif nxt not in stack and nxt > stack[0]:
                walk(nxt, stack + [nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_circles_are_found_also_through_function_level_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c", "a"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_at_any_level():
    """A circle hidden inside a function body is a circle all the same (issue 27: the
    pre-flight imported cv_splitter from grid.py and budget_trs from new_subject.py, both
    of which import the pre-flight)."""
    circles = _circles(_import_graph())
    assert circles == [], "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def _subpackage(module: str) -> str:
    """The subpackage a dotted module belongs to (``ridge``, ``encoder``...), or ``""`` for
    the package's top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else ""


def private_imports(path: Path) -> list[str]:
    """Private names (a leading underscore, not a module) that ``path`` imports from
    another subpackage, anywhere in the file: ``"target.name"`` each."""
    name = _module_name(path.relative_to(PACKAGE).as_posix())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if not target.startswith("sklearn_crossenc") or _subpackage(target) == _subpackage(name):
            continue
        for alias in node.names:
            as_path = PACKAGE.parent.joinpath(*f"{target}.{alias.name}".split("."))
            is_module = as_path.with_suffix(".py").is_file() or as_path.is_dir()
            if alias.name.startswith("_") and not alias.name.startswith("__") and not is_module:
                out.append(f"{target}.{alias.name}")
    return out


def test_private_imports_finds_a_private_helper_of_another_subpackage(tmp_path, monkeypatch):
    fake = tmp_path / "sklearn_crossenc"
    (fake / "encoder").mkdir(parents=True)
    (fake / "ridge").mkdir()
    (fake / "ridge" / "_solvers.py").write_text("")
    (fake / "encoder" / "_prior.py").write_text(
        "from ..ridge._solvers import _eigh, eigh\n"  # a private helper: refused
        "from ..ridge import _solvers\n"  # a private module: its public names are fine
        "from ._net import _fast\n"  # within its own subpackage: fine
        "def f():\n    from ..ridge._solvers import _sum_stats\n")  # inside a function too
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert private_imports(fake / "encoder" / "_prior.py") == [
        "sklearn_crossenc.ridge._solvers._eigh", "sklearn_crossenc.ridge._solvers._sum_stats"]


@pytest.mark.parametrize("path", sorted(_modules()))
def test_no_private_name_is_imported_across_subpackages(path):
    """Issue 27: what two subpackages share is public (the solver layer's names, not
    ``ridge._solvers._eigh``); a private module's public names may be imported."""
    assert private_imports(PACKAGE / path) == []


def _recipe(title: str) -> str:
    """The text of the doc's ``### <title>`` section."""
    found = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^##)", DOC.read_text(),
                      flags=re.MULTILINE | re.DOTALL)
    assert found, f"docs/architecture.md has no '### {title}'"
    return found.group(1)


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_the_new_job_recipe_names_files_and_functions_that_exist():
    """Every ``path`` and ``path::name`` of "A new job" is there (issue 27: the recipe named
    the wrong places)."""
    named = re.findall(r"`((?:[\w/]+/)?\w+\.py|[\w/]+/\w+\.md|\.gitignore)(?:::(\w+))?`",
                       _recipe("A new job"))
    assert len(named) >= 10
    for path, name in named:
        file = ROOT / path if (ROOT / path).exists() else PACKAGE / path
        assert file.is_file(), f"'A new job' names {path}, which does not exist"
        if name:
            assert name in _top_level_names(file), f"'A new job' names {path}::{name}"


def test_every_command_is_wired_where_the_new_job_recipe_says():
    """Each command with a default output folder has its ``cli.COMMANDS`` entry, its line
    in ``.gitignore`` and its section in docs/cli.md, as the recipe's steps 6 and 7 say."""
    from sklearn_crossenc import cli
    from sklearn_crossenc._cli_parser import DEFAULT_OUTS

    ignored = (ROOT / ".gitignore").read_text().splitlines()
    cli_doc = (ROOT / "docs" / "cli.md").read_text()
    for command, out in DEFAULT_OUTS.items():
        assert command.replace("-", "_") in cli.COMMANDS, command
        assert f"/{out}/" in ignored, f".gitignore lacks /{out}/"
        assert f"## `crossenc {command}`" in cli_doc, f"docs/cli.md lacks crossenc {command}"

"""A small mutation-testing runner: AST operator mutants of one module, judged by chosen tests.

Usage (from the repository root)::

    python tools/mutate.py sklearn_crossenc/metrics.py tests/test_metrics.py [--json OUT]

Each mutant changes one operator or constant of the module (``+``/``-``, ``*``/``/``, ``<``/``<=``,
``==``/``!=``, ``and``/``or``, ``not x``/``x``, ``-x``/``x``, an integer ``n``/``n + 1``, a float
``x``/``2x``, ``True``/``False``, ``None`` default kept). Docstrings and other string constants
are not mutated. The mutant is never written to disk: a forked child installs an import hook
that compiles the mutated source in place of the module, then runs pytest on the given tests
with ``-x`` (the module's doctests are not used: pytest imports their file directly).
Exit status != 0 kills the mutant; a child running past ``--timeout`` times the clean run's
time is killed and counts as killed (timeout).

Why not mutmut: mutmut 3 copies the project into ``mutants/`` and trampolines every function,
which needs its own configuration of this layout and re-runs the whole selection for each
mutant's statistics; with torch imported once in the parent and a fork per mutant this runner
pays torch's import once per module (about 2 s) instead of once per mutant.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path

_SWAP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.And: ast.Or, ast.Or: ast.And,
}


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _const_variant(value):
    if isinstance(value, bool):
        return not value, f"{value} -> {not value}"
    if isinstance(value, int):
        return value + 1, f"{value} -> {value + 1}"
    if isinstance(value, float):
        new = 1.0 if value == 0 else 2 * value
        return new, f"{value!r} -> {new!r}"
    return None


def _variant(node: ast.AST, skip: set[int]):
    """``(apply(node) -> None, description)`` for one mutation of ``node``, or None."""
    if isinstance(node, ast.BinOp | ast.AugAssign | ast.BoolOp) and type(node.op) in _SWAP:
        new = _SWAP[type(node.op)]
        desc = f"{type(node.op).__name__} -> {new.__name__}"
        return (lambda n: setattr(n, "op", new())), desc
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAP:
        new = _SWAP[type(node.ops[0])]
        desc = f"{type(node.ops[0]).__name__} -> {new.__name__}"
        return (lambda n: n.ops.__setitem__(0, new())), desc
    if isinstance(node, ast.Constant) and id(node) not in skip:
        found = _const_variant(node.value)
        if found is not None:
            value, desc = found
            return (lambda n: setattr(n, "value", value)), desc
    return None


def _unwrap_unary(tree: ast.AST) -> list[tuple[ast.AST, ast.AST, str, int]]:
    """(parent, UnaryOp child, field name, line) for ``not x`` / ``-x`` operands."""
    out = []
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not | ast.USub):
                out.append((parent, value, field, value.lineno))
    return out


def mutants(source: str) -> list[tuple[int, str, str]]:
    """Every mutant of ``source`` as ``(line, description, mutated source)``."""
    tree = ast.parse(source)
    skip = _docstring_ids(tree)
    n_nodes = sum(1 for _ in ast.walk(tree))
    out = []
    for k in range(n_nodes):
        node = list(ast.walk(tree))[k]
        found = _variant(node, skip)
        if found is None or not hasattr(node, "lineno"):
            continue
        apply, desc = found
        clone = copy.deepcopy(tree)
        apply(list(ast.walk(clone))[k])
        out.append((node.lineno, desc, ast.unparse(clone)))
    for i, (_, unary, _, line) in enumerate(_unwrap_unary(tree)):
        clone = copy.deepcopy(tree)
        parent, child, field, _ = _unwrap_unary(clone)[i]
        setattr(parent, field, child.operand)
        out.append((line, f"{type(unary.op).__name__} x -> x", ast.unparse(clone)))
    return out


class _Loader(importlib.abc.Loader):
    def __init__(self, source: str, path: str):
        self.source, self.path = source, path

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(compile(self.source, self.path, "exec"), module.__dict__)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, path: str, source: str):
        self.name, self.path, self.source = name, path, source

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        return importlib.util.spec_from_file_location(
            fullname, self.path, loader=_Loader(self.source, self.path))


def _run_child(name: str, path: str, source: str | None, pytest_args: list[str]) -> int:
    """Fork; the child imports ``name`` from ``source`` and runs pytest. Returns the pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        if source is not None:
            sys.meta_path.insert(0, _Finder(name, path, source))
        import pytest

        code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *pytest_args]))
    finally:
        os._exit(code)


def _wait(pid: int, timeout: float) -> tuple[int | None, float]:
    """(exit status or None on timeout, seconds)."""
    t0 = time.perf_counter()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, time.perf_counter() - t0
        time.sleep(0.05)


def run(module_path: str, tests: list[str], timeout_factor: float = 5.0) -> dict:
    """Mutate ``module_path`` and judge each mutant by ``tests``; returns a summary dict."""
    path = str(Path(module_path).resolve())
    name = ".".join(Path(module_path).with_suffix("").parts)
    # Not the module's doctests: pytest's doctest collector imports the file itself, which
    # would replace the mutant with the original.
    args = list(tests)
    status, clean = _wait(_run_child(name, path, None, args), 3600)
    if status != 0:
        raise SystemExit(f"the tests fail on the unmutated {module_path} (exit {status})")
    results = []
    found = mutants(Path(module_path).read_text())
    for i, (line, desc, source) in enumerate(found):
        status, secs = _wait(_run_child(name, path, source, args), timeout_factor * clean + 10)
        verdict = "timeout" if status is None else ("survived" if status == 0 else "killed")
        results.append({"line": line, "mutation": desc, "verdict": verdict})
        print(f"[{i + 1}/{len(found)}] {module_path}:{line} {desc}: {verdict} ({secs:.1f} s)",
              flush=True)
    n_killed = sum(r["verdict"] != "survived" for r in results)
    return {"module": module_path, "tests": tests, "mutants": len(results), "killed": n_killed,
            "score": n_killed / max(len(results), 1), "clean_run_s": round(clean, 1),
            "survivors": [r for r in results if r["verdict"] == "survived"]}


def _preimport() -> None:
    # Heavy third-party imports once, before forking (not the package under test).
    for mod in ("numpy", "scipy.linalg", "sklearn.base", "sklearn.model_selection", "h5py",
                "torch", "skorch", "hypothesis", "pytest", "joblib"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("module", help="path of the module to mutate, e.g. sklearn_crossenc/metrics.py")
    p.add_argument("tests", nargs="+", help="test files (or node ids) that judge the mutants")
    p.add_argument("--timeout", type=float, default=5.0, help="x the clean run (default 5)")
    p.add_argument("--json", type=Path, default=None, help="write the summary there")
    args = p.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    _preimport()
    summary = run(args.module, args.tests, args.timeout)
    print(f"{summary['module']}: {summary['killed']}/{summary['mutants']} killed "
          f"(score {summary['score']:.1%}); survivors:")
    for r in summary["survivors"]:
        print(f"  line {r['line']}: {r['mutation']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""docs/architecture.md names every module of the package, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sklearn_crossenc"


def test_architecture_table_matches_the_tree():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", text, flags=re.MULTILINE))
    modules = {
        p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" or p.parent == PACKAGE
    } - {"__main__.py"}
    assert named - modules == set(), "the doc names modules that do not exist"
    assert modules - named == set(), "modules missing from docs/architecture.md"

"""Print pip pins (``name==floor``) of every lower bound declared in ``pyproject.toml``.

The floors are defined once, in ``pyproject.toml``: ``make test-min`` installs this
output into ``.venv-min`` and runs the fast suite there (see ``docs/dependencies.md``).
Every requirement must carry a ``>=`` bound; one without it is an error, not a silent skip.

Usage: ``python tools/min_requirements.py [--extras dev,plot,distributed] [pyproject.toml]``
"""

from __future__ import annotations

import argparse
import re
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name, optional [extras], then the specifiers: ">=1.2" or ">=1.2,<3"
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def floor_pin(requirement: str) -> str:
    """``"dask[distributed]>=2023.1"`` -> ``"dask[distributed]==2023.1"``; an environment
    marker is kept (``"tomli>=1.1; python_version < '3.11'"`` -> ``"tomli==1.1; ..."``).

    Raises ``ValueError`` naming the requirement when it has no ``>=`` bound.
    """
    requirement, _, marker = requirement.partition(";")
    match = _REQ.match(requirement)
    specs = [s.strip() for s in match.group(3).split(",")] if match else []
    floors = [s[2:].strip() for s in specs if s.startswith(">=")]
    if len(floors) != 1:
        raise ValueError(f"requirement {requirement!r} needs exactly one '>=' floor")
    pin = f"{match.group(1)}{match.group(2) or ''}=={floors[0]}"
    return f"{pin}; {marker.strip()}" if marker.strip() else pin


def floor_pins(pyproject: Path, extras=()) -> list[str]:
    """Pins of the core dependencies, then of each extra in ``extras``, in file order."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = sorted(set(extras) - set(optional))
    if unknown:
        raise ValueError(f"unknown extras {unknown}; pyproject declares {sorted(optional)}")
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += optional[extra]
    return [floor_pin(r) for r in reqs]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyproject", nargs="?", default=ROOT / "pyproject.toml", type=Path)
    parser.add_argument("--extras", default="", help="comma-separated extras to include")
    args = parser.parse_args(argv)
    extras = [e for e in args.extras.split(",") if e]
    try:
        pins = floor_pins(args.pyproject, extras)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(pins))
    return 0


if __name__ == "__main__":
    sys.exit(main())

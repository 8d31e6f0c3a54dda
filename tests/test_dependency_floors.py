"""The floors in ``pyproject.toml``: complete, pinned as written, and the ones tested.

``make test-min`` installs ``tools/min_requirements.py``'s pins into ``.venv-min`` and runs
the fast suite there with ``CROSSENC_FLOORS=1``, which turns on the exact-version check.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import min_requirements  # noqa: E402

sys.path.pop(0)

PYPROJECT = ROOT / "pyproject.toml"
EXTRAS = ("dev", "plot", "distributed")
# Import name -> distribution, where they differ.
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "distributed": "dask"}


def _declared() -> dict[str, Requirement]:
    project = min_requirements.tomllib.loads(PYPROJECT.read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return {Requirement(r).name: Requirement(r) for r in reqs}


def _applies(req: Requirement) -> bool:
    """Whether a requirement holds on this Python (tomli: before 3.11 only)."""
    return req.marker is None or req.marker.evaluate()


def _floor(req: Requirement) -> Version:
    (spec,) = [s for s in req.specifier if s.operator == ">="]
    return Version(spec.version)


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level modules imported anywhere in the package -> the files importing them."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "sklearn_crossenc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names}:
                if top not in sys.stdlib_module_names and top != "sklearn_crossenc":
                    found.setdefault(top, set()).add(path.name)
    return found


def test_every_direct_import_has_a_declared_floor():
    declared = _declared()
    imports = _third_party_imports()
    assert {"torch", "numpy", "scipy", "h5py", "sklearn", "skorch", "joblib", "tqdm"} <= set(
        imports)  # the scan sees what the package is known to import
    missing = {m: sorted(files) for m, files in imports.items()
               if DISTRIBUTION_OF.get(m, m) not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_pins_are_the_declared_floors_in_file_order():
    pins = min_requirements.floor_pins(PYPROJECT, EXTRAS)
    assert [Requirement(p).name for p in pins] == list(_declared())
    for pin in pins:
        req = Requirement(pin)
        (spec,) = req.specifier
        assert spec.operator == "=="
        assert Version(spec.version) == _floor(_declared()[req.name]), pin
    assert "dask[distributed]==" in "\n".join(pins)  # extras of a requirement are kept


def test_floor_pin_refuses_a_requirement_without_a_floor(tmp_path):
    assert min_requirements.floor_pin("numpy >=1.23.2, <3") == "numpy==1.23.2"
    assert min_requirements.floor_pin("tomli>=1.1; python_version < '3.11'") \
        == "tomli==1.1; python_version < '3.11'"  # the marker kept
    for bad in ("numpy", "numpy<3", "numpy==1.26", "numpy>=1,>=2"):
        with pytest.raises(ValueError, match=f"requirement '{bad}' needs exactly one '>='"):
            min_requirements.floor_pin(bad)
    with pytest.raises(ValueError, match=r"unknown extras \['gpu'\]"):
        min_requirements.floor_pins(PYPROJECT, ["gpu"])


def test_script_prints_the_pins(capsys):
    assert min_requirements.main(["--extras", "plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == min_requirements.floor_pins(PYPROJECT, ["plot"])
    assert [line.split("==")[0] for line in lines[-3:]] == ["matplotlib", "nilearn", "nibabel"]


def _installed(name: str) -> Version | None:
    try:
        return Version(Version(importlib.metadata.version(name)).public)  # 2.13.0+cpu -> 2.13.0
    except importlib.metadata.PackageNotFoundError:
        return None


def test_installed_versions_satisfy_the_floors():
    core = {Requirement(r).name for r in min_requirements.floor_pins(PYPROJECT)
            if _applies(Requirement(r))}
    for name, req in _declared().items():
        version = _installed(name)
        if version is None:
            assert name not in core, f"core dependency {name} is not installed"
            continue
        assert version >= _floor(req), f"{name} {version} is below the floor {req}"


@pytest.mark.skipif(os.environ.get("CROSSENC_FLOORS") != "1",
                    reason="checks the floor environment of `make test-min` (CROSSENC_FLOORS=1)")
def test_floor_environment_holds_exactly_the_floors():
    wrong = {name: str(_installed(name)) for name, req in _declared().items()
             if _applies(req) and _installed(name) != _floor(req)}
    assert not wrong, f"make test-min must run at the floors of pyproject.toml; found {wrong}"


def test_doctests_needing_a_missing_extra_are_the_ones_skipped(monkeypatch):
    import conftest  # tests/conftest.py, which pytest has imported under this name

    monkeypatch.setattr(conftest.importlib.util, "find_spec", lambda name: None)
    for name in ("sklearn_crossenc.distributed", "sklearn_crossenc.distributed.dask_backend"):
        assert conftest._missing_extra(name) == ("distributed", "distributed")
    for name in ("sklearn_crossenc.distributedx.f", "sklearn_crossenc.metrics.pearson_score",
                 "sklearn_crossenc.evaluation._maps.find_atlas"):  # needs no extra
        assert conftest._missing_extra(name) is None
    # The plot extra: nilearn for the synthetic atlas, nibabel for images, nilearn and
    # matplotlib for pictures.
    assert conftest._missing_extra("sklearn_crossenc.data._atlas.make_synthetic_atlas") == (
        "nilearn", "plot")
    assert conftest._missing_extra("sklearn_crossenc.evaluation._maps.parcel_image") == (
        "nibabel", "plot")
    monkeypatch.setattr(conftest.importlib.util, "find_spec",
                        lambda name: None if name == "matplotlib" else object())
    assert conftest._missing_extra("sklearn_crossenc.evaluation._maps.plot_parcel_map") == (
        "matplotlib", "plot")
    monkeypatch.setattr(conftest.importlib.util, "find_spec", lambda name: object())
    assert conftest._missing_extra("sklearn_crossenc.distributed.dask_backend") is None

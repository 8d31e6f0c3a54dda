"""The model registry and the protocol: one entry per model, read by every job; no job,
report or command-line module branches on a model's class name written as a string."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
from sklearn_crossenc.jobs._registry import (
    REGISTRY,
    JobSettings,
    ModelSpec,
    get_model,
    reference_model,
    registered,
    resolve_models,
)

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_crossenc"
CONSUMERS = sorted([*PACKAGE.joinpath("jobs").glob("*.py"),
                    *PACKAGE.joinpath("report").glob("*.py"),
                    PACKAGE / "cli.py", PACKAGE / "_cli_parser.py"])


@pytest.mark.parametrize("spec", list(REGISTRY.values()), ids=lambda s: s.name)
def test_each_entry_is_true_to_its_estimator(spec):
    cls = spec.estimator()
    assert spec.label == cls.__name__
    params = inspect.signature(cls).parameters
    assert set(spec.quick) <= set(params)
    assert set(spec.grid) <= set(params)
    assert spec.stochastic == ("random_state" in params)
    built = spec.params(JobSettings(quick=True, progress=True, min_train_length=40))
    est = spec.make(built)
    assert isinstance(est, cls)
    est._check_params()  # the job's settings are valid parameters


def test_one_reference_and_report_order():
    assert list(REGISTRY) == ["encoder", "ridge", "feature", "mean"]
    assert [s.name for s in REGISTRY.values() if s.reference] == ["encoder"]
    assert reference_model(resolve_models(["ridge", "mean"])) is None
    assert get_model("crosssubjectridge") is REGISTRY["ridge"]
    assert [s.name for s in REGISTRY.values() if s.needs_features] == ["feature"]


def test_registered_adds_for_a_block_only():
    spec = ModelSpec("twin", "MeanOfOthers", REGISTRY["mean"].estimator)
    with registered(spec):
        assert resolve_models(["twin"]) == [spec]
        with pytest.raises(ValueError, match="registered already"):
            with registered(spec):
                pass
    with pytest.raises(ValueError, match="unknown model 'twin'"):
        resolve_models(["twin"])


def _string_compares(path: Path, labels: set[str]) -> list[str]:
    """``x == "CrossSubjectEncoder"``, ``name in ("FeatureRidge", ...)`` and the like."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        for operand in [node.left, *node.comparators]:
            consts = [operand] if isinstance(operand, ast.Constant) else (
                list(operand.elts) if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [])
            hits = [c.value for c in consts if isinstance(c, ast.Constant) and c.value in labels]
            found += [f"{path.name}:{node.lineno} compares with {h!r}" for h in hits]
    return found


def test_no_consumer_compares_a_class_name_as_a_string():
    labels = {s.label for s in REGISTRY.values()} | set(REGISTRY)
    found = [hit for path in CONSUMERS for hit in _string_compares(path, labels)]
    assert found == []


def test_the_scan_finds_such_a_comparison(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('def f(name):\n    if name in ("FeatureRidge", "x"):\n        return 1\n'
                   '    return name == "encoder"\n')
    assert len(_string_compares(bad, {"FeatureRidge", "encoder"})) == 2


def test_protocol_is_the_seeds_and_read_by_the_preflight(synthetic_root):
    from sklearn_crossenc.data import load_friends, load_movie10
    from sklearn_crossenc.jobs._preflight import protocol_lengths

    assert SEED_PROTOCOL.train.seasons == (1, 2, 3, 4, 5)
    assert SEED_PROTOCOL.subjects == (1, 2, 3, 5)
    lengths = protocol_lengths(synthetic_root, SEED_PROTOCOL.subjects, SEED_PROTOCOL.sets)
    loaded = SEED_PROTOCOL.load(synthetic_root)
    expected = {
        "train": load_friends(synthetic_root, seasons=[1, 2, 3, 4, 5]),
        "friends_s6": load_friends(synthetic_root, seasons=[6]),
        "movie10_run1": load_movie10(synthetic_root, runs=[1]),
    }
    for key, data in expected.items():
        assert list(loaded[key]) == list(data) == list(lengths[key])
        assert {k: v.shape[1] for k, v in data.items()} == lengths[key]
    other = SEED_PROTOCOL.with_subjects((5, 1))
    assert next(iter(other.load(synthetic_root)["friends_s6"].values())).shape[0] == 2

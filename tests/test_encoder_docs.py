"""The Python examples of docs/estimator.md run, in order, in one namespace."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "estimator.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_has_the_promised_examples():
    text = "\n".join(_blocks())
    for needle in ("GridSearchCV", "pearson_scorer", "cross_validate", "GroupKFold",
                   "PredefinedSplit", "Pipeline", "validation=", "joblib.dump",
                   "encoder_kernel_size", "decoder_kernel_size"):
        assert needle in text, needle


@pytest.mark.slow
def test_doc_examples_run(capsys):
    ns: dict = {}
    for i, block in enumerate(_blocks()):
        exec(compile(block, f"{DOC.name}[block {i}]", "exec"), ns)
    assert ns["enc"].n_epochs_ >= 1 and 0 < ns["enc"].score(ns["X_val"]) <= 1

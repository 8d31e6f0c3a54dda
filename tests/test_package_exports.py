"""The lazy top-level exports of ``sklearn_crossenc``.

Guards: every name in ``__all__`` resolves from the top level to the object of the module that
defines it; unknown names raise ``AttributeError``; the data loaders import without torch.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import sklearn_crossenc

LAZY = dict(sklearn_crossenc._LAZY)


def test_all_lists_every_lazy_name_and_the_version():
    assert sorted(sklearn_crossenc.__all__) == sorted([*LAZY, "__version__"])
    assert dir(sklearn_crossenc) == sorted(sklearn_crossenc.__all__)
    # 20 of 0.1.0, 9 of sklearn_crossenc.evaluation, SubjectAdder, 2 episode scorers,
    # load_dataset
    assert len(LAZY) == 33


@pytest.mark.parametrize("name", sorted(LAZY))
def test_every_public_name_imports_from_the_top_level(name):
    ns: dict = {}
    exec(f"from sklearn_crossenc import {name}", ns)  # the statement users write
    home = importlib.import_module(LAZY[name])
    assert ns[name] is getattr(home, name)
    assert getattr(sklearn_crossenc, name) is ns[name]


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'load_everything'"):
        sklearn_crossenc.load_everything  # noqa: B018
    with pytest.raises(ImportError):
        exec("from sklearn_crossenc import load_everything", {})


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return set(out.split())


def test_loading_data_does_not_import_torch():
    loaded = _modules_after("from sklearn_crossenc import load_friends, load_movie10, "
                            "as_episodes, pearson_score")
    assert "sklearn_crossenc.data" in loaded  # the import did happen
    assert "torch" not in loaded and "skorch" not in loaded


def test_the_encoder_does_import_torch():
    # The check above can see torch: importing the encoder brings it in.
    assert "torch" in _modules_after("from sklearn_crossenc import CrossSubjectEncoder")

"""Pickles of release 0.1.0 name the old modules ``encoder._sklearn_api`` and
``ridge._sklearn_api``: they still load."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sklearn_crossenc import CrossSubjectEncoder, CrossSubjectRidge, FeatureRidge, MeanOfOthers


@pytest.mark.parametrize("cls, old", [
    (CrossSubjectEncoder, "sklearn_crossenc.encoder._sklearn_api"),
    (CrossSubjectRidge, "sklearn_crossenc.ridge._sklearn_api"),
    (FeatureRidge, "sklearn_crossenc.ridge._sklearn_api"),
    (MeanOfOthers, "sklearn_crossenc.ridge._sklearn_api"),
])
def test_pickle_naming_the_old_module_loads(cls, old, monkeypatch):
    est = cls()
    monkeypatch.setattr(cls, "__module__", old)  # pickle as release 0.1.0 did
    data = pickle.dumps(est)
    assert old.encode() in data
    monkeypatch.undo()
    back = pickle.loads(data)
    assert type(back) is cls
    assert back.get_params().keys() == est.get_params().keys()


def test_fitted_mean_of_others_from_an_old_pickle_predicts(monkeypatch):
    X = np.random.default_rng(0).normal(size=(2, 3, 20, 5)).astype(np.float32)
    est = MeanOfOthers().fit(X)
    monkeypatch.setattr(MeanOfOthers, "__module__", "sklearn_crossenc.ridge._sklearn_api")
    data = pickle.dumps(est)
    monkeypatch.undo()
    np.testing.assert_array_equal(pickle.loads(data).predict(X), est.predict(X))

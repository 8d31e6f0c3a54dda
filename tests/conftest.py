"""Shared fixtures: a tiny synthetic dataset in the Algonauts layout, generated once."""

from __future__ import annotations

import pytest

from sklearn_crossenc.data import load_friends, make_synthetic_dataset


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """Path of a tiny synthetic dataset (48 parcels, 4 subjects, seed 0); do not modify it."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("data") / "algonauts", scale="tiny")


@pytest.fixture(scope="session")
def friends_tiny(synthetic_root):
    """``(train, val)``: loader dicts of Friends seasons 1-5 and season 6 of the tiny set.

    Session-scoped and shared: copy an array before changing it.
    """
    train = load_friends(synthetic_root, seasons=range(1, 6))
    val = load_friends(synthetic_root, seasons=[6])
    return train, val

"""Shared fixtures (a tiny synthetic dataset in the Algonauts layout, generated once) and
the skipping of doctests whose optional extra is not installed."""

from __future__ import annotations

import importlib.util

import pytest
from _pytest.doctest import DoctestItem

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


# Doctests that need an optional extra: module or function -> (import names, extra).
DOCTESTS_NEEDING_EXTRAS = {
    "sklearn_crossenc.distributed": (("distributed",), "distributed"),
    "sklearn_crossenc.data._atlas": (("nilearn",), "plot"),
    "sklearn_crossenc.evaluation._maps.parcel_image": (("nibabel",), "plot"),
    "sklearn_crossenc.evaluation._maps.plot_parcel_map": (("nilearn", "matplotlib"), "plot"),
}


def _missing_extra(doctest_name: str):
    """``(import name, extra)`` a doctest needs and cannot import, else None."""
    for module, (names, extra) in DOCTESTS_NEEDING_EXTRAS.items():
        ours = doctest_name == module or doctest_name.startswith(module + ".")
        for name in names if ours else ():
            if importlib.util.find_spec(name) is None:
                return name, extra
    return None


def pytest_collection_modifyitems(config, items):
    """Skip, naming the extra, the doctests of a module whose optional extra is missing.

    A hook of this file sees every collected item, the package's doctests included.
    """
    for item in items:
        missing = _missing_extra(item.name) if isinstance(item, DoctestItem) else None
        if missing:
            name, extra = missing
            item.add_marker(pytest.mark.skip(
                reason=f"needs the '{extra}' extra ({name} is not installed): "
                       f"pip install 'sklearn-crossenc[{extra}]'"))

"""Shared fixtures (a tiny synthetic dataset in the Algonauts layout, generated once) and
the skipping of doctests whose optional extra is not installed."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

from sklearn_crossenc import CrossSubjectEncoder, CrossSubjectRidge, FeatureRidge, MeanOfOthers
from sklearn_crossenc.data import load_friends, make_synthetic_dataset


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    """Path of a tiny synthetic dataset (48 parcels, 4 subjects, seed 0); do not modify it."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("data") / "algonauts", scale="tiny")


@pytest.fixture
def data_copy(synthetic_root, tmp_path) -> Path:
    """A copy of the tiny synthetic dataset that a test may modify."""
    return Path(shutil.copytree(synthetic_root, tmp_path / "data"))


@pytest.fixture
def no_fit(monkeypatch):
    """Every estimator's ``fit`` fails the test: the check under test must stop the run
    before the first fit."""
    def fit(self, *args, **kwargs):
        pytest.fail(f"{type(self).__name__}.fit started before the error it should have "
                    "stopped at")

    for cls in (CrossSubjectEncoder, CrossSubjectRidge, FeatureRidge, MeanOfOthers):
        monkeypatch.setattr(cls, "fit", fit)


@contextlib.contextmanager
def mounted_tmpfs(mnt: Path, size: str, covered_by: str):
    """A real file system of ``size`` (tmpfs, e.g. ``"2m"``) mounted at the new folder
    ``mnt``, unmounted afterwards; the test is skipped where mounting is not permitted,
    naming ``covered_by``, the test that covers the case without a mount."""
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"cannot mount a small tmpfs here ({err}); {covered_by} covers it")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def bids_keyed_dataset(folder: Path, rng):
    """A ``dataset.toml`` of 3 subjects (a, b, c) x 8 parcels, 6 runs of 30 TRs with BIDS run
    keys (a shared signal plus noise), 3 train and 3 evaluate (set ``test``):
    ``(path, runs, keys)``."""
    import numpy as np

    from sklearn_crossenc.data._describe import write_dataset

    keys = [f"task-movie_run-{i}" for i in range(1, 7)]
    shared = {k: rng.normal(size=(30, 8)) for k in keys}
    runs = {k: (x[None] + rng.normal(size=(3, 30, 8))).astype(np.float32)
            for k, x in shared.items()}  # (S, T, C)
    path = write_dataset(folder, runs, ["a", "b", "c"], train=keys[:3], tr=1.0,
                         evaluate={"test": keys[3:]})
    return path, runs, keys


def fill_disk(folder: Path, leave: int) -> None:
    """Fill ``folder``'s file system up to ``leave`` free bytes (file ``ballast``)."""
    st = os.statvfs(folder)
    with open(folder / "ballast", "wb") as f:
        f.write(bytes(max(st.f_bavail * st.f_frsize - leave, 0)))


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
    "sklearn_crossenc.data._extract": (("nilearn", "nibabel"), "plot"),
    "sklearn_crossenc.data._fmriprep": (("nibabel",), "plot"),
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

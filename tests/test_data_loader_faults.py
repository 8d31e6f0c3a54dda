"""What the loaders refuse: values, shapes, duplicate runs, and files they cannot read.

Every message names the file, the key (where there is one) and the problem.
"""

from __future__ import annotations

import fcntl
import os
import re

import h5py
import numpy as np
import pytest

from sklearn_crossenc.data import load_friends, load_movie10
from sklearn_crossenc.data._paths import friends_path, movie10_path

KEY = "ses-001_task-s01e01a"


def _write(root, runs, *, subjects=(1, 2, 3, 5), kind="friends"):
    """Release files whose runs map file key -> array (or n_times of random data)."""
    path_fn = friends_path if kind == "friends" else movie10_path
    rng = np.random.default_rng(0)
    for s in subjects:
        path = path_fn(root, s)
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            for key, spec in runs.items():
                data = spec if isinstance(spec, np.ndarray) else rng.standard_normal(
                    (spec, 5)).astype(np.float32)
                f.create_dataset(key, data=data)
    return root


@pytest.mark.parametrize("value, count", [(np.nan, 1), (np.inf, 1), (-np.inf, 1), (1e300, 1)])
def test_non_finite_values_name_file_and_key(tmp_path, value, count):
    good = np.ones((10, 5))
    bad = good.copy()
    bad[3, 2] = value  # 1e300 is finite in float64 but outside float32's range
    _write(tmp_path, {KEY: good}, subjects=(1, 2, 5))
    _write(tmp_path, {KEY: bad}, subjects=(3,))
    path = friends_path(tmp_path, 3)
    with pytest.raises(ValueError, match=f"{path}: dataset '{KEY}' holds {count} NaN or Inf"):
        load_friends(tmp_path)


@pytest.mark.parametrize("shape", [(0, 5), (10, 0)])
def test_empty_runs_and_zero_parcels_name_file_and_key(tmp_path, shape):
    _write(tmp_path, {KEY: np.zeros(shape, np.float32)})
    with pytest.raises(ValueError, match=re.escape(
            f"{friends_path(tmp_path, 1)}: dataset '{KEY}' has shape {shape}; a run needs at "
            "least one time point and one parcel")):
        load_friends(tmp_path)


def test_string_dataset_is_a_dtype_error_not_corrupt(tmp_path):
    _write(tmp_path, {KEY: np.array([["a"] * 5] * 10, dtype="S1")})
    with pytest.raises(ValueError, match=f"dataset '{KEY}' has dtype \\|S1; expected numbers"):
        load_friends(tmp_path)


def test_run_stored_twice_in_one_file(tmp_path):
    _write(tmp_path, {"ses-001_task-s01e02a": 10, "ses-007_task-s01e02a": 10}, subjects=(2,))
    with pytest.raises(ValueError, match=(
            f"{friends_path(tmp_path, 2)}: run s01e02a is stored twice, under "
            "'ses-001_task-s01e02a' and 'ses-007_task-s01e02a'")):
        load_friends(tmp_path, subjects=(2,))
    _write(tmp_path, {"ses-001_task-figures01_run-2": 10, "ses-009_task-figures01_run-2": 10},
           subjects=(1,), kind="movie10")
    with pytest.raises(ValueError, match="run figures01_run-2 is stored twice"):
        load_movie10(tmp_path, subjects=(1,))


@pytest.mark.parametrize("make, what", [
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: os.mkfifo(p), "is not a regular file"),
])
def test_non_regular_file_is_not_reported_as_missing(tmp_path, make, what):
    _write(tmp_path, {KEY: 10}, subjects=(1, 2, 3))
    path = friends_path(tmp_path, 5)
    path.parent.mkdir(parents=True)
    make(path)
    with pytest.raises(OSError, match=f"{path} {what}") as info:
        load_friends(tmp_path)
    assert not isinstance(info.value, FileNotFoundError)


def test_unreadable_file_says_permission_denied(tmp_path):
    _write(tmp_path, {KEY: 10})
    path = friends_path(tmp_path, 2)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: a file of mode 000 is still readable")
        with pytest.raises(PermissionError, match=f"permission denied: cannot read {path}"):
            load_friends(tmp_path)
    finally:
        path.chmod(0o644)


def test_permission_error_from_hdf5_is_not_reported_as_corrupt(tmp_path, monkeypatch):
    # As root the access check passes; HDF5's own EACCES must still read as a permission error.
    _write(tmp_path, {KEY: 10})

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Unable to synchronously open file (Permission denied)")

    monkeypatch.setattr(h5py, "File", refuse)
    with pytest.raises(PermissionError, match="permission denied: cannot read .*sub-01") as info:
        load_friends(tmp_path)
    assert "corrupt" not in str(info.value)


def test_file_locked_by_another_process_is_named_locked(tmp_path):
    _write(tmp_path, {KEY: 10})
    path = friends_path(tmp_path, 3)
    fd = os.open(path, os.O_RDWR)  # what a writer's HDF5 file lock looks like
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BlockingIOError, match=f"{path} is locked by another process") as info:
            load_friends(tmp_path)
        assert "corrupt" not in str(info.value)
    finally:
        os.close(fd)
    assert list(load_friends(tmp_path)) == ["s01e01a"]  # readable once released

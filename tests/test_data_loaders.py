"""Loaders against a reimplementation of the seed notebook's loaders, and bad input."""

from __future__ import annotations

from collections import defaultdict

import h5py
import numpy as np
import pytest

from sklearn_crossenc.data import load_friends, load_movie10
from sklearn_crossenc.data._paths import friends_path, movie10_path


# --- the seed notebook's loader logic, rewritten for the tests --------------------------
def _seed_load(root, subjects, path_fn, keep, key_fn):
    files = {s: h5py.File(path_fn(root, s), "r") for s in subjects}
    try:
        key_maps = defaultdict(dict)
        for s, f in files.items():
            for key in f.keys():
                ent = dict(part.split("-", 1) for part in key.split("_"))
                if keep(ent):
                    key_maps[key_fn(ent)][s] = key
        out = {}
        for ep in sorted(e for e, m in key_maps.items() if len(m) == len(subjects)):
            samples = [files[s][key_maps[ep][s]][:] for s in subjects]
            n = min(len(x) for x in samples)
            out[ep] = np.stack([x[:n] for x in samples])
        return out
    finally:
        for f in files.values():
            f.close()


def seed_friends(root, subjects=(1, 2, 3, 5), seasons=range(1, 7)):
    seasons = set(seasons)
    return _seed_load(root, subjects, friends_path,
                      lambda e: int(e["task"][1:3]) in seasons, lambda e: e["task"])


def seed_movie10(root, subjects=(1, 2, 3, 5), movies=("bourne", "wolf", "figures", "life"),
                 runs=(1, 2)):
    def keep(e):
        return e["task"].rstrip("0123456789") in movies and int(e.get("run", 1)) in runs
    return _seed_load(root, subjects, movie10_path, keep,
                      lambda e: (e["task"], int(e.get("run", 1))))


def _movie_key(t):
    return t[0] if t[1] == 1 else f"{t[0]}_run-{t[1]}"


# --- equality with the seed --------------------------------------------------------------
@pytest.mark.parametrize("subjects", [(1, 2, 3, 5), (5, 1), (3,)])
@pytest.mark.parametrize("seasons", [None, [6], [4, 5]])
def test_friends_matches_seed(synthetic_root, subjects, seasons):
    ours = load_friends(synthetic_root, subjects=subjects, seasons=seasons)
    ref = seed_friends(synthetic_root, subjects, range(1, 7) if seasons is None else seasons)
    assert list(ours) == list(ref)
    for k in ref:
        assert ours[k].dtype == np.float32 and ours[k].flags.c_contiguous
        np.testing.assert_array_equal(ours[k], ref[k])


@pytest.mark.parametrize("subjects", [(1, 2, 3, 5), (2, 1)])
@pytest.mark.parametrize("movies,runs", [(None, None), (None, [1]), (["figures", "life"], [2])])
def test_movie10_matches_seed(synthetic_root, subjects, movies, runs):
    ours = load_movie10(synthetic_root, subjects=subjects, movies=movies, runs=runs)
    ref = seed_movie10(synthetic_root, subjects,
                       movies or ("bourne", "wolf", "figures", "life"), runs or (1, 2))
    assert list(ours) == [_movie_key(t) for t in ref]
    for t, arr in ref.items():
        np.testing.assert_array_equal(ours[_movie_key(t)], arr)


def test_friends_quirks(synthetic_root):
    data = load_friends(synthetic_root)
    # Missing for sub-02 / sub-05 / sub-03; present with fewer subjects.
    for missing in ("s05e20a", "s04e01a", "s04e01b", "s04e13b", "s06e03a"):
        assert missing not in data
    assert "s05e20a" in load_friends(synthetic_root, subjects=(1, 3, 5))
    assert {"s04e23a", "s04e23b", "s04e23c", "s04e23d"} <= set(data)
    assert {"s06e15a", "s06e15b", "s06e15c", "s06e15d"} <= set(data)
    assert all(v.shape[0] == 4 and v.ndim == 3 for v in data.values())


def test_truncated_to_shortest_subject(synthetic_root):
    data = load_friends(synthetic_root)
    differs = 0
    with h5py.File(friends_path(synthetic_root, 1), "r") as f1:
        lengths1 = {k.split("task-")[1]: f1[k].shape[0] for k in f1}
    for name, arr in data.items():
        assert arr.shape[1] <= lengths1[name]
        differs += arr.shape[1] < lengths1[name]
    assert differs > 0  # the generator makes some subjects 1-2 TRs shorter


# --- bad input ----------------------------------------------------------------------------
def _write_release(root, runs, *, n_parcels=5, kind="friends", subjects=(1, 2, 3, 5)):
    """A minimal release folder: ``runs`` maps file key -> (n_times) or an array."""
    path_fn = friends_path if kind == "friends" else movie10_path
    rng = np.random.default_rng(0)
    for s in subjects:
        path = path_fn(root, s)
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            for key, spec in runs.items():
                data = spec if isinstance(spec, np.ndarray) else rng.standard_normal(
                    (spec, n_parcels)).astype(np.float32)
                f.create_dataset(key, data=data)
    return root


def test_root_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset root .*nope does not exist"):
        load_friends(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="dataset root"):
        load_movie10(str(tmp_path / "nope"))


def test_subject_file_missing_names_path(tmp_path):
    _write_release(tmp_path, {"ses-001_task-s01e01a": 10}, subjects=(1, 2, 3))
    missing = friends_path(tmp_path, 5)
    with pytest.raises(FileNotFoundError, match=f"file not found: {missing}"):
        load_friends(tmp_path)
    assert list(load_friends(tmp_path, subjects=(1, 2))) == ["s01e01a"]


@pytest.mark.parametrize("subjects, match", [
    ((1, 4), "subject 4 is not in the release; choose among \\(1, 2, 3, 5\\)"),
    ((0,), "subject 0 is not in the release"),
    ((), "subjects is empty"),
    ((1, 1), "contains duplicates"),
    (("1",), "subject '1' is not an integer"),
    ((True,), "is not an integer"),
])
def test_bad_subjects(synthetic_root, subjects, match):
    with pytest.raises(ValueError, match=match):
        load_friends(synthetic_root, subjects=subjects)
    with pytest.raises(ValueError, match=match):
        load_movie10(synthetic_root, subjects=subjects)


def test_single_int_subject(synthetic_root):
    a = load_friends(synthetic_root, subjects=2, seasons=6)
    b = load_friends(synthetic_root, subjects=[2], seasons=[6])
    assert list(a) == list(b) and all(v.shape[0] == 1 for v in a.values())


@pytest.mark.parametrize("key, kind", [
    ("ses-001_task-s01e01a_bad", "friends"),  # part without '-'
    ("ses-001_run-1", "friends"),  # no task entity
    ("ses-001_task-friends01", "friends"),  # task is not an episode name
    ("ses-001_task-s01e01", "friends"),  # no split letter
    ("ses-001_task-bourne", "movie10"),  # no segment number
    ("ses-001_task-figures01_run-x", "movie10"),  # run is not a number
])
def test_unparsable_key_names_key_and_file(tmp_path, key, kind):
    _write_release(tmp_path, {key: 10}, kind=kind)
    loader = load_friends if kind == "friends" else load_movie10
    path_fn = friends_path if kind == "friends" else movie10_path
    with pytest.raises(ValueError, match=f"cannot parse key '{key}' in {path_fn(tmp_path, 1)}"):
        loader(tmp_path)


def test_filter_matching_nothing_says_what_each_subject_has(synthetic_root):
    with pytest.raises(ValueError, match=r"seasons=\[7\].*sub-01 has seasons \[1, 2, 3, 4, 5, 6\]"
                       r" \(32 runs\).*sub-05 has seasons"):
        load_friends(synthetic_root, seasons=[7])
    with pytest.raises(ValueError, match=r"runs=\[3\].*sub-01 has movies \['bourne', 'figures', "
                       r"'life', 'wolf'\], runs \[1, 2\]"):
        load_movie10(synthetic_root, runs=[3])
    with pytest.raises(ValueError, match=r"movies=\['bourne'\], runs=\[2\]"):
        load_movie10(synthetic_root, movies=["bourne"], runs=[2])


def test_run_present_in_no_common_subject(tmp_path):
    for s, key in zip((1, 2), ("ses-001_task-s01e01a", "ses-001_task-s01e02a"), strict=True):
        _write_release(tmp_path, {key: 10}, subjects=(s,))
    with pytest.raises(ValueError, match="present for every subject of \\(1, 2\\)"):
        load_friends(tmp_path, subjects=(1, 2))


@pytest.mark.parametrize("kwargs, match", [
    ({"seasons": []}, "seasons is empty"),
    ({"seasons": ["1"]}, "seasons must hold int values, got '1'"),
    ({"seasons": 1.5}, "seasons must be a sequence"),
])
def test_bad_season_filter(synthetic_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_friends(synthetic_root, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"movies": ["matrix"]}, r"movies \['matrix'\] are not in Movie10"),
    ({"movies": []}, "movies is empty"),
    ({"runs": []}, "runs is empty"),
    ({"runs": ["1"]}, "runs must hold int values"),
])
def test_bad_movie10_filter(synthetic_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_movie10(synthetic_root, **kwargs)


def test_truncated_file_is_named(synthetic_root, tmp_path):
    src = friends_path(synthetic_root, 1)
    _write_release(tmp_path, {"ses-001_task-s01e01a": 10}, subjects=(2, 3, 5))
    dst = friends_path(tmp_path, 1)
    dst.parent.mkdir(parents=True)
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    with pytest.raises(OSError, match=f"cannot open {dst} as HDF5"):
        load_friends(tmp_path)


def test_corrupt_chunk_is_named(tmp_path):
    _write_release(tmp_path, {"ses-001_task-s01e01a": 10}, subjects=(2, 3, 5))
    path = friends_path(tmp_path, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = np.random.default_rng(0).standard_normal((400, 5)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_dataset("ses-001_task-s01e01a", data=marker[:10, :5])
        f.create_dataset("ses-002_task-s01e02a", data=marker, compression="gzip", chunks=(400, 5))
        info = f["ses-002_task-s01e02a"].id.get_chunk_info(0)
        offset, size = info.byte_offset, info.size
    raw = bytearray(path.read_bytes())
    raw[offset + 2: offset + size] = b"\xff" * (size - 2)
    path.write_bytes(bytes(raw))
    # The s01e02a run only exists for sub-01: load it alone.
    with pytest.raises(OSError, match=f"cannot read run s01e02a .* from {path}"):
        load_friends(tmp_path, subjects=(1,))


def test_dataset_not_2d(tmp_path):
    _write_release(tmp_path, {"ses-001_task-s01e01a": np.zeros((10, 5, 2), np.float32)})
    with pytest.raises(ValueError, match=r"dataset 'ses-001_task-s01e01a' has shape \(10, 5, 2\);"
                       " expected 2-D"):
        load_friends(tmp_path)


def test_key_is_a_group(tmp_path):
    _write_release(tmp_path, {"ses-001_task-s01e01a": 10})
    with h5py.File(friends_path(tmp_path, 2), "a") as f:
        f.create_group("ses-002_task-s01e01b")
    _write_release(tmp_path / "x", {})
    with h5py.File(friends_path(tmp_path, 1), "a") as f:
        f.create_group("ses-002_task-s01e01b")
    for s in (3, 5):
        with h5py.File(friends_path(tmp_path, s), "a") as f:
            f.create_group("ses-002_task-s01e01b")
    with pytest.raises(ValueError, match="'ses-002_task-s01e01b' is a Group, expected a 2-D"):
        load_friends(tmp_path)


def test_parcel_counts_differ(tmp_path):
    _write_release(tmp_path, {"ses-001_task-s01e01a": 10}, subjects=(1, 2, 3))
    _write_release(tmp_path, {"ses-001_task-s01e01a": 10}, subjects=(5,), n_parcels=6)
    with pytest.raises(ValueError, match="parcel counts differ: sub-05 run s01e01a has 6 parcels"
                       " but sub-01 run s01e01a has 5"):
        load_friends(tmp_path)


def test_read_only_and_nothing_written(synthetic_root, tmp_path, monkeypatch):
    import hashlib
    import shutil
    import stat

    import h5py

    # The suite runs as root, where chmod does not stop a write: the proof is that every file
    # is opened with mode "r" and that nothing under the folder changed (bytes, mtime, inode).
    opened = []
    real_file = h5py.File
    monkeypatch.setattr(h5py, "File", lambda path, mode="r", *a, **k: (
        opened.append(mode), real_file(path, mode, *a, **k))[1])

    def snapshot():
        return {p: (p.stat().st_mtime_ns, p.stat().st_ino,
                    hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
                for p in root.rglob("*")}

    root = tmp_path / "ro"
    shutil.copytree(synthetic_root / "fmri", root / "fmri")
    before = snapshot()
    modes = {}
    for p in root.rglob("*"):
        modes[p] = p.stat().st_mode
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        a = load_friends(root, seasons=[1])
        b = load_movie10(root)
    finally:
        for p, m in sorted(modes.items(), reverse=True):
            p.chmod(m)
    assert a and b
    assert opened and set(opened) == {"r"}
    assert snapshot() == before


def test_progress_bar(synthetic_root, capsys):
    data = load_friends(synthetic_root, seasons=[6], progress=True)
    err = capsys.readouterr().err
    assert "loading friends" in err and f"{len(data)}/{len(data)}" in err


def test_float64_files_come_back_float32(tmp_path):
    arr = np.arange(30, dtype=np.float64).reshape(6, 5) / 7
    _write_release(tmp_path, {"ses-001_task-s01e01a": arr})
    out = load_friends(tmp_path)["s01e01a"]
    assert out.dtype == np.float32 and out.shape == (4, 6, 5)
    np.testing.assert_array_equal(out[2], arr.astype(np.float32))

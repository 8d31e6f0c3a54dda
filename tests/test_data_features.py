"""Stimulus features: dataset root, HDF5 files, the development kit's pickled dicts."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from sklearn_crossenc.data import load_stimulus_features, stimulus_name


@pytest.mark.parametrize("key, name", [
    ("figures01_run-2", "figures01"), ("figures01", "figures01"), ("life05_run-1", "life05"),
    ("bourne10", "bourne10"), ("s06e15c", "s06e15c"),
    ("ses-004_task-figures01_run-2", "figures01"), ("ses-001_task-s01e02a", "s01e02a"),
])
def test_stimulus_name(key, name):
    assert stimulus_name(key) == name


@pytest.mark.parametrize("key", ["", None, "_run-2", "figures01_run-x"])
def test_stimulus_name_bad(key):
    with pytest.raises(ValueError, match="run key"):
        stimulus_name(key)


def test_from_root_maps_repeated_viewings(synthetic_root):
    runs = ["s01e01a", "figures01", "figures01_run-2", "life01_run-2"]
    feats = load_stimulus_features(synthetic_root, "visual", runs=runs)
    assert list(feats) == runs
    assert feats["figures01_run-2"] is feats["figures01"]
    with h5py.File(synthetic_root / "stimulus_features" / "features_visual.h5", "r") as f:
        np.testing.assert_array_equal(feats["life01_run-2"], f["life01/features"][()])
    assert all(v.dtype == np.float32 and v.shape[1] == 250 for v in feats.values())


def test_from_h5_file_group_layouts(tmp_path):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((n, 3)) for n in (5, 6, 7))
    path = tmp_path / "feats.h5"
    with h5py.File(path, "w") as f:
        f.create_group("s01e01a").create_dataset("features", data=a)
        f.create_group("bourne01").create_dataset("audio", data=b)  # named like the modality
        g = f.create_group("wolf01")
        g.create_dataset("only", data=c)  # the single dataset
        f.create_dataset("life01", data=a)  # flat dataset at the root
    out = load_stimulus_features(path, "audio")
    assert sorted(out) == ["bourne01", "life01", "s01e01a", "wolf01"]
    np.testing.assert_allclose(out["bourne01"], b.astype(np.float32))
    np.testing.assert_allclose(out["wolf01"], c.astype(np.float32))
    assert out["s01e01a"].dtype == np.float32
    # modality need not be one of the three for a file
    assert list(load_stimulus_features(path, "whatever", runs=["s01e01a"])) == ["s01e01a"]


def test_ambiguous_group(tmp_path):
    path = tmp_path / "feats.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("s01e01a")
        g.create_dataset("x", data=np.zeros((3, 2)))
        g.create_dataset("y", data=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"group /s01e01a holds datasets \['x', 'y'\]"):
        load_stimulus_features(path, "visual")


def test_not_2d(tmp_path):
    path = tmp_path / "feats.h5"
    with h5py.File(path, "w") as f:
        f.create_group("s01e01a").create_dataset("features", data=np.zeros(3))
    with pytest.raises(ValueError, match=r"s01e01a/features has shape \(3,\).*expected a 2-D"):
        load_stimulus_features(path, "visual")


def test_pickled_npy_needs_consent(tmp_path):
    table = {"s01e01a": np.ones((4, 2)), "figures01": np.zeros((3, 2), np.float32)}
    path = tmp_path / "features_visual.npy"
    np.save(path, table, allow_pickle=True)
    with pytest.raises(ValueError, match="unpickling runs code .* allow_pickle=True"):
        load_stimulus_features(path, "visual")
    out = load_stimulus_features(path, "visual", runs=["figures01_run-2"], allow_pickle=True)
    assert list(out) == ["figures01_run-2"] and out["figures01_run-2"].shape == (3, 2)
    full = load_stimulus_features(path, "visual", allow_pickle=True)
    assert full["s01e01a"].dtype == np.float32
    np.save(tmp_path / "arr.npy", np.zeros((3, 2)))
    with pytest.raises(ValueError, match="holds a ndarray, expected a dict"):
        load_stimulus_features(tmp_path / "arr.npy", "visual", allow_pickle=True)


def test_errors(synthetic_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="source .*nope does not exist"):
        load_stimulus_features(tmp_path / "nope", "visual")
    with pytest.raises(ValueError, match=r"modality must be one of \['visual', 'audio', "
                       r"'language'\], got 'smell'"):
        load_stimulus_features(synthetic_root, "smell")
    with pytest.raises(ValueError, match="modality must be a non-empty string"):
        load_stimulus_features(synthetic_root, "")
    with pytest.raises(FileNotFoundError, match="no audio stimulus features: .*features_audio.h5"):
        load_stimulus_features(tmp_path, "audio")
    with pytest.raises(ValueError, match=r"no visual features for runs \['s09e01a'\]; it has"):
        load_stimulus_features(synthetic_root, "visual", runs=["s01e01a", "s09e01a"])
    with pytest.raises(ValueError, match="runs is empty"):
        load_stimulus_features(synthetic_root, "visual", runs=[])
    with pytest.raises(ValueError, match="runs must hold run keys"):
        load_stimulus_features(synthetic_root, "visual", runs=[1])
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match="unknown feature file type '.txt'"):
        load_stimulus_features(tmp_path / "f.txt", "visual")
    (tmp_path / "bad.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(OSError, match="cannot open .*bad.h5 as HDF5"):
        load_stimulus_features(tmp_path / "bad.h5", "visual")

"""The default dataset cache (``data/_cache.py``) and the release paths of ``data/_paths.py``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sklearn_crossenc.data import (
    atlas_path,
    default_cache_dir,
    default_data_dir,
    ensure_default_dataset,
    features_path,
    has_stimulus_features,
    load_stimulus_features,
    stimulus_features_dir,
)


def _digest(root) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).rglob("*")) if p.is_file()
    }


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSENC_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CROSSENC_CACHE")
    assert default_cache_dir() == tmp_path / "x" / "sklearn-crossenc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "sklearn-crossenc"
    assert default_data_dir("small", 0) == default_cache_dir() / "synthetic-small-seed0"
    assert default_data_dir("tiny", data_seed=7).name == "synthetic-tiny-seed7"


def test_default_dataset_generated_once(monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSENC_CACHE", str(tmp_path / "cache"))
    messages = []
    root = ensure_default_dataset(scale="tiny", log=messages.append)
    assert root == tmp_path / "cache" / "synthetic-tiny-seed0"
    assert (root / "fmri").is_dir() and len(messages) == 2
    assert messages[0].startswith("Generating the synthetic 'tiny' dataset (data seed 0)")
    stamp = _digest(root)
    assert ensure_default_dataset(scale="tiny", log=messages.append) == root
    assert len(messages) == 2  # reused: nothing generated the second time
    assert _digest(root) == stamp


def test_default_dataset_regenerated_when_generator_changed(monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSENC_CACHE", str(tmp_path / "cache"))
    root = ensure_default_dataset(scale="tiny", data_seed=1)
    meta_path = root / "synthetic.json"
    meta = json.loads(meta_path.read_text())
    assert meta["seed"] == 1 and root.name == "synthetic-tiny-seed1"
    stale = dict(meta, params=dict(meta["params"], n_latent=meta["params"]["n_latent"] + 1))
    meta_path.write_text(json.dumps(stale))
    messages = []
    assert ensure_default_dataset(scale="tiny", data_seed=1, log=messages.append) == root
    assert "other generator settings" in messages[0] and len(messages) == 2
    assert json.loads(meta_path.read_text()) == meta


def test_atlas_path_is_the_release_name():
    """The atlas path, spelled out as in shared/ALGONAUTS.md."""
    expected = ("fmri/sub-03/atlas/sub-03_space-MNI152NLin2009cAsym_atlas-Schaefer18_"
                "parcel-1000Par7Net_desc-dseg_parcellation.nii.gz")
    assert atlas_path("/r", 3) == Path("/r") / expected


def test_stimulus_feature_paths_and_presence(synthetic_root, tmp_path):
    assert stimulus_features_dir(tmp_path) == tmp_path / "stimulus_features"
    assert features_path(tmp_path, "visual") == tmp_path / "stimulus_features/features_visual.h5"
    assert has_stimulus_features(synthetic_root)
    assert features_path(synthetic_root, "audio").is_file()  # the writer uses the same path
    assert not has_stimulus_features(tmp_path)
    stimulus_features_dir(tmp_path).mkdir()
    assert not has_stimulus_features(tmp_path)  # empty folder
    (stimulus_features_dir(tmp_path) / "x.h5").write_bytes(b"")
    assert has_stimulus_features(tmp_path)
    # The loader reads a root through the same path function.
    a = load_stimulus_features(synthetic_root, "audio", runs=["s01e01a"])
    b = load_stimulus_features(features_path(synthetic_root, "audio"), "audio", runs=["s01e01a"])
    assert a["s01e01a"].tobytes() == b["s01e01a"].tobytes()

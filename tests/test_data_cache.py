"""The default dataset cache: where it lives, generated once, regenerated when stale."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sklearn_crossenc.data import default_cache_dir, default_data_dir, ensure_default_dataset


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


def test_default_dataset_generated_once(monkeypatch, tmp_path):
    monkeypatch.setenv("CROSSENC_CACHE", str(tmp_path / "cache"))
    messages = []
    root = ensure_default_dataset(scale="tiny", log=messages.append)
    assert root == tmp_path / "cache" / "synthetic-tiny-seed0"
    assert (root / "fmri").is_dir() and len(messages) == 2
    stamp = _digest(root)
    assert ensure_default_dataset(scale="tiny", log=messages.append) == root
    assert len(messages) == 2  # reused: nothing generated the second time
    assert _digest(root) == stamp


def test_default_dataset_regenerated_when_generator_changed(monkeypatch, tmp_path):
    import json

    monkeypatch.setenv("CROSSENC_CACHE", str(tmp_path / "cache"))
    root = ensure_default_dataset(scale="tiny")
    meta_path = root / "synthetic.json"
    meta = json.loads(meta_path.read_text())
    stale = dict(meta, params=dict(meta["params"], n_latent=meta["params"]["n_latent"] + 1))
    meta_path.write_text(json.dumps(stale))
    messages = []
    assert ensure_default_dataset(scale="tiny", log=messages.append) == root
    assert "other generator settings" in messages[0] and len(messages) == 2
    assert json.loads(meta_path.read_text()) == meta

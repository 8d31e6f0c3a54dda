"""Atomic writes leave either the complete new file or the old one, never a partial file."""

import json
import os
import stat

import pytest

from sklearn_crossenc._io import atomic_path, atomic_write_json, atomic_write_text


def test_atomic_write_text_and_json(tmp_path):
    p = atomic_write_text(tmp_path / "sub" / "a.md", "hello\n")
    assert p.read_text() == "hello\n"
    atomic_write_json(tmp_path / "r.json", {"a": 1})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": 1}
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.json", "sub"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_text("half of the new conte")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["report.json"]


def test_temp_name_keeps_suffix_for_format_sniffing_writers(tmp_path):
    with atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "fig.png").read_bytes() == b"x"


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_outputs_follow_the_umask(tmp_path, umask):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what any other tool would create
    assert _mode(plain) == 0o666 & ~umask
    atomic_write_text(tmp_path / "a.md", "hello")
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"1")
    assert _mode(tmp_path / "a.md") == _mode(plain)
    assert _mode(tmp_path / "b.bin") == _mode(plain)


def test_synthetic_dataset_follows_the_umask(tmp_path, umask):
    from sklearn_crossenc.data import make_synthetic_dataset

    root = make_synthetic_dataset(tmp_path / "ds", scale="tiny")
    (tmp_path / "plain").mkdir()
    assert _mode(root) == _mode(tmp_path / "plain") == 0o777 & ~umask
    for p in root.rglob("*"):
        assert _mode(p) == (0o777 if p.is_dir() else 0o666) & ~umask, p

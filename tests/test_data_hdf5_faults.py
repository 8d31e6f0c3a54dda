"""HDF5 files that would read as zeros or lead outside the data folder (issue 20).

HDF5 returns the fill value (zeros) for a virtual dataset whose source is missing, for a
chunk never written and for bytes past the end of a file cut while it is open; it follows
external links and virtual sources anywhere. The loaders refuse each case, naming the file
and the key, before any value is read (and check the file sizes again after reading).
"""

from __future__ import annotations

import os
import re
import shutil

import h5py
import numpy as np
import pytest

from sklearn_crossenc import CrossSubjectEncoder, CrossSubjectRidge, FeatureRidge, MeanOfOthers
from sklearn_crossenc.cli import main
from sklearn_crossenc.data import load_friends, load_stimulus_features, load_true_signal
from sklearn_crossenc.data._loaders import run_index
from sklearn_crossenc.data._paths import features_path, friends_path

KEY = "ses-001_task-s01e01a"
SUBJECTS = (1, 2, 3, 5)
RUN = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)  # (T, C)


def _release(root, make_sub1=None, *, subjects=SUBJECTS):
    """Friends files holding RUN under KEY; ``make_sub1(f, path)`` writes sub-01's KEY."""
    for s in subjects:
        path = friends_path(root, s)
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            if s == 1 and make_sub1 is not None:
                make_sub1(f, path)
            else:
                f.create_dataset(KEY, data=RUN)
    return friends_path(root, 1)


def _source(path, name="source.h5", key="x", data=RUN):
    with h5py.File(path, "w") as g:
        g.create_dataset(key, data=data)
    return path


def _vds(f, key, src_name, shape=RUN.shape, region=None, dset="x"):
    layout = h5py.VirtualLayout(shape=shape, dtype=np.float32)
    src = h5py.VirtualSource(src_name, dset, shape=RUN.shape)
    layout[region if region is not None else ...] = src if region is None else src[region]
    f.create_virtual_dataset(key, layout, fillvalue=0)


# --------------------------------------------------------------------- virtual datasets
def test_virtual_dataset_inside_the_data_folder_loads(tmp_path):
    def make(f, path):
        _source(path.parent / "source.h5")
        _vds(f, KEY, "source.h5")

    _release(tmp_path, make)
    np.testing.assert_array_equal(load_friends(tmp_path)["s01e01a"][0], RUN)


def test_virtual_dataset_whose_source_file_is_missing_is_refused_not_zeros(tmp_path):
    def make(f, path):
        _vds(f, KEY, "source.h5")  # the source file was never copied

    path = _release(tmp_path, make)
    with h5py.File(path) as f:  # what h5py alone gives: zeros, without a word
        assert not f[KEY][()].any()
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{path}: dataset '{KEY}' is a virtual dataset mapping 'x' of 'source.h5', but "
            f"{path.parent / 'source.h5'} does not exist")):
        load_friends(tmp_path)


@pytest.mark.parametrize("case, match", [
    ("dataset missing", "is a virtual dataset mapping 'x' of 'source.h5', which does not "
                        "exist; it would read as zeros"),
    ("source smaller", r"whose shape \(20, 6\) holds 120 values, not the 240 mapped"),
    ("region outside", r"whose shape \(20, 6\) is smaller than the mapped region \(30, 6\)"),
    ("gap", "is a virtual dataset that maps no source to 60 of its 240 values"),
])
def test_virtual_dataset_that_would_read_zeros_somewhere_is_refused(tmp_path, case, match):
    def make(f, path):
        src = path.parent / "source.h5"
        if case == "dataset missing":
            _source(src, key="y")
            _vds(f, KEY, "source.h5")
        elif case == "source smaller":
            _source(src, data=RUN[:20])
            _vds(f, KEY, "source.h5")
        elif case == "region outside":  # rows 0-29 of a source of 20 rows
            _source(src, data=RUN[:20])
            layout = h5py.VirtualLayout(shape=RUN.shape, dtype=np.float32)
            layout[:30] = h5py.VirtualSource("source.h5", "x", shape=RUN.shape)[:30]
            layout[30:] = h5py.VirtualSource("source.h5", "x", shape=RUN.shape)[:10]
            f.create_virtual_dataset(KEY, layout, fillvalue=0)
        else:  # rows 30-39 mapped to nothing
            _source(src)
            _vds(f, KEY, "source.h5", region=np.s_[:30])

    path = _release(tmp_path, make)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: dataset '{KEY}' .*{match}"):
        load_friends(tmp_path)


def test_virtual_dataset_with_a_source_outside_the_data_folder_is_refused(tmp_path):
    outside = _source(tmp_path / "elsewhere.h5")
    root = tmp_path / "data"

    def make(f, path):
        _vds(f, KEY, str(outside))

    path = _release(root, make)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: dataset '{KEY}' is a virtual dataset mapping 'x' of '{outside}', "
            f"outside the data folder {root}; only links to files inside it are followed")):
        load_friends(root)


def test_compare_refuses_a_virtual_dataset_with_a_missing_source_before_any_fit(
        synthetic_root, tmp_path, monkeypatch, capsys):
    """The issue's first case: ``compare`` trained on the zeros and exited 0."""
    def fit(self, *args, **kwargs):
        pytest.fail(f"{type(self).__name__}.fit started on a file that reads as zeros")

    for cls in (CrossSubjectEncoder, CrossSubjectRidge, FeatureRidge, MeanOfOthers):
        monkeypatch.setattr(cls, "fit", fit)
    data = shutil.copytree(synthetic_root, tmp_path / "data")
    path = friends_path(data, 2)
    with h5py.File(path, "a") as f:
        key = next(k for k in f if k.endswith("task-s01e02a"))
        values = f[key][()]
        del f[key]
        _source(path.parent / "moved.h5", data=values)
        layout = h5py.VirtualLayout(shape=values.shape, dtype=values.dtype)
        layout[...] = h5py.VirtualSource("moved.h5", "x", shape=values.shape)
        f.create_virtual_dataset(key, layout, fillvalue=0)
    (path.parent / "moved.h5").unlink()
    rc = main(["compare", "--quick", "--models", "mean", "--data-dir", str(data),
               "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err == (f"crossenc compare: error: {path}: dataset '{key}' is a virtual dataset "
                   f"mapping 'x' of 'moved.h5', but {path.parent / 'moved.h5'} does not exist")


# ----------------------------------------------------------------------- links
def test_external_link_inside_the_data_folder_loads(tmp_path):
    def make(f, path):
        _source(path.parent.parent / "shared.h5")
        f[KEY] = h5py.ExternalLink("../shared.h5", "/x")

    _release(tmp_path, make)
    np.testing.assert_array_equal(load_friends(tmp_path)["s01e01a"][0], RUN)


def test_external_link_outside_the_data_folder_is_refused_unopened(tmp_path):
    outside = _source(tmp_path / "elsewhere.h5")
    root = tmp_path / "data"

    def make(f, path):
        f[KEY] = h5py.ExternalLink(str(outside), "/x")

    path = _release(root, make)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: '{KEY}' is an external link to '/x' in '{outside}', outside the data "
            f"folder {root}; only links to files inside it are followed")):
        load_friends(root)


@pytest.mark.parametrize("target, match", [
    ("missing.h5", "is an external link to '/x' in 'missing.h5', but {dir}/missing.h5 does "
                   "not exist"),
    ("source.h5", "is a dangling external link \\(to 'source.h5'\\): its target '/nothing' "
                  "does not exist in {dir}/source.h5"),
])
def test_external_link_to_nothing_names_file_and_key(tmp_path, target, match):
    def make(f, path):
        _source(path.parent / "source.h5")
        f[KEY] = h5py.ExternalLink(target, "/x" if target == "missing.h5" else "/nothing")

    path = _release(tmp_path, make)
    with pytest.raises((FileNotFoundError, ValueError),
                       match=f"{re.escape(str(path))}: '{KEY}' " + match.format(
                           dir=re.escape(str(path.parent)))):
        load_friends(tmp_path)


def test_dangling_soft_link_names_file_and_key_not_nonetype(tmp_path):
    def make(f, path):
        f[KEY] = h5py.SoftLink("/runs/s01e01a")

    path = _release(tmp_path, make)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: '{KEY}' is a dangling soft link: its target '/runs/s01e01a' does not "
            f"exist in {path}")) as info:
        load_friends(tmp_path)
    assert "NoneType" not in str(info.value)


def test_soft_link_inside_the_file_loads_and_a_loop_is_named(tmp_path):
    def make(f, path):
        f.create_dataset("ses-002_task-s01e05a/a", data=RUN)  # a run of sub-01 only
        f[KEY] = h5py.SoftLink("/ses-002_task-s01e05a/a")

    _release(tmp_path, make)
    np.testing.assert_array_equal(load_friends(tmp_path)["s01e01a"][0], RUN)

    def loop(f, path):
        f[KEY] = h5py.SoftLink("/ses-002_task-s01e01b")
        f["ses-002_task-s01e01b"] = h5py.SoftLink(f"/{KEY}")

    path = _release(tmp_path / "loop", loop)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: '{KEY}' goes through more than 16 links in a row (a link loop)")):
        load_friends(tmp_path / "loop", subjects=(1,))


def test_symlink_loop_is_not_reported_as_file_not_found(tmp_path):
    path = _release(tmp_path, subjects=(2, 3, 5))
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(path.name + ".other", path)
    os.symlink(path.name, str(path) + ".other")
    with pytest.raises(OSError, match=re.escape(
            f"file {path} cannot be reached: a symbolic link loop")) as info:
        load_friends(tmp_path)
    assert not isinstance(info.value, FileNotFoundError)
    loop = tmp_path / "root-loop"
    os.symlink(loop, loop)
    with pytest.raises(OSError, match=re.escape(
            f"dataset root {loop} cannot be reached: a symbolic link loop")):
        load_friends(loop)


def test_dangling_symlink_to_a_file_says_so(tmp_path):
    path = _release(tmp_path, subjects=(2, 3, 5))
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/nonexistent/sub-01.h5", path)
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"file {path} is a dangling symbolic link: its target /nonexistent/sub-01.h5 "
            "does not exist")):
        load_friends(tmp_path)


# ----------------------------------------------------------------------- truncation
OTHER = "ses-002_task-s01e02a"


def _release_two_runs(root, gzip_key=OTHER):
    """Every subject has runs KEY and OTHER; sub-01's ``gzip_key`` is gzip-compressed in
    chunks of 10 rows, its other run contiguous and uncompressed. Returns the path of
    sub-01's file and where to cut it."""
    for s in SUBJECTS:
        path = friends_path(root, s)
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(path, "w") as f:
            for key in (KEY, OTHER):
                gzip = s == 1 and key == gzip_key
                f.create_dataset(key, data=RUN, chunks=(10, 6) if gzip else None,
                                 compression="gzip" if gzip else None)
    with h5py.File(path := friends_path(root, 1)) as f:
        c = f[OTHER if gzip_key == KEY else KEY].id
        z = f[gzip_key].id
        chunks = [z.get_chunk_info(i) for i in range(z.get_num_chunks())]
        return path, {"inside the contiguous run": c.get_offset() + c.get_storage_size() // 2,
                      "inside a gzip chunk": chunks[1].byte_offset + chunks[1].size // 2,
                      "between two gzip chunks": chunks[2].byte_offset,
                      "one byte short": path.stat().st_size - 1}


@pytest.mark.parametrize("where", ["inside the contiguous run", "inside a gzip chunk",
                                   "between two gzip chunks", "one byte short"])
def test_file_cut_before_it_is_opened_is_refused(tmp_path, where):
    path, cuts = _release_two_runs(tmp_path)
    os.truncate(path, cuts[where])
    with pytest.raises(OSError, match=f"cannot open {re.escape(str(path))} as HDF5 "
                                      r"\(truncated or corrupt\?\): .*truncated file"):
        load_friends(tmp_path)


@pytest.mark.parametrize("where", ["inside the contiguous run", "inside a gzip chunk",
                                   "between two gzip chunks"])
def test_file_cut_after_it_was_opened_is_refused_before_reading(tmp_path, monkeypatch, where):
    """HDF5 checks the size when it opens a file, not when it reads: bytes past the cut
    read as zeros. A file cut between the opening and the reading is caught from the
    datasets' storage addresses, before any value is read."""
    import sklearn_crossenc.data._loaders as loaders

    # The first run checked (KEY) holds the cut.
    path, cuts = _release_two_runs(tmp_path, OTHER if "contiguous" in where else KEY)
    index_file = loaders.index_file

    def cut_after_indexing(f, p, index_fn):
        entries = index_file(f, p, index_fn)
        if p == path:
            os.truncate(path, cuts[where])
        return entries

    monkeypatch.setattr(loaders, "index_file", cut_after_indexing)
    with pytest.raises(OSError, match=re.escape(f"{path}: dataset '{KEY}' is truncated: ")
                       + rf"its values end at byte \d+ but {re.escape(str(path))} has "
                       rf"{cuts[where]} bytes; the missing bytes would read as zeros"):
        load_friends(tmp_path)


def test_file_cut_past_every_run_is_refused_by_its_size_at_opening(tmp_path, monkeypatch):
    import sklearn_crossenc.data._loaders as loaders

    path, cuts = _release_two_runs(tmp_path)
    index_file = loaders.index_file

    def cut_after_indexing(f, p, index_fn):
        entries = index_file(f, p, index_fn)
        if p == path:
            os.truncate(path, cuts["one byte short"])
        return entries

    monkeypatch.setattr(loaders, "index_file", cut_after_indexing)
    with pytest.raises(OSError, match=re.escape(
            f"{path}: dataset '{KEY}' is truncated: the file had {cuts['one byte short'] + 1} "
            f"bytes when it was opened but {path} has {cuts['one byte short']} bytes")):
        load_friends(tmp_path)


def test_file_cut_while_a_run_is_read_is_refused_not_zeros(tmp_path, monkeypatch):
    path, cuts = _release_two_runs(tmp_path)
    read_direct = h5py.Dataset.read_direct

    def cut_then_read(self, *args, **kwargs):
        if self.file.filename == str(path) and self.name == f"/{KEY}":
            os.truncate(path, cuts["inside the contiguous run"])
        return read_direct(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "read_direct", cut_then_read)
    with pytest.raises(OSError, match=re.escape(
            f"{path}: dataset '{KEY}' was cut while it was being read: its values end at "
            "byte ")):
        load_friends(tmp_path, subjects=(1, 2))


def _first_byte(d: h5py.Dataset) -> int:
    """Where the values of ``d`` start in its file."""
    return d.id.get_chunk_info(0).byte_offset if d.chunks else d.id.get_offset()


def test_file_cut_while_features_or_the_truth_are_read(synthetic_root, tmp_path, monkeypatch):
    data = shutil.copytree(synthetic_root, tmp_path / "data")
    friends = load_friends(data, seasons=[6])
    getitem = h5py.Dataset.__getitem__

    def cut_then_read(self, *args, **kwargs):
        os.truncate(self.file.filename, _first_byte(self) + 1)
        return getitem(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", cut_then_read)
    feats = features_path(data, "audio")
    with pytest.raises(OSError, match=f"{re.escape(str(feats))}: dataset 's06e01a/features' "
                                      "was cut while it was being read"):
        load_stimulus_features(data, "audio", runs=["s06e01a"])
    with pytest.raises(OSError, match=r"truth.h5: dataset 'subjects/sub-01/weights' was cut "
                                      "while it was being read"):
        load_true_signal(data, friends, "friends")


# ------------------------------------------------------------- never-written storage
@pytest.mark.parametrize("make, match", [
    (lambda f: f.create_dataset(KEY, shape=RUN.shape, dtype="f4"),
     "was never written (it would read as zeros)"),
    (lambda f: f.create_dataset(KEY, shape=RUN.shape, dtype="f4", chunks=(10, 6))
     .__setitem__(np.s_[:20], RUN[:20]),
     "has 2 of its 4 chunks never written (they would read as zeros)"),
])
def test_dataset_never_written_is_refused(tmp_path, make, match):
    path = _release(tmp_path, lambda f, p: make(f))
    with pytest.raises(OSError, match=re.escape(f"{path}: dataset '{KEY}' {match}")):
        load_friends(tmp_path)


def test_values_in_an_external_raw_file_missing_or_outside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def make(f, path):
        f.create_dataset(KEY, shape=RUN.shape, dtype="<f4",
                         external=[("raw.bin", 0, RUN.nbytes)])

    root = tmp_path / "data"
    path = _release(root, make)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: dataset '{KEY}' keeps its values in the external file 'raw.bin' "
            f"({tmp_path / 'raw.bin'}: HDF5 reads it from the working folder), outside the "
            f"data folder {root}")):
        load_friends(root)
    monkeypatch.chdir(root)
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"and {root / 'raw.bin'} does not exist; it would read as zeros")):
        load_friends(root)
    RUN[:20].tofile(root / "raw.bin")  # half of it
    with pytest.raises(OSError, match=f"dataset '{KEY}' is truncated: its values end at byte "
                                      f"{RUN.nbytes} but {re.escape(str(root / 'raw.bin'))} "
                                      f"has {RUN[:20].nbytes} bytes"):
        load_friends(root)
    RUN.tofile(root / "raw.bin")
    np.testing.assert_array_equal(load_friends(root)["s01e01a"][0], RUN)


# ---------------------------------------------------------------- other readers
def test_metadata_readers_check_links_too(tmp_path):
    """``run_index`` (the truth's and the pre-flight's run lengths) applies the same checks."""
    def make(f, path):
        f[KEY] = h5py.SoftLink("/gone")

    path = _release(tmp_path, make)
    with pytest.raises(ValueError, match=f"'{KEY}' is a dangling soft link"):
        run_index(tmp_path, (1,), "friends")
    from sklearn_crossenc.jobs._preflight import protocol_lengths
    from sklearn_crossenc.jobs._protocol import RunSet

    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: '{KEY}' is a dangling"):
        protocol_lengths(tmp_path, (1, 2), [RunSet("all", "all runs", "friends")])


def test_stimulus_features_through_a_virtual_dataset_with_a_missing_source(tmp_path):
    path = tmp_path / "stimulus_features" / "features_audio.h5"
    path.parent.mkdir()
    with h5py.File(path, "w") as f:
        g = f.create_group("s01e01a")
        _vds(g, "features", "audio_part.h5")
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{path}: dataset 's01e01a/features' is a virtual dataset mapping 'x' of "
            f"'audio_part.h5', but {path.parent / 'audio_part.h5'} does not exist")):
        load_stimulus_features(tmp_path, "audio")


def test_a_compression_filter_whose_plugin_is_missing_is_named_not_corrupt(tmp_path):
    """Issue 31, defect 12: a dataset compressed with a filter this HDF5 cannot load (zstd,
    without its plugin) was reported as "corrupt file?"."""
    from h5py import h5d, h5p, h5s, h5t, h5z

    assert not h5z.filter_avail(32015)  # no zstd plugin here: the case under test

    def make(f, path):
        dcpl = h5p.create(h5p.DATASET_CREATE)
        dcpl.set_chunk((10, 6))
        dcpl.set_filter(32015, h5z.FLAG_OPTIONAL, ())  # created; the chunks say it applies
        dsid = h5d.create(f.id, KEY.encode(), h5t.IEEE_F32LE, h5s.create_simple(RUN.shape),
                          dcpl=dcpl)
        for i in range(0, RUN.shape[0], 10):
            dsid.write_direct_chunk((i, 0), RUN[i:i + 10].tobytes(), filter_mask=0)

    path = _release(tmp_path, make)
    with pytest.raises(OSError, match=re.escape(
            f"cannot read run s01e01a ({KEY}) from {path}: it is compressed with the HDF5 "
            "filter zstd (id 32015), whose plugin is not installed here (not a corrupt file): "
            "install the plugin (the common ones: pip install hdf5plugin")):
        load_friends(tmp_path)

"""A dataset described by ``dataset.toml`` (``load_dataset``): the format, every problem
named (several in one message), the runs read back exactly, the protocol built from it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from sklearn_crossenc import load_dataset
from sklearn_crossenc.data import subject_label
from sklearn_crossenc.data._dataset import MIN_EVAL_RUNS
from sklearn_crossenc.data._describe import write_dataset

KEYS = ("r1", "r2", "r3", "r4", "r5", "r6", "r7")


def _runs(n_subjects=3, n_times=40, n_parcels=5, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=(n_subjects, n_times, n_parcels)).astype(np.float32)
            for k in KEYS}  # (S, T, C)


@pytest.fixture
def described(tmp_path):
    runs = _runs()
    path = write_dataset(tmp_path / "ds", runs, ["01", "02", "03"], train=KEYS[:3],
                         evaluate={"heldout": KEYS[3:6]}, repeats={"r6": ["r6", "r7"]},
                         tr=2.0, name="demo")
    return path, runs


def _problems(path) -> str:
    with pytest.raises(ValueError) as info:
        load_dataset(path)
    return str(info.value)


def test_description_and_runs_read_back(described):
    path, runs = described
    desc = load_dataset(path)
    assert (desc.name, desc.tr, desc.included, desc.n_parcels) == ("demo", 2.0,
                                                                    ("01", "02", "03"), 5)
    assert desc.train == KEYS[:3] and desc.evaluate == {"heldout": KEYS[3:6]}
    assert desc.repeats == {"r6": ("r6", "r7")} and desc.atlas is None
    got = desc.load_runs(["r4", "r2"], subjects=["03", "01"])
    assert list(got) == ["r4", "r2"]
    np.testing.assert_array_equal(got["r4"], runs["r4"][[2, 0]])  # (S, T, C), given order
    assert desc.lengths["02"] == {k: 40 for k in KEYS}


def test_subject_label():
    assert [subject_label(s) for s in (1, 5, "07", "pilot")] == [
        "sub-01", "sub-05", "sub-07", "sub-pilot"]


def test_min_eval_runs_is_the_evaluations_rule():
    from sklearn_crossenc.evaluation._bootstrap import MIN_RUNS

    assert MIN_EVAL_RUNS == MIN_RUNS


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_every_problem_is_named_in_one_message(described):
    path, _ = described
    _edit(path, 'name = "demo"', 'name = "demo"\ntr_s = 3')                # a typo'd key
    _edit(path, "[runs.evaluate]", '[runz]\nx = 1\n[runs.evaluate]')        # unknown table
    _edit(path, '"03" = "sub-03.h5"', '"03" = "sub-03.h5"\n"04" = "sub-04.h5"')  # no file
    _edit(path, 'train = ["r1", "r2", "r3"]', 'train = ["r1", "r2", "r3", "r4", "r9"]')
    msg = _problems(path)
    assert "unknown key dataset.tr_s (did you mean 'tr'?)" in msg
    assert "unknown table [runz]" in msg
    assert "subjects.04 = 'sub-04.h5'" in msg and "not found" in msg
    assert "r4 are in runs.train and in runs.evaluate.heldout" in msg
    assert "sub-01 (sub-01.h5) lacks run(s) r9" in msg and "sub-03 (sub-03.h5) lacks" in msg
    assert "problem(s)" in msg and msg.count("\n  - ") == 7  # one line each, all at once


@pytest.mark.parametrize("old, new, expected", [
    ("tr = 2.0", "tr = -1", "dataset.tr must be the repetition time in seconds (> 0); got -1"),
    ("tr = 2.0", 'tr = "2"', "dataset.tr must be"),
    ('name = "demo"', "name = 3", "dataset.name must be a non-empty string"),
    ('"heldout" = ["r4", "r5", "r6"]', 'heldout = ["r4", "r5"]',
     "runs.evaluate.heldout has 2 run(s)"),
    ('"heldout" = ["r4", "r5", "r6"]', 'heldout = ["r4", "r5", "r5", "r6"]',
     "runs.evaluate.heldout lists r5 more than once"),
    ('"heldout" = ["r4", "r5", "r6"]', "", "[runs.evaluate] needs at least one named evaluation"),
    ('"r6" = ["r6", "r7"]', '"r6" = ["r6"]', "runs.repeats.r6 must name 2 different runs"),
    ('"02" = "sub-02.h5"', '"02" = "../sub-02.h5"', "is outside the dataset's folder"),
    ('"02" = "sub-02.h5"', '"0-2" = "sub-02.h5"', "subject label '0-2' must be letters"),
    ('name = "demo"', 'name = "demo"\nexclude = ["02", "03"]', "needs at least 2 subjects"),
    ('name = "demo"', 'name = "demo"\nexclude = ["09"]', "dataset.exclude names 09"),
    ("[runs.evaluate]", '[atlas]\nlabels_img = "atlas.nii.gz"\n[runs.evaluate]',
     "atlas.labels_img = 'atlas.nii.gz'"),
    ('train = ["r1"', 'train = ["r1', "is not valid TOML"),
    ('name = "demo"', 'name = "demo"\nname = "again"', "a key written twice is an error"),
])
def test_each_problem_is_named(described, old, new, expected):
    path, _ = described
    _edit(path, old, new)
    assert expected in _problems(path)


def test_excluded_subject_is_not_read(described):
    path, _ = described
    (path.parent / "sub-03.h5").write_bytes(b"not hdf5")
    assert "sub-03" in _problems(path)
    _edit(path, 'name = "demo"', 'name = "demo"\nexclude = ["03"]')
    assert load_dataset(path).included == ("01", "02")


def _rewrite(path, subject, key, value):
    with h5py.File(path.parent / f"sub-{subject}.h5", "a") as f:
        del f[key]
        f[key] = value


@pytest.mark.parametrize("value, expected", [
    (np.zeros((40, 6), np.float32), "parcel counts differ between runs (5 parcels: "),
    (np.zeros((30, 5), np.float32), "run r2 has sub-01 40, sub-02 30, sub-03 40 time points"),
    (np.zeros((40,), np.float32), "has shape (40,); expected 2-D (time, parcels)"),
    (np.array([[b"a"] * 5] * 40), "expected numbers"),
])
def test_file_contents_are_checked(described, value, expected):
    path, _ = described
    _rewrite(path, "02", "r2", value)
    assert expected in _problems(path)


def test_non_finite_values_are_all_named(described):
    path, runs = described
    for subject, key in (("01", "r1"), ("03", "r5")):
        x = runs[key][int(subject) - 1].copy()
        x[3, 2] = np.nan
        _rewrite(path, subject, key, x)
    msg = _problems(path)
    assert "sub-01 run 'r1' (sub-01.h5) holds 1 NaN or Inf" in msg
    assert "sub-03 run 'r5' (sub-03.h5) holds 1 NaN or Inf" in msg
    desc = load_dataset(path, check_values=False)  # metadata only: the jobs read them later
    with pytest.raises(ValueError, match="sub-03 run 'r5'"):
        desc.load_runs(["r5"])


def test_a_link_out_of_the_folder_is_refused(described, tmp_path):
    path, runs = described
    with h5py.File(tmp_path / "outside.h5", "w") as f:
        f["r1"] = runs["r1"][0]
    with h5py.File(path.parent / "sub-01.h5", "a") as f:
        del f["r1"]
        f["r1"] = h5py.ExternalLink(str(tmp_path / "outside.h5"), "r1")
    assert "outside" in _problems(path)


def test_missing_description(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset description .* does not exist"):
        load_dataset(tmp_path / "nope.toml")


# ---------------------------------------------------------------------------- [features]
MODS = ("visual", "audio", "language")


@pytest.fixture
def featured(tmp_path):
    runs = _runs()
    rng = np.random.default_rng(1)
    feats = {m: {k: rng.normal(size=(40, 3)).astype(np.float32) for k in KEYS} for m in MODS}
    path = write_dataset(tmp_path / "ds", runs, ["01", "02", "03"], train=KEYS[:3],
                         evaluate={"heldout": KEYS[3:6]}, repeats={"r6": ["r6", "r7"]},
                         tr=2.0, name="demo", features=feats)
    return path, feats


def _features_file(path, modality):
    return path.parent / f"features-{modality}.h5"


def test_features_read_back(featured):
    path, feats = featured
    desc = load_dataset(path)
    assert list(desc.features) == list(MODS)
    assert desc.feature_rows["audio"] == {k: 40 for k in KEYS}
    got = desc.stimulus_features(["r5", "r1"], ("language",))
    assert list(got) == ["language"] and list(got["language"]) == ["r5", "r1"]
    np.testing.assert_array_equal(got["language"]["r5"], feats["language"]["r5"])


def test_every_features_problem_is_named_in_one_message(featured, tmp_path):
    path, feats = featured
    _edit(path, 'visual = "features-visual.h5"', 'visual = "../features-visual.h5"\n'
          'visaul = "v.h5"')                                                  # outside, typo
    _edit(path, 'language = "features-language.h5"', 'language = "missing.h5"')  # no file
    with h5py.File(_features_file(path, "audio"), "a") as f:
        del f["r2"]                                                           # a run missing
        del f["r4"]
        f["r4"] = np.zeros(40, np.float32)                                    # not 2-D
        del f["r5"]
        f["r5"] = np.array([[b"a"] * 3] * 40)                                 # not numbers
    msg = _problems(path)
    assert "features.visual = '../features-visual.h5' is outside the dataset's folder" in msg
    assert "unknown key features.visaul (did you mean 'visual'?)" in msg
    assert "features.language = 'missing.h5'" in msg and "not found" in msg
    assert "features.audio (features-audio.h5) lacks run(s) r2" in msg
    assert "dataset 'r4' has shape (40,); expected 2-D (time, dims)" in msg
    assert "dataset 'r5' has dtype |S1; expected numbers" in msg
    assert msg.count("\n  - ") == 6


def test_features_must_be_finite_and_may_name_some_modalities(featured):
    path, feats = featured
    x = feats["visual"]["r6"].copy()
    x[0, 0], x[5, 1] = np.inf, np.nan
    with h5py.File(_features_file(path, "visual"), "a") as f:
        del f["r6"]
        f["r6"] = x
    assert "features.visual run 'r6' (features-visual.h5) holds 2 NaN or Inf" in \
        _problems(path)
    desc = load_dataset(path, check_values=False)  # the jobs read the values later
    with pytest.raises(ValueError, match="features.visual run 'r6'"):
        desc.stimulus_features(["r6"])
    _edit(path, 'audio = "features-audio.h5"\n', "")
    with h5py.File(_features_file(path, "visual"), "a") as f:
        del f["r6"]
        f["r6"] = feats["visual"]["r6"]
    desc = load_dataset(path)  # visual and language: FeatureRidge fits on those two
    assert desc.modalities == ("visual", "language") and list(desc.features) == [
        "visual", "language"]


def test_a_features_link_out_of_the_folder_is_refused(featured, tmp_path):
    path, feats = featured
    with h5py.File(tmp_path / "outside.h5", "w") as f:
        f["r1"] = feats["visual"]["r1"]
    with h5py.File(_features_file(path, "visual"), "a") as f:
        del f["r1"]
        f["r1"] = h5py.ExternalLink(str(tmp_path / "outside.h5"), "r1")
    msg = _problems(path)
    assert "features.visual:" in msg and "outside the data folder" in msg

"""crossenc extract: fMRIPrep-like derivatives made by the package, extracted and checked
against the parcel means the generator put in."""

import sys
import warnings

import h5py
import numpy as np
import pytest

pytest.importorskip("nilearn", reason="extraction needs nilearn (the 'plot' extra)")

from sklearn_crossenc.cli import main  # noqa: E402
from sklearn_crossenc.data._extract import extract_parcels  # noqa: E402
from sklearn_crossenc.data._fmriprep import (  # noqa: E402
    MOTION,
    TISSUE,
    find_runs,
    make_fmriprep_like,
)


@pytest.fixture(scope="module")
def derivatives(tmp_path_factory):
    root = tmp_path_factory.mktemp("fmriprep") / "derivatives"
    return root, make_fmriprep_like(root, n_subjects=3, n_runs=2)


def _r(a, b):
    return np.array([np.corrcoef(a[:, p], b[:, p])[0, 1] for p in range(a.shape[1])])


def test_plain_means_equal_the_generators_parcel_means(derivatives):
    root, truth = derivatives
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nilearn's deprecations are handled, not shown
        got = extract_parcels(root, truth["atlas"], "movie", confounds="none")
    assert got["runs"] == ["task-movie_run-1", "task-movie_run-2"]
    assert sorted(got["series"]) == ["01", "02", "03"] and got["tr"] == 2.0
    for subject, runs in truth["means"].items():
        for key, means in runs.items():
            out = got["series"][subject][key]
            assert out.shape == means.shape == (80, 6)
            assert _r(out, means).min() >= 0.99
            np.testing.assert_allclose(out, means, rtol=1e-5)  # offsets kept: nothing done


def test_a_preset_regresses_its_confounds_out(derivatives):
    root, truth = derivatives
    got = extract_parcels(root, truth["atlas"], "movie", confounds="motion-wm-csf")
    for run in find_runs(root, "movie"):
        rows = np.loadtxt(run.confounds, skiprows=1, delimiter="\t")
        design = np.column_stack([np.ones(len(rows)), rows])  # motion, white matter, csf
        means = truth["means"][run.subject][run.key]
        expected = means - design @ np.linalg.lstsq(design, means, rcond=None)[0]
        out = got["series"][run.subject][run.key]
        # nilearn keeps each parcel's mean; the rest is the least-squares residual
        np.testing.assert_allclose(out - out.mean(0), expected, atol=1e-3)
        signal = truth["signals"][run.subject][run.key]
        assert _r(out, signal).min() > _r(means, signal).max()


def test_run_keys_are_the_entities_but_sub_space_and_desc(derivatives):
    root, _ = derivatives
    runs = find_runs(root, "movie")
    assert [(r.subject, r.key) for r in runs][:2] == [("01", "task-movie_run-1"),
                                                     ("01", "task-movie_run-2")]
    assert runs[0].confounds.name == "sub-01_task-movie_run-1_desc-confounds_timeseries.tsv"


def test_bad_inputs_are_named(derivatives, tmp_path):
    root, truth = derivatives
    with pytest.raises(ValueError, match=r"no .*run of task 'rest' under .*found tasks \['movie'\]"):
        find_runs(root, "rest")
    with pytest.raises(ValueError, match="confounds must be one of none, motion"):
        extract_parcels(root, truth["atlas"], "movie", confounds="aggressive")
    with pytest.raises(FileNotFoundError, match="atlas .*nope.nii.gz does not exist"):
        extract_parcels(root, tmp_path / "nope.nii.gz", "movie")
    conf = find_runs(root, "movie")[0].confounds
    saved = conf.read_text()
    conf.write_text(saved.replace("white_matter", "wm"))
    try:
        with pytest.raises(ValueError, match="lacks the column.*white_matter"):
            extract_parcels(root, truth["atlas"], "movie", confounds="motion-wm-csf")
        conf.unlink()
        with pytest.raises(FileNotFoundError, match="sub-01 run task-movie_run-1: confounds"):
            extract_parcels(root, truth["atlas"], "movie", confounds="motion")
        assert extract_parcels(root, truth["atlas"], "movie")["runs"]  # none needs no file
    finally:
        conf.write_text(saved)


def test_command_writes_the_files_and_a_dataset_toml(derivatives, tmp_path, capsys):
    root, truth = derivatives
    out = tmp_path / "out"
    assert main(["extract", str(root), "--atlas", str(truth["atlas"]), "--task", "movie",
                 "--out", str(out), "--quiet"]) == 0
    assert "2 runs of 3 subjects x 6 parcels written" in capsys.readouterr().out
    with h5py.File(out / "sub-02.h5") as f:
        np.testing.assert_allclose(f["task-movie_run-2"][()], truth["means"]["02"][
            "task-movie_run-2"], rtol=1e-5)
    if sys.version_info >= (3, 11):
        import tomllib

        doc = tomllib.loads((out / "dataset.toml").read_text())
        assert doc["subjects"] == {"01": "sub-01.h5", "02": "sub-02.h5", "03": "sub-03.h5"}
        assert doc["runs"]["train"] == ["task-movie_run-1", "task-movie_run-2"]
        assert doc["dataset"]["tr"] == 2.0 and doc["extraction"]["standardize"] is False
        assert doc["extraction"]["confound_columns"] == []
    assert main(["extract", str(root), "--atlas", str(truth["atlas"]), "--task", "movie",
                 "--out", str(root / "inside"), "--quiet"]) == 1
    assert "inside the data folder" in capsys.readouterr().err


def test_presets_name_fmriprep_columns():
    assert MOTION == ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
    assert TISSUE == ("white_matter", "csf")


# ---------------------------------------------------------------------------- CIFTI


def test_cifti_plain_means_equal_the_generators_parcel_means(derivatives):
    root, truth = derivatives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = extract_parcels(root, truth["cifti_atlas"], "movie", confounds="none")
    assert got["runs"] == ["task-movie_run-1", "task-movie_run-2"]  # den- left out of keys
    assert got["labels"] == [1, 2, 3, 4, 5, 6] and got["tr"] == 2.0
    for subject, runs in truth["means"].items():
        for key, means in runs.items():
            out = got["series"][subject][key]
            assert _r(out, means).min() >= 0.99
            np.testing.assert_allclose(out, means, rtol=1e-5)


def test_a_cifti_preset_is_the_volumes_preset(derivatives):
    """The same runs as volumes and as grayordinates, one preset: one answer (the CIFTI
    path applies to its parcel means what NiftiLabelsMasker applies to its own)."""
    root, truth = derivatives
    for preset in ("motion-wm-csf", "motion-wm-csf-hp"):
        vol = extract_parcels(root, truth["atlas"], "movie", confounds=preset)
        surf = extract_parcels(root, truth["cifti_atlas"], "movie", confounds=preset)
        for subject, runs in vol["series"].items():
            for key, values in runs.items():
                np.testing.assert_allclose(surf["series"][subject][key], values, atol=2e-4)
                assert not np.allclose(values, truth["means"][subject][key], atol=1e-2)


def test_cifti_inputs_are_checked(derivatives, tmp_path):
    import nibabel as nib

    root, truth = derivatives
    other = tmp_path / "other.dlabel.nii"
    img = nib.load(str(truth["cifti_atlas"]))
    models = img.header.get_axis(1)
    fewer = nib.cifti2.BrainModelAxis.from_mask(np.ones(len(models) - 1, bool),
                                                name="CortexLeft")
    nib.Cifti2Image(np.asarray(img.get_fdata())[:, :-1],
                    header=(img.header.get_axis(0), fewer)).to_filename(str(other))
    with pytest.raises(ValueError, match="and the atlas are on different grayordinates"):
        extract_parcels(root, other, "movie")
    not_cifti = tmp_path / "labels.dlabel.nii"
    nib.Nifti1Image(np.ones((2, 2, 2), np.int16), np.eye(4)).to_filename(str(not_cifti))
    with pytest.raises(ValueError, match="labels.dlabel.nii is not a CIFTI-2 file"):
        extract_parcels(root, not_cifti, "movie")
    with pytest.raises(ValueError, match=r"no \*_bold.dtseries.nii run of task 'rest'"):
        extract_parcels(root, truth["cifti_atlas"], "rest")


def test_the_command_extracts_cifti_runs(derivatives, tmp_path, capsys):
    root, truth = derivatives
    out = tmp_path / "out"
    assert main(["extract", str(root), "--atlas", str(truth["cifti_atlas"]), "--task", "movie",
                 "--out", str(out), "--quiet"]) == 0
    with h5py.File(out / "sub-03.h5") as f:
        np.testing.assert_allclose(f["task-movie_run-1"][()], truth["means"]["03"][
            "task-movie_run-1"], rtol=1e-5)
    text = (out / "report.md").read_text()
    assert "CIFTI-2" in text and "resampled" not in text

"""Pre-flight of what a command will need later (issue 20, items 4 and 6): the atlas the
brain maps are drawn on, and every grid candidate against the runs of each of its fits.

Every estimator's ``fit`` is replaced by one that fails the test: each error must come
before the first fit, as one line, exit 1, with nothing written.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from sklearn_crossenc.cli import main
from sklearn_crossenc.data._paths import atlas_path
from sklearn_crossenc.jobs._preflight import preflight_comparison
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
from sklearn_crossenc.jobs._registry import resolve_models

nib = pytest.importorskip("nibabel", reason="needs the 'plot' extra (nibabel)")

GRID = ["grid", "--quick", "--cv", "2"]


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


def refused(argv, data, runs, capsys) -> str:
    """Run ``argv`` into ``runs/out``: exit 1, one line, nothing written; the line."""
    rc = main([*argv, "--data-dir", str(data), "--out", str(runs / "out")])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"crossenc {argv[0]}: error: ")
    assert list(runs.iterdir()) == []  # no --out, no lock, no private folder
    return lines[0]


def labels_image(n_labels: int, dtype=np.int16) -> nib.Nifti1Image:
    data = np.arange(n_labels + 1, dtype=dtype).reshape(1, 1, -1)  # 0 and 1..n
    return nib.Nifti1Image(data, np.eye(4))


# ------------------------------------------------------------------ the atlas (item 4)


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def _npy(path: Path) -> None:
    with open(path, "wb") as f:
        np.save(f, np.arange(48))


def _pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"labels": list(range(48))}))


def _gzip_of_text(path: Path) -> None:
    import gzip

    path.write_bytes(gzip.compress(b"not an image at all"))


@pytest.mark.parametrize("spoil", [_random_bytes, _npy, _pickle, _gzip_of_text],
                         ids=["random-bytes", "npy-renamed", "pkl-renamed", "gzip-of-text"])
def test_a_release_atlas_that_is_not_nifti_is_refused_before_any_fit(
        no_fit, data_copy, runs, capsys, spoil):
    path = atlas_path(data_copy, 1)
    spoil(path)
    line = refused(["compare", "--quick", "--models", "mean"], data_copy, runs, capsys)
    assert f"atlas {path} is not a readable NIfTI parcellation (" in line
    assert line.endswith("brain maps need a 3-D image of integer labels (.nii or .nii.gz).")


@pytest.mark.parametrize("image, message", [
    (lambda: labels_image(47), "has labels 1 to 47 (47 parcels) but the data has 48 parcels "
                               "(column i is label i + 1)"),
    (lambda: labels_image(60), "has labels 1 to 60 (60 parcels) but the data has 48 parcels"),
    (lambda: nib.Nifti1Image(np.full((2, 2, 2), 0.5, np.float32), np.eye(4)),
     "holds non-integer values (dtype float32)"),
    (lambda: nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4)), "holds no parcel"),
    (lambda: nib.Nifti1Image(np.ones((2, 2, 2, 2), np.int16), np.eye(4)),
     "has shape (2, 2, 2, 2)"),
    (lambda: nib.Nifti1Image(-np.ones((2, 2, 2), np.int16), np.eye(4)), "has labels from -1 to -1"),
], ids=["47-labels", "60-labels", "float-labels", "background-only", "4-D", "negative"])
def test_a_release_atlas_that_does_not_fit_the_data_is_refused_before_any_fit(
        no_fit, data_copy, runs, capsys, image, message):
    path = atlas_path(data_copy, 1)
    nib.save(image(), str(path))
    line = refused(["compare", "--quick", "--models", "mean"], data_copy, runs, capsys)
    assert f"atlas {path} {message}" in line, line


@pytest.mark.parametrize("spoil", [_random_bytes, _npy, _pickle], ids=["random", "npy", "pkl"])
def test_an_atlas_option_that_is_not_nifti_is_refused_before_the_data_is_read(
        no_fit, synthetic_root, tmp_path, runs, capsys, spoil):
    path = tmp_path / "atlas.nii.gz"
    spoil(path)
    line = refused(["compare", "--quick", "--models", "mean", "--atlas", str(path)],
                   synthetic_root, runs, capsys)
    assert f"atlas {path} is not a readable NIfTI parcellation" in line


def test_the_comparison_preflight_checks_a_given_atlas_against_the_parcels(synthetic_root,
                                                                          tmp_path):
    path = tmp_path / "atlas.nii.gz"
    nib.save(labels_image(47), str(path))
    with pytest.raises(ValueError, match="has labels 1 to 47 .* but the data has 48 parcels"):
        preflight_comparison(synthetic_root, SEED_PROTOCOL, resolve_models(["mean"]), 0, None,
                             0, atlas=path)
    nib.save(labels_image(48), str(path))
    preflight_comparison(synthetic_root, SEED_PROTOCOL, resolve_models(["mean"]), 0, None, 0,
                         atlas=path)


def test_an_atlas_option_with_the_wrong_label_count_is_refused_before_any_fit(
        no_fit, synthetic_root, tmp_path, runs, capsys):
    path = tmp_path / "atlas.nii.gz"
    nib.save(labels_image(47), str(path))
    line = refused(["compare", "--quick", "--models", "mean", "--atlas", str(path)],
                   synthetic_root, runs, capsys)
    assert "has labels 1 to 47 (47 parcels) but the data has 48 parcels" in line


def test_a_good_atlas_passes_and_is_read_once(tmp_path):
    from sklearn_crossenc.jobs import _preflight
    from sklearn_crossenc.jobs._preflight import check_atlas

    path = tmp_path / "atlas.nii.gz"
    nib.save(labels_image(48), str(path))
    _preflight._atlas_labels.cache_clear()
    check_atlas(path)
    check_atlas(path, 48)
    assert _preflight._atlas_labels.cache_info().misses == 1


# ------------------------------------------------------------------ grid candidates (item 6)


@pytest.mark.parametrize("param, message", [
    ("validation=1.5", "grid candidate {'validation': 1.5}: CrossSubjectEncoder: validation "
                       "must be None or a number in (0, 1) or an object with split() or "
                       "episodes; got 1.5."),
    ("sample_length=16,100000", "grid candidate {'sample_length': 100000}: sample_length=100000 "
                                "is longer than the shortest training run of fold 1 of 2, "),
    ("validation=0.01", "grid candidate {'validation': 0.01}, fold 1 of 2: validation=0.01 of "),
    ("validation=0.99", "grid candidate {'validation': 0.99}, fold 1 of 2: validation=0.99 of "),
    ("optimizer=nosuch", "grid candidate {'optimizer': 'nosuch'}: optimizer must be None, a "
                         "torch.optim optimizer class or the name of one ("),
    ("batch_size=16,0", "grid candidate {'batch_size': 0}: CrossSubjectEncoder: batch_size "
                        "must be an integer >= 1; got 0."),
    ("samples_per_epoch=-1", "samples_per_epoch must be an integer >= 1; got -1."),
], ids=["validation-1.5", "sample-length", "hold-out-empty", "hold-out-everything",
        "optimizer-nosuch", "batch-size", "samples-per-epoch"])
def test_every_grid_candidate_is_checked_before_the_first_fit(no_fit, synthetic_root, runs,
                                                              capsys, param, message):
    line = refused([*GRID, "--param", param], synthetic_root, runs, capsys)
    assert message in line, line


def test_sample_length_is_checked_against_the_shortest_training_run_of_every_fold(
        no_fit, synthetic_root, runs, capsys):
    from sklearn_crossenc.jobs._preflight import protocol_lengths

    lengths = protocol_lengths(synthetic_root, SEED_PROTOCOL.subjects,
                               [SEED_PROTOCOL.train])[SEED_PROTOCOL.train.key]
    shortest = min(lengths.values())
    line = refused([*GRID, "--param", f"sample_length={shortest + 1}"], synthetic_root, runs,
                   capsys)
    assert f"({shortest} time points); give sample_length={shortest} or less." in line
    from sklearn_crossenc.jobs._preflight import preflight_grid
    from sklearn_crossenc.jobs._registry import encoder_params

    def base(n):
        return encoder_params(quick=True, min_train_length=n)

    for split in ("season", "kfold"):  # the shortest run itself is a clip: no error
        preflight_grid(synthetic_root, SEED_PROTOCOL.train, SEED_PROTOCOL.subjects,
                       param_grid={"sample_length": [shortest]}, base_params=base, cv=2,
                       split=split, refit=True)


def test_the_refit_is_checked_too(no_fit, synthetic_root, runs, capsys):
    """validation=0.05 of a fold's runs may pass where the refit's would not, and the
    reverse: every fit of the search is checked, the refit's included."""
    from sklearn_crossenc.jobs._preflight import grid_folds, protocol_lengths

    lengths = protocol_lengths(synthetic_root, SEED_PROTOCOL.subjects,
                               [SEED_PROTOCOL.train])[SEED_PROTOCOL.train.key]
    folds = grid_folds(lengths, 2, "season", refit=True)
    assert [name for name, _ in folds] == ["fold 1 of 2", "fold 2 of 2",
                                           "the refit on every searched run"]
    assert sorted(folds[-1][1]) == sorted(lengths)
    assert all(len(r) < len(lengths) for _, r in folds[:2])


def test_optimizer_by_name_runs_end_to_end(synthetic_root, runs, capsys):
    import joblib
    import torch

    out = runs / "out"
    argv = [*GRID, "--quiet", "--refit", "--param", "optimizer=sgd,adamw",
            "--param", "embed_dim=2", "--data-dir", str(synthetic_root), "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    est = joblib.load(out / "best_estimator.joblib")
    kinds = {"sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}
    assert type(est.net_.optimizer_) is kinds[est.optimizer]
    assert "sgd" in (out / "grid_results.csv").read_text()

"""Pre-flight: each class of configuration error is raised before any fit starts.

Every estimator's ``fit`` is replaced by one that fails the test, so an error raised
only after training began (what these cases did before pre-flight) fails here.
"""

from __future__ import annotations

import h5py
import pytest

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.cli import main
from sklearn_crossenc.data._paths import features_path, friends_path
from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.jobs.grid import run_grid_search


def test_output_folder_that_cannot_be_created_fails_before_any_fit(
        no_fit, synthetic_root, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "report"
    rc = main(["compare", "--quick", "--data-dir", str(synthetic_root), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and f"output folder {out} cannot be created or written to" in err
    assert len(err.splitlines()) == 1


def test_failed_run_removes_the_output_folder_it_created(no_fit, synthetic_root, tmp_path,
                                                         capsys):
    out = tmp_path / "new" / "out"
    rc = main(["compare", "--quick", "--trim", "1000", "--models", "mean",
               "--data-dir", str(synthetic_root), "--out", str(out)])
    assert rc == 1 and "--trim 1000" in capsys.readouterr().err
    assert not out.exists()


def test_trim_longer_than_the_shortest_evaluation_run(no_fit, synthetic_root):
    with pytest.raises(ValueError, match=r"--trim 40 leaves fewer than 2 time points of the "
                       r"shortest \w+ run \w+ \((\d+) TRs\); use --trim \d+ or less"):
        run_comparison(synthetic_root, models=["ridge", "mean"], trim=40, quick=True)


@pytest.mark.parametrize("modality", ["visual", "audio", "language"])
def test_feature_file_missing_for_one_modality(no_fit, data_copy, modality):
    features_path(data_copy, modality).unlink()
    with pytest.raises(FileNotFoundError, match=f"no {modality} stimulus features"):
        run_comparison(data_copy, models=["ridge", "feature"], quick=True)


def test_features_missing_for_one_run(no_fit, data_copy):
    with h5py.File(features_path(data_copy, "language"), "a") as f:
        del f["s06e15a"]
    with pytest.raises(ValueError, match=r"features_language.h5 has no language features for 1 "
                       r"run\(s\) FeatureRidge needs: \['s06e15a'\]"):
        run_comparison(data_copy, models=["ridge", "feature"], quick=True)


def test_duplicate_run_in_a_file(no_fit, data_copy):
    with h5py.File(friends_path(data_copy, 3), "a") as f:
        f["ses-099_task-s01e02a"] = f[next(k for k in f if k.endswith("task-s01e02a"))][()]
    with pytest.raises(ValueError, match="run s01e02a is stored twice"):
        run_comparison(data_copy, models=["ridge"], quick=True)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_threads": 0}, "--threads must be a positive integer; got 0"),
    ({"random_state": -1}, "random_state must be None, an integer in"),
    ({"random_state": "abc"}, "random_state must be None, an integer in"),
])
def test_bad_options_of_compare(no_fit, synthetic_root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_comparison(synthetic_root, models=["ridge", "encoder"], quick=True, **kwargs)


@pytest.mark.parametrize("grid, match", [
    ({"callbacks": ["progress"]}, "--param callbacks must be None or a list of skorch"),
    ({"random_state": [0, -3]}, "--param random_state must be None, an integer"),
    ({"embed_dim": [32, 0]}, r"grid candidate \{'embed_dim': 0\}: CrossSubjectEncoder: "
                             r"embed_dim must be an integer >= 1; got 0"),
])
def test_bad_grid_candidates(no_fit, synthetic_root, grid, match):
    with pytest.raises(ValueError, match=match):
        run_grid_search(synthetic_root, param_grid=grid, cv=2, quick=True, device="cpu")


def test_grid_callbacks_from_the_command_line_is_one_line(no_fit, synthetic_root, tmp_path,
                                                          capsys):
    rc = main(["grid", "--quick", "--data-dir", str(synthetic_root), "--out",
               str(tmp_path / "o"), "--param", "callbacks=progress", "--cv", "2"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.splitlines()) == 1
    assert "callbacks must be None or a list of skorch callbacks" in err


def test_estimator_names_bad_random_state_and_callbacks():
    import numpy as np

    X = np.zeros((2, 2, 40, 4), np.float32)
    with pytest.raises(ValueError, match="random_state must be None, an integer"):
        CrossSubjectEncoder(random_state=-1).fit(X)
    with pytest.raises(ValueError, match="callbacks must be None or a list of skorch"):
        CrossSubjectEncoder(callbacks="progress").fit(X)

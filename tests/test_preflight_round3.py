"""Issue 31's pre-flight defects: each refused before the first fit with one clear message.

Every test runs with ``no_fit`` (every estimator's ``fit`` fails the test), so a check that
comes after the first fit fails here.
"""

from __future__ import annotations

import re

import h5py
import numpy as np
import pytest

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.cli import main
from sklearn_crossenc.data._paths import features_path, friends_path
from sklearn_crossenc.data._synthetic import TRUTH_FILE
from sklearn_crossenc.jobs.compare import run_comparison

GRID = ["grid", "--quick", "--quiet", "--cv", "2", "--split", "kfold", "--seasons", "1",
        "--param", "embed_dim=2"]


def _one_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"crossenc {command}: error: "), err
    return lines[0]


def _length(root, subject: int, run: str) -> int:
    with h5py.File(friends_path(root, subject), "r") as f:
        return next(f[k].shape[0] for k in f if k.endswith(f"task-{run}"))


def test_features_much_shorter_than_the_run_are_refused(no_fit, data_copy):
    """Defect 2: a run's features cut to 2 rows were clipped into a design, exit 0."""
    path = features_path(data_copy, "visual")
    with h5py.File(path, "a") as f:
        obj = f["s06e01a"]
        key = "s06e01a/features" if isinstance(obj, h5py.Group) else "s06e01a"
        short = f[key][:2]
        del f[key]
        f[key] = short
    n_times = min(_length(data_copy, s, "s06e01a") for s in (1, 2, 3, 5))  # its shortest
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: the visual features of run s06e01a (s06e01a) have 2 chunks but the run "
            f"has {n_times} TRs of fMRI; FeatureRidge needs at least {n_times - 3}")):
        run_comparison(data_copy, models=["feature", "mean"], quick=True)


def test_a_nan_in_the_ground_truth_is_refused_not_a_nan_ceiling(no_fit, data_copy):
    """Defect 3: a NaN in truth.h5 gave an oracle ceiling of nan in the table, exit 0."""
    with h5py.File(data_copy / TRUTH_FILE, "r+") as f:
        w = f["subjects/sub-01/weights"]
        w[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"truth.h5: dataset 'subjects/sub-01/weights' holds 1 "
                                         r"NaN or Inf values"):
        run_comparison(data_copy, models=["mean"], quick=True)


def test_an_evaluation_set_of_fewer_than_3_runs_is_refused_before_any_fit(no_fit, data_copy,
                                                                          capsys):
    """Defect 5: refused after every model was trained (33 s), without naming the set."""
    with h5py.File(friends_path(data_copy, 2), "a") as f:
        for k in sorted(k for k in f if "task-s06" in k)[2:]:
            del f[k]
    rc = main(["compare", "--quick", "--models", "mean", "--data-dir", str(data_copy),
               "--out", str(data_copy.parent / "out")])
    line = _one_line(capsys.readouterr().err, "compare")
    assert rc == 1
    assert re.search(r"the friends_s6 evaluation set has 2 run\(s\) present for every subject "
                     r"\(s06e\w+, s06e\w+\); its intervals resample runs and need at least 3",
                     line), line


def test_grid_trim_is_checked_before_the_first_fit(no_fit, synthetic_root, tmp_path, capsys):
    """Defect 6: checked after the first fit, with an internal message."""
    rc = main([*GRID, "--trim", "1000", "--data-dir", str(synthetic_root),
               "--out", str(tmp_path / "out")])
    line = _one_line(capsys.readouterr().err, "grid")
    assert rc == 1
    assert re.search(r"--trim 1000 leaves fewer than 2 time points of the shortest \w+ run "
                     r"\w+ \(\d+ TRs\); use --trim \d+ or less", line), line
    assert not (tmp_path / "out").exists()


def test_validation_given_as_text_is_a_parameter_error(no_fit, synthetic_root, tmp_path,
                                                       capsys):
    """Defect 10: ``validation='abc'`` passed for a splitter (str has .split): a TypeError."""
    with pytest.raises(ValueError, match=r"CrossSubjectEncoder: validation must be None or a "
                                         r"number in \(0, 1\) or an object with split\(\) or "
                                         r"episodes; got 'abc'\."):
        CrossSubjectEncoder(validation="abc")._check_params()
    rc = main([*GRID[:-1], "validation=abc", "--data-dir", str(synthetic_root),
               "--out", str(tmp_path / "out")])
    line = _one_line(capsys.readouterr().err, "grid")
    assert rc == 1 and "validation must be None or a number in (0, 1)" in line


@pytest.mark.parametrize("param, match", [
    ("encoder_kernel_size=100000", r"would need about [\d.]+ GB of memory, [\d.]+ GB of it from "
                                   r"encoder_kernel_size=100000; [\d.]+ GB are available: lower "
                                   r"encoder_kernel_size\."),
    ("samples_per_epoch=1000000000000", r"of it from samples_per_epoch=1000000000000; .* lower "
                                        r"samples_per_epoch\."),
    ("n_threads=100000", r"n_threads=100000 is more than 4 threads per core of this machine"),
])
def test_settings_that_cannot_fit_are_refused_before_the_first_fit(no_fit, synthetic_root,
                                                                   tmp_path, capsys, param,
                                                                   match):
    """Defect 9: 24 GB and an OOM kill, 100 MB/s of growth, ``failed to map segment``."""
    rc = main([*GRID[:-1], param, "--data-dir", str(synthetic_root),
               "--out", str(tmp_path / "out")])
    line = _one_line(capsys.readouterr().err, "grid")
    assert rc == 1 and re.search(rf"grid candidate \{{.*\}}: CrossSubjectEncoder: .*{match}", line)


def test_the_estimator_checks_its_memory_before_training(monkeypatch):
    from sklearn_crossenc.encoder import _net

    def no_training(*args, **kwargs):
        pytest.fail("training started")

    monkeypatch.setattr(_net.CrossSubjectNet, "partial_fit", no_training)
    X = np.zeros((2, 3, 40, 5), np.float32)
    with pytest.raises(ValueError, match=r"of it from samples_per_epoch=1000000000000"):
        CrossSubjectEncoder(samples_per_epoch=10**12, sample_length=16, device="cpu").fit(X)


def test_encoder_options_without_an_encoder_are_refused(no_fit, synthetic_root, tmp_path,
                                                        capsys):
    """Debatable item: --repeats and --tune were ignored when no encoder ran, and the report
    claimed intervals over random states that no model drew."""
    with pytest.raises(ValueError, match=r"--repeats 3 trains each stochastic model \(the "
                                         r"encoder\) 3 times, but --models holds none \("
                                         r"ridge, mean\): drop --repeats, or add the encoder"):
        run_comparison(synthetic_root, models=["ridge", "mean"], quick=True, repeats=3)
    rc = main(["compare", "--quick", "--models", "ridge", "--tune", "--data-dir",
               str(synthetic_root), "--out", str(tmp_path / "out")])
    line = _one_line(capsys.readouterr().err, "compare")
    assert rc == 1 and "--tune searches the grid of a tunable model (the encoder), but " \
                       "--models holds none (ridge)" in line


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", ""])
def test_a_damaged_synthetic_marker_is_refused_not_read_as_real_data(no_fit, data_copy, text):
    """Debatable item: a corrupt synthetic.json silently turned the dataset "real" (no
    oracle ceiling, exit 0)."""
    (data_copy / "synthetic.json").write_text(text)
    with pytest.raises(ValueError, match=r"synthetic.json cannot be read \(.*\): the marker of "
                                         r"a synthetic dataset is damaged; regenerate"):
        run_comparison(data_copy, models=["mean"], quick=True)


def test_a_constant_subject_is_refused(no_fit, data_copy):
    """Debatable item: an all-zero subject was accepted and scored 0 without a word."""
    with h5py.File(friends_path(data_copy, 2), "r+") as f:
        for k in f:
            f[k][...] = 0.0
    with pytest.raises(ValueError, match=r"sub-02 is constant \(0\) in every run of Friends "
                                         r"s\d.*: no signal to predict or to predict from"):
        run_comparison(data_copy, models=["mean"], quick=True)


def test_a_run_much_shorter_for_one_subject_is_refused(no_fit, data_copy):
    """Debatable item: a run cut to its shortest subject even at 20 TRs of 89."""
    with h5py.File(friends_path(data_copy, 3), "r+") as f:
        key = next(k for k in f if k.endswith("task-s06e01a"))
        short = f[key][:20]
        del f[key]
        f[key] = short
    with pytest.raises(ValueError, match=r"run s06e01a of Friends s6 has sub-01 \d+, sub-02 \d+, "
                                         r"sub-03 20, sub-05 \d+ TRs: the loaders cut it to its "
                                         r"shortest subject, and more than 5 TRs apart"):
        run_comparison(data_copy, models=["mean"], quick=True)

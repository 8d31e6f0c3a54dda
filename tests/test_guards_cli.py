"""CLI paths that had no test: each test names the flag it guards and checks exit code + stderr.

Every test here fails before training starts (no model is fitted), so the file stays fast.
"""

from __future__ import annotations

import sys

import pytest

import sklearn_crossenc
from sklearn_crossenc.cli import main
from sklearn_crossenc.data import load_friends


def error_line(err: str, command: str) -> str:
    """The single ``crossenc COMMAND: error: ...`` line of ``err`` (no traceback)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    prefix = f"crossenc {command}: error: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix):]


@pytest.fixture
def empty_data(tmp_path):
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def test_version_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"crossenc {sklearn_crossenc.__version__}"


@pytest.mark.parametrize("cv", ["1", "0", "-3"])
def test_grid_cv_below_two_is_refused(cv, synthetic_root, tmp_path, capsys):
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o"),
            "--quiet", "--seasons", "1", "--split", "kfold", "--cv", cv]
    assert main(argv) == 1
    assert error_line(capsys.readouterr().err, "grid") == f"--cv must be at least 2; got {cv}."
    assert not (tmp_path / "o").exists()


def test_grid_more_folds_than_runs_is_refused(synthetic_root, tmp_path, capsys):
    n_runs = len(load_friends(synthetic_root, seasons=[1]))
    folds = n_runs + 1
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o"),
            "--quiet", "--seasons", "1", "--split", "kfold", "--cv", str(folds)]
    assert main(argv) == 1
    line = error_line(capsys.readouterr().err, "grid")
    assert line == f"only {n_runs} runs for --cv {folds} folds."


def test_grid_n_jobs_zero_is_refused(empty_data, tmp_path, capsys):
    argv = ["grid", "--data-dir", str(empty_data), "--out", str(tmp_path / "o"),
            "--n-jobs", "0"]
    assert main(argv) == 1
    line = error_line(capsys.readouterr().err, "grid")
    assert line == "--n-jobs must be a non-zero integer (1, N > 1, or -1 for all cores); got 0."


def test_grid_scheduler_without_distributed_names_the_extra(empty_data, tmp_path, capsys,
                                                            monkeypatch):
    # A None entry in sys.modules makes `import distributed` raise ImportError: the package
    # looks absent, as on an install without the 'distributed' extra.
    monkeypatch.setitem(sys.modules, "distributed", None)
    argv = ["grid", "--data-dir", str(empty_data), "--out", str(tmp_path / "o"),
            "--scheduler", "tcp://127.0.0.1:1"]
    assert main(argv) == 1
    line = error_line(capsys.readouterr().err, "grid")
    assert "running on a Dask cluster needs the 'distributed' package" in line
    assert "pip install 'sklearn-crossenc[distributed]'" in line


@pytest.mark.parametrize("argv, message", [
    (["compare", "--trim", "x"], "argument --trim: invalid int value: 'x'"),
    (["compare", "--threads", "two"], "argument --threads: invalid int value: 'two'"),
    (["grid", "--n-jobs", "1.5"], "argument --n-jobs: invalid int value: '1.5'"),
])
def test_non_integer_options_are_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_compare_negative_trim_is_refused(synthetic_root, tmp_path, capsys):
    argv = ["compare", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o"),
            "--models", "mean", "--quiet", "--trim", "-1"]
    assert main(argv) == 1
    assert error_line(capsys.readouterr().err, "compare") == (
        "trim must be >= 0, a whole number of time points; got -1.")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("threads", ["0", "-2"])
def test_compare_threads_below_one_is_refused_before_any_work(threads, empty_data, tmp_path,
                                                              capsys):
    # Refused up front, even for models that do not use torch and before the data is read
    # (the empty data folder would otherwise give a file-not-found error).
    argv = ["compare", "--data-dir", str(empty_data), "--out", str(tmp_path / "o"),
            "--models", "mean", "--quiet", "--threads", threads]
    assert main(argv) == 1
    line = error_line(capsys.readouterr().err, "compare")
    assert line == f"--threads must be a positive integer; got {threads}."


@pytest.mark.parametrize("command", ["compare", "grid"])
def test_missing_release_file_message_names_the_file(command, synthetic_root, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synthetic_root / "fmri", data / "fmri")
    missing = next((data / "fmri" / "sub-02" / "func").glob("*task-friends*_bold.h5"))
    missing.unlink()
    argv = [command, "--data-dir", str(data), "--out", str(tmp_path / "o"), "--quiet"]
    if command == "compare":
        argv += ["--models", "mean"]
    assert main(argv) == 1
    assert error_line(capsys.readouterr().err, command) == f"file not found: {missing}"

"""The crossenc command line: parsing, --help, one-line errors, compare/grid/synth end to end."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_crossenc.cli import build_parser, main, parse_param, parse_value
from sklearn_crossenc.report import FIGURES
from sklearn_crossenc.report._learning_curve import kernel_cell, strength_cell


def tree_digest(root: Path) -> dict:
    """Relative path -> sha256 of every file under ``root`` (and the folder listing)."""
    return {
        str(p.relative_to(root)):
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(Path(root).rglob("*"))
    }


def one_error_line(err: str, command: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"crossenc {command}: error: ")
    return lines[0]


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("command", [None, "compare", "synth", "grid", "add-subject"])
def test_help_on_every_command(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: crossenc" + ("" if command is None else f" {command}"))


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: crossenc" in capsys.readouterr().err


def test_compare_defaults():
    args = build_parser().parse_args(["compare"])
    assert args.data_dir is None
    assert args.out == Path("crossenc-compare")
    assert (args.device, args.quick, args.quiet, args.models, args.random_state, args.trim) == (
        "auto", False, False, None, 0, 0
    )
    assert args.threads is None
    assert build_parser().parse_args(["compare", "--threads", "1"]).threads == 1


def test_grid_and_synth_arguments():
    args = build_parser().parse_args(
        ["grid", "--param", "embed_dim=32,64", "--param", "encoder_kernel_size=0,7",
         "--cv", "4", "--n-jobs", "2", "--split", "kfold", "--out", "o"]
    )
    assert args.param == ["embed_dim=32,64", "encoder_kernel_size=0,7"]
    assert (args.cv, args.n_jobs, args.split, args.out) == (4, 2, "kfold", Path("o"))
    args = build_parser().parse_args(["synth", "d", "--scale", "tiny", "--data-seed", "3"])
    assert (args.out, args.scale, args.data_seed, args.overwrite) == (Path("d"), "tiny", 3, False)


@pytest.mark.parametrize("command, new", [("compare", "random_state"), ("grid", "random_state"),
                                          ("synth", "data_seed")])
def test_seed_flag_is_a_deprecated_alias(command, new, capsys):
    argv = [command] + (["d"] if command == "synth" else []) + ["--seed", "7"]
    args = build_parser().parse_args(argv)
    assert getattr(args, new) == 7
    flag = "--" + new.replace("_", "-")
    assert f"crossenc: warning: --seed is deprecated; use {flag}." in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["compare", "--models", "svm"], "invalid choice: 'svm'"),
        (["synth"], "the following arguments are required: OUT"),
        (["grid", "--cv", "three"], "invalid int value: 'three'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_parse_value_types():
    assert parse_value("128") == 128 and isinstance(parse_value("128"), int)
    assert parse_value("1e-3") == pytest.approx(1e-3)
    assert parse_value(" True ") is True
    assert parse_value("None") is None
    assert parse_value("cuda") == "cuda"
    assert parse_value("[1, 2]") == "[1, 2]"


@pytest.mark.parametrize(
    "text, message",
    [
        ("embed_dim", "not of the form NAME=V1,V2"),
        ("=1,2", "not of the form NAME=V1,V2"),
        ("embed_dim=", "gives no values for 'embed_dim'"),
        ("embed_dim=,,", "gives no values"),
        ("nosuch=1,2", "unknown parameter 'nosuch'"),
    ],
)
def test_parse_param_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_param(text, valid={"embed_dim", "lr"})


def test_parse_param_values():
    assert parse_param("lr=1e-3, 3e-4", valid={"lr"}) == ("lr", [1e-3, 3e-4])


# ---------------------------------------------------------------------------- error exits


def test_missing_data_dir(tmp_path, capsys):
    code = main(["compare", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert code == 1
    line = one_error_line(capsys.readouterr().err, "compare")
    assert "nope does not exist" in line
    assert not (tmp_path / "o").exists()


def test_missing_data_dir_grid(tmp_path, capsys):
    assert main(["grid", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 1
    assert "does not exist" in one_error_line(capsys.readouterr().err, "grid")


@pytest.mark.parametrize("command", ["compare", "grid"])
def test_out_inside_data_dir_refused(command, synthetic_root, capsys):
    before = tree_digest(synthetic_root)
    out = Path(synthetic_root) / "reports"
    assert main([command, "--data-dir", str(synthetic_root), "--out", str(out), "--quick"]) == 1
    assert "inside the data folder" in one_error_line(capsys.readouterr().err, command)
    assert tree_digest(synthetic_root) == before


def test_out_inside_default_dataset_refused(tmp_path, monkeypatch, capsys):
    """Without --data-dir the default dataset's folder is protected too (and not generated)."""
    monkeypatch.setenv("CROSSENC_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "cache" / "synthetic-small-seed0" / "out"
    assert main(["compare", "--out", str(out)]) == 1
    assert "inside the data folder" in one_error_line(capsys.readouterr().err, "compare")
    assert not (tmp_path / "cache").exists()


def test_data_dir_without_release_files(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["compare", "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "o"),
                 "--models", "mean", "--quiet"])
    assert code == 1
    one_error_line(capsys.readouterr().err, "compare")


@pytest.mark.parametrize(
    "param, message",
    [
        ("embed_dim", "not of the form NAME=V1,V2"),
        ("nosuch=1,2", "unknown parameter 'nosuch' of CrossSubjectEncoder"),
        ("embed_dim=", "gives no values"),
    ],
)
def test_grid_bad_param(param, message, tmp_path, capsys):
    (tmp_path / "data").mkdir()
    argv = ["grid", "--param", param, "--out", str(tmp_path / "o"), "--data-dir",
            str(tmp_path / "data")]
    assert main(argv) == 1
    assert message in one_error_line(capsys.readouterr().err, "grid")


def test_grid_param_twice(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    argv = ["grid", "--param", "embed_dim=4", "--param", "embed_dim=8", "--data-dir",
            str(tmp_path / "data"), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    assert "given twice" in one_error_line(capsys.readouterr().err, "grid")


def test_grid_too_many_folds_for_seasons(synthetic_root, tmp_path, capsys):
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path), "--quiet",
            "--seasons", "1", "2", "--cv", "3", "--param", "embed_dim=4"]
    assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err, "grid")
    assert "needs at least 3 seasons" in line and "has 2 (1, 2)" in line


def test_cuda_requested_without_cuda(synthetic_root, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    argv = ["compare", "--data-dir", str(synthetic_root), "--out", str(tmp_path), "--device",
            "cuda", "--quiet"]
    assert main(argv) == 1
    assert "CUDA is not available" in one_error_line(capsys.readouterr().err, "compare")


def test_keyboard_interrupt_exits_130(monkeypatch, synthetic_root, tmp_path, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sklearn_crossenc.jobs.compare.run_comparison", interrupted)
    assert main(["compare", "--data-dir", str(synthetic_root), "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_traceback_flag_reraises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        main(["--traceback", "compare", "--data-dir", str(tmp_path / "nope")])


@pytest.mark.slow
def test_console_entry_points_one_line_error(tmp_path):
    """`python -m sklearn_crossenc` and the console script report one line, exit 1."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = ["compare", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    proc = subprocess.run([sys.executable, "-m", "sklearn_crossenc", *argv],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    one_error_line(proc.stderr, "compare")
    script = Path(sys.executable).with_name("crossenc")
    if script.exists():
        proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env,
                              timeout=120)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: crossenc")


# ---------------------------------------------------------------------------- end to end


def test_synth_writes_a_loadable_dataset(tmp_path, capsys):
    from sklearn_crossenc.data import is_synthetic, load_movie10

    out = tmp_path / "ds"
    assert main(["synth", str(out), "--scale", "tiny", "--data-seed", "1", "--quiet"]) == 0
    assert "Synthetic dataset written to" in capsys.readouterr().out
    assert is_synthetic(out)
    data = load_movie10(out, runs=[1])
    assert len(data) > 0 and next(iter(data.values())).shape[0] == 4


@pytest.mark.slow
def test_compare_quick_end_to_end(synthetic_root, tmp_path, capsys):
    before = tree_digest(synthetic_root)
    out = tmp_path / "out"
    argv = ["compare", "--data-dir", str(synthetic_root), "--out", str(out), "--quick", "--quiet",
            "--random-state", "3", "--threads", "1"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no bars, no messages
    doc = json.loads((out / "report.json").read_text())
    table = captured.out
    for name in ("CrossSubjectEncoder", "CrossSubjectRidge", "FeatureRidge", "MeanOfOthers",
                 "oracle ceiling"):
        assert name in table
    for name, m in doc["models"].items():
        assert m["status"] == "ok", (name, m)
        mean = m["scores"]["friends_s6"]["mean"]
        assert f"{mean:.3f}" in table
    assert doc["config"]["random_state"] == 3 and doc["config"]["quick"] is True
    assert doc["command"].startswith("crossenc compare --data-dir")
    assert doc["models"]["CrossSubjectEncoder"]["params"]["random_state"] == 3
    assert doc["models"]["CrossSubjectEncoder"]["params"]["n_threads"] == 1
    assert doc["config"]["n_threads"] == 1
    names = {p.name for p in out.iterdir()}
    assert {"report.json", "report.md", "parcel_scores.npz"} <= names
    if "bars" in doc["outputs"]:  # figures drawn (matplotlib installed)
        assert set(FIGURES.values()) <= names
    assert not [n for n in names if n.endswith(".tmp") or ".tmp." in n]
    assert "Report written to" in table
    assert tree_digest(synthetic_root) == before
    # the file's numbers are the estimators' scores (MeanOfOthers is deterministic)
    from sklearn_crossenc import MeanOfOthers, load_friends, load_movie10

    train = list(load_friends(synthetic_root, seasons=[1, 2, 3, 4, 5]).values())
    model = MeanOfOthers().fit(train)
    for key, X in (("friends_s6", load_friends(synthetic_root, seasons=[6])),
                   ("movie10_run1", load_movie10(synthetic_root, runs=[1]))):
        got = doc["models"]["MeanOfOthers"]["scores"][key]
        assert got["mean"] == pytest.approx(model.score(list(X.values())), abs=1e-12)
    with np.load(out / "parcel_scores.npz") as maps:
        assert maps["CrossSubjectEncoder/friends_s6"].shape == (4, 48)
        assert maps["CrossSubjectEncoder/friends_s6"].mean() == pytest.approx(
            doc["models"]["CrossSubjectEncoder"]["scores"]["friends_s6"]["mean"], abs=1e-6)
    md = (out / "report.md").read_text()
    assert "| CrossSubjectEncoder |" in md and "## Movie10 run 1" in md


def test_grid_end_to_end_csv(synthetic_root, tmp_path, capsys):
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path), "--quick",
            "--quiet", "--param", "embed_dim=4,8", "--cv", "2", "--split", "kfold"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "best: {'embed_dim':" in out
    with open(tmp_path / "grid_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert sorted(int(r["param_embed_dim"]) for r in rows) == [4, 8]
    for r in rows:
        splits = [float(r["split0_test_score"]), float(r["split1_test_score"])]
        assert float(r["mean_test_score"]) == pytest.approx(np.mean(splits))
    assert [int(r["rank_test_score"]) for r in rows] == [1, 2]
    # Rows are written best first: the rank-1 row has the higher mean score.
    assert float(rows[0]["mean_test_score"]) > float(rows[1]["mean_test_score"])


def test_grid_by_season_uses_groups(synthetic_root, tmp_path, monkeypatch, capsys):
    """--split season: GroupKFold whose test folds are whole seasons."""
    from sklearn.model_selection import GridSearchCV

    seen = {}
    real_fit = GridSearchCV.fit

    def spy(self, X, y=None, **params):
        seen["folds"] = [sorted(set(params["groups"][test])) for _, test in
                         self.cv.split(X, groups=params["groups"])]
        return real_fit(self, X, y, **params)

    monkeypatch.setattr(GridSearchCV, "fit", spy)
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path), "--quick",
            "--quiet", "--param", "embed_dim=4", "--cv", "5", "--seasons", "1", "2", "3", "4", "5"]
    assert main(argv) == 0
    assert sorted(s for fold in seen["folds"] for s in fold) == [1, 2, 3, 4, 5]
    assert all(len(fold) == 1 for fold in seen["folds"])



def test_diverging_fit_is_one_line(synthetic_root, tmp_path, capsys):
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o"), "--quick",
            "--quiet", "--param", "lr=1e30", "--param", "embed_dim=4", "--cv", "2",
            "--split", "kfold"]
    assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err, "grid")
    assert "nan" in line.lower() and "epoch" in line
    assert not (tmp_path / "o" / "grid_results.csv").exists()


def test_synth_refuses_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["synth", str(tmp_path / "mine"), "--scale", "tiny", "--quiet"]) == 1
    assert "not a synthetic dataset" in one_error_line(capsys.readouterr().err, "synth")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_ctrl_c_in_grid_training_exits_130(synthetic_root, tmp_path, monkeypatch, capsys):
    """Ctrl-C inside a skorch fit (which swallows KeyboardInterrupt) still stops the grid."""
    import signal

    from skorch.callbacks import EpochTimer

    calls = []

    def interrupt(self, net, **kwargs):
        calls.append(1)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(EpochTimer, "on_epoch_end", interrupt)
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o"), "--quick",
            "--quiet", "--param", "embed_dim=4,8", "--cv", "2", "--split", "kfold"]
    assert main(argv) == 130
    assert calls == [1]  # stopped at the first epoch, not after every candidate
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------- Dask cluster


def _grid_scores(path: Path) -> list[tuple[str, str, str]]:
    with open(path, newline="") as f:
        return [(r["param_embed_dim"], r["split0_test_score"], r["split1_test_score"])
                for r in csv.DictReader(f)]


@pytest.mark.slow
def test_grid_on_a_dask_scheduler_equals_the_local_run(synthetic_root, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    argv = ["grid", "--data-dir", str(synthetic_root), "--quick", "--quiet", "--cv", "2",
            "--split", "kfold", "--seasons", "1", "--param", "embed_dim=2,4",
            "--param", "n_threads=1"]
    assert main(argv + ["--out", str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        code = main(argv + ["--out", str(tmp_path / "dask"),
                            "--scheduler", cluster.scheduler_address])
    assert code == 0
    capsys.readouterr()
    local = _grid_scores(tmp_path / "local" / "grid_results.csv")
    assert len(local) == 2
    assert _grid_scores(tmp_path / "dask" / "grid_results.csv") == local


def test_grid_unreachable_scheduler_is_one_line(synthetic_root, tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o"), "--quick",
            "--quiet", "--param", "embed_dim=2", "--cv", "2", "--split", "kfold",
            "--seasons", "1", "--scheduler", address]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err, "grid")
    assert f"cannot reach the Dask scheduler at '{address}' within 1 s" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flags, early_stopping, refit", [
    ([], "folds", True),
    (["--early-stopping"], "folds", True),
    (["--early-stopping", "0.25", "--no-refit"], 0.25, False),
    (["--fixed-schedule"], None, True),
])
def test_compare_training_length_flags(flags, early_stopping, refit, synthetic_root, tmp_path,
                                       capsys):
    out = tmp_path / "out"
    argv = ["compare", "--data-dir", str(synthetic_root), "--out", str(out), "--quick", "--quiet",
            "--models", "encoder", "--no-figures", *flags]
    assert main(argv) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["config"]["early_stopping"] == early_stopping and doc["config"]["refit"] is refit
    chosen = doc["models"]["CrossSubjectEncoder"]["tuning"]["chosen"]
    assert (chosen["best_epoch"] is None) == (early_stopping is None)
    params = doc["models"]["CrossSubjectEncoder"]["params"]
    if early_stopping == 0.25 and not refit:
        assert params["validation"] == 0.25
    capsys.readouterr()


def test_compare_bad_training_length_flags(synthetic_root, tmp_path, capsys):
    bad = ["compare", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o2"),
           "--early-stopping", "2"]
    assert main(bad) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "early_stopping must be 'folds'" in err[0] and "got 2.0" in err[0]
    assert not (tmp_path / "o2").exists()
    both = ["compare", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o3"),
            "--early-stopping", "0.2", "--fixed-schedule"]
    assert main(both) == 2  # argparse: not allowed together
    capsys.readouterr()
    param = ["compare", "--data-dir", str(synthetic_root), "--out", str(tmp_path / "o4"),
             "--param", "embed_dim=4,8"]
    assert main(param) == 1
    assert "--param sets the grid of --tune; add --tune" in capsys.readouterr().err


def test_add_subject_end_to_end(synthetic_root, tmp_path, capsys):
    """`crossenc add-subject`: the learning curve printed and written, numbers from the job."""
    out = tmp_path / "out"
    argv = ["add-subject", "--data-dir", str(synthetic_root), "--out", str(out), "--quick",
            "--quiet", "--minutes", "0.5", "all", "--threads", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / "report.json").read_text())
    assert doc["job"] == "add-subject"
    assert doc["new_subject"] == 5 and doc["fitted_subjects"] == [1, 2, 3]
    assert [b["minutes"] for b in doc["budgets"]] == [0.5, None]
    assert doc["budgets"][0]["n_trs"] == round(0.5 * 60 / 1.49)
    params = doc["config"]["encoder_params"]
    assert params["max_epochs"] == 2 and params["n_threads"] == 1
    report = (out / "report.md").read_text()
    assert report.startswith("# Adding subject sub-05 to a trained encoder")
    assert "| all |" in report and "all min" not in report and "Columns:" in report
    assert doc["command"] in report
    for row in doc["budgets"]:
        assert f"{row['added']['friends_s6']:.3f}" in printed
        assert f"{row['added']['friends_s6']:.3f}" in report
        # The chosen kernel and strengths (issue 30), in the JSON and in both tables.
        added = row["added"]
        assert added["prior"] == "empirical_bayes" and len(added["kernel"]) == 5
        assert added["kernel_delays"] == [-2, -1, 0, 1, 2]
        assert (added["scale"] is None) == (not added["refined"])
        cells = f"| {kernel_cell(added)} | {strength_cell(added)} |"
        assert cells in report  # the terminal's table is in aligned columns, unescaped
        shown = [line for line in printed.splitlines() if kernel_cell(added) in line]
        assert len(shown) >= 1 and strength_cell(added) in shown[0] and "\\" not in printed
    assert "Kernel taps at delays -2, -1, 0, 1, 2 (TRs)" in report


@pytest.mark.parametrize("minutes, message", [
    ("x", "neither a number nor 'all'"),
    ("0", "a budget must be a finite number of minutes > 0"),
    ("inf", "a budget must be a finite number of minutes > 0"),
    ("nan", "a budget must be a finite number of minutes > 0"),
    ("0.001", "a budget of 0.001 min is less than one time point"),
    ("0.05", "cannot be cut into the 5 folds"),
    ("0.15", "give at least 8 time points"),
    ("100000", "exceeds the"),
])
def test_add_subject_bad_minutes_before_any_work(minutes, message, synthetic_root, tmp_path,
                                                 capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the job must not start")

    monkeypatch.setattr("sklearn_crossenc.jobs.new_subject._fit_encoder", never)
    monkeypatch.setattr("sklearn_crossenc.jobs.new_subject._load", never)
    argv = ["add-subject", "--data-dir", str(synthetic_root), "--out", str(tmp_path),
            "--minutes", minutes]
    assert main(argv) == 1
    assert message in one_error_line(capsys.readouterr().err, "add-subject")


def test_grid_several_scorers_trim_threads_and_refit(synthetic_root, tmp_path, capsys):
    import joblib

    from sklearn_crossenc.data import as_episodes, load_friends
    from sklearn_crossenc.scoring import make_episode_scorer

    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path), "--quick",
            "--quiet", "--param", "embed_dim=4,8", "--cv", "2", "--split", "kfold",
            "--scoring", "r2", "pearson", "neg_mean_squared_error", "--trim", "2", "--threads",
            "1", "--refit"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "mean r2" in out and "mean neg_mean_squared_error" in out
    with open(tmp_path / "grid_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank_test_r2"]) for r in rows] == [1, 2]  # ranked by the first scorer
    for r in rows:
        assert float(r["mean_test_neg_mean_squared_error"]) < 0
        assert -1 <= float(r["mean_test_pearson"]) <= 1
    best = joblib.load(tmp_path / "best_estimator.joblib")
    assert best.embed_dim == int(rows[0]["param_embed_dim"]) and best.n_threads == 1
    # Refit on every run: its training score with trim 2 is the scorer's, computed here.
    X = as_episodes(load_friends(synthetic_root, seasons=range(1, 6)))
    assert best.n_subjects_ == X[0].shape[0]
    r2 = make_episode_scorer("r2", trim=2)(best, X)
    assert np.isfinite(r2)


@pytest.mark.parametrize("argv, message", [
    (["--scoring", "pearson", "pearson"], "--scoring takes distinct names"),
    (["--trim", "-1"], "trim"),
])
def test_grid_bad_scoring_and_trim(argv, message, synthetic_root, tmp_path, capsys):
    base = ["grid", "--data-dir", str(synthetic_root), "--out", str(tmp_path), "--quick",
            "--quiet", "--param", "embed_dim=4", "--cv", "2", "--split", "kfold"]
    assert main(base + argv) == 1
    assert message in one_error_line(capsys.readouterr().err, "grid")

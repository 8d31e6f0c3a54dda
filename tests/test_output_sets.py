"""Every command's output files are committed as one set (issue 20, items 7, 8 and 10).

A run writes its whole set into a private folder beside ``--out`` and puts it in
``--out``'s place in one step at the end: ``--out`` holds the previous complete set or the
new complete set, never a mix, and nothing is left beside it. A lock refuses a second run
on the same ``--out``; a folder holding files crossenc did not write is refused, never
emptied; the disk space the outputs need is held before the first fit.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import fill_disk, mounted_tmpfs

from sklearn_crossenc._io import atomic_write_text
from sklearn_crossenc.cli import main


def sets():
    """The mechanism's module, imported by the tests that use it directly, so that the
    tests of the commands alone also run (and fail) on code without output sets."""
    import sklearn_crossenc._output_set as mod

    return mod

REPO = Path(__file__).resolve().parents[1]
GRID = ["grid", "--quick", "--quiet", "--cv", "2", "--split", "kfold", "--seasons", "1",
        "--param", "embed_dim=2"]


def snapshot(folder: Path) -> dict:
    """File name -> sha256 of every entry of ``folder`` ('dir' for a folder)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(Path(folder).iterdir())}


def beside(out: Path) -> list[str]:
    """Names in ``out``'s parent other than ``out``: what a run left behind."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def one_line(err: str, command: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"crossenc {command}: error: "), err
    return lines[0]


def assert_complete_set(out: Path) -> dict:
    """``out`` holds exactly the set its report.json lists; returns the document."""
    doc = json.loads((out / "report.json").read_text())
    listed = set(doc["outputs"].values()) | {"report.json", "report.md"}
    assert {p.name for p in out.iterdir()} == listed
    return doc


@pytest.fixture
def runs(tmp_path):
    """A folder of its own for the output folders of a test (so ``beside`` sees only them)."""
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


# ------------------------------------------------------------------ the mechanism itself


def _write(outset, files: dict) -> None:
    for name, text in files.items():
        atomic_write_text(outset.folder() / name, text)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "portable"])
def test_a_set_replaces_the_previous_one_as_a_whole(runs, monkeypatch, exchange):
    monkeypatch.setitem(sets()._EXCHANGE, "enabled", exchange)
    out = runs / "out"
    with sets().output_set(out) as outset:
        _write(outset, {"a.txt": "1", "b.txt": "1"})
    with sets().output_set(out) as outset:
        _write(outset, {"a.txt": "2"})
        assert (out / "b.txt").read_text() == "1"  # the previous set, untouched meanwhile
    assert {p.name: p.read_text() for p in out.iterdir()} == {"a.txt": "2"}
    assert beside(out) == []


#: What each fault may hit: a signal lands between any two operations; ENOSPC comes only
#: from operations that allocate (creating, renaming, writing), never from removing.
FAULT_OPS = {
    "signal": ("rename", "replace", "mkdir", "fsync", "chmod", "unlink", "rmdir",
               "posix_fallocate", "exchange"),
    "ENOSPC": ("rename", "replace", "mkdir", "fsync", "posix_fallocate", "exchange"),
}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "portable"])
@pytest.mark.parametrize("fault", ["signal", "ENOSPC"])
def test_a_fault_at_every_step_leaves_one_complete_set_and_nothing_beside(
        runs, monkeypatch, exchange, fault):
    """Every file operation of a run (the writers' and the commit's) is hit in turn by a
    real SIGINT (delivered through crossenc's handler, as in a run) or fails with ENOSPC:
    ``out`` then holds the previous set or the new one, whole, and nothing else."""
    from sklearn_crossenc._interrupt import catch_signals

    monkeypatch.setitem(sets()._EXCHANGE, "enabled", exchange)
    out = runs / "out"
    old = {"a.txt": "old a", "b.txt": "old b", "c.txt": "old c"}
    new = {"a.txt": "new a", "b.txt": "new b"}
    names = [n for n in FAULT_OPS[fault] if n != "exchange"]
    real = {n: getattr(os, n) for n in names}
    real["exchange"] = sets()._exchange
    state = {"calls": 0, "fail_at": None}

    def counted(name):
        def call(*args, **kwargs):
            state["calls"] += 1
            if state["calls"] == state["fail_at"]:
                if fault == "ENOSPC":
                    raise OSError(errno.ENOSPC, "No space left on device")
                os.kill(os.getpid(), signal.SIGINT)  # handled once this call returns
            return real[name](*args, **kwargs)
        return call

    def run_once(fail_at):
        shutil.rmtree(out, ignore_errors=True)
        with sets().output_set(out) as outset:
            _write(outset, old)
        state.update(calls=0, fail_at=fail_at)
        with monkeypatch.context() as m:
            for n in names:
                m.setattr(os, n, counted(n))
            m.setattr(sets(), "_exchange", counted("exchange"))
            try:
                with catch_signals(), sets().output_set(out, reserve=4096) as outset:
                    _write(outset, new)
                return True
            except (KeyboardInterrupt, OSError):
                return False

    assert run_once(None)
    n_steps = state["calls"]
    assert n_steps >= 8
    outcomes = set()
    for k in range(1, n_steps + 1):
        ok = run_once(k)
        got = {p.name: p.read_text() for p in out.iterdir()}
        assert got in (old, new), f"step {k} of {n_steps}: {got}"
        assert beside(out) == [], f"step {k} of {n_steps}: left {beside(out)}"
        assert not ok or got == new, f"step {k} of {n_steps}: reported success"
        outcomes.add("new" if got == new else "old")
    assert outcomes == {"old", "new"}  # the sweep reached past the commit


def test_a_set_killed_between_the_two_renames_is_recovered_by_the_next_run(runs):
    """The portable path moves the previous set aside, then the new one in: a kill between
    leaves ``out`` missing; the next run on ``out`` puts the previous set back first."""
    out = runs / "out"
    aside = runs / ".out.crossenc-old-abcd1234"
    aside.mkdir()
    (aside / "report.md").write_text("previous")
    unfinished = runs / ".out.crossenc-new-wxyz5678"  # a run killed while writing
    unfinished.mkdir()
    (unfinished / "half").write_text("x")
    with pytest.raises(RuntimeError):
        with sets().output_set(out):
            assert (out / "report.md").read_text() == "previous"
            raise RuntimeError("this run fails too")
    assert (out / "report.md").read_text() == "previous"
    assert beside(out) == []


def test_the_folder_keeps_its_mode_and_a_new_one_follows_the_umask(runs):
    old = os.umask(0o027)
    try:
        with sets().output_set(runs / "new") as outset:
            _write(outset, {"a": "1"})
        (runs / "kept").mkdir(mode=0o700)
        with sets().output_set(runs / "kept") as outset:
            _write(outset, {"a": "1"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((runs / "new").stat().st_mode) == 0o750
    assert stat.S_IMODE((runs / "kept").stat().st_mode) == 0o700
    assert stat.S_IMODE((runs / "new" / "a").stat().st_mode) == 0o640


def test_parent_folders_made_for_a_run_that_fails_are_removed(runs):
    out = runs / "a" / "b" / "out"
    with pytest.raises(RuntimeError):
        with sets().output_set(out):
            raise RuntimeError("failed")
    assert list(runs.iterdir()) == []


# ------------------------------------------------------------------ the lock (item 8)


def test_a_second_run_on_the_same_out_is_refused_with_one_line(no_fit, synthetic_root, runs,
                                                               capsys):
    out = runs / "out"
    with sets().output_set(out, owner="crossenc compare --models encoder"):
        rc = main(["compare", "--quick", "--data-dir", str(synthetic_root), "--out", str(out)])
    line = one_line(capsys.readouterr().err, "compare")
    assert rc == 1
    assert f"output folder {out} is in use by another crossenc run (pid {os.getpid()}: " \
           "crossenc compare --models encoder, since " in line
    assert line.endswith("wait for it to end or choose another --out.")
    assert list(out.iterdir()) == [] and beside(out) == []  # the first run's (empty) set


@pytest.mark.slow
def test_two_concurrent_runs_on_one_out_do_not_mix(synthetic_root, runs, tmp_path, capsys):
    """A comparison is fitting into --out when a grid search starts on the same --out: the
    grid is refused at once with one line naming the comparison, which then commits its
    set alone (before: both wrote into --out, and their files mixed)."""
    import time

    out, log = runs / "out", tmp_path / "first.log"
    with open(log, "w") as err:
        first = subprocess.Popen(
            [sys.executable, "-m", "sklearn_crossenc", "compare", "--quick", "--no-figures",
             "--models", "mean", "encoder", "--data-dir", str(synthetic_root), "--out", str(out)],
            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 120
        while "fitting" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        rc = main([*GRID, "--data-dir", str(synthetic_root), "--out", str(out)])
    finally:
        first.wait(300)
    assert first.returncode == 0, log.read_text()
    line = one_line(capsys.readouterr().err, "grid")
    assert rc == 1
    assert f"is in use by another crossenc run (pid {first.pid}: crossenc compare --quick" in line
    assert assert_complete_set(out)["job"] == "compare"
    assert beside(out) == []


@pytest.mark.parametrize("argv", [["compare", "--quick"], GRID, ["add-subject", "--quick"]],
                         ids=["compare", "grid", "add-subject"])
def test_every_command_takes_the_lock(no_fit, synthetic_root, runs, capsys, argv):
    out = runs / "out"
    with sets().output_set(out, owner="the other run"):
        rc = main([*argv, "--data-dir", str(synthetic_root), "--out", str(out)])
    assert rc == 1 and "in use by another crossenc run" in capsys.readouterr().err


def test_the_lock_of_a_killed_run_is_released_and_its_leftovers_cleared(synthetic_root, runs):
    """A run killed with SIGKILL holds nothing: the kernel releases its lock; the next run
    removes the private folder it left and commits its own set."""
    out = runs / "out"
    script = textwrap.dedent(f"""
        import sys, time
        from sklearn_crossenc._output_set import output_set
        with output_set({str(out)!r}, owner="a run killed later") as outset:
            (outset.folder() / "half-written").write_text("x")
            print("ready", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(sets().OutputFolderInUse, match="a run killed later"):
            with sets().output_set(out):
                pass
    finally:
        proc.kill()
        proc.wait()
    assert any(".out.crossenc-new-" in n for n in beside(out))  # what SIGKILL left
    assert main([*GRID, "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    assert_complete_set(out)
    assert beside(out) == []
    assert not sets().lock_path(out).exists()


# ------------------------------------------------------------------ sets of real commands (item 7)


def test_a_smaller_set_does_not_keep_files_of_the_previous_run(synthetic_root, runs, capsys):
    """grid --refit then grid without it: best_estimator.joblib of the first run is gone
    (before: it stayed beside the new report.json, which did not list it)."""
    out = runs / "out"
    assert main([*GRID, "--refit", "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    assert "best_estimator.joblib" in assert_complete_set(out)["outputs"].values()
    assert main([*GRID, "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["grid_results.csv", "report.json",
                                                      "report.md"]
    assert beside(out) == []


def test_a_writer_failing_half_way_leaves_the_previous_set_whole(synthetic_root, runs,
                                                                 monkeypatch, capsys):
    """The grid's report.md fails after its CSV and model were written: --out keeps the
    previous run's set, file for file (before: a new CSV beside the old report.json)."""
    import sklearn_crossenc.report._files as files

    out = runs / "out"
    assert main([*GRID, "--refit", "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    before = snapshot(out)

    def fails(result, folder, markdown, outputs):
        assert (folder / "grid_results.csv").exists()  # written already, in the new set
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_job_files", fails)
    argv = [*GRID, "--random-state", "1", "--data-dir", str(synthetic_root), "--out", str(out)]
    assert main(argv) == 1
    assert one_line(capsys.readouterr().err, "grid") == \
        "crossenc grid: error: [Errno 28] No space left on device"
    assert snapshot(out) == before and beside(out) == []


def test_a_folder_with_files_crossenc_did_not_write_is_refused_not_emptied(
        no_fit, synthetic_root, runs, capsys):
    out = runs / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "figures").mkdir()
    rc = main(["compare", "--quick", "--data-dir", str(synthetic_root), "--out", str(out)])
    line = one_line(capsys.readouterr().err, "compare")
    assert rc == 1
    assert f"output folder {out} holds 2 entries crossenc did not write (figures, notes.txt)" \
           in line and "never deletes files it did not write" in line
    assert snapshot(out) == {"figures": "dir", "notes.txt": snapshot(out)["notes.txt"]}
    assert (out / "notes.txt").read_text() == "mine" and beside(out) == []


def test_a_set_another_command_wrote_is_refused_not_replaced(synthetic_root, runs, capsys,
                                                            request):
    """Issue 31: a quick grid after the demo deleted the demo's report, maps and tables."""
    out = runs / "out"
    assert main([*GRID, "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    request.getfixturevalue("no_fit")  # the refusal comes before any fit
    before = snapshot(out)
    capsys.readouterr()
    for argv in (["compare", "--quick"], ["add-subject", "--quick"]):
        rc = main([*argv, "--data-dir", str(synthetic_root), "--out", str(out)])
        line = one_line(capsys.readouterr().err, argv[0])
        assert rc == 1
        assert f"output folder {out} holds the outputs of another command, crossenc grid" in line
        assert f"a crossenc {argv[0]} run would replace them" in line
        assert "delete the folder first to replace them on purpose" in line
        assert snapshot(out) == before and beside(out) == []


def test_each_command_has_its_own_default_output_folder():
    from sklearn_crossenc._cli_parser import DEFAULT_OUTS, build_parser

    required = {"headroom": ["--predictions", "p.npy"], "extract": ["deriv", "--atlas", "a",
                                                                   "--task", "t"]}
    outs = {c: build_parser().parse_args([c, *required.get(c, [])]).out for c in DEFAULT_OUTS}
    assert outs == {c: Path(name) for c, name in DEFAULT_OUTS.items()}
    assert set(DEFAULT_OUTS) == {"compare", "grid", "add-subject", "headroom", "extract"}
    assert len(set(outs.values())) == len(DEFAULT_OUTS)


def test_a_file_added_to_a_set_makes_it_foreign(synthetic_root, runs, capsys):
    out = runs / "out"
    assert main([*GRID, "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    (out / "my-notes.md").write_text("mine")
    assert main([*GRID, "--data-dir", str(synthetic_root), "--out", str(out)]) == 1
    assert "(my-notes.md)" in capsys.readouterr().err
    assert (out / "my-notes.md").read_text() == "mine"


def test_an_out_holding_the_data_folder_is_refused(no_fit, synthetic_root, capsys):
    data = Path(synthetic_root)
    before = snapshot(data.parent)
    rc = main(["compare", "--quick", "--data-dir", str(data), "--out", str(data.parent)])
    assert rc == 1
    assert f"output folder {data.parent} holds the data folder {data}" in one_line(
        capsys.readouterr().err, "compare")
    assert snapshot(data.parent) == before


# ------------------------------------------------------------------ disk space (item 10)


@pytest.fixture
def small_disk(runs):
    """A real file system of 2 MB (tmpfs); skipped where mounting is not permitted."""
    with mounted_tmpfs(runs / "disk", "2m",
                       "test_full_disk_is_refused_in_the_preflight (by statvfs)") as mnt:
        yield mnt


def test_a_full_disk_is_refused_in_the_preflight_on_a_real_file_system(
        no_fit, synthetic_root, small_disk, capsys):
    fill_disk(small_disk, leave=64 << 10)
    out = small_disk / "out"
    rc = main(["compare", "--quick", "--data-dir", str(synthetic_root), "--out", str(out)])
    line = one_line(capsys.readouterr().err, "compare")
    assert rc == 1
    assert "not enough free space for the outputs of this run: about " in line
    assert f"needed beside {out}, 0.1 MB free" in line
    assert sorted(p.name for p in small_disk.iterdir()) == ["ballast"]


def test_full_disk_is_refused_in_the_preflight(no_fit, synthetic_root, runs, monkeypatch,
                                               capsys):
    """The same through ``statvfs`` (any machine): before, an empty probe file passed."""
    real = os.statvfs

    class Full:
        def __init__(self, st):
            self.f_frsize, self.f_bavail = st.f_frsize, 0

    monkeypatch.setattr(os, "statvfs", lambda p: Full(real(p)))
    for argv in (["compare", "--quick"], GRID, ["add-subject", "--quick"]):
        out = runs / "out"
        assert main([*argv, "--data-dir", str(synthetic_root), "--out", str(out)]) == 1
        line = one_line(capsys.readouterr().err, argv[0])
        assert "not enough free space for the outputs of this run" in line, line
        assert list(runs.iterdir()) == []


def test_space_held_from_the_start_is_there_for_the_outputs(synthetic_root, small_disk,
                                                            monkeypatch, capsys):
    """Another process fills the disk while the grid searches: the set is still written,
    in the space held since the pre-flight (before: the grid failed after its search)."""
    import sklearn_crossenc.jobs.grid as grid

    real = grid.run_grid_search

    def search_while_the_disk_fills(*args, **kwargs):
        result = real(*args, **kwargs)
        fill_disk(small_disk, leave=0)
        return result

    monkeypatch.setattr(grid, "run_grid_search", search_while_the_disk_fills)
    out = small_disk / "out"
    argv = [*GRID, "--refit", "--data-dir", str(synthetic_root), "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert "best_estimator.joblib" in assert_complete_set(out)["outputs"].values()
    assert sorted(p.name for p in small_disk.iterdir()) == ["ballast", "out"]


def test_the_estimates_bound_what_the_writers_write(synthetic_root, runs, capsys):
    from sklearn_crossenc.jobs._outputs import grid_output_bytes, new_subject_output_bytes

    out = runs / "grid"
    assert main([*GRID, "--refit", "--data-dir", str(synthetic_root), "--out", str(out)]) == 0
    written = sum(p.stat().st_size for p in out.iterdir())
    estimate = grid_output_bytes(synthetic_root, {"embed_dim": [2]}, refit=True, quick=True)
    assert written <= estimate <= 20 * written + (2 << 20)
    out = runs / "add"
    assert main(["add-subject", "--quick", "--quiet", "--minutes", "1", "--data-dir",
                 str(synthetic_root), "--out", str(out)]) == 0
    written = sum(p.stat().st_size for p in out.iterdir())
    assert written <= new_subject_output_bytes(synthetic_root, [1.0]) <= 100 * written


def test_the_add_subject_estimate_counts_a_described_datasets_runs(tmp_path):
    """With --dataset, the estimate counts the description's runs (it assumed the
    release's 400: a dataset of 600 runs was under-reserved)."""
    from sklearn_crossenc.data import load_dataset
    from sklearn_crossenc.data._describe import write_dataset
    from sklearn_crossenc.jobs import _outputs

    x = np.zeros((3, 4, 2), np.float32)  # (S, T, C)
    keys = [f"r{i}" for i in range(600)]
    path = write_dataset(tmp_path / "ds", {k: x for k in keys}, ["a", "b", "c"],
                         train=keys[:597], evaluate={"test": keys[597:]}, tr=1.0)
    desc = load_dataset(path, check_values=False)
    want = (_outputs._DOCUMENT_BYTES + 600 * _outputs._RUN_BYTES
            + 2 * _outputs._CANDIDATE_BYTES)
    assert _outputs.new_subject_output_bytes(desc.folder, [1.0, 2.0], dataset=desc) == want


def test_the_comparison_estimate_grows_with_the_parcels_models_and_figures(synthetic_root):
    from sklearn_crossenc.jobs._outputs import comparison_output_bytes, encoder_bytes

    tiny = comparison_output_bytes(synthetic_root, ["mean"], figures=False)
    release = comparison_output_bytes("/nonexistent", ["mean"], figures=False)  # 1000 parcels
    assert release > tiny
    assert comparison_output_bytes(synthetic_root, None) > comparison_output_bytes(
        synthetic_root, ["mean"]) > tiny
    overhead = 1 << 20  # skorch's net pickled around the parameters
    small = encoder_bytes({"embed_dim": 4}, 4, 48) - overhead
    assert encoder_bytes({"embed_dim": 64}, 4, 1000) - overhead > 100 * small > 0


def test_open_output_set_from_python_checks_like_the_command_line(runs, synthetic_root):
    from sklearn_crossenc.report import open_output_set

    data = Path(synthetic_root)
    with pytest.raises(ValueError, match="inside the data folder"):
        with open_output_set(data / "out", data):
            pass
    (runs / "x").mkdir()
    (runs / "x" / "y").write_text("mine")
    with pytest.raises(ValueError, match=r"holds 1 entry crossenc did not write \(y\)"):
        with open_output_set(runs / "x"):
            pass
    assert not (data / "out").exists()


def test_the_current_folder_as_out_is_refused(no_fit, synthetic_root, runs, monkeypatch,
                                              capsys):
    monkeypatch.chdir(runs)
    rc = main(["compare", "--quick", "--data-dir", str(synthetic_root), "--out", "."])
    assert rc == 1
    assert f"output folder {runs} is the current folder" in one_line(
        capsys.readouterr().err, "compare")
    assert list(runs.iterdir()) == []


def test_a_mount_point_as_out_is_refused_before_any_fit(no_fit, synthetic_root, small_disk,
                                                        capsys):
    rc = main(["compare", "--quick", "--data-dir", str(synthetic_root), "--out",
               str(small_disk)])
    assert rc == 1
    assert f"output folder {small_disk} is a mount point" in one_line(
        capsys.readouterr().err, "compare")
    assert beside(small_disk) == []


def test_a_signal_while_torch_is_imported_waits_for_the_import(synthetic_root, runs):
    """SIGINT while torch is being imported (the sweep once saw one land inside torch's C++
    initialisation: the process aborted with SIGABRT, leaving its private folder and lock
    file). The command holds it until the import is done, then stops as on any Ctrl-C."""
    script = textwrap.dedent("""
        import importlib.abc, os, signal, sys
        class SignalDuringTorchImport(importlib.abc.MetaPathFinder):
            sent = False
            def find_spec(self, name, path, target=None):
                if name == "torch.nn" and not self.sent:
                    type(self).sent = True
                    os.kill(os.getpid(), signal.SIGINT)
                return None
        sys.meta_path.insert(0, SignalDuringTorchImport())
        from sklearn_crossenc.cli import main
        rc = main(["compare", "--quick", "--data-dir", sys.argv[1], "--out", sys.argv[2]])
        print(rc, "torch" in sys.modules and hasattr(sys.modules["torch"], "nn"))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(synthetic_root), str(runs / "out")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.split() == ["130", "True"], (proc.stdout, proc.stderr)
    assert proc.stderr.strip() == "crossenc compare: interrupted."
    assert list(runs.iterdir()) == []


def test_a_signal_wrapped_in_another_error_still_ends_as_interrupted(tmp_path):
    """Python 3.11 wraps an exception raised inside ``__set_name__`` (a signal landing
    while a class is created, e.g. during scipy's import) in a RuntimeError: the sweep saw
    it print a traceback and exit 1. A command that received a signal ends as interrupted,
    whatever error the signal surfaced as."""
    script = textwrap.dedent("""
        import importlib.abc, os, signal, sys

        class Kill:
            def __set_name__(self, owner, name):
                os.kill(os.getpid(), signal.SIGTERM)
                sum(range(1000))  # the handler runs here, inside __set_name__

        class SignalInClassCreation(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "sklearn_crossenc.jobs._protocol":
                    type("Created", (), {"field": Kill()})
                return None

        sys.meta_path.insert(0, SignalInClassCreation())
        from sklearn_crossenc.cli import main
        sys.exit(main(["compare", "--quick", "--out", sys.argv[1]]))
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (proc.returncode, proc.stderr) == (143, "crossenc: terminated.\n")

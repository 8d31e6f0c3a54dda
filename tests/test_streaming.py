"""Runs streamed from disk (issue 29): a job whose runs would not fit in memory reads them
once into a scratch file and memory-maps them; every number is the one it gives in memory,
the models (the encoder's standardised copy and its hold-out predictions included) read
the scratch file instead of copying the runs, and nothing of it is left behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import bids_keyed_dataset

from sklearn_crossenc.data import load_dataset, load_friends
from sklearn_crossenc.data._describe import write_dataset
from sklearn_crossenc.data._run_store import STORE_PREFIX, RunStore, _host, on_disk
from sklearn_crossenc.jobs._storage import STREAM_SHARE, plan_storage
from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.jobs.grid import run_grid_search
from sklearn_crossenc.jobs.headroom import run_headroom

#: Keys whose values depend on the clock, the machine or the storage itself.
_VOLATILE = {"timings", "environment", "created_utc", "config", "fit_s", "eval_s", "seconds",
             "total_s", "estimators"}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The temporary folder the stores are made in, empty at the start."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _same(a, b, path="result"):
    """Every number of two results equal, bit for bit (NaN equal to NaN)."""
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            if k not in _VOLATILE and not str(k).endswith("_s"):  # seconds
                _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b, equal_nan=True), path
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _stores(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(STORE_PREFIX))


# ---------------------------------------------------------------------------- the store


def test_a_store_holds_float32_arrays_on_disk_and_removes_its_folder(scratch):
    with RunStore(4 * 2 * 10 * 3) as store:
        x = store.empty((2, 10, 3))  # (S, T, C)
        x[:] = np.arange(60, dtype=np.float32).reshape(2, 10, 3)
        y = store.empty((2, 5, 3))  # beyond the space reserved: a second file
        y[:] = 7.0
        assert on_disk(x) and on_disk(y) and x.dtype == np.float32
        assert store.nbytes == 256 + 128  # 240 and 120 bytes, in rows of 64
        files = sorted(p.name for p in store.path.iterdir())
        assert files == ["runs-0.bin", "runs-1.bin"] and store.path.parent == scratch
    assert _stores(scratch) == []
    assert float(x.sum()) == float(np.arange(60).sum()) and float(y.sum()) == 210.0  # mapped
    with pytest.raises(RuntimeError, match="boom"), RunStore(16) as store:
        store.empty((4,))
        raise RuntimeError("boom")
    assert _stores(scratch) == []
    assert not on_disk(np.zeros(3)) and not on_disk(np.zeros(3)[1:])


def test_an_anonymous_store_leaves_no_file(scratch):
    store = RunStore(4 * 100, named=False)
    x = store.empty((10, 10))
    x[:] = 1.0
    assert on_disk(x) and list(scratch.iterdir()) == []
    assert float(x.sum()) == 100.0


def test_the_store_of_a_killed_job_is_removed_by_the_next_one(scratch):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = _host()
    stale = scratch / f"{STORE_PREFIX}{host}-{dead.pid}-abc"
    stale.mkdir()
    (stale / "runs-0.bin").write_bytes(b"\0" * 64)
    alive = scratch / f"{STORE_PREFIX}{host}-{os.getppid()}-abc"  # a running process
    alive.mkdir()
    other_host = scratch / f"{STORE_PREFIX}elsewhere-{dead.pid}-abc"
    other_host.mkdir()
    with RunStore(16) as store:
        assert not stale.exists() and alive.exists() and other_host.exists()
        assert store.path.exists()


def test_the_loaders_read_into_a_store(synthetic_root, scratch):
    plain = load_friends(synthetic_root, seasons=[1])
    with RunStore(0) as store:
        streamed = load_friends(synthetic_root, seasons=[1], store=store)
        assert list(streamed) == list(plain)
        for k in plain:
            assert on_disk(streamed[k]) and np.array_equal(streamed[k], plain[k])


def test_a_dataset_description_reads_into_a_store(tmp_path, scratch):
    rng = np.random.default_rng(0)
    runs = {k: rng.normal(size=(3, 20, 5)).astype(np.float32) for k in "abcdef"}
    path = write_dataset(tmp_path / "ds", runs, ["01", "02", "03"], train="abc",
                         evaluate={"test": "def"}, tr=2.0)
    with RunStore(0) as store:
        got = load_dataset(path).load_runs(list(runs), store=store)
        assert all(on_disk(v) and np.array_equal(v, runs[k]) for k, v in got.items())


# ---------------------------------------------------------------------------- the decision


def test_the_runs_are_streamed_when_they_would_take_more_than_half_the_memory(monkeypatch,
                                                                              scratch):
    lengths = {"train": {"a": 100, "b": 50}, "test": {"c": 50}}
    run_bytes, copy_bytes = 4 * 3 * 200 * 10, 4 * 3 * 150 * 10  # (S, T, C) float32
    memory = "sklearn_crossenc.encoder._memory.available_memory"
    monkeypatch.setattr(memory, lambda: int((run_bytes + copy_bytes) / STREAM_SHARE))
    plan = plan_storage(lengths, 3, 10, copied="train")
    assert not plan.stream and (plan.run_bytes, plan.copy_bytes) == (run_bytes, copy_bytes)
    monkeypatch.setattr(memory, lambda: int((run_bytes + copy_bytes) / STREAM_SHARE) - 1)
    plan = plan_storage(lengths, 3, 10, copied="train")
    assert plan.stream and "more than 50% of the" in plan.reason
    assert not plan_storage(lengths, 3, 10).stream  # without the copy it fits
    assert plan_storage(lengths, 3, 10, stream=True).stream
    monkeypatch.setattr(memory, lambda: run_bytes - 1)
    with pytest.raises(ValueError, match=r"the runs take 0\.0 MiB in memory \(3 subjects x "
                                         r"200 TRs x 10 parcels, float32\)"):
        plan_storage(lengths, 3, 10, stream=False)
    with pytest.raises(ValueError, match="a Dask cluster \\(tcp://h:1\\) receives every run"):
        plan_storage(lengths, 3, 10, scheduler="tcp://h:1")
    monkeypatch.setattr(memory, lambda: None)  # unknown: memory
    assert not plan_storage(lengths, 3, 10).stream
    with pytest.raises(ValueError, match="stream must be None .* got 'yes'"):
        plan_storage(lengths, 3, 10, stream="yes")


def test_the_memory_available_is_the_cgroups_where_it_allows_less(tmp_path, monkeypatch):
    """A SLURM job's --mem or a container's limit is a memory cgroup's limit, which
    MemAvailable does not show: the nested limits of cgroup v1 and v2, page cache that can
    be dropped not counted as used."""
    from sklearn_crossenc.encoder import _memory

    v1 = tmp_path / "v1"
    job, step = v1 / "memory" / "slurm" / "job_7", v1 / "memory" / "slurm" / "job_7" / "step_0"
    step.mkdir(parents=True)
    (job / "memory.limit_in_bytes").write_text(f"{8 << 30}\n")
    (job / "memory.usage_in_bytes").write_text(f"{3 << 30}\n")
    (job / "memory.stat").write_text(f"cache 5\ntotal_inactive_file {1 << 30}\n")
    (step / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # none of its own
    (step / "memory.usage_in_bytes").write_text(f"{2 << 30}\n")
    proc = tmp_path / "cgroup-v1"
    proc.write_text("5:cpu:/\n4:memory:/slurm/job_7/step_0\n0::/\n")
    assert _memory.cgroup_available(proc, v1) == (8 << 30) - (3 << 30) + (1 << 30)
    (step / "memory.limit_in_bytes").write_text(f"{3 << 30}\n")  # a tighter one inside
    assert _memory.cgroup_available(proc, v1) == (3 << 30) - (2 << 30)
    v2 = tmp_path / "v2"
    (v2 / "box").mkdir(parents=True)
    (v2 / "box" / "memory.max").write_text("max\n")
    proc.write_text("0::/box\n")
    assert _memory.cgroup_available(proc, v2) is None  # no limit anywhere
    (v2 / "memory.max").write_text(f"{4 << 30}\n")
    (v2 / "memory.current").write_text(f"{5 << 30}\n")  # over: nothing left
    assert _memory.cgroup_available(proc, v2) == 0
    monkeypatch.setattr(_memory, "_meminfo_available", lambda: 16 << 30)
    monkeypatch.setattr(_memory, "cgroup_available", lambda: 6 << 30)
    assert _memory.available_memory() == 6 << 30
    monkeypatch.setattr(_memory, "cgroup_available", lambda: None)
    assert _memory.available_memory() == 16 << 30


def test_streaming_is_refused_without_the_disk_space(monkeypatch, scratch):
    import shutil

    class Usage:
        free = 1000

    monkeypatch.setattr(shutil, "disk_usage", lambda folder: Usage)
    with pytest.raises(ValueError, match=re.escape(f"into the temporary folder {scratch}, "
                                                   "which has 0.0 MiB free: point TMPDIR")):
        plan_storage({"train": {"a": 100}}, 3, 10, stream=True)


# ---------------------------------------------------------------------------- the jobs


def _spy_on_fits(monkeypatch) -> list:
    """Record, for every estimator fit and every clip store, whether its arrays are on
    disk."""
    from sklearn_crossenc.encoder import _estimator
    from sklearn_crossenc.ridge import _cross_subject

    seen = []
    for cls in (_estimator.CrossSubjectEncoder, _cross_subject.CrossSubjectRidge):
        fit = cls.fit

        def spy(self, X, y=None, _fit=fit, **kw):
            seen.append((type(self).__name__, all(on_disk(x) for x in X)))
            return _fit(self, X, y, **kw)

        monkeypatch.setattr(cls, "fit", spy)
    store = _estimator.ClipStore

    def clip_store(episodes, device, targets=None):
        seen.append(("ClipStore", all(on_disk(x) for x in episodes)))
        return store(episodes, device, targets)

    monkeypatch.setattr(_estimator, "ClipStore", clip_store)
    return seen


def test_compare_streamed_gives_the_numbers_it_gives_in_memory(synthetic_root, scratch,
                                                               monkeypatch):
    kwargs = dict(quick=True, device="cpu", n_resamples=200, n_threads=1)
    plain = run_comparison(synthetic_root, stream=False, **kwargs)
    seen = _spy_on_fits(monkeypatch)
    lines = []
    streamed = run_comparison(synthetic_root, stream=True, log=lines.append, **kwargs)
    _same(plain, streamed)
    assert all(r["status"] == "ok" for r in streamed["models"].values())
    assert streamed["config"]["storage"]["stream"] is True
    assert plain["config"]["storage"]["stream"] is False
    assert any(line.startswith("Runs: streamed from disk (stream=True)") for line in lines)
    # Each model read the scratch file: the encoder's standardised copy is on disk too.
    assert {name for name, _ in seen} == {"CrossSubjectEncoder", "CrossSubjectRidge",
                                          "ClipStore"}
    assert all(ok for _, ok in seen), seen
    kept = [x for runs in streamed["predictions"]["runs"].values() for x in runs.values()]
    assert kept and all(on_disk(x) for x in kept)  # the kept predictions too
    assert not any(on_disk(x) for runs in plain["predictions"]["runs"].values()
                   for x in runs.values())
    assert _stores(scratch) == []


def test_compare_streams_by_itself_when_the_memory_is_short(synthetic_root, scratch,
                                                            monkeypatch):
    kwargs = dict(models=["mean", "ridge"], quick=True, n_resamples=100)
    plain = run_comparison(synthetic_root, **kwargs)
    assert plain["config"]["storage"]["stream"] is False  # plenty of memory here
    run_mib = plain["config"]["storage"]["run_mib"]
    monkeypatch.setattr("sklearn_crossenc.encoder._memory.available_memory",
                        lambda: int(1.5 * run_mib * 2**20))  # more than half, less than all
    streamed = run_comparison(synthetic_root, **kwargs)
    assert streamed["config"]["storage"]["stream"] is True
    assert "more than 50% of the" in streamed["config"]["storage"]["reason"]
    _same(plain, streamed)


def test_a_streamed_search_in_worker_processes_gives_the_same_scores(synthetic_root, scratch):
    kwargs = dict(param_grid={"embed_dim": [2, 4]}, cv=2, quick=True, seasons=[1, 2],
                  n_jobs=2, device="cpu", n_threads=1)
    plain = run_grid_search(synthetic_root, stream=False, **kwargs)
    streamed = run_grid_search(synthetic_root, stream=True, **kwargs)
    for key in plain["cv_results"]:
        if key.startswith(("mean_test", "split", "rank")):
            assert np.array_equal(plain["cv_results"][key], streamed["cv_results"][key]), key
    assert streamed["config"]["storage"]["stream"] is True
    assert _stores(scratch) == []


def test_compare_streamed_in_worker_processes_gives_the_one_process_numbers(synthetic_root,
                                                                           scratch):
    kwargs = dict(models=["mean", "ridge", "encoder"], quick=True, device="cpu",
                  n_resamples=100, n_threads=1)
    plain = run_comparison(synthetic_root, stream=False, **kwargs)
    streamed = run_comparison(synthetic_root, stream=True, n_jobs=2, **kwargs)
    _same(plain, streamed)
    assert streamed["config"]["storage"]["stream"] is True and _stores(scratch) == []


def _on_disk_in_worker(x):
    return on_disk(x), np.array(x), os.getpid()


def test_worker_processes_reopen_streamed_runs_by_name(scratch):
    """Each run reaches a worker as the same (S, T, C) values, read from the file (joblib
    up to 1.4 rebuilt views of a 1-D memmap in Fortran order: scrambled runs)."""
    from joblib import Parallel, delayed

    with RunStore(4 * 3 * 50 * 4) as store:
        runs = [store.empty((3, 50, 4)), store.empty((2, 7, 4))]  # (S, T, C)
        for k, x in enumerate(runs):
            x[:] = np.arange(x.size, dtype=np.float32).reshape(x.shape) + 1000 * k
        out = Parallel(n_jobs=2)(delayed(_on_disk_in_worker)(x) for x in runs)
    assert all(disk for disk, _, _ in out), out
    assert all(pid != os.getpid() for _, _, pid in out)
    for x, (_, got, _) in zip(runs, out, strict=True):
        assert got.shape == x.shape and np.array_equal(got, x)


def test_headroom_streamed_gives_the_numbers_it_gives_in_memory(tmp_path, scratch):
    rng = np.random.default_rng(2)
    path, runs, keys = bids_keyed_dataset(tmp_path / "ds", rng)
    stim = {f"sub-{s}": {k: 0.5 * runs[k][i] + rng.normal(size=(30, 8)) for k in keys[3:]}
            for i, s in enumerate("abc")}
    kwargs = dict(dataset=path, quick=True, device="cpu", n_resamples=50, n_threads=1)
    plain = run_headroom({"stim": stim}, stream=False, **kwargs)
    streamed = run_headroom({"stim": stim}, stream=True, **kwargs)
    _same(plain, streamed)
    assert streamed["config"]["storage"]["stream"] is True and _stores(scratch) == []


def test_add_subject_streamed_gives_the_numbers_it_gives_in_memory(synthetic_root, scratch):
    from sklearn_crossenc.jobs.new_subject import run_new_subject

    kwargs = dict(budgets_min=(1, None), quick=True, device="cpu", n_threads=1,
                  with_encoder=False)
    plain = run_new_subject(synthetic_root, stream=False, **kwargs)
    streamed = run_new_subject(synthetic_root, stream=True, **kwargs)
    _same(plain, streamed)
    assert streamed["config"]["storage"]["stream"] is True and _stores(scratch) == []


# ---------------------------------------------------------------------------- the command line


def test_compare_stream_on_the_command_line(synthetic_root, tmp_path, scratch):
    from sklearn_crossenc.cli import main

    out = tmp_path / "out"
    assert main(["compare", "--data-dir", str(synthetic_root), "--quick", "--models", "mean",
                 "--stream", "--out", str(out), "--quiet", "--no-figures"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["config"]["storage"]["stream"] is True
    assert main(["compare", "--data-dir", str(synthetic_root), "--quick", "--models", "mean",
                 "--no-stream", "--out", str(tmp_path / "out2"), "--quiet",
                 "--no-figures"]) == 0
    doc = json.loads((tmp_path / "out2" / "report.json").read_text())
    assert doc["config"]["storage"]["stream"] is False
    assert _stores(scratch) == []


@pytest.mark.slow
def test_sigterm_during_a_streamed_fit_leaves_no_scratch_file(synthetic_root, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sklearn_crossenc", "compare", "--data-dir", str(synthetic_root),
         "--models", "encoder", "--stream", "--out", str(tmp_path / "out"), "--quiet",
         "--device", "cpu"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _stores(scratch) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert _stores(scratch), "the streamed run never made its store"
    time.sleep(1.0)  # inside the fit
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, err
    assert _stores(scratch) == [], err
    assert not (tmp_path / "out").exists()

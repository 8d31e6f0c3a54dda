"""Grid search and cross-validation on a local 2-process Dask cluster, data scattered once."""

from __future__ import annotations

import os
import socket
import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import torch  # noqa: E402
from joblib._dask import DaskDistributedBackend  # noqa: E402
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate  # noqa: E402

from sklearn_crossenc import CrossSubjectEncoder, CrossSubjectRidge, pearson_scorer  # noqa: E402
from sklearn_crossenc.data import as_episodes, episode_groups  # noqa: E402
from sklearn_crossenc.distributed import (  # noqa: E402
    dask_backend,
    import_distributed,
    worker_devices,
)

# n_threads=1: the serial run and the workers (one thread each) do the same arithmetic.
FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=2,
            device="cpu", random_state=0, n_threads=1)
GRID = {"embed_dim": [2, 4]}
SCORE_KEYS = ("split0_test_score", "split1_test_score", "mean_test_score", "rank_test_score")


@pytest.fixture(scope="module")
def client():
    # The active memory manager (on by default since dask 2022.11) drops replicas it deems
    # redundant every 2 s, so "every worker holds the broadcast copy" would be a race: off.
    with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
    with cluster, distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2)
        yield c


@pytest.fixture(scope="module")
def friends(friends_tiny):
    train, _ = friends_tiny
    return as_episodes(train), episode_groups(train)  # list of (S, T_i, C), (E,)


@pytest.fixture
def submitted(monkeypatch):
    """Every (function, args, kwargs) task joblib's dask backend submits, as submitted."""
    seen = []
    original = DaskDistributedBackend._to_func_args

    async def spy(self, func):
        batch, tasks = await original(self, func)
        seen.extend(tasks)
        return batch, tasks

    monkeypatch.setattr(DaskDistributedBackend, "_to_func_args", spy)
    return seen


def _encoder_search(n_jobs):
    return GridSearchCV(CrossSubjectEncoder(**FAST), GRID, scoring=pearson_scorer,
                        cv=GroupKFold(n_splits=2), n_jobs=n_jobs, refit=False)


def test_encoder_grid_on_cluster_equals_serial_and_data_is_scattered_once(
        client, friends, submitted):
    X, groups = friends
    serial = _encoder_search(1).fit(X, groups=groups).cv_results_
    with distributed.get_task_stream(client) as stream:
        with dask_backend(client, scatter=(X,)):
            dist = _encoder_search(-1).fit(X, groups=groups).cv_results_
    for key in SCORE_KEYS:
        np.testing.assert_array_equal(dist[key], serial[key], err_msg=key)
    assert np.all(np.isfinite(dist["mean_test_score"]))
    # 2 candidates x 2 folds ran as 4 tasks on the cluster's workers (which of the two
    # workers takes which task is up to the scheduler).
    assert len(submitted) == 4
    assert {t["worker"] for t in stream.data} <= set(client.scheduler_info()["workers"])
    # Every task carries a reference to the same scattered copy of X, not X itself ...
    xs = [args[1] for _, args, _ in submitted]
    assert all(isinstance(x, distributed.Future) for x in xs)
    assert len({x.key for x in xs}) == 1
    # ... which every worker received once, before the first task (broadcast).
    holders = [w for w, keys in client.has_what().items() if xs[0].key in keys]
    assert len(holders) == 2


def test_without_scatter_the_episode_list_travels_with_every_task(client, friends, submitted):
    """Why scatter matters: joblib cannot weak-reference a list, so it ships it each time."""
    X, groups = friends
    with dask_backend(client):
        _encoder_search(-1).fit(X[:8], groups=groups[:8])
    xs = [args[1] for _, args, _ in submitted]
    assert len(xs) == 4 and all(type(x) is list and len(x) == 8 for x in xs)


def test_ridge_cross_validate_on_cluster_equals_serial(client, friends):
    """Also a second scatter of the same X in the same session (it once lost its copy)."""
    X, groups = friends
    kw = dict(groups=groups, cv=GroupKFold(n_splits=3), scoring=pearson_scorer)
    ridge = CrossSubjectRidge(alphas=(1.0, 100.0, 1e4), delays=(0, 1), cv=2)
    serial = cross_validate(ridge, X, n_jobs=1, **kw)["test_score"]
    with dask_backend(client, scatter=(X,)):
        dist = cross_validate(ridge, X, n_jobs=-1, **kw)["test_score"]
    assert serial.shape == (3,) and np.all(np.isfinite(serial))
    # BLAS may split sums differently between this process and the 1-thread workers.
    np.testing.assert_allclose(dist, serial, rtol=1e-5, atol=1e-7)


def test_worker_devices_report_what_auto_resolves_to(client):
    devices = worker_devices(client)
    assert len(devices) == 2
    pids = {d["pid"] for d in devices.values()}
    assert len(pids) == 2 and os.getpid() not in pids
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert {d["device"] for d in devices.values()} == {expected}


def test_local_cluster_is_started_and_closed():
    with dask_backend(n_workers=1) as c:
        assert len(c.scheduler_info()["workers"]) == 1
        X = list(np.random.default_rng(0).standard_normal((4, 3, 20, 5)))  # (E, S, T, C)
        res = cross_validate(CrossSubjectRidge(alphas=(1.0,), cv=2), X, cv=2, n_jobs=-1,
                             scoring=pearson_scorer)
        assert res["test_score"].shape == (2,)
    assert c.status == "closed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_clear_error():
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(OSError, match=f"cannot reach the Dask scheduler at '{address}' within "
                                      "1 s"):
        with dask_backend(address, timeout=1):
            pass


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(scatter=np.zeros((2, 3, 4, 5))), TypeError, "scatter must be a tuple of the objects"),
    (dict(scatter=[np.zeros((3, 4, 5))] * 2), ValueError,
     r"scatter holds 2 episode arrays; pass the episodes as one object: scatter=\(X,\)"),
    (dict(n_workers=0), ValueError, "n_workers must be None or a positive integer; got 0"),
    (dict(scheduler=8786), ValueError, "scheduler must be None .* got 8786"),
    (dict(scheduler="tcp://h:8786", n_workers=2), ValueError,
     "n_workers only applies when dask_backend starts a local cluster"),
])
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        with dask_backend(**kwargs):
            pass


def test_missing_distributed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-crossenc\[distributed\]'"):
        import_distributed()
    with pytest.raises(ImportError, match="'distributed' extra"):
        with dask_backend("tcp://h:8786"):
            pass


def test_repeated_blocks_on_the_same_data_each_get_their_own_copy(client, friends):
    """Content-hashed keys let an old block's release drop a new block's copy; ours are fresh."""
    from joblib.parallel import get_active_backend

    from sklearn_crossenc import MeanOfOthers

    X, _ = friends
    keys = []
    for _ in range(4):
        with dask_backend(client, scatter=(X,)):
            keys.append(get_active_backend()[0].data_futures[id(X)].key)
            res = cross_validate(MeanOfOthers(), X, cv=2, n_jobs=-1, scoring=pearson_scorer)
        assert np.all(np.isfinite(res["test_score"]))
    assert len(set(keys)) == 4


@pytest.mark.parametrize("address", ["not an address", "tcp://host-without-port",
                                     "foo://x:1"])
def test_a_scheduler_address_that_does_not_parse_is_one_line_at_once(synthetic_root, tmp_path,
                                                                       address):
    """Issue 31, defect 11: the right line, then a 60 s hang and a traceback (a Client whose
    constructor failed on its address, closed by its finaliser at exit)."""
    import subprocess
    import time
    from pathlib import Path

    argv = [sys.executable, "-m", "sklearn_crossenc", "grid", "--data-dir", str(synthetic_root),
            "--out", str(tmp_path / "o"), "--quick", "--quiet", "--param", "embed_dim=2",
            "--cv", "2", "--split", "kfold", "--seasons", "1", "--scheduler", address]
    t0 = time.monotonic()
    repo = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=50, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": repo})
    assert time.monotonic() - t0 < 45  # the hang was 60 s on top of the start-up
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"crossenc grid: error: scheduler {address!r} is not an address "
                               "such as 'tcp://host:8786'")
    assert not (tmp_path / "o").exists()

"""Issue 24: ``compare`` on several processes or a Dask cluster gives the numbers of
``n_jobs=1`` for the same random states: tuning choices, repeats, intervals, maps."""

from __future__ import annotations

import numpy as np
import pytest
from bench_compare_parallel import comparable_numbers

from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.report._files import _flat_maps

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

KW = dict(models=["encoder", "ridge", "mean"], quick=True, tune=True,
          param_grid={"embed_dim": [4, 8]}, repeats=2, n_threads=1, device="cpu",
          n_resamples=200)


@pytest.fixture(scope="module")
def serial(synthetic_root):
    return run_comparison(synthetic_root, n_jobs=1, **KW)


@pytest.fixture(scope="module")
def cluster_address():
    with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
    with cluster:
        yield cluster.scheduler_address


def _assert_same(a, b):
    assert comparable_numbers(a) == comparable_numbers(b)
    ma, mb = _flat_maps(a["maps"]), _flat_maps(b["maps"])
    assert sorted(ma) == sorted(mb)
    for k in ma:
        np.testing.assert_array_equal(ma[k], mb[k])


@pytest.mark.slow
def test_two_local_processes_give_the_serial_numbers(serial, synthetic_root):
    _assert_same(serial, run_comparison(synthetic_root, n_jobs=2, **KW))


@pytest.mark.slow
def test_a_dask_cluster_gives_the_serial_numbers(serial, synthetic_root, cluster_address):
    logs = []
    on_cluster = run_comparison(synthetic_root, scheduler=cluster_address, log=logs.append,
                                **KW)
    _assert_same(serial, on_cluster)
    search = on_cluster["models"]["CrossSubjectEncoder"]["tuning"]["search"]
    assert search["best_params"] == serial["models"]["CrossSubjectEncoder"]["tuning"][
        "search"]["best_params"]
    assert on_cluster["config"]["scheduler"] == cluster_address
    assert any(m.startswith("fits: ") and m.endswith("0 left") for m in logs)


def test_bad_parallel_options_are_refused_before_any_work(synthetic_root, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("no fit may start")

    monkeypatch.setattr("sklearn_crossenc.jobs.compare._run_models", never)
    with pytest.raises(ValueError, match="--n-jobs must be a non-zero integer"):
        run_comparison(synthetic_root, models=["mean"], n_jobs=0)
    with pytest.raises(OSError, match="tcp://127.0.0.1:1"):
        run_comparison(synthetic_root, models=["mean"], scheduler="tcp://127.0.0.1:1")


def test_every_fit_runs_with_the_plans_blas_threads(monkeypatch):
    """A BLAS sums in an order that depends on its thread count: the ridges' numbers on a
    worker (joblib gives each one ``cores / n_jobs`` threads) equalled the calling
    process's only to about 1e-8 until each fit ran with the plan's threads."""
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_info, threadpool_limits

    from sklearn_crossenc.jobs import _fits
    from sklearn_crossenc.jobs._registry import get_model
    from sklearn_crossenc.jobs._tuning import TuningPlan

    if max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"),
           default=1) < 2:
        pytest.skip("the BLAS here has a single thread: nothing to limit")
    seen = []

    def fit_model(spec, params, X, y, plan, log):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return None, {}

    monkeypatch.setattr(_fits, "fit_model", fit_model)
    task = _fits.FitTask(get_model("ridge"), {})
    inputs = {"train": (None, None)}
    with threadpool_limits(limits=2, user_api="blas"):
        _fits.run_task(task, inputs, "train", TuningPlan(cv=KFold(2), n_threads=1), trim=0)
        _fits.run_task(task, inputs, "train", TuningPlan(cv=KFold(2)), trim=0)
    assert seen == [{1}, {2}]

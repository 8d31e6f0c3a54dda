"""The fits of a job "on the cluster" run on its workers, and a scheduler lost during them
stops the job with its address (issue 31: a dead scheduler had the fits run in the
calling process while report.json still named the scheduler)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from joblib import Parallel, delayed  # noqa: E402

from sklearn_crossenc.distributed import (  # noqa: E402
    SchedulerLost,
    check_scheduler,
    dask_backend,
)
from sklearn_crossenc.jobs._parallel import run_parallel  # noqa: E402


@pytest.fixture
def one_thread_cluster():
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(1)
        yield client


def test_a_one_thread_cluster_runs_the_fits_on_its_worker(one_thread_cluster):
    """joblib runs a call whose effective n_jobs is 1 in the calling process: a search
    "on the cluster" then never used it. Both ways of running fits go to the worker."""
    here = os.getpid()
    with dask_backend(one_thread_cluster):
        direct = run_parallel(os.getpid, [()] * 3, -1)
        searched = Parallel(n_jobs=-1)(delayed(os.getpid)() for _ in range(3))
    worker = set(one_thread_cluster.run(os.getpid).values())
    assert set(direct) == worker and here not in direct
    assert set(searched) == worker and here not in searched


def test_a_cluster_without_workers_is_refused_before_any_work():
    cluster = distributed.LocalCluster(n_workers=0, dashboard_address=":0")
    with cluster:
        with pytest.raises(OSError, match=f"the Dask scheduler at '{cluster.scheduler_address}'"
                                          " has no workers"):
            check_scheduler(cluster.scheduler_address, timeout=1)


@pytest.fixture
def scheduler_process(tmp_path):
    """A scheduler and one two-thread worker in processes of their own: the scheduler can
    die as it would on a cluster."""
    file = tmp_path / "scheduler.json"
    python = [sys.executable, "-m"]
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sched = subprocess.Popen(python + ["distributed.cli.dask_scheduler", "--port", "0",
                                       "--no-dashboard", "--scheduler-file", str(file)], **quiet)
    worker = None
    try:
        for _ in range(300):
            if file.exists() and file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        worker = subprocess.Popen(python + ["distributed.cli.dask_worker", address,
                                            "--nthreads", "2", "--no-dashboard"], **quiet)
        check_scheduler(address, timeout=30)
        yield address, sched
    finally:
        for p in (worker, sched):
            if p is not None:
                p.kill()
                p.wait()


@pytest.mark.slow
@pytest.mark.parametrize("way", ["run_parallel", "joblib"])
def test_a_scheduler_lost_during_the_fits_stops_the_job_naming_it(scheduler_process, way):
    address, sched = scheduler_process
    threading.Timer(2.0, sched.kill).start()
    t0 = time.monotonic()
    with pytest.raises(SchedulerLost, match=f"the Dask scheduler at '{address}' was lost "
                                            "during the fits"):
        with dask_backend(address):
            if way == "run_parallel":
                run_parallel(time.sleep, [(1.0,)] * 40, -1)
            else:
                Parallel(n_jobs=-1)(delayed(time.sleep)(1.0) for _ in range(40))
    # 40 one-second sleeps on two threads take 20 s: the job stopped soon after the loss
    # (within Dask's reconnection timeout), not after every sleep ran in this process.
    assert time.monotonic() - t0 < 19


def test_n_jobs_caps_the_fits_running_at_once_on_the_cluster():
    def span(_):
        start = time.monotonic()
        time.sleep(0.4)
        return start, time.monotonic()

    def most_at_once(spans):
        return max(sum(s <= t < e for s, e in spans) for t, _ in spans)

    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=3, processes=False,
                                       dashboard_address=":0")
    calls = [(i,) for i in range(6)]
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        with dask_backend(client):
            assert most_at_once(run_parallel(span, calls, 1)) == 1
            assert most_at_once(run_parallel(span, calls, 2)) == 2
            assert most_at_once(run_parallel(span, calls, -1)) == 3

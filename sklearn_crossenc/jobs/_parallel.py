"""A job's fits in parallel: local processes or a Dask cluster, one implementation.

``crossenc grid`` and ``crossenc compare`` take the same two options: ``--n-jobs N``
(parallel fits; joblib's processes on this machine) and ``--scheduler ADDRESS`` (the
fits go to the workers of a running Dask cluster, the data sent to each worker once,
each worker resolving ``--device`` itself). :func:`check_parallel` checks them before any
work, :func:`parallel_context` opens the backend, :func:`run_parallel` runs independent
calls through it and reports the fits done and remaining.

The same random states give the same numbers with any ``n_jobs`` or cluster: each fit
is the same computation wherever it runs (fix ``--threads``: the order of a sum, and so
its last bits, can depend on the number of threads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from .._device import resolve_device
from .._log import noop

__all__ = ["check_parallel", "effective_n_jobs", "parallel_context", "run_parallel"]


def check_parallel(n_jobs, scheduler, device) -> str:
    """Check ``n_jobs`` and ``scheduler``; return the encoder's device setting (resolved
    here, or left to each worker on a cluster)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"--n-jobs must be a non-zero integer (1, N > 1, or -1 for all "
                         f"cores); got {n_jobs!r}.")
    if scheduler is None:
        return str(resolve_device(device))
    from ..distributed import check_scheduler, import_distributed

    try:
        import_distributed()
    except ImportError as err:
        raise RuntimeError(str(err)) from None
    check_scheduler(scheduler)  # answers now, before the data is read
    return device  # resolved by each worker when it fits (its own GPU, if any)


def effective_n_jobs(n_jobs: int, scheduler) -> int:
    """``n_jobs`` as joblib takes it: on a cluster, 1 means every worker thread (-1)."""
    return -1 if scheduler is not None and n_jobs == 1 else n_jobs


def parallel_context(scheduler, scatter: tuple = ()):
    """The joblib context of a job's fits: the Dask cluster at ``scheduler``, with the
    objects of ``scatter`` sent to its workers once; else joblib's default (local
    processes)."""
    if scheduler is None:
        return contextlib.nullcontext()
    from ..distributed import dask_backend

    return dask_backend(scheduler, scatter=tuple(scatter) or None)


def run_parallel(func: Callable, calls: Sequence[tuple], n_jobs: int, *, log=noop,
                 what: str = "fits") -> list:
    """``[func(*args) for args in calls]``, ``n_jobs`` at a time through the current
    joblib backend, in order; logs ``"<what>: k done, m left"`` as results arrive.

    The arguments travel as arguments (never inside a closure), so that a backend that
    scattered an object to its workers sends only its key.

    On a Dask cluster (inside :func:`parallel_context` with a scheduler) every call is a
    task on the workers, never in this process, whatever the cluster's thread count
    (:func:`~sklearn_crossenc.distributed.cluster_map`): a worker lost in the middle of a
    fit has its fit started again elsewhere (Dask's own retries); a fit lost again and
    again, or the scheduler lost, stops the job with one line.
    """
    from joblib import Parallel, delayed

    calls = list(calls)
    if _cluster_client() is not None:
        from ..distributed import cluster_map

        return cluster_map(func, calls, at_once=n_jobs, what=what,
                           on_result=lambda k, m: log(f"{what}: {k} done, {m} left"))
    if n_jobs == 1 or len(calls) <= 1:
        out = []
        for i, args in enumerate(calls):
            out.append(func(*args))
            log(f"{what}: {i + 1} done, {len(calls) - i - 1} left")
        return out
    out = []
    results = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(func)(*args)
                                                              for args in calls)
    for i, result in enumerate(results):
        out.append(result)
        log(f"{what}: {i + 1} done, {len(calls) - i - 1} left")
    return out


def _cluster_client():
    """The active Dask backend's client (inside :func:`parallel_context` with a
    scheduler), or None without importing ``distributed``."""
    import sys

    if "distributed" not in sys.modules:
        return None
    from ..distributed import active_client

    return active_client()

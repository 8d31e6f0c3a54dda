"""Run ``GridSearchCV`` / ``cross_validate`` on a Dask cluster through joblib.

scikit-learn's searches parallelise their fits with joblib; joblib's ``"dask"`` backend
sends each batch of fits to the workers of a Dask cluster. :func:`dask_backend` opens
that backend on a new local cluster, on a running scheduler (by address) or on an
existing ``distributed.Client``, and *scatters* the training data to every worker once::

    with dask_backend("tcp://scheduler:8786", scatter=(X,)):
        GridSearchCV(CrossSubjectEncoder(), grid, scoring=pearson_scorer, n_jobs=-1).fit(X)

Without ``scatter``, joblib ships every argument that it cannot weak-reference with
every task: a list of episodes (the loaders' dict values) would travel once per fit.
With ``scatter=(X,)`` each task carries only the key of the copy the workers already
hold. joblib finds the scattered object by identity (``id``), so pass the very object
given to ``fit``.

Devices: ``CrossSubjectEncoder(device="auto")`` resolves its device when ``fit`` runs,
that is on the worker. On a GPU machine start one worker process per GPU, each with its
own ``CUDA_VISIBLE_DEVICES`` (``dask-cuda``'s ``LocalCUDACluster`` does exactly that):
every worker then sees one GPU as ``cuda:0`` and ``"auto"`` picks it. See
``docs/scaling.md`` for the recipes and :func:`worker_devices` to check them.

Install the optional dependency with ``pip install 'sklearn-crossenc[distributed]'``.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
import os
import time

import numpy as np

__all__ = ["dask_backend", "worker_devices", "import_distributed", "check_scheduler",
           "cluster_map", "SchedulerLost"]

_EXTRA_HINT = (
    "install the 'distributed' extra: pip install 'sklearn-crossenc[distributed]' "
    "(or pip install 'dask[distributed]')"
)


def import_distributed():
    """Return the ``distributed`` module, or raise an ``ImportError`` naming the extra.

    Examples
    --------
    >>> from sklearn_crossenc.distributed import import_distributed
    >>> import_distributed().__name__
    'distributed'
    """
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            f"running on a Dask cluster needs the 'distributed' package, which is not "
            f"installed ({err}); {_EXTRA_HINT}."
        ) from err
    return distributed


def _check_scatter(scatter) -> list:
    """The objects to scatter, as a list; reject the easy mistakes with a clear message."""
    if scatter is None:
        return []
    if isinstance(scatter, np.ndarray) or not isinstance(scatter, (list, tuple)):
        raise TypeError(
            f"scatter must be a tuple of the objects passed to fit, e.g. scatter=(X,) or "
            f"scatter=(X, y); got {type(scatter).__name__}."
        )
    if scatter and all(isinstance(x, np.ndarray) and x.ndim == 3 for x in scatter):
        # A bare list of (subjects, time, parcels) episodes: joblib would scatter each
        # episode separately, then fail to recognise the list passed to fit and ship it
        # with every task.
        raise ValueError(
            f"scatter holds {len(scatter)} episode arrays; pass the episodes as one object: "
            "scatter=(X,) where X is the list given to fit."
        )
    return list(scatter)


def _check_n_workers(n_workers):
    if n_workers is None:
        return None
    if not isinstance(n_workers, numbers.Integral) or isinstance(n_workers, bool) \
            or n_workers < 1:
        raise ValueError(f"n_workers must be None or a positive integer; got {n_workers!r}.")
    return int(n_workers)


def _check_address(scheduler: str) -> None:
    """Refuse an address that does not parse before a ``Client`` is made of it: a Client
    whose constructor fails on its address hangs 60 s in its finaliser, then prints a
    traceback (``crossenc grid --scheduler 'not an address'``)."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(scheduler)
        if scheme not in backends:
            raise ValueError(f"unknown protocol {scheme!r}; known: {', '.join(sorted(backends))}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as err:
        raise ValueError(f"scheduler {scheduler!r} is not an address such as "
                         f"'tcp://host:8786': {err}.") from None


@contextlib.contextmanager
def _client_for(scheduler, n_workers, threads_per_worker, timeout):
    """Yield a ``distributed.Client``; close what this function opened, nothing else."""
    distributed = import_distributed()
    if isinstance(scheduler, distributed.Client):
        if n_workers is not None:
            raise ValueError("n_workers only applies when dask_backend starts a local cluster "
                             "(scheduler=None); the given Client's cluster is used as it is.")
        yield scheduler
        return
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
            dashboard_address=":0",
        )
        with cluster, distributed.Client(cluster, set_as_default=False) as client:
            yield client
        return
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise ValueError(
            f"scheduler must be None (a new local cluster), a scheduler address such as "
            f"'tcp://host:8786', or a distributed.Client; got {scheduler!r}."
        )
    if n_workers is not None:
        raise ValueError(f"n_workers only applies when dask_backend starts a local cluster "
                         f"(scheduler=None), not with the scheduler at {scheduler!r}.")
    _check_address(scheduler)
    if timeout is None:
        import dask
        from dask.utils import parse_timedelta

        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    try:
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise OSError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout} s: {err}"
        ) from err
    with client:
        yield client


class SchedulerLost(RuntimeError):
    """The Dask scheduler went away while a job's fits were running on its cluster."""


def _where(client) -> str:
    address = getattr(client, "scheduler", None)
    return repr(getattr(address, "address", None) or str(client))


def _check_connected(client, what: str = "fits", lost: bool = False) -> None:
    """Raise :class:`SchedulerLost` when ``client`` has lost its scheduler for good.

    A client whose scheduler dies tries to reconnect for Dask's connect timeout, then
    closes and cancels its futures; joblib's Dask backend may then go on in the calling
    process, so that a result naming the cluster would not have been computed on it.
    ``lost=True``: the caller already knows (a task cancelled by a client that is not
    running).
    """
    if client.status not in ("running", "connecting", "newly-created") or lost:
        raise SchedulerLost(
            f"the Dask scheduler at {_where(client)} was lost during the {what} (client "
            f"{client.status}); the run stopped before writing anything: restart the "
            "scheduler and its workers, or run without --scheduler.")


class _OneLine(logging.Filter):
    """A record's traceback cut to the exception's name: the client's reconnection errors
    stay one line each, the job's own message says what happened."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.getMessage()} ({record.exc_info[0].__name__})".strip()
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


@contextlib.contextmanager
def _stay_connected(client):
    """The block's errors, and its end, checked against a lost scheduler."""
    logger, one_line = logging.getLogger("distributed.client"), _OneLine()
    logger.addFilter(one_line)
    try:
        yield
    except SchedulerLost:
        raise
    except Exception as err:
        _check_connected(client, lost=client.status != "running" or _cancelled(err))
        raise err
    finally:
        logger.removeFilter(one_line)
    _check_connected(client)


def _cancelled(err: BaseException) -> bool:
    """A task cancelled because the client lost its scheduler (joblib passes Dask's
    error on as it is)."""
    return type(err).__name__ in ("FutureCancelledError", "CancelledError")


@contextlib.contextmanager
def dask_backend(scheduler=None, *, scatter=None, n_workers=None, threads_per_worker=1,
                 timeout=None, wait_for_workers_timeout=60):
    """Run the joblib-parallel parts of scikit-learn on a Dask cluster.

    Inside the block, ``GridSearchCV``, ``cross_validate`` and every other joblib user
    with ``n_jobs`` other than 1 send their fits to the cluster's workers.

    Parameters
    ----------
    scheduler : None, str or distributed.Client, default=None
        None starts a local cluster of ``n_workers`` worker processes for the block
        (and closes it afterwards). A string is the address of a running scheduler
        (``"tcp://host:8786"``): connect, and disconnect afterwards, leaving the cluster
        running. A ``Client`` is used as it is and left open.
    scatter : tuple of objects, optional
        Data sent to every worker once, before the first task: the objects given to
        ``fit`` (``(X,)`` or ``(X, y)``). Tasks then carry references to them.
    n_workers : int, optional
        Worker processes of the local cluster (default: one per CPU core). Only with
        ``scheduler=None``.
    threads_per_worker : int, default=1
        Threads of each local worker (fits running at once per process).
    timeout : float, optional
        Seconds to wait for a scheduler given by address (default: Dask's
        ``distributed.comm.timeouts.connect``, 30 s unless configured).
    wait_for_workers_timeout : float, default=60
        Seconds joblib waits for at least one worker to be up.

    Yields
    ------
    client : distributed.Client

    Raises
    ------
    ImportError
        When ``distributed`` is not installed (names the extra).
    OSError
        When the scheduler cannot be reached.
    TypeError, ValueError
        For a ``scatter`` that is not a tuple of objects or arguments that do not fit
        together.

    Notes
    -----
    The search must allow parallelism: ``n_jobs=-1`` (every worker thread) or ``None``;
    ``n_jobs=1`` runs sequentially in the calling process whatever the backend.
    ``refit=True`` refits the best candidate in the calling process, not on a worker.

    Examples
    --------
    >>> import numpy as np
    >>> from distributed import Client
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_crossenc import CrossSubjectRidge, pearson_scorer
    >>> from sklearn_crossenc.distributed import dask_backend
    >>> X = list(np.random.default_rng(0).standard_normal((4, 3, 30, 5)))  # (E, S, T, C)
    >>> grid = {"delays": [None, (0, 1)]}
    >>> with Client(processes=False, n_workers=1, dashboard_address=":0") as client:
    ...     with dask_backend(client, scatter=(X,)):
    ...         search = GridSearchCV(CrossSubjectRidge(alphas=(1.0, 10.0), cv=2), grid,
    ...                               scoring=pearson_scorer, cv=2, n_jobs=-1).fit(X)
    >>> search.cv_results_["mean_test_score"].shape
    (2,)
    """
    from joblib import parallel_config

    objects = _check_scatter(scatter)
    n_workers = _check_n_workers(n_workers)
    with _client_for(scheduler, n_workers, threads_per_worker, timeout) as client:
        backend = _cluster_backend(client, wait_for_workers_timeout)
        with parallel_config(backend=backend), _stay_connected(client):
            _scatter_unique(client, objects)
            yield client


def _cluster_backend(client, wait_for_workers_timeout):
    """joblib's Dask backend, except that a cluster of one worker thread still runs the
    fits (joblib runs a parallel call whose ``effective_n_jobs`` is 1 in the calling
    process, so that a search "on the cluster" would not have used it at all), and that
    ``n_jobs`` > 1 caps the batches joblib keeps going (joblib's own takes every thread)."""
    from joblib._dask import DaskDistributedBackend

    class ClusterBackend(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs):
            threads = super().effective_n_jobs(n_jobs)
            return max(2, min(threads, n_jobs) if n_jobs is not None and n_jobs > 1
                       else threads)

    return ClusterBackend(client=client, wait_for_workers_timeout=wait_for_workers_timeout)


def check_scheduler(scheduler, timeout=None) -> None:
    """Connect to the scheduler at ``scheduler``, see at least one worker, disconnect: a
    job checks that its cluster answers and can compute before any work (an ``OSError``
    naming the address otherwise)."""
    with _client_for(scheduler, None, 1, timeout) as client:
        wait = timeout if timeout is not None else 10
        try:
            client.wait_for_workers(1, timeout=wait)
        except (OSError, TimeoutError):
            raise OSError(f"the Dask scheduler at {scheduler!r} has no workers (waited "
                          f"{wait:g} s): start some (dask worker {scheduler}) or run "
                          "without --scheduler.") from None


def _scatter_unique(client, objects) -> None:
    """Broadcast ``objects`` to every worker under fresh keys, for the active dask backend.

    joblib's own ``scatter=`` hashes the content into the key, so a second block on the
    same data reuses the first block's key, and the first block's late release (when its
    backend is garbage collected) can drop the second block's copy on the scheduler
    ("lost dependencies"). Fresh keys make each block's copy its own. The backend finds a
    scattered argument by the ``id`` of the object passed to ``fit``, as with ``scatter=``.
    """
    if not objects:
        return
    from joblib.parallel import get_active_backend

    backend = get_active_backend()[0]
    futures = client.scatter(objects, broadcast=True, hash=False)
    backend._scatter = list(objects)  # keeps the ids valid while the block runs
    backend.data_futures = {id(x): f for x, f in zip(objects, futures, strict=True)}


def _this_worker_device() -> dict:
    """Run on a worker: what ``device="auto"`` resolves to there."""
    from ._device import resolve_device

    return {
        "pid": os.getpid(),
        "device": str(resolve_device("auto")),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def worker_devices(client) -> dict:
    """The device ``CrossSubjectEncoder(device="auto")`` uses on each worker.

    Parameters
    ----------
    client : distributed.Client

    Returns
    -------
    devices : dict of str to dict
        Worker address -> ``{"pid", "device", "CUDA_VISIBLE_DEVICES"}``. On a GPU
        cluster set up as in ``docs/scaling.md`` each worker reports ``"cuda"`` and a
        different ``CUDA_VISIBLE_DEVICES``.
    """
    return client.run(_this_worker_device)


def active_client():
    """The ``distributed.Client`` of the active joblib Dask backend, or None."""
    from joblib.parallel import get_active_backend

    return getattr(get_active_backend()[0], "client", None)


def _lost(err: BaseException) -> bool:
    return type(err).__name__ in ("KilledWorker", "CommClosedError")


def cluster_map(func, calls, *, at_once: int = -1, on_result=None, what: str = "fits",
                poll: float = 0.2, no_worker_timeout: float = 60.0) -> list:
    """``[func(*args) for args in calls]`` on the workers of the active Dask backend.

    Every call is a task of its own on the cluster, never in this process (joblib runs
    a cluster of one worker thread in the calling process). An argument that
    :func:`dask_backend` scattered travels as its key. Results come back in the order of
    ``calls``; ``on_result(k_done, n_left)`` is called as each arrives; at most
    ``at_once`` tasks are on the cluster at a time (-1: all of them). A scheduler lost
    for good, a worker killed again and again (Dask's retries spent) or a cluster left
    without workers for ``no_worker_timeout`` seconds stop the run with one message; the
    remaining tasks are cancelled on every way out (Ctrl-C included).
    """
    from joblib.parallel import get_active_backend

    backend = get_active_backend()[0]
    client = backend.client
    scattered = getattr(backend, "data_futures", None) or {}
    calls = list(calls)
    futures: list = [None] * len(calls)
    out: list = [None] * len(calls)
    left = set(range(len(calls)))
    cap = len(calls) if at_once < 1 else at_once
    no_workers_since = None
    try:
        while left:
            running = [i for i in left if futures[i] is not None]
            for i in sorted(i for i in left if futures[i] is None)[:cap - len(running)]:
                futures[i] = client.submit(
                    func, *[scattered.get(id(a), a) for a in calls[i]], pure=False)
            for i in sorted(i for i in left if futures[i] is not None):
                if futures[i].status in ("finished", "error", "cancelled"):
                    out[i] = _result_of(futures[i], client, what)
                    left.discard(i)
                    if on_result is not None:
                        on_result(len(calls) - len(left), len(left))
            if not left:
                break
            _check_connected(client, what)
            if client.status == "running" and not client.scheduler_info()["workers"]:
                no_workers_since = no_workers_since or time.monotonic()
                if time.monotonic() - no_workers_since > no_worker_timeout:
                    raise SchedulerLost(
                        f"the Dask cluster at {_where(client)} has had no workers for "
                        f"{no_worker_timeout:g} s during the {what} ({len(left)} of "
                        f"{len(calls)} left); the run stopped before writing anything.")
            else:
                no_workers_since = None
            time.sleep(poll)
    finally:
        pending = [futures[i] for i in left if futures[i] is not None]
        if pending and client.status == "running":
            client.cancel(pending)
    return out


def _result_of(future, client, what: str):
    """A finished task's result; a cancelled or lost one as one message."""
    if future.status == "cancelled":
        _check_connected(client, what, lost=client.status != "running")
        raise SchedulerLost(f"a task of the {what} was cancelled on the Dask cluster at "
                            f"{_where(client)}; the run stopped before writing anything.")
    try:
        return future.result()
    except Exception as err:
        if _lost(err):
            raise RuntimeError(f"a Dask worker was lost again and again during the {what} "
                               f"({type(err).__name__}: {err}); the run stopped before "
                               "writing anything.") from None
        raise

"""The grid-search job: ``GridSearchCV`` of the encoder over episode folds.

:func:`run_grid_search` loads Friends runs, builds whole-run folds (one group per
season, or plain k-fold over runs), searches a grid of ``CrossSubjectEncoder``
parameters with the Pearson scorer, locally or on a Dask cluster, and returns the
search's ``cv_results_`` with its best candidate and timings. It prints nothing;
:mod:`sklearn_crossenc.report` formats and writes the results.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .._interrupt import interrupt_guard
from .._validation import check_trim
from ..scoring import METRICS, metric_name
from ._job import JobStart, noop
from ._parallel import check_parallel, effective_n_jobs, parallel_context
from ._preflight import check_threads, preflight_grid
from ._protocol import SEED_PROTOCOL, Protocol, RunSet, job_data
from ._registry import JobSettings, encoder_params
from ._splits import SPLITS, cv_splitter, run_groups
from ._tuning import SearchProgress, check_early_stopping

__all__ = ["SPLITS", "cv_splitter", "run_grid_search", "search_scoring"]


def search_scoring(names: Sequence[str], trim: int = 0):
    """``(scoring, refit_key, rank_column)`` for ``GridSearchCV`` from metric names.

    Names are those of :data:`sklearn_crossenc.scoring.METRICS`. One name: a single
    scorer (columns ``*_test_score``). Several: a dict, refit on the first (columns
    ``*_test_<name>``).

    Examples
    --------
    >>> from sklearn_crossenc.jobs.grid import search_scoring
    >>> scoring, key, rank = search_scoring(["r2", "neg_mean_squared_error"], trim=5)
    >>> sorted(scoring), key, rank
    (['neg_mean_squared_error', 'r2'], 'r2', 'rank_test_r2')
    """
    from ..scoring import make_episode_scorer

    names = [metric_name(n, "--scoring") for n in names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"--scoring takes distinct names among {', '.join(METRICS)}; "
                         f"got {' '.join(map(str, names)) or 'none'}.")
    if len(names) == 1:
        return make_episode_scorer(names[0], trim=trim), True, "rank_test_score"
    scoring = {n: make_episode_scorer(n, trim=trim) for n in names}
    return scoring, names[0], f"rank_test_{names[0]}"


def _check_options(param_grid, n_jobs: int, scheduler, device) -> str:
    """Check the grid and the parallel options; return the encoder's device setting."""
    if not isinstance(param_grid, Mapping) or not param_grid:
        raise ValueError(f"param_grid must be a non-empty dict; got {param_grid!r}.")
    return check_parallel(n_jobs, scheduler, device)


def run_grid_search(
    data_dir=None,
    *,
    param_grid: Mapping[str, Sequence] | None = None,
    cv: int = 3,
    split: str | None = None,
    seasons: Sequence[int] | None = None,
    n_jobs: int = 1,
    scheduler: str | None = None,
    device: str = "auto",
    random_state: int | None = 0,
    n_threads: int | None = None,
    trim: int = 0,
    scoring: Sequence[str] = ("pearson",),
    refit: bool = False,
    quick: bool = False,
    progress: bool = False,
    verbose: int = 0,
    log: Callable[[str], None] | None = None,
    protocol: Protocol = SEED_PROTOCOL,
    early_stopping="folds",
    threads: int | None = None,
    dataset=None,
    stream: bool | None = None,
) -> dict:
    """Grid search of ``CrossSubjectEncoder`` on Friends runs with the Pearson scorer.

    Parameters
    ----------
    data_dir : path-like, optional
        Competitor release folder or a synthetic one; None: the default synthetic
        dataset (generated once into the cache folder).
    param_grid : dict of str to list, optional
        Encoder parameter -> values, as for ``GridSearchCV``; default the encoder's
        grid in the model registry (:mod:`sklearn_crossenc.jobs._registry`).
    cv : int, default=3
        Number of folds; folds are whole runs.
    split : {"season", "kfold"}, optional
        See :func:`cv_splitter`; default ``"season"``, ``"kfold"`` for a ``dataset``
        (its runs have no seasons).
    seasons : sequence of int, optional
        Friends seasons to search on; default the protocol's training seasons (1-5).
    n_jobs : int, default=1
        Parallel fits (joblib). With ``scheduler``, 1 means every worker thread.
    scheduler : str, optional
        Address of a Dask scheduler to run the fits on (the ``distributed`` extra).
    device : str, default="auto"
        Device of the encoder (resolved by each worker on a cluster).
    random_state : int or None, default=0
        ``random_state`` of the encoder.
    n_threads : int or None, default=None
        torch threads of each fit (the encoder's ``n_threads``); None: the encoder's
        default ``"auto"`` (the cores no other process runs on when a fit starts).
    trim : int, default=0
        Time points left out at each end of every run by the scorers.
    scoring : sequence of str, default=("pearson",)
        Metric names of :data:`sklearn_crossenc.scoring.METRICS`; the first ranks the
        candidates (see :func:`search_scoring`).
    refit : bool, default=False
        Refit the best candidate on all runs; returned as ``best_estimator``.
    quick : bool, default=False
        The jobs' quick encoder settings (a smoke run).
    progress : bool, default=False
        Progress bars while loading.
    verbose : int, default=0
        ``GridSearchCV``'s verbosity.
    log : callable, optional
        Receives one-line messages.
    protocol : Protocol, optional
        Subjects and training runs (default the seed's); evaluation sets are never read.
    early_stopping : "folds", float or None, default="folds"
        How each candidate's training length is chosen inside its fit: early stopping on
        the last of the protocol's tuning folds of the runs it is trained on, on a random
        fraction of them, or None for the notebook's fixed 10 epochs (see
        :func:`~sklearn_crossenc.jobs.compare.run_comparison`).
    threads : int or None, optional
        Deprecated alias of ``n_threads``.
    dataset : path-like or DatasetDescription, optional
        A ``dataset.toml`` instead of the release layout: the search folds over its
        training runs (``split="kfold"``; no ``seasons``), its subjects.
    stream : bool, optional
        As for :func:`~sklearn_crossenc.jobs.compare.run_comparison`: the searched runs
        on disk (memory-mapped; joblib's processes reopen them by name) when they would
        take more than half the memory available, always (True) or never (False).

    Returns
    -------
    result : dict
        The common top level of every job (``schema_version``, ``job``,
        ``created_utc``, ``config``, ``environment``, ``timings``), then ``cv_results``
        (the search's ``cv_results_``), ``best_params``, ``best_score``,
        ``n_candidates``, ``n_runs``, ``rank_column`` (the ranking metric's column) and
        ``best_estimator`` (None without ``refit``).
    """
    from ._registry import REGISTRY

    if threads is not None:
        warnings.warn("run_grid_search(threads=...) is deprecated; use n_threads=...",
                      FutureWarning, stacklevel=2)
        n_threads = threads
    log = log or noop
    start = JobStart("grid")
    param_grid = dict(REGISTRY["encoder"].grid) if param_grid is None else param_grid
    device = _check_options(param_grid, n_jobs, scheduler, device)
    scorers, refit_key, rank_column = search_scoring(scoring, trim)
    root, protocol = job_data(data_dir, dataset, protocol, progress=progress, log=log)
    split = _check_split(split, seasons, protocol)
    runs = _searched_runs(protocol, seasons)
    check_early_stopping(early_stopping)
    settings = JobSettings(quick=quick, random_state=random_state, device=device,
                           n_threads=check_threads(n_threads), early_stopping=early_stopping,
                           cv=protocol.tuning_cv(quick))
    storage = preflight_grid(
        root, runs, protocol.subjects, param_grid=param_grid, base_params=lambda n: (
            encoder_params(settings, min_train_length=n)), cv=cv, split=split, refit=refit,
        trim=check_trim(trim, "--trim"), protocol=protocol, stream=stream,
        scheduler=scheduler)
    log(f"Loading {runs.label} from {root} ({storage.reason}) ...")
    with storage.store() as store:  # the runs' scratch file (if any) ends with the search
        return _search(locals(), start, root, protocol, runs, param_grid, scorers, refit_key,
                       rank_column, settings, split, store, storage)


def _search(args: dict, start, root, protocol: Protocol, runs: RunSet, param_grid, scorers,
            refit_key, rank_column, settings, split, store, storage) -> dict:
    """The search once checked: load (into ``store`` when the runs are streamed), search.
    ``args``: the job's arguments after their checks."""
    from sklearn.model_selection import GridSearchCV

    from ..data import as_episodes
    from ._registry import REGISTRY

    cv, n_jobs, scheduler, refit, log = (args[k] for k in ("cv", "n_jobs", "scheduler",
                                                          "refit", "log"))
    t0 = time.perf_counter()
    data = runs.load(protocol.source(root), protocol.subjects, progress=args["progress"],
                     store=store)
    load_s = time.perf_counter() - t0
    X = as_episodes(data)  # list of (S, T_i, C)
    groups = run_groups(data, described=protocol.dataset is not None)
    splitter = cv_splitter(split, cv, groups)
    estimator = REGISTRY["encoder"].make(
        encoder_params(settings, min_train_length=min(x.shape[1] for x in X)))
    n_candidates = int(np.prod([len(v) for v in param_grid.values()]))
    n_jobs = effective_n_jobs(n_jobs, scheduler)
    where = "" if scheduler is None else f" on the Dask cluster at {scheduler}"
    log(f"{n_candidates} candidates x {cv} folds over {len(X)} runs ({split}), "
        f"n_jobs={n_jobs}{where} ...")
    if n_jobs == 1 and scheduler is None:  # fits in this process: each one scored is logged
        scorers = _with_progress(scorers, n_candidates, cv, log)
    search = GridSearchCV(estimator, dict(param_grid), scoring=scorers, cv=splitter,
                          n_jobs=n_jobs, refit=refit_key if refit else False,
                          error_score="raise", verbose=args["verbose"])
    t0 = time.perf_counter()
    with interrupt_guard(), parallel_context(scheduler, (X,)):
        search.fit(X, groups=groups if split == "season" else None)
    search_s = time.perf_counter() - t0
    best = int(np.argmin(search.cv_results_[rank_column]))
    config = {**_config(args, root, runs, protocol, param_grid), "storage": storage.describe()}
    return start.result(
        config, {"load_s": load_s, "search_s": search_s},
        device="cpu" if scheduler is not None else settings.device,
        cv_results=search.cv_results_, best_params=search.cv_results_["params"][best],
        best_score=float(search.cv_results_[rank_column.replace("rank_", "mean_")][best]),
        n_candidates=n_candidates, n_runs=len(X), rank_column=rank_column,
        best_estimator=search.best_estimator_ if refit else None)


def _with_progress(scorers, n_candidates: int, cv: int, log):
    """The search's scorers with the first one logging each fit it scores."""
    first = next(iter(scorers)) if isinstance(scorers, dict) else None
    wrap = SearchProgress(scorers if first is None else scorers[first], n_candidates, cv,
                          "grid search", log)
    return wrap if first is None else {**scorers, first: wrap}


def _config(options: dict, root, runs, protocol, param_grid) -> dict:
    """The search's configuration as reported: its options and what they resolved to."""
    names = ("cv", "split", "n_jobs", "scheduler", "device", "random_state", "n_threads",
             "trim", "early_stopping")
    return {"data_dir": str(root),
            "default_dataset": options["data_dir"] is None and protocol.dataset is None,
            "param_grid": {k: list(v) for k, v in param_grid.items()},
            "seasons": None if runs.seasons is None else list(runs.seasons),
            **{k: options[k] for k in names},
            "scoring": [metric_name(n) for n in options["scoring"]],
            "refit": bool(options["refit"]), "quick": bool(options["quick"]),
            "protocol": protocol.describe()}


def _check_split(split, seasons, protocol: Protocol) -> str:
    """The split, resolved: ``"season"`` on the release, ``"kfold"`` on a dataset (whose
    runs have no seasons: ``"season"`` and ``seasons`` are refused)."""
    if protocol.dataset is None:
        return "season" if split is None else split
    if seasons is not None or split == "season":
        raise ValueError("a dataset.toml's runs have no Friends seasons: leave out --seasons "
                         "and use --split kfold (folds of whole training runs, in order).")
    return "kfold" if split is None else split


def _searched_runs(protocol: Protocol, seasons) -> RunSet:
    """The training runs a search folds over: the protocol's, or the seasons given."""
    if seasons is None:
        return protocol.train
    seasons = tuple(int(s) for s in seasons)
    return RunSet("search", "Friends seasons " + " ".join(map(str, seasons)), "friends",
                  seasons=seasons)

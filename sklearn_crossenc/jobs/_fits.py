"""The comparison's fits: one task per model and random state, and their results combined.

A stochastic model (the encoder) is fitted once per repeat, with random states
``random_state, random_state + 1, ...``; every other model once. Each task tunes and
fits its model on the training runs (:func:`~sklearn_crossenc.jobs._tuning.fit_model`)
and scores it on every evaluation set (per-parcel maps and per-run statistics). The
models' inputs are built once, in the calling process (:func:`model_inputs`), so that a
task needs nothing but them: tasks are independent of each other and
:func:`run_tasks` runs them ``n_jobs`` at a time, on local processes or a Dask cluster
(:mod:`~sklearn_crossenc.jobs._parallel`); a task with a grid search runs its search's
fits in parallel instead. The results are combined per model by :func:`combine`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from .._interrupt import interrupt_guard
from .._log import noop
from ..data._run_store import stored_like
from ..metrics import pearson_map
from ._parallel import effective_n_jobs, parallel_context, run_parallel
from ._registry import JobSettings, ModelSpec
from ._tuning import TuningPlan, fit_model

__all__ = ["FitTask", "model_inputs", "model_tasks", "run_task", "run_tasks", "combine",
           "scores_of"]


@dataclass(frozen=True)
class FitTask:
    """One fit: a model, its parameters, the repeat it is (0 for a deterministic model)."""

    spec: ModelSpec
    params: dict
    repeat: int = 0
    random_state: int | None = None


@dataclass
class FitResult:
    task: FitTask
    estimator: object
    tuning: dict
    fit_s: float
    eval_s: float
    maps: dict = field(default_factory=dict)  # set -> (S, C) r
    stats: dict = field(default_factory=dict)  # set -> RunStatistics
    predictions: dict = field(default_factory=dict)  # set -> list of (S, T_i, C), if kept


def model_tasks(specs, settings: JobSettings, repeats: int) -> list[FitTask]:
    """Every fit of a comparison: ``repeats`` per stochastic model, one per other model."""
    tasks = []
    for spec in specs:
        if not spec.stochastic:
            tasks.append(FitTask(spec, spec.params(settings)))
            continue
        for k in range(repeats):
            rs = None if settings.random_state is None else settings.random_state + k
            tasks.append(FitTask(spec, spec.params(replace(settings, random_state=rs)), k, rs))
    return tasks


def model_inputs(specs, source, sets: dict, keys) -> dict:
    """``{model label: {set key: (X, y)}}``: every set's inputs of every model, built once
    (``source``: the release folder or a dataset description, ``Protocol.source``)."""
    return {spec.label: {k: spec.inputs.build(source, sets[k]) for k in keys} for spec in specs}


def run_task(task: FitTask, inputs: dict, train_key: str, plan: TuningPlan, trim: int,
             log=noop, keep: bool = False) -> FitResult:
    """Tune and fit the task's model on the training set, score it on each other set.

    ``inputs`` is the model's ``{set key: (X, y)}`` (:func:`model_inputs`); ``keep``: the
    result holds the predictions too (for the headroom step).
    """
    from threadpoolctl import threadpool_limits

    from ..evaluation import run_statistics

    spec = task.spec
    # The plan's threads for BLAS too: the same numbers here and on any worker.
    with threadpool_limits(limits=plan.n_threads, user_api="blas"):
        t0 = time.perf_counter()
        with interrupt_guard():
            X, y = inputs[train_key]
            est, tuning = fit_model(spec, task.params, X, y, plan, log)
        result = FitResult(task, est, tuning, time.perf_counter() - t0, 0.0)
        t0 = time.perf_counter()
        for key, (X, y) in inputs.items():
            if key == train_key:
                continue
            target = X if y is None else y
            pred = spec.inputs.predict(est, X, y)
            result.maps[key] = pearson_map(target, pred, trim=trim)  # (S, C)
            result.stats[key] = run_statistics(target, pred, trim=trim)
            if keep:  # on disk when the runs are (streamed): off this process's memory
                result.predictions[key] = stored_like(target, pred)
        result.eval_s = time.perf_counter() - t0
    return result


def _label(task: FitTask) -> str:
    return task.spec.label + ("" if not task.spec.stochastic
                              else f" (random state {task.random_state})")


def run_tasks(tasks, inputs: dict, train_key: str, plan: TuningPlan, trim: int, *,
              scheduler=None, log=noop, keep=()) -> list[FitResult]:
    """Every task: those with a grid search one after the other (their searches' fits in
    parallel), the others ``plan.n_jobs`` at a time; results in the order of ``tasks``.
    The results of the models named in ``keep`` hold their predictions.

    With ``scheduler`` the fits run on that Dask cluster, every model's inputs sent to
    each worker once.
    """
    searched = [i for i, t in enumerate(tasks) if plan.grid_of(t.spec)]
    rest = [i for i in range(len(tasks)) if i not in searched]
    out: list = [None] * len(tasks)
    scatter = tuple(inputs.values()) + tuple(inputs[tasks[i].spec.label][train_key][0]
                                             for i in searched[:1])
    with parallel_context(scheduler, scatter):
        for i in searched:
            log(f"{_label(tasks[i])}: tuning and fitting ...")
            out[i] = run_task(tasks[i], inputs[tasks[i].spec.label], train_key, plan, trim, log,
                              tasks[i].spec.label in keep)
        if rest:
            log(f"fitting {', '.join(_label(tasks[i]) for i in rest)} ...")
            calls = [(tasks[i], inputs[tasks[i].spec.label], train_key, plan, trim, noop,
                      tasks[i].spec.label in keep) for i in rest]
            done = run_parallel(run_task, calls, effective_n_jobs(plan.n_jobs, scheduler),
                                log=log, what="fits")
            for i, result in zip(rest, done, strict=True):
                out[i] = result
    return out


def scores_of(r_map: np.ndarray, labels: list[str]) -> dict:
    """Mean over parcels then subjects, per subject, and the median parcel of a map."""
    per_subject = r_map.mean(axis=1)  # (S,)
    return {
        "mean": float(per_subject.mean()),
        "per_subject": {lab: float(v) for lab, v in zip(labels, per_subject, strict=True)},
        "median_parcel": float(np.median(r_map.mean(axis=0))),
    }


def _public_params(est) -> dict:
    """The estimator's parameters as JSON-friendly values (callbacks left out)."""
    out = {}
    for k, v in est.get_params(deep=False).items():
        if k == "callbacks":
            continue
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, tuple):
            v = list(v)
        elif not isinstance(v, (int, float, str, bool, list, dict, type(None))):
            v = repr(v)  # a splitter (the early-stopping hold-out), an optimizer class
        out[k] = v
    return out


def _spread(values: list[float]) -> dict:
    v = np.asarray(values, dtype=float)
    return {"sd": float(v.std(ddof=1)) if v.size > 1 else None,
            "min": float(v.min()), "max": float(v.max())}


def combine(results: list[FitResult], labels: list[str], eval_sets) -> tuple:
    """Per model: its entry of the result, its estimators, maps and run statistics.

    With repeats, a model's maps are the mean over repeats of its per-parcel r (so its
    mean score is the mean over repeats), its statistics the list of each repeat's.

    Returns ``(entries, estimators, maps, stats, predictions)`` keyed by model label;
    ``estimators`` holds one estimator per model, or the list of its repeats;
    ``predictions`` the kept predictions of a model fitted once (set -> runs).
    """
    by_model: dict[str, list[FitResult]] = {}
    for r in results:
        by_model.setdefault(r.task.spec.label, []).append(r)
    entries, estimators, maps, stats, predictions = {}, {}, {}, {}, {}
    for name, rs in by_model.items():
        if len(rs) == 1 and rs[0].predictions:
            predictions[name] = rs[0].predictions
        maps[name] = {k: np.mean([r.maps[k] for r in rs], axis=0) for k in eval_sets}
        stats[name] = {k: (rs[0].stats[k] if len(rs) == 1 else [r.stats[k] for r in rs])
                       for k in eval_sets}
        estimators[name] = rs[0].estimator if len(rs) == 1 else [r.estimator for r in rs]
        entries[name] = {
            "status": "ok", "params": _public_params(rs[0].estimator),
            "fit_s": float(sum(r.fit_s for r in rs)), "eval_s": float(sum(r.eval_s for r in rs)),
            "scores": {k: scores_of(m, labels) for k, m in maps[name].items()},
            "tuning": rs[0].tuning, "n_repeats": len(rs),
        }
        if rs[0].task.spec.stochastic:
            entries[name]["repeats"] = [
                {"random_state": r.task.random_state, "fit_s": r.fit_s,
                 "scores": {k: scores_of(r.maps[k], labels)["mean"] for k in eval_sets},
                 "chosen": r.tuning.get("chosen"), "search": r.tuning.get("search")}
                for r in rs]
            entries[name]["spread"] = {k: _spread([r.maps[k].mean(axis=1).mean() for r in rs])
                                       for k in eval_sets}
    return entries, estimators, maps, stats, predictions

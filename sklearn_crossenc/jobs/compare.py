"""The main job: fit every model on the seed's protocol and score it.

:func:`run_comparison` trains on Friends seasons 1-5 and evaluates on Friends season 6
and Movie10 run 1 (the seed notebook's protocol) for

- ``MeanOfOthers`` (each subject predicted by the mean of the others; no training),
- ``CrossSubjectRidge`` (ridge from the others' mean, alpha per parcel by CV),
- ``FeatureRidge`` (the development kit's stimulus-feature ridge; when features exist),
- ``CrossSubjectEncoder`` (the seed's model, seed defaults),

and returns every number in a dict: per model and per subject the mean Pearson r on both
evaluation sets (and the per-parcel maps), the oracle ceiling when the data is
synthetic, timings, the configuration, package versions and the device. It prints
nothing; messages go to the ``log`` callback and progress bars (tqdm, on stderr) are
shown only with ``progress=True``. Reports are written by :mod:`sklearn_crossenc.report`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from .._validation import check_trim
from ._evaluate import evaluate_comparison
from ._fits import combine, model_inputs, model_tasks, run_tasks, scores_of
from ._headroom import (
    add_challenge_scores,
    ceiling_predictions,
    headroom_fields,
    headroom_step,
    parcel_networks,
)
from ._job import JobStart, noop
from ._parallel import check_parallel
from ._preflight import check_evaluation_options, preflight_comparison
from ._protocol import SEED_PROTOCOL, Protocol, dataset_atlas, job_data, load_sets, oracle_ceiling
from ._registry import (
    EARLY_STOPPING_FOLDS,
    JobSettings,
    ModelSpec,
    reference_model,
    resolve_models,
)
from ._storage import check_stream
from ._tuning import TuningPlan, check_early_stopping

__all__ = ["resolve_models", "run_comparison"]


# ---------------------------------------------------------------------------- steps


def _check_options(models, device, trim, early_stopping, repeats, param_grid, n_jobs,
                   scheduler, stream) -> tuple[list[ModelSpec], str, int]:
    """The models' entries, the device (resolved here, or by each worker of a cluster)
    and ``trim``, checked before any work."""
    check_stream(stream)
    specs = resolve_models(models)
    dev = check_parallel(n_jobs, scheduler, device)
    trim = check_trim(trim)
    check_early_stopping(early_stopping)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1; got {repeats!r}.")
    if param_grid is not None and (not isinstance(param_grid, dict) or not param_grid):
        raise ValueError(f"param_grid must be a non-empty dict; got {param_grid!r}.")
    return specs, dev, trim


def _check_model_options(specs, repeats: int, tune) -> None:
    """Options that only some models use refuse a run without them: silently ignored, the
    report claimed intervals over random states no model drew."""
    names = ", ".join(s.name for s in specs)
    if repeats > 1 and not any(s.stochastic for s in specs):
        raise ValueError(
            f"--repeats {repeats} trains each stochastic model (the encoder) {repeats} times, "
            f"but --models holds none ({names}): drop --repeats, or add the encoder.")
    if tune and not any(s.grid for s in specs):
        raise ValueError(
            f"--tune searches the grid of a tunable model (the encoder), but --models holds "
            f"none ({names}): drop --tune, or add the encoder.")


def _find_atlas(root: Path, protocol: Protocol, atlas) -> tuple[Path | None, str | None]:
    """The parcellation for brain maps, or why there is none."""
    from ..evaluation import find_atlas

    if protocol.dataset is not None and atlas is None:
        atlas, reason = dataset_atlas(protocol.dataset)
        if atlas is None:
            return None, reason
    path, reason = find_atlas(root, subject=tuple(protocol.subjects)[0],
                              atlas=None if atlas is None else Path(atlas).expanduser())
    return (None if path is None else path.resolve()), reason


def _plan(protocol: Protocol, quick: bool, early_stopping, refit, tune, param_grid, n_jobs,
          n_threads=None) -> TuningPlan:
    """How the models tune: the protocol's folds (fewer under ``quick``), the encoder's
    early stopping and refit, the grid search."""

    cv = protocol.tuning_cv(quick)
    return TuningPlan(cv=cv, early_stopping=early_stopping, refit=bool(refit), tune=bool(tune),
                      param_grid=param_grid, n_jobs=n_jobs, n_threads=n_threads)


# ---------------------------------------------------------------------------- the job
def run_comparison(
    data_dir=None,
    *,
    models: Sequence[str] | None = None,
    device: str = "auto",
    quick: bool = False,
    random_state: int | None = 0,
    trim: int = 0,
    subjects: Sequence[int] | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    return_estimators: bool = False,
    n_threads: int | None = None,
    early_stopping: float | str | None = EARLY_STOPPING_FOLDS,
    refit: bool = True,
    tune: bool = False,
    param_grid: dict | None = None,
    repeats: int = 1,
    n_jobs: int = 1,
    scheduler: str | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    fdr: float = 0.05,
    atlas=None,
    seed=None,
    protocol: Protocol = SEED_PROTOCOL,
    dataset=None,
    stream: bool | None = None,
) -> dict:
    """Fit every model on Friends s1-5 and score it on Friends s6 and Movie10 run 1.

    Parameters
    ----------
    data_dir : path-like, optional
        Competitor release folder (or a synthetic one). None: the embedded default,
        the synthetic ``"small"`` dataset generated once into the cache folder
        (:func:`sklearn_crossenc.data.default_data_dir`). Nothing is written into a
        given ``data_dir``.
    models : sequence of str, optional
        Subset of ``encoder``, ``ridge``, ``feature``, ``mean`` (or class names);
        default all. ``FeatureRidge`` is skipped (status ``"skipped"``) when the data
        folder has no stimulus features.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of the encoder.
    quick : bool, default=False
        Reduced training (2 short epochs; short alpha grids, 2 folds): a smoke run.
    random_state : int or None, default=0
        ``random_state`` of the encoder.
    trim : int, default=0
        TRs left out at each end of every evaluated run (the seed uses 0; the
        challenge 5).
    subjects : sequence of int or str, optional
        Subjects to load; default the protocol's (1, 2, 3, 5), or the labels of
        ``dataset`` (less its excluded ones).
    progress : bool, default=False
        Show tqdm progress bars (loading, epochs, ridge folds) on stderr.
    log : callable, optional
        Receives one-line progress messages (nothing is printed otherwise).
    return_estimators : bool, default=False
        Also return the fitted estimators under ``"estimators"``.
    n_threads : int, optional
        Threads of each fit: the encoder's torch threads (its ``n_threads``) and the BLAS
        threads of the ridges; default the encoder's ``"auto"`` (the cores no other
        process runs on when a fit starts) and BLAS's own for the ridges.
    early_stopping : "folds", float or None, default="folds"
        How the encoder's training length is chosen on the training runs: ``"folds"``
        holds out the last of the protocol's tuning folds (the folds on which the ridges
        choose their alphas) and stops at the first epoch whose Pearson score on them does
        not improve, keeping the best weights (the seed author's later release); a
        fraction holds out that share of the training runs at random instead; None trains
        for the notebook's fixed 10 epochs (not tuned; the report says so).
    refit : bool, default=True
        After early stopping, train the encoder again on every training run for the
        number of epochs chosen, as the ridges are refitted on every run once their
        alphas are chosen (``docs/evaluation.md`` gives the measurement behind this
        default); False evaluates the early-stopped model, trained on the other folds.
    tune : bool, default=False
        Choose the encoder's architecture by ``GridSearchCV`` over the protocol's tuning
        folds with the Pearson scorer (the registry's grid, or ``param_grid``); the refit
        winner is evaluated.
    param_grid : dict, optional
        The grid of ``tune`` (encoder parameter -> values).
    repeats : int, default=1
        Fits of each stochastic model (the encoder), with random states
        ``random_state, random_state + 1, ...``; its scores are the mean over repeats and
        the intervals and paired tests include the spread between repeats.
    n_jobs : int, default=1
        Fits at once: the models and the repeats, or a grid search's fits (joblib's local
        processes; -1: every core). With ``scheduler``, 1 means every worker thread.
    scheduler : str, optional
        Address of a Dask scheduler (the ``distributed`` extra): the fits run on its
        workers, each model's inputs sent to every worker once, each worker resolving
        ``device`` itself. The numbers are those of ``n_jobs=1`` for the same random
        states (with ``n_threads`` fixed).
    n_resamples : int, default=2000
        Resamples of whole evaluation runs for the intervals and paired tests
        (:mod:`sklearn_crossenc.evaluation`).
    confidence : float, default=0.95
        Level of the intervals.
    fdr : float, default=0.05
        False-discovery rate of the per-parcel tests and of the ceiling's reliability.
    atlas : path-like, optional
        Parcellation to draw brain maps on, for data laid out otherwise; default the
        release's ``fmri/sub-0X/atlas/...`` of the first subject. Recorded in
        ``config["atlas"]`` (None with ``config["atlas_reason"]`` when there is none).
    seed : int or None, optional
        Deprecated alias of ``random_state``.
    protocol : Protocol, optional
        Training and evaluation sets; default the seed's
        (:data:`~sklearn_crossenc.jobs._protocol.SEED_PROTOCOL`).
    dataset : path-like or DatasetDescription, optional
        A ``dataset.toml`` (:func:`~sklearn_crossenc.data.load_dataset`) instead of the
        release layout: its subjects, runs, evaluation sets, repetition time, repeats
        (noise ceilings) and atlas (brain maps); ``data_dir`` and ``protocol`` are then
        left out. ``FeatureRidge`` reads its ``[features]`` files, and is skipped when it
        has none.
    stream : bool, optional
        Hold the runs on disk (a scratch file in the temporary folder, memory-mapped) instead
        of in memory: None (default) when they would take more than half the memory
        available (:mod:`~sklearn_crossenc.jobs._storage`), True always, False never. The
        numbers are the same; ``config["storage"]`` says which and why.

    Returns
    -------
    result : dict
        The common top level of every job (``schema_version``, ``job``,
        ``created_utc``, ``config``, ``environment``, ``timings``), then ``data`` (sets,
        runs, sizes), ``eval_sets``,
        ``ceiling`` (set -> ``{"mean", "per_subject"}``, or None for real data),
        ``models`` (name -> ``status``, ``params``, ``fit_s``, ``eval_s``, ``scores``:
        set -> ``{"mean", "per_subject", "median_parcel"}``), ``evaluation``
        (``intervals``, ``pairwise``, ``noise_ceiling``: see
        :mod:`sklearn_crossenc.jobs._evaluate`), ``timings``, ``maps`` (name,
        ``"ceiling"`` or ``"noise ceiling"`` -> set -> per-parcel values ``(n_subjects,
        n_parcels)``; ``"<a> - <b>"`` -> set -> per-parcel difference and significance)
        and, on request, ``estimators``. ``scores[set]["mean"]`` equals the fitted
        estimator's ``score`` on that set.
    """
    random_state = _deprecated_seed(seed, random_state)
    log = log or noop
    start = JobStart("compare")
    specs, dev, trim = _check_options(models, device, trim, early_stopping, repeats, param_grid,
                                      n_jobs, scheduler, stream)
    _check_model_options(specs, repeats, tune)
    check_evaluation_options(n_resamples, confidence, fdr, atlas)
    root, protocol = job_data(data_dir, dataset, protocol, progress=progress, log=log)
    if subjects is not None:
        protocol = protocol.with_subjects(subjects)
    plan = _plan(protocol, quick, early_stopping, refit, tune, param_grid, n_jobs, n_threads)
    storage = preflight_comparison(
        root, protocol, specs, trim, n_threads, random_state, atlas=atlas, stream=stream,
        scheduler=scheduler, n_kept=sum(repeats if s.stochastic else 1 for s in specs))
    atlas, atlas_reason = _find_atlas(root, protocol, atlas)
    log(f"Runs: {storage.reason}.")
    with storage.store() as store:  # the runs' scratch file (if any) ends with the job
        return _compare(locals(), start, root, protocol, specs, dev, plan, trim, log,
                        store, storage, atlas, atlas_reason)


def _deprecated_seed(seed, random_state):
    if seed is not None:  # the warning points at the caller of run_comparison
        warnings.warn("run_comparison(seed=...) is deprecated; use random_state=...",
                      FutureWarning, stacklevel=3)
        return seed
    return random_state


def _compare(args: dict, start, root, protocol: Protocol, specs, dev, plan: TuningPlan, trim,
             log, store, storage, atlas, atlas_reason) -> dict:
    """The comparison once checked: load (into ``store`` when the runs are streamed), fit,
    evaluate. ``args``: the job's arguments after their checks."""
    sets, data, load_s = load_sets(root, protocol, args["progress"], log, store)
    labels = data["subject_labels"]

    maps: dict = {}
    ceiling = _oracle(root, protocol, sets, trim, data, maps)
    settings = JobSettings(
        quick=args["quick"], random_state=args["random_state"], device=dev,
        progress=args["progress"], n_threads=args["n_threads"],
        early_stopping=args["early_stopping"], cv=plan.cv,
        modalities=protocol.modalities,
        min_train_length=min(x.shape[1] for x in sets[protocol.train.key].values()))
    results, estimators, stats, predictions = _run_models(
        specs, root, sets, maps, settings, plan, args["repeats"], protocol, trim, labels, log,
        args["scheduler"])
    ref = reference_model([s for s in specs if s.label in stats])
    evaluation = headroom = None
    if stats:
        log(f"Evaluation: intervals ({args['n_resamples']} resamples), paired tests, noise "
            "ceilings ...")
        evaluation = evaluate_comparison(root, protocol, sets, stats, maps, data, dict(
            n_resamples=args["n_resamples"], confidence=args["confidence"], fdr=args["fdr"],
            random_state=args["random_state"], reference=None if ref is None else ref.label))
        stimulus = [s.label for s in specs if s.needs_features and s.label in predictions]
        if ref is not None and ref.label in predictions and stimulus:
            headroom = _headroom(root, protocol, sets, data, predictions, stats, evaluation,
                                 maps, ref.label, stimulus, args["confidence"], trim)
    config = _config(args, root, specs, dev, atlas, atlas_reason, protocol, plan, storage)
    timings = {
        "load_s": load_s,
        "fit_s": {n: r["fit_s"] for n, r in results.items() if r["status"] == "ok"},
        "evaluation_s": None if evaluation is None else evaluation["seconds"],
    }
    result = start.result(config, timings, device=dev, data=data, eval_sets=protocol.eval_sets,
                          ceiling=ceiling, models=results, evaluation=evaluation,
                          **headroom_fields(headroom), maps=maps,
                          predictions=ceiling_predictions(predictions, ref and ref.label, data))
    if args["return_estimators"]:
        result["estimators"] = estimators
    return result


def _oracle(root, protocol: Protocol, sets: dict, trim: int, data: dict, maps: dict):
    """The oracle ceiling's scores on synthetic data (its maps into ``maps``), else None."""
    if not data["synthetic"]:
        return None
    maps["ceiling"] = oracle_ceiling(root, protocol, sets, trim)
    return {k: scores_of(m, data["subject_labels"]) for k, m in maps["ceiling"].items()}


def _headroom(root, protocol, sets, data, predictions, stats, evaluation, maps, ceiling: str,
              models, confidence: float, trim: int) -> dict:
    """The headroom step of ``models`` against the ``ceiling`` model (:mod:`._headroom`)."""
    return headroom_step({k: list(sets[k].values()) for k in protocol.eval_sets}, predictions,
                         stats, evaluation, maps, ceiling=ceiling, models=models,
                         confidence=confidence, trim=trim,
                         networks=parcel_networks(data))


def _config(args: dict, root, specs, dev, atlas, atlas_reason, protocol: Protocol,
            plan: TuningPlan, storage) -> dict:
    """The job's configuration as reported: its options (``args``, the job's arguments
    after their checks) and what they resolved to."""
    options = ("quick", "random_state", "trim", "n_threads", "early_stopping", "refit", "tune",
               "param_grid", "repeats", "n_jobs", "scheduler", "n_resamples", "confidence",
               "fdr")
    return {
        "data_dir": str(root),
        "default_dataset": args["data_dir"] is None and protocol.dataset is None,
        "models": [s.label for s in specs],
        "device_requested": args["device"],
        "device": dev,
        **{k: args[k] for k in options},
        "quick": bool(args["quick"]),
        "atlas": None if atlas is None else str(atlas),
        "atlas_reason": atlas_reason,
        "protocol": protocol.describe(),
        "tuning_folds": int(plan.cv.get_n_splits()),
        "storage": storage.describe(),
    }


def _run_models(specs, root, sets: dict, maps: dict, settings: JobSettings, plan, repeats,
                protocol, trim: int, labels, log, scheduler=None):
    """Fit and score every model (each repeat of a stochastic one); maps go into ``maps``.

    Returns ``(results, estimators, stats, predictions)``: label -> the model's entry of
    the result, label -> fitted estimator (or the list of its repeats), label -> set -> run
    statistics (or the list of its repeats'), label -> set -> predicted runs (models
    fitted once).
    """
    results: dict = {}
    runnable = []
    for spec in specs:
        if spec.needs_features and not protocol.has_features(root):
            where = "the data folder" if protocol.dataset is None \
                else "the dataset description (no [features] table)"
            results[spec.label] = {"status": "skipped",
                                   "reason": f"no stimulus features in {where}"}
            log(f"{spec.label}: skipped (no stimulus features in {where}).")
        else:
            runnable.append(spec)
    tasks = model_tasks(runnable, settings, repeats)
    keys = [protocol.train.key, *protocol.eval_sets]
    inputs = model_inputs(runnable, protocol.source(root), sets, keys)
    done = run_tasks(tasks, inputs, protocol.train.key, plan, trim, scheduler=scheduler, log=log,
                     keep={s.label for s in runnable})
    entries, estimators, model_maps, stats, predictions = combine(done, labels, protocol.eval_sets)
    maps.update(model_maps)
    add_challenge_scores(entries, sets, predictions)
    for spec in specs:  # report order, skipped models in place
        if spec.label in entries:
            results[spec.label] = entries[spec.label]
            scores = entries[spec.label]["scores"]
            summary = ", ".join(f"{lab} {scores[k]['mean']:.3f}"
                                for k, lab in protocol.eval_sets.items())
            log(f"{spec.label}: {summary} (fit {entries[spec.label]['fit_s']:.1f} s)")
    return {s.label: results[s.label] for s in specs}, estimators, stats, predictions

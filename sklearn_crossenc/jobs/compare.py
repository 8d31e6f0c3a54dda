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

import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._device import resolve_device
from .._environment import environment_info
from .._interrupt import interrupt_guard
from .._validation import check_trim
from ..data import SUBJECTS, ensure_default_dataset, has_stimulus_features
from ..metrics import pearson_map
from ._evaluate import evaluate_comparison
from ._preflight import preflight_comparison
from ._protocol import PROTOCOL, load_protocol, load_sets, oracle_ceiling
from ._settings import EVAL_SETS, MODELS, check_fraction, make_model, model_params, resolve_models

__all__ = ["MODELS", "EVAL_SETS", "resolve_models", "load_protocol", "run_comparison"]


def _noop(msg: str) -> None:
    pass


# ---------------------------------------------------------------------------- steps


def _check_options(models, device, trim, early_stopping) -> tuple[list[str], str, int]:
    """Model names, the resolved device and ``trim``, checked before any work."""
    names = resolve_models(models)
    dev = str(resolve_device(device))
    trim = check_trim(trim)
    check_fraction(early_stopping, "early_stopping")
    return names, dev, trim


def _check_evaluation_options(n_resamples, confidence, fdr, atlas) -> None:
    """The evaluation's options and a given parcellation, checked before any work."""
    from ..evaluation._intervals import check_confidence

    if atlas is not None and not Path(atlas).expanduser().is_file():
        raise FileNotFoundError(f"atlas {atlas} does not exist or is not a file.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 10:
        raise ValueError(f"n_resamples must be an integer >= 10; got {n_resamples!r}.")
    check_confidence(confidence)
    if not 0.0 < float(fdr) < 1.0:
        raise ValueError(f"fdr must be in (0, 1); got {fdr!r}.")


def _find_atlas(root: Path, subjects, atlas) -> tuple[Path | None, str | None]:
    """The parcellation for brain maps, or why there is none."""
    from ..evaluation import find_atlas

    path, reason = find_atlas(root, subject=tuple(subjects)[0],
                              atlas=None if atlas is None else Path(atlas).expanduser())
    return (None if path is None else path.resolve()), reason


def _data_root(data_dir, progress: bool, log) -> Path:
    """The data folder: ``data_dir``, or the default synthetic dataset (made once)."""
    if data_dir is None:
        return ensure_default_dataset(progress=progress, log=log).resolve()
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist or is not a folder.")
    return root.resolve()


def _checked_root(data_dir, progress: bool, log, *options) -> Path:
    """The data folder, after every pre-flight check of the options and the data on it."""
    root = _data_root(data_dir, progress, log)
    preflight_comparison(root, *options)
    return root


def _scores(r_map: np.ndarray, labels: list[str]) -> dict:
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
        out[k] = v
    return out


def _model_inputs(name: str, root, sets: dict, key: str) -> tuple:
    """``(X, y)`` of model ``name`` on set ``key``: stimulus features for FeatureRidge."""
    X = list(sets[key].values())  # list of (S, T_i, C)
    if name == "FeatureRidge":
        from ..ridge import feature_episodes

        return feature_episodes(root, sets[key]), X
    return X, None


def _predict(est, X, y) -> list:
    """The model's predictions of the fMRI episodes (``y``, else ``X`` itself)."""
    if y is None:
        return est.predict(X)
    return est.predict(X, lengths=[ep.shape[1] for ep in y])


def _fit_and_score(name: str, params: dict, root, sets: dict, trim: int, progress: bool):
    """Fit model ``name`` on the training set and score it on each evaluation set.

    Returns ``(estimator, fit seconds, eval seconds, {set: (S, C) r map},
    {set: run statistics})``; each map is the estimator's ``score_map``.
    """
    from ..evaluation import run_statistics

    est = make_model(name, params)
    if name == "CrossSubjectEncoder" and progress:
        from ..encoder import EpochProgressBar

        est.set_params(callbacks=[EpochProgressBar(est.get_params()["max_epochs"], name)])
    t0 = time.perf_counter()
    with interrupt_guard():
        X, y = _model_inputs(name, root, sets, "train")
        est.fit(X) if y is None else est.fit(X, y)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    maps, stats = {}, {}
    for key in EVAL_SETS:
        X, y = _model_inputs(name, root, sets, key)
        target = X if y is None else y
        pred = _predict(est, X, y)
        maps[key] = pearson_map(target, pred, trim=trim)  # (S, C)
        stats[key] = run_statistics(target, pred, trim=trim)
    return est, fit_s, time.perf_counter() - t0, maps, stats


# ---------------------------------------------------------------------------- the job


def run_comparison(
    data_dir=None,
    *,
    models: Sequence[str] | None = None,
    device: str = "auto",
    quick: bool = False,
    random_state: int | None = 0,
    trim: int = 0,
    subjects: Sequence[int] = SUBJECTS,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    return_estimators: bool = False,
    n_threads: int | None = None,
    early_stopping: float | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    fdr: float = 0.05,
    atlas=None,
    seed=None,
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
    subjects : sequence of int, default=(1, 2, 3, 5)
        Subjects to load.
    progress : bool, default=False
        Show tqdm progress bars (loading, epochs, ridge folds) on stderr.
    log : callable, optional
        Receives one-line progress messages (nothing is printed otherwise).
    return_estimators : bool, default=False
        Also return the fitted estimators under ``"estimators"``.
    n_threads : int, optional
        torch threads of the encoder's training (its ``n_threads``); default torch's.
        On a machine shared with other jobs, 1 thread per core left is often faster.
    early_stopping : float, optional
        Hold out this fraction of the training runs and stop the encoder at the first
        epoch whose Pearson score on them does not improve, keeping the best weights
        (the seed author's later release). Default None: the seed's 10 epochs.
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

    Returns
    -------
    result : dict
        ``config``, ``environment``, ``data`` (sets, runs, sizes), ``eval_sets``,
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
    if seed is not None:
        warnings.warn("run_comparison(seed=...) is deprecated; use random_state=...",
                      FutureWarning, stacklevel=2)
        random_state = seed
    log = log or _noop
    t_start = time.perf_counter()
    names, dev, trim = _check_options(models, device, trim, early_stopping)
    _check_evaluation_options(n_resamples, confidence, fdr, atlas)
    root = _checked_root(data_dir, progress, log, names, subjects, trim, n_threads, random_state)
    atlas, atlas_reason = _find_atlas(root, subjects, atlas)

    sets, data, load_s = load_sets(root, subjects, progress, log)
    labels = data["subject_labels"]

    maps: dict = {}
    ceiling = None
    if data["synthetic"]:
        maps["ceiling"] = oracle_ceiling(root, sets, tuple(subjects), trim)
        ceiling = {k: _scores(m, labels) for k, m in maps["ceiling"].items()}

    settings = dict(quick=quick, random_state=random_state, device=dev, progress=progress,
                    n_threads=n_threads, early_stopping=early_stopping,
                    min_train_length=min(x.shape[1] for x in sets["train"].values()))
    results, estimators, stats = _run_models(names, root, sets, maps, settings, trim, labels, log)
    evaluation = None
    if stats:
        log(f"Evaluation: intervals ({n_resamples} resamples), paired tests, noise ceilings ...")
        evaluation = evaluate_comparison(root, sets, stats, maps, data, dict(
            n_resamples=n_resamples, confidence=confidence, fdr=fdr, random_state=random_state))

    options = dict(data_dir=data_dir, device=device, quick=quick, random_state=random_state,
                   trim=trim, n_threads=n_threads, early_stopping=early_stopping,
                   n_resamples=n_resamples, confidence=confidence, fdr=fdr)
    config = _config(options, root, names, dev, atlas, atlas_reason)
    result = {
        "schema_version": 2,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "environment": environment_info(dev),
        "data": data,
        "eval_sets": dict(EVAL_SETS),
        "ceiling": ceiling,
        "models": results,
        "evaluation": evaluation,
        "timings": {
            "load_s": load_s,
            "fit_s": {n: r["fit_s"] for n, r in results.items() if r["status"] == "ok"},
            "evaluation_s": None if evaluation is None else evaluation["seconds"],
            "total_s": time.perf_counter() - t_start,
        },
        "maps": maps,
    }
    if return_estimators:
        result["estimators"] = estimators
    return result


def _config(args: dict, root, names, dev, atlas, atlas_reason) -> dict:
    """The job's configuration as reported: its options and what they resolved to."""
    options = ("quick", "random_state", "trim", "n_threads", "early_stopping", "n_resamples",
               "confidence", "fdr")
    return {
        "data_dir": str(root),
        "default_dataset": args["data_dir"] is None,
        "models": names,
        "device_requested": args["device"],
        "device": dev,
        **{k: args[k] for k in options},
        "quick": bool(args["quick"]),
        "atlas": None if atlas is None else str(atlas),
        "atlas_reason": atlas_reason,
        "protocol": dict(PROTOCOL),
    }


def _run_models(names, root, sets: dict, maps: dict, settings: dict, trim: int, labels, log):
    """Fit and score each model in turn; its maps go into ``maps``.

    Returns ``(results, estimators, stats)``: name -> the model's entry of the result,
    name -> fitted estimator, name -> set -> run statistics.
    """
    results: dict = {}
    estimators: dict = {}
    stats: dict = {}
    for name in names:
        if name == "FeatureRidge" and not has_stimulus_features(root):
            results[name] = {
                "status": "skipped", "reason": "no stimulus features in the data folder"
            }
            log(f"{name}: skipped (no stimulus features in {root}).")
            continue
        params = model_params(name, **settings)
        log(f"{name}: fitting ...")
        est, fit_s, eval_s, maps[name], stats[name] = _fit_and_score(
            name, params, root, sets, trim, settings["progress"]
        )
        scores = {k: _scores(m, labels) for k, m in maps[name].items()}
        results[name] = {"status": "ok", "params": _public_params(est), "fit_s": fit_s,
                         "eval_s": eval_s, "scores": scores}
        estimators[name] = est
        summary = ", ".join(f"{EVAL_SETS[k]} {scores[k]['mean']:.3f}" for k in EVAL_SETS)
        log(f"{name}: {summary} (fit {fit_s:.1f} s)")
    return results, estimators, stats

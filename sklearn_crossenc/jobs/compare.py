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
from ..data import SUBJECTS, ensure_default_dataset, has_stimulus_features
from ..metrics import pearson_map
from ._preflight import preflight_comparison
from ._settings import EVAL_SETS, MODELS, check_fraction, make_model, model_params, resolve_models

__all__ = ["MODELS", "EVAL_SETS", "resolve_models", "load_protocol", "run_comparison"]

PROTOCOL = {
    "train": "Friends seasons 1-5",
    "friends_s6": "Friends season 6",
    "movie10_run1": "Movie10, run 1 of each segment",
}


def _noop(msg: str) -> None:
    pass


# ---------------------------------------------------------------------------- steps


def _check_options(models, device, trim, early_stopping) -> tuple[list[str], str, int]:
    """Model names, the resolved device and ``trim``, checked before any work."""
    names = resolve_models(models)
    dev = str(resolve_device(device))
    trim = int(trim)
    if trim < 0:
        raise ValueError(f"trim must be >= 0; got {trim}.")
    check_fraction(early_stopping, "early_stopping")
    return names, dev, trim


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


def load_protocol(root, *, subjects=SUBJECTS, progress: bool = False) -> dict:
    """Load the seed's three sets: Friends s1-5 (train), Friends s6 and Movie10 run 1.

    Returns
    -------
    sets : dict
        ``{"train": dict, "friends_s6": dict, "movie10_run1": dict}``, each a loader
        dict of run name -> float32 array ``(n_subjects, n_times, n_parcels)``.
    """
    from ..data import load_friends, load_movie10

    subjects = tuple(subjects)
    sets = {
        "train": load_friends(root, subjects=subjects, seasons=[1, 2, 3, 4, 5], progress=progress),
        "friends_s6": load_friends(root, subjects=subjects, seasons=[6], progress=progress),
        "movie10_run1": load_movie10(root, subjects=subjects, runs=[1], progress=progress),
    }
    for key, data in sets.items():
        if not data:
            raise ValueError(f"the {key} set is empty in {root}.")
    return sets


def _set_info(label: str, data: dict) -> dict:
    return {
        "label": label,
        "n_runs": len(data),
        "n_times": int(sum(v.shape[1] for v in data.values())),
        "runs": list(data),
    }


def _data_info(root, sets: dict, subjects) -> dict:
    from ..data import is_synthetic

    return {
        "synthetic": bool(is_synthetic(root)),
        "subjects": list(subjects),
        "subject_labels": [f"sub-{s:02d}" for s in subjects],
        "n_parcels": int(next(iter(sets["train"].values())).shape[2]),
        "sets": {
            "train": _set_info("Friends s1-5", sets["train"]),
            **{k: _set_info(EVAL_SETS[k], sets[k]) for k in EVAL_SETS},
        },
    }


def _oracle_ceiling(root, sets: dict, subjects, trim: int) -> dict:
    """Per-parcel r of the data with its noise-free signal, per evaluation set."""
    from ..data import load_true_signal

    kinds = {"friends_s6": "friends", "movie10_run1": "movie10"}
    out = {}
    for key, kind in kinds.items():
        data = sets[key]
        truth = load_true_signal(root, data, kind, subjects=subjects)
        out[key] = pearson_map(list(data.values()), [truth[k] for k in data], trim=trim)
    return out  # key -> (S, C)


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


def _fit_and_score(name: str, params: dict, root, sets: dict, trim: int, progress: bool):
    """Fit model ``name`` on the training set and score it on each evaluation set.

    Returns ``(estimator, fit seconds, eval seconds, {set: (S, C) r map})``.
    """
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
    maps = {}
    for key in EVAL_SETS:
        X, y = _model_inputs(name, root, sets, key)
        maps[key] = est.score_map(X, y, trim=trim)  # (S, C)
    return est, fit_s, time.perf_counter() - t0, maps


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
    seed : int or None, optional
        Deprecated alias of ``random_state``.

    Returns
    -------
    result : dict
        ``config``, ``environment``, ``data`` (sets, runs, sizes), ``eval_sets``,
        ``ceiling`` (set -> ``{"mean", "per_subject"}``, or None for real data),
        ``models`` (name -> ``status``, ``params``, ``fit_s``, ``eval_s``, ``scores``:
        set -> ``{"mean", "per_subject", "median_parcel"}``), ``timings``, ``maps``
        (name or ``"ceiling"`` -> set -> per-parcel r ``(n_subjects, n_parcels)``) and,
        on request, ``estimators``. ``scores[set]["mean"]`` equals the fitted
        estimator's ``score`` on that set.
    """
    if seed is not None:
        warnings.warn("run_comparison(seed=...) is deprecated; use random_state=...",
                      FutureWarning, stacklevel=2)
        random_state = seed
    log = log or _noop
    t_start = time.perf_counter()
    names, dev, trim = _check_options(models, device, trim, early_stopping)
    root = _checked_root(data_dir, progress, log, names, subjects, trim, n_threads, random_state)

    log(f"Loading {root} (train Friends s1-5; evaluate Friends s6, Movie10 run 1) ...")
    t0 = time.perf_counter()
    sets = load_protocol(root, subjects=subjects, progress=progress)
    load_s = time.perf_counter() - t0
    data = _data_info(root, sets, subjects)
    labels = data["subject_labels"]
    log(
        f"  {data['sets']['train']['n_runs']} training runs, "
        + ", ".join(f"{data['sets'][k]['n_runs']} {EVAL_SETS[k]} runs" for k in EVAL_SETS)
        + f"; {len(labels)} subjects x {data['n_parcels']} parcels ({load_s:.1f} s)."
    )

    maps: dict = {}
    ceiling = None
    if data["synthetic"]:
        maps["ceiling"] = _oracle_ceiling(root, sets, tuple(subjects), trim)
        ceiling = {k: _scores(m, labels) for k, m in maps["ceiling"].items()}

    settings = dict(quick=quick, random_state=random_state, device=dev, progress=progress,
                    n_threads=n_threads, early_stopping=early_stopping,
                    min_train_length=min(x.shape[1] for x in sets["train"].values()))
    results, estimators = _run_models(names, root, sets, maps, settings, trim, labels, log)

    config = {
        "data_dir": str(root),
        "default_dataset": data_dir is None,
        "models": names,
        "device_requested": device,
        "device": dev,
        "quick": bool(quick),
        "random_state": random_state,
        "trim": trim,
        "n_threads": n_threads,
        "early_stopping": early_stopping,
        "protocol": dict(PROTOCOL),
    }
    result = {
        "schema_version": 2,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "environment": environment_info(dev),
        "data": data,
        "eval_sets": dict(EVAL_SETS),
        "ceiling": ceiling,
        "models": results,
        "timings": {
            "load_s": load_s,
            "fit_s": {n: r["fit_s"] for n, r in results.items() if r["status"] == "ok"},
            "total_s": time.perf_counter() - t_start,
        },
        "maps": maps,
    }
    if return_estimators:
        result["estimators"] = estimators
    return result


def _run_models(names, root, sets: dict, maps: dict, settings: dict, trim: int, labels, log):
    """Fit and score each model in turn; its maps go into ``maps``.

    Returns ``(results, estimators)``: name -> the model's entry of the result, and
    name -> fitted estimator.
    """
    results: dict = {}
    estimators: dict = {}
    for name in names:
        if name == "FeatureRidge" and not has_stimulus_features(root):
            results[name] = {
                "status": "skipped", "reason": "no stimulus features in the data folder"
            }
            log(f"{name}: skipped (no stimulus features in {root}).")
            continue
        params = model_params(name, **settings)
        log(f"{name}: fitting ...")
        est, fit_s, eval_s, maps[name] = _fit_and_score(
            name, params, root, sets, trim, settings["progress"]
        )
        scores = {k: _scores(m, labels) for k, m in maps[name].items()}
        results[name] = {"status": "ok", "params": _public_params(est), "fit_s": fit_s,
                         "eval_s": eval_s, "scores": scores}
        estimators[name] = est
        summary = ", ".join(f"{EVAL_SETS[k]} {scores[k]['mean']:.3f}" for k in EVAL_SETS)
        log(f"{name}: {summary} (fit {fit_s:.1f} s)")
    return results, estimators

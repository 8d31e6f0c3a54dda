"""The main job: fit every model on the seed's protocol and score it, as one function.

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

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

from ._environment import environment_info
from .metrics import pearson_map

__all__ = [
    "MODELS",
    "EVAL_SETS",
    "default_cache_dir",
    "default_data_dir",
    "ensure_default_dataset",
    "resolve_models",
    "resolve_device",
    "load_protocol",
    "model_params",
    "run_comparison",
]

#: Model short names (as given to ``--models``) -> estimator class names, in report order.
MODELS = {
    "encoder": "CrossSubjectEncoder",
    "ridge": "CrossSubjectRidge",
    "feature": "FeatureRidge",
    "mean": "MeanOfOthers",
}

#: Evaluation sets of the seed's protocol: key -> label.
EVAL_SETS = {"friends_s6": "Friends s6", "movie10_run1": "Movie10 run 1"}

SUBJECTS = (1, 2, 3, 5)
MODALITIES = ("visual", "audio", "language")
DEFAULT_SCALE = "small"
DEFAULT_DATA_SEED = 0

# Reduced training for ``quick=True`` (a smoke run of seconds).
QUICK_ENCODER = {"max_epochs": 2, "samples_per_epoch": 128}
QUICK_RIDGE_ALPHAS = (1e-1, 1e1, 1e3, 1e5)
QUICK_FEATURE_RIDGE = {"cv": 2, "alphas": (1e4, 1e2, 1.0)}


def _noop(msg: str) -> None:
    pass


# ---------------------------------------------------------------------------- default dataset


def default_cache_dir() -> Path:
    """The per-user cache folder of sklearn-crossenc.

    ``$CROSSENC_CACHE`` when set, else ``$XDG_CACHE_HOME/sklearn-crossenc``, else
    ``~/.cache/sklearn-crossenc``.

    Examples
    --------
    >>> from sklearn_crossenc.compare import default_cache_dir, default_data_dir
    >>> default_data_dir("small", seed=0).parent == default_cache_dir()
    True
    >>> default_data_dir("small", seed=0).name
    'synthetic-small-seed0'
    """
    env = os.environ.get("CROSSENC_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sklearn-crossenc"


def default_data_dir(scale: str = DEFAULT_SCALE, seed: int = DEFAULT_DATA_SEED) -> Path:
    """Folder of the embedded default synthetic dataset: ``<cache>/synthetic-<scale>-seed<N>``."""
    return default_cache_dir() / f"synthetic-{scale}-seed{seed}"


def ensure_default_dataset(
    *,
    scale: str = DEFAULT_SCALE,
    seed: int = DEFAULT_DATA_SEED,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Return the default synthetic dataset's folder, generating it on first use.

    The folder is reused while it was written with the generator's current settings;
    when the generator has changed since (a newer package), it is regenerated: the
    cache belongs to this package. The generator writes into a temporary folder and
    renames it, so an interrupted first run leaves no half-written dataset behind.
    """
    from .data import ensure_synthetic_dataset, is_synthetic

    log = log or _noop
    root = default_data_dir(scale, seed)
    cached = root.exists() and is_synthetic(root)
    if not cached:
        log(f"Generating the synthetic '{scale}' dataset (seed {seed}) once into {root} ...")
    t0 = time.perf_counter()
    root, generated = ensure_synthetic_dataset(root, scale=scale, seed=seed, progress=progress)
    if generated and cached:
        log(f"The cached dataset {root} was written with other generator settings: "
            "regenerated it.")
    if generated:
        log(f"  done in {time.perf_counter() - t0:.1f} s.")
    return root


# ---------------------------------------------------------------------------- options


def resolve_models(models: Sequence[str] | None = None) -> list[str]:
    """Class names of the requested models, in report order.

    Parameters
    ----------
    models : sequence of str, optional
        Short names (``encoder``, ``ridge``, ``feature``, ``mean``) or class names,
        any case; None means all.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sklearn_crossenc.compare import resolve_models
    >>> resolve_models(["mean", "CrossSubjectEncoder"])
    ['CrossSubjectEncoder', 'MeanOfOthers']
    """
    if models is None:
        return list(MODELS.values())
    lookup = {k.lower(): v for k, v in MODELS.items()}
    lookup.update({v.lower(): v for v in MODELS.values()})
    chosen = set()
    for m in models:
        name = lookup.get(str(m).lower())
        if name is None:
            raise ValueError(
                f"unknown model {m!r}; choose from {', '.join(MODELS)} "
                f"(or {', '.join(MODELS.values())})."
            )
        chosen.add(name)
    if not chosen:
        raise ValueError("no model selected.")
    return [v for v in MODELS.values() if v in chosen]


def resolve_device(device: str = "auto") -> str:
    """``"cuda"`` or ``"cpu"`` for ``device`` in ``auto|cpu|cuda`` (or ``cuda:N``).

    Raises ``ValueError`` for an unknown name or when CUDA is asked for but absent.
    """
    import torch

    device = str(device).lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} requested but CUDA is not available on this machine "
                "(use --device cpu or auto)."
            )
        return device
    raise ValueError(f"unknown device {device!r}; choose auto, cpu or cuda.")


# ---------------------------------------------------------------------------- data


def _set_info(label: str, data: dict) -> dict:
    return {
        "label": label,
        "n_runs": len(data),
        "n_times": int(sum(v.shape[1] for v in data.values())),
        "runs": list(data),
    }


def load_protocol(root, *, subjects=SUBJECTS, progress: bool = False) -> dict:
    """Load the seed's three sets: Friends s1-5 (train), Friends s6 and Movie10 run 1.

    Returns
    -------
    sets : dict
        ``{"train": dict, "friends_s6": dict, "movie10_run1": dict}``, each a loader
        dict of run name -> float32 array ``(n_subjects, n_times, n_parcels)``.
    """
    from .data import load_friends, load_movie10

    subjects = tuple(subjects)
    return {
        "train": load_friends(root, subjects=subjects, seasons=[1, 2, 3, 4, 5], progress=progress),
        "friends_s6": load_friends(root, subjects=subjects, seasons=[6], progress=progress),
        "movie10_run1": load_movie10(root, subjects=subjects, runs=[1], progress=progress),
    }


def _oracle_ceiling(root, sets: dict, subjects, trim: int) -> dict:
    """Per-parcel r of the data with its noise-free signal, per evaluation set."""
    from .data import load_true_signal

    kinds = {"friends_s6": "friends", "movie10_run1": "movie10"}
    out = {}
    for key, kind in kinds.items():
        data = sets[key]
        truth = load_true_signal(root, data, kind, subjects=subjects)
        out[key] = pearson_map(list(data.values()), [truth[k] for k in data], trim=trim)
    return out  # key -> (S, C)


def _feature_episodes(root, data: dict, modalities=MODALITIES) -> list[dict]:
    """Per run of ``data``, ``{modality: (n_chunks, dims), "n_times": fMRI length}``."""
    from .data import load_stimulus_features

    runs = list(data)
    feats = {m: load_stimulus_features(root, m, runs=runs) for m in modalities}
    return [
        {**{m: feats[m][run] for m in modalities}, "n_times": int(data[run].shape[1])}
        for run in runs
    ]


def _has_features(root) -> bool:
    folder = Path(root) / "stimulus_features"
    return folder.is_dir() and any(folder.iterdir())


# ---------------------------------------------------------------------------- models


def model_params(
    name: str,
    *,
    quick: bool = False,
    seed: int | None = 0,
    device: str = "cpu",
    min_train_length: int | None = None,
    progress: bool = False,
    n_threads: int | None = None,
    early_stopping: float | None = None,
) -> dict:
    """Constructor parameters of model ``name`` for the comparison.

    Seed defaults for the encoder (``quick`` shortens training to a smoke run;
    ``early_stopping``, a fraction of the training runs, sets its ``validation``); the
    clip length is capped at the shortest training run so that short synthetic runs
    work. Ridge models keep their defaults (``quick``: a short alpha grid and 2 folds;
    ``progress``: their progress bars).
    """
    if name == "CrossSubjectEncoder":
        params = {"device": device, "random_state": seed}
        if n_threads is not None:
            params["n_threads"] = int(n_threads)
        if quick:
            params.update(QUICK_ENCODER)
        if early_stopping is not None:
            params["validation"] = float(early_stopping)
        if min_train_length is not None and min_train_length < 64:
            params["sample_length"] = int(min_train_length)
        return params
    if name == "CrossSubjectRidge":
        params = {"verbose": 1} if progress else {}
        if quick:
            params.update(alphas=QUICK_RIDGE_ALPHAS, cv=2)
        return params
    if name == "FeatureRidge":
        params = {"verbose": 1} if progress else {}
        if quick:
            params.update(QUICK_FEATURE_RIDGE)
        return params
    if name == "MeanOfOthers":
        return {}
    raise ValueError(f"unknown model {name!r}.")


def _make_model(name: str, params: dict):
    import sklearn_crossenc as pkg

    return getattr(pkg, name)(**params)


class EpochProgressBar(Callback):
    """A skorch callback that advances a tqdm bar (on stderr) once per training epoch.

    Parameters
    ----------
    total : int
        Expected number of epochs (``max_epochs``).
    desc : str
        Label of the bar.
    """

    def __init__(self, total: int = 10, desc: str = "epochs"):
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=self.desc, unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is None:
            return
        bar.update(1)
        loss = net.history[-1].get("train_loss") if len(net.history) else None
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4g}")

    def on_train_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = None

    def __getstate__(self):  # a fitted estimator stays picklable (no open bar inside)
        state = dict(self.__dict__)
        state["bar_"] = None
        return state


class _Interrupted(BaseException):
    """Ctrl-C in disguise: libraries that swallow ``KeyboardInterrupt`` let it through."""


@contextlib.contextmanager
def interrupt_guard():
    """Make Ctrl-C stop the block even inside libraries that swallow it.

    skorch ends training quietly on ``KeyboardInterrupt`` and returns a half-trained
    net, which a comparison or a grid search would then report. Inside this block,
    SIGINT raises a private ``BaseException`` that neither skorch nor scikit-learn's
    ``error_score`` handling catches, and it leaves the block as ``KeyboardInterrupt``.
    Only in the main thread (elsewhere signals cannot be handled and the block runs
    unguarded).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Interrupted

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    except _Interrupted:
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGINT, previous)


def _scores(r_map: np.ndarray, labels: list[str]) -> dict:
    per_subject = r_map.mean(axis=1)  # (S,)
    return {
        "mean": float(per_subject.mean()),
        "per_subject": {lab: float(v) for lab, v in zip(labels, per_subject, strict=True)},
        "median_parcel": float(np.median(r_map.mean(axis=0))),
    }


# ---------------------------------------------------------------------------- environment


# ---------------------------------------------------------------------------- the job


def run_comparison(
    data_dir=None,
    *,
    models: Sequence[str] | None = None,
    device: str = "auto",
    quick: bool = False,
    seed: int | None = 0,
    trim: int = 0,
    subjects: Sequence[int] = SUBJECTS,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    return_estimators: bool = False,
    n_threads: int | None = None,
    early_stopping: float | None = None,
) -> dict:
    """Fit every model on Friends s1-5 and score it on Friends s6 and Movie10 run 1.

    Parameters
    ----------
    data_dir : path-like, optional
        Competitor release folder (or a synthetic one). None: the embedded default,
        the synthetic ``"small"`` dataset generated once into the cache folder
        (:func:`default_data_dir`). Nothing is written into a given ``data_dir``.
    models : sequence of str, optional
        Subset of ``encoder``, ``ridge``, ``feature``, ``mean`` (or class names);
        default all. ``FeatureRidge`` is skipped (status ``"skipped"``) when the data
        folder has no stimulus features.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device of the encoder.
    quick : bool, default=False
        Reduced training (2 short epochs; short alpha grids, 2 folds): a smoke run.
    seed : int or None, default=0
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
    log = log or _noop
    t_start = time.perf_counter()
    names = resolve_models(models)
    dev = resolve_device(device)
    trim = int(trim)
    if trim < 0:
        raise ValueError(f"trim must be >= 0; got {trim}.")
    if early_stopping is not None and not 0 < early_stopping < 1:
        raise ValueError(
            f"early_stopping must be a fraction of the training runs in (0, 1); "
            f"got {early_stopping}."
        )
    default_dataset = data_dir is None
    if default_dataset:
        root = ensure_default_dataset(progress=progress, log=log)
    else:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"data folder {root} does not exist or is not a folder.")
    root = root.resolve()

    from .data import is_synthetic

    log(f"Loading {root} (train Friends s1-5; evaluate Friends s6, Movie10 run 1) ...")
    t0 = time.perf_counter()
    sets = load_protocol(root, subjects=subjects, progress=progress)
    load_s = time.perf_counter() - t0
    for key, data in sets.items():
        if not data:
            raise ValueError(f"the {key} set is empty in {root}.")
    labels = [f"sub-{s:02d}" for s in subjects]
    first = next(iter(sets["train"].values()))
    n_parcels = int(first.shape[2])
    synthetic = bool(is_synthetic(root))
    X_train = list(sets["train"].values())  # list of (S, T_i, C)
    eval_X = {k: list(sets[k].values()) for k in EVAL_SETS}
    min_len = min(x.shape[1] for x in X_train)
    log(
        f"  {len(X_train)} training runs, "
        + ", ".join(f"{len(eval_X[k])} {EVAL_SETS[k]} runs" for k in EVAL_SETS)
        + f"; {len(labels)} subjects x {n_parcels} parcels ({load_s:.1f} s)."
    )

    maps: dict = {}
    ceiling = None
    if synthetic:
        ceiling_maps = _oracle_ceiling(root, sets, tuple(subjects), trim)
        maps["ceiling"] = ceiling_maps
        ceiling = {k: _scores(m, labels) for k, m in ceiling_maps.items()}

    results: dict = {}
    estimators: dict = {}
    for name in names:
        params = model_params(
            name, quick=quick, seed=seed, device=dev, min_train_length=min_len,
            progress=progress, n_threads=n_threads, early_stopping=early_stopping,
        )
        if name == "FeatureRidge" and not _has_features(root):
            results[name] = {
                "status": "skipped", "reason": "no stimulus features in the data folder"
            }
            log(f"{name}: skipped (no stimulus features in {root}).")
            continue
        log(f"{name}: fitting ...")
        est = _make_model(name, params)
        if name == "CrossSubjectEncoder" and progress:
            max_epochs = est.get_params().get("max_epochs", 10)
            est.set_params(callbacks=[EpochProgressBar(max_epochs, name)])
        t0 = time.perf_counter()
        with interrupt_guard():
            if name == "FeatureRidge":
                est.fit(_feature_episodes(root, sets["train"]), X_train)
            else:
                est.fit(X_train)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model_maps = {}
        for key, X in eval_X.items():
            if name == "FeatureRidge":
                model_maps[key] = est.score_map(_feature_episodes(root, sets[key]), X, trim=trim)
            else:
                model_maps[key] = est.score_map(X, trim=trim)  # (S, C)
        eval_s = time.perf_counter() - t0
        maps[name] = model_maps
        results[name] = {
            "status": "ok",
            "params": _public_params(est, params),
            "fit_s": fit_s,
            "eval_s": eval_s,
            "scores": {k: _scores(m, labels) for k, m in model_maps.items()},
        }
        if return_estimators:
            estimators[name] = est
        summary = ", ".join(
            f"{EVAL_SETS[k]} {results[name]['scores'][k]['mean']:.3f}" for k in EVAL_SETS
        )
        log(f"{name}: {summary} (fit {fit_s:.1f} s)")

    result = {
        "schema_version": 1,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {
            "data_dir": str(root),
            "default_dataset": default_dataset,
            "models": names,
            "device_requested": device,
            "device": dev,
            "quick": bool(quick),
            "seed": seed,
            "trim": trim,
            "n_threads": n_threads,
            "early_stopping": early_stopping,
            "protocol": {
                "train": "Friends seasons 1-5",
                "friends_s6": "Friends season 6",
                "movie10_run1": "Movie10, run 1 of each segment",
            },
        },
        "environment": environment_info(dev),
        "data": {
            "synthetic": synthetic,
            "subjects": list(subjects),
            "subject_labels": labels,
            "n_parcels": n_parcels,
            "sets": {
                "train": _set_info("Friends s1-5", sets["train"]),
                **{k: _set_info(EVAL_SETS[k], sets[k]) for k in EVAL_SETS},
            },
        },
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


def _public_params(est, overrides: dict) -> dict:
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

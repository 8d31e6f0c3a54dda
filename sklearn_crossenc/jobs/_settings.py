"""What every job fits: model names, evaluation sets and each model's settings.

Defined once here for :mod:`~sklearn_crossenc.jobs.compare` and
:mod:`~sklearn_crossenc.jobs.grid` (quick settings, the clip-length cap of short
runs, device and thread options).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

__all__ = [
    "MODELS",
    "EVAL_SETS",
    "QUICK_ENCODER",
    "QUICK_RIDGE",
    "QUICK_FEATURE_RIDGE",
    "resolve_models",
    "encoder_params",
    "clip_length_cap",
    "model_params",
    "make_model",
    "check_fraction",
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

#: Reduced training for ``quick=True`` (a smoke run of seconds), per model.
QUICK_ENCODER = {"max_epochs": 2, "samples_per_epoch": 128}
QUICK_RIDGE = {"alphas": (1e-1, 1e1, 1e3, 1e5), "cv": 2}
QUICK_FEATURE_RIDGE = {"cv": 2, "alphas": (1e4, 1e2, 1.0)}


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
    >>> from sklearn_crossenc.jobs.compare import resolve_models
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


def check_fraction(value, name: str):
    """``value`` as a float in (0, 1), or None; a clear error otherwise."""
    if value is None:
        return None
    if not 0 < value < 1:
        raise ValueError(f"{name} must be a fraction of the training runs in (0, 1); got {value}.")
    return float(value)


def _default_sample_length() -> int:
    from ..encoder import CrossSubjectEncoder

    return inspect.signature(CrossSubjectEncoder).parameters["sample_length"].default


def encoder_params(
    *,
    quick: bool = False,
    random_state: int | None = 0,
    device: str = "cpu",
    min_train_length: int | None = None,
    n_threads: int | None = None,
    early_stopping: float | None = None,
) -> dict:
    """Constructor parameters of ``CrossSubjectEncoder`` in a job.

    The seed's defaults, except: ``quick`` shortens training to a smoke run;
    ``early_stopping`` (a fraction of the training runs) sets ``validation``; the clip
    length is capped at the shortest training run, so that short synthetic runs work.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._settings import encoder_params
    >>> params = encoder_params(quick=True, min_train_length=40)
    >>> params["max_epochs"], params["samples_per_epoch"], params["sample_length"]
    (2, 128, 40)
    """
    params = {"device": device, "random_state": random_state}
    if n_threads is not None:
        params["n_threads"] = int(n_threads)
    if quick:
        params.update(QUICK_ENCODER)
    if early_stopping is not None:
        params["validation"] = float(early_stopping)
    params.update(clip_length_cap(min_train_length))
    return params


def clip_length_cap(min_train_length: int | None) -> dict:
    """``{"sample_length": n}`` when the shortest training run ``n`` is shorter than the
    encoder's default clip, else ``{}``.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._settings import clip_length_cap
    >>> clip_length_cap(40), clip_length_cap(500)
    ({'sample_length': 40}, {})
    """
    if min_train_length is not None and min_train_length < _default_sample_length():
        return {"sample_length": int(min_train_length)}
    return {}


def model_params(name: str, *, quick: bool = False, progress: bool = False, **encoder) -> dict:
    """Constructor parameters of model ``name`` in a job.

    ``CrossSubjectEncoder`` takes :func:`encoder_params` (its keyword arguments are
    passed through); ridge models keep their defaults (``quick``: a short alpha grid
    and 2 folds; ``progress``: their progress bars).
    """
    if name == "CrossSubjectEncoder":
        return encoder_params(quick=quick, **encoder)
    if name in ("CrossSubjectRidge", "FeatureRidge"):
        params = {"verbose": 1} if progress else {}
        if quick:
            params.update(QUICK_RIDGE if name == "CrossSubjectRidge" else QUICK_FEATURE_RIDGE)
        return params
    if name == "MeanOfOthers":
        return {}
    raise ValueError(f"unknown model {name!r}.")


def make_model(name: str, params: dict):
    """A new estimator of class ``name`` (a name of :data:`MODELS`) with ``params``."""
    import sklearn_crossenc as pkg

    return getattr(pkg, name)(**params)

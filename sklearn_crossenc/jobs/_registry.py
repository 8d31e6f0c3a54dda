"""The model registry: every model a job can fit, described once.

Each :class:`ModelSpec` says what the jobs, the pre-flight and the reports need to know
about one model: its estimator class, its short name (``crossenc compare --models``), its
quick settings, how its inputs are built (the episodes themselves, or stimulus features),
whether it has a random state, its progress hook, its tunable parameters with their
default grid, and whether it is the model the others are compared with. Nothing in the
job, report or command-line layers branches on a class name: they read these entries.

Adding a model is one entry here (:data:`REGISTRY`) plus its estimator; a model defined
elsewhere can be registered for a while with :func:`registered` (see
``docs/architecture.md``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

__all__ = ["ModelSpec", "JobSettings", "EPISODES", "STIMULUS_FEATURES", "REGISTRY",
           "QUICK_ENCODER", "EARLY_STOPPING_FOLDS", "resolve_models",
           "get_model", "reference_model", "registered", "encoder_params", "clip_length_cap"]

#: Reduced training of ``quick=True`` (a smoke run), per model.
QUICK_ENCODER = {"max_epochs": 2, "samples_per_epoch": 128}
QUICK_RIDGE = {"alphas": (1e-1, 1e1, 1e3, 1e5)}
QUICK_FEATURE_RIDGE = {"alphas": (1e4, 1e2, 1.0), "stimulus_window": 1}
#: The ways the encoder's training length is chosen (``early_stopping``): on the last of
#: the protocol's tuning folds, on a random fraction of the training runs (a number in
#: (0, 1)), or not at all (None: the notebook's fixed number of epochs).
EARLY_STOPPING_FOLDS = "folds"


@dataclass(frozen=True)
class JobSettings:
    """What a job passes to every model's settings (see :meth:`ModelSpec.params`).

    ``cv`` is the splitter of the protocol's tuning folds (every model tunes on it);
    ``early_stopping`` is :data:`EARLY_STOPPING_FOLDS`, a fraction or None.
    """

    quick: bool = False
    random_state: int | None = 0
    device: str = "cpu"
    n_threads: int | None = None
    early_stopping: float | str | None = None
    cv: object = None
    min_train_length: int | None = None
    progress: bool = False
    modalities: tuple | None = None  # FeatureRidge's: a dataset's [features]; None: all


class _Episodes:
    """Inputs of a cross-subject model: the runs themselves (the target is the input)."""

    needs_features = False

    @staticmethod
    def build(root, runs: dict) -> tuple:
        return list(runs.values()), None  # list of (S, T_i, C), no separate target

    @staticmethod
    def predict(est, X, y):
        return est.predict(X)


class _StimulusFeatures:
    """Inputs of a stimulus model: the runs' stimulus features; the target is the fMRI."""

    needs_features = True

    @staticmethod
    def build(source, runs: dict) -> tuple:
        """``source``: the release folder or a dataset description (``Protocol.source``)."""
        from ..ridge import feature_episodes

        chosen = getattr(source, "modalities", None)  # a dataset description's [features]
        return (feature_episodes(source, runs, **({"modalities": chosen} if chosen else {})),
                list(runs.values()))

    @staticmethod
    def predict(est, X, y):
        return est.predict(X, lengths=[ep.shape[1] for ep in y])


EPISODES = _Episodes()
STIMULUS_FEATURES = _StimulusFeatures()


def _no_settings(settings: JobSettings) -> dict:
    return {}


@dataclass(frozen=True)
class ModelSpec:
    """One model as the jobs know it.

    Parameters
    ----------
    name : str
        Short name (``--models``).
    label : str
        The estimator's class name: the model's key in results and reports.
    estimator : callable
        Returns the estimator class (imported on first use, so that reading the
        registry does not import torch).
    inputs : object, default=EPISODES
        How the model's ``(X, y)`` are built from a set's runs and how it predicts
        (:data:`EPISODES` or :data:`STIMULUS_FEATURES`).
    quick : mapping, default={}
        Parameters of a smoke run (``quick=True``).
    job_params : callable, default: none
        ``JobSettings -> dict``: the parameters a job sets (device, random state...).
    progress : callable, optional
        ``params -> dict``: parameters that show the model's progress on stderr.
    grid : mapping, default={}
        Tunable parameters and their default grid (``--tune``); empty when the model
        tunes itself inside ``fit`` (the ridges' alphas) or has nothing to tune.
    choices : callable, optional
        ``fitted estimator -> dict``: the settings it chose on the training runs (its
        epochs, its alphas), for the report's protocol section; a ``"tuned"`` key there
        replaces ``tuned`` when the fit tuned less than the model can.
    tuned : str, default="nothing"
        What the model tunes on the training runs, in words (the report says it).
    stochastic : bool, default=False
        Whether the fit depends on ``random_state`` (repeats make sense).
    reference : bool, default=False
        The model every other model is compared with, pair by pair.
    copies_training : bool, default=False
        Whether a fit keeps a copy of its training runs as large as they are (the
        encoder's standardised copy): counted when a job decides whether its runs are
        held in memory or streamed from disk (:mod:`~sklearn_crossenc.jobs._storage`).
    """

    name: str
    label: str
    estimator: Callable[[], type]
    inputs: object = EPISODES
    quick: Mapping = field(default_factory=dict)
    job_params: Callable[[JobSettings], dict] = _no_settings
    progress: Callable[[dict], dict] | None = None
    grid: Mapping = field(default_factory=dict)
    choices: Callable | None = None
    tuned: str = "nothing"
    stochastic: bool = False
    reference: bool = False
    copies_training: bool = False

    @property
    def needs_features(self) -> bool:
        return self.inputs.needs_features

    def params(self, settings: JobSettings) -> dict:
        """Constructor parameters of the model in a job with ``settings``."""
        params = dict(self.job_params(settings))
        if settings.quick:
            params.update(self.quick)
        if settings.progress and self.progress is not None:
            params.update(self.progress(params))
        return params

    def make(self, params: Mapping):
        """A new, unfitted estimator with ``params``."""
        return self.estimator()(**params)


# ---------------------------------------------------------------------------- the encoder


def _encoder_class():
    from ..encoder import CrossSubjectEncoder

    return CrossSubjectEncoder


def _default(name: str):
    return inspect.signature(_encoder_class()).parameters[name].default


def clip_length_cap(min_train_length: int | None) -> dict:
    """``{"sample_length": n}`` when the shortest training run ``n`` is shorter than the
    encoder's default clip, else ``{}`` (short synthetic runs still train).

    Examples
    --------
    >>> from sklearn_crossenc.jobs._registry import clip_length_cap
    >>> clip_length_cap(40), clip_length_cap(500)
    ({'sample_length': 40}, {})
    """
    if min_train_length is not None and min_train_length < _default("sample_length"):
        return {"sample_length": int(min_train_length)}
    return {}


def encoder_params(settings: JobSettings | None = None, **kwargs) -> dict:
    """Constructor parameters of ``CrossSubjectEncoder`` in a job.

    The seed's defaults, except: ``quick`` shortens training to a smoke run;
    ``early_stopping`` sets ``validation`` (the last of the folds ``cv``, or a fraction
    of the training runs); the clip length is capped at the shortest training run
    (``min_train_length``). Keywords are fields of :class:`JobSettings`, replacing those
    of ``settings``.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._registry import encoder_params
    >>> params = encoder_params(quick=True, min_train_length=40)
    >>> params["max_epochs"], params["samples_per_epoch"], params["sample_length"]
    (2, 128, 40)
    """
    settings = JobSettings(**kwargs) if settings is None else replace(settings, **kwargs)
    return REGISTRY["encoder"].params(settings)


def _encoder_job_params(settings: JobSettings) -> dict:
    params = {"device": settings.device, "random_state": settings.random_state}
    if settings.n_threads is not None:
        params["n_threads"] = int(settings.n_threads)
    if settings.early_stopping == EARLY_STOPPING_FOLDS:
        if settings.cv is None:
            raise ValueError("early stopping on the tuning folds needs the protocol's folds "
                             "(JobSettings.cv).")
        params["validation"] = settings.cv  # holds out the last fold
    elif settings.early_stopping is not None:
        params["validation"] = float(settings.early_stopping)
    params.update(clip_length_cap(settings.min_train_length))
    return params


def _encoder_choices(est) -> dict:
    """What the encoder chose on the training runs: its epochs, the held-out curve."""
    out = {"n_epochs": int(est.n_epochs_), "best_epoch": est.best_epoch_}
    if est.best_epoch_ is None:
        out["tuned"] = "nothing: a fixed number of epochs"
    else:
        out["valid_pearson"] = [float(v) for v in est.history_[:, "valid_pearson"]]
    return out


def _ridge_job_params(settings: JobSettings) -> dict:
    return {} if settings.cv is None else {"cv": settings.cv}


def _alpha_choices(est) -> dict:
    """The distribution of the alphas chosen per parcel (and subject) by the ridge's CV."""
    import numpy as np

    values, counts = np.unique(est.best_alphas_, return_counts=True)
    return {"alphas": {f"{v:g}": int(c) for v, c in zip(values, counts, strict=True)},
            "median_alpha": float(np.median(est.best_alphas_)),
            "n_splits": est.n_splits_}


def _epoch_bar(params: dict) -> dict:
    from ..encoder import EpochProgressBar

    return {"callbacks": [EpochProgressBar(None, "CrossSubjectEncoder")]}


# ---------------------------------------------------------------------------- the others


def _ridge_class():
    from ..ridge import CrossSubjectRidge

    return CrossSubjectRidge


def _feature_ridge_class():
    from ..ridge import FeatureRidge

    return FeatureRidge


def _mean_class():
    from ..baseline import MeanOfOthers

    return MeanOfOthers


def _feature_job_params(settings: JobSettings) -> dict:
    """The ridge's job parameters, and the modalities of a dataset's ``[features]``."""
    chosen = {} if not settings.modalities else {"modalities": tuple(settings.modalities)}
    return {**_ridge_job_params(settings), **chosen}


def _ridge_bar(params: dict) -> dict:
    return {"verbose": 1}


#: Every model of the jobs, by short name, in report order.
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec for spec in (
        ModelSpec("encoder", "CrossSubjectEncoder", _encoder_class, quick=QUICK_ENCODER,
                  job_params=_encoder_job_params, progress=_epoch_bar,
                  grid={"embed_dim": (32, 64, 128), "encoder_kernel_size": (0, 7)},
                  choices=_encoder_choices, tuned="training length (early stopping)",
                  stochastic=True, reference=True, copies_training=True),
        ModelSpec("ridge", "CrossSubjectRidge", _ridge_class, quick=QUICK_RIDGE,
                  job_params=_ridge_job_params, progress=_ridge_bar, choices=_alpha_choices,
                  tuned="alpha per parcel (cross-validation)"),
        ModelSpec("feature", "FeatureRidge", _feature_ridge_class, inputs=STIMULUS_FEATURES,
                  quick=QUICK_FEATURE_RIDGE, job_params=_feature_job_params,
                  progress=_ridge_bar, choices=_alpha_choices,
                  tuned="alpha per parcel (cross-validation)"),
        ModelSpec("mean", "MeanOfOthers", _mean_class),
    )
}


def get_model(name: str) -> ModelSpec:
    """The entry of a short name or class name (any case)."""
    key = str(name).lower()
    for spec in REGISTRY.values():
        if key in (spec.name, spec.label.lower()):
            return spec
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(REGISTRY)} "
                     f"(or {', '.join(s.label for s in REGISTRY.values())}).")


def resolve_models(models: Sequence[str] | None = None) -> list[ModelSpec]:
    """The entries of the requested models, in report order.

    Parameters
    ----------
    models : sequence of str, optional
        Short names (``encoder``, ``ridge``, ``feature``, ``mean``) or class names,
        any case; None means all.

    Returns
    -------
    specs : list of ModelSpec

    Examples
    --------
    >>> from sklearn_crossenc.jobs._registry import resolve_models
    >>> [spec.label for spec in resolve_models(["mean", "CrossSubjectEncoder"])]
    ['CrossSubjectEncoder', 'MeanOfOthers']
    """
    if models is None:
        return list(REGISTRY.values())
    chosen = {get_model(m).name for m in models}
    if not chosen:
        raise ValueError("no model selected.")
    return [spec for spec in REGISTRY.values() if spec.name in chosen]


def reference_model(specs: Sequence[ModelSpec]) -> ModelSpec | None:
    """The entry the others are compared with, among ``specs`` (None if absent)."""
    return next((s for s in specs if s.reference), None)


@contextlib.contextmanager
def registered(spec: ModelSpec):
    """Add ``spec`` to :data:`REGISTRY` for the duration of a ``with`` block.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._registry import ModelSpec, REGISTRY, registered
    >>> from sklearn_crossenc.baseline import MeanOfOthers
    >>> with registered(ModelSpec("mean2", "MeanOfOthers", lambda: MeanOfOthers)):
    ...     "mean2" in REGISTRY
    True
    >>> "mean2" in REGISTRY
    False
    """
    if spec.name in REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is registered already.")
    REGISTRY[spec.name] = spec
    try:
        yield spec
    finally:
        REGISTRY.pop(spec.name, None)

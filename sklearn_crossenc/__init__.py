"""Cross-subject encoding of fMRI as scikit-learn estimators.

Predict each subject's brain activity from the synchronized activity of the other
subjects who watched the same movie (Algonauts 2025 / CNeuroMod data), compare with
ridge baselines, and report.

Public names are imported lazily, so that ``from sklearn_crossenc import load_friends``
does not import torch.

Importing the package sets ``OMP_WAIT_POLICY=PASSIVE`` when the variable is not set and
torch is not imported yet, so that torch's idle threads do not spin on the cores of a
shared machine (:func:`sklearn_crossenc._device.passive_openmp_waits`).
"""

from __future__ import annotations

import importlib

from ._device import passive_openmp_waits
from ._watchdog import watch_parent

__version__ = "0.1.0"

# torch's idle OpenMP workers sleep instead of spinning on a shared machine's cores
# (OMP_WAIT_POLICY=PASSIVE, unless set or torch is already loaded; docs/performance.md).
passive_openmp_waits()
watch_parent()  # in a joblib (loky) worker only: it ends with its parent (kill -9)

_LAZY = {
    # data: loaders, synthetic dataset, helpers
    "load_dataset": "sklearn_crossenc.data",
    "load_friends": "sklearn_crossenc.data",
    "load_movie10": "sklearn_crossenc.data",
    "load_stimulus_features": "sklearn_crossenc.data",
    "make_synthetic_dataset": "sklearn_crossenc.data",
    "as_episodes": "sklearn_crossenc.data",
    "episode_groups": "sklearn_crossenc.data",
    "make_clips": "sklearn_crossenc.data",
    "stimulus_name": "sklearn_crossenc.data",
    "load_true_signal": "sklearn_crossenc.data",
    "is_synthetic": "sklearn_crossenc.data",
    # metrics
    "pearson_r": "sklearn_crossenc.metrics",
    "pearson_map": "sklearn_crossenc.metrics",
    "pearson_score": "sklearn_crossenc.metrics",
    "pearson_scorer": "sklearn_crossenc.metrics",
    "make_pearson_scorer": "sklearn_crossenc.metrics",
    "EPISODE_SCORERS": "sklearn_crossenc.scoring",
    "make_episode_scorer": "sklearn_crossenc.scoring",
    # evaluation: ceilings, intervals, paired tests, brain maps
    "run_statistics": "sklearn_crossenc.evaluation",
    "bootstrap_score": "sklearn_crossenc.evaluation",
    "bootstrap_scores": "sklearn_crossenc.evaluation",
    "paired_comparison": "sklearn_crossenc.evaluation",
    "fdr_bh": "sklearn_crossenc.evaluation",
    "noise_ceiling": "sklearn_crossenc.evaluation",
    "fraction_of_ceiling": "sklearn_crossenc.evaluation",
    "plot_parcel_map": "sklearn_crossenc.evaluation",
    "make_synthetic_atlas": "sklearn_crossenc.data",
    # estimators
    "CrossSubjectEncoder": "sklearn_crossenc.encoder",
    "SubjectAdder": "sklearn_crossenc.encoder",
    "EpisodeZScore": "sklearn_crossenc.preprocessing",
    "MeanOfOthers": "sklearn_crossenc.baseline",
    "CrossSubjectRidge": "sklearn_crossenc.ridge",
    "FeatureRidge": "sklearn_crossenc.ridge",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sklearn_crossenc' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

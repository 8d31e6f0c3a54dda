"""Data layer: Algonauts 2025 loaders, a synthetic dataset in the same layout, helpers.

Data flows one way: files -> loaders (dict of ``(subjects, time, parcels)`` arrays)
-> episode helpers -> estimators. Every release path is built in ``_paths``.
"""

from ._atlas import make_synthetic_atlas, save_atlas
from ._cache import (
    DEFAULT_DATA_SEED,
    DEFAULT_SCALE,
    default_cache_dir,
    default_data_dir,
    ensure_default_dataset,
)
from ._dataset import DatasetDescription, load_dataset
from ._episodes import as_episodes, episode_groups, make_clips
from ._loaders import load_friends, load_movie10
from ._paths import (
    MODALITIES,
    REPEATED_MOVIES,
    SUBJECTS,
    TR,
    atlas_path,
    features_path,
    has_stimulus_features,
    stimulus_features_dir,
    stimulus_name,
    subject_label,
)
from ._predictions import PredictionSet, load_predictions
from ._stimulus import load_stimulus_features
from ._synthetic import ensure_synthetic_dataset, is_synthetic, make_synthetic_dataset
from ._truth import load_true_signal

__all__ = [
    "DatasetDescription",
    "DEFAULT_DATA_SEED",
    "DEFAULT_SCALE",
    "MODALITIES",
    "PredictionSet",
    "REPEATED_MOVIES",
    "SUBJECTS",
    "TR",
    "as_episodes",
    "atlas_path",
    "default_cache_dir",
    "default_data_dir",
    "ensure_default_dataset",
    "ensure_synthetic_dataset",
    "episode_groups",
    "features_path",
    "has_stimulus_features",
    "is_synthetic",
    "load_dataset",
    "load_friends",
    "load_movie10",
    "load_predictions",
    "load_stimulus_features",
    "load_true_signal",
    "make_clips",
    "make_synthetic_atlas",
    "make_synthetic_dataset",
    "save_atlas",
    "stimulus_features_dir",
    "stimulus_name",
    "subject_label",
]

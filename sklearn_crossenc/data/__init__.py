"""Data layer: Algonauts 2025 loaders, a synthetic dataset in the same layout, helpers.

Data flows one way: files -> loaders (dict of ``(subjects, time, parcels)`` arrays)
-> episode helpers -> estimators.
"""

from ._atlas import atlas_file, make_synthetic_atlas, save_atlas
from ._episodes import as_episodes, episode_groups, make_clips
from ._features import load_stimulus_features
from ._loaders import load_friends, load_movie10
from ._paths import MODALITIES, SUBJECTS, TR, stimulus_name
from ._synthetic import ensure_synthetic_dataset, is_synthetic, make_synthetic_dataset
from ._truth import load_true_signal

__all__ = [
    "ensure_synthetic_dataset",
    "MODALITIES",
    "SUBJECTS",
    "TR",
    "as_episodes",
    "atlas_file",
    "episode_groups",
    "is_synthetic",
    "load_friends",
    "load_movie10",
    "load_stimulus_features",
    "load_true_signal",
    "make_clips",
    "make_synthetic_atlas",
    "make_synthetic_dataset",
    "save_atlas",
    "stimulus_name",
]

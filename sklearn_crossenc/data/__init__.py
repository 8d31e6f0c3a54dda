"""Data layer: Algonauts 2025 loaders, a synthetic dataset in the same layout, helpers.

Data flows one way: files -> loaders (dict of ``(subjects, time, parcels)`` arrays)
-> episode helpers -> estimators.
"""

from ._loaders import load_friends, load_movie10
from ._paths import SUBJECTS, TR, stimulus_name
from ._synthetic import is_synthetic, make_synthetic_dataset

__all__ = [
    "SUBJECTS",
    "TR",
    "is_synthetic",
    "load_friends",
    "load_movie10",
    "make_synthetic_dataset",
    "stimulus_name",
]

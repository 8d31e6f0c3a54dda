"""Ridge baselines: mean of the other subjects, cross-subject ridge, stimulus-feature ridge.

Thin scikit-learn estimators (``_sklearn_api``) over plain array solvers
(``_solvers``), in the manner of scikit-learn's ``_ridge.py`` and himalaya.
"""

from ._features import feature_episodes
from ._sklearn_api import (
    DEFAULT_ALPHAS,
    KIT_ALPHAS,
    CrossSubjectRidge,
    FeatureRidge,
    MeanOfOthers,
    episode_splits,
)

__all__ = [
    "MeanOfOthers",
    "CrossSubjectRidge",
    "FeatureRidge",
    "DEFAULT_ALPHAS",
    "KIT_ALPHAS",
    "episode_splits",
    "feature_episodes",
]

"""Ridge baselines: cross-subject ridge, stimulus-feature ridge (and the mean of the others).

Thin scikit-learn estimators (``_cross_subject``, ``_feature_ridge``) over plain array
solvers (:mod:`sklearn_crossenc.solvers`) and episode folds (``_folds``), in the manner of
scikit-learn's ``_ridge.py`` and himalaya. :class:`MeanOfOthers` lives in
:mod:`sklearn_crossenc.baseline` and is re-exported here.
"""

from ..baseline import MeanOfOthers
from ..solvers import DEFAULT_ALPHAS, KIT_ALPHAS
from ._cross_subject import CrossSubjectRidge
from ._design import feature_episodes
from ._feature_ridge import FeatureRidge
from ._folds import episode_splits

__all__ = [
    "MeanOfOthers",
    "CrossSubjectRidge",
    "FeatureRidge",
    "DEFAULT_ALPHAS",
    "KIT_ALPHAS",
    "episode_splits",
    "feature_episodes",
]

from .._compat import alias_module  # noqa: E402

alias_module(__name__ + "._sklearn_api", CrossSubjectRidge=CrossSubjectRidge,
             FeatureRidge=FeatureRidge, MeanOfOthers=MeanOfOthers)
del alias_module

"""The solver layer: ridge regression on sufficient statistics, as pure array functions.

Shared by the ridge estimators (:mod:`sklearn_crossenc.ridge`) and the new-subject prior
of the encoder (:mod:`sklearn_crossenc.encoder`); it knows nothing about estimators.
``_sufficient`` holds the statistics, their blocks and the checks of a solver's inputs;
``_fold_scores`` the closed-form validation score of every penalty in a fold, toward zero
or toward a prior map; ``_ridge_cv`` the ridge's cross-validation and solve;
``_toward_prior`` the ridge shrunk toward a prior map.
"""

from ._fold_scores import CRITERIA, EMPTY_FOLD, check_scoring, eigen_coef, ridge_fold_scores
from ._ridge_cv import (
    DEFAULT_ALPHAS,
    KIT_ALPHAS,
    ridge_cv_episodes,
    ridge_cv_stats,
    solve_ridge_stats,
)
from ._sufficient import (
    RidgeStats,
    centred_train,
    check_alphas,
    check_delays,
    check_dtype,
    delay_features,
    eigh_psd,
    ridge_stats,
    split_blocks,
    sum_stats,
)
from ._toward_prior import prior_ridge_cv, shift_targets, shrunk_solve, solve_toward_prior

__all__ = [
    "CRITERIA", "EMPTY_FOLD", "check_scoring", "eigen_coef", "ridge_fold_scores",
    "DEFAULT_ALPHAS", "KIT_ALPHAS", "ridge_cv_episodes", "ridge_cv_stats", "solve_ridge_stats",
    "RidgeStats", "centred_train", "check_alphas", "check_delays", "check_dtype",
    "delay_features", "eigh_psd", "ridge_stats", "split_blocks", "sum_stats",
    "prior_ridge_cv", "shift_targets", "shrunk_solve", "solve_toward_prior",
]

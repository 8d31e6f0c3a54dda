"""Behaviour shared by every estimator of episode-structured data: tags and scoring.

**Tags.** Every estimator takes *episodes* (a 4-D array ``(episodes, subjects, time,
parcels)`` or a list of 3-D arrays), never a 2-D ``(samples, features)`` matrix, so its
``__sklearn_tags__`` say ``two_d_array=False, three_d_array=True`` and scikit-learn's
``check_estimator`` skips its 2-D data checks instead of failing them.

**n_features_in_** is not defined: an episode has no single feature axis (the same
parcels are inputs of the other subjects and outputs of each subject, and time is not a
sample axis one could subsample). The fitted shape is ``n_subjects_`` and ``n_parcels_``.
"""


from __future__ import annotations

import numpy as np

from .metrics import pearson_map

__all__ = ["CrossSubjectScoreMixin", "episode_tags"]


def episode_tags(tags, *, regressor: bool = False, target_required: bool = False,
                 dict_input: bool = False):
    """Make scikit-learn ``Tags`` tell the truth about an episode estimator.

    Parameters
    ----------
    tags : sklearn.utils.Tags
        From ``super().__sklearn_tags__()``; changed in place and returned.
    regressor : bool, default=False
        Set ``estimator_type="regressor"`` (without ``RegressorMixin``'s R² ``score``).
    target_required : bool, default=False
        Whether ``fit`` needs ``y``.
    dict_input : bool, default=False
        Input is a list of dicts of arrays (stimulus features), not arrays of episodes.

    Examples
    --------
    >>> from sklearn.utils import get_tags
    >>> from sklearn_crossenc import MeanOfOthers
    >>> tags = get_tags(MeanOfOthers())
    >>> tags.estimator_type, tags.input_tags.two_d_array, tags.input_tags.three_d_array
    ('regressor', False, True)
    >>> tags.target_tags.required
    False
    """
    from sklearn.utils import RegressorTags

    tags.input_tags.two_d_array = False
    tags.input_tags.three_d_array = not dict_input
    tags.input_tags.dict = dict_input
    tags.target_tags.required = target_required
    tags.target_tags.single_output = False
    tags.target_tags.multi_output = True
    if regressor:
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
    return tags


class CrossSubjectScoreMixin:
    """``score`` and ``score_map`` from ``predict``, with the seed's Pearson metric.

    ``y=None`` means the target is ``X`` itself: each subject is predicted from the
    others. Estimators whose ``predict`` output differs from their input (for instance
    a stimulus-feature encoder) must be scored with an explicit ``y``.

    Its ``__sklearn_tags__`` declare an episode regressor whose target is optional (see
    :func:`episode_tags`); estimators that need ``y`` override them.
    """

    def __sklearn_tags__(self):
        return episode_tags(super().__sklearn_tags__(), regressor=True)

    def score_map(self, X, y=None, *, trim: int = 0) -> np.ndarray:
        """Pearson r per subject and parcel over the concatenated episodes.

        Parameters
        ----------
        X : episodes
            4-D array ``(episodes, subjects, time, parcels)`` or list of 3-D arrays.
        y : episodes, optional
            Target of the same structure; defaults to ``X``.
        trim : int, default=0
            Time points left out at each end of every episode (the challenge uses 5).

        Returns
        -------
        r : ndarray of shape (n_subjects, n_parcels)
        """
        y_true = X if y is None else y
        return pearson_map(y_true, self.predict(X), trim=trim)

    def score(self, X, y=None, *, trim: int = 0) -> float:
        """Mean Pearson r: over parcels, then over subjects (the seed's metric).

        Parameters
        ----------
        X : episodes
            4-D array ``(episodes, subjects, time, parcels)`` or list of 3-D arrays.
        y : episodes, optional
            Target of the same structure; defaults to ``X``.
        trim : int, default=0
            Time points left out at each end of every episode.

        Returns
        -------
        score : float
        """
        return float(self.score_map(X, y, trim=trim).mean(axis=1).mean())

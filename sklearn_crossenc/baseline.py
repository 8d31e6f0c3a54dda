"""Cross-subject baselines that are not fitted models: the mean of the other subjects.

:class:`MeanOfOthers` (also importable from :mod:`sklearn_crossenc.ridge`, where it used
to live) is the model-free reference every cross-subject model is compared with.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._base import CrossSubjectScoreMixin
from ._param_validation import ParamsMixin
from ._validation import check_episodes, restore_structure

__all__ = ["MeanOfOthers", "mean_of_others"]


def mean_of_others(episode: np.ndarray) -> np.ndarray:
    """Mean over the other subjects, for every subject.

    Parameters
    ----------
    episode : ndarray of shape (n_subjects, n_times, n_parcels)
        Needs at least two subjects.

    Returns
    -------
    others : ndarray of shape (n_subjects, n_times, n_parcels)
        ``others[s] = mean(episode[j] for j != s)``, in the input's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.baseline import mean_of_others
    >>> ep = np.arange(3.0).reshape(3, 1, 1)       # subjects hold 0, 1, 2
    >>> mean_of_others(ep).ravel()
    array([1.5, 1. , 0.5])
    """
    n_subjects = episode.shape[0]
    if n_subjects < 2:
        raise ValueError(f"mean_of_others needs at least 2 subjects; got {n_subjects}.")
    total = episode.sum(axis=0, keepdims=True)  # (1, T, C)
    return (total - episode) / episode.dtype.type(n_subjects - 1)  # (S, T, C)


class MeanOfOthers(ParamsMixin, CrossSubjectScoreMixin, BaseEstimator):
    """Predict each subject by the mean of the other subjects.

    The model-free leave-one-subject-out reference: subject ``s`` at time ``t`` is
    predicted by ``mean(X[j, t] for j != s)``, parcel by parcel. Its Pearson score is
    the leave-one-out inter-subject correlation used in the literature.

    ``fit`` learns nothing: it validates the input and records the subject and parcel
    counts, which ``predict`` then enforces.

    Attributes
    ----------
    n_subjects_ : int
        Number of subjects seen in ``fit`` (at least 2).
    n_parcels_ : int
        Number of parcels seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.baseline import MeanOfOthers
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.standard_normal((3, 1, 50, 8))            # (episodes, 1, time, parcels)
    >>> X = shared + 0.5 * rng.standard_normal((3, 4, 50, 8))  # 4 subjects
    >>> model = MeanOfOthers().fit(X)
    >>> model.predict(X).shape
    (3, 4, 50, 8)
    >>> round(model.score(X), 2)
    0.85
    """

    def fit(self, X, y=None):
        """Validate ``X`` (episodes, at least 2 subjects) and record its shape.

        Parameters
        ----------
        X : ndarray of shape (n_episodes, n_subjects, n_times, n_parcels) or list
            Episodes; a list holds arrays of shape ``(n_subjects, n_times_i, n_parcels)``.
        y : None
            Ignored.

        Returns
        -------
        self : MeanOfOthers
        """
        self._check_params()  # no parameters: the table is empty
        eps = check_episodes(X, min_subjects=2)
        self.n_subjects_, _, self.n_parcels_ = eps[0].shape
        return self

    def predict(self, X):
        """Mean of the other subjects, for each subject.

        Parameters
        ----------
        X : episodes
            Same subjects and parcels as in ``fit``.

        Returns
        -------
        y_pred : episodes in the structure of ``X``, float32
        """
        check_is_fitted(self, "n_subjects_")
        eps = check_episodes(X, n_subjects=self.n_subjects_, n_parcels=self.n_parcels_)
        return restore_structure(X, [mean_of_others(ep) for ep in eps])

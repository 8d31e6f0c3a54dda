"""Behaviour shared by every estimator of episode-structured data: scoring."""

from __future__ import annotations

import numpy as np

from .metrics import pearson_map

__all__ = ["CrossSubjectScoreMixin"]


class CrossSubjectScoreMixin:
    """``score`` and ``score_map`` from ``predict``, with the seed's Pearson metric.

    ``y=None`` means the target is ``X`` itself: each subject is predicted from the
    others. Estimators whose ``predict`` output differs from their input (for instance
    a stimulus-feature encoder) must be scored with an explicit ``y``.
    """

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

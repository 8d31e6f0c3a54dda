"""Cross-subject ridge: each subject from the mean of the others, as an estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._base import CrossSubjectScoreMixin
from .._param_validation import Boolean, Checked, Interval, NoneValue, Options, ParamsMixin
from .._validation import check_episodes, check_same_structure, restore_structure
from ..scoring import DEPRECATED_NAMES
from ..solvers import (
    CRITERIA,
    DEFAULT_ALPHAS,
    check_alphas,
    check_delays,
    check_dtype,
    check_scoring,
    delay_features,
    ridge_cv_episodes,
)
from ._folds import check_cv, episode_splits, progress_ticker

__all__ = ["CrossSubjectRidge"]


class CrossSubjectRidge(ParamsMixin, CrossSubjectScoreMixin, BaseEstimator):
    """Ridge regression from the other subjects' mean to each subject.

    For every target subject ``s``, the features at time ``t`` are the mean over the
    other subjects of all parcels, ``m_t = mean(X[j, t] for j != s)`` (P = n_parcels
    features), optionally stacked with time-shifted copies ``m_{t-d}`` for each ``d`` in
    ``delays`` (zero-padded at the episode's edges, so no delay crosses an episode
    boundary; P = len(delays) * n_parcels). A multi-target ridge maps them to all the
    subject's parcels, with the regularisation ``alpha`` chosen per target parcel from
    ``alphas`` by cross-validation over *episodes*, then refit on all episodes.

    The solver makes one pass over the data per subject to gather per-block sufficient
    statistics (``X^T X``, ``X^T Y``, sums), then per fold diagonalises the training
    Gram matrix once; that decomposition serves every alpha and every target, and the
    validation score of each (alpha, target) pair follows in closed form (see
    :mod:`sklearn_crossenc.solvers`).

    Parameters
    ----------
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Candidate regularisation strengths (> 0); 17 values from 1e-2 to 1e6 by default.
        They are relative to the data's scale: the ridge solves on features and targets
        centred on their training means and divided by their root-mean-square standard
        deviation (``x_scale_``, ``y_scale_``), so that a constant added to a parcel or a
        change of units changes no score (in the data's units, the grid would miss at
        scales far from 1, and float32 sums of uncentred data lose the signal).
    delays : tuple of int or None, default=None
        Time shifts of the features, in TRs; ``None`` means ``(0,)``. Positive delays use
        the others' past, negative their future. For example ``tuple(range(-3, 4))``.
    cv : int, cross-validation splitter or iterable, default=5
        Splits over *episodes*: an int ``k`` is ``KFold(k)`` (in order); any
        scikit-learn splitter (``GroupKFold``, ``PredefinedSplit``...) or an iterable of
        ``(train, test)`` episode-index arrays also works. Groups go through ``fit``.
    scoring : {"r2", "pearson", "neg_mean_squared_error"}, default="r2"
        Validation criterion, computed per target and fold, averaged over folds; the
        alpha with the highest average is kept per target.
    dtype : {"float32", "float64"}, default="float32"
        Dtype of the data pass, the eigen-decompositions and the (P, P) products;
        sums, centring and the score reductions are always float64.
    fit_intercept : bool, default=True
        Fit an intercept per target (features and targets centred on the training set).
    verbose : int, default=0
        Show a progress bar over subjects, episodes and folds when > 0.

    Attributes
    ----------
    n_subjects_ : int
    n_parcels_ : int
    delays_ : tuple of int
        The delays used (``(0,)`` when ``delays`` is None).
    alphas_ : ndarray of shape (n_alphas,)
    coef_ : ndarray of shape (n_subjects, n_features, n_parcels)
        ``coef_[s]`` maps subject ``s``'s features to its parcels. Row ``k * n_parcels +
        c`` is the others' parcel ``c`` delayed by ``delays_[k]``.
    intercept_ : ndarray of shape (n_subjects, n_parcels)
        ``others @ coef_[s] + intercept_[s]`` is the prediction (delayed copies are padded
        with ``x_offset_[s]`` at the episode's edges).
    x_offset_, y_offset_ : ndarray of shape (n_subjects, n_parcels)
        Training means of the features (the others' mean) and of the targets; zeros when
        ``fit_intercept=False``.
    x_scale_, y_scale_ : ndarray of shape (n_subjects,)
        Root-mean-square standard deviation of the features and of the targets.
    best_alphas_ : ndarray of shape (n_subjects, n_parcels)
        Alpha chosen for each subject and parcel.
    cv_scores_ : ndarray of shape (n_subjects, n_alphas, n_parcels)
        Validation score of each alpha, averaged over folds.
    n_splits_ : int
        Number of cross-validation folds used.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.ridge import CrossSubjectRidge
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.standard_normal((6, 1, 40, 5))
    >>> X = shared + 0.5 * rng.standard_normal((6, 3, 40, 5))  # 6 episodes, 3 subjects
    >>> model = CrossSubjectRidge(alphas=(1.0, 10.0, 100.0), cv=3).fit(X)
    >>> model.coef_.shape, model.best_alphas_.shape, model.cv_scores_.shape
    ((3, 5, 5), (3, 5), (3, 3, 5))
    >>> model.predict(X).shape
    (6, 3, 40, 5)
    >>> model.score(X) > 0.8
    True
    """

    def __init__(self, alphas=DEFAULT_ALPHAS, delays=None, cv=5, scoring="r2",
                 dtype="float32", fit_intercept=True, verbose=0):
        self.alphas = alphas
        self.delays = delays
        self.cv = cv
        self.scoring = scoring
        self.dtype = dtype
        self.fit_intercept = fit_intercept
        self.verbose = verbose

    _parameter_table = {
        "alphas": [Checked(check_alphas)],
        "delays": [NoneValue(), Checked(check_delays)],
        "cv": [Checked(check_cv)],
        "scoring": [Options(*CRITERIA, *DEPRECATED_NAMES)],
        "dtype": [Checked(check_dtype)],
        "fit_intercept": [Boolean()],
        "verbose": [Boolean(), Interval(int, 0, None)],
    }

    # -- helpers ----------------------------------------------------------------
    def _features(self, episode: np.ndarray, s: int, dtype) -> np.ndarray:
        """Standardised features of subject ``s`` in one episode (S, T, C): (T, P).

        The others' mean is centred on ``x_offset_[s]`` and divided by ``x_scale_[s]`` in
        float64 before any product of ``dtype``, so a constant added to a parcel or the
        data's scale changes nothing (float32 Gram sums of uncentred data lost the signal).
        """
        n_subjects = episode.shape[0]
        others = (episode.sum(axis=0, dtype=np.float64) - episode[s]) / (n_subjects - 1)
        others = ((others - self.x_offset_[s]) / self.x_scale_[s]).astype(dtype)  # (T, C)
        if self.delays_ == (0,):
            return others
        return delay_features(others, self.delays_)  # (T, D*C), padded with the mean

    def _target(self, episode: np.ndarray, s: int, dtype) -> np.ndarray:
        """Subject ``s``'s targets (T, C), centred and scaled as the features are."""
        return ((episode[s] - self.y_offset_[s]) / self.y_scale_[s]).astype(dtype)

    def _set_references(self, eps, ys) -> None:
        """Per subject, the training mean (S, C) and the root-mean-square std (S,) of the
        features (the others' mean) and of the targets, in float64."""
        S, _, C = eps[0].shape
        sums = np.zeros((4, S, C))  # x, x**2, y, y**2 summed over time
        n = 0
        for ep, y in zip(eps, ys, strict=True):
            ep = np.asarray(ep, dtype=np.float64)  # (S, T, C)
            others = (ep.sum(axis=0)[None] - ep) / (S - 1)  # (S, T, C)
            y = np.asarray(y, dtype=np.float64)  # (S, T, C)
            for i, a in enumerate((others, others * others, y, y * y)):
                sums[i] += a.sum(axis=1)
            n += ep.shape[1]
        mx, my = sums[0] / n, sums[2] / n  # (S, C)
        vx = np.maximum(sums[1] / n - mx**2, 0.0).mean(axis=1)  # (S,)
        vy = np.maximum(sums[3] / n - my**2, 0.0).mean(axis=1)  # (S,)
        if not self.fit_intercept:  # without an intercept the offsets are the model's
            mx, my = np.zeros_like(mx), np.zeros_like(my)
        self.x_offset_, self.y_offset_ = mx, my
        self.x_scale_ = np.where(vx > 0, np.sqrt(vx), 1.0)  # (S,)
        self.y_scale_ = np.where(vy > 0, np.sqrt(vy), 1.0)  # (S,)

    # -- API --------------------------------------------------------------------
    def fit(self, X, y=None, groups=None):
        """Fit one cross-validated ridge per subject.

        Parameters
        ----------
        X : ndarray of shape (n_episodes, n_subjects, n_times, n_parcels) or list
            Episodes; a list holds arrays ``(n_subjects, n_times_i, n_parcels)``.
            At least 2 subjects.
        y : episodes, optional
            Targets of the same shape as ``X``; defaults to ``X`` itself (each subject
            is predicted from the others).
        groups : array-like of shape (n_episodes,), optional
            Group label of each episode, for group splitters such as ``GroupKFold``.

        Returns
        -------
        self : CrossSubjectRidge
        """
        self._check_params()
        dtype = check_dtype(self.dtype)
        alphas = check_alphas(self.alphas)
        scoring = check_scoring(self.scoring)
        delays = (0,) if self.delays is None else check_delays(self.delays)
        eps = check_episodes(X, min_subjects=2, dtype=None)
        if y is None:
            ys = eps
        else:
            ys = check_episodes(y, name="y", dtype=None)
            check_same_structure(eps, ys, names=("X", "y"))
            if ys[0].shape[2] != eps[0].shape[2]:
                raise ValueError(
                    f"y has {ys[0].shape[2]} parcels but X has {eps[0].shape[2]}; "
                    "they must match."
                )
        n_subjects, _, n_parcels = eps[0].shape
        splits = episode_splits(self.cv, len(eps), groups)

        self.delays_ = delays
        self._set_references(eps, ys)
        n_features = len(delays) * n_parcels
        coef = np.empty((n_subjects, n_features, n_parcels), dtype=dtype)
        intercept = np.empty((n_subjects, n_parcels), dtype=dtype)
        best = np.empty((n_subjects, n_parcels))
        cv_scores = np.empty((n_subjects, alphas.size, n_parcels))
        total = n_subjects * (len(eps) + len(splits) + 1)
        with progress_ticker(self.verbose, total, "CrossSubjectRidge") as tick:
            for s in range(n_subjects):
                pairs = ((self._features(ep, s, dtype),  # (T, P)
                          self._target(ys[e], s, dtype))  # (T, C)
                         for e, ep in enumerate(eps))
                w, b, best[s], cv_scores[s] = ridge_cv_episodes(
                    pairs, splits, len(eps), alphas, fit_intercept=self.fit_intercept,
                    scoring=scoring, dtype=dtype, progress=tick,
                )  # (P, C), (C,) in standardised units
                coef[s] = w * (self.y_scale_[s] / self.x_scale_[s])
                intercept[s] = (self.y_offset_[s] + self.y_scale_[s] * b
                                - np.tile(self.x_offset_[s], len(delays)) @ coef[s])
        self.n_subjects_, self.n_parcels_ = n_subjects, n_parcels
        self.alphas_ = alphas
        self.coef_, self.intercept_ = coef, intercept
        self.best_alphas_, self.cv_scores_ = best, cv_scores
        self.n_splits_ = len(splits)
        return self

    def __setstate__(self, state):
        # A model pickled by release 0.1.0 solved on raw data: no offsets, unit scales.
        super().__setstate__(state)
        if "coef_" in state and "x_offset_" not in state:
            S, C = self.intercept_.shape
            self.x_offset_, self.y_offset_ = np.zeros((S, C)), np.zeros((S, C))
            self.x_scale_, self.y_scale_ = np.ones(S), np.ones(S)

    def predict(self, X):
        """Predict every subject from the other subjects.

        Parameters
        ----------
        X : episodes
            Same subjects and parcels as in ``fit``.

        Returns
        -------
        y_pred : episodes in the structure of ``X``, in the fitted dtype
        """
        check_is_fitted(self, "coef_")
        eps = check_episodes(X, n_subjects=self.n_subjects_, n_parcels=self.n_parcels_,
                             dtype=None)
        dtype = self.coef_.dtype
        out = []
        for ep in eps:
            pred = np.empty(ep.shape, dtype=dtype)  # (S, T, C)
            for s in range(self.n_subjects_):
                # intercept_ + x_offset_ @ coef_: the intercept of the centred features.
                b = self.intercept_[s] + np.tile(self.x_offset_[s], len(self.delays_)) \
                    @ self.coef_[s].astype(np.float64)  # (C,)
                w = self.coef_[s] * dtype.type(self.x_scale_[s])  # (P, C)
                pred[s] = self._features(ep, s, dtype) @ w + b.astype(dtype)
            out.append(pred)
        return restore_structure(X, out)

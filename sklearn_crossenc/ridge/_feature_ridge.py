"""The development kit's stimulus-feature ridge encoder, as an estimator."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._base import CrossSubjectScoreMixin, episode_tags
from .._param_validation import Boolean, Checked, Interval, NoneValue, Options, ParamsMixin
from .._validation import check_episodes, check_trim
from ..scoring import DEPRECATED_NAMES
from ..solvers import (
    CRITERIA,
    KIT_ALPHAS,
    check_alphas,
    check_dtype,
    check_scoring,
    ridge_cv_episodes,
)
from ._design import _single_index, _window_index
from ._folds import check_cv, episode_splits, progress_ticker

__all__ = ["FeatureRidge"]


def _check_modalities(mods, name: str = "modalities"):
    if isinstance(mods, str) or not isinstance(mods, (list, tuple)) or not mods \
            or not all(isinstance(m, str) for m in mods) or len(set(mods)) != len(mods):
        raise ValueError(f"{name} must be a non-empty tuple of distinct names; got {mods!r}.")
    return tuple(mods)


class FeatureRidge(ParamsMixin, CrossSubjectScoreMixin, BaseEstimator):
    """The Algonauts development kit's stimulus-feature ridge encoder.

    Predicts each subject's fMRI from stimulus features (one ``(n_chunks, dims)``
    array per modality and episode, one chunk per TR):

    1. each modality is standardised (``StandardScaler`` fitted on all chunks of the
       training episodes);
    2. for fMRI time point ``t``, every windowed modality (all but ``"language"``)
       contributes chunks ``t - hrf_delay - stimulus_window + 1 ... t - hrf_delay``
       (a window that would start before chunk 0 uses chunks ``0 ... window - 1``, one
       that would end after the last chunk uses the last ``window`` chunks), and
       ``"language"`` the single chunk ``t - hrf_delay`` (clipped into the episode);
       the pieces are concatenated (1250 + 100 + 250 = 1600 features with the kit's
       dimensions);
    3. ``trim`` time points are dropped at each end of every training episode;
    4. ridge with one alpha per parcel and one model per subject. Because all subjects
       share the design matrix, all subjects' parcels are solved together as targets of
       one decomposition: per target this is exactly the per-subject fit.

    Alpha selection: with an int or a splitter ``cv`` it is cross-validation over
    episodes (one decomposition per fold, as :class:`CrossSubjectRidge`); with
    ``cv=None`` it is exactly the kit's: scikit-learn's
    ``RidgeCV(alphas, alpha_per_target=True)`` (efficient leave-one-out over time
    points), one per subject.

    Parameters
    ----------
    hrf_delay : int, default=3
        Delay in TRs between a stimulus chunk and the fMRI it drives.
    stimulus_window : int, default=5
        Chunks per windowed modality.
    alphas : sequence of float, default=KIT_ALPHAS
        The kit's 15 alphas, 1e6 down to 1e-5.
    modalities : tuple of str, default=("visual", "audio", "language")
        Keys read from each episode's dict, in column order.
    trim : int, default=5
        Time points left out at the start and end of every training episode.
    cv : int, splitter, iterable or None, default=5
        Episode splits for alpha selection; None means the kit's leave-one-out.
    scoring : {"r2", "pearson", "neg_mean_squared_error"}, default="r2"
        Validation criterion with episode folds (unused with ``cv=None``, which
        minimises the leave-one-out squared error like ``RidgeCV``).
    dtype : {"float32", "float64"}, default="float64"
    fit_intercept : bool, default=True
    verbose : int, default=0

    Attributes
    ----------
    scalers_ : dict of str to StandardScaler
        The fitted scaler of each modality.
    n_dims_ : dict of str to int
        Feature dimensions of each modality.
    n_subjects_, n_parcels_ : int
    coef_ : ndarray of shape (n_subjects, n_features, n_parcels)
    intercept_ : ndarray of shape (n_subjects, n_parcels)
    best_alphas_ : ndarray of shape (n_subjects, n_parcels)
    cv_scores_ : ndarray of shape (n_subjects, n_alphas, n_parcels) or None
        Fold-averaged validation scores (None with ``cv=None``).
    n_splits_ : int or None
        Number of cross-validation folds used (None with ``cv=None``).

    Notes
    -----
    **Input.** ``X`` is a list, one item per episode, of dicts ``{modality: ndarray of
    shape (n_chunks, dims)}``; ``y`` the fMRI episodes ``(n_subjects, n_times,
    n_parcels)`` (a 4-D array or a list). Stimulus features and fMRI of a run can differ
    by a chunk or two in length; the clipping above absorbs that.

    **How ``predict`` knows each episode's length**, in order of precedence: the
    ``lengths`` argument of :meth:`predict`; an integer under the key ``"n_times"`` in
    the episode's dict; otherwise the smallest ``n_chunks`` over the modalities.
    :meth:`score` and :meth:`score_map` take the lengths from ``y``. For
    ``GridSearchCV`` with ``pearson_scorer`` put ``"n_times"`` in the dicts
    (:func:`feature_episodes` does).

    Differences from the kit: the kit computes the clipping on trimmed indices, so its
    first few training TRs see chunks a little *later* than ``t - hrf_delay``; here the
    window is always anchored at ``t - hrf_delay`` and only clipped at the run's edges.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.ridge import FeatureRidge
    >>> rng = np.random.default_rng(0)
    >>> X = [{"visual": rng.standard_normal((60, 6)), "language": rng.standard_normal((60, 4))}
    ...      for _ in range(4)]
    >>> w = rng.standard_normal((6, 2, 3))          # visual chunk t-3 drives 2 subjects
    >>> y = [np.einsum("td,dsc->stc", np.roll(x["visual"], 3, axis=0), w) for x in X]
    >>> model = FeatureRidge(modalities=("visual", "language"), cv=2, trim=5).fit(X, y)
    >>> model.coef_.shape                           # 5 * 6 + 4 features
    (2, 34, 3)
    >>> model.score(X, y, trim=5) > 0.9
    True
    """

    def __init__(self, hrf_delay=3, stimulus_window=5, alphas=KIT_ALPHAS,
                 modalities=("visual", "audio", "language"), trim=5, cv=5, scoring="r2",
                 dtype="float64", fit_intercept=True, verbose=0):
        self.hrf_delay = hrf_delay
        self.stimulus_window = stimulus_window
        self.alphas = alphas
        self.modalities = modalities
        self.trim = trim
        self.cv = cv
        self.scoring = scoring
        self.dtype = dtype
        self.fit_intercept = fit_intercept
        self.verbose = verbose

    # -- validation -------------------------------------------------------------
    _parameter_table = {
        "hrf_delay": [Interval(int, 0, None)],
        "stimulus_window": [Interval(int, 1, None)],
        "alphas": [Checked(check_alphas)],
        "modalities": [Checked(_check_modalities)],
        "trim": [Checked(check_trim)],
        "cv": [NoneValue(), Checked(check_cv)],
        "scoring": [Options(*CRITERIA, *DEPRECATED_NAMES)],
        "dtype": [Checked(check_dtype)],
        "fit_intercept": [Boolean()],
        "verbose": [Boolean(), Interval(int, 0, None)],
    }

    def _check_features(self, X, modalities, n_dims=None, fitted=False) -> list[dict]:
        if isinstance(X, Mapping) or not isinstance(X, (list, tuple)):
            raise ValueError(
                "X must be a list of dicts {modality: (n_chunks, dims) array}, one per "
                f"episode; got {type(X).__name__}."
            )
        if len(X) == 0:
            raise ValueError("X holds no episodes (empty selection).")
        out = []
        for i, item in enumerate(X):
            if not isinstance(item, Mapping):
                raise ValueError(
                    f"X[{i}] is a {type(item).__name__}; expected a dict "
                    "{modality: (n_chunks, dims) array}."
                )
            ep = {}
            for m in modalities:
                if m not in item:
                    raise ValueError(
                        f"X[{i}] has no {m!r} features; it has {sorted(map(str, item))}."
                    )
                a = np.asarray(item[m])
                if a.ndim != 2 or a.dtype.kind not in "fiu":
                    raise ValueError(
                        f"X[{i}][{m!r}] must be a 2-D numeric array (n_chunks, dims); got "
                        f"shape {a.shape} and dtype {a.dtype}."
                    )
                need = self.stimulus_window if m != "language" else 1
                if a.shape[0] < need:
                    raise ValueError(
                        f"X[{i}][{m!r}] has {a.shape[0]} chunks; at least {need} are needed."
                    )
                if n_dims is not None and a.shape[1] != n_dims[m]:
                    ref = f"{n_dims[m]} were seen in fit" if fitted else f"X[0] has {n_dims[m]}"
                    raise ValueError(f"X[{i}][{m!r}] has {a.shape[1]} dims but {ref}.")
                if not np.isfinite(a).all():
                    raise ValueError(f"X[{i}][{m!r}] contains NaN or Inf values.")
                ep[m] = a
            n_times = item.get("n_times")
            if n_times is not None and (not isinstance(n_times, numbers.Integral)
                                        or n_times < 1):
                raise ValueError(f"X[{i}]['n_times'] must be a positive int; got {n_times!r}.")
            ep["n_times"] = n_times
            if n_dims is None:
                n_dims = {m: ep[m].shape[1] for m in modalities}
            out.append(ep)
        return out

    def _design(self, ep: dict, n_times: int, dtype) -> np.ndarray:
        """Windowed, standardised design matrix of one episode: (n_times, P)."""
        parts = []
        for m in self.modalities_:
            f = self.scalers_[m].transform(ep[m]).astype(dtype, copy=False)  # (n_chunks, d)
            if m == "language":
                parts.append(f[_single_index(n_times, f.shape[0], self.hrf_delay)])  # (T, d)
            else:
                idx = _window_index(n_times, f.shape[0], self.hrf_delay,
                                    self.stimulus_window)  # (T, W)
                parts.append(f[idx].reshape(n_times, -1))  # (T, W*d)
        return np.concatenate(parts, axis=1)  # (T, P)

    # -- API --------------------------------------------------------------------
    def fit(self, X, y, groups=None):
        """Fit one ridge per subject (solved jointly) on windowed stimulus features.

        Parameters
        ----------
        X : list of dict
            One dict ``{modality: ndarray of shape (n_chunks, dims)}`` per episode.
        y : ndarray of shape (n_episodes, n_subjects, n_times, n_parcels) or list
            fMRI episodes aligned with ``X``.
        groups : array-like of shape (n_episodes,), optional
            Group labels for group splitters.

        Returns
        -------
        self : FeatureRidge
        """
        from sklearn.preprocessing import StandardScaler

        self._check_params()
        modalities, trim = tuple(self.modalities), check_trim(self.trim)
        dtype = check_dtype(self.dtype)
        alphas = check_alphas(self.alphas)
        scoring = check_scoring(self.scoring)
        feats = self._check_features(X, modalities)
        ys = check_episodes(y, name="y", dtype=None, min_length=2 * trim + 1)
        if len(ys) != len(feats):
            raise ValueError(f"X has {len(feats)} episodes but y has {len(ys)}.")
        n_subjects, _, n_parcels = ys[0].shape

        self.modalities_ = modalities
        self.n_dims_ = {m: feats[0][m].shape[1] for m in modalities}
        self.scalers_ = {
            m: StandardScaler().fit(np.concatenate([ep[m] for ep in feats]).astype(np.float64))
            for m in modalities
        }

        def design_and_target(e):
            T = ys[e].shape[1]
            Xd = self._design(feats[e], T, dtype)[trim:T - trim]  # (n, P)
            Y = ys[e][:, trim:T - trim].transpose(1, 0, 2).reshape(T - 2 * trim, -1)  # (n, S*C)
            return Xd, Y.astype(dtype, copy=False)

        if self.cv is None:
            coef, intercept, best = self._fit_kit_loo(design_and_target, len(ys), alphas,
                                                      n_subjects, n_parcels)
            cv_scores, splits = None, None
        else:
            splits = episode_splits(self.cv, len(ys), groups)
            pairs = (design_and_target(e) for e in range(len(ys)))  # (n, P), (n, S*C)
            with progress_ticker(self.verbose, len(ys) + len(splits) + 1,
                                 "FeatureRidge") as tick:
                coef, intercept, best, cv_scores = ridge_cv_episodes(
                    pairs, splits, len(ys), alphas, fit_intercept=self.fit_intercept,
                    scoring=scoring, dtype=dtype, progress=tick,
                )
            n_features = coef.shape[0]
            # (P, S*C) -> (S, P, C): one model per subject.
            coef = coef.reshape(n_features, n_subjects, n_parcels).transpose(1, 0, 2)
            intercept = intercept.reshape(n_subjects, n_parcels)
            best = best.reshape(n_subjects, n_parcels)
            cv_scores = cv_scores.reshape(alphas.size, n_subjects, n_parcels).transpose(1, 0, 2)
        self.n_subjects_, self.n_parcels_ = n_subjects, n_parcels
        self.alphas_ = alphas
        self.coef_ = np.ascontiguousarray(coef, dtype=dtype)
        self.intercept_ = np.asarray(intercept, dtype=dtype)
        self.best_alphas_ = np.asarray(best, dtype=np.float64)
        self.cv_scores_ = None if cv_scores is None else np.ascontiguousarray(cv_scores)
        self.n_splits_ = None if splits is None else len(splits)
        return self

    def _fit_kit_loo(self, design_and_target, n_episodes, alphas, n_subjects, n_parcels):
        """The kit's selection: ``RidgeCV(alpha_per_target=True)`` per subject."""
        from sklearn.linear_model import RidgeCV

        pairs = [design_and_target(e) for e in range(n_episodes)]
        Xd = np.concatenate([p[0] for p in pairs])  # (N, P)
        Y = np.concatenate([p[1] for p in pairs])  # (N, S*C)
        del pairs
        coef = np.empty((n_subjects, Xd.shape[1], n_parcels))
        intercept = np.empty((n_subjects, n_parcels))
        best = np.empty((n_subjects, n_parcels))
        for s in range(n_subjects):
            model = RidgeCV(alphas=alphas, alpha_per_target=True,
                            fit_intercept=self.fit_intercept)
            model.fit(Xd, Y[:, s * n_parcels:(s + 1) * n_parcels])
            coef[s] = model.coef_.T
            intercept[s] = model.intercept_
            best[s] = model.alpha_
        return coef, intercept, best

    def _lengths(self, feats, lengths) -> list[int]:
        if lengths is not None:
            lengths = [int(n) for n in lengths]
            if len(lengths) != len(feats):
                raise ValueError(
                    f"lengths has {len(lengths)} entries but X has {len(feats)} episodes."
                )
            if min(lengths) < 1:
                raise ValueError(f"lengths must be positive; got {min(lengths)}.")
            return lengths
        return [ep["n_times"] if ep["n_times"] is not None
                else min(ep[m].shape[0] for m in self.modalities_) for ep in feats]

    def predict(self, X, lengths=None):
        """Predict every subject's fMRI from the stimulus features.

        Parameters
        ----------
        X : list of dict
            One dict ``{modality: (n_chunks, dims) array}`` per episode (optionally with
            ``"n_times"``).
        lengths : sequence of int, optional
            fMRI time points to predict per episode (see the class notes).

        Returns
        -------
        y_pred : list of ndarray of shape (n_subjects, n_times_i, n_parcels)
            Every time point, no trimming.
        """
        check_is_fitted(self, "coef_")
        feats = self._check_features(X, self.modalities_, n_dims=self.n_dims_, fitted=True)
        dtype = self.coef_.dtype
        out = []
        for ep, T in zip(feats, self._lengths(feats, lengths), strict=True):
            Xd = self._design(ep, T, dtype)  # (T, P)
            pred = np.einsum("tp,spc->stc", Xd, self.coef_, optimize=True)  # (S, T, C)
            out.append(pred + self.intercept_[:, None, :])
        return out

    def score_map(self, X, y=None, *, trim: int = 0) -> np.ndarray:
        """Pearson r per subject and parcel of ``predict(X)`` against ``y``.

        Parameters
        ----------
        X : list of dict
            Stimulus features per episode.
        y : episodes
            The fMRI to compare with; each episode's length sets the prediction's.
        trim : int, default=0
            Time points left out at each end of every episode.

        Returns
        -------
        r : ndarray of shape (n_subjects, n_parcels)
        """
        from ..metrics import pearson_map

        if y is None:
            raise ValueError("FeatureRidge predicts fMRI from stimulus features: pass the "
                             "fMRI episodes as y to score it.")
        ys = check_episodes(y, name="y", dtype=None)
        pred = self.predict(X, lengths=[ep.shape[1] for ep in ys])
        return pearson_map(ys, pred, trim=trim)

    def __sklearn_tags__(self):
        # Input: a list of dicts of stimulus features; y (fMRI episodes) is required.
        return episode_tags(super().__sklearn_tags__(), regressor=True, target_required=True,
                            dict_input=True)

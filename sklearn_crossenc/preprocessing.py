"""Transformers for episode-structured fMRI data.

Every transformer here takes and returns *episodes*: a 4-D array
``(n_episodes, n_subjects, n_times, n_parcels)`` or a list of 3-D arrays
``(n_subjects, n_times_i, n_parcels)``, and gives back the caller's structure, so
that it can precede :class:`~sklearn_crossenc.CrossSubjectEncoder` in a
:class:`~sklearn.pipeline.Pipeline`.
"""

from __future__ import annotations

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._base import episode_tags
from ._param_validation import Boolean, Interval, ParamsMixin
from ._validation import check_episodes, check_same_structure, restore_structure

__all__ = ["EpisodeZScore", "episode_moments", "zscore_episode"]


def _out_dtype(dtype) -> np.dtype:
    """float64 stays float64; everything else (float32, float16, integers) gives float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def episode_moments(episode: np.ndarray, *, with_mean: bool = True, with_std: bool = True,
                    eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """The shift and scale :func:`zscore_episode` applies: ``z = (x - shift) / scale``.

    Returns two float64 arrays of shape (n_subjects, 1, n_parcels): the mean over time
    (zeros without ``with_mean``) and the standard deviation (ones without ``with_std``,
    and 1 where it is at most ``eps``).
    """
    x = np.asarray(episode, dtype=np.float64)  # (S, T, C)
    mean = x.mean(axis=1, keepdims=True)  # (S, 1, C)
    shift = mean if with_mean else np.zeros_like(mean)
    if not with_std:
        return shift, np.ones_like(mean)
    std = np.sqrt(((x - mean) ** 2).mean(axis=1, keepdims=True))  # (S, 1, C)
    return shift, np.where(std > eps, std, 1.0)


def zscore_episode(
    episode: np.ndarray, *, with_mean: bool = True, with_std: bool = True, eps: float = 1e-8
) -> np.ndarray:
    """Z-score each subject's parcels over the time axis of one episode.

    Parameters
    ----------
    episode : ndarray of shape (n_subjects, n_times, n_parcels)
    with_mean : bool, default=True
        Subtract each series' mean over time.
    with_std : bool, default=True
        Divide each series by its standard deviation over time (``ddof=0``).
    eps : float, default=1e-8
        Series whose standard deviation is at most ``eps`` are not scaled (scale 1),
        so a constant series becomes 0 (with ``with_mean``) instead of NaN.

    Returns
    -------
    out : ndarray of shape (n_subjects, n_times, n_parcels)
        Computed in float64; float64 for float64 input, float32 otherwise.
    """
    shift, scale = episode_moments(episode, with_mean=with_mean, with_std=with_std, eps=eps)
    x = (np.asarray(episode, dtype=np.float64) - shift) / scale  # (S, T, C)
    return x.astype(_out_dtype(episode.dtype), copy=False)


class EpisodeZScore(ParamsMixin, TransformerMixin, BaseEstimator):
    """Z-score each subject's parcels within each episode.

    For every episode and subject, each parcel's time series is centred on its mean
    over the episode's time points and divided by its standard deviation (``ddof=0``).
    The transform is stateless: statistics come from the episode being transformed,
    never from the training data, so train and test episodes are treated alike.
    ``fit`` only validates the input and records its subject and parcel counts, which
    ``transform`` then enforces.

    Parameters
    ----------
    with_mean : bool, default=True
        Centre each series.
    with_std : bool, default=True
        Scale each series to unit variance.
    eps : float, default=1e-8
        Standard deviations at or below ``eps`` are treated as zero: such (constant)
        series are left unscaled, so with ``with_mean=True`` they become 0, not NaN.

    Attributes
    ----------
    n_subjects_ : int
        Number of subjects seen in ``fit``.
    n_parcels_ : int
        Number of parcels seen in ``fit``.

    Notes
    -----
    In a ``Pipeline`` ending with a cross-subject encoder and ``y=None``, the encoder's
    target is the z-scored data, so ``Pipeline.score(X)`` and
    :data:`~sklearn_crossenc.pearson_scorer` compare predictions with the z-scored
    ``X``. Pearson correlation is unchanged by a per-series affine map, so within an
    episode this equals the correlation with the raw data; over several concatenated
    episodes it may differ slightly because each episode is scaled on its own.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.preprocessing import EpisodeZScore
    >>> X = np.random.default_rng(0).normal(2.0, 0.5, size=(3, 4, 20, 5))
    >>> Z = EpisodeZScore().fit_transform(X)
    >>> Z.shape, Z.dtype
    ((3, 4, 20, 5), dtype('float64'))
    >>> bool(np.allclose(Z.mean(axis=2), 0, atol=1e-6))
    True
    >>> bool(np.allclose(Z.std(axis=2), 1, atol=1e-5))
    True
    >>> bool(np.allclose(EpisodeZScore().fit(X).inverse_transform(Z, reference=X), X))
    True
    """

    def __init__(self, with_mean=True, with_std=True, eps=1e-8):
        self.with_mean = with_mean
        self.with_std = with_std
        self.eps = eps

    _parameter_table = {
        "with_mean": [Boolean()],
        "with_std": [Boolean()],
        "eps": [Interval(float, 0, None)],
    }

    def fit(self, X, y=None):
        """Validate ``X`` and record its subject and parcel counts.

        Parameters
        ----------
        X : ndarray of shape (n_episodes, n_subjects, n_times, n_parcels) or list of ndarray
            Episodes; a list holds arrays shaped ``(n_subjects, n_times_i, n_parcels)``.
        y : None
            Ignored.

        Returns
        -------
        self : EpisodeZScore
        """
        self._check_params()
        episodes = check_episodes(X, dtype=None)
        self.n_subjects_, _, self.n_parcels_ = episodes[0].shape
        return self

    def transform(self, X):
        """Z-score every subject's parcels within every episode.

        Parameters
        ----------
        X : ndarray of shape (n_episodes, n_subjects, n_times, n_parcels) or list of ndarray
            Episodes with the subject and parcel counts seen in ``fit``.

        Returns
        -------
        Z : same structure as ``X``
            A 4-D array for a 4-D input, a list of 3-D arrays for a list; float64 for
            float64 episodes, float32 otherwise.
        """
        check_is_fitted(self, ["n_subjects_", "n_parcels_"])
        self._check_params()
        _check_no_container_output(get_config()["transform_output"], "transform_output")
        episodes = self._check_fitted_episodes(X)
        out = [
            zscore_episode(ep, with_mean=self.with_mean, with_std=self.with_std, eps=self.eps)
            for ep in episodes
        ]
        return restore_structure(X, out)

    def _check_fitted_episodes(self, X, name="X"):
        return check_episodes(X, name=name, dtype=None, n_subjects=self.n_subjects_,
                              n_parcels=self.n_parcels_)

    def inverse_transform(self, X, reference=None):
        """Map z-scored episodes back into the units of ``reference``.

        Parameters
        ----------
        X : episodes
            Z-scores (or predictions of them) with the structure of ``reference``.
        reference : episodes
            The episodes ``X`` was computed from: their per-episode mean and standard
            deviation are put back (the transform keeps no statistics of its own).
            Required unless ``with_mean`` and ``with_std`` are both False.

        Returns
        -------
        X_original : same structure as ``X``; float64 for float64 ``X``, float32 otherwise
        """
        check_is_fitted(self, ["n_subjects_", "n_parcels_"])
        self._check_params()
        zs = self._check_fitted_episodes(X)
        if reference is None:
            if self.with_mean or self.with_std:
                raise ValueError(
                    "EpisodeZScore.inverse_transform needs reference=: the episodes the "
                    "z-scores came from (each episode is scaled by its own statistics)."
                )
            reference = zs
        refs = self._check_fitted_episodes(reference, name="reference")
        check_same_structure(zs, refs, names=("X", "reference"))
        out = []
        for z, ref in zip(zs, refs, strict=True):
            shift, scale = episode_moments(ref, with_mean=self.with_mean,
                                           with_std=self.with_std, eps=self.eps)
            x = np.asarray(z, dtype=np.float64) * scale + shift  # (S, T, C)
            out.append(x.astype(_out_dtype(z.dtype), copy=False))
        return restore_structure(X, out)

    def set_output(self, *, transform=None):
        """Only the default output exists: episodes are not tables.

        Parameters
        ----------
        transform : {"default", None}
            ``"pandas"`` and ``"polars"`` raise ``ValueError`` (no 2-D named columns).

        Returns
        -------
        self : EpisodeZScore
        """
        _check_no_container_output(transform, "set_output(transform=...)")
        return self

    def __sklearn_tags__(self):
        tags = episode_tags(super().__sklearn_tags__())
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _check_no_container_output(kind, where: str) -> None:
    if kind not in (None, "default"):
        raise ValueError(
            f"EpisodeZScore got {where}={kind!r}: {kind} output has no meaning for episodes "
            "(4-D arrays or lists of (subjects, time, parcels) arrays, not tables); use "
            "'default'."
        )

"""Add a subject to a fitted :class:`CrossSubjectEncoder` with its shared model frozen.

The fitted model already holds what a newcomer needs: the leave-one-out latent, the
average of the fitted subjects' encoded latents. Predicting the newcomer from the others
is a linear map from that low-dimensional latent (``embed_dim``, 64 by default) to their
parcels; it is fitted here in closed form by ridge regression, from the time points where
the newcomer and the fitted subjects watched the same stimulus. On request the newcomer
also gets an encoder (a ridge map from their parcels to the same average latent), so that
they in turn take part in predicting the fitted subjects.

Nothing of the fitted model changes: its parameters are read, never written.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError

from .._base import CrossSubjectScoreMixin
from .._validation import check_episodes, check_same_structure, is_episode_array, restore_structure
from ._modules import CrossSubjectConvLinearEncoder

__all__ = ["SubjectAdder", "ridge_from_stats"]


def _unwrap_encoder(encoder):
    """The fitted ``CrossSubjectEncoder`` inside ``encoder`` (itself or a FrozenEstimator)."""
    inner = getattr(encoder, "estimator", None) if type(encoder).__name__ == "FrozenEstimator" \
        else encoder
    module = getattr(getattr(inner, "net_", None), "module_", None)
    if isinstance(module, CrossSubjectConvLinearEncoder):
        return inner
    if hasattr(inner, "get_params") and hasattr(inner, "embed_dim"):
        raise NotFittedError(
            f"encoder {type(inner).__name__} is not fitted; SubjectAdder adds a subject to a "
            "fitted CrossSubjectEncoder (fit it first; sklearn.base.clone of an encoder drops "
            "its fitted state, a clone of SubjectAdder keeps it)."
        )
    raise TypeError(
        f"encoder must be a fitted CrossSubjectEncoder (or a FrozenEstimator of one); got "
        f"{type(encoder).__name__}."
    )


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        np.isfinite(value) and value > 0
    ):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}.")
    return float(value)


class _RidgeStats:
    """Sufficient statistics of a multi-target ridge, accumulated episode by episode."""

    def __init__(self, n_features: int, n_targets: int):
        self.xx = np.zeros((n_features, n_features))  # (P, P)
        self.xy = np.zeros((n_features, n_targets))  # (P, Q)
        self.sx = np.zeros(n_features)  # (P,)
        self.sy = np.zeros(n_targets)  # (Q,)
        self.n = 0

    def add(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)  # (T, P)
        y = np.asarray(y, dtype=np.float64)  # (T, Q)
        self.xx += x.T @ x
        self.xy += x.T @ y
        self.sx += x.sum(axis=0)
        self.sy += y.sum(axis=0)
        self.n += x.shape[0]


def ridge_from_stats(stats: _RidgeStats, alpha: float, fit_intercept: bool = True):
    """Ridge solution ``(coef (P, Q), intercept (Q,))`` from accumulated statistics.

    Minimises ``||Y - X W - b||^2 + alpha ||W||^2`` (``b = 0`` without intercept), the
    objective of ``sklearn.linear_model.Ridge``; computed in float64.
    """
    xx, xy = stats.xx, stats.xy
    if fit_intercept:
        mx, my = stats.sx / stats.n, stats.sy / stats.n  # (P,), (Q,)
        xx = xx - stats.n * np.outer(mx, mx)  # centred Gram (P, P)
        xy = xy - stats.n * np.outer(mx, my)  # (P, Q)
    a = xx + alpha * np.eye(xx.shape[0])
    coef = np.linalg.solve(a, xy)  # (P, Q)
    intercept = my - mx @ coef if fit_intercept else np.zeros(xy.shape[1])
    return coef, intercept


class SubjectAdder(CrossSubjectScoreMixin, MetaEstimatorMixin, BaseEstimator):
    """A fitted :class:`CrossSubjectEncoder` extended by one subject, its model frozen.

    ``fit`` takes episodes with the encoder's fitted subjects first, in their order, and
    the new subject last (``n_subjects_ = encoder.n_subjects_ + 1``), on stimuli all of
    them watched. It learns, in closed form:

    * the new subject's *decoder*: a ridge map from the frozen leave-one-out latent (the
      mean of the fitted subjects' latents, after the encoder's LayerNorm if any) to the
      new subject's parcels;
    * with ``fit_encoder=True``, the new subject's *encoder*: a ridge map from their
      parcels to that same mean latent, so that their latent joins the average from
      which each fitted subject is predicted.

    Afterwards ``predict``/``score`` take episodes of all ``n_subjects_`` subjects and
    predict every one of them from the others. The fitted subjects' predictions are the
    encoder's own, bit for bit, unless ``fit_encoder=True`` (then their leave-one-out
    average also holds the new subject's latent).

    Parameters
    ----------
    encoder : CrossSubjectEncoder
        Fitted; or a ``sklearn.frozen.FrozenEstimator`` of one. Never modified nor
        copied: cloning a ``SubjectAdder`` shares it, as ``FrozenEstimator`` does, so
        that ``GridSearchCV`` searches the adder's own parameters on the same model.
    alpha : float, default=1.0
        Ridge penalty of the new subject's decoder (latent -> parcels).
    fit_encoder : bool, default=False
        Also fit an encoder for the new subject, who then helps predict the others.
    encoder_alpha : float, default=1000.0
        Ridge penalty of the new subject's encoder (parcels -> latent).
    fit_intercept : bool, default=True
        Intercepts for both maps (features and targets centred).

    Attributes
    ----------
    encoder_ : CrossSubjectEncoder
        The frozen fitted encoder (the object passed, not a copy).
    n_subjects_ : int
        Fitted subjects plus one.
    n_parcels_ : int
    decoder_coef_ : ndarray of shape (embed_dim, n_parcels)
    decoder_intercept_ : ndarray of shape (n_parcels,)
    encoder_coef_ : ndarray of shape (n_parcels, embed_dim) or None
    encoder_intercept_ : ndarray of shape (embed_dim,) or None
    n_samples_ : int
        Time points the maps were fitted on.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc import CrossSubjectEncoder, SubjectAdder
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.standard_normal((4, 1, 40, 12))
    >>> X = (shared + 0.5 * rng.standard_normal((4, 4, 40, 12))).astype("float32")
    >>> enc = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
    ...                           max_epochs=2, random_state=0).fit(X[:, :3])
    >>> added = SubjectAdder(enc, alpha=10.0).fit(X)   # subject 4 is new
    >>> added.predict(X).shape
    (4, 4, 40, 12)
    >>> bool(np.array_equal(added.predict(X)[:, :3], enc.predict(X[:, :3])))
    True
    """

    def __init__(self, encoder, alpha=1.0, fit_encoder=False, encoder_alpha=1000.0,
                 fit_intercept=True):
        self.encoder = encoder
        self.alpha = alpha
        self.fit_encoder = fit_encoder
        self.encoder_alpha = encoder_alpha
        self.fit_intercept = fit_intercept

    def __sklearn_clone__(self):
        # The frozen encoder is shared by the clones, never refitted (FrozenEstimator's rule).
        params = self.get_params(deep=False)
        return type(self)(**{
            k: v if k == "encoder" else clone(v, safe=False) for k, v in params.items()
        })

    # ---------------------------------------------------------------- checks
    def _check_episodes(self, X, name: str, encoder) -> list[np.ndarray]:
        S, C = encoder.n_subjects_, encoder.n_parcels_
        episodes = check_episodes(X, name=name)
        s, _, c = episodes[0].shape
        if s != S + 1:
            raise ValueError(
                f"{name} has {s} subjects; SubjectAdder needs the encoder's {S} fitted "
                f"subjects, in their order, followed by the new subject: {S + 1} subjects."
            )
        if c != C:
            raise ValueError(
                f"{name} has {c} parcels but the encoder was fitted on {C}; the new subject "
                "must be in the same parcellation."
            )
        return episodes

    # ---------------------------------------------------------------- latents
    @staticmethod
    @torch.inference_mode()
    def _latents(encoder, episode: np.ndarray) -> torch.Tensor:
        """The fitted subjects' latents of one episode: (S, T, C) -> (S, T, D), float32."""
        module = encoder.net_.module_
        device = next(module.parameters()).device
        S, T, _ = episode.shape
        x = torch.from_numpy(np.ascontiguousarray(episode)).to(device)  # (S, T, C)
        z = module.encode(x, 1, T)  # (S, T, D)
        if module.norm is not None:
            z = module.norm(z)
        return z

    # ------------------------------------------------------------------ API
    def fit(self, X, y=None):
        """Fit the new subject's decoder (and encoder) on episodes seen by everyone.

        Parameters
        ----------
        X : ndarray (episodes, subjects, time, parcels) or list of (subjects, time_i, parcels)
            The encoder's fitted subjects first, in their order, then the new subject.
        y : episodes of the same structure, optional
            Targets; only the new subject's (last) are used. Defaults to ``X``.

        Returns
        -------
        self : SubjectAdder
        """
        encoder = _unwrap_encoder(self.encoder)
        alpha = _check_positive("alpha", self.alpha)
        enc_alpha = _check_positive("encoder_alpha", self.encoder_alpha)
        episodes = self._check_episodes(X, "X", encoder)
        targets = episodes
        if y is not None:
            targets = self._check_episodes(y, "y", encoder)
            check_same_structure(episodes, targets, names=("X", "y"))
        S, C, D = encoder.n_subjects_, encoder.n_parcels_, encoder.net_.module_.embed_dim
        dec = _RidgeStats(D, C)
        enc = _RidgeStats(C, D) if self.fit_encoder else None
        for ep, tg in zip(episodes, targets, strict=True):
            zbar = self._latents(encoder, ep[:S]).double().mean(0).cpu().numpy()  # (T, D)
            dec.add(zbar, tg[S])
            if enc is not None:
                enc.add(ep[S], zbar)
        self.decoder_coef_, self.decoder_intercept_ = ridge_from_stats(
            dec, alpha, bool(self.fit_intercept))
        self.encoder_coef_ = self.encoder_intercept_ = None
        if enc is not None:
            self.encoder_coef_, self.encoder_intercept_ = ridge_from_stats(
                enc, enc_alpha, bool(self.fit_intercept))
        self.encoder_ = encoder
        self.n_subjects_, self.n_parcels_ = S + 1, C
        self.n_samples_ = dec.n
        return self

    def _predict_episode(self, ep: np.ndarray) -> np.ndarray:
        """(S+1, T, C) -> (S+1, T, C) float32; fitted subjects from the encoder with the
        new subject's latent in their average (``fit_encoder=True`` only)."""
        S = self.n_subjects_ - 1
        z = self._latents(self.encoder_, ep[:S])  # (S, T, D)
        out = np.empty(ep.shape, dtype=np.float32)
        zbar = z.double().mean(0).cpu().numpy()  # (T, D)
        out[S] = zbar @ self.decoder_coef_ + self.decoder_intercept_
        if self.encoder_coef_ is not None:
            module = self.encoder_.net_.module_
            z_new = ep[S].astype(np.float64) @ self.encoder_coef_ + self.encoder_intercept_
            with torch.inference_mode():
                z_new = torch.as_tensor(z_new, dtype=z.dtype, device=z.device)  # (T, D)
                mixed = (z.sum(0, keepdim=True) - z + z_new) / S  # (S, T, D): S others each
                old = module.decode(mixed, 1, ep.shape[1])  # (S, T, C)
            out[:S] = old.float().cpu().numpy()
        return out

    def predict(self, X):
        """Predict every subject, the new one included, from the others.

        Parameters
        ----------
        X : ndarray (episodes, subjects, time, parcels) or list of (subjects, time_i, parcels)
            All ``n_subjects_`` subjects, the new one last.

        Returns
        -------
        y_pred : float32 episodes in the structure of ``X``
        """
        if not hasattr(self, "decoder_coef_"):
            raise NotFittedError("this SubjectAdder is not fitted yet; call fit first.")
        episodes = self._check_episodes(X, "X", self.encoder_)
        S = self.n_subjects_ - 1
        pred = [self._predict_episode(ep) for ep in episodes]
        if self.encoder_coef_ is None:
            old = self.encoder_.predict([ep[:S] for ep in episodes])  # the frozen model's own
            for p, o in zip(pred, old, strict=True):
                p[:S] = o
        return restore_structure(X, pred) if is_episode_array(X) else pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

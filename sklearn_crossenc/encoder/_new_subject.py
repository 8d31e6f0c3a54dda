"""Add a subject to a fitted :class:`CrossSubjectEncoder` with its shared model frozen.

The fitted model already holds what a newcomer needs: the leave-one-out latent, the
average of the fitted subjects' encoded latents, and the fitted subjects' decoders, which
say how an average brain responds to it. The newcomer's decoder is a linear map from that
low-dimensional latent (``embed_dim``, 64 by default) to their parcels, fitted in closed
form by a ridge regression shrunk toward the *group's* decoder (the average of the fitted
subjects' decoders) rather than toward zero, from the time points where the newcomer and
the fitted subjects watched the same stimulus; the strength of that pull is chosen by
cross-validation over runs (:mod:`sklearn_crossenc.solvers`). With no data the newcomer is
predicted by the group's decoder. On request the newcomer also gets an encoder (a ridge map
from their parcels to the same average latent), so that they in turn take part in
predicting the fitted subjects.

Nothing of the fitted model changes: its parameters are read, never written.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError

from .. import solvers
from .._base import CrossSubjectScoreMixin
from .._param_validation import ParamsMixin
from .._validation import check_episodes, check_same_structure, is_episode_array, restore_structure
from ..solvers import DEFAULT_ALPHAS
from ._adder_checks import (
    ADDER_PARAMETERS,
    PRIORS,
    _check_kernel_delays,
    _check_scales,
    _check_weights,
    _unwrap_encoder,
)
from ._kernel_prior import (
    EB_SCALES,
    KERNEL_DELAYS,
    Penalty,
    eb_prior,
    episode_blocks,
    kernel_prior_cv,
    read_map,
    subject_decoders,
    union_delays,
)
from ._prior_ridge import group_prior, prior_delays
from ._scaling import references, restore, standardise

__all__ = ["SubjectAdder", "PRIOR_WEIGHTS", "PRIORS", "SHRINKAGES"]

#: How far the empirical-Bayes covariance is shrunk toward the identity, searched by
#: default: none (the fitted decoders' spread) and all the way (the same in every
#: direction, strengths still per parcel).
SHRINKAGES = (0.0, 1.0)

#: Prior weights searched by default: 0 is the ridge toward zero, 1 toward the group.
PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


class SubjectAdder(ParamsMixin, CrossSubjectScoreMixin, MetaEstimatorMixin, BaseEstimator):
    """A fitted :class:`CrossSubjectEncoder` extended by one subject, its model frozen.

    ``fit`` takes episodes with the encoder's fitted subjects first, in their order, and
    the new subject last (``n_subjects_ = encoder.n_subjects_ + 1``), on stimuli all of
    them watched. It learns, in closed form:

    * the new subject's *temporal kernel* ``h``: a few taps (``kernel_delays``) shared by
      every parcel, fitted by least squares from the group's shifted predictions and
      normalised to unit sum; the decoder reads the filtered latent
      ``x_t = sum_k h_k zbar_{t - e_k}``. Cross-validation chooses between it and no kernel
      (the identity);
    * the new subject's *decoder*: a map from the (filtered) frozen leave-one-out latent
      ``zbar`` (the mean of the fitted subjects' latents, after the encoder's LayerNorm if
      any; with time-shifted copies for ``delays``) to the new subject's parcels, by a
      ridge regression shrunk toward the *group's decoder* ``W0``, the average of the
      fitted subjects' decoders. With ``prior="empirical_bayes"`` (the default) the
      penalty is ``lambda_c (W - W0)^T Sigma^-1 (W - W0)`` in parcel ``c``: ``Sigma`` is
      the shape of the fitted decoders' scatter around ``W0``, ``lambda_c = scale *
      sigma_c^2 / tau_c^2`` the newcomer's noise variance over the between-subject
      variance of that parcel, and ``scale`` one number chosen by cross-validation from
      ``scales`` (``inf``: no refinement, the prior itself); ``Sigma`` may be shrunk
      toward the identity (``shrinkages``) and the prior toward zero (``W0`` times a
      ``prior_weight``), both chosen too. With ``prior="isotropic"`` the penalty is
      ``alpha ||W - prior_weight W0||^2``, ``alpha`` and ``prior_weight`` chosen from
      ``alphas`` and ``prior_weights``. Every choice is the best mean Pearson r of the
      held-out runs (from sufficient statistics), then the refit on all the data
      (:mod:`._kernel_prior`);
    * with ``fit_encoder=True``, the new subject's *encoder*: a ridge map from their
      parcels to the same mean latent, joining the average the others are predicted from.

    Given no time points (episodes of length 0), the decoder is the group's, ``W0`` and
    its intercept, without kernel: the prediction is the group's. Afterwards
    ``predict``/``score`` take episodes of all ``n_subjects_`` subjects and predict every
    one of them from the others. The fitted subjects' predictions are the encoder's own,
    bit for bit, unless ``fit_encoder=True`` (then their leave-one-out average also holds
    the new subject's latent).

    Parameters
    ----------
    encoder : CrossSubjectEncoder
        Fitted; or a ``sklearn.frozen.FrozenEstimator`` of one. Never modified nor
        copied: cloning a ``SubjectAdder`` shares it, as ``FrozenEstimator`` does, so
        that ``GridSearchCV`` searches the adder's own parameters on the same model.
    prior : {"empirical_bayes", "isotropic"}, default="empirical_bayes"
        The decoder's penalty (see above). ``"isotropic"`` with ``kernel_delays=(0,)`` is
        the method before issue 30, bit for bit.
    scale : float > 0 or "cv", default="cv"
        Empirical Bayes: the multiplier of every parcel's strength (``inf``: the prior
        itself), or chosen from ``scales``.
    scales : sequence of float > 0, default=EB_SCALES
        Empirical Bayes: scales searched, 1e-2 .. 1e4 in half decades and ``inf`` (no
        refinement: the prior itself).
    shrinkage : float in [0, 1] or "cv", default="cv"
        Empirical Bayes: ``Sigma`` becomes ``(1 - shrinkage) Sigma + shrinkage I``; or
        chosen from ``shrinkages``.
    shrinkages : sequence of float in [0, 1], default=SHRINKAGES
        Empirical Bayes: shrinkages searched (0 and 1).
    alpha : float or "cv", default="cv"
        Isotropic: strength of the decoder's penalty (> 0), or chosen from ``alphas``.
    prior_weight : float in [0, 1] or "cv", default="cv"
        Where the penalty pulls the decoder: toward ``prior_weight * W0``; or chosen from
        ``prior_weights``. The isotropic penalty equals ``prior_weight * alpha ||W -
        W0||^2 + (1 - prior_weight) * alpha ||W||^2`` up to a constant.
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Isotropic: strengths searched when ``alpha="cv"``: the ridge baselines' grid, 17
        values from 1e-2 to 1e6 (:data:`sklearn_crossenc.ridge.DEFAULT_ALPHAS`).
    prior_weights : sequence of float in [0, 1], default=PRIOR_WEIGHTS
        Weights searched when ``prior_weight="cv"`` (0, 0.25, 0.5, 0.75, 1).
    kernel_delays : tuple of int, default=KERNEL_DELAYS
        Taps of the temporal kernel (TRs, positive: the past; -2 .. 2), holding 0.
        ``(0,)``: no kernel.
    kernel : {"cv", "fitted"}, default="cv"
        ``"cv"``: the fitted kernel or none (the identity), whichever cross-validates
        better; ``"fitted"``: always the fitted kernel.
    cv : int, cross-validation splitter or iterable, default=5
        Folds of the search. An int ``k``: ``KFold(k)`` over the episodes in order; with
        fewer than ``k`` episodes they are cut into ``k`` contiguous pieces (the longest
        first), one per fold. A splitter or (train, test) pairs split the episodes.
    gap : int, default=3
        With episodes cut into pieces, the time points within ``gap`` of the held-out
        piece (same episode) are left out of that fold's training: neighbouring time
        points share slow signal and autocorrelated noise, which would otherwise make
        weak penalties look better than they are.
    delays : tuple of int or None, default=None
        Time shifts of the latent the decoder reads (positive: the past), as
        ``CrossSubjectRidge``'s ``delays``; None: those the fitted decoders read, ``(0,)``
        without a decoder kernel. Must include those.
    fit_encoder : bool, default=False
        Also fit an encoder for the new subject, who then helps predict the others.
    encoder_alpha : float, default=1000.0
        Ridge penalty of the new subject's encoder (parcels -> latent), toward zero.
    fit_intercept : bool, default=True
        Intercepts for both maps (features and targets centred); without, the decoder's
        intercept is the group's.

    Attributes
    ----------
    encoder_ : CrossSubjectEncoder
        The frozen fitted encoder (the object passed, not a copy).
    n_subjects_ : int
        Fitted subjects plus one.
    n_parcels_ : int
    delays_ : tuple of int
    kernel_delays_ : tuple of int
    kernel_ : ndarray of shape (len(kernel_delays_),)
        The temporal kernel used (the identity, 1 at tap 0, when CV chose none).
    prior_coef_ : ndarray of shape (len(delays_) * embed_dim, n_parcels)
        The group's decoder ``W0`` (row ``k * embed_dim + d``: latent ``d`` delayed by
        ``delays_[k]``).
    prior_intercept_ : ndarray of shape (n_parcels,)
    decoder_coef_ : ndarray of shape (len(delays_) * embed_dim, n_parcels)
        The decoder of the filtered latent.
    decoder_intercept_ : ndarray of shape (n_parcels,)
        The new subject's decoder, in its standardised units (``new_scaling_``), those of
        the group prior: the fitted decoders predict the net's standardised targets.
    new_scaling_ : tuple
        ``(x_mean (C,), x_scale, y_mean (C,), y_scale)`` of the new subject's inputs and
        targets: centred per parcel, divided by the root-mean-square std.
    alpha_ : float or None
        Isotropic: the strength used (``inf`` without data: the prior itself); None for
        empirical Bayes.
    prior_weight_ : float
    scale_, shrinkage_ : float or None
        Empirical Bayes: the values used (scale ``inf``: the prior itself); None if
        isotropic.
    strengths_ : ndarray of shape (n_parcels,)
        The penalty's strength in each parcel (``inf``: the prior itself).
    cv_scores_ : ndarray of shape (n_kernels, n_covariances, n_weights, n_strengths) or None
        Mean validation Pearson r of each (kernel: identity then fitted; shrinkage;
        weight; alpha or scale) searched; None without a search.
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
    >>> added = SubjectAdder(enc).fit(X)   # subject 4 is new; kernel and scale by CV
    >>> added.predict(X).shape, added.cv_scores_.shape, added.kernel_.shape
    ((4, 4, 40, 12), (2, 2, 5, 14), (5,))
    >>> bool(np.array_equal(added.predict(X)[:, :3], enc.predict(X[:, :3])))
    True
    >>> group = SubjectAdder(enc).fit(X[:, :, :0])    # no data: the group's decoder
    >>> bool(np.array_equal(group.decoder_coef_, group.prior_coef_))
    True
    """

    def __init__(self, encoder, prior="empirical_bayes", scale="cv", scales=EB_SCALES,
                 shrinkage="cv", shrinkages=SHRINKAGES, alpha="cv", prior_weight="cv",
                 alphas=DEFAULT_ALPHAS, prior_weights=PRIOR_WEIGHTS, kernel_delays=KERNEL_DELAYS,
                 kernel="cv", cv=5, gap=3, delays=None, fit_encoder=False, encoder_alpha=1000.0,
                 fit_intercept=True):
        self.encoder = encoder
        self.prior = prior
        self.scale = scale
        self.scales = scales
        self.shrinkage = shrinkage
        self.shrinkages = shrinkages
        self.kernel_delays = kernel_delays
        self.kernel = kernel
        self.alpha = alpha
        self.prior_weight = prior_weight
        self.alphas = alphas
        self.prior_weights = prior_weights
        self.cv = cv
        self.gap = gap
        self.delays = delays
        self.fit_encoder = fit_encoder
        self.encoder_alpha = encoder_alpha
        self.fit_intercept = fit_intercept

    _parameter_table = ADDER_PARAMETERS  # every parameter's constraints (_adder_checks)

    def __sklearn_clone__(self):
        # The frozen encoder is shared by the clones, never refitted (FrozenEstimator's rule).
        params = self.get_params(deep=False)
        return type(self)(**{
            k: v if k == "encoder" else clone(v, safe=False) for k, v in params.items()
        })

    # ---------------------------------------------------------------- checks
    def _check_episodes(self, X, name: str, encoder, min_length: int = 1) -> list[np.ndarray]:
        S, C = encoder.n_subjects_, encoder.n_parcels_
        episodes = check_episodes(X, name=name, min_length=min_length, dtype=None)
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
        x = standardise([episode], *encoder.scaling_[:2])[0]  # (S, T, C) as the net trained
        x = torch.from_numpy(x).to(device)  # (S, T, C)
        z = module.encode(x, 1, T)  # (S, T, D)
        if module.norm is not None:
            z = module.norm(z)
        return z

    def _zbar(self, encoder, episode: np.ndarray) -> np.ndarray:
        """The fitted subjects' mean latent, float64: (S, T, C) -> (T, D)."""
        return self._latents(encoder, episode).double().mean(0).cpu().numpy()

    def _scaled(self, x: np.ndarray, which: int) -> np.ndarray:
        """The new subject's inputs (``which=0``) or targets (2), (T, C), standardised."""
        return (x - self.new_scaling_[which]) / self.new_scaling_[which + 1]  # float64

    # ------------------------------------------------------------------ fit
    def _design(self, encoder, episodes, targets, delays):
        """Features (T_e, len(delays) * D: the latent delayed by each of ``delays``, here
        the decoder's and the kernel's together) and targets (T_e, C) of each non-empty
        episode, and the encoder's statistics (``fit_encoder=True``) or None."""
        S = encoder.n_subjects_
        feats, news, enc = [], [], None
        if self.fit_encoder:
            enc = solvers.RidgeStats.zeros(encoder.n_parcels_, encoder.net_.module_.embed_dim,
                                   np.float64)
        for ep, tg in zip(episodes, targets, strict=True):
            if ep.shape[1] == 0:
                continue
            zbar = self._zbar(encoder, ep[:S])  # (T, D)
            feats.append(solvers.delay_features(zbar, delays))  # (T, P)
            news.append(self._scaled(tg[S], 2))  # (T, C)
            if enc is not None:
                enc.add(self._scaled(ep[S], 0), zbar)
        return feats, news, enc

    def _penalties(self, module, delays, prior_coef) -> list[Penalty]:
        """The decoder's penalties (one per covariance searched) and their candidates."""
        weights = (_check_weights(self.prior_weights) if self.prior_weight == "cv"
                   else np.array([float(self.prior_weight)]))
        if self.prior == "isotropic":
            alphas = (solvers.check_alphas(self.alphas) if self.alpha == "cv"
                      else np.array([float(self.alpha)]))
            return [Penalty(alphas, weights)]
        scales = (_check_scales(self.scales) if self.scale == "cv"
                  else np.array([float(self.scale)]))
        shrinks = (_check_weights(self.shrinkages, "shrinkages") if self.shrinkage == "cv"
                   else np.array([float(self.shrinkage)]))
        decoders = subject_decoders(module, delays)  # (S, P, C)
        return [Penalty(scales, weights, *eb_prior(decoders, prior_coef, rho))
                for rho in shrinks]

    def _search(self, feats, news, prior_coef, prior_intercept, penalties, delays) -> dict:
        """The kernel, weight and strength by CV (when more than one candidate), refit."""
        kernels = (("identity",) if len(self.kernel_delays_) == 1
                   else ("identity", "fitted") if self.kernel == "cv" else ("fitted",))
        if len(kernels) * len(penalties) * penalties[0].weights.size \
                * penalties[0].strengths.size > 1:
            blocks, fold_train, fold_test = episode_blocks(feats, news, self.cv, self.gap)
        else:  # nothing to choose: no folds (and today's episode-by-episode sums)
            blocks, fold_train, fold_test = [solvers.ridge_stats(feats, news)], [], []
        return kernel_prior_cv(blocks, fold_train, fold_test, prior_coef, prior_intercept,
                               penalties, delays, self.kernel_delays_, kernels,
                               fit_intercept=bool(self.fit_intercept))

    def fit(self, X, y=None):
        """Fit the new subject's kernel and decoder (and encoder) on episodes seen by all.

        Parameters
        ----------
        X : ndarray (episodes, subjects, time, parcels) or list of (subjects, time_i, parcels)
            The encoder's fitted subjects first, in their order, then the new subject.
            Episodes may be empty (no time points): with no data at all the decoder is
            the group's.
        y : episodes of the same structure, optional
            Targets; only the new subject's (last) are used. Defaults to ``X``.

        Returns
        -------
        self : SubjectAdder
        """
        encoder = _unwrap_encoder(self.encoder)
        self._check_params()
        episodes = self._check_episodes(X, "X", encoder, min_length=0)
        targets = episodes
        if y is not None:
            targets = self._check_episodes(y, "y", encoder, min_length=0)
            check_same_structure(episodes, targets, names=("X", "y"))
        module = encoder.net_.module_
        delays = prior_delays(module) if self.delays is None else solvers.check_delays(self.delays)
        self.kernel_delays_ = _check_kernel_delays(self.kernel_delays)
        prior_coef, prior_intercept = group_prior(module, delays)  # (P, C), (C,)
        # The new subject in its own standardised units, as the net's decoders predict theirs.
        S = encoder.n_subjects_
        self.new_scaling_ = tuple(
            a[0] for a in (*references([ep[S:] for ep in episodes]),
                           *references([tg[S:] for tg in targets])))  # (C,), (), (C,), ()
        penalties = self._penalties(module, delays, prior_coef)
        feats, news, enc = self._design(encoder, episodes, targets,
                                        union_delays(delays, self.kernel_delays_))
        iso = self.prior == "isotropic"
        self.cv_scores_ = None
        if not feats:  # no data: the group's decoder, no kernel
            fit = {"coef": prior_coef.copy(), "intercept": prior_intercept.copy(),
                   "kernel": np.array([float(e == 0) for e in self.kernel_delays_]),
                   "weight": 1.0, "strength": float("inf"), "penalty": 0,
                   "lams": np.full(encoder.n_parcels_, np.inf), "cv_scores": None}
        else:
            fit = self._search(feats, news, prior_coef, prior_intercept, penalties, delays)
        self.decoder_coef_, self.decoder_intercept_ = fit["coef"], fit["intercept"]
        self.kernel_, self.cv_scores_, self.strengths_ = fit["kernel"], fit["cv_scores"], \
            fit["lams"]
        self.prior_weight_ = fit["weight"]
        self.alpha_ = fit["strength"] if iso else None
        self.scale_ = None if iso else fit["strength"]
        self.shrinkage_ = None if iso else float(
            _check_weights(self.shrinkages, "shrinkages")[fit["penalty"]]
            if self.shrinkage == "cv" else self.shrinkage)
        self.prior_coef_, self.prior_intercept_ = prior_coef, prior_intercept
        self.encoder_coef_ = self.encoder_intercept_ = None
        if enc is not None and enc.n > 0:
            D = module.embed_dim
            self.encoder_coef_, self.encoder_intercept_ = solvers.solve_toward_prior(
                enc, np.zeros((encoder.n_parcels_, D)), np.zeros(D),
                float(self.encoder_alpha), fit_intercept=bool(self.fit_intercept))
        self.encoder_ = encoder
        self.delays_ = delays
        self.n_subjects_, self.n_parcels_ = encoder.n_subjects_ + 1, encoder.n_parcels_
        self.n_samples_ = int(sum(x.shape[0] for x in feats))
        return self

    # -------------------------------------------------------------- predict
    def _predict_episode(self, ep: np.ndarray) -> np.ndarray:
        """(S+1, T, C) -> (S+1, T, C), float64 for float64 data, else float32; fitted
        subjects from the encoder with the new subject's latent in their average
        (``fit_encoder=True`` only)."""
        S = self.n_subjects_ - 1
        z = self._latents(self.encoder_, ep[:S])  # (S, T, D)
        out = np.empty(ep.shape, dtype=np.float64 if ep.dtype == np.float64 else np.float32)
        zbar = z.double().mean(0).cpu().numpy()  # (T, D)
        union, coef = read_map(self.kernel_, self.decoder_coef_, self.delays_,
                               self.kernel_delays_, z.shape[2])  # (len(union) * D, C)
        out[S] = ((solvers.delay_features(zbar, union) @ coef + self.decoder_intercept_)
                  * self.new_scaling_[3] + self.new_scaling_[2])
        if self.encoder_coef_ is not None:
            module = self.encoder_.net_.module_
            z_new = self._scaled(ep[S], 0) @ self.encoder_coef_ + self.encoder_intercept_
            with torch.inference_mode():
                z_new = torch.as_tensor(z_new, dtype=z.dtype, device=z.device)  # (T, D)
                mixed = (z.sum(0, keepdim=True) - z + z_new) / S  # (S, T, D): S others each
                old = module.decode(mixed, 1, ep.shape[1])  # (S, T, C)
            out[:S] = restore([old.float().cpu().numpy()], *self.encoder_.scaling_[2:],
                              dtype=out.dtype)[0]
        return out

    def predict(self, X):
        """Predict every subject, the new one included, from the others.

        Parameters
        ----------
        X : ndarray (episodes, subjects, time, parcels) or list of (subjects, time_i, parcels)
            All ``n_subjects_`` subjects, the new one last.

        Returns
        -------
        y_pred : episodes in the structure of ``X``, float64 for float64 ``X``, else float32
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

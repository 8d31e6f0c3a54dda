"""``CrossSubjectEncoder``: the seed's cross-subject encoder as a scikit-learn estimator."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping
from skorch.utils import noop

from .._base import CrossSubjectScoreMixin
from .._device import float32_matmul, torch_threads
from .._param_validation import (
    Boolean,
    Checked,
    HasMethods,
    InstanceOf,
    Interval,
    NoneValue,
    Options,
    ParamsMixin,
)
from .._validation import (
    check_callbacks,
    check_episodes,
    check_random_state_param,
    is_episode_array,
    restore_structure,
)
from ._callbacks import LRSchedule
from ._forward import MSELoss
from ._modules import CrossSubjectConvLinearEncoder, check_architecture
from ._net import FitData, resolve_net_class
from ._optimizers import check_optimizer_params, resolve_optimizer
from ._plan import make_plan, seeded_initialize
from ._sampling import ClipStore
from ._scaling import restore, standardise

__all__ = ["CrossSubjectEncoder"]

_SCHEDULES = ("constant", "cosine")


class CrossSubjectEncoder(ParamsMixin, CrossSubjectScoreMixin, BaseEstimator):
    """Predict each subject's fMRI from the other subjects watching the same movie.

    The seed notebook's ``CrossSubjectConvLinearEncoderV2`` trained as the notebook
    trains it (random clips, AdamW, MSE), through a skorch net whose loop gathers whole
    batches from one device-resident tensor.

    Parameters
    ----------
    embed_dim : int, default=64
        Latent size: the notebook's training configuration (its results table); the
        torch module keeps the notebook's class default, 256.
    encoder_kernel_size : int, default=7
        Depthwise temporal kernel after each subject's encoder; ``<= 1`` for none.
    decoder_kernel_size : int, default=0
        Depthwise temporal kernel before each subject's decoder; ``<= 1`` for none.
    causal : bool, default=False
        Temporal kernels see only the present and the past (odd kernel sizes).
    normalize : bool, default=False
        LayerNorm on the latents.
    shared : bool, default=True
        Shared encoder and decoder: the seed's ``with_shared_encoder`` and
        ``with_shared_decoder`` (the notebook's ``with_shared``).
    subject_specific : bool, default=True
        Per-subject encoders and decoders: the seed's ``with_subject_encoders`` and
        ``with_subject_decoders`` (the notebook's ``with_subject``). ``shared`` and
        ``subject_specific`` cannot both be False.
    lr : float, default=3e-4
        AdamW learning rate (peak rate under ``lr_schedule="cosine"``).
    weight_decay : float, default=1e-3
        AdamW (decoupled) weight decay.
    batch_size : int, default=16
        Clips per step.
    sample_length : int, default=64
        Time points per clip; every training episode must be at least this long.
    samples_per_epoch : int, default=2000
        Clips drawn per epoch (episodes in random permutations, offsets uniform).
    max_epochs : int, default=10
        Epochs.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"constant"`` is the seed's. ``"cosine"``: linear warm-up over the first
        ``warmup`` fraction of all steps, then cosine decay to zero.
    warmup : float, default=0.0
        Warm-up fraction of the steps for ``lr_schedule="cosine"``.
    validation : None, float, splitter or episodes, default=None
        Held-out data for early stopping: a fraction in (0, 1) of the training episodes
        held out at random; a cross-validation splitter, whose last split's test episodes
        are held out (``KFold(5)``: the last fifth of the runs, in order); or episodes
        (same structure as ``X``). After each epoch the seed's Pearson score on them is
        recorded as ``valid_pearson``; training stops at the first epoch that does not
        improve on the best (with ``patience=1``) and the best epoch's weights are restored.
    patience : int, default=1
        Epochs without improvement before stopping (only with ``validation``).
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when available, else CPU.
    n_threads : "auto", int or None, default="auto"
        torch intra-op threads during ``fit`` / ``predict`` (restored afterwards).
        ``"auto"``: the cores that no other process is running on when the call starts
        (at least 1), so that a fit on a shared machine takes its fair share rather than
        fighting for every core (``docs/performance.md`` has the measurement); on a quiet
        machine that is every core, torch's own default. None leaves torch's setting alone.
    random_state : int, RandomState or None, default=None
        Seeds the weight initialisation, the clip sampler and the validation split. Two
        fits with the same integer give identical predictions on CPU.
    verbose : int, default=0
        1 prints skorch's epoch table.
    callbacks : list or None, default=None
        Extra skorch callbacks (instances or ``(name, callback)`` pairs). They receive
        every notification skorch documents (see ``docs/sklearn.md``).
    optimizer : torch optimizer class, its name or None, default=None
        None: ``torch.optim.AdamW`` (the seed's); a name such as ``"sgd"`` is the
        ``torch.optim`` class of that name (any case). ``lr`` and ``weight_decay`` are passed
        to any optimizer; further arguments go as ``optimizer__<name>=value`` keywords
        (skorch's prefix routing; also usable in ``set_params`` and parameter grids).
    net_class : subclass of CrossSubjectNet or None, default=None
        The skorch net that trains the module; None is :class:`CrossSubjectNet`. A
        subclass overriding skorch's ``get_loss``, ``train_step``, ``train_step_single``
        or ``infer`` trains through skorch's step with the override in effect (the lean
        step runs only when none is overridden; see ``CrossSubjectNet``).
    warm_start : bool, default=False
        When fitted, ``fit`` adds ``max_epochs`` epochs to the trained net (weights,
        optimizer and clip sampler continue): 2 then 3 epochs equal 5 on CPU under the
        constant schedule; under ``"cosine"`` each call runs its own schedule.
    **optimizer_params
        ``optimizer__<name>`` keywords; any other keyword is a ``TypeError`` in ``fit``.

    Attributes
    ----------
    net_ : CrossSubjectNet
        The trained skorch net (``net_.module_`` is the torch module).
    n_subjects_, n_parcels_ : int
        Shape seen in ``fit``.
    history_ : skorch.History
        Per-epoch ``train_loss`` (and ``valid_loss``, ``valid_pearson``).
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int or None
        Epoch (1-based) whose weights were kept under early stopping.
    device_ : torch.device
        Device of the training.
    scaling_ : tuple of ndarray
        ``(x_mean (S, C), x_scale (S,), y_mean, y_scale)``: the net trains on each subject
        centred per parcel and divided by its root-mean-square std, and ``predict`` maps
        its output back, so that a constant added to a parcel or the data's units change
        no score (see :mod:`sklearn_crossenc.encoder._scaling`).

    Notes
    -----
    Training is the seed's function and schedule, faster: the shared and per-subject
    decoders (and encoders without a temporal kernel) are summed into one weight per
    subject inside the forward pass while staying separate parameters, and the decoder's
    training error is taken from Gram matrices (see ``docs/estimator.md``), so gradients
    and AdamW updates are the seed's up to rounding, with 34% fewer FLOPs per training
    clip at the seed's configuration. :func:`~sklearn_crossenc.encoder.fit_repeats` fits
    several random states as one stacked model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc import CrossSubjectEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 3, 40, 12)).astype("float32")  # (E, S, T, C)
    >>> enc = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
    ...                           max_epochs=2, random_state=0).fit(X)
    >>> enc.predict(X).shape
    (4, 3, 40, 12)
    >>> isinstance(enc.score(X), float)
    True
    """

    def __init__(
        self,
        embed_dim=64,
        encoder_kernel_size=7,
        decoder_kernel_size=0,
        causal=False,
        normalize=False,
        shared=True,
        subject_specific=True,
        lr=3e-4,
        weight_decay=1e-3,
        batch_size=16,
        sample_length=64,
        samples_per_epoch=2000,
        max_epochs=10,
        lr_schedule="constant",
        warmup=0.0,
        validation=None,
        patience=1,
        device="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        optimizer=None,
        net_class=None,
        warm_start=False,
        **optimizer_params,
    ):
        self.embed_dim = embed_dim
        self.encoder_kernel_size = encoder_kernel_size
        self.decoder_kernel_size = decoder_kernel_size
        self.causal = causal
        self.normalize = normalize
        self.shared = shared
        self.subject_specific = subject_specific
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.sample_length = sample_length
        self.samples_per_epoch = samples_per_epoch
        self.max_epochs = max_epochs
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.validation = validation
        self.patience = patience
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.optimizer = optimizer
        self.net_class = net_class
        self.warm_start = warm_start
        for key, value in optimizer_params.items():
            setattr(self, key, value)  # checked in fit: only optimizer__<name> is valid

    # ------------------------------------------------ optimizer__* prefix routing
    def _extra_params(self) -> dict:
        """Keywords beyond the signature (``optimizer__*``), as stored."""
        named = set(self._get_param_names())
        return {k: v for k, v in vars(self).items()
                if k not in named and not k.startswith("_") and not k.endswith("_")}

    def _optimizer_params(self) -> dict:
        return {k: v for k, v in self._extra_params().items() if k.startswith("optimizer__")}

    def get_params(self, deep=True):
        """Parameters of the estimator, ``optimizer__*`` keywords included."""
        return {**super().get_params(deep=deep), **self._extra_params()}

    def set_params(self, **params):
        """Set parameters; ``optimizer__<name>`` keywords are stored as given."""
        extra = self._extra_params()
        for key in [k for k in params if k.startswith("optimizer__") or k in extra]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    # ---------------------------------------------------------------- checks
    _parameter_table = {
        **{name: [Interval(int, 1, None)] for name in (
            "embed_dim", "batch_size", "sample_length", "samples_per_epoch", "max_epochs",
            "patience")},
        **{name: [Interval(int, 0, None)] for name in ("encoder_kernel_size",
                                                       "decoder_kernel_size")},
        **{name: [Boolean()] for name in (
            "causal", "normalize", "shared", "subject_specific", "warm_start")},
        **{name: [Interval(float, 0, None)] for name in ("lr", "weight_decay")},
        "lr_schedule": [Options(*_SCHEDULES)],
        "warmup": [Interval(float, 0, 1, closed="left")],
        "validation": [NoneValue(), Interval(float, 0, 1, closed="neither"),
                       HasMethods("split"), InstanceOf((list, tuple, np.ndarray), "episodes")],
        "device": [InstanceOf((str, torch.device), "a device name or torch.device")],
        "n_threads": [Options("auto"), NoneValue(), Interval(int, 1, None)],
        "random_state": [Checked(check_random_state_param)],
        "verbose": [Boolean(), Interval(int, 0, None)],
        "callbacks": [Checked(check_callbacks)],
        "optimizer": [Checked(resolve_optimizer)],
        "net_class": [Checked(resolve_net_class)],
    }

    def _check_params(self) -> None:
        for key in self._extra_params():
            if not key.startswith("optimizer__"):
                raise TypeError(
                    f"CrossSubjectEncoder got an unexpected keyword argument {key!r}; extra "
                    "keywords must be optimizer__<name> arguments of the optimizer."
                )
        ParamsMixin._check_params(self)
        check_architecture(self.encoder_kernel_size, self.decoder_kernel_size,
                           causal=self.causal, encoders=(self.shared, self.subject_specific),
                           decoders=(self.shared, self.subject_specific))
        check_optimizer_params(resolve_optimizer(self.optimizer), self._optimizer_params())

    def _module_kwargs(self, n_subjects: int, n_parcels: int) -> dict:
        return dict(
            num_subjects=n_subjects,
            fmri_dim=n_parcels,
            embed_dim=self.embed_dim,
            encoder_kernel_size=self.encoder_kernel_size,
            decoder_kernel_size=self.decoder_kernel_size,
            causal=self.causal,
            normalize=self.normalize,
            with_shared_encoder=bool(self.shared),
            with_shared_decoder=bool(self.shared),
            with_subject_encoders=bool(self.subject_specific),
            with_subject_decoders=bool(self.subject_specific),
        )

    def _callbacks(self, has_validation: bool) -> list:
        cbs = []
        if self.lr_schedule != "constant":
            cbs.append(("lr_schedule", LRSchedule(self.lr_schedule, self.warmup)))
        if has_validation:
            cbs.append((
                "early_stopping",
                EarlyStopping(
                    monitor="valid_pearson", lower_is_better=False, patience=self.patience,
                    threshold=0.0, threshold_mode="abs", load_best=True,
                    sink=print if self.verbose else noop,
                ),
            ))
        for i, cb in enumerate(self.callbacks or []):
            cbs.append(cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb))
        return cbs

    # ------------------------------------------------------------------ API
    def fit(self, X, y=None):
        """Train on episodes; the target is ``X`` itself unless ``y`` is given.

        Parameters
        ----------
        X : ndarray (episodes, subjects, time, parcels) or list of (subjects, time_i, parcels)
            Training episodes, each at least ``sample_length`` long, at least 2 subjects.
        y : episodes of the same structure, optional
            Explicit targets (same shapes as ``X``).

        Returns
        -------
        self

        Raises
        ------
        FloatingPointError
            When the training loss becomes NaN or Inf (names the epoch and the step).
        KeyboardInterrupt
            On Ctrl-C during an epoch; the estimator is left as it was before the call.
        """
        plan = make_plan(self, X, y)
        with torch_threads(self.n_threads), float32_matmul():
            net = self.net_ if plan.warm else self._initialized_net(plan)
            store = ClipStore(plan.train, plan.device, targets=plan.train_y)
            net.partial_fit(FitData(store, plan.valid, plan.valid_y), epochs=self.max_epochs)
            del store
        return self._set_fitted(net, plan)

    def _initialized_net(self, plan):
        """A new net for ``plan``, initialised from its seed (on the CPU, then moved)."""
        S, C = plan.shape
        net = self._new_net(S, C, plan.device, plan.sampler_seed, bool(plan.valid))
        return seeded_initialize(net, plan.torch_seed)

    def _set_fitted(self, net, plan):
        """Store the trained ``net`` and what ``fit`` learned; returns self."""
        self._drop_training_state(net)
        self.net_ = net
        self.device_ = plan.device
        self.n_subjects_, self.n_parcels_ = plan.shape
        self.scaling_ = plan.scaling
        self.history_ = net.history
        self.n_epochs_ = len(net.history)
        es = dict(net.callbacks_).get("early_stopping")
        self.best_epoch_ = None if es is None else int(es.best_epoch_)
        return self

    def _continues(self, n_subjects: int, n_parcels: int) -> bool:
        """Whether this ``fit`` continues the fitted net (``warm_start``)."""
        if not self.warm_start or not hasattr(self, "net_"):
            return False
        if (n_subjects, n_parcels) != (self.n_subjects_, self.n_parcels_):
            raise ValueError(
                f"warm_start=True continues a net fitted on {self.n_subjects_} subjects and "
                f"{self.n_parcels_} parcels; X has {n_subjects} and {n_parcels}. Set "
                "warm_start=False to start afresh."
            )
        return True

    def _new_net(self, n_subjects, n_parcels, device, sampler_seed, has_validation):
        optimizer = resolve_optimizer(self.optimizer)
        fused = optimizer is torch.optim.AdamW and not {
            "optimizer__fused", "optimizer__foreach"} & set(self._optimizer_params())
        return resolve_net_class(self.net_class)(
            CrossSubjectConvLinearEncoder,
            criterion=MSELoss,
            optimizer=optimizer,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            # One fused kernel updates every parameter (the same AdamW arithmetic).
            **({"optimizer__fused": True} if fused else {}),
            **self._optimizer_params(),
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            train_split=None,
            callbacks=self._callbacks(has_validation),
            device=str(device),
            verbose=self.verbose,
            sample_length=self.sample_length,
            samples_per_epoch=self.samples_per_epoch,
            sampler_seed=sampler_seed,
            **{f"module__{k}": v for k, v in self._module_kwargs(n_subjects, n_parcels).items()},
        )

    @staticmethod
    def _drop_training_state(net) -> None:
        # Copies of device tensors kept by callbacks would tie a pickle to the device.
        for _, cb in net.callbacks_:
            if hasattr(cb, "best_model_weights_"):
                cb.best_model_weights_ = None

    def predict(self, X):
        """Predict every subject of every full episode from the other subjects.

        Parameters
        ----------
        X : ndarray (episodes, subjects, time, parcels) or list of (subjects, time_i, parcels)

        Returns
        -------
        y_pred : episodes in the structure of ``X``, float64 for float64 ``X``, else float32
        """
        check_is_fitted(self, "net_")
        episodes = check_episodes(
            X, name="X", n_subjects=self.n_subjects_, n_parcels=self.n_parcels_, dtype=None
        )
        with torch_threads(self.n_threads), float32_matmul():
            pred = self.net_.predict_episodes(standardise(episodes, *self.scaling_[:2]))
        out = np.float64 if episodes[0].dtype == np.float64 else np.float32
        pred = restore(pred, *self.scaling_[2:], dtype=out)
        return restore_structure(X, pred) if is_episode_array(X) else pred

    def __setstate__(self, state):
        # A model trained on CUDA and loaded where CUDA is absent lives on the CPU: skorch
        # maps the net's tensors there on load; keep ``device_`` telling the truth.
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if net is not None:
            self.device_ = next(net.module_.parameters()).device
            if "scaling_" not in state:  # pickled by release 0.1.0: trained on raw data
                S, C = self.n_subjects_, self.n_parcels_
                self.scaling_ = (np.zeros((S, C)), np.ones(S)) * 2

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()  # episode regressor, target optional (_base)
        tags.non_deterministic = True  # on CUDA; on CPU a fixed random_state is reproducible
        return tags

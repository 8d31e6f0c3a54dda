"""A skorch net that trains on clips gathered from a device-resident tensor.

skorch's generic loop (a ``Dataset`` indexed item by item, a ``DataLoader``, per-batch
history records and callback notifications) costs more per batch than the seed's whole
step on a GPU. :class:`CrossSubjectNet` keeps skorch's structure (``initialize``,
``module_`` / ``optimizer_`` / ``criterion_``, ``history``, callbacks, ``partial_fit``,
pickling) but overrides ``fit_loop``: each epoch draws the seed's clips in one vectorised
call, moves their indices to the device once, and builds every batch with one
``index_select`` from the resident training tensor.

Callbacks get every notification skorch documents: ``on_train_begin/end`` and
``on_epoch_begin/end`` always; ``on_batch_begin/end`` and ``on_grad_computed`` (with the
net's ``named_parameters``, between ``backward`` and the optimizer step) whenever some
callback implements one of them; without such a callback the step loop stays free of
them: that is what keeps it fast. The step computes the loss alone (``training_sse``
of the module: the decoder's error from Gram matrices) with or without callbacks, so
callbacks never change the arithmetic; batch callbacks get the prediction as well (one
more forward pass without gradients) and a freshly gathered batch (without them,
batches are gathered into reused buffers). A subclass that overrides one of skorch's
steps (``train_step``, ``train_step_single``, ``infer``, ``get_loss``) gets skorch's own
step instead, with its override in effect (:data:`SKORCH_STEPS`). skorch's per-batch history rows
(``train_loss``, ``train_batch_size``) are written after each epoch from one host copy of
the losses, when some callback may read them (any callback other than skorch's
``EpochTimer``, ``PrintLog``, ``EarlyStopping`` and the package's own); with batch hooks,
the row is opened before the step, so ``LRScheduler`` can record there.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer, PrintLog
from skorch.utils import TeeGenerator, get_map_location

from .._interrupt import Interrupted, reraise_as_keyboard_interrupt
from ..data._run_store import empty_run, store_like
from ..metrics import pearson_map
from ._forward import MSELoss
from ._sampling import ClipStore, sample_clip_starts

__all__ = ["CrossSubjectNet", "FitData", "SKORCH_STEPS", "resolve_net_class"]

# Episodes per inference chunk are capped so that one chunk holds about this many floats.
_PREDICT_CHUNK_FLOATS = 1 << 25
# skorch 1.0 stores the net's modules, criterion and optimizer in its pickle as one
# ``torch.save`` archive (a zip file); later releases write a pickle stream instead.
_CUDA_ATTRS = "__cuda_dependent_attributes__"
_TORCH_ARCHIVE = b"PK\x03\x04"
# Below this ratio of the training loss to the targets' mean square, the decoder's error
# is computed from its residual rather than from Gram matrices (see _gram_applies).
_GRAM_MIN_RATIO = 0.05
# skorch callbacks known not to read the per-batch history rows (with the package's own,
# which say so with ``uses_batch_rows = False``).
_NO_BATCH_ROWS = (EarlyStopping, EpochTimer, PrintLog)
# skorch's overridable steps: a subclass overriding any of them trains through skorch's
# ``train_step`` (and predicts through its ``infer``), not the lean step.
SKORCH_STEPS = ("train_step", "train_step_single", "infer", "get_loss")


@dataclass
class FitData:
    """What :meth:`CrossSubjectNet.fit_loop` trains on: the resident clip store and
    optional validation episodes (list of ``(S, T_i, C)`` float32 arrays) with their
    targets (None: the episodes themselves)."""

    store: ClipStore
    valid: list = field(default_factory=list)
    valid_y: list | None = None


def _overrides(cb, name: str) -> bool:
    return getattr(type(cb), name, None) is not getattr(Callback, name)


class _StepHooks:
    """The per-step notifications some callback wants (none: the loop skips them all)."""

    def __init__(self, net):
        self.net = net
        cbs = [cb for _, cb in net.callbacks_]
        self.batch = [cb for cb in cbs if _overrides(cb, "on_batch_begin")
                      or _overrides(cb, "on_batch_end")]
        self.grad = [cb for cb in cbs if _overrides(cb, "on_grad_computed")]

    def batch_begin(self, batch, size: int) -> None:
        self.net.history.new_batch()
        self.net.history.record_batch("train_batch_size", size)
        for cb in self.batch:
            cb.on_batch_begin(self.net, batch=batch, training=True)

    def grad_computed(self, batch) -> None:
        params = TeeGenerator(self.net.get_all_learnable_params())
        for cb in self.grad:
            cb.on_grad_computed(self.net, named_parameters=params, batch=batch, training=True)

    def batch_end(self, batch, loss, y_pred) -> None:
        for cb in self.batch:
            cb.on_batch_end(self.net, batch=batch, training=True, loss=loss, y_pred=y_pred)


class CrossSubjectNet(NeuralNet):
    """skorch ``NeuralNet`` for :class:`CrossSubjectConvLinearEncoder` on resident clips.

    Parameters
    ----------
    module : torch module class or instance
    sample_length : int, default=64
        Time points per training clip.
    samples_per_epoch : int, default=2000
        Clips per epoch (the seed's ``n_train_samples``).
    sampler_seed : int or None
        Seed of the clip sampler's ``numpy.random.Generator``.
    **kwargs
        Passed to ``skorch.NeuralNet`` (``criterion``, ``optimizer``, ``lr``,
        ``batch_size``, ``max_epochs``, ``callbacks``, ``device``, ``verbose``, ...).

    Notes
    -----
    ``fit`` / ``partial_fit`` take a :class:`FitData`. Each epoch records ``train_loss``
    (mean MSE over the epoch's clips) and, with validation episodes, ``valid_loss`` and
    ``valid_pearson`` (the seed's metric over the full validation episodes) in
    ``history``, each with its ``<name>_best`` flag as skorch's scoring callbacks record
    it (so ``Checkpoint``'s default ``monitor="valid_loss_best"`` works). A learning-rate
    schedule is a callback (:class:`~sklearn_crossenc.encoder.LRSchedule` or skorch's
    ``LRScheduler``); ``total_steps_`` is the last step of the current ``fit_loop`` call.
    A NaN or Inf loss raises ``FloatingPointError`` naming the epoch and
    the step (checked every step on CPU, as the seed does; on CUDA once per epoch, to
    keep the device queue full, naming the first bad step).

    skorch's steps are the extension points. Without an override each step computes the
    package's MSE without the prediction (the lean step). A subclass that overrides any of
    :data:`SKORCH_STEPS` trains every step through skorch's ``train_step`` (which calls
    ``train_step_single``, then ``infer`` and ``get_loss``, and notifies
    ``on_grad_computed``), and predicts through ``infer`` (validation too). The batch is
    ``(x, y)``, each subject-major ``(subjects, clips, time, parcels)`` as callbacks see it;
    ``infer(x)`` returns the prediction in that layout. ``train_loss`` records what
    ``get_loss`` returned; ``valid_loss`` stays the MSE of full-episode predictions.

    Examples
    --------
    An L2 penalty on the shared decoder, added to the loss (skorch's documented way):

    >>> import numpy as np
    >>> from sklearn_crossenc import CrossSubjectEncoder
    >>> from sklearn_crossenc.encoder import CrossSubjectNet
    >>> class PenalisedNet(CrossSubjectNet):
    ...     def get_loss(self, y_pred, y_true, X=None, training=False):
    ...         loss = super().get_loss(y_pred, y_true, X=X, training=training)
    ...         w = self.module_.shared_decoder_weight  # (C, D)
    ...         return loss + 1e-2 * (w ** 2).sum()
    >>> X = np.random.default_rng(0).standard_normal((4, 3, 40, 20)).astype("float32")
    >>> enc = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
    ...                           max_epochs=1, net_class=PenalisedNet, random_state=0)
    >>> enc.fit(X).net_.uses_skorch_steps()
    True
    """

    def __init__(
        self,
        module,
        *,
        sample_length: int = 64,
        samples_per_epoch: int = 2000,
        sampler_seed=None,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.sample_length = sample_length
        self.samples_per_epoch = samples_per_epoch
        self.sampler_seed = sampler_seed

    def uses_skorch_steps(self) -> bool:
        """Whether this net's class overrides one of skorch's steps (:data:`SKORCH_STEPS`)."""
        return any(getattr(type(self), name) is not getattr(CrossSubjectNet, name)
                   for name in SKORCH_STEPS)

    def infer(self, x, **fit_params):
        """The module's prediction of a subject-major batch: (S, N, L, C) -> (S, N, L, C)."""
        return self.module_.forward_subject_major(x, **fit_params)

    def get_default_callbacks(self):
        # Epoch-level losses are recorded by fit_loop itself (no per-batch history).
        return [("epoch_timer", EpochTimer()), ("print_log", PrintLog())]

    def initialize(self):
        super().initialize()
        self.sampler_rng_ = np.random.default_rng(self.sampler_seed)
        self.global_step_ = 0
        self.total_steps_ = 0
        return self

    # ------------------------------------------------------------------ training
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, except that Ctrl-C inside an epoch is not swallowed.

        skorch ends training quietly on any ``KeyboardInterrupt`` and returns a net whose
        weights may be half way through an epoch. Here a ``KeyboardInterrupt`` raised
        inside an epoch (a step, a batch callback, the validation) reaches the caller,
        so :class:`CrossSubjectEncoder` never stores such a net. One raised by an
        ``on_epoch_end`` callback (skorch's ``EarlyStopping`` stops training that way)
        ends training after that whole epoch, as in skorch.
        """
        with reraise_as_keyboard_interrupt():
            return super().partial_fit(X, y, classes, **fit_params)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return self._fit_loop(X, y, epochs)
        except KeyboardInterrupt:
            # A BaseException skorch's partial_fit does not catch (see partial_fit).
            raise Interrupted(
                f"training interrupted during epoch {len(self.history)}"
            ) from None

    def _fit_loop(self, X, y=None, epochs=None):
        if not isinstance(X, FitData):
            raise TypeError(
                f"CrossSubjectNet trains on a FitData (resident clips); got {type(X).__name__}. "
                "Use sklearn_crossenc.CrossSubjectEncoder for arrays."
            )
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else int(epochs)
        kwargs = {"dataset_train": X.store, "dataset_valid": X.valid or None}
        hooks = _StepHooks(self)
        self.total_steps_ = self.global_step_ + epochs * math.ceil(
            self.samples_per_epoch / self.batch_size)
        for _ in range(epochs):
            self.notify("on_epoch_begin", **kwargs)
            self._record("train_loss", self._train_epoch(X.store, hooks), lower_is_better=True)
            if X.valid:
                loss, r = self.validation_scores(X.valid, X.valid_y)
                self._record("valid_loss", loss, lower_is_better=True)
                self._record("valid_pearson", r, lower_is_better=False)
            try:
                self.notify("on_epoch_end", **kwargs)
            except KeyboardInterrupt:
                # How skorch callbacks (EarlyStopping) end training: after a whole epoch.
                break
        return self

    def _record(self, key: str, value: float, *, lower_is_better: bool) -> None:
        """Record ``key`` and ``key_best`` (as skorch's scoring callbacks do)."""
        previous = [row[key] for row in self.history[:-1] if key in row]
        sign = 1.0 if lower_is_better else -1.0
        best = not previous or sign * value < min(sign * v for v in previous)
        self.history.record(key, value)
        self.history.record(key + "_best", bool(best))

    def _train_epoch(self, store: ClipStore, hooks: _StepHooks) -> float:
        """One epoch of the seed's loop on resident clips; returns the mean loss."""
        self.module_.train()
        L, B = self.sample_length, self.batch_size
        episodes, offsets = sample_clip_starts(
            self.sampler_rng_, store.lengths, self.samples_per_epoch, L
        )
        index = store.clip_index(episodes, offsets, L)  # (n, 2) on the host
        n = index.shape[0]
        n_steps = math.ceil(n / B)
        check_each_step = self._check_loss_each_step(store.device)
        losses = torch.zeros(n_steps, device=store.device)  # (steps,)
        sizes = [min(B, n - i * B) for i in range(n_steps)]
        epoch = len(self.history)
        skorch_steps = self.uses_skorch_steps()
        lean = not skorch_steps and self._lean_loss_applies()
        clip_sq = store.clip_sq(index) if lean and self._gram_applies(store) else None  # (S, n)
        gram = clip_sq is not None
        # Reused gather buffers unless a callback or an overridden step might keep the batch.
        fresh = hooks.batch or hooks.grad or skorch_steps
        buffers = None if fresh else store.new_buffers(B * L)
        for step in range(n_steps):
            idx = index[step * B: (step + 1) * B]  # (b, 2)
            batch = store.gather(idx, out=buffers if sizes[step] == B else None)  # 2 x (S, b, L, C)
            if hooks.batch:
                hooks.batch_begin(batch, sizes[step])
            if skorch_steps:  # zero_grad, the overrides, on_grad_computed, the update
                loss, y_pred = self._skorch_step(batch)
            else:  # the loss checked before the update
                t_sq = clip_sq[:, step * B: (step + 1) * B].sum(1).float() if gram else None
                loss, y_pred = self._package_loss(batch, t_sq, lean, hooks)
            if check_each_step and not math.isfinite(loss.item()):
                if gram:  # Gram terms overflow as inf - inf: name the loss itself
                    loss = self.module_.training_sse(*batch).sum() / batch[1].numel()
                self._raise_nonfinite(epoch, step, n_steps, loss.item())
            if not skorch_steps:
                self._package_update(loss, batch, hooks)
            losses[step] = loss.detach()
            self.global_step_ += 1
            if hooks.batch:
                hooks.batch_end(batch, loss, y_pred)
        losses = losses.cpu()
        if not check_each_step and not torch.isfinite(losses).all():
            bad = int(torch.nonzero(~torch.isfinite(losses))[0])
            self._raise_nonfinite(epoch, bad, n_steps, float(losses[bad]))
        if hooks.batch or self._batch_rows_wanted():
            self._record_batches(losses.tolist(), sizes, made=bool(hooks.batch))
        weights = torch.tensor(sizes, dtype=torch.float32)
        return float((losses * weights).sum() / weights.sum())

    def _package_loss(self, batch, t_sq, lean: bool, hooks: _StepHooks) -> tuple:
        """The package's step, its loss: (loss, prediction or None) of the batch.

        ``lean``: from ``training_sse`` alone (with ``t_sq``: from Gram matrices), the
        prediction only for batch callbacks; else the criterion of the prediction.
        """
        if lean:
            loss = self.module_.training_sse(*batch, t_sq).sum() / batch[1].numel()
            return loss, (self._prediction(batch[0]) if hooks.batch else None)
        y_pred = self.module_.forward_subject_major(batch[0])  # (S, b, L, C)
        return self.criterion_(y_pred, batch[1]), y_pred

    def _package_update(self, loss, batch, hooks: _StepHooks) -> None:
        """The package's step, its update: gradients, ``on_grad_computed``, optimizer."""
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        if hooks.grad:
            hooks.grad_computed(batch)
        self.optimizer_.step()

    def _skorch_step(self, batch) -> tuple:
        """One step through skorch's ``train_step``: (loss, prediction) of the batch."""
        out = self.train_step(batch)
        return out["loss"], out["y_pred"]

    @torch.no_grad()
    def _prediction(self, x: torch.Tensor) -> torch.Tensor:
        """The training-mode prediction of a batch (S, b, L, C), for batch callbacks."""
        return self.module_.forward_subject_major(x)

    def _lean_loss_applies(self) -> bool:
        """The step may compute the loss without the prediction (the package's MSE)."""
        return type(self.criterion_) is MSELoss and hasattr(self.module_, "training_sse")

    def _gram_applies(self, store: ClipStore) -> bool:
        """Whether the decoder's error may be taken from Gram matrices this epoch.

        Their rounding grows with ``||target||^2 / error``: once the previous epoch's loss
        is below ``_GRAM_MIN_RATIO`` of the targets' mean square, the explicit residual
        is used instead (same value and gradients, rounding relative to the error).
        """
        previous = [row["train_loss"] for row in self.history[:-1] if "train_loss" in row]
        return not previous or previous[-1] >= _GRAM_MIN_RATIO * store.mean_square

    def _batch_rows_wanted(self) -> bool:
        """Whether some callback may read skorch's per-batch history rows."""
        return any(
            type(cb) not in _NO_BATCH_ROWS and getattr(cb, "uses_batch_rows", True)
            for _, cb in self.callbacks_
        )

    def _record_batches(self, losses: list, sizes: list, *, made: bool) -> None:
        """skorch's per-batch rows (``train_loss``, ``train_batch_size``), written after
        the epoch (one host sync); ``made``: the batch hooks already opened them."""
        if not made:
            for size in sizes:
                self.history.new_batch()
                self.history.record_batch("train_batch_size", size)
        for row, loss in zip(self.history[-1]["batches"][-len(losses):], losses, strict=True):
            row["train_loss"] = loss

    @staticmethod
    def _check_loss_each_step(device: torch.device) -> bool:
        """Check the loss on the host every step (CPU), or once per epoch (CUDA)."""
        return device.type != "cuda"

    def _raise_nonfinite(self, epoch, step, n_steps, value):
        raise FloatingPointError(
            f"{value} loss at epoch {epoch}, step {step} of {n_steps} (global step "
            f"{self.global_step_}); lower lr (now {self.lr}) or check the input scale."
        )

    # ---------------------------------------------------------------- inference
    @property
    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    # ------------------------------------------------------------------ pickling
    def __setstate__(self, state):
        """skorch's ``__setstate__``, plus reading what skorch 1.0 wrote under torch >= 2.6.

        skorch 1.0 saves the modules, criterion and optimizer with ``torch.save`` and
        restores them with a bare ``torch.load``, whose ``weights_only=True`` default
        (torch >= 2.6) refuses whole modules: every pickled net would be unreadable. The
        archive is a part of the pickle being loaded, so restoring it in full trusts
        nothing that unpickling the net does not already trust.
        """
        blob = state.get(_CUDA_ATTRS)
        if not (isinstance(blob, bytes) and blob.startswith(_TORCH_ARCHIVE)):
            return super().__setstate__(state)
        map_location = get_map_location(state["device"])  # the CPU where CUDA is absent
        state["device"] = self._check_device(state["device"], map_location)
        state.update(torch.load(io.BytesIO(blob), map_location=map_location, weights_only=False))
        del state[_CUDA_ATTRS]
        self.__dict__.update(state)

    @torch.inference_mode()
    def predict_episodes(self, episodes: list[np.ndarray]) -> list[np.ndarray]:
        """Full-episode predictions, float32, batched over episodes of equal length.

        episodes: list of (S, T_i, C) float32 arrays -> list of (S, T_i, C) arrays (on disk
        when an episode is: streamed runs).
        """
        module = self.module_
        was_training = module.training
        module.eval()
        device = self._device
        out: list = [None] * len(episodes)
        store = store_like(episodes)  # predictions of streamed runs stay on disk too
        by_length: dict[int, list[int]] = {}
        for i, ep in enumerate(episodes):
            by_length.setdefault(ep.shape[1], []).append(i)
        try:
            for T, idx in by_length.items():
                S, _, C = episodes[idx[0]].shape
                chunk = max(1, _PREDICT_CHUNK_FLOATS // (S * T * C))
                for k in range(0, len(idx), chunk):
                    part = idx[k: k + chunk]
                    x = np.stack([episodes[i] for i in part], axis=1)  # (S, n, T, C)
                    x = torch.from_numpy(x).to(device)
                    y = self.infer(x).float().cpu().numpy()  # (S, n, T, C)
                    for j, i in enumerate(part):
                        out[i] = empty_run(y[:, j].shape, store)
                        out[i][...] = y[:, j]
        finally:
            module.train(was_training)
        return out

    def validation_scores(self, valid, valid_y=None) -> tuple[float, float]:
        """(MSE, the seed's Pearson score) of full-episode predictions on ``valid``."""
        pred = self.predict_episodes(valid)
        valid = valid if valid_y is None else valid_y
        sq = sum(
            float(((p - v) ** 2).sum(dtype=np.float64)) for p, v in zip(pred, valid, strict=True)
        )
        loss = sq / sum(v.size for v in valid)
        r = float(pearson_map(valid, pred).mean(axis=1).mean())
        return loss, r


def resolve_net_class(net_class, name: str = "net_class"):
    """The net class of ``net_class``: None is :class:`CrossSubjectNet`; a subclass of it
    is itself; anything else is a clear error (a skorch ``NeuralNet`` that is not one
    cannot train on the resident clips).

    Examples
    --------
    >>> from sklearn_crossenc.encoder._net import resolve_net_class
    >>> resolve_net_class(None).__name__
    'CrossSubjectNet'
    """
    if net_class is None:
        return CrossSubjectNet
    if isinstance(net_class, type) and issubclass(net_class, CrossSubjectNet):
        return net_class
    raise ValueError(f"{name} must be None or a subclass of "
                     f"sklearn_crossenc.encoder.CrossSubjectNet; got {net_class!r}.")

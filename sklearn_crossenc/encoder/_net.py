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
batches are gathered into reused buffers). skorch's per-batch history rows
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
from ..metrics import pearson_map
from ._sampling import ClipStore, sample_clip_starts

__all__ = ["CrossSubjectNet", "FitData", "MSELoss", "lr_factor"]

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


@dataclass
class FitData:
    """What :meth:`CrossSubjectNet.fit_loop` trains on: the resident clip store and
    optional validation episodes (list of ``(S, T_i, C)`` float32 arrays) with their
    targets (None: the episodes themselves)."""

    store: ClipStore
    valid: list = field(default_factory=list)
    valid_y: list | None = None


class _MSEFunction(torch.autograd.Function):
    """Mean squared error with a one-pass backward.

    The forward keeps ``d = pred - target`` and sums its squares with one BLAS dot; the
    backward scales ``d`` in place into the gradient ``2 d / n``. The gradient is the
    same as ``F.mse_loss``'s; the loss value is summed in float32 by BLAS (relative
    error about 1e-4 on millions of elements: it is only reported and checked for NaN).
    """

    @staticmethod
    def forward(ctx, pred, target):
        d = pred - target  # (...) same shape as pred
        flat = d.view(-1)
        ctx.save_for_backward(d)
        ctx.n = d.numel()
        return torch.dot(flat, flat) / ctx.n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        g = d.mul_(grad * (2.0 / ctx.n))
        return g, (-g if ctx.needs_input_grad[1] else None)


class MSELoss(torch.nn.Module):
    """``nn.MSELoss()`` (mean reduction) with a cheaper backward; see ``_MSEFunction``."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() or not pred.requires_grad:
            return torch.nn.functional.mse_loss(pred, target)
        return _MSEFunction.apply(pred, target.expand_as(pred).contiguous())


def lr_factor(schedule: str, step: int, total: int, warmup: float) -> float:
    """Learning-rate multiplier at ``step`` (0-based) of ``total`` steps.

    ``"constant"``: 1 (the seed). ``"cosine"``: linear warm-up over the first
    ``warmup`` fraction of the steps, then a cosine decay to 0 at the last step.

    Examples
    --------
    >>> from sklearn_crossenc.encoder._net import lr_factor
    >>> [round(lr_factor("cosine", s, 5, 0.0), 3) for s in range(5)]
    [1.0, 0.854, 0.5, 0.146, 0.0]
    """
    if schedule == "constant":
        return 1.0
    n_warm = int(round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    span = max(total - n_warm - 1, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(step - n_warm, span) / span))


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
        module, opt, crit = self.module_, self.optimizer_, self.criterion_
        module.train()
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
        lean = self._lean_loss_applies()
        clip_sq = store.clip_sq(index) if lean and self._gram_applies(store) else None  # (S, n)
        gram = clip_sq is not None
        # Reused gather buffers unless a callback that sees the batch might keep it.
        buffers = None if hooks.batch or hooks.grad else store.new_buffers(B * L)
        for step in range(n_steps):
            idx = index[step * B: (step + 1) * B]  # (b, 2)
            batch = store.gather(idx, out=buffers if sizes[step] == B else None)
            if hooks.batch:
                hooks.batch_begin(batch, sizes[step])
            if lean:  # the loss alone; the prediction only for batch callbacks
                t_sq = clip_sq[:, step * B: (step + 1) * B].sum(1).float() if gram else None
                sse = module.training_sse(*batch, t_sq)
                loss = sse.sum() / batch[1].numel()
                y_pred = self._prediction(batch[0]) if hooks.batch else None
            else:
                y_pred = module.forward_subject_major(batch[0])  # (S, b, L, C)
                loss = crit(y_pred, batch[1])
            if check_each_step and not math.isfinite(loss.item()):
                if gram:  # Gram terms overflow as inf - inf: name the loss itself
                    loss = module.training_sse(*batch).sum() / batch[1].numel()
                self._raise_nonfinite(epoch, step, n_steps, loss.item())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if hooks.grad:
                hooks.grad_computed(batch)
            opt.step()
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

        episodes: list of (S, T_i, C) float32 arrays -> list of (S, T_i, C) arrays.
        """
        module = self.module_
        was_training = module.training
        module.eval()
        device = self._device
        out: list = [None] * len(episodes)
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
                    y = module.forward_subject_major(x).float().cpu().numpy()  # (S, n, T, C)
                    for j, i in enumerate(part):
                        out[i] = np.ascontiguousarray(y[:, j])
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

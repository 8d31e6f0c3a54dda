"""Many encoders at once: the repeats of one configuration, trained as one stacked model.

:func:`fit_repeats` fits clones of a :class:`CrossSubjectEncoder` that differ only in
``random_state`` (the repeats of a comparison). Each clone gets the net, the seeds, the
initial weights, the clip sampler and the validation split its own ``fit`` would give
it; their weights are then stacked along a leading model axis and trained in lock-step:
every layer is one batched product over all models and subjects, one loss (the sum of
the models' losses, so each model receives exactly its own gradient), one fused AdamW
step (element-wise, so each model's update is its own). After each epoch every model's
weights are copied into its own net, which records its history, scores its own
validation episodes and runs its own callbacks (``EarlyStopping`` included): a model
that stops leaves the stack with its best weights and its optimizer state, and the
others carry on unchanged. Each result is a normal fitted estimator whose predictions
equal those of its sequential ``fit`` up to rounding.
"""

from __future__ import annotations

import inspect
import math

import torch
from sklearn.base import clone
from torch import nn

from .._device import float32_matmul, resolve_device, torch_threads
from .._interrupt import Interrupted, reraise_as_keyboard_interrupt
from ._callbacks import lr_factor
from ._forward import PARAM_NAMES, training_sse
from ._net import _GRAM_MIN_RATIO, CrossSubjectNet, FitData
from ._plan import make_plan
from ._sampling import ClipStore, sample_clip_starts

__all__ = ["fit_repeats", "sequential_reason"]


def sequential_reason(estimator, stacked="auto") -> str | None:
    """Why the repeats of ``estimator`` are fitted one after the other (None: stacked)."""
    if stacked not in ("auto", True, False):
        raise ValueError(f"stacked must be 'auto', True or False; got {stacked!r}.")
    if stacked is False:
        return "stacked=False"
    if estimator.callbacks:
        return "user callbacks see their own net's every step"
    if estimator.net_class is not None:
        return "a net class of the user's may override skorch's steps"
    if estimator.optimizer not in (None, torch.optim.AdamW):
        return "only AdamW is known to update each model's weights element by element"
    if estimator.verbose:
        return "verbose output is printed per fit"
    if stacked == "auto" and resolve_device(estimator.device).type != "cuda":
        return ("stacked='auto' on the CPU: products dominate there and a stack of models "
                "was measured no faster (docs/performance.md)")
    return None


def fit_repeats(estimator, X, random_states, y=None, *, stacked="auto") -> list:
    """Fit one clone of ``estimator`` per random state, as one stacked model where it pays.

    Parameters
    ----------
    estimator : CrossSubjectEncoder
        The configuration; left unchanged (clones are fitted).
    X, y
        As for :meth:`CrossSubjectEncoder.fit`.
    random_states : sequence of int, RandomState or None
        One per repeat; each clone's ``random_state``.
    stacked : {"auto", True, False}, default="auto"
        Train the repeats as one stacked model (True), one after the other (False), or
        stacked on CUDA and one after the other on the CPU ("auto": on a CPU the matrix
        products dominate and a stack was measured no faster).

    Returns
    -------
    estimators : list of fitted CrossSubjectEncoder
        In the order of ``random_states``; each equals ``clone(estimator).set_params(
        random_state=rs).fit(X, y)`` up to rounding (identical seeds, clips, splits,
        early-stopping decisions; weights within float32 rounding of the sequential fit).

    Notes
    -----
    The repeats are fitted one after the other (``fit``) when there is one, or when
    :func:`sequential_reason` names a reason: ``stacked=False`` (or "auto" off CUDA),
    user ``callbacks`` (they see their own net's every step), a user ``net_class`` (it may
    override skorch's steps), an ``optimizer`` other than AdamW (whose updates are known
    to be element-wise), ``verbose`` output.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.encoder import CrossSubjectEncoder, fit_repeats
    >>> X = np.random.default_rng(0).standard_normal((4, 3, 40, 12)).astype("float32")
    >>> base = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
    ...                            max_epochs=2)
    >>> fits = fit_repeats(base, X, random_states=[0, 1, 2], stacked=True)
    >>> [f.random_state for f in fits], fits[0].predict(X).shape
    ([0, 1, 2], (4, 3, 40, 12))
    """
    ests = [clone(estimator).set_params(random_state=rs) for rs in random_states]
    if len(ests) < 2 or sequential_reason(estimator, stacked) is not None:
        return [est.fit(X, y) for est in ests]
    plans = [make_plan(ests[0], X, y)]
    plans += [make_plan(est, X, y, like=plans[0]) for est in ests[1:]]
    with torch_threads(estimator.n_threads), float32_matmul(), reraise_as_keyboard_interrupt():
        nets = [est._initialized_net(plan) for est, plan in zip(ests, plans, strict=True)]
        _Repeats(nets, plans, ests).run()
    return [est._set_fitted(net, plan) for est, net, plan in zip(ests, nets, plans, strict=True)]


class _Stack(nn.Module):
    """The parameters of ``K`` encoder modules stacked along a leading axis (K, ...)."""

    def __init__(self, modules):
        super().__init__()
        first = modules[0]
        for attr in ("num_subjects", "embed_dim", "enc_conv", "dec_conv", "norm_eps"):
            setattr(self, attr, getattr(first, attr))
        for name in ("average_weight", "encoder_causal_mask", "decoder_causal_mask"):
            self.register_buffer(name, getattr(first, name).clone())
        self.sources = {}  # stacked name -> parameter name in a single module
        for name in PARAM_NAMES:
            source = name.replace("norm_", "norm.")
            params = [m.get_parameter(source) if _has(m, source) else None for m in modules]
            if params[0] is None:
                setattr(self, name, None)
                continue
            setattr(self, name, nn.Parameter(torch.stack([p.detach() for p in params])))
            self.sources[name] = source

    def stacked_params(self) -> dict:
        return {name: getattr(self, name) for name in PARAM_NAMES}

    @torch.no_grad()
    def copy_into(self, k: int, module) -> None:
        """Model ``k``'s weights into a single module."""
        for name, source in self.sources.items():
            module.get_parameter(source).copy_(getattr(self, name)[k])


def _has(module, name: str) -> bool:
    try:
        return module.get_parameter(name) is not None
    except AttributeError:
        return False


def _optimizer_like(optimizer, params):
    """A new optimizer of ``optimizer``'s class and settings over ``params``."""
    cls = type(optimizer)
    accepted = inspect.signature(cls.__init__).parameters
    group = optimizer.param_groups[0]
    kwargs = {k: v for k, v in optimizer.defaults.items() if k in accepted}
    kwargs["lr"] = group.get("initial_lr", group["lr"])
    return cls(params, **kwargs)


class _Repeats:
    """The lock-step training of :func:`fit_repeats` (one instance per call)."""

    def __init__(self, nets, plans, ests):
        self.nets, self.plans, self.ests = nets, plans, ests
        first = nets[0]
        self.B, self.L = first.batch_size, first.sample_length
        self.spe, self.max_epochs = first.samples_per_epoch, first.max_epochs
        p0 = plans[0]
        self.store = ClipStore(p0.episodes, p0.device, targets=p0.targets)
        self.active = list(range(len(nets)))
        self.stack = _Stack([net.module_ for net in nets]).to(p0.device)
        self.optimizer = _optimizer_like(first.optimizer_, self.stack.parameters())
        self.schedule = dict(first.callbacks_).get("lr_schedule")
        self.global_step = 0
        self.total_steps = self.max_epochs * math.ceil(self.spe / self.B)

    def _kwargs(self, k: int) -> dict:
        valid = self.plans[k].valid
        return {"dataset_train": self.store, "dataset_valid": valid or None}

    def run(self) -> None:
        for k, net in enumerate(self.nets):
            net.check_training_readiness()
            net.total_steps_ = self.total_steps
            net.notify("on_train_begin", X=FitData(self.store, self.plans[k].valid), y=None)
        try:
            for _ in range(self.max_epochs):
                if not self.active:
                    break
                for k in self.active:
                    self.nets[k].notify("on_epoch_begin", **self._kwargs(k))
                losses = self._train_epoch()
                for k, loss in zip(list(self.active), losses, strict=True):
                    self._end_epoch(k, loss)
        except KeyboardInterrupt:
            raise Interrupted(f"training interrupted during epoch "
                              f"{len(self.nets[self.active[0]].history)}") from None
        for k in list(self.active):
            self._retire(k)

    def _clip_index(self, k: int):
        """Model ``k``'s clips of this epoch, drawn by its own sampler: (n, 2)."""
        train_idx = self.plans[k].train_idx
        episodes, offsets = sample_clip_starts(
            self.nets[k].sampler_rng_, self.store.lengths[train_idx], self.spe, self.L)
        return self.store.clip_index(train_idx[episodes], offsets, self.L)

    def _gram(self) -> bool:
        mean_sq = self.store.mean_square
        for k in self.active:
            rows = [r["train_loss"] for r in self.nets[k].history[:-1] if "train_loss" in r]
            if rows and not rows[-1] >= _GRAM_MIN_RATIO * mean_sq:
                return False
        return True

    def _train_epoch(self) -> list[float]:
        """One epoch of every active model; their mean losses."""
        self.stack.train()
        index = [self._clip_index(k) for k in self.active]  # K x (n, 2)
        n = index[0].shape[0]
        n_steps = math.ceil(n / self.B)
        K, S = len(self.active), self.store.n_subjects
        clip_sq = [self.store.clip_sq(ix) for ix in index] if self._gram() else None  # K x (S, n)
        full = self._buffers(K, self.B * self.L)
        losses = torch.zeros(n_steps, K, device=self.store.device)  # (steps, K)
        sizes = [min(self.B, n - i * self.B) for i in range(n_steps)]
        epoch = len(self.nets[self.active[0]].history)
        for step in range(n_steps):
            b = sizes[step]
            lo, hi = step * self.B, step * self.B + b
            x, t = self._gather([ix[lo:hi] for ix in index],
                                full if b == self.B else self._buffers(K, b * self.L))
            t_sq = None if clip_sq is None else torch.cat(
                [c[:, lo:hi].sum(1) for c in clip_sq]).float()  # (K*S,)
            sse = training_sse(self.stack, self.stack.stacked_params(), x,
                               x if t is None else t, t_sq, b, self.L)  # (K*S,)
            loss = sse.view(K, S).sum(1) / (S * b * self.L * self.store.n_parcels)  # (K,)
            self._check(loss, epoch, step, n_steps)
            self._set_lr()
            self.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.optimizer.step()
            losses[step] = loss.detach()
            self.global_step += 1
        losses = losses.cpu()
        self._check_epoch(losses, epoch, n_steps)
        for j, k in enumerate(self.active):
            net = self.nets[k]
            net.global_step_ = self.global_step
            if net._batch_rows_wanted():
                net._record_batches(losses[:, j].tolist(), sizes, made=False)
        w = torch.tensor(sizes, dtype=torch.float32)
        return [float((losses[:, j] * w).sum() / w.sum()) for j in range(K)]

    def _buffers(self, K: int, rows: int):
        st = self.store
        x = st.X[0].new_empty(K, st.n_subjects, rows, st.n_parcels)  # (K, S, rows, C)
        return x, (None if st.Y is st.X else torch.empty_like(x))

    def _gather(self, idx, buffers):
        """Every active model's clips: inputs and targets (None: the inputs), (K*S, rows, C)."""
        x, t = buffers
        for j, i in enumerate(idx):
            self.store.gather(i, out=(x[j], x[j] if t is None else t[j]))
        G = x.shape[0] * x.shape[1]
        return x.view(G, *x.shape[2:]), None if t is None else t.view(G, *t.shape[2:])

    def _set_lr(self) -> None:
        if self.schedule is None:
            return
        f = lr_factor(self.schedule.schedule, self.global_step, self.total_steps,
                      self.schedule.warmup)
        for g in self.optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
            g["lr"] = g["initial_lr"] * f

    def _check(self, loss, epoch, step, n_steps) -> None:
        if not CrossSubjectNet._check_loss_each_step(loss.device):
            return  # checked once per epoch (_check_epoch), as the net does on CUDA
        for j, value in enumerate(loss.tolist()):
            if not math.isfinite(value):
                self._raise(j, epoch, step, n_steps, value)

    def _check_epoch(self, losses, epoch, n_steps) -> None:
        bad = ~torch.isfinite(losses)  # (steps, K)
        if bad.any():
            step, j = (int(v) for v in torch.nonzero(bad)[0])
            self._raise(j, epoch, step, n_steps, float(losses[step, j]))

    def _raise(self, j, epoch, step, n_steps, value):
        k = self.active[j]
        net = self.nets[k]
        net.global_step_ = self.global_step
        try:
            net._raise_nonfinite(epoch, step, n_steps, value)
        except FloatingPointError as exc:
            raise FloatingPointError(
                f"repeat {k} (random_state={self.ests[k].random_state!r}): {exc}") from None

    def _end_epoch(self, k: int, loss: float) -> None:
        """Model ``k``'s epoch end, in its own net: history, validation, callbacks."""
        net, plan = self.nets[k], self.plans[k]
        self.stack.copy_into(self.active.index(k), net.module_)
        net._record("train_loss", loss, lower_is_better=True)
        if plan.valid:
            v_loss, r = net.validation_scores(plan.valid, plan.valid_y)
            net._record("valid_loss", v_loss, lower_is_better=True)
            net._record("valid_pearson", r, lower_is_better=False)
        try:
            net.notify("on_epoch_end", **self._kwargs(k))
        except KeyboardInterrupt:  # EarlyStopping: this model stops after this epoch
            self._retire(k)

    def _retire(self, k: int) -> None:
        """Model ``k`` leaves the stack: its weights, optimizer state and train end."""
        j = self.active.index(k)
        net = self.nets[k]
        self.stack.copy_into(j, net.module_)
        self._copy_optimizer_state(j, net)
        net.notify("on_train_end", X=FitData(self.store, self.plans[k].valid), y=None)
        self.active.remove(k)
        if self.active:
            self._shrink([i for i in range(len(self.active) + 1) if i != j])

    def _copy_optimizer_state(self, j: int, net) -> None:
        params = dict(net.module_.named_parameters())
        for name, source in self.stack.sources.items():
            state = self.optimizer.state.get(getattr(self.stack, name))
            if state:
                net.optimizer_.state[params[source]] = {
                    key: (v.clone() if key == "step" or v.ndim == 0 else v[j].clone())
                    for key, v in state.items()}
        for group in net.optimizer_.param_groups:
            group["lr"] = self.optimizer.param_groups[0]["lr"]

    @torch.no_grad()
    def _shrink(self, keep: list[int]) -> None:
        """Keep models ``keep`` (positions in the stack), with their optimizer state."""
        old = {name: getattr(self.stack, name) for name in self.stack.sources}
        for name, p in old.items():
            setattr(self.stack, name, nn.Parameter(p[keep].clone()))
        new_opt = _optimizer_like(self.optimizer, self.stack.parameters())
        new_opt.param_groups[0].update(
            {k: v for k, v in self.optimizer.param_groups[0].items() if k != "params"})
        new_opt.param_groups[0]["params"] = list(self.stack.parameters())
        for name, p in old.items():
            state = self.optimizer.state.get(p)
            if state:
                new_opt.state[getattr(self.stack, name)] = {
                    key: (v if key == "step" or v.ndim == 0 else v[keep].clone())
                    for key, v in state.items()}
        self.optimizer = new_opt

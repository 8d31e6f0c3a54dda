"""skorch callbacks of the package: the learning-rate schedule, a progress bar."""

from __future__ import annotations

import math
import sys

from skorch.callbacks import Callback

__all__ = ["EpochProgressBar", "LRSchedule", "lr_factor", "stop_reason"]


def stop_reason(net, total: int | None) -> str | None:
    """Why a fit ended before its ``total`` epochs, in one line; None when it ran them all.

    Early stopping (skorch's ``EarlyStopping``) names the held-out score, its value at the
    last epoch, the best value and its epoch, and the patience.
    """
    from skorch.callbacks import EarlyStopping

    done = len(net.history)
    if total is None or done >= total:
        return None
    es = next((cb for _, cb in getattr(net, "callbacks_", []) if isinstance(cb, EarlyStopping)),
              None)
    if es is None or getattr(es, "best_epoch_", None) is None:
        return f"stopped after epoch {done} of {total}."
    monitor, best = es.monitor, int(es.best_epoch_)
    last = net.history[-1].get(monitor)
    best_value = net.history[best - 1].get(monitor)
    epochs = "epoch" if es.patience == 1 else "epochs"
    return (f"early stopping after epoch {done} of {total}: the held-out {monitor} "
            f"({last:.4f}) did not improve on epoch {best}'s ({best_value:.4f}) for "
            f"{es.patience} {epochs}; epoch {best}'s weights are kept.")


def lr_factor(schedule: str, step: int, total: int, warmup: float) -> float:
    """Learning-rate multiplier at ``step`` (0-based) of ``total`` steps.

    ``"constant"``: 1 (the seed). ``"cosine"``: linear warm-up over the first
    ``warmup`` fraction of the steps, then a cosine decay to 0 at the last step.

    Examples
    --------
    >>> from sklearn_crossenc.encoder._callbacks import lr_factor
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


class LRSchedule(Callback):
    """The encoder's ``lr_schedule="cosine"`` as a skorch callback.

    Before every training step the learning rate of each parameter group is its initial
    rate times :func:`lr_factor` at the net's
    ``global_step_`` of ``total_steps_`` (the last step of the current fit: linear
    warm-up over the first ``warmup`` fraction, then cosine decay to 0).

    Parameters
    ----------
    schedule : {"constant", "cosine"}, default="cosine"
    warmup : float, default=0.0
        Warm-up fraction of the steps.

    Examples
    --------
    >>> from sklearn_crossenc.encoder import CrossSubjectEncoder, LRSchedule
    >>> enc = CrossSubjectEncoder(callbacks=[LRSchedule("cosine", warmup=0.1)])
    """

    uses_batch_rows = False  # the net may skip skorch's per-batch history rows

    def __init__(self, schedule: str = "cosine", warmup: float = 0.0):
        self.schedule = schedule
        self.warmup = warmup

    def on_train_begin(self, net, **kwargs):
        for g in net.optimizer_.param_groups:
            g.setdefault("initial_lr", g["lr"])

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        f = lr_factor(self.schedule, net.global_step_, net.total_steps_, self.warmup)
        for g in net.optimizer_.param_groups:
            g["lr"] = g["initial_lr"] * f


class EpochProgressBar(Callback):
    """A skorch callback that advances a tqdm bar (on stderr) once per training epoch.

    Parameters
    ----------
    total : int or None, default=None
        Expected number of epochs; None: the net's ``max_epochs`` of the fit.
    desc : str
        Label of the bar.

    Examples
    --------
    >>> from sklearn_crossenc.encoder import CrossSubjectEncoder, EpochProgressBar
    >>> enc = CrossSubjectEncoder(max_epochs=3, callbacks=[EpochProgressBar(3, "encoder")])
    """

    uses_batch_rows = False

    def __init__(self, total: int | None = None, desc: str = "epochs"):
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        total = net.max_epochs if self.total is None else self.total
        self.bar_ = tqdm(total=total, desc=self.desc, unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is None:
            return
        bar.update(1)
        loss = net.history[-1].get("train_loss") if len(net.history) else None
        if loss is not None:
            bar.set_postfix(loss=f"{loss:.4g}")

    def on_train_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            reason = stop_reason(net, bar.total)
            if reason is not None:  # said above the bar, which goes: it stayed at k/n
                bar.write(f"{self.desc}: {reason}", file=sys.stderr)
            bar.close()
        self.bar_ = None

    def __getstate__(self):  # a fitted estimator stays picklable (no open bar inside)
        state = dict(self.__dict__)
        state["bar_"] = None
        return state

"""skorch callbacks of the package: a progress bar over training epochs."""

from __future__ import annotations

from skorch.callbacks import Callback

__all__ = ["EpochProgressBar"]


class EpochProgressBar(Callback):
    """A skorch callback that advances a tqdm bar (on stderr) once per training epoch.

    Parameters
    ----------
    total : int
        Expected number of epochs (``max_epochs``).
    desc : str
        Label of the bar.

    Examples
    --------
    >>> from sklearn_crossenc.encoder import CrossSubjectEncoder, EpochProgressBar
    >>> enc = CrossSubjectEncoder(max_epochs=3, callbacks=[EpochProgressBar(3, "encoder")])
    """

    def __init__(self, total: int = 10, desc: str = "epochs"):
        self.total = total
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc=self.desc, unit="epoch", leave=False)

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
            bar.close()
        self.bar_ = None

    def __getstate__(self):  # a fitted estimator stays picklable (no open bar inside)
        state = dict(self.__dict__)
        state["bar_"] = None
        return state

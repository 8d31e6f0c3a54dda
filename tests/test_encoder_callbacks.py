"""skorch's own callbacks on CrossSubjectEncoder, the optimizer choice and warm starts."""

import numpy as np
import pytest
import torch
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EpochScoring,
    GradientNormClipping,
    LoadInitState,
    LRScheduler,
    PrintLog,
)

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.encoder import LRSchedule
from sklearn_crossenc.encoder._callbacks import lr_factor

FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=2,
            device="cpu", random_state=0)
STEPS = 4  # 32 clips / batch 8 per epoch


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((4, 1, 40, 6))
    return (shared + 0.5 * rng.standard_normal((4, 3, 40, 6))).astype("float32")


class Recorder(Callback):
    """Counts every notification skorch documents and keeps the gradient norms seen."""

    def initialize(self):
        self.calls = {}
        self.grad_norms = []
        return self

    def _count(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1

    def on_train_begin(self, net, **kw):
        self._count("on_train_begin")

    def on_train_end(self, net, **kw):
        self._count("on_train_end")

    def on_epoch_begin(self, net, **kw):
        self._count("on_epoch_begin")

    def on_epoch_end(self, net, **kw):
        self._count("on_epoch_end")

    def on_batch_begin(self, net, batch=None, training=None, **kw):
        self._count("on_batch_begin")

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kw):
        self._count("on_batch_end")

    def on_grad_computed(self, net, named_parameters, **kw):
        self._count("on_grad_computed")
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.grad_norms.append(float(torch.norm(torch.stack([g.norm() for g in grads]))))


def test_every_notification_reaches_a_user_callback(X):
    rec = Recorder()
    enc = CrossSubjectEncoder(**FAST, callbacks=[rec]).fit(X)
    assert rec.calls == {"on_train_begin": 1, "on_train_end": 1, "on_epoch_begin": 2,
                         "on_epoch_end": 2, "on_batch_begin": 2 * STEPS,
                         "on_batch_end": 2 * STEPS, "on_grad_computed": 2 * STEPS}
    # Per-batch history rows exist while batch hooks are on (skorch's LRScheduler uses them).
    assert enc.history_[-1, "batches", :, "train_batch_size"] == [8] * STEPS


def test_gradient_norm_clipping_of_skorch_clips(X):
    # Clipping before the optimizer step: recorded norms (after clipping, seen by a later
    # callback) never exceed the bound, and the trained weights differ from unclipped ones.
    rec = Recorder()
    clipped = CrossSubjectEncoder(**FAST, lr=1e-2, callbacks=[
        ("clip", GradientNormClipping(gradient_clip_value=1e-3)), ("rec", rec)]).fit(X)
    assert max(rec.grad_norms) <= 1e-3 * (1 + 1e-4)
    free = CrossSubjectEncoder(**FAST, lr=1e-2).fit(X)
    assert not np.allclose(clipped.predict(X), free.predict(X))


def test_lr_scheduler_of_skorch_with_a_torch_scheduler(X):
    sched = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    enc = CrossSubjectEncoder(**{**FAST, "max_epochs": 3}, lr=0.1, callbacks=[sched]).fit(X)
    assert enc.history_[:, "event_lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert enc.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0125)
    per_batch = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5,
                            step_every="batch")
    enc = CrossSubjectEncoder(**FAST, lr=0.1, callbacks=[per_batch]).fit(X)
    assert enc.history_[0, "batches", :, "event_lr"] == pytest.approx(
        [0.1 * 0.5**k for k in range(STEPS)])


def test_builtin_cosine_schedule_is_the_lr_schedule_callback(X):
    enc = CrossSubjectEncoder(**FAST, lr=0.1, lr_schedule="cosine", warmup=0.25)
    enc.fit(X)
    cbs = dict(enc.net_.callbacks_)
    assert isinstance(cbs["lr_schedule"], LRSchedule)
    total = 2 * STEPS
    expected = 0.1 * lr_factor("cosine", total - 1, total, 0.25)
    assert enc.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(expected)
    # The same schedule passed as a user callback gives the same model.
    same = CrossSubjectEncoder(**FAST, lr=0.1, callbacks=[LRSchedule("cosine", 0.25)]).fit(X)
    np.testing.assert_array_equal(same.predict(X), enc.predict(X))


def test_checkpoint_and_load_init_state_of_skorch(X, tmp_path):
    cp = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best")
    enc = CrossSubjectEncoder(**FAST, validation=X[:1], callbacks=[cp]).fit(X)
    assert (tmp_path / "params.pt").exists() and (tmp_path / "history.json").exists()
    assert enc.history_[:, "event_cp"] == enc.history_[:, "valid_loss_best"]
    best = int(np.flatnonzero(enc.history_[:, "valid_loss_best"])[-1])  # last saved epoch
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    # LoadInitState restores module, optimizer and history before training resumes.
    seen = {}

    class Peek(Callback):
        def on_train_begin(self, net, **kw):
            seen.update({k: v.clone() for k, v in net.module_.state_dict().items()})
            seen["n_epochs"] = len(net.history)

    resumed = CrossSubjectEncoder(**{**FAST, "max_epochs": 1, "random_state": 1},
                                  callbacks=[LoadInitState(cp), ("peek", Peek())]).fit(X)
    assert seen.pop("n_epochs") == best + 1
    for name, tensor in saved.items():
        torch.testing.assert_close(seen[name], tensor)
    assert resumed.n_epochs_ == best + 2
    assert resumed.history_[: best + 1, "train_loss"] == enc.history_[: best + 1, "train_loss"]


def test_epoch_scoring_of_skorch_with_a_callable(X):
    def valid_mse(net, X_valid, y):
        return net.validation_scores(X_valid)[0]

    scoring = EpochScoring(valid_mse, lower_is_better=True, use_caching=False, name="mse")
    enc = CrossSubjectEncoder(**FAST, validation=X[:1], callbacks=[scoring]).fit(X)
    assert enc.history_[:, "mse"] == pytest.approx(enc.history_[:, "valid_loss"], rel=1e-6)
    assert enc.history_[:, "mse_best"][0] is True


def test_print_log_of_skorch_prints_every_epoch(X):
    lines = []
    enc = CrossSubjectEncoder(**FAST, callbacks=[("log", PrintLog(sink=lines.append))]).fit(X)
    table = "\n".join(lines)
    assert "train_loss" in table and "dur" in table
    assert f"{enc.history_[-1, 'train_loss']:.4f}" in table


def test_another_optimizer_and_its_arguments(X):
    enc = CrossSubjectEncoder(**FAST, optimizer=torch.optim.SGD, optimizer__momentum=0.9,
                              lr=0.01)
    assert enc.get_params()["optimizer__momentum"] == 0.9
    enc.set_params(optimizer__momentum=0.5).fit(X)
    group = enc.net_.optimizer_.param_groups[0]
    assert isinstance(enc.net_.optimizer_, torch.optim.SGD)
    assert (group["momentum"], group["lr"], group["weight_decay"]) == (0.5, 0.01, 1e-3)
    from sklearn.base import clone

    assert clone(enc).get_params()["optimizer__momentum"] == 0.5
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentum'"):
        CrossSubjectEncoder(momentum=0.9).fit(X)  # checked in fit, as scikit-learn asks


def test_warm_start_adds_epochs_equal_to_one_longer_fit(X):
    long = CrossSubjectEncoder(**{**FAST, "max_epochs": 3}).fit(X)
    warm = CrossSubjectEncoder(**{**FAST, "max_epochs": 1}).fit(X)
    warm.set_params(warm_start=True, max_epochs=2).fit(X)
    assert warm.n_epochs_ == 3
    np.testing.assert_array_equal(warm.predict(X), long.predict(X))
    assert warm.history_[:, "train_loss"] == long.history_[:, "train_loss"]
    cold = CrossSubjectEncoder(**{**FAST, "max_epochs": 1}).fit(X)
    cold.set_params(max_epochs=2).fit(X)
    assert cold.n_epochs_ == 2
    with pytest.raises(ValueError, match="continues a net fitted on 3 subjects"):
        warm.fit(X[:, :2])


@pytest.mark.slow
def test_halving_search_with_epochs_as_the_resource(X):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, KFold

    from sklearn_crossenc.scoring import EPISODE_SCORERS

    search = HalvingGridSearchCV(
        CrossSubjectEncoder(**FAST, warm_start=True), {"embed_dim": [2, 4, 8]},
        resource="max_epochs", min_resources=1, max_resources=3, factor=2,
        scoring=EPISODE_SCORERS["pearson"], cv=KFold(2), refit=True)
    search.fit(X)
    assert list(search.n_resources_) == [1, 2]
    assert search.best_estimator_.n_epochs_ == search.best_params_["max_epochs"]

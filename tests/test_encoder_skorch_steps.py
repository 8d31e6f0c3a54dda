"""skorch's overridable steps (``get_loss``, ``train_step``, ``train_step_single``, ``infer``)
take effect in a subclass of CrossSubjectNet; the lean step runs only without overrides."""

import io

import joblib
import numpy as np
import pytest
import skorch
import torch

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.encoder import CrossSubjectNet
from sklearn_crossenc.encoder._repeats import sequential_reason

# One SGD step per fit (8 clips, batch 8), no weight decay: the update is lr * gradient.
ONE_STEP = dict(embed_dim=4, sample_length=16, samples_per_epoch=8, batch_size=8,
                max_epochs=1, device="cpu", random_state=0, optimizer="sgd",
                weight_decay=0.0, n_threads=1)
LAM = 0.05


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((4, 1, 40, 6))
    return (shared + 0.5 * rng.standard_normal((4, 3, 40, 6))).astype("float32")


class L2Net(CrossSubjectNet):
    """An L2 penalty on every parameter, added in get_loss (skorch's documented way)."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        return loss + LAM * sum((p ** 2).sum() for p in self.module_.parameters())


class CountingNet(CrossSubjectNet):
    """Counts skorch's step calls and changes nothing."""

    calls = {"train_step": 0, "train_step_single": 0}

    def train_step(self, batch, **fit_params):
        CountingNet.calls["train_step"] += 1
        return super().train_step(batch, **fit_params)

    def train_step_single(self, batch, **fit_params):
        CountingNet.calls["train_step_single"] += 1
        return super().train_step_single(batch, **fit_params)


class DoublingNet(CrossSubjectNet):
    """Predicts twice the module's output: an ``infer`` override."""

    def infer(self, x, **fit_params):
        return 2.0 * super().infer(x, **fit_params)


def _weights(enc):
    return {k: v.detach().clone() for k, v in enc.net_.module_.named_parameters()}


def test_penalty_in_get_loss_moves_each_weight_by_its_gradient(X):
    # Closed form of one SGD step: w = w0 - lr (g + 2 lam w0), so the penalised weights
    # minus the plain ones are -2 lr lam w0, weight by weight.
    lr = 0.1
    w0 = _weights(CrossSubjectEncoder(**{**ONE_STEP, "lr": 0.0}).fit(X))
    plain = _weights(CrossSubjectEncoder(**ONE_STEP, lr=lr).fit(X))
    pen = CrossSubjectEncoder(**ONE_STEP, lr=lr, net_class=L2Net).fit(X)
    assert pen.net_.uses_skorch_steps()
    got = _weights(pen)
    for name, w in w0.items():
        torch.testing.assert_close(got[name] - plain[name], -2 * lr * LAM * w,
                                   rtol=1e-4, atol=1e-6, msg=name)
    # train_loss records what get_loss returned: the MSE plus the penalty at w0.
    penalty = LAM * sum(float((w ** 2).sum()) for w in w0.values())
    plain_loss = CrossSubjectEncoder(**ONE_STEP, lr=lr).fit(X).history_[-1, "train_loss"]
    assert pen.history_[-1, "train_loss"] == pytest.approx(plain_loss + penalty, rel=1e-4)


def test_overridden_steps_are_called_and_train_as_the_lean_step(X):
    CountingNet.calls.update(train_step=0, train_step_single=0)
    fast = dict(ONE_STEP, samples_per_epoch=32, max_epochs=2, optimizer=None,
                weight_decay=1e-3)
    counted = CrossSubjectEncoder(**fast, net_class=CountingNet).fit(X)
    assert CountingNet.calls == {"train_step": 8, "train_step_single": 8}  # 4 steps x 2
    plain = CrossSubjectEncoder(**fast).fit(X)
    np.testing.assert_allclose(counted.predict(X), plain.predict(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(counted.history_[:, "train_loss"],
                               plain.history_[:, "train_loss"], rtol=1e-4)


def test_an_infer_override_reaches_prediction(X):
    from sklearn_crossenc.encoder._scaling import restore, standardise

    enc = CrossSubjectEncoder(**ONE_STEP, net_class=DoublingNet).fit(X)
    xs = np.stack(standardise(list(X), *enc.scaling_[:2]))  # (N, S, T, C) as the net trained
    x = torch.from_numpy(np.ascontiguousarray(xs.transpose(1, 0, 2, 3)))  # (S, N, T, C)
    with torch.no_grad():
        enc.net_.module_.eval()
        module_out = enc.net_.module_.forward_subject_major(x).numpy().transpose(1, 0, 2, 3)
    expected = np.stack(restore(list(2.0 * module_out), *enc.scaling_[2:]))  # (N, S, T, C)
    np.testing.assert_allclose(enc.predict(X), expected, rtol=1e-5, atol=1e-5)


def test_the_lean_step_runs_when_nothing_is_overridden(X, monkeypatch):
    calls = []
    original = skorch.NeuralNet.train_step

    def spy(self, batch, **fit_params):
        calls.append(1)
        return original(self, batch, **fit_params)

    monkeypatch.setattr(skorch.NeuralNet, "train_step", spy)
    enc = CrossSubjectEncoder(**ONE_STEP).fit(X)
    assert not enc.net_.uses_skorch_steps()
    assert calls == []


def test_net_class_is_checked_in_fit_and_survives_clone_and_joblib(X):
    from sklearn.base import clone

    with pytest.raises(ValueError, match="net_class must be None or a subclass of .*"
                                         "CrossSubjectNet; got <class 'skorch.net.NeuralNet'>"):
        CrossSubjectEncoder(**ONE_STEP, net_class=skorch.NeuralNet).fit(X)
    enc = CrossSubjectEncoder(**ONE_STEP, net_class=L2Net)
    assert clone(enc).net_class is L2Net
    enc.fit(X)
    buf = io.BytesIO()
    joblib.dump(enc, buf)
    buf.seek(0)
    loaded = joblib.load(buf)
    assert type(loaded.net_) is L2Net
    np.testing.assert_array_equal(loaded.predict(X), enc.predict(X))


def test_repeats_of_a_user_net_class_are_fitted_one_by_one():
    enc = CrossSubjectEncoder(net_class=L2Net, device="cpu")
    assert sequential_reason(enc, stacked=True) == (
        "a net class of the user's may override skorch's steps")

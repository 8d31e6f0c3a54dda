"""The training step's custom gradients and lean path (issue 23).

The depthwise convolution and the decoder's error from Gram matrices are checked against
torch's own operations and by finite differences (float64); the net's lean step against
the step that forms the prediction; the fit's side effects on torch's global state.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder, _net
from sklearn_crossenc.encoder._forward import DepthwiseConv, LinearSSE
from sklearn_crossenc.encoder._repeats import _Stack
from sklearn_crossenc.encoder._sampling import ClipStore

FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=2,
            device="cpu", random_state=0)
D64 = dict(dtype=torch.float64)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((4, 1, 40, 6))
    return (shared + 0.5 * rng.standard_normal((4, 3, 40, 6))).astype("float32")


@pytest.mark.parametrize("k", [3, 4, 7])
@pytest.mark.parametrize("residual", [False, True])
def test_depthwise_conv_is_torchs_same_padded_conv(k, residual):
    g = torch.Generator().manual_seed(k)
    G, N, L, D = 3, 2, 9, 5
    h = torch.randn(G, N, L, 2 * D if residual else D, generator=g, **D64)
    w, b = torch.randn(G, D, k, generator=g, **D64), torch.randn(G, D, generator=g, **D64)
    src = h[..., -D:].permute(1, 0, 3, 2).reshape(N, G * D, L)  # (N, G*D, L)
    ref = F.conv1d(src, w.reshape(G * D, 1, k), b.reshape(-1), padding="same", groups=G * D)
    ref = ref.view(N, G, D, L).permute(1, 0, 3, 2)  # (G, N, L, D)
    if residual:
        ref = ref + h[..., :D]
    torch.testing.assert_close(DepthwiseConv.apply(h, w, b, residual), ref)
    args = tuple(t.requires_grad_() for t in (h, w, b))
    assert torch.autograd.gradcheck(lambda *a: DepthwiseConv.apply(*a, residual), args)


def test_linear_sse_value_and_gradients():
    g = torch.Generator().manual_seed(0)
    G, R, P, C = 2, 7, 3, 5
    inp, W = torch.randn(G, R, P, generator=g, **D64), torch.randn(G, C, P, generator=g, **D64)
    b, t = torch.randn(G, C, generator=g, **D64), torch.randn(G, R, C, generator=g, **D64)
    explicit = ((torch.baddbmm(b.unsqueeze(1), inp, W.transpose(1, 2)) - t) ** 2).sum((1, 2))

    def sse(inp, W, b):  # tW made from W, as in training: its gradient flows back into W
        return LinearSSE.apply(inp, W, b, torch.bmm(t, W), t.sum(1), (t * t).sum((1, 2)))

    torch.testing.assert_close(sse(inp, W, b), explicit)
    args = tuple(x.requires_grad_() for x in (inp, W, b))
    assert torch.autograd.gradcheck(sse, args)


CONFIGS = [
    dict(encoder_kernel_size=7, decoder_kernel_size=0),
    dict(encoder_kernel_size=0, decoder_kernel_size=5),
    dict(encoder_kernel_size=4, decoder_kernel_size=3, normalize=True,
         with_shared_decoder=False),
    dict(encoder_kernel_size=5, decoder_kernel_size=0, with_shared_encoder=False),
    dict(encoder_kernel_size=0, decoder_kernel_size=0, with_subject_encoders=False,
         with_subject_decoders=False),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("same_target", [True, False])
def test_training_sse_is_the_squared_error_of_the_forward(cfg, same_target):
    torch.manual_seed(0)
    S, C = 3, 11
    m = CrossSubjectConvLinearEncoder(S, C, 6, **cfg).double()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(S, 4, 9, C, **D64)
    t = x if same_target else torch.randn(S, 4, 9, C, **D64)
    reference = ((m.forward_subject_major(x) - t) ** 2).reshape(S, -1).sum(1)
    reference.sum().backward()
    expected = {n: p.grad.clone() for n, p in m.named_parameters()}
    for t_sq in (None, (t * t).reshape(S, -1).sum(1)):  # explicit residual, Gram form
        m.zero_grad()
        got = m.training_sse(x, t, t_sq)
        got.sum().backward()
        torch.testing.assert_close(got, reference.detach())
        for name, p in m.named_parameters():
            torch.testing.assert_close(p.grad, expected[name], msg=name)


def test_a_stack_of_modules_computes_each_modules_error():
    torch.manual_seed(0)
    S, C, N, L = 3, 11, 2, 8
    mods = [CrossSubjectConvLinearEncoder(S, C, 4, 3, 3, normalize=True).double()
            for _ in range(3)]
    for m in mods:
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.3)
    stack = _Stack(mods)
    from sklearn_crossenc.encoder._forward import training_sse

    x = torch.randn(3 * S, N * L, C, **D64)  # (K*S, rows, C)
    t_sq = (x * x).sum((1, 2))
    got = training_sse(stack, stack.stacked_params(), x, x, t_sq, N, L).view(3, S)
    for k, m in enumerate(mods):
        xk = x[k * S:(k + 1) * S].reshape(S, N, L, C)
        torch.testing.assert_close(got[k], m.training_sse(xk, xk, t_sq[k * S:(k + 1) * S]))


class _NoOpBatchHook(Callback):
    """Checks that each batch's prediction and loss agree (the loss is computed apart)."""

    def initialize(self):
        self.seen = 0
        return self

    def on_batch_end(self, net, batch=None, loss=None, y_pred=None, **kwargs):
        assert y_pred.shape == batch[1].shape  # (S, b, L, C)
        mse = float(((y_pred - batch[1]) ** 2).mean())
        assert mse == pytest.approx(loss.item(), rel=1e-4)
        if net.lr == 0:  # the weights did not move: the prediction is the module's
            with torch.no_grad():
                torch.testing.assert_close(y_pred, net.module_.forward_subject_major(batch[0]))
        self.seen += 1


def test_lean_step_trains_as_the_step_that_forms_the_prediction(X, monkeypatch):
    lean = CrossSubjectEncoder(**FAST).fit(X)
    # Batch callbacks see the prediction, but the arithmetic stays the lean step's.
    hook = _NoOpBatchHook()
    hooked = CrossSubjectEncoder(**FAST, callbacks=[hook]).fit(X)
    assert hook.seen == 2 * 4
    CrossSubjectEncoder(**{**FAST, "lr": 0.0}, callbacks=[_NoOpBatchHook()]).fit(X)
    np.testing.assert_array_equal(lean.predict(X), hooked.predict(X))
    # The step that forms the prediction and applies the MSE criterion: same up to rounding.
    monkeypatch.setattr(_net.CrossSubjectNet, "_lean_loss_applies", lambda self: False)
    explicit = CrossSubjectEncoder(**FAST).fit(X)
    assert not np.array_equal(lean.predict(X), explicit.predict(X))  # another arithmetic
    np.testing.assert_allclose(lean.predict(X), explicit.predict(X), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(lean.history_[:, "train_loss"],
                               explicit.history_[:, "train_loss"], rtol=1e-5)


def test_gram_form_is_left_once_the_fit_is_nearly_exact(X, monkeypatch):
    calls = []
    real = LinearSSE.apply
    monkeypatch.setattr(LinearSSE, "apply", lambda *a: calls.append(1) or real(*a))
    CrossSubjectEncoder(**FAST).fit(X)
    assert len(calls) == 2 * 4  # every step of both epochs
    calls.clear()
    # A loss below _GRAM_MIN_RATIO of the targets' mean square: explicit residual after
    # the first epoch (the first has no previous loss).
    monkeypatch.setattr(_net, "_GRAM_MIN_RATIO", 1e9)
    CrossSubjectEncoder(**FAST).fit(X)
    assert len(calls) == 4


def test_batch_rows_are_written_only_for_callbacks_that_may_read_them(X):
    plain = CrossSubjectEncoder(**FAST).fit(X)
    assert plain.history_[-1]["batches"] == []

    class EpochReader(Callback):  # an unknown callback: it might read them
        def on_epoch_end(self, net, **kwargs):
            pass

    read = CrossSubjectEncoder(**FAST, callbacks=[EpochReader()]).fit(X)
    assert read.history_[-1, "batches", :, "train_batch_size"] == [8] * 4
    losses = read.history_[-1, "batches", :, "train_loss"]
    assert np.mean(losses) == pytest.approx(read.history_[-1, "train_loss"], rel=1e-6)


def test_fit_leaves_the_cuda_generators_and_the_cpu_generator_alone(X, monkeypatch):
    def touched(*args, **kwargs):
        raise AssertionError("fit reseeded the CUDA generators")

    monkeypatch.setattr(torch.cuda, "manual_seed_all", touched)
    monkeypatch.setattr(torch.cuda, "manual_seed", touched)
    torch.random.default_generator.manual_seed(123)
    expected = torch.rand(3)
    torch.random.default_generator.manual_seed(123)
    a = CrossSubjectEncoder(**FAST).fit(X)
    torch.testing.assert_close(torch.rand(3), expected)
    np.testing.assert_array_equal(a.predict(X), CrossSubjectEncoder(**FAST).fit(X).predict(X))


def test_float32_products_are_pinned_during_fit_and_restored(X):
    seen = []

    class Peek(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(torch.get_float32_matmul_precision())

    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        CrossSubjectEncoder(**FAST, callbacks=[Peek()]).fit(X)
        assert seen == ["highest", "highest"]
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision(before)


def test_targets_equal_to_the_inputs_are_stored_once():
    eps = [np.ones((2, 5, 3), np.float32), np.zeros((2, 6, 3), np.float32)]
    store = ClipStore(eps, "cpu", targets=[e.copy() for e in eps])
    assert store.Y is store.X
    other = ClipStore(eps, "cpu", targets=[eps[0], eps[1] + 1])
    assert other.Y is not other.X
    assert store.mean_square == pytest.approx(30 / 66)


def test_the_store_uses_the_training_arrays_in_place_even_read_only(recwarn):
    eps = [np.arange(2 * 7 * 3, dtype=np.float32).reshape(2, 7, 3)]
    eps[0].flags.writeable = False
    store = ClipStore(eps, "cpu")
    assert np.shares_memory(store.X[0].numpy(), eps[0])  # no copy of the training set
    x, _ = store.gather(store.clip_index(np.array([0]), np.array([2]), 4))
    np.testing.assert_array_equal(x[:, 0].numpy(), eps[0][:, 2:6])
    assert not [w for w in recwarn if "not writable" in str(w.message)]

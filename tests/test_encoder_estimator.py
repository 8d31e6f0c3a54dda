"""CrossSubjectEncoder: fitting, prediction, validation errors, early stopping, persistence."""

import io
import math
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from sklearn_crossenc import CrossSubjectEncoder, MeanOfOthers
from sklearn_crossenc.data import as_episodes
from sklearn_crossenc.encoder._callbacks import lr_factor
from sklearn_crossenc.encoder._sampling import ClipStore, sample_clip_starts
from sklearn_crossenc.metrics import pearson_score

FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=2,
            device="cpu")


def shared_signal(n_episodes=5, n_subjects=3, n_times=40, n_parcels=12, noise=0.7, seed=0,
                  lengths=None):
    """Episodes whose subjects share a low-rank signal plus independent noise (float32)."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((3, n_parcels))  # (K, C)
    eps = []
    for i in range(n_episodes):
        t = n_times if lengths is None else lengths[i]
        z = rng.standard_normal((1, t, 3))  # (1, T, K)
        x = z @ mix + noise * rng.standard_normal((n_subjects, t, n_parcels))  # (S, T, C)
        eps.append((0.5 * x).astype(np.float32))
    return eps if lengths is not None else np.stack(eps)


@pytest.fixture(scope="module")
def X4():
    return shared_signal()


@pytest.fixture(scope="module")
def fitted(X4):
    return CrossSubjectEncoder(random_state=0, **FAST).fit(X4)


# ---------------------------------------------------------------- fit / predict
def test_predict_keeps_structure_and_dtype(fitted, X4):
    pred = fitted.predict(X4)
    assert isinstance(pred, np.ndarray) and pred.shape == X4.shape and pred.dtype == np.float32
    as_list = fitted.predict(list(X4))
    assert isinstance(as_list, list) and len(as_list) == len(X4)
    np.testing.assert_allclose(np.stack(as_list), pred, rtol=1e-5, atol=1e-6)
    assert fitted.n_subjects_ == 3 and fitted.n_parcels_ == 12
    assert fitted.n_epochs_ == 2 and fitted.best_epoch_ is None
    assert fitted.net_.module_.embed_dim == 4


def test_predict_equals_module_on_each_full_episode(fitted):
    eps = shared_signal(3, lengths=[40, 25, 40], seed=3)
    pred = fitted.predict(eps)
    module = fitted.net_.module_.eval()
    (xm, xs), (ym, ys) = fitted.scaling_[:2], fitted.scaling_[2:]
    for ep, p in zip(eps, pred, strict=True):
        x = ((ep - xm[:, None]) / xs[:, None, None]).astype(np.float32)  # as the net trained
        with torch.no_grad():
            ref = module(torch.from_numpy(x)[None])[0].numpy()  # one episode, seed layout
        ref = ref * ys[:, None, None] + ym[:, None]
        assert p.shape == ep.shape
        np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-6)


def test_same_seed_same_predictions_and_different_seed_differs(X4):
    a = CrossSubjectEncoder(random_state=7, **FAST).fit(X4).predict(X4)
    b = CrossSubjectEncoder(random_state=7, **FAST).fit(X4).predict(X4)
    c = CrossSubjectEncoder(random_state=8, **FAST).fit(X4).predict(X4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_explicit_y_equal_to_x_is_the_default_and_y_is_the_target(X4):
    a = CrossSubjectEncoder(random_state=1, **FAST).fit(X4).predict(X4)
    b = CrossSubjectEncoder(random_state=1, **FAST).fit(X4, X4.copy()).predict(X4)
    np.testing.assert_array_equal(a, b)
    # Trained towards -X, the prediction anti-correlates with X.
    params = {**FAST, "max_epochs": 10, "lr": 1e-2}
    enc = CrossSubjectEncoder(random_state=1, **params).fit(X4, -X4)
    assert enc.score(X4, -X4) > 0.2
    assert enc.score(X4) < -0.2


def test_learns_shared_signal_and_score_matches_metric(X4):
    enc = CrossSubjectEncoder(random_state=0, **{**FAST, "max_epochs": 10, "lr": 1e-2}).fit(X4)
    test = shared_signal(seed=5)
    r = enc.score(test)
    assert r == pytest.approx(pearson_score(test, enc.predict(test)))
    assert r > 0.5  # the shared signal explains most of the variance
    assert enc.score_map(test).shape == (3, 12)
    assert enc.score(test, trim=5) == pytest.approx(
        pearson_score(test, enc.predict(test), trim=5))


def test_history_records_epoch_losses(fitted):
    h = fitted.history_
    assert len(h) == 2 and all(math.isfinite(v) for v in h[:, "train_loss"])
    assert fitted.net_.global_step_ == 2 * math.ceil(32 / 8)


def test_friends_tiny_beats_chance(friends_tiny):
    train, val = friends_tiny
    enc = CrossSubjectEncoder(embed_dim=8, sample_length=32, samples_per_epoch=256,
                              max_epochs=3, lr=3e-3, random_state=0, device="cpu")
    enc.fit(as_episodes(train))
    # Chance is the mean of the other subjects (about 0.23 here), not 0.
    baseline = MeanOfOthers().fit(as_episodes(train)).score(as_episodes(val))
    assert enc.score(as_episodes(val)) > baseline + 0.02


# ----------------------------------------------------------------- sampling
def test_sampler_draws_the_seeds_clips():
    lengths = [100, 120, 90, 300, 77]

    def seed_iter(rng, n, L=64):  # the notebook's _iter_shuffle, indices only
        out = []
        while True:
            for ii in rng.permutation(len(lengths)):
                out.append((int(ii), int(rng.integers(0, lengths[ii] - L + 1))))
                if len(out) >= n:
                    return out

    r1, r2 = np.random.default_rng(42), np.random.default_rng(42)
    for _ in range(3):  # epochs share the generator, as the seed's dataset does
        ep, off = sample_clip_starts(r2, lengths, 13, 64)
        assert list(zip(ep.tolist(), off.tolist(), strict=True)) == seed_iter(r1, 13)


def test_clip_store_gathers_the_right_time_points():
    eps = [np.arange(2 * t * 3, dtype=np.float32).reshape(2, t, 3) + 1000 * i
           for i, t in enumerate([7, 9])]
    store = ClipStore(eps, "cpu")
    idx = store.clip_index(np.array([1, 0]), np.array([2, 0]), 4)  # (2, 4)
    x, y = store.gather(idx)
    assert x.shape == (2, 2, 4, 3) and y is x
    np.testing.assert_array_equal(x[:, 0].numpy(), eps[1][:, 2:6])
    np.testing.assert_array_equal(x[:, 1].numpy(), eps[0][:, 0:4])


def test_lr_schedule():
    assert lr_factor("constant", 5, 10, 0.0) == 1.0
    f = [lr_factor("cosine", s, 10, 0.2) for s in range(10)]
    assert f[:2] == [0.5, 1.0] and f[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(f[1:], f[2:], strict=False))
    enc = CrossSubjectEncoder(random_state=0, lr_schedule="cosine", warmup=0.1, **FAST)
    enc.fit(shared_signal())
    assert enc.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------ early stopping
def test_early_stopping_on_held_out_episodes_restores_best(X4):
    val = shared_signal(3, seed=9)
    enc = CrossSubjectEncoder(random_state=0, validation=val,
                              **{**FAST, "max_epochs": 30, "lr": 3e-2}).fit(X4)
    r = list(enc.history_[:, "valid_pearson"])
    best = int(np.argmax(r))
    assert enc.best_epoch_ == best + 1
    # Every epoch before the last improved; the last did not (or the budget ran out).
    assert all(b > a for a, b in zip(r[:-1], r[1:-1], strict=False))
    if enc.n_epochs_ < 30:
        assert r[-1] <= r[-2] and best == len(r) - 2
    # The restored weights are the best epoch's: scoring the validation set reproduces it.
    assert enc.score(val) == pytest.approx(r[best], abs=1e-6)


def test_validation_fraction_and_patience(X4):
    eps = list(shared_signal(10, seed=2))
    enc = CrossSubjectEncoder(random_state=0, validation=0.2, patience=3,
                              **{**FAST, "max_epochs": 4}).fit(eps)
    h = enc.history_
    assert "valid_pearson" in h[-1] and "valid_loss" in h[-1]
    # patience=3 within max_epochs=4: an early stop can only come 3 epochs after the best.
    assert len(h) == 4 or len(h) == enc.best_epoch_ + 3
    with pytest.raises(ValueError, match=r"validation must be None or a number in \(0, 1\) or "
                                         r"an object with split\(\) or episodes; got 1.5"):
        CrossSubjectEncoder(validation=1.5, **FAST).fit(eps)
    with pytest.raises(ValueError, match="leaves 0 for validation"):
        CrossSubjectEncoder(validation=0.01, **FAST).fit(eps)
    with pytest.raises(ValueError, match="validation has 2 subjects but the model was fitted on 3"):
        CrossSubjectEncoder(validation=[eps[0][:2]], **FAST).fit(eps)


def test_user_callbacks_are_called(X4):
    class Count(Callback):
        def initialize(self):
            self.epochs = self.batches = 0
            return self

        def on_epoch_end(self, net, **kw):
            self.epochs += 1

        def on_batch_end(self, net, batch=None, training=None, loss=None, **kw):
            assert training and torch.isfinite(loss)
            self.batches += 1

    cb = Count()
    CrossSubjectEncoder(callbacks=[cb], random_state=0, **FAST).fit(X4)
    assert (cb.epochs, cb.batches) == (2, 2 * 4)


# ------------------------------------------------------------------- errors
def _unstandardised(monkeypatch):
    """The net trains on the data as given: fit standardises it, which would take away the
    overflow these tests provoke to exercise the loss checks."""
    from sklearn_crossenc.encoder import _plan

    monkeypatch.setattr(_plan, "standardise", lambda eps, m, s: [e.astype(np.float32)
                                                                 for e in eps])


def test_nonfinite_loss_names_epoch_and_step(X4, monkeypatch):
    _unstandardised(monkeypatch)
    huge = X4 * np.float32(1e19)  # finite input whose squared error overflows float32
    with pytest.raises(FloatingPointError, match=r"inf loss at epoch 1, step 0 of 4"):
        CrossSubjectEncoder(random_state=0, **FAST).fit(huge)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 3, 40)), "3-D array of shape"),
    (np.zeros((2, 1, 40, 12), np.float32), "at least 2 are needed"),
    (np.zeros((2, 3, 10, 12), np.float32), "fewer than the 16 this operation needs"),
    ([], "holds no episodes"),
    (np.full((2, 3, 40, 12), np.nan, np.float32), "NaN or Inf"),
    ({"s01e01a": np.zeros((3, 40, 12))}, "is a dict"),
])
def test_fit_input_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        CrossSubjectEncoder(**FAST).fit(bad)


def test_predict_errors(fitted, X4):
    with pytest.raises(NotFittedError):
        CrossSubjectEncoder().predict(X4)
    with pytest.raises(ValueError, match="has 2 subjects but the model was fitted on 3"):
        fitted.predict(X4[:, :2])
    with pytest.raises(ValueError, match="has 11 parcels but the model was fitted on 12"):
        fitted.predict(X4[..., :11])
    with pytest.raises(ValueError, match="NaN or Inf"):
        fitted.predict(np.where(X4 > 1, np.inf, X4))
    with pytest.raises(ValueError, match="X has 5 episodes but y has 4"):
        CrossSubjectEncoder(**FAST).fit(X4, X4[:4])


@pytest.mark.parametrize("params, match", [
    (dict(embed_dim=0), "CrossSubjectEncoder: embed_dim must be an integer >= 1; got 0"),
    (dict(embed_dim=True), "embed_dim must be an integer >= 1; got True"),
    (dict(batch_size=2.5), "batch_size must be an integer >= 1; got 2.5"),
    (dict(normalize="maybe"), "normalize must be True or False; got 'maybe'"),
    (dict(causal=1), "causal must be True or False; got 1"),
    (dict(optimizer="lbfgsx"), "optimizer must be None, a torch.optim optimizer class or the "
                               "name of one"),
    (dict(optimizer="sgd", optimizer__betas=(0.9, 0.9)), "SGD has no argument 'betas'"),
    (dict(encoder_kernel_size=-1), "encoder_kernel_size must be an integer >= 0; got -1"),
    (dict(shared=False, subject_specific=False), "cannot both be False"),
    (dict(lr=float("nan")), "lr must be a number >= 0; got nan"),
    (dict(lr_schedule="step"), "lr_schedule must be one of"),
    (dict(warmup=1.0), r"warmup must be a number in \[0, 1\); got 1.0"),
    (dict(causal=True, encoder_kernel_size=4), "odd encoder_kernel_size; got 4"),
    (dict(device="tpu"), "unknown device 'tpu'"),
    (dict(n_threads=0), "n_threads must be one of 'auto' or None or an integer >= 1; got 0"),
])
def test_parameter_errors(params, match, X4):
    with pytest.raises(ValueError, match=match):
        CrossSubjectEncoder(**{**FAST, **params}).fit(X4)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is absent")
def test_cuda_requested_without_cuda(X4):
    with pytest.raises(ValueError, match="CUDA is not available"):
        CrossSubjectEncoder(**{**FAST, "device": "cuda"}).fit(X4)


# -------------------------------------------------------------- options
@pytest.mark.parametrize("params", [
    dict(encoder_kernel_size=0, decoder_kernel_size=3, causal=True, normalize=True),
    dict(shared=False),
    dict(subject_specific=False),
])
def test_options_fit_and_predict(params, X4):
    enc = CrossSubjectEncoder(random_state=0, **{**FAST, **params}).fit(X4)
    assert np.isfinite(enc.predict(X4)).all()
    m = enc.net_.module_
    assert (m.shared_encoder_weight is None) == (not enc.shared)
    assert (m.subject_decoder_weight is None) == (not enc.subject_specific)


def test_n_threads_is_restored(X4):
    before = torch.get_num_threads()
    CrossSubjectEncoder(n_threads=1, random_state=0, **FAST).fit(X4)
    assert torch.get_num_threads() == before


# -------------------------------------------------------------- persistence
def test_pickle_and_joblib_round_trip(fitted, X4, tmp_path):
    expected = fitted.predict(X4)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X4), expected)
    joblib.dump(fitted, tmp_path / "enc.joblib")
    loaded = joblib.load(tmp_path / "enc.joblib")
    np.testing.assert_array_equal(loaded.predict(X4), expected)
    assert loaded.history_[-1, "train_loss"] == fitted.history_[-1, "train_loss"]


def test_saved_state_holds_no_device_tensor_outside_the_net(X4):
    enc = CrossSubjectEncoder(random_state=0, validation=[X4[0]], **FAST).fit(X4[1:])
    es = dict(enc.net_.callbacks_)["early_stopping"]
    assert es.best_model_weights_ is None  # would tie a pickle to the training device
    state = enc.__getstate__()
    assert not any(isinstance(v, torch.Tensor) for v in state.values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CPU-only machine")
def test_model_marked_cuda_loads_on_cpu_only_machine(fitted, X4):
    # A net trained on CUDA pickles with device="cuda"; skorch maps it to the CPU on load.
    enc = pickle.loads(pickle.dumps(fitted))
    enc.net_.device = "cuda"
    enc.device_ = torch.device("cuda")
    blob = pickle.dumps(enc)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        loaded = pickle.load(io.BytesIO(blob))
    assert any("no CUDA devices" in str(x.message) for x in w)
    assert str(loaded.net_.device) == "cpu" and loaded.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.predict(X4), fitted.predict(X4))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_matches_cpu_closely_and_loads_on_cpu(X4, tmp_path):
    import subprocess
    import sys

    params = {**FAST, "device": "cuda", "max_epochs": 3}
    enc = CrossSubjectEncoder(random_state=0, **params).fit(X4)
    cpu = CrossSubjectEncoder(random_state=0, **{**params, "device": "cpu"}).fit(X4)
    np.testing.assert_allclose(enc.predict(X4), cpu.predict(X4), atol=1e-3)
    path = tmp_path / "enc.joblib"
    joblib.dump(enc, path)
    np.save(tmp_path / "X.npy", X4)
    np.save(tmp_path / "expected.npy", enc.predict(X4))
    code = (
        "import joblib, numpy as np, torch; assert not torch.cuda.is_available();"
        f"e = joblib.load(r'{path}'); X = np.load(r'{tmp_path / 'X.npy'}');"
        f"np.testing.assert_allclose(e.predict(X), np.load(r'{tmp_path / 'expected.npy'}'),"
        " atol=1e-5)"
    )
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""})


def test_fast_mse_matches_torch():
    from sklearn_crossenc.encoder._forward import MSELoss

    g = torch.Generator().manual_seed(0)
    pred = torch.randn(3, 4, 50, 7, generator=g, requires_grad=True)
    target = torch.randn(3, 4, 50, 7, generator=g)
    ours = MSELoss()(pred, target)
    (g_ours,) = torch.autograd.grad(ours, pred)
    ref = torch.nn.functional.mse_loss(pred, target)
    (g_ref,) = torch.autograd.grad(ref, pred)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=0)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-6, atol=1e-9)
    t2 = target.clone().requires_grad_(True)
    (gt,) = torch.autograd.grad(MSELoss()(pred, t2), t2)
    torch.testing.assert_close(gt, -g_ref)


def test_deferred_nonfinite_check_of_the_cuda_path_names_the_first_bad_step(X4, monkeypatch):
    from sklearn_crossenc.encoder._net import CrossSubjectNet

    # The CUDA path checks the losses once per epoch; exercise it on the CPU.
    monkeypatch.setattr(CrossSubjectNet, "_check_loss_each_step", staticmethod(lambda d: False))
    _unstandardised(monkeypatch)
    X = X4.copy()
    X[3] *= np.float32(1e19)  # only clips from episode 3 overflow
    with pytest.raises(FloatingPointError, match=r"loss at epoch 1, step (\d) of 4") as info:
        CrossSubjectEncoder(random_state=0, **{**FAST, "batch_size": 1,
                                               "samples_per_epoch": 4}).fit(X)
    # The first clip drawn from episode 3 is the first bad step.
    rng = np.random.default_rng(
        [int(s) for s in np.random.RandomState(0).randint(0, 2**31 - 1, 3)][1])
    episodes, _ = sample_clip_starts(rng, [40] * 5, 4, 16)
    assert f"step {int(np.argmax(episodes == 3))} of 4" in str(info.value)


@pytest.mark.parametrize("params, module_kwargs", [
    (dict(shared=False, subject_specific=False),
     dict(with_shared_encoder=False, with_subject_encoders=False,
          with_shared_decoder=False, with_subject_decoders=False)),
    (dict(causal=True, encoder_kernel_size=4), dict(causal=True, encoder_kernel_size=4)),
    (dict(causal=True, encoder_kernel_size=1, decoder_kernel_size=6),
     dict(causal=True, encoder_kernel_size=1, decoder_kernel_size=6)),
])
def test_estimator_and_module_apply_one_architecture_rule(params, module_kwargs, X4):
    """The estimator's fit and the torch module raise the very same message."""
    from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder

    with pytest.raises(ValueError) as from_estimator:
        CrossSubjectEncoder(**{**FAST, **params}).fit(X4)
    with pytest.raises(ValueError) as from_module:
        CrossSubjectConvLinearEncoder(**module_kwargs)
    assert str(from_estimator.value) == str(from_module.value)


def test_causal_even_kernel_is_fine_where_no_subject_convolution_uses_it():
    from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder
    from sklearn_crossenc.encoder._modules import check_architecture

    check_architecture(4, 6, causal=True, encoders=(True, False), decoders=(True, False))
    check_architecture(4, 6, causal=False)
    m = CrossSubjectConvLinearEncoder(encoder_kernel_size=4, causal=True,
                                      with_subject_encoders=False)
    assert not m.enc_conv

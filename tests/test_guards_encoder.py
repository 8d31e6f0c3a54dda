"""CrossSubjectEncoder settings that no other test pinned down.

Each test names what it guards: the optimizer and its settings (replayed step by step with
``torch.optim.AdamW``), ``causal`` and ``normalize`` reaching the module, chunked inference,
``patience`` above 1, and the size of the validation hold-out.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_crossenc import CrossSubjectEncoder

FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=2,
            device="cpu")


def shared_signal(n_episodes=5, n_subjects=3, n_times=40, n_parcels=12, seed=0, lengths=None):
    """Episodes (list of (S, T_i, C) float32) sharing a low-rank signal, std about 0.5."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((3, n_parcels))  # (K, C)
    out = []
    for i in range(n_episodes):
        t = n_times if lengths is None else lengths[i]
        z = rng.standard_normal((1, t, 3))  # (1, T, K)
        x = z @ mix + 0.7 * rng.standard_normal((n_subjects, t, n_parcels))  # (S, T, C)
        out.append((0.5 * x).astype(np.float32))
    return out


class _Recorder(Callback):
    """Keeps the weights before the first step and every training batch."""

    def initialize(self):
        self.start, self.batches = None, []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kw):
        if self.start is None:
            self.start = copy.deepcopy(net.module_.state_dict())
        self.batches.append(tuple(t.clone() for t in batch))


# ------------------------------------------------------------------- optimizer
@pytest.mark.parametrize("lr, weight_decay", [(1e-2, 0.5), (3e-3, 0.0)])
def test_training_steps_are_adamw_with_the_estimators_lr_and_weight_decay(lr, weight_decay):
    """Guards: optimizer class, lr, weight decay (and AdamW's defaults) inside ``fit``."""
    rec = _Recorder()
    X = shared_signal()
    enc = CrossSubjectEncoder(**{**FAST, "samples_per_epoch": 12, "batch_size": 4,
                                 "max_epochs": 1}, lr=lr, weight_decay=weight_decay,
                              random_state=0, callbacks=[rec]).fit(X)
    assert len(rec.batches) == 3
    # Replay the three steps with torch's own AdamW and MSE on the same start and batches.
    ref = type(enc.net_.module_)(**enc.net_.get_params_for("module"))
    ref.load_state_dict(rec.start)
    opt = torch.optim.AdamW(ref.parameters(), lr=lr, weight_decay=weight_decay)
    for xb, yb in rec.batches:  # (S, b, L, C) each
        opt.zero_grad()
        torch.nn.functional.mse_loss(ref.forward_subject_major(xb), yb).backward()
        opt.step()
    got = dict(enc.net_.module_.named_parameters())
    for name, p in ref.named_parameters():
        torch.testing.assert_close(got[name], p, rtol=1e-5, atol=1e-7, msg=name)
    group = enc.net_.optimizer_.param_groups[0]
    assert isinstance(enc.net_.optimizer_, torch.optim.AdamW)
    assert (group["lr"], group["weight_decay"]) == (lr, weight_decay)


# ------------------------------------------------------------ causal, normalize
def _prediction_change_by_time(enc, X):
    """|prediction change| per time point when the input's last 5 time points change."""
    Y = [x.copy() for x in X]
    for y in Y:
        y[:, -5:] += 3.0
    a, b = enc.predict(X), enc.predict(Y)
    return np.abs(np.stack(a) - np.stack(b)).max(axis=(0, 1, 3))  # (T,)


@pytest.mark.parametrize("kernels", [dict(encoder_kernel_size=5),
                                     dict(encoder_kernel_size=0, decoder_kernel_size=3)])
def test_causal_reaches_the_module_and_hides_the_future(kernels):
    """Guards: ``causal`` passed from the estimator to the module."""
    X = shared_signal()
    T = X[0].shape[1]
    causal = CrossSubjectEncoder(**FAST, **kernels, causal=True, random_state=0).fit(X)
    assert causal.net_.module_.causal is True
    change = _prediction_change_by_time(causal, X)
    assert change[: T - 5].max() == 0.0 and change[T - 5:].min() > 0
    acausal = CrossSubjectEncoder(**FAST, **kernels, causal=False, random_state=0).fit(X)
    assert _prediction_change_by_time(acausal, X)[T - 6] > 0  # one step ahead is seen


def test_normalize_reaches_the_module():
    """Guards: ``normalize`` passed from the estimator to the module (LayerNorm on latents)."""
    X = shared_signal()
    on = CrossSubjectEncoder(**FAST, normalize=True, random_state=0).fit(X)
    off = CrossSubjectEncoder(**FAST, normalize=False, random_state=0).fit(X)
    assert isinstance(on.net_.module_.norm, torch.nn.LayerNorm) and off.net_.module_.norm is None
    # The LayerNorm's parameters were trained (they are in the optimizer).
    assert not torch.allclose(on.net_.module_.norm.weight, torch.ones(4))
    assert not np.allclose(np.stack(on.predict(X)), np.stack(off.predict(X)), atol=1e-4)


# ---------------------------------------------------------------- chunked inference
def test_chunked_prediction_equals_one_episode_at_a_time(monkeypatch):
    """Guards: chunk indexing of ``CrossSubjectNet.predict_episodes`` (chunks of 2 episodes,
    a partial last chunk, two length groups interleaved)."""
    from sklearn_crossenc.encoder import _net

    X = shared_signal(7, lengths=[40, 30, 40, 40, 30, 40, 40], seed=1)
    enc = CrossSubjectEncoder(**FAST, random_state=0).fit(X)
    S, _, C = X[0].shape
    monkeypatch.setattr(_net, "_PREDICT_CHUNK_FLOATS", 2 * S * 40 * C)  # 2 episodes of 40
    chunked = enc.predict(X)
    module = enc.net_.module_.eval()
    (xm, xs), (ym, ys) = enc.scaling_[:2], enc.scaling_[2:]
    for ep, p in zip(X, chunked, strict=True):
        x = ((ep - xm[:, None]) / xs[:, None, None]).astype(np.float32)  # as the net trained
        with torch.no_grad():
            ref = module(torch.from_numpy(x)[None])[0].numpy()  # one episode, (S, T, C)
        ref = ref * ys[:, None, None] + ym[:, None]
        np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ early stopping
def test_patience_above_one_waits_that_many_epochs_and_restores_the_best():
    """Guards: ``patience`` reaching skorch's EarlyStopping (stop = best epoch + patience)."""
    X, val = shared_signal(seed=0), shared_signal(3, seed=9)
    params = {**FAST, "max_epochs": 40, "lr": 3e-2}
    runs = {p: CrossSubjectEncoder(random_state=0, validation=val, patience=p, **params).fit(X)
            for p in (1, 3)}
    r1 = list(runs[1].history_[:, "valid_pearson"])
    r3 = list(runs[3].history_[:, "valid_pearson"])
    assert runs[3].n_epochs_ < 40  # it did stop early
    # Same seed, same training: the longer run continues the shorter one.
    np.testing.assert_allclose(r3[: len(r1)], r1, rtol=0, atol=1e-7)
    best = int(np.argmax(r3))
    assert runs[3].best_epoch_ == best + 1
    assert runs[3].n_epochs_ == runs[3].best_epoch_ + 3 > runs[1].n_epochs_
    assert runs[3].score(val) == pytest.approx(r3[best], abs=1e-6)


class _SeenData(Callback):
    def on_train_begin(self, net, X=None, y=None, **kw):
        self.train_lengths = [int(n) for n in X.store.lengths]
        self.valid_lengths = [v.shape[1] for v in X.valid]


@pytest.mark.parametrize("fraction, n_valid", [(0.2, 2), (0.3, 3), (0.5, 5), (0.9, 9)])
def test_validation_fraction_holds_out_that_many_episodes(fraction, n_valid):
    """Guards: the size of the validation hold-out, and that it is disjoint from training."""
    lengths = [20 + i for i in range(10)]  # every episode recognisable by its length
    X = shared_signal(10, lengths=lengths, seed=2)
    seen = _SeenData()
    CrossSubjectEncoder(**{**FAST, "max_epochs": 1}, validation=fraction, random_state=0,
                        callbacks=[seen]).fit(X)
    assert len(seen.valid_lengths) == n_valid
    assert sorted(seen.train_lengths + seen.valid_lengths) == lengths

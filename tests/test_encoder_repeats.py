"""fit_repeats: the repeats of one configuration trained as one stacked model.

Every repeat must equal its own sequential ``fit`` up to rounding: same seeds, clips,
validation split, early-stopping decisions, history and (for a warm start) optimizer
state; a model that stops early must leave the others unchanged.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.encoder import _repeats, fit_repeats

BASE = dict(embed_dim=8, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=3,
            device="cpu")
TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((6, 1, 40, 12))
    return (shared + 0.8 * rng.standard_normal((6, 3, 40, 12))).astype("float32")


def _sequential(base, X, states, y=None):
    return [clone(base).set_params(random_state=rs).fit(X, y) for rs in states]


def _assert_same(stacked, sequential, X):
    for a, b in zip(stacked, sequential, strict=True):
        np.testing.assert_allclose(a.predict(X), b.predict(X), **TOL)
        assert a.n_epochs_ == b.n_epochs_ and a.best_epoch_ == b.best_epoch_
        np.testing.assert_allclose(a.history_[:, "train_loss"], b.history_[:, "train_loss"],
                                   rtol=1e-5)


@pytest.mark.parametrize("params", [
    {},
    dict(lr_schedule="cosine", warmup=0.2, normalize=True, decoder_kernel_size=3),
    dict(encoder_kernel_size=0, shared=False, lr=1e-2),
], ids=["seed-like", "cosine-normalize-decoder-conv", "subject-only"])
def test_each_repeat_equals_its_sequential_fit(X, params):
    base = CrossSubjectEncoder(**BASE, **params)
    states = [0, 1, 2, 3]
    _assert_same(fit_repeats(base, X, states, stacked=True), _sequential(base, X, states), X)


def test_early_stopping_of_one_repeat_leaves_the_others_unchanged(X):
    # Each repeat holds out its own episodes and stops at its own epoch.
    base = CrossSubjectEncoder(**{**BASE, "max_epochs": 12}, validation=0.34, lr=0.1)
    states = [0, 1, 2, 3, 4]
    stacked, sequential = fit_repeats(base, X, states, stacked=True), _sequential(base, X, states)
    assert len({f.n_epochs_ for f in sequential}) > 1  # they do stop at different epochs
    assert all(f.n_epochs_ < 12 for f in sequential)
    _assert_same(stacked, sequential, X)
    for a, b in zip(stacked, sequential, strict=True):
        np.testing.assert_allclose(a.history_[:, "valid_pearson"],
                                   b.history_[:, "valid_pearson"], rtol=1e-5)


def test_explicit_targets_and_given_validation_episodes(X):
    base = CrossSubjectEncoder(**BASE, validation=X[:2], patience=2)
    states = [5, 6]
    y = -X
    _assert_same(fit_repeats(base, X, states, y=y, stacked=True),
                 _sequential(base, X, states, y=y), X)


def test_results_are_normal_estimators_and_the_base_is_untouched(X, tmp_path):
    base = CrossSubjectEncoder(**BASE)
    fits = fit_repeats(base, X, [0, np.random.RandomState(3)], stacked=True)
    assert not hasattr(base, "net_") and base.random_state is None
    assert fits[0].random_state == 0 and fits[0].n_subjects_ == 3
    again = pickle.loads(pickle.dumps(fits[0]))
    np.testing.assert_array_equal(again.predict(X), fits[0].predict(X))
    assert isinstance(fits[1].score(X), float)


def test_warm_start_continues_each_repeat_like_a_longer_sequential_fit(X):
    # The optimizer state each repeat takes away makes continuing it exact.
    base = CrossSubjectEncoder(**{**BASE, "max_epochs": 2}, warm_start=True, lr=1e-2)
    fits = fit_repeats(base, X, [0, 1], stacked=True)
    for f in fits:
        f.set_params(max_epochs=1).fit(X)
    longer = _sequential(CrossSubjectEncoder(**{**BASE, "max_epochs": 3}, lr=1e-2), X, [0, 1])
    for a, b in zip(fits, longer, strict=True):
        np.testing.assert_allclose(a.predict(X), b.predict(X), **TOL)


@pytest.mark.parametrize("params, stacked, reason", [
    (dict(callbacks=[Callback()]), True, "user callbacks"),
    (dict(optimizer=torch.optim.SGD), True, "only AdamW"),
    (dict(verbose=1), True, "verbose"),
    ({}, False, "stacked=False"),
    ({}, "auto", "on the CPU"),
])
def test_sequential_fallback_and_its_reason(X, params, stacked, reason, monkeypatch):
    base = CrossSubjectEncoder(**BASE, **params)
    assert reason in _repeats.sequential_reason(base, stacked)

    def refuse(*args, **kwargs):
        raise AssertionError("stacked training used")

    monkeypatch.setattr(_repeats, "_Repeats", refuse)
    fits = fit_repeats(base, X, [0, 1], stacked=stacked)
    np.testing.assert_array_equal(fits[1].predict(X), _sequential(base, X, [1])[0].predict(X))


def test_stacked_auto_stacks_on_cuda_and_bad_values_are_refused(monkeypatch):
    assert _repeats.sequential_reason(CrossSubjectEncoder(**BASE), True) is None
    monkeypatch.setattr(_repeats, "resolve_device", lambda d: torch.device("cuda"))
    assert _repeats.sequential_reason(CrossSubjectEncoder(**BASE), "auto") is None
    with pytest.raises(ValueError, match="stacked must be 'auto', True or False; got 'yes'"):
        _repeats.sequential_reason(CrossSubjectEncoder(**BASE), "yes")


def _unstandardised(monkeypatch):
    """The net trains on the data as given (fit standardises it, taking the overflow away)."""
    from sklearn_crossenc.encoder import _plan

    monkeypatch.setattr(_plan, "standardise", lambda eps, m, s: [e.astype(np.float32)
                                                                 for e in eps])


def test_nonfinite_loss_names_the_repeat(X, monkeypatch):
    _unstandardised(monkeypatch)
    base = CrossSubjectEncoder(**BASE)
    with pytest.raises(FloatingPointError,
                       match=r"repeat 0 \(random_state=0\): .*inf loss at epoch 1, step 0"):
        fit_repeats(base, X * np.float32(1e19), [0, 1], stacked=True)


def test_deferred_check_of_the_cuda_path_names_the_first_bad_step_and_repeat(X, monkeypatch):
    import re

    from sklearn_crossenc.encoder._net import CrossSubjectNet

    # On CUDA the losses are checked once per epoch; exercise that path on the CPU.
    monkeypatch.setattr(CrossSubjectNet, "_check_loss_each_step", staticmethod(lambda d: False))
    _unstandardised(monkeypatch)
    X = X.copy()
    X[2] *= np.float32(1e19)  # clips of episode 2 overflow: twice per epoch here
    base = CrossSubjectEncoder(**{**BASE, "batch_size": 1, "samples_per_epoch": 12})
    first = []  # each repeat's first bad step, from its sequential fit
    for rs in (0, 1):
        with pytest.raises(FloatingPointError) as seq:
            clone(base).set_params(random_state=rs).fit(X)
        first.append(int(re.search(r"step (\d+) of 12", str(seq.value))[1]))
    k = int(np.argmin(first))  # the earliest bad step over both repeats
    with pytest.raises(FloatingPointError,
                       match=rf"repeat {k} \(random_state={k}\): .* step {first[k]} of 12"):
        fit_repeats(base, X, [0, 1], stacked=True)


def test_ctrl_c_during_training_reaches_the_caller(X, monkeypatch):
    calls = []

    def interrupt(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return None

    monkeypatch.setattr(_repeats._Repeats, "_set_lr", interrupt)
    with pytest.raises(KeyboardInterrupt, match="during epoch 1"):
        fit_repeats(CrossSubjectEncoder(**BASE), X, [0, 1], stacked=True)


@pytest.mark.gpu
def test_stacked_repeats_on_cuda_equal_their_sequential_fits(X):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    base = CrossSubjectEncoder(**{**BASE, "device": "cuda", "max_epochs": 8},
                               validation=0.34, lr=0.1)
    assert _repeats.sequential_reason(base, "auto") is None  # "auto" stacks on CUDA
    stacked, sequential = fit_repeats(base, X, [0, 1, 2]), _sequential(base, X, [0, 1, 2])
    for a, b in zip(stacked, sequential, strict=True):  # CUDA kernels differ in the last bits
        np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-3, atol=1e-4)
        assert a.device_.type == "cuda" and a.n_epochs_ == b.n_epochs_

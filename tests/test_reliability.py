"""Bad input and faults: the rows of docs/reliability.md that no other test file covers.

Each test here is named in the table of ``docs/reliability.md``;
``test_reliability_table_names_existing_tests`` keeps the table and the tests in step.
"""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from sklearn_crossenc import CrossSubjectEncoder, CrossSubjectRidge, MeanOfOthers
from sklearn_crossenc.cli import main
from sklearn_crossenc.data import load_stimulus_features
from sklearn_crossenc.encoder._sampling import ClipStore, sample_clip_starts

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=32, batch_size=8, max_epochs=3,
            device="cpu", random_state=0)


@pytest.fixture(scope="module")
def X4():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 1, 40, 3))  # (E, 1, T, K) shared latent
    x = z @ rng.standard_normal((3, 12)) + 0.5 * rng.standard_normal((4, 3, 40, 12))
    return x.astype(np.float32)  # (E, S, T, C)


# ------------------------------------------------------------------ estimator input errors
ESTIMATORS = {
    "encoder": lambda: CrossSubjectEncoder(**FAST),
    "ridge": lambda: CrossSubjectRidge(alphas=(1.0, 10.0), cv=2),
    "mean": lambda: MeanOfOthers(),
}
_ep = np.zeros((3, 40, 12), np.float32)  # (S, T, C)
BAD_FIT_INPUTS = {
    "3-D array": (np.zeros((3, 40, 12)), r"X is a 3-D array of shape \(3, 40, 12\); expected 4-D"),
    "5-D array": (np.zeros((1, 2, 3, 40, 12)), "got an array with ndim=5"),
    "2-D episode": ([np.zeros((40, 12))], r"X\[0\] has ndim=2 \(shape \(40, 12\)\)"),
    "one subject": (np.zeros((2, 1, 40, 12)), r"X has 1 subject\(s\); at least 2 are needed"),
    "empty list": ([], "X holds no episodes"),
    "NaN": ([_ep, np.where(np.eye(40, 12, dtype=bool), np.nan, _ep)],
            r"X\[1\] contains 36 NaN or Inf values"),
    "Inf": ([np.full((3, 40, 12), np.inf, np.float32)], r"X\[0\] contains 1440 NaN or Inf"),
    "mixed dtypes": ([_ep, _ep.astype(object)], r"X mixes episode dtypes \['float32', 'object'\]"),
    "strings": ([np.full((3, 40, 12), "a")], r"X\[0\] has dtype <U1"),
    "subjects differ": ([_ep, _ep[:2]], r"X\[1\] has 2 subjects and 12 parcels but X\[0\] has 3"),
}


@pytest.mark.parametrize("case", BAD_FIT_INPUTS)
@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_rejects_bad_fit_input_the_same_way(name, case):
    X, match = BAD_FIT_INPUTS[case]
    est = ESTIMATORS[name]()
    with pytest.raises(ValueError, match=match):
        est.fit(X)
    with pytest.raises(NotFittedError):
        est.predict(_ep[None])


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_rejects_predict_input_that_does_not_match_the_fit(name, X4):
    est = ESTIMATORS[name]().fit(X4)
    with pytest.raises(ValueError, match="X has 2 subjects but the model was fitted on 3"):
        est.predict(X4[:, :2])
    with pytest.raises(ValueError, match="X has 13 parcels but the model was fitted on 12"):
        est.predict(np.concatenate([X4, X4[..., :1]], axis=-1))
    with pytest.raises(ValueError, match=r"X\[0\] contains 1 NaN or Inf"):
        est.predict([np.where(np.arange(X4[0].size).reshape(X4[0].shape) == 5, np.nan, X4[0])])
    with pytest.raises(ValueError, match="X is a 3-D array"):
        est.predict(X4[0])


def test_episode_shorter_than_sample_length(X4):
    with pytest.raises(ValueError, match=r"X\[2\] has 15 time points, fewer than the 16"):
        CrossSubjectEncoder(**FAST).fit([X4[0], X4[1], X4[2, :, :15]])


# ---------------------------------------------------------------------- diverging fit
def test_diverging_fit_stops_with_a_clear_error_and_stores_nothing(X4):
    enc = CrossSubjectEncoder(**{**FAST, "lr": 1e30})
    with pytest.raises(FloatingPointError,
                       match=r"^nan loss at epoch 1, step 1 of 4 \(global step 1\); lower lr "
                             r"\(now 1e\+30\) or check the input scale\.$"):
        enc.fit(X4)
    with pytest.raises(NotFittedError):
        enc.predict(X4)


# ------------------------------------------------------------------- interrupted fit
class _CtrlC(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) at a given batch or epoch end."""

    def __init__(self, batch=None, epoch=None):
        self.batch, self.epoch = batch, epoch

    def initialize(self):
        self.batches_ = self.epochs_ = 0
        return self

    def on_batch_end(self, net, **kwargs):
        self.batches_ += 1
        if self.batches_ == self.batch:
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        if self.epochs_ == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("batch, message", [
    (1, "training interrupted during epoch 1"),  # the first step
    (6, "training interrupted during epoch 2"),  # half way through epoch 2
])
def test_interrupted_fit_propagates_and_leaves_the_estimator_not_fitted(X4, batch, message):
    threads = torch.get_num_threads()
    enc = CrossSubjectEncoder(**{**FAST, "n_threads": 1, "callbacks": [_CtrlC(batch=batch)]})
    with pytest.raises(KeyboardInterrupt, match=message):
        enc.fit(X4)
    with pytest.raises(NotFittedError):
        enc.predict(X4)
    assert not hasattr(enc, "history_") and not hasattr(enc, "n_epochs_")
    assert torch.get_num_threads() == threads


def test_stop_at_an_epoch_end_keeps_the_completed_epochs(X4):
    """skorch callbacks (EarlyStopping) stop training by raising at an epoch's end."""
    enc = CrossSubjectEncoder(**{**FAST, "callbacks": [_CtrlC(epoch=2)]}).fit(X4)
    assert enc.n_epochs_ == 2 and all("train_loss" in row for row in enc.history_)
    two = CrossSubjectEncoder(**{**FAST, "max_epochs": 2}).fit(X4)
    np.testing.assert_array_equal(enc.predict(X4), two.predict(X4))


def test_interrupted_refit_keeps_the_previous_fit_whole(X4):
    enc = CrossSubjectEncoder(**FAST).fit(X4)
    before = enc.predict(X4)
    state = {k: v.clone() for k, v in enc.net_.module_.state_dict().items()}
    enc.set_params(callbacks=[_CtrlC(batch=3)], random_state=1)
    with pytest.raises(KeyboardInterrupt):
        enc.fit(X4)
    np.testing.assert_array_equal(enc.predict(X4), before)
    after = enc.net_.module_.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert enc.n_epochs_ == 3 and all("train_loss" in row for row in enc.history_)


# --------------------------------------------------------------------------- determinism
def test_same_random_state_same_everything_on_cpu(X4):
    params = dict(FAST, validation=0.25, lr_schedule="cosine", warmup=0.2, random_state=11)
    a = CrossSubjectEncoder(**params).fit(X4)
    b = CrossSubjectEncoder(**params).fit(X4)
    np.testing.assert_array_equal(a.predict(X4), b.predict(X4))
    for key in ("train_loss", "valid_loss", "valid_pearson"):
        assert a.history_[:, key] == b.history_[:, key]
    assert a.best_epoch_ == b.best_epoch_


def test_fit_in_another_thread_gives_the_same_predictions(X4):
    """A web server or a thread pool fitting the model gets the same numbers."""
    params = dict(FAST, n_threads=1, random_state=5)
    here = CrossSubjectEncoder(**params).fit(X4).predict(X4)
    out = {}
    t = threading.Thread(target=lambda: out.update(p=CrossSubjectEncoder(**params).fit(X4)
                                                   .predict(X4)))
    t.start()
    t.join()
    np.testing.assert_array_equal(out["p"], here)


# ------------------------------------------------------------------------ clip sampling
_lengths = st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6)


@settings(max_examples=80, deadline=None)
@given(lengths=_lengths, sample_length=st.integers(1, 12), n_samples=st.integers(1, 40),
       n_subjects=st.integers(2, 4), seed=st.integers(0, 2**32 - 1))
def test_property_clips_lie_inside_their_episode_at_the_same_times_for_all_subjects(
        lengths, sample_length, n_samples, n_subjects, seed):
    lengths = [t + sample_length - 1 for t in lengths]  # every episode long enough
    episodes = []  # list of (S, T_e, 3): channel 0 the episode, 1 the time, 2 the subject
    for e, T in enumerate(lengths):
        arr = np.empty((n_subjects, T, 3), np.float32)
        arr[..., 0] = e
        arr[..., 1] = np.arange(T)[None, :]
        arr[..., 2] = np.arange(n_subjects)[:, None]
        episodes.append(arr)
    ep, off = sample_clip_starts(np.random.default_rng(seed), lengths, n_samples, sample_length)
    assert ep.shape == off.shape == (n_samples,)
    T = np.asarray(lengths)[ep]
    assert np.all((off >= 0) & (off + sample_length <= T))
    # The seed draws whole permutations: no episode twice within one pass over them.
    E = len(lengths)
    for k in range(0, n_samples, E):
        block = ep[k: k + E]
        assert len(set(block.tolist())) == len(block)
    store = ClipStore(episodes, "cpu")
    x, y = store.gather(store.clip_index(ep, off, sample_length))  # (S, n, L, 3) each
    assert x.shape == (n_subjects, n_samples, sample_length, 3) and y is x
    x = x.numpy()
    times = off[:, None] + np.arange(sample_length)  # (n, L)
    np.testing.assert_array_equal(x[..., 0], np.broadcast_to(ep[:, None], x.shape[:3]))
    np.testing.assert_array_equal(x[..., 1], np.broadcast_to(times, x.shape[:3]))
    np.testing.assert_array_equal(
        x[..., 2], np.broadcast_to(np.arange(n_subjects)[:, None, None], x.shape[:3]))


@settings(max_examples=30, deadline=None)
@given(lengths=_lengths, seed=st.integers(0, 2**32 - 1))
def test_property_same_generator_state_same_clips(lengths, seed):
    a = sample_clip_starts(np.random.default_rng(seed), lengths, 25, 1)
    b = sample_clip_starts(np.random.default_rng(seed), lengths, 25, 1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_sampler_rejects_an_episode_shorter_than_the_clip():
    with pytest.raises(ValueError, match="episode 1 has 7 time points, fewer than "
                                         "sample_length=8"):
        sample_clip_starts(np.random.default_rng(0), [9, 7, 20], 4, 8)


# --------------------------------------------------------------------- pickled features
class _Payload:
    """Unpickling it creates a file: stands for arbitrary code in a pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickled_features_run_no_code_without_the_flag(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "features_visual.npy"
    np.save(path, {"s01e01a": np.zeros((3, 2)), "x": _Payload(marker)}, allow_pickle=True)
    with pytest.raises(ValueError, match="is a pickled .npy dict; unpickling runs code"):
        load_stimulus_features(path, "visual")
    with pytest.raises(ValueError, match="is a pickled .npy dict"):
        load_stimulus_features(path, "visual", runs=["s01e01a"], allow_pickle=False)
    assert not marker.exists()
    # The payload is live: with the explicit flag it runs (then fails as a feature table).
    with pytest.raises(ValueError, match="entry 'x' has shape"):
        load_stimulus_features(path, "visual", allow_pickle=True)
    assert marker.exists()


# ------------------------------------------------------------------------ atomic output
def test_grid_results_write_failing_half_way_leaves_no_file(synthetic_root, tmp_path,
                                                            monkeypatch, capsys):
    import sklearn_crossenc._io as io_mod

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io_mod.os, "fsync", full_disk)  # after the bytes went to the file
    out = tmp_path / "o"
    argv = ["grid", "--data-dir", str(synthetic_root), "--out", str(out), "--quick", "--quiet",
            "--param", "embed_dim=2", "--cv", "2", "--split", "kfold", "--seasons", "1"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err == "crossenc grid: error: [Errno 28] No space left on device"
    # Neither grid_results.csv nor a temporary file: the folder pre-flight created is empty,
    # so it is removed again.
    assert not out.exists()


# ----------------------------------------------------------------- data folder read only
def _snapshot(root: Path) -> dict:
    """Every path under root -> (sha256 or 'dir', size, mtime_ns, inode)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st_ = p.stat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(root))] = (digest, st_.st_size, st_.st_mtime_ns, st_.st_ino)
    return out


@pytest.mark.slow
def test_data_folder_byte_for_byte_unchanged_by_the_commands(synthetic_root, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(synthetic_root, data)
    before = _snapshot(data)
    assert main(["compare", "--data-dir", str(data), "--out", str(tmp_path / "c"), "--quick",
                 "--quiet", "--no-figures"]) == 0
    assert main(["grid", "--data-dir", str(data), "--out", str(tmp_path / "g"), "--quick",
                 "--quiet", "--param", "embed_dim=2", "--cv", "2", "--seasons", "1", "2"]) == 0
    capsys.readouterr()
    assert _snapshot(data) == before
    assert (tmp_path / "c" / "report.json").is_file()
    assert (tmp_path / "g" / "grid_results.csv").is_file()


# ------------------------------------------------------------------ the table stays true
def _table_tests(doc: Path) -> list[tuple[str, str]]:
    rows = [ln for ln in doc.read_text().splitlines()
            if ln.startswith("|") and not ln.startswith(("| Input or fault |", "|---"))]
    refs = []
    for row in rows:
        found = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", row)
        assert found, f"a row of {doc.name} names no test: {row}"
        refs += found
    return refs


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
            and n.name.startswith("test_")}


def test_reliability_table_names_existing_tests():
    doc = ROOT / "docs" / "reliability.md"
    refs = _table_tests(doc)
    assert len(refs) >= 30
    missing = [f"{f}::{name}" for f, name in refs
               if not (ROOT / f).is_file() or name not in _test_names(ROOT / f)]
    assert not missing, f"{doc.name} names tests that do not exist: {missing}"
    # and every test of this file is in the table
    here = {name for f, name in refs if f == "tests/test_reliability.py"}
    assert _test_names(Path(__file__)) - here == {"test_reliability_table_names_existing_tests"}

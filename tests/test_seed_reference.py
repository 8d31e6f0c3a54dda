"""Tests of the plain-PyTorch seed reference (benchmarks/seed_reference.py) and the
analytic FLOP count of the training benchmark."""

from __future__ import annotations

import bench_training  # noqa: E402  (benchmarks/ is on pytest's pythonpath)
import numpy as np
import pytest
import seed_reference as ref  # noqa: E402
import torch

from sklearn_crossenc.data import load_friends, load_movie10
from sklearn_crossenc.metrics import pearson_map, pearson_r, pearson_score

# Tiny runs are 60-100 TRs long, so clips are shorter than the seed's 64.
TINY = dict(epochs=2, n_train_samples=64, sample_length=32, embed_dim=8,
            encoder_kernel_size=7, device="cpu")


@pytest.fixture(scope="module")
def tiny_splits(synthetic_root):
    return ref.load_seed_splits(synthetic_root)


@pytest.fixture(scope="module")
def tiny_run(tiny_splits):
    return ref.run_reference(data=tiny_splits, **TINY)


def test_loaders_agree_with_project_loaders(synthetic_root, tiny_splits):
    train = load_friends(synthetic_root, seasons=range(1, 6))
    assert list(tiny_splits["train"]) == list(train)
    for k, v in train.items():
        np.testing.assert_array_equal(tiny_splits["train"][k], v)
    movie = load_movie10(synthetic_root, runs=[1])
    ours = tiny_splits["movie10_run1"]
    assert [k[0] for k in ours] == sorted(k[0] for k in ours)  # the seed's sorted order
    assert len(ours) == len(movie)
    ref_sorted = sorted(ours.values(), key=lambda a: (a.shape, a.sum()))
    proj_sorted = sorted(movie.values(), key=lambda a: (a.shape, a.sum()))
    for a, b in zip(ref_sorted, proj_sorted, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(a.dtype == np.float32 and a.shape[0] == 4 for a in ours.values())


def test_reference_runs_and_reports(tiny_run):
    r = tiny_run
    assert len(r["history"]) == 2 and r["n_clips"] == 2 * 64
    times = [h["train_time_s"] for h in r["history"]]
    assert 0 < times[0] < times[1] == pytest.approx(r["train_time_s"])
    assert r["clips_per_s"] == pytest.approx(r["n_clips"] / r["train_time_s"])
    for name in ("friends_s6", "movie10_run1"):
        assert r["final"][name] == r["history"][-1][name]
        assert 0.0 < r["final"][name] < 1.0
    assert r["device"] == "cpu"


def test_metric_equals_pearson_map(tiny_run, tiny_splits):
    model = tiny_run["model"]
    val = tiny_splits["friends_s6"]
    loader = torch.utils.data.DataLoader(
        ref.Algonauts2025Dataset(val, sample_length=None, shuffle=False), batch_size=1)
    acc, metrics = ref.validate(model=model, val_loader=loader, device=torch.device("cpu"),
                                subjects=[1, 2, 3, 5])
    preds = ref.predict_episodes(model, val, torch.device("cpu"))
    expected = pearson_map(list(val.values()), preds)  # (S, C)
    got = np.stack([metrics[f"acc_map_sub-{s}"] for s in (1, 2, 3, 5)])
    assert got.shape == expected.shape == (4, 48)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert acc == pytest.approx(pearson_score(list(val.values()), preds), abs=1e-6)
    assert acc == pytest.approx(tiny_run["final"]["friends_s6"], abs=1e-12)


def test_pearsonr_score_is_the_project_metric():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 50, 7))
    b[:, 3] = 2.0  # a constant column: 0 in both
    np.testing.assert_allclose(ref.pearsonr_score(a, b), pearson_r(a, b), atol=1e-12)


def test_reference_is_deterministic(tiny_splits, tiny_run):
    again = ref.run_reference(data=tiny_splits, **TINY)
    assert again["final"] == tiny_run["final"]


def test_sampler_visits_each_episode_once_per_permutation():
    data = {f"r{i}": np.zeros((2, 10 + i, 3), np.float32) for i in range(5)}
    ds = ref.Algonauts2025Dataset(data, sample_length=4, num_samples=10, seed=42)
    names = [name for name, clip in ds]
    assert len(names) == 10
    assert sorted(names[:5]) == sorted(data) and sorted(names[5:]) == sorted(data)
    # The seed's generator: a permutation, then one offset per clip, in this order.
    rng = np.random.default_rng(42)
    order = rng.permutation(5)
    assert names[:5] == [f"r{i}" for i in order]


def test_leave_one_out_output_ignores_own_input():
    torch.manual_seed(0)
    model = ref.CrossSubjectConvLinearEncoderV2(num_subjects=3, fmri_dim=5, embed_dim=4,
                                                encoder_kernel_size=3, decoder_kernel_size=3)
    x = torch.randn(2, 3, 8, 5)
    y = model(x)
    x2 = x.clone()
    x2[:, 1] = torch.randn(2, 8, 5)
    y2 = model(x2)
    torch.testing.assert_close(y2[:, 1], y[:, 1])
    assert not torch.allclose(y2[:, 0], y[:, 0])


def test_errors(tmp_path, tiny_splits):
    with pytest.raises(FileNotFoundError, match="fMRI file not found: .*sub-01"):
        ref.run_reference(tmp_path, **TINY)
    with pytest.raises(ValueError, match="fewer than sample_length=200"):
        ref.run_reference(data=tiny_splits, **dict(TINY, sample_length=200))
    with pytest.raises(ValueError, match="no 'movie10_run1' split"):
        ref.run_reference(data={"train": tiny_splits["train"],
                                "friends_s6": tiny_splits["friends_s6"]}, **TINY)
    with pytest.raises(ValueError, match="exactly one of data_dir and data"):
        ref.run_reference(tmp_path, data=tiny_splits)
    with pytest.raises(ValueError, match="Invalid friends run 'xyz'"):
        ref.parse_friends_run("xyz")


@pytest.mark.parametrize("ke,kd,shared,subject", [(7, 0, True, True), (0, 5, True, True),
                                                  (3, 3, False, True), (0, 0, True, False)])
def test_analytic_flops_match_torch_count(ke, kd, shared, subject):
    bench = bench_training
    S, L, C, D = 3, 16, 40, 8
    torch.manual_seed(0)
    model = ref.CrossSubjectConvLinearEncoderV2(
        num_subjects=S, fmri_dim=C, embed_dim=D, encoder_kernel_size=ke,
        decoder_kernel_size=kd, with_shared_encoder=shared, with_shared_decoder=shared,
        with_subject_encoders=subject, with_subject_decoders=subject)
    x = torch.randn(5, S, L, C)
    counted = bench.counted_flops_per_clip(model, x)
    analytic = bench.seed_flops_per_clip(S, L, C, D, ke, kd, shared, subject)["train"]
    assert counted == analytic


def _encoder_class():
    mod = pytest.importorskip("sklearn_crossenc.encoder")
    if not hasattr(mod, "CrossSubjectEncoder"):
        pytest.skip("sklearn_crossenc.encoder.CrossSubjectEncoder is not available yet")
    return mod.CrossSubjectEncoder


@pytest.mark.slow
def test_encoder_matches_reference_accuracy(tiny_splits):
    """CrossSubjectEncoder at the seed configuration (shorter clips and fewer steps for the
    tiny data) reaches the reference's accuracy within 0.01 on both evaluation sets."""
    encoder_cls = _encoder_class()
    epochs, spe, length = 5, 400, 32
    r = ref.run_reference(data=tiny_splits, epochs=epochs, n_train_samples=spe,
                          sample_length=length, device="cpu")
    est = encoder_cls(embed_dim=64, encoder_kernel_size=7, decoder_kernel_size=0, lr=3e-4,
                      weight_decay=1e-3, batch_size=16, sample_length=length,
                      samples_per_epoch=spe, max_epochs=epochs, random_state=3315,
                      device="cpu")
    est.fit(list(tiny_splits["train"].values()))
    for name in ("friends_s6", "movie10_run1"):
        episodes = list(tiny_splits[name].values())
        ours = pearson_score(episodes, est.predict(episodes))
        assert r["final"][name] > 0.2  # both actually learned something
        assert abs(ours - r["final"][name]) < 0.01, (name, ours, r["final"][name])


def test_time_to_accuracy_picks_first_epoch_within_tolerance():
    bench = bench_training
    hist = [{"epoch": 0, "train_time_s": 1.0, "friends_s6": 0.30},
            {"epoch": 1, "train_time_s": 2.0, "friends_s6": 0.396},
            {"epoch": 2, "train_time_s": 3.0, "friends_s6": 0.41}]
    assert bench.time_to_accuracy(hist, 0.40) == (2.0, 1)  # 0.396 >= 0.40 - 0.005
    assert bench.time_to_accuracy(hist, 0.42) == (None, None)
    ref_run = {"final": {"friends_s6": 0.40}, "train_time_s": 3.0, "history": hist}
    fast = {"history": [{"epoch": 0, "train_time_s": 0.5, "friends_s6": 0.408}]}
    summary = bench.time_to_accuracy_summary(ref_run, fast, fast)
    assert summary["speedup"] == pytest.approx(3.0 / 0.5)
    assert summary["reference_best"] == 0.41 and summary["best_reference_s"] == 3.0
    assert summary["best_project_tta_speedup"] == pytest.approx(3.0 / 0.5)

"""The synthetic dataset: layout, quirks, determinism, ground truth, calibration, safety."""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest

from sklearn_crossenc.data import (
    _generative,
    _networks,
    _synthetic,
    ensure_synthetic_dataset,
    is_synthetic,
    load_friends,
    load_movie10,
    load_stimulus_features,
    load_true_signal,
    make_synthetic_dataset,
)
from sklearn_crossenc.data._paths import MISSING_RUNS, SUBJECTS, friends_path, movie10_path
from sklearn_crossenc.metrics import pearson_map


def _all_arrays(root):
    out = {}
    for s in SUBJECTS:
        for path in (friends_path(root, s), movie10_path(root, s)):
            with h5py.File(path, "r") as f:
                for k in f:
                    out[path.name, k] = f[k][()]
    return out


def mean_of_others_r(data):
    """Leave-one-subject-out mean-of-others Pearson r, averaged over parcels and subjects."""
    X = list(data.values())
    preds = [(ep.sum(0, keepdims=True) - ep) / (ep.shape[0] - 1) for ep in X]
    return float(pearson_map(X, preds).mean())


# --- layout ------------------------------------------------------------------------------
def test_layout_names_keys_and_storage(synthetic_root):
    key_re = {
        "friends": re.compile(r"ses-\d{3}_task-s\d{2}e\d{2}[a-d]"),
        "movie10": re.compile(r"ses-\d{3}_task-(bourne|wolf)\d{2}|"
                              r"ses-\d{3}_task-(figures|life)\d{2}_run-[12]"),
    }
    for s in SUBJECTS:
        for kind, path in (("friends", friends_path(synthetic_root, s)),
                           ("movie10", movie10_path(synthetic_root, s))):
            assert path.is_file()
            assert path.parent == synthetic_root / "fmri" / f"sub-{s:02d}" / "func"
            with h5py.File(path, "r") as f:
                assert len(f) > 0
                for key in f:
                    assert key_re[kind].fullmatch(key), key
                    d = f[key]
                    assert d.ndim == 2 and d.dtype == np.float32 and d.shape[1] == 48
                    assert d.compression == "gzip"
    meta = json.loads((synthetic_root / "synthetic.json").read_text())
    assert meta["scale"] == "tiny" and meta["seed"] == 0 and meta["n_parcels"] == 48
    assert meta["params"]["n_latent"] == _generative.PARAMS.n_latent
    assert is_synthetic(synthetic_root)
    for m in ("visual", "audio", "language"):
        assert (synthetic_root / "stimulus_features" / f"features_{m}.h5").is_file()


def test_missing_runs_and_splits(synthetic_root):
    for s in SUBJECTS:
        with h5py.File(friends_path(synthetic_root, s), "r") as f:
            names = {k.split("task-")[1] for k in f}
        for other, runs in MISSING_RUNS.items():
            for run in runs:
                assert (run in names) == (other != s), (s, run)
        assert {"s04e23a", "s04e23b", "s04e23c", "s04e23d", "s06e15c"} <= names
    with h5py.File(movie10_path(synthetic_root, 1), "r") as f:
        tasks = sorted(k.split("task-")[1] for k in f)
    assert tasks == ["bourne01", "figures01_run-1", "figures01_run-2", "life01_run-1",
                     "life01_run-2", "wolf01"]


def test_lengths_differ_by_at_most_two_between_subjects(synthetic_root):
    lengths = {}
    for s in SUBJECTS:
        with h5py.File(friends_path(synthetic_root, s), "r") as f:
            for k in f:
                lengths.setdefault(k.split("task-")[1], []).append(f[k].shape[0])
    spreads = [max(v) - min(v) for v in lengths.values()]
    assert max(spreads) <= 2 and max(spreads) >= 1
    assert all(60 <= n <= 100 for v in lengths.values() for n in v)


def test_values_centred_not_unit_variance(synthetic_root):
    with h5py.File(friends_path(synthetic_root, 2), "r") as f:
        for k in list(f)[:5]:
            x = f[k][()]
            assert np.abs(x.mean(axis=0)).max() < 1e-3  # centred per run (up to rounding)
            std = x.std(axis=0)
            assert 0.35 < std.mean() < 0.65 and std.max() < 1.0


# --- determinism -------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_differs(synthetic_root, tmp_path):
    again = make_synthetic_dataset(tmp_path / "again", scale="tiny", random_state=0)
    a, b = _all_arrays(synthetic_root), _all_arrays(again)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k
    other = _all_arrays(make_synthetic_dataset(tmp_path / "other", scale="tiny", random_state=1))
    common = [k for k in a if k in other and a[k].shape == other[k].shape]
    assert common and not any(np.array_equal(a[k], other[k]) for k in common)


def test_n_parcels_option(tmp_path):
    root = make_synthetic_dataset(tmp_path / "d", scale="tiny", n_parcels=7, random_state=3)
    data = load_friends(root, seasons=[1])
    assert {v.shape[2] for v in data.values()} == {7}


# --- ground truth and calibration --------------------------------------------------------
def test_truth_matches_data_shapes_and_ceiling_above_mean_of_others(synthetic_root, friends_tiny):
    _, val = friends_tiny
    truth = load_true_signal(synthetic_root, val, "friends")
    assert list(truth) == list(val)
    assert all(truth[k].shape == val[k].shape and truth[k].dtype == np.float32 for k in val)
    oracle = pearson_map(list(val.values()), list(truth.values())).mean()
    mo = mean_of_others_r(val)
    assert 0.15 < mo < 0.35
    assert 0.45 < oracle < 0.7 and oracle > mo + 0.15


def test_truth_is_the_signal_part(synthetic_root):
    """Residual data - truth is the noise: uncorrelated with the truth of another subject."""
    data = load_friends(synthetic_root, seasons=[1, 2, 3])
    truth = load_true_signal(synthetic_root, data, "friends")
    X = np.concatenate(list(data.values()), axis=1)  # (S, T, C)
    Y = np.concatenate(list(truth.values()), axis=1)
    resid = X - Y
    # Signal explains a fraction of the variance between 0 and 1 in every parcel.
    frac = Y.var(axis=1) / X.var(axis=1)
    assert 0.0 < frac.min() and frac.max() < 1.0 and 0.2 < frac.mean() < 0.6
    # Residual of sub-01 vs truth of sub-02: no relation beyond chance.
    r = pearson_map([resid[None, 0]], [Y[None, 1]])
    assert abs(r.mean()) < 0.05


def test_part_of_the_signal_is_private_to_each_subject(synthetic_root):
    """Others' noise-free signals predict a subject's signal only partly (private share)."""
    data = load_friends(synthetic_root)
    truth = list(load_true_signal(synthetic_root, data, "friends").values())
    half = len(truth) // 2

    def xy(eps):
        X = np.concatenate([np.concatenate([np.roll(ep[1:], d, axis=1) for d in range(3)], axis=0)
                            .transpose(1, 0, 2).reshape(ep.shape[1], -1) for ep in eps])
        return X, np.concatenate([ep[0] for ep in eps])

    Xa, Ya = xy(truth[:half])
    Xb, Yb = xy(truth[half:])
    coef = np.linalg.solve(Xa.T @ Xa + 1e-2 * np.eye(Xa.shape[1]), Xa.T @ Ya)
    r2 = 1 - ((Yb - Xb @ coef) ** 2).sum(0) / ((Yb - Yb.mean(0)) ** 2).sum(0)
    shared = 1 - _generative.PARAMS.private_share
    assert 0.2 < np.median(r2) < shared + 0.1


def test_repeated_viewing_repeats_stimulus_with_fresh_noise(synthetic_root):
    data = load_movie10(synthetic_root, movies=["figures"])
    truth = load_true_signal(synthetic_root, data, "movie10")
    a, b = data["figures01"], data["figures01_run-2"]
    ta, tb = truth["figures01"], truth["figures01_run-2"]
    n = min(a.shape[1], b.shape[1])
    # Same stimulus: the signals agree (up to centring over slightly different lengths).
    r_truth = pearson_map([ta[:, :n]], [tb[:, :n]]).mean()
    r_data = pearson_map([a[:, :n]], [b[:, :n]]).mean()
    assert r_truth > 0.99
    assert 0.15 < r_data < 0.9  # fresh noise


def test_movie10_differs_in_distribution(synthetic_root):
    friends = load_friends(synthetic_root)
    movie = load_movie10(synthetic_root)
    sd_f = np.concatenate(list(friends.values()), axis=1).std(axis=1).mean()
    sd_m = np.concatenate(list(movie.values()), axis=1).std(axis=1).mean()
    assert sd_m > sd_f + 0.02  # Movie10-only latent directions add variance
    with h5py.File(synthetic_root / "ground_truth" / "truth.h5", "r") as t:
        K = _generative.PARAMS.n_latent
        assert np.abs(t["latent/s01e01a"][:, K:]).max() == 0
        assert t["latent/bourne01"][:, K:].std() > 0.1


def test_load_true_signal_errors(synthetic_root, friends_tiny, tmp_path):
    _, val = friends_tiny
    (tmp_path / "real").mkdir()
    with pytest.raises(ValueError, match="not a synthetic dataset .* no ground truth"):
        load_true_signal(tmp_path / "real", val, "friends")
    with pytest.raises(ValueError, match="kind must be 'friends' or 'movie10', got 'tv'"):
        load_true_signal(synthetic_root, val, "tv")
    with pytest.raises(ValueError, match=r"expected \(2, time, parcels\)"):
        load_true_signal(synthetic_root, val, "friends", subjects=(1, 2))
    with pytest.raises(ValueError, match="has no friends run 's09e01a'"):
        load_true_signal(synthetic_root, {"s09e01a": val["s06e01a"]}, "friends")
    with pytest.raises(ValueError, match="non-empty loader dict"):
        load_true_signal(synthetic_root, {}, "friends")
    too_long = {"s06e01a": np.zeros((4, 500, 48), np.float32)}
    with pytest.raises(ValueError, match="does not match"):
        load_true_signal(synthetic_root, too_long, "friends")


def test_truth_with_subject_subset_and_order(synthetic_root):
    full = load_friends(synthetic_root, seasons=[6])
    part = load_friends(synthetic_root, subjects=(5, 2), seasons=[6])
    t_full = load_true_signal(synthetic_root, full, "friends")
    t_part = load_true_signal(synthetic_root, part, "friends", subjects=(5, 2))
    assert "s06e03a" in part and "s06e03a" not in full  # sub-03 lacks it
    compared = 0
    for k in part:
        assert t_part[k].shape == part[k].shape
        if k in full and part[k].shape[1] == full[k].shape[1]:
            np.testing.assert_array_equal(t_part[k], t_full[k][[3, 1]])
            compared += 1
    assert compared >= 3


def test_data_are_the_stored_signal_plus_regenerated_noise(synthetic_root):
    """The oracle is exact: every stored array is, to the byte, the noise-free signal that
    ``load_true_signal`` rebuilds from truth.h5 plus the run's own noise stream, centred and
    rounded as the writer does."""
    p = _generative.PARAMS
    models = _generative._subject_models(0, 48, p)
    data = load_friends(synthetic_root, seasons=[6])
    truth = load_true_signal(synthetic_root, data, "friends")
    with h5py.File(friends_path(synthetic_root, 3), "r") as f:
        key = next(k for k in f if k.endswith("s06e15c"))
        stored = f[key][()]  # (T_full, C) of sub-03
    n = stored.shape[0]
    with h5py.File(synthetic_root / "ground_truth" / "truth.h5", "r") as t:
        np.testing.assert_array_equal(t["subjects/sub-03/weights"][()],
                                      models[3].weights.astype(np.float32))
        latent = _synthetic.full_latent(t, "s06e15c", 3)
    signal = _generative.subject_signal(latent, models[3].weights, models[3].lag, p.pad, n)
    x = signal + _generative._noise(_generative._rng(0, "noise", "friends", 3, "s06e15c", 1),
                                    n, models[3], p)
    x -= x.mean(axis=0)
    assert _generative._quantize(x, p.mantissa_bits).tobytes() == stored.tobytes()
    # load_true_signal returns that signal (truncated to the loader's common length).
    T = truth["s06e15c"].shape[1]
    np.testing.assert_array_equal(truth["s06e15c"][2], signal[:T].astype(np.float32))


# --- spatial structure -------------------------------------------------------------------
def _signal_fraction(models, p):
    """Per subject and parcel, the share of variance that is signal: (S, C)."""
    out = []
    for m in models.values():
        sig = (m.weights[:p.n_latent] ** 2).sum(0) + (m.weights[-p.n_private_latent:] ** 2).sum(0)
        noise = (m.noise_loadings ** 2).sum(0) + m.noise_parcel ** 2
        out.append(sig / (sig + noise))
    return np.array(out)


def test_parcel_layout_is_schaefer_ordered():
    NETWORKS, network_counts, parcel_layout = (
        _networks.NETWORKS, _networks.network_counts, _networks.parcel_layout)
    hemi, net, rank = parcel_layout(1000)
    assert (hemi[:500] == 0).all() and (hemi[500:] == 1).all()
    counts = network_counts(500)
    assert counts.sum() == 500 and counts.tolist() == [78, 93, 57, 55, 32, 55, 130]
    for side in (slice(0, 500), slice(500, 1000)):  # grouped by network, in Schaefer's order
        assert np.array_equal(net[side], np.repeat(np.arange(len(NETWORKS)), counts))
        assert (np.diff(rank[side])[np.diff(net[side]) == 0] > 0).all()
    assert np.array_equal(net[:500], net[500:]) and np.array_equal(rank[:500], rank[500:])
    hemi, net, _ = parcel_layout(7)  # odd: the right hemisphere has one more
    assert hemi.tolist() == [0, 0, 0, 1, 1, 1, 1]


def test_reliability_is_smooth_over_the_brain_and_differs_between_networks():
    """Signal share (what the oracle r is the square root of): close for neighbouring
    parcels of a network and for left-right homologues, unlike shuffled pairs; higher at
    a network's hub than at its far end (clearly so from the occipital pole, Heschl's
    gyrus and the temporal language areas); different between networks (visual high,
    limbic low)."""
    NETWORKS, parcel_layout = _networks.NETWORKS, _networks.parcel_layout
    p = _generative.PARAMS
    f = _signal_fraction(_generative._subject_models(0, 1000, p), p).mean(axis=0)  # (C,)
    logit = np.log(f / (1 - f))
    hemi, net, rank = parcel_layout(1000)
    same = np.flatnonzero((net[:-1] == net[1:]) & (hemi[:-1] == hemi[1:]))
    neighbours = np.corrcoef(logit[same], logit[same + 1])[0, 1]
    shuffled = np.random.default_rng(0).permutation(1000)
    assert neighbours > 0.7 and abs(np.corrcoef(logit, logit[shuffled])[0, 1]) < 0.15
    assert np.corrcoef(logit[:500], logit[500:])[0, 1] > 0.7  # homologues
    means = {name: f[net == k].mean() for k, name in enumerate(NETWORKS)}
    between = np.var([f[net == k].mean() for k in range(7)]) / f.var()
    assert between > 0.3 and means["Vis"] > 0.5 > 0.2 > means["Limbic"]
    centred = logit - np.array([logit[net == k].mean() for k in range(7)])[net]
    assert np.corrcoef(rank, centred)[0, 1] < -0.3  # within a network: high at the hub
    for k in (0, 1, 6):  # visual, auditory (SomMot) and language (Default) gradients
        cols = net == k
        assert f[cols & (rank < 0.2)].mean() > f[cols & (rank > 0.8)].mean() + 0.1


@pytest.mark.slow
def test_neighbouring_parcels_of_the_atlas_have_similar_reliability(synthetic_root):
    """On the synthetic parcellation itself: a parcel's nearest parcel (by centroid) has a
    similar signal share, far more than a random parcel; visual parcels lie at the back."""
    pytest.importorskip("nilearn")
    from scipy.spatial import cKDTree

    from sklearn_crossenc.data import make_synthetic_atlas

    p = _generative.PARAMS
    _, centroids = make_synthetic_atlas(1000, resolution=2)
    f = _signal_fraction(_generative._subject_models(0, 1000, p), p).mean(axis=0)
    nearest = cKDTree(centroids).query(centroids, k=2)[1][:, 1]
    assert np.corrcoef(f, f[nearest])[0, 1] > 0.6
    _, net, _ = _networks.parcel_layout(1000)
    y = [centroids[:500][net[:500] == k, 1].mean() for k in range(7)]  # left hemisphere
    assert y[0] < -65 and y[0] == min(y)  # Vis: at the back


# --- stimulus features carry the latent --------------------------------------------------
def test_features_shapes_and_lengths(synthetic_root):
    with h5py.File(synthetic_root / "ground_truth" / "truth.h5", "r") as t:
        base = {k: t[f"latent/{k}"].shape[0] - _generative.PARAMS.pad - 1 for k in t["latent"]}
    for m, dims in (("visual", 250), ("audio", 20), ("language", 250)):
        feats = load_stimulus_features(synthetic_root, m)
        assert set(feats) == set(base)
        for k, f in feats.items():
            assert f.dtype == np.float32 and f.shape[1] == dims
            assert abs(f.shape[0] - base[k]) <= 1


def test_features_predict_the_latent_only_when_aligned(synthetic_root):
    """Audio features (chunks t-3..t-8) explain part of the latent of their own run."""
    feats = load_stimulus_features(synthetic_root, "audio")
    pad = _generative.PARAMS.pad
    with h5py.File(synthetic_root / "ground_truth" / "truth.h5", "r") as t:
        latents = {k: t[f"latent/{k}"][pad:] for k in feats}
    names = sorted(feats)

    def design(shift):
        X, Y = [], []
        for i, k in enumerate(names):
            f = feats[names[(i + shift) % len(names)]]
            n = min(len(f), len(latents[k])) - 1
            lags = [np.roll(f[:n], d, axis=0) for d in range(3, 9)]
            X.append(np.concatenate(lags, axis=1)[8:])
            Y.append(latents[k][8:n])
        return np.concatenate(X), np.concatenate(Y)

    def r2(shift):
        X, Y = design(shift)
        half = len(X) // 2
        coef, *_ = np.linalg.lstsq(X[:half], Y[:half], rcond=None)
        res = Y[half:] - X[half:] @ coef
        return 1 - res.var(axis=0).sum() / Y[half:].var(axis=0).sum()

    assert r2(0) > 0.1 and r2(0) > r2(1) + 0.1


# --- writing safely ----------------------------------------------------------------------
def test_refuses_non_synthetic_folder(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="is not a synthetic dataset .*refusing"):
            make_synthetic_dataset(root, scale="tiny", overwrite=overwrite)
    assert [p.name for p in root.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is not a folder"):
        make_synthetic_dataset(tmp_path / "file", scale="tiny")


def test_existing_same_settings_is_reused_other_settings_need_overwrite(tmp_path):
    root = make_synthetic_dataset(tmp_path / "d", scale="tiny", n_parcels=6)
    stamp = (root / "synthetic.json").stat().st_mtime_ns
    assert make_synthetic_dataset(root, scale="tiny", n_parcels=6) == root
    assert (root / "synthetic.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="random_state=0, n_parcels=6; pass overwrite=True"):
        make_synthetic_dataset(root, scale="tiny", n_parcels=6, random_state=2)
    make_synthetic_dataset(root, scale="tiny", n_parcels=6, random_state=2, overwrite=True)
    assert json.loads((root / "synthetic.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no temp folders left


def test_seed_is_a_deprecated_alias_of_random_state(tmp_path):
    with pytest.warns(FutureWarning, match=r"make_synthetic_dataset\(seed=...\) is deprecated"):
        root = make_synthetic_dataset(tmp_path / "d", scale="tiny", seed=3)
    assert json.loads((root / "synthetic.json").read_text())["seed"] == 3
    with pytest.warns(FutureWarning, match=r"ensure_synthetic_dataset\(seed=...\)"):
        assert ensure_synthetic_dataset(root, scale="tiny", seed=3) == (root, False)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="seed must be a non-neg"):
        make_synthetic_dataset(tmp_path / "e", scale="tiny", seed=-1)
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="pass random_state only"):
        make_synthetic_dataset(tmp_path / "e", scale="tiny", random_state=1, seed=3)
    assert not (tmp_path / "e").exists()


def test_empty_existing_folder_is_used(tmp_path):
    (tmp_path / "d").mkdir()
    root = make_synthetic_dataset(tmp_path / "d", scale="tiny", n_parcels=4)
    assert is_synthetic(root)


def test_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(out, *args, **kwargs):
        (out / "partial.h5").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(_synthetic, "_generate", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        make_synthetic_dataset(tmp_path / "d", scale="tiny")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": "huge"}, "scale must be one of \\['full', 'small', 'tiny'\\], got 'huge'"),
    ({"random_state": -1}, "random_state must be a non-negative integer, got -1"),
    ({"random_state": 1.5}, "random_state must be a non-negative integer"),
    ({"n_parcels": 1}, "n_parcels must be an integer >= 2, got 1"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    kwargs.setdefault("scale", "tiny")
    with pytest.raises(ValueError, match=match):
        make_synthetic_dataset(tmp_path / "d", **kwargs)
    assert not (tmp_path / "d").exists()


def test_is_synthetic(tmp_path):
    assert not is_synthetic(tmp_path)
    (tmp_path / "synthetic.json").write_text("{not json")
    assert not is_synthetic(tmp_path)
    (tmp_path / "synthetic.json").write_text('{"generator": "someone else"}')
    assert not is_synthetic(tmp_path)


def test_progress_bar(tmp_path, capsys):
    make_synthetic_dataset(tmp_path / "d", scale="tiny", n_parcels=4, progress=True)
    assert "synthetic runs" in capsys.readouterr().err


@pytest.mark.slow
def test_small_scale_calibration(tmp_path):
    """On 'small' (1000 parcels, real-like lengths) the targets of the brief hold."""
    root = make_synthetic_dataset(tmp_path / "small", scale="small")
    s6 = load_friends(root, seasons=[6])
    mv = load_movie10(root, runs=[1])
    mo_s6, mo_mv = mean_of_others_r(s6), mean_of_others_r(mv)
    assert 0.2 < mo_s6 < 0.3 and mo_mv < mo_s6
    for data, kind in ((s6, "friends"), (mv, "movie10")):
        truth = load_true_signal(root, data, kind)
        oracle = pearson_map(list(data.values()), list(truth.values())).mean()
        assert 0.5 < oracle < 0.7
    assert all(v.shape[2] == 1000 and 370 <= v.shape[1] <= 600 for v in s6.values())
    assert len(load_friends(root)) == 45 and len(load_movie10(root)) == 12


def test_full_scale_plan_has_the_real_runs_and_lengths():
    """The 'full' plan (not generated here: ~2.5 GB) matches ALGONAUTS.md's counts."""
    plan = _generative._plan(_generative.SCALES["full"], seed=0)
    friends = [p for p in plan if p[0] == "friends"]
    movie = [p for p in plan if p[0] == "movie10"]
    assert len(friends) == 292 and len(movie) == 61
    common = [p for p in friends if len(p[4]) == 4]
    assert sum(p[1] < "s06" for p in common) == 238 and sum(p[1] >= "s06" for p in common) == 49
    lengths = np.array([p[3] for p in friends])
    assert lengths.min() >= 427 and lengths.max() <= 591 and 450 < lengths.mean() < 490
    seg_len = {p[1]: p[3] for p in movie}
    assert seg_len["bourne10"] == 379 and seg_len["figures12"] == 372
    assert seg_len["life05"] == 390 and seg_len["wolf17"] == 496
    others = [n for s, n in seg_len.items() if s not in ("bourne10", "figures12", "life05",
                                                          "wolf17")]
    assert min(others) >= 401 and max(others) <= 410
    assert sum(p[2] == 2 for p in movie) == 17  # figures01-12 and life01-05 seen twice


def test_ground_truth_of_an_older_generator_is_refused_clearly(tmp_path):
    import json
    import shutil

    from sklearn_crossenc.data import load_friends, load_true_signal, make_synthetic_dataset

    root = make_synthetic_dataset(tmp_path / "ds", scale="tiny")
    old = tmp_path / "old"
    shutil.copytree(root, old)
    meta = json.loads((old / "synthetic.json").read_text())
    meta["version"] = 1
    (old / "synthetic.json").write_text(json.dumps(meta))
    data = load_friends(old, seasons=[6])
    with pytest.raises(ValueError, match="generator version 1; this package reads version 4"):
        load_true_signal(old, data, "friends")


def test_ensure_synthetic_dataset_reuses_current_replaces_stale_refuses_foreign(tmp_path):
    import json

    from sklearn_crossenc.data import ensure_synthetic_dataset

    root, generated = ensure_synthetic_dataset(tmp_path / "cache", scale="tiny")
    assert generated and (root / "synthetic.json").is_file()
    stamp = (root / "synthetic.json").stat().st_mtime_ns
    assert ensure_synthetic_dataset(root, scale="tiny") == (root, False)
    assert (root / "synthetic.json").stat().st_mtime_ns == stamp
    meta = json.loads((root / "synthetic.json").read_text())
    (root / "synthetic.json").write_text(json.dumps(dict(meta, version=1)))
    assert ensure_synthetic_dataset(root, scale="tiny") == (root, True)
    assert json.loads((root / "synthetic.json").read_text())["version"] == meta["version"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a synthetic dataset"):
        ensure_synthetic_dataset(foreign, scale="tiny")
    assert (foreign / "notes.txt").read_text() == "keep me"

"""The comparison job: numbers equal the estimators' scores and independent computations."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from sklearn_crossenc.data import load_friends, load_movie10, load_true_signal
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
from sklearn_crossenc.jobs._registry import QUICK_ENCODER, resolve_models
from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.ridge import feature_episodes

ALL = ["CrossSubjectEncoder", "CrossSubjectRidge", "FeatureRidge", "MeanOfOthers"]
EVAL_SETS = SEED_PROTOCOL.eval_sets


def _digest(root) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).rglob("*")) if p.is_file()
    }


def _corr_columns(a, b):
    """Pearson r of each column, via np.corrcoef (independent of the package's metric)."""
    return np.array([np.corrcoef(a[:, c], b[:, c])[0, 1] for c in range(a.shape[1])])


@pytest.fixture(scope="module")
def eval_data(synthetic_root):
    return {
        "train": load_friends(synthetic_root, seasons=[1, 2, 3, 4, 5]),
        "friends_s6": load_friends(synthetic_root, seasons=[6]),
        "movie10_run1": load_movie10(synthetic_root, runs=[1]),
    }


@pytest.fixture(scope="module")
def quick(synthetic_root):
    before = _digest(synthetic_root)
    messages = []
    result = run_comparison(synthetic_root, quick=True, random_state=0, device="cpu",
                            log=messages.append, return_estimators=True)
    result["_log"] = messages
    result["_digest_before"] = before
    return result


def test_every_model_ran(quick, eval_data):
    assert list(quick["models"]) == ALL
    assert all(m["status"] == "ok" for m in quick["models"].values())
    assert quick["eval_sets"] == EVAL_SETS
    for key, data in eval_data.items():
        info = quick["data"]["sets"][key]
        assert info["runs"] == list(data)
        assert info["n_times"] == sum(v.shape[1] for v in data.values())
    assert quick["data"]["subject_labels"] == ["sub-01", "sub-02", "sub-03", "sub-05"]
    assert quick["data"]["synthetic"] is True
    assert quick["config"]["quick"] is True and quick["config"]["device"] == "cpu"


def test_numbers_equal_the_estimators_scores(quick, eval_data, synthetic_root):
    est = quick["estimators"]
    for key in EVAL_SETS:
        X = list(eval_data[key].values())
        for name in ("CrossSubjectEncoder", "CrossSubjectRidge", "MeanOfOthers"):
            sc = quick["models"][name]["scores"][key]
            assert sc["mean"] == pytest.approx(est[name].score(X), abs=1e-9)
            per = est[name].score_map(X).mean(axis=1)
            np.testing.assert_allclose(list(sc["per_subject"].values()), per, atol=1e-9)
            np.testing.assert_allclose(quick["maps"][name][key], est[name].score_map(X),
                                       atol=1e-9)
        feats = feature_episodes(synthetic_root, eval_data[key])
        sc = quick["models"]["FeatureRidge"]["scores"][key]
        assert sc["mean"] == pytest.approx(est["FeatureRidge"].score(feats, X), abs=1e-9)


def test_mean_of_others_by_hand(quick, eval_data):
    """Per-subject means of MeanOfOthers against a hand computation with np.corrcoef."""
    for key in EVAL_SETS:
        eps = list(eval_data[key].values())
        data = np.concatenate(eps, axis=1).astype(np.float64)  # (S, T, C)
        n_sub = data.shape[0]
        for s, label in enumerate(quick["data"]["subject_labels"]):
            others = (data.sum(axis=0) - data[s]) / (n_sub - 1)  # (T, C)
            expected = _corr_columns(data[s], others).mean()
            got = quick["models"]["MeanOfOthers"]["scores"][key]["per_subject"][label]
            assert got == pytest.approx(expected, abs=1e-5)


def test_oracle_ceiling_independent(quick, eval_data, synthetic_root):
    kinds = {"friends_s6": "friends", "movie10_run1": "movie10"}
    for key, kind in kinds.items():
        data = eval_data[key]
        truth = load_true_signal(synthetic_root, data, kind)
        d = np.concatenate(list(data.values()), axis=1)  # (S, T, C)
        t = np.concatenate([truth[k] for k in data], axis=1)  # (S, T, C)
        expected = [_corr_columns(d[s], t[s]).mean() for s in range(d.shape[0])]
        got = list(quick["ceiling"][key]["per_subject"].values())
        np.testing.assert_allclose(got, expected, atol=1e-5)
        assert quick["ceiling"][key]["mean"] == pytest.approx(np.mean(expected), abs=1e-5)
        # the ceiling bounds what any model reaches on this synthetic data
        for name in ALL:
            assert quick["models"][name]["scores"][key]["mean"] < quick["ceiling"][key]["mean"]


def test_maps_and_summaries_agree(quick):
    for name in ALL + ["ceiling"]:
        for key in EVAL_SETS:
            m = quick["maps"][name][key]
            assert m.shape == (4, 48)
            scores = quick["ceiling"][key] if name == "ceiling" else (
                quick["models"][name]["scores"][key])
            assert scores["mean"] == pytest.approx(m.mean(axis=1).mean())
            assert scores["median_parcel"] == pytest.approx(np.median(m.mean(axis=0)))


def test_configuration_timings_environment(quick, eval_data):
    enc = quick["models"]["CrossSubjectEncoder"]["params"]
    shortest = min(v.shape[1] for v in eval_data["train"].values())
    assert enc["max_epochs"] == QUICK_ENCODER["max_epochs"]
    assert enc["samples_per_epoch"] == QUICK_ENCODER["samples_per_epoch"]
    assert enc["random_state"] == 0 and enc["device"] == "cpu"
    assert enc["sample_length"] == min(64, shortest)
    assert enc["embed_dim"] == 64 and enc["encoder_kernel_size"] == 7  # seed defaults
    for name, m in quick["models"].items():
        assert m["fit_s"] >= 0 and m["eval_s"] >= 0
        assert quick["timings"]["fit_s"][name] == m["fit_s"]
    assert quick["timings"]["total_s"] >= sum(quick["timings"]["fit_s"].values())
    env = quick["environment"]
    import torch

    assert env["packages"]["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert env["device"]["type"] == "cpu" and env["cpu_count"] >= 1


def test_logs_through_callback_only(synthetic_root, capsys):
    messages = []
    run_comparison(synthetic_root, models=["mean"], log=messages.append)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert any("MeanOfOthers" in m for m in messages)


def test_data_folder_unchanged(quick, synthetic_root, tmp_path):
    from sklearn_crossenc.report import write_report

    write_report(quick, tmp_path / "out")
    assert _digest(synthetic_root) == quick["_digest_before"]


def test_subset_and_trim(synthetic_root, eval_data):
    from sklearn_crossenc.ridge import MeanOfOthers

    result = run_comparison(synthetic_root, models=["mean"], trim=5)
    assert list(result["models"]) == ["MeanOfOthers"]
    X = list(eval_data["friends_s6"].values())
    expected = MeanOfOthers().fit(list(eval_data["train"].values())).score(X, trim=5)
    assert result["models"]["MeanOfOthers"]["scores"]["friends_s6"]["mean"] == pytest.approx(
        expected, abs=1e-9
    )
    assert result["config"]["trim"] == 5


def test_real_layout_without_truth_or_features(synthetic_root, tmp_path):
    """A folder with only the fMRI files (like the real release): no ceiling, no FeatureRidge."""
    root = tmp_path / "release"
    shutil.copytree(Path(synthetic_root) / "fmri", root / "fmri")
    result = run_comparison(root, models=["feature", "mean"])
    assert result["data"]["synthetic"] is False
    assert result["ceiling"] is None and "ceiling" not in result["maps"]
    assert result["models"]["FeatureRidge"]["status"] == "skipped"
    assert "stimulus features" in result["models"]["FeatureRidge"]["reason"]
    assert result["models"]["MeanOfOthers"]["status"] == "ok"


def test_missing_data_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_comparison(tmp_path / "missing", models=["mean"])


def test_resolve_models():
    assert [s.label for s in resolve_models(None)] == ALL
    assert [s.label for s in resolve_models(["mean", "ENCODER", "CrossSubjectRidge"])] == [
        "CrossSubjectEncoder", "CrossSubjectRidge", "MeanOfOthers"
    ]
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        resolve_models(["svm"])
    with pytest.raises(ValueError, match="no model selected"):
        resolve_models([])


def test_progress_bars_on_stderr_and_estimator_picklable(synthetic_root, eval_data, capsys):
    import pickle

    result = run_comparison(synthetic_root, models=["encoder"], quick=True, progress=True,
                            return_estimators=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "CrossSubjectEncoder" in captured.err and "epoch" in captured.err
    assert "loading friends" in captured.err
    est = result["estimators"]["CrossSubjectEncoder"]
    restored = pickle.loads(pickle.dumps(est))
    X = list(eval_data["movie10_run1"].values())
    for a, b in zip(est.predict(X), restored.predict(X), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.gpu
def test_compare_on_cuda(synthetic_root):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    result = run_comparison(synthetic_root, models=["encoder", "mean"], device="cuda",
                            quick=True, return_estimators=True)
    assert result["config"]["device"] == "cuda"
    assert result["environment"]["device"]["type"] == "cuda"
    sc = result["models"]["CrossSubjectEncoder"]["scores"]["friends_s6"]["mean"]
    X = list(load_friends(synthetic_root, seasons=[6]).values())
    assert sc == pytest.approx(result["estimators"]["CrossSubjectEncoder"].score(X), abs=1e-9)


def test_ctrl_c_during_training_is_not_swallowed(synthetic_root, monkeypatch):
    """skorch stops training quietly on Ctrl-C; the comparison must stop, not report."""
    import os
    import signal

    from sklearn_crossenc.encoder import EpochProgressBar

    def interrupt(self, net, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(EpochProgressBar, "on_epoch_end", interrupt)
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        run_comparison(synthetic_root, models=["encoder", "mean"], quick=True, progress=True)
    assert signal.getsignal(signal.SIGINT) is previous


def test_early_stopping_holds_out_runs_and_keeps_the_best_epoch(synthetic_root):
    result = run_comparison(synthetic_root, models=["encoder"], quick=True, early_stopping=0.25,
                            refit=False, return_estimators=True)
    est = result["estimators"]["CrossSubjectEncoder"]
    assert est.validation == 0.25
    assert result["models"]["CrossSubjectEncoder"]["params"]["validation"] == 0.25
    assert result["config"]["early_stopping"] == 0.25
    history = est.history_[:, "valid_pearson"]
    assert len(history) == est.n_epochs_ and est.best_epoch_ is not None
    assert history[est.best_epoch_ - 1] == max(history)
    with pytest.raises(ValueError, match="early_stopping must be 'folds' .* got 1.5"):
        run_comparison(synthetic_root, models=["mean"], early_stopping=1.5)


# ---------------------------------------------------------------------------- evaluation (issue 10)


def test_intervals_and_pairwise_equal_the_evaluation_api(quick, eval_data):
    """The job's intervals and paired tests equal a direct call on the fitted models."""
    from sklearn_crossenc.evaluation import bootstrap_scores, paired_comparison, run_statistics

    ev = quick["evaluation"]
    est = quick["estimators"]
    assert ev["n_resamples"] == 2000 and ev["method"] == "t-jackknife"
    for key in EVAL_SETS:
        y = list(eval_data[key].values())
        stats = {}
        for name in ("CrossSubjectEncoder", "CrossSubjectRidge", "MeanOfOthers"):
            stats[name] = run_statistics(y, est[name].predict(y))
        feats = feature_episodes(quick["config"]["data_dir"], eval_data[key])
        stats["FeatureRidge"] = run_statistics(
            y, est["FeatureRidge"].predict(feats, lengths=[e.shape[1] for e in y]))
        cis = bootstrap_scores(stats, n_resamples=2000, random_state=0)
        for name, ci in cis.items():
            got = ev["intervals"][key][name]
            assert (got["low"], got["high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
            assert got["low"] < quick["models"][name]["scores"][key]["mean"] < got["high"]
        rows = {r["b"]: r for r in ev["pairwise"][key]}
        assert sorted(rows) == ["CrossSubjectRidge", "FeatureRidge", "MeanOfOthers"]
        for b, row in rows.items():
            c = paired_comparison(stats["CrossSubjectEncoder"], stats[b], n_resamples=2000,
                                  random_state=0)
            assert row["difference"] == pytest.approx(c.difference, abs=1e-9)
            assert row["difference"] == pytest.approx(
                quick["models"]["CrossSubjectEncoder"]["scores"][key]["mean"]
                - quick["models"][b]["scores"][key]["mean"], abs=1e-6)
            assert (row["p_value"], row["n_better"], row["n_worse"]) == pytest.approx(
                (c.p_value, c.n_better, c.n_worse))
            diff = quick["maps"][f"CrossSubjectEncoder - {b}"][key]
            np.testing.assert_array_equal(diff["significant"], c.parcel_significant)


def test_noise_ceiling_from_the_repeated_viewings(quick, synthetic_root, eval_data):
    """Movie10: sqrt of the split-half r of figures/life, and each model's fraction of it
    (its r on the first viewings over the mean ceiling of the reliable parcels)."""
    from sklearn_crossenc.evaluation import noise_ceiling

    nc_job = quick["evaluation"]["noise_ceiling"]
    assert nc_job["friends_s6"]["status"] == "unavailable"
    assert "no repeated viewings" in nc_job["friends_s6"]["reason"]
    nc = nc_job["movie10_run1"]
    repeats = load_movie10(synthetic_root, movies=["figures", "life"], runs=[1, 2])
    direct = noise_ceiling(repeats)
    rel = direct.reliable
    per_subject = (direct.ceiling * rel).sum(1) / rel.sum(1)
    np.testing.assert_allclose(list(nc["per_subject"].values()), per_subject, atol=1e-12)
    np.testing.assert_allclose(quick["maps"]["noise ceiling"]["movie10_run1"],
                               np.where(rel, direct.ceiling, np.nan), atol=1e-12)
    # fraction of ceiling of MeanOfOthers by hand: r on the first viewings (np.corrcoef)
    firsts = [a for a, _ in direct.pairs]
    data = np.concatenate([eval_data["movie10_run1"][k] for k in firsts], axis=1)  # (S, T, C)
    data = data.astype(np.float64)
    fractions = []
    for s in range(data.shape[0]):
        others = (data.sum(axis=0) - data[s]) / (data.shape[0] - 1)
        r = _corr_columns(data[s], others)
        fractions.append((r * rel[s]).sum() / (direct.ceiling[s] * rel[s]).sum())
    got = nc["models"]["MeanOfOthers"]
    np.testing.assert_allclose(list(got["fraction_per_subject"].values()), fractions, atol=1e-5)
    assert got["fraction"] == pytest.approx(np.mean(fractions), abs=1e-5)


def test_noise_ceiling_tracks_the_oracle(quick):
    """On synthetic data the estimated ceiling agrees with the oracle one (both per parcel,
    Movie10), as docs/evaluation.md reports for the small set."""
    est = quick["maps"]["noise ceiling"]["movie10_run1"]  # (S, C), NaN: not reliable
    oracle = quick["maps"]["ceiling"]["movie10_run1"]
    ok = np.isfinite(est)
    assert ok.mean() > 0.5
    assert np.corrcoef(est[ok], oracle[ok])[0, 1] > 0.6
    assert abs(np.mean(est[ok]) - np.mean(oracle[ok])) < 0.1


def test_evaluation_options_checked_before_any_work(tmp_path):
    for kwargs, message in ((dict(n_resamples=5), "n_resamples must be an integer >= 10"),
                            (dict(fdr=1.5), "fdr must be in"),
                            (dict(confidence=1.2), "confidence"),
                            (dict(atlas=tmp_path / "none.nii.gz"), "atlas .* does not exist")):
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            run_comparison(tmp_path / "missing-data", models=["mean"], **kwargs)


def test_report_carries_intervals_pairwise_and_maps(quick, tmp_path, synthetic_root):
    import json

    from sklearn_crossenc.report import format_table, write_report

    table = format_table(quick)
    assert max(len(line) for line in table.splitlines()) <= 100
    assert "95% CI" in table and "noise ceiling" in table and "% ceil" in table
    for row in quick["evaluation"]["pairwise"]["friends_s6"]:
        assert f"{row['difference']:+8.3f}" in table
    paths = write_report(quick, tmp_path)
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["evaluation"]["pairwise"]["movie10_run1"][0]["a"] == "CrossSubjectEncoder"
    assert doc["evaluation"]["noise_ceiling"]["movie10_run1"]["status"] == "ok"
    with np.load(tmp_path / "parcel_scores.npz") as maps:
        sig = maps["CrossSubjectEncoder - CrossSubjectRidge/friends_s6/significant"]
        assert sig.dtype == bool and sig.shape == (48,)
    brain = {k: p for k, p in paths.items() if k.startswith("brain: ")}
    if quick["config"]["atlas"] is not None:  # the synthetic dataset ships a parcellation
        names = ["CrossSubjectEncoder", "CrossSubjectRidge", "FeatureRidge", "MeanOfOthers",
                 "oracle ceiling", "CrossSubjectEncoder - CrossSubjectRidge",
                 "headroom of FeatureRidge", "unique variance of FeatureRidge"]
        assert set(brain) == {f"brain: {n} ({label})" for n in names
                              for label in ("Friends s6", "Movie10 run 1")} | {
                                  "brain: noise ceiling (Movie10 run 1)"}
        assert all(p.stat().st_size > 0 for p in brain.values())
        assert "brain_crosssubjectencoder_minus_crosssubjectridge_movie10_run1.png" in (
            tmp_path / "report.md").read_text()
    from test_report_sections import assert_same_sections  # every section, every number

    titles = assert_same_sections((tmp_path / "report.md").read_text(),
                                  (tmp_path / "report.html").read_text())
    assert "Headroom against the cross-subject ceiling" in titles and "Verdict" in titles
    # the pre-flight's estimate bounds what was written (every set's maps, report.html's copies)
    from sklearn_crossenc.jobs._outputs import comparison_output_bytes

    written = sum(p.stat().st_size for p in tmp_path.iterdir() if p.is_file())
    assert written <= comparison_output_bytes(synthetic_root, quick["config"]["models"])

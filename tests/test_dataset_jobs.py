"""The jobs on a ``dataset.toml``: the release described gives the release's numbers; six
subjects and 400 parcels go through ``compare``, ``headroom`` and the HTML report; the
command line's ``--dataset`` errors."""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest
from conftest import bids_keyed_dataset

from sklearn_crossenc.cli import main
from sklearn_crossenc.data import (
    MODALITIES,
    REPEATED_MOVIES,
    load_dataset,
    load_movie10,
    load_stimulus_features,
)
from sklearn_crossenc.data._describe import write_dataset
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL, budget_trs, protocol_from_dataset
from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.jobs.grid import run_grid_search
from sklearn_crossenc.jobs.headroom import run_headroom

MODELS = ["mean", "ridge", "encoder"]


def _describe_release(root, folder, *, features: bool = False):
    """The synthetic release written as a dataset.toml: the protocol's sets, both viewings of
    the repeated Movie10 clips as [runs.repeats]; ``features``: its stimulus features as
    [features], one dataset per run key."""
    sets = SEED_PROTOCOL.load(root)
    viewings = load_movie10(root, subjects=SEED_PROTOCOL.subjects,
                            movies=REPEATED_MOVIES, runs=[1, 2])
    runs = {k: v for s in sets.values() for k, v in s.items()}
    repeats = {k: [k, k + "_run-2"] for k in viewings if not k.endswith("_run-2")}
    runs.update({k: viewings[k] for k in viewings if k.endswith("_run-2")})
    stimulus = {m: load_stimulus_features(root, m, runs=list(runs))
                for m in MODALITIES} if features else None
    return write_dataset(
        folder, runs, SEED_PROTOCOL.subjects, train=list(sets["train"]), tr=1.49,
        name="release", evaluate={k: list(sets[k]) for k in SEED_PROTOCOL.eval_sets},
        repeats=repeats, features=stimulus)


@pytest.fixture(scope="module")
def release_described(synthetic_root, tmp_path_factory):
    return _describe_release(synthetic_root, tmp_path_factory.mktemp("described") / "release")


def test_release_described_gives_the_same_numbers(synthetic_root, release_described):
    kwargs = dict(models=MODELS, quick=True, random_state=0, device="cpu", n_resamples=200)
    release = run_comparison(synthetic_root, **kwargs)
    described = run_comparison(dataset=release_described, **kwargs)
    assert described["data"]["subject_labels"] == release["data"]["subject_labels"]
    assert described["eval_sets"] == {k: k for k in release["eval_sets"]}
    assert described["ceiling"] is None  # the oracle is the synthetic release's only
    for name, model in release["models"].items():
        for key in release["eval_sets"]:
            want, got = model["scores"][key], described["models"][name]["scores"][key]
            assert got["mean"] == pytest.approx(want["mean"], abs=1e-6), (name, key)
            assert got["per_subject"] == pytest.approx(want["per_subject"], abs=1e-6)
            np.testing.assert_allclose(described["maps"][name][key],
                                       release["maps"][name][key], atol=1e-6)
    nc_release = release["evaluation"]["noise_ceiling"]["movie10_run1"]
    nc_described = described["evaluation"]["noise_ceiling"]["movie10_run1"]
    assert nc_release["status"] == nc_described["status"] == "ok"
    assert nc_described["mean"] == pytest.approx(nc_release["mean"], abs=1e-6)
    assert nc_described["pairs"] == nc_release["pairs"]
    assert described["evaluation"]["noise_ceiling"]["friends_s6"]["status"] == "unavailable"


def test_release_described_with_features_gives_the_release_featureridge(synthetic_root,
                                                                        tmp_path):
    """FeatureRidge on a description's [features] files: the release's scores (1e-6)."""
    path = _describe_release(synthetic_root, tmp_path / "release", features=True)
    kwargs = dict(models=["feature", "mean"], quick=True, random_state=0, device="cpu",
                  n_resamples=50)
    release = run_comparison(synthetic_root, **kwargs)
    described = run_comparison(dataset=path, **kwargs)
    want, got = release["models"]["FeatureRidge"], described["models"]["FeatureRidge"]
    assert want["status"] == got["status"] == "ok"
    for key in release["eval_sets"]:
        assert got["scores"][key]["mean"] == pytest.approx(want["scores"][key]["mean"],
                                                           abs=1e-6), key
        assert got["scores"][key]["per_subject"] == pytest.approx(
            want["scores"][key]["per_subject"], abs=1e-6)
        np.testing.assert_allclose(described["maps"]["FeatureRidge"][key],
                                   release["maps"]["FeatureRidge"][key], atol=1e-6)


def test_featureridge_fits_on_the_modalities_a_description_names(synthetic_root, tmp_path):
    """[features] with the visual features only: FeatureRidge is fitted on them alone, and
    scores as the same estimator fitted on the release's visual features directly."""
    from sklearn.base import clone

    from sklearn_crossenc.metrics import pearson_score
    from sklearn_crossenc.ridge import feature_episodes

    path = _describe_release(synthetic_root, tmp_path / "visual", features=True)
    text = path.read_text()
    path.write_text(re.sub(r'\n(audio|language) = "[^"]*"', "", text))
    desc = load_dataset(path)
    assert desc.modalities == ("visual",)
    result = run_comparison(dataset=path, models=["feature", "mean"], quick=True,
                            device="cpu", n_resamples=50, return_estimators=True)
    est = result["estimators"]["FeatureRidge"]
    assert est.modalities == ("visual",) and list(est.n_dims_) == ["visual"]
    sets = SEED_PROTOCOL.load(synthetic_root)
    inputs = {k: (feature_episodes(synthetic_root, runs, modalities=("visual",)),
                  list(runs.values())) for k, runs in sets.items()}
    direct = clone(est).fit(*inputs["train"])
    for key in result["eval_sets"]:
        X, y = inputs[key]
        pred = direct.predict(X, lengths=[ep.shape[1] for ep in y])
        assert result["models"]["FeatureRidge"]["scores"][key]["mean"] == pytest.approx(
            pearson_score(y, pred), abs=1e-6), key


def test_featureridge_is_skipped_without_features_and_checked_with_them(
        release_described, synthetic_root, tmp_path):
    """No [features]: skipped with the reason; features shorter than a run: the release's
    pre-flight rule refuses them before any fit."""
    result = run_comparison(dataset=release_described, models=["feature", "mean"],
                            quick=True, n_resamples=50)
    assert result["models"]["FeatureRidge"]["reason"] == \
        "no stimulus features in the dataset description (no [features] table)"
    path = _describe_release(synthetic_root, tmp_path / "short", features=True)
    desc = load_dataset(path)
    run = desc.evaluate["friends_s6"][0]
    n_times = min(desc.lengths[s][run] for s in desc.included)
    with h5py.File(desc.features["audio"], "r+") as f:
        short = f[run][:2]
        del f[run]
        f[run] = short
    with pytest.raises(ValueError, match=re.escape(
            f"the audio features of run {run} ({run}) have 2 chunks but the run has {n_times} "
            f"TRs of fMRI; FeatureRidge needs at least {n_times - 3}")):
        run_comparison(dataset=path, models=["feature", "mean"], quick=True)


def _six_by_400(folder, *, atlas=None):
    """6 subjects x 400 parcels: a shared signal per run plus each subject's noise; run
    story8 shown twice."""
    rng = np.random.default_rng(0)
    keys = [f"story{i}" for i in range(1, 9)]
    shared = {k: rng.normal(size=(50, 400)) for k in keys}  # (T, C)
    shared["story8_rep"] = shared["story8"]
    runs = {k: (x[None] + 1.5 * rng.normal(size=(6, 50, 400))).astype(np.float32)
            for k, x in shared.items()}  # (S, T, C)
    labels = ["01", "02", "03", "04", "05", "07"]
    path = write_dataset(folder, runs, labels, train=keys[:5], tr=2.0, name="six",
                         evaluate={"heldout": keys[5:]}, repeats={"s8": ["story8", "story8_rep"]},
                         atlas=atlas)
    return path, runs, labels


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    return _six_by_400(tmp_path_factory.mktemp("six") / "ds")


def _finite_numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"(?<![\w.-])-?\d+\.\d{3}(?![\d])", text)]


def test_six_subjects_400_parcels_compare_and_report(six, tmp_path, capsys):
    path, _, labels = six
    out = tmp_path / "compare"
    assert main(["compare", "--dataset", str(path), "--quick", "--models", "mean", "ridge",
                 "encoder", "--out", str(out), "--quiet", "--device", "cpu"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["data"]["subject_labels"] == [f"sub-{s}" for s in labels]
    assert doc["data"]["n_parcels"] == 400 and doc["config"]["protocol"]["tr"] == 2.0
    for name in ("MeanOfOthers", "CrossSubjectRidge", "CrossSubjectEncoder"):
        per = doc["models"][name]["scores"]["heldout"]["per_subject"]
        assert list(per) == [f"sub-{s}" for s in labels]
        assert all(np.isfinite(v) for v in per.values())
    # Shared signal (variance 1) plus noise (1.5**2): the mean of the 5 others has r =
    # 1 / sqrt((1 + 2.25) (1 + 2.25 / 5)) with each subject, 0.462.
    expected = 1 / np.sqrt(3.25 * 1.45)
    assert doc["models"]["MeanOfOthers"]["scores"]["heldout"]["mean"] == pytest.approx(
        expected, abs=0.02)
    assert doc["evaluation"]["noise_ceiling"]["heldout"]["status"] == "ok"
    assert "names no [atlas]" in doc["config"]["atlas_reason"]
    page = (out / "report.html").read_text()
    assert all(f"sub-{s}" in page for s in labels) and "sub-06" not in page
    text = re.sub(r'src="data:[^"]*"', "", page)  # the pictures' base64 aside
    assert "brain maps skipped" in text and not re.search(r"\bnan\b", text, re.I)
    md = (out / "report.md").read_text()
    assert "rain maps" in md and "dataset.toml names no \\[atlas\\] labels\\_img" in md
    assert _finite_numbers(md) and all(np.isfinite(_finite_numbers(md)))


def test_six_subjects_400_parcels_headroom(six, tmp_path):
    path, runs, labels = six
    desc = load_dataset(path)
    rng = np.random.default_rng(1)
    stim = {f"sub-{s}": {k: 0.5 * runs[k][i] + rng.normal(size=runs[k][i].shape)
                         for k in desc.evaluate["heldout"]} for i, s in enumerate(labels)}
    result = run_headroom({"stim": stim}, dataset=desc, quick=True, device="cpu",
                          n_resamples=100)
    assert result["data"]["subject_labels"] == [f"sub-{s}" for s in labels]
    head = result["headroom"]["stim"]["heldout"]
    assert np.isfinite(head["mean"]) and head["n_parcels"] == 400
    scores = result["models"]["stim"]["scores"]["heldout"]["per_subject"]
    assert list(scores) == [f"sub-{s}" for s in labels]


def test_run_keys_of_a_dataset_are_kept_as_written(tmp_path):
    """A BIDS run key (as crossenc extract writes it) is not mapped to a release name."""
    path, runs, keys = bids_keyed_dataset(tmp_path / "ds", np.random.default_rng(2))
    stim = {f"sub-{s}": {k: runs[k][i] for k in keys[3:]} for i, s in enumerate("abc")}
    result = run_headroom({"stim": stim}, dataset=path, quick=True, device="cpu",
                          n_resamples=50)
    assert result["models"]["stim"]["status"] == "ok"
    assert result["data"]["sets"]["test"]["runs"] == keys[3:]


def test_protocol_of_a_dataset(six):
    path, _, labels = six
    protocol = protocol_from_dataset(load_dataset(path))
    assert protocol.subjects == tuple(labels) and protocol.tr == 2.0
    assert [s.key for s in protocol.sets] == ["train", "heldout"]
    assert budget_trs(1, protocol.tr) == 30 and budget_trs(1) == 40  # TR 2 s vs 1.49 s
    with pytest.raises(ValueError, match="subjects must be 2 or more different labels"):
        protocol.with_subjects(["01", "09"])
    assert protocol.with_subjects(["07", "01"]).subjects == ("07", "01")


def _error(capsys, argv) -> str:
    assert main(argv) == 1
    return capsys.readouterr().err


def test_grid_search_on_a_dataset(six):
    path, _, labels = six
    result = run_grid_search(dataset=path, param_grid={"embed_dim": [4, 8]}, cv=2, quick=True,
                             device="cpu")
    assert result["n_runs"] == 5 and result["config"]["split"] == "kfold"  # the training runs
    assert result["config"]["protocol"]["subjects"] == labels
    assert np.isfinite(result["best_score"])
    for bad in (dict(split="season"), dict(seasons=[1])):
        with pytest.raises(ValueError, match="runs have no Friends seasons"):
            run_grid_search(dataset=path, param_grid={"embed_dim": [4]}, cv=2, quick=True,
                            **bad)


def test_add_subject_on_a_dataset(six, tmp_path, capsys):
    path, _, labels = six
    out = tmp_path / "add"
    assert main(["add-subject", "--dataset", str(path), "--subject", "03", "--minutes", "1",
                 "all", "--quick", "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert doc["new_subject"] == "03"
    assert doc["fitted_subjects"] == [s for s in labels if s != "03"]
    assert [row["n_trs"] for row in doc["budgets"]] == [30, 250]  # 1 min at TR 2 s; all
    assert np.isfinite(doc["budgets"][-1]["added"]["heldout"])
    assert "Adding subject sub-03" in (out / "report.md").read_text()
    err = _error(capsys, ["add-subject", "--dataset", str(path), "--subject", "09",
                          "--out", str(tmp_path / "o")])
    assert "new_subject must be one of ('01', '02', '03', '04', '05', '07'); got '09'" in err


def test_dataset_errors_on_the_command_line(six, synthetic_root, tmp_path, capsys):
    path, _, _ = six
    out = str(tmp_path / "o")
    err = _error(capsys, ["compare", "--dataset", str(path), "--data-dir", str(synthetic_root),
                          "--out", out])
    assert "give --data-dir" in err and "or --dataset" in err
    err = _error(capsys, ["compare", "--dataset", str(tmp_path / "none.toml"), "--out", out])
    assert "dataset description" in err and "does not exist" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dataset.toml").write_text(path.read_text().replace("tr = 2.0", "tr = 0")
                                      .replace('"01" = "sub-01.h5"', '"01" = "../sub-01.h5"'))
    err = _error(capsys, ["compare", "--dataset", str(bad / "dataset.toml"), "--out", out])
    assert "dataset.tr must be the repetition time" in err and "outside the dataset's" in err
    assert err.count("\n") == 1  # one line: every problem in it
    assert not (tmp_path / "o").exists()
    with h5py.File(path.parent / "sub-03.h5", "r") as f:  # the data folder is untouched
        assert len(f) == 9
    err = _error(capsys, ["compare", "--dataset", str(path), "--out", str(path.parent / "r")])
    assert "inside" in err or "data folder" in err  # never written into the data folder


def test_brain_maps_with_the_datasets_atlas(tmp_path):
    """With [atlas], the maps are drawn on it; an atlas of another parcel count is refused
    before any fit."""
    pytest.importorskip("nilearn")
    from sklearn_crossenc.data import make_synthetic_atlas, save_atlas
    from sklearn_crossenc.report import write_report

    atlas = save_atlas(make_synthetic_atlas(20, resolution=4)[0], tmp_path / "atlas20.nii.gz")
    rng = np.random.default_rng(3)
    keys = [f"r{i}" for i in range(1, 7)]
    runs = {k: (rng.normal(size=(1, 30, 20)) + rng.normal(size=(3, 30, 20))).astype(np.float32)
            for k in keys}
    path = write_dataset(tmp_path / "ds", runs, ["01", "02", "03"], train=keys[:3], tr=1.0,
                         evaluate={"test": keys[3:]}, atlas=atlas)
    result = run_comparison(dataset=path, models=["mean"], n_resamples=50)
    assert result["config"]["atlas"] == str(path.parent / "atlas20.nii.gz")
    assert result["config"]["atlas_reason"] is None
    files = write_report(result, tmp_path / "out")
    assert any(k.startswith("brain: ") for k in files), sorted(files)
    other = save_atlas(make_synthetic_atlas(10, resolution=4)[0], tmp_path / "atlas10.nii.gz")
    with pytest.raises(ValueError, match=r"\(10 parcels\) but the data has 20 parcels"):
        run_comparison(dataset=path, models=["mean"], atlas=other)


def test_an_unsplit_extraction_is_refused_with_the_next_step(tmp_path, capsys):
    """crossenc extract's dataset.toml (every run under train) names what to do next."""
    pytest.importorskip("nilearn")
    from sklearn_crossenc.data._fmriprep import make_fmriprep_like

    truth = make_fmriprep_like(tmp_path / "deriv", n_subjects=2, n_runs=1, n_times=20)
    assert main(["extract", str(tmp_path / "deriv"), "--atlas", str(truth["atlas"]),
                 "--task", "movie", "--out", str(tmp_path / "parcels"), "--quiet"]) == 0
    capsys.readouterr()
    err = _error(capsys, ["compare", "--dataset", str(tmp_path / "parcels" / "dataset.toml"),
                          "--out", str(tmp_path / "o")])
    assert "[runs.evaluate] needs at least one named evaluation set" in err


def test_a_cifti_extractions_atlas_skips_the_maps_with_its_reason(tmp_path):
    """crossenc extract with a dlabel.nii records it as [atlas]: the comparison runs and
    says why there are no maps (they are drawn on volume labels images), instead of
    refusing the dataset as a bad parcellation."""
    pytest.importorskip("nibabel")
    from sklearn_crossenc.data._fmriprep import make_fmriprep_like

    truth = make_fmriprep_like(tmp_path / "deriv", n_subjects=3, n_runs=1, n_parcels=4,
                               n_times=20)
    rng = np.random.default_rng(4)
    keys = [f"r{i}" for i in range(1, 7)]
    runs = {k: (rng.normal(size=(1, 30, 4)) + rng.normal(size=(3, 30, 4))).astype(np.float32)
            for k in keys}
    path = write_dataset(tmp_path / "ds", runs, ["01", "02", "03"], train=keys[:3], tr=1.0,
                         evaluate={"test": keys[3:]}, atlas=truth["cifti_atlas"])
    result = run_comparison(dataset=path, models=["mean"], n_resamples=50)
    assert result["config"]["atlas"] is None
    assert "atlas.dlabel.nii is a CIFTI dlabel.nii: brain maps are drawn on a volume" in \
        result["config"]["atlas_reason"]


def test_grid_on_a_dataset_with_bids_run_keys_through_the_command(tmp_path, capsys):
    """An extraction's run keys (task-movie_run-1) are not the release's: the search's
    pre-flight read them as release runs and refused them ('neither a Friends episode nor
    a Movie10 run'). Each run of a dataset is its own group, in the pre-flight and the job
    alike; the report says which runs were searched."""
    rng = np.random.default_rng(5)
    keys = [f"task-movie_run-{i}" for i in range(1, 8)]
    runs = {k: (rng.normal(size=(1, 40, 6)) + rng.normal(size=(3, 40, 6))).astype(np.float32)
            for k in keys}
    path = write_dataset(tmp_path / "ds", runs, ["01", "02", "03"], train=keys[:4], tr=2.0,
                         evaluate={"test": keys[4:]})
    out = tmp_path / "grid"
    assert main(["grid", "--dataset", str(path), "--quick", "--quiet", "--cv", "2",
                 "--param", "embed_dim=2,4", "--param", "sample_length=16",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    report = (out / "report.md").read_text()
    assert "the training runs (4 runs)" in report and "Friends seasons" not in report


def test_runs_that_cannot_fit_in_memory_are_streamed_from_disk(six, monkeypatch):
    """Runs larger than the memory available are streamed from disk (issue 29), decided
    before they are read; with ``stream=False`` they are refused, naming the sizes, instead
    of the job being killed part-way."""
    path, runs, labels = six
    n_times = sum(x.shape[1] for k, x in runs.items() if k != "story8_rep")  # train + heldout
    need = 4 * len(labels) * n_times * 400
    monkeypatch.setattr("sklearn_crossenc.encoder._memory.available_memory",
                        lambda: need - 1)
    result = run_comparison(dataset=path, models=["mean"], n_resamples=50)
    assert result["config"]["storage"]["stream"] is True
    assert result["config"]["storage"]["run_mib"] == round(need / 2**20, 1)

    def never(*args, **kwargs):
        raise AssertionError("no run may be read")

    monkeypatch.setattr("sklearn_crossenc.data._dataset.DatasetDescription.load_runs", never)
    message = (rf"the runs take {need / 2**20:.1f} MiB in memory \(6 subjects x {n_times} TRs "
               r"x 400 parcels, float32\) .*leave stream to its default")
    with pytest.raises(ValueError, match=message):
        run_comparison(dataset=path, models=["mean"], stream=False)
    searched = 4 * len(labels) * sum(runs[f"story{i}"].shape[1] for i in range(1, 6)) * 400
    monkeypatch.setattr("sklearn_crossenc.encoder._memory.available_memory",
                        lambda: searched - 1)  # the search loads the training runs only
    with pytest.raises(ValueError, match="leave stream to its default"):
        run_grid_search(dataset=path, param_grid={"embed_dim": [4]}, cv=2, quick=True,
                        stream=False)

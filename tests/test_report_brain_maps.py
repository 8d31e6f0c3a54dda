"""A comparison's brain maps: one colour scale per kind, NIfTI and TSV equal to the scores."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("nilearn")

from sklearn_crossenc.data import make_synthetic_atlas, save_atlas  # noqa: E402
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL  # noqa: E402
from sklearn_crossenc.report._brain_maps import (  # noqa: E402
    write_brain_maps,
    write_parcel_files,
)

MODELS = ("CrossSubjectEncoder", "CrossSubjectRidge", "MeanOfOthers")
EVAL_SETS = SEED_PROTOCOL.eval_sets
C = 48


@pytest.fixture(scope="module")
def atlas_file(tmp_path_factory):
    img, _ = make_synthetic_atlas(C, resolution=4)
    return save_atlas(img, tmp_path_factory.mktemp("atlas") / "atlas.nii.gz")


def make_result(atlas, seed=0):
    """Just what the maps read of run_comparison's result, with known per-parcel values."""
    rng = np.random.default_rng(seed)
    maps = {"ceiling": {k: rng.uniform(0.5, 0.93, (4, C)) for k in EVAL_SETS}}
    for i, name in enumerate(MODELS):
        maps[name] = {k: rng.uniform(-0.05, 0.6 - 0.15 * i, (4, C)) for k in EVAL_SETS}
    maps[MODELS[0]]["friends_s6"][:, 0] = -0.02  # a negative score: below the colour scale
    noise = rng.uniform(0.3, 0.8, (4, C))
    noise[:, :5] = np.nan  # unreliable in every subject
    noise[0, 5:8] = np.nan  # unreliable in one subject only
    maps["noise ceiling"] = {"movie10_run1": noise}
    for other in MODELS[1:]:
        maps[f"{MODELS[0]} - {other}"] = {k: {
            "difference": rng.uniform(-0.2, 0.3, C),
            "significant": rng.random(C) < 0.6,
            "q_value": rng.uniform(0, 1, C),
        } for k in EVAL_SETS}
    tuned = {"CrossSubjectEncoder": "epochs", "CrossSubjectRidge": "alpha"}
    return {"eval_sets": dict(EVAL_SETS), "config": {"atlas": str(atlas)},
            "models": {n: {"status": "ok", "tuning": {"tuned": tuned.get(n, "nothing")}}
                       for n in MODELS}
            | {"FeatureRidge": {"status": "skipped", "reason": "no features"}},
            "evaluation": {"reference": MODELS[0],
                           "pairwise": {k: [{"b": "MeanOfOthers"}, {"b": "CrossSubjectRidge"}]
                                        for k in EVAL_SETS}},
            "maps": maps}


DIFF = "CrossSubjectEncoder - CrossSubjectRidge"


def _expected(result):
    """Per-parcel values recomputed here, per map of every set: ``"<map> (<set>)"`` ->
    label -> value, in the order the maps are drawn."""
    maps = result["maps"]
    noise = maps["noise ceiling"]["movie10_run1"]
    noise_mean = np.array([np.mean(c[np.isfinite(c)]) if np.isfinite(c).any() else np.nan
                           for c in noise.T])  # (C,): mean over the subjects where reliable
    exp = {}
    for key, label in EVAL_SETS.items():
        exp |= {f"{n} ({label})": maps[n][key].mean(axis=0) for n in MODELS}
        exp[f"oracle ceiling ({label})"] = maps["ceiling"][key].mean(axis=0)
        if key == "movie10_run1":
            exp[f"noise ceiling ({label})"] = noise_mean
        exp[f"{DIFF} ({label})"] = maps[DIFF][key]["difference"]
    return exp


@pytest.fixture(scope="module")
def written(atlas_file, tmp_path_factory):
    """Maps written once, with every drawn figure recorded."""
    from matplotlib.figure import Figure

    saved = {}
    original = Figure.savefig

    def spy(self, fname, **kwargs):
        out = original(self, fname, **kwargs)
        saved[len(saved)] = self
        return out

    out = tmp_path_factory.mktemp("out")
    result = make_result(atlas_file)
    files = write_parcel_files(result, out)
    mp = pytest.MonkeyPatch()
    mp.setattr(Figure, "savefig", spy)
    try:
        figures = write_brain_maps(result, out)
    finally:
        mp.undo()
    return result, out, figures, files, list(saved.values())


def _bar(fig):
    """(colour limits, label, extend) of the one colour bar drawn in ``fig``: the limits of
    its colour mesh (the colours it shows), not of any helper."""
    from matplotlib.collections import QuadMesh

    found = [(ax, c) for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(found) == 1
    ax, mesh = found[0]
    bar = getattr(ax, "_colorbar", None)  # matplotlib's own link, where it has one
    return mesh.get_clim(), ax.get_ylabel(), None if bar is None else bar.extend


def test_every_map_of_one_kind_shares_its_colour_scale(written):
    """Read from the drawn figures: the scores and both ceilings of every set on one scale
    from 0 to the largest of their values (rounded up), the differences on one scale
    symmetric around 0; units."""
    result, _, figures, _, figs = written
    exp = _expected(result)
    assert list(figures) == [f"brain: {k}" for k in exp]
    bars = [_bar(f) for f in figs]
    limits = dict(zip(exp, [tuple(map(float, b[0])) for b in bars], strict=True))
    diffs = [k for k in exp if k.startswith(DIFF)]
    top = max(np.nanmax(v) for k, v in exp.items() if k not in diffs)
    for k in exp:
        if k not in diffs:
            assert limits[k] == (0.0, pytest.approx(np.ceil(top / 0.05) * 0.05)), k
    m = max(np.abs(d["difference"][d["significant"]]).max()
            for d in result["maps"][DIFF].values())
    m = np.ceil(m / 0.05) * 0.05
    assert [limits[k] for k in diffs] == [(pytest.approx(-m), pytest.approx(m))] * 2
    assert [b[1] for b in bars] == ["difference of r" if k in diffs else "Pearson r" for k in exp]
    assert bars[0][2] in ("min", "both", None)  # negative scores: clipped, and the bar says so


def test_each_set_has_its_maps_and_nifti_named_and_described(written):
    """Every evaluation set has a picture and a NIfTI image of each model, its ceilings and
    the difference; the file names hold the model and the set, the NIfTI header's
    description names the set."""
    import nibabel as nib

    result, out, figures, files, _ = written
    for key, label in EVAL_SETS.items():
        for name in [*MODELS, "oracle ceiling", DIFF]:
            assert f"brain: {name} ({label})" in figures, (name, label)
            path = files[f"nifti: {name} ({label})"]
            assert path.name.endswith(f"_{key}.nii.gz") and path.is_file()
            descrip = nib.load(str(path)).header["descrip"].item().decode()
            assert descrip.startswith(name + ", ") and descrip.endswith(f", {label}"), descrip
    assert files["nifti: CrossSubjectEncoder (Friends s6)"].name == (
        "brain_crosssubjectencoder_friends_s6.nii.gz")
    assert figures[f"brain: {DIFF} (Movie10 run 1)"].name == (
        "brain_crosssubjectencoder_minus_crosssubjectridge_movie10_run1.png")


def test_nifti_values_per_parcel_equal_the_scores(written, atlas_file):
    import nibabel as nib

    result, out, _, files, _ = written
    labels = np.asarray(nib.load(str(atlas_file)).dataobj)
    exp = _expected(result)
    niftis = {k[len("nifti: "):]: p for k, p in files.items() if k.startswith("nifti: ")}
    assert set(niftis) == set(exp)
    for name, path in niftis.items():
        img = nib.load(str(path))
        np.testing.assert_array_equal(img.affine, nib.load(str(atlas_file)).affine)
        vol = np.asarray(img.dataobj)
        assert vol.shape == labels.shape and (vol[labels == 0] == 0).all()
        for k in range(1, C + 1):
            got = np.unique(vol[labels == k])
            want = np.float32(exp[name][k - 1])
            assert got.size == 1 and (got[0] == want or (np.isnan(want) and np.isnan(got[0]))), (
                name, k)


def test_parcel_tables_hold_every_column(written):
    result, out, _, files, _ = written
    assert files["table: friends_s6"] == out / "parcels_friends_s6.tsv"
    with open(out / "parcels_movie10_run1.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [r["label"] for r in rows] == [str(k) for k in range(1, C + 1)]
    maps = result["maps"]
    pair = "CrossSubjectEncoder_minus_MeanOfOthers"
    assert list(rows[0]) == [
        "label", "r_CrossSubjectEncoder", "r_CrossSubjectRidge", "r_MeanOfOthers",
        "oracle_ceiling", "noise_ceiling",
        "diff_CrossSubjectEncoder_minus_CrossSubjectRidge",
        "q_CrossSubjectEncoder_minus_CrossSubjectRidge",
        "significant_CrossSubjectEncoder_minus_CrossSubjectRidge",
        f"diff_{pair}", f"q_{pair}", f"significant_{pair}"]
    def col(name):
        return np.array([np.nan if r[name] == "n/a" else float(r[name]) for r in rows])

    np.testing.assert_allclose(col("r_CrossSubjectRidge"),
                               maps["CrossSubjectRidge"]["movie10_run1"].mean(axis=0), rtol=1e-5)
    d = maps["CrossSubjectEncoder - MeanOfOthers"]["movie10_run1"]
    np.testing.assert_allclose(col(f"q_{pair}"), d["q_value"], rtol=1e-5)
    np.testing.assert_array_equal(col(f"significant_{pair}"), d["significant"].astype(float))
    noise = col("noise_ceiling")
    assert np.isnan(noise[:5]).all() and np.isfinite(noise[5:]).all()
    reliable = maps["noise ceiling"]["movie10_run1"][1:, 5:8]  # sub-01 unreliable there
    np.testing.assert_allclose(noise[5:8], reliable.mean(axis=0), rtol=1e-5)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp


def test_tables_are_written_without_a_parcellation(tmp_path):
    result = make_result(None)
    result["config"]["atlas"] = None
    messages = []
    files = write_parcel_files(result, tmp_path, log=messages.append)
    assert write_brain_maps(result, tmp_path, log=messages.append) == {}
    assert sorted(files) == ["table: friends_s6", "table: movie10_run1"]
    assert len(messages) == 1 and "no parcellation given" in messages[0]


def test_parcel_tables_name_the_synthetic_parcels_and_their_networks(atlas_file, tmp_path):
    """Synthetic data: each row carries the parcel's Schaefer-style name and its network,
    in the generator's layout (labels 1-24 left, 25-48 right, networks in Schaefer's order,
    as many parcels per network as network_counts gives)."""
    from sklearn_crossenc.data._networks import NETWORKS, network_counts

    result = make_result(atlas_file) | {"data": {"synthetic": True}}
    write_parcel_files(result, tmp_path)
    with open(tmp_path / "parcels_friends_s6.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert list(rows[0])[:4] == ["label", "name", "network", "r_CrossSubjectEncoder"]
    for half, hemi in ((rows[:C // 2], "LH"), (rows[C // 2:], "RH")):
        networks = [r["network"] for r in half]
        assert networks == [n for n, k in zip(NETWORKS, network_counts(C // 2), strict=True)
                            for _ in range(k)]
        assert [r["name"] for r in half] == [
            f"7Networks_{hemi}_{n}_{networks[:i + 1].count(n)}" for i, n in enumerate(networks)]
    # real data: the release has no label table, so no names are made up
    write_parcel_files(make_result(atlas_file) | {"data": {"synthetic": False}}, tmp_path)
    with open(tmp_path / "parcels_friends_s6.tsv", newline="") as f:
        assert next(csv.reader(f, delimiter="\t"))[:2] == ["label", "r_CrossSubjectEncoder"]

"""Reports of a comparison: table, JSON, Markdown, per-parcel maps, figures, atomic writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
from sklearn_crossenc.report import (
    FIGURES,
    check_output_dir,
    format_table,
    report_markdown,
    to_jsonable,
    write_figures,
    write_report,
)

EVAL_SETS = SEED_PROTOCOL.eval_sets
SUBJECTS = ["sub-01", "sub-02", "sub-03", "sub-05"]
MODELS = ("CrossSubjectEncoder", "CrossSubjectRidge", "MeanOfOthers")


def _scores(m):
    per = m.mean(axis=1)
    return {
        "mean": float(per.mean()),
        "per_subject": dict(zip(SUBJECTS, map(float, per), strict=True)),
        "median_parcel": float(np.median(m.mean(axis=0))),
    }


def make_result(data_dir="/nonexistent/data", n_parcels=30, seed=0, ceiling=True):
    """A result dict shaped like run_comparison's, with random per-parcel maps."""
    rng = np.random.default_rng(seed)
    maps = {}
    if ceiling:
        maps["ceiling"] = {k: rng.uniform(0.5, 0.9, (4, n_parcels)) for k in EVAL_SETS}
    models = {}
    for i, name in enumerate(MODELS):
        maps[name] = {k: rng.uniform(-0.1, 0.6 - 0.1 * i, (4, n_parcels)) for k in EVAL_SETS}
        models[name] = {
            "status": "ok",
            "params": {"alpha": 1.0, "delays": [0, 1]},
            "fit_s": 1.5 + i,
            "eval_s": 0.25,
            "scores": {k: _scores(m) for k, m in maps[name].items()},
        }
    models["FeatureRidge"] = {"status": "skipped", "reason": "no stimulus features"}
    sets = {
        k: {"label": lab, "n_runs": 3, "n_times": 300, "runs": ["a", "b", "c"]}
        for k, lab in {"train": "Friends s1-5", **EVAL_SETS}.items()
    }
    return {
        "schema_version": 1,
        "created_utc": "2026-01-01T00:00:00+00:00",
        "config": {"data_dir": str(data_dir), "quick": False, "random_state": 0, "trim": 0,
                   "device": "cpu", "models": list(models)},
        "environment": {
            "python": "3.11", "platform": "linux", "cpu": "test cpu", "cpu_count": 2,
            "torch_threads": 2, "device": {"type": "cpu", "name": "test cpu"},
            "packages": {"sklearn-crossenc": "0.1.0", "torch": "2"},
        },
        "data": {"synthetic": ceiling, "subjects": [1, 2, 3, 5], "subject_labels": SUBJECTS,
                 "n_parcels": n_parcels, "sets": sets},
        "eval_sets": dict(EVAL_SETS),
        "ceiling": {k: _scores(m) for k, m in maps["ceiling"].items()} if ceiling else None,
        "models": models,
        "timings": {"load_s": 0.5, "total_s": 9.0},
        "maps": maps,
    }


def _row(table: str, label: str, block: int) -> list[str]:
    blocks = [b for b in table.strip().split("\n\n") if not b.startswith("Verdict:")]
    for line in blocks[block].splitlines():
        if line.startswith(label + " "):
            return line[len(label):].split()
    raise AssertionError(f"no row {label!r} in block {block}:\n{table}")


def test_table_shows_every_number_rounded():
    result = make_result()
    table = format_table(result)
    for b, set_key in enumerate(EVAL_SETS):
        for name in MODELS:
            cells = _row(table, name, b)
            sc = result["models"][name]["scores"][set_key]
            expected = [sc["mean"]] + [sc["per_subject"][s] for s in SUBJECTS]
            np.testing.assert_allclose([float(c) for c in cells[:5]], expected, atol=5e-4)
            assert float(cells[5]) == pytest.approx(result["models"][name]["fit_s"], abs=0.05)
        ceiling = _row(table, "oracle ceiling", b)
        assert float(ceiling[0]) == pytest.approx(result["ceiling"][set_key]["mean"], abs=5e-4)
        assert "FeatureRidge" in table.split("\n\n")[b + 1]  # after the verdict
    assert "skipped: no stimulus features" in table
    assert "Friends s6" in table and "Movie10 run 1" in table


def test_table_without_ceiling_on_real_data():
    table = format_table(make_result(ceiling=False))
    assert "oracle ceiling" not in table
    assert "CrossSubjectEncoder" in table


def test_to_jsonable_plain_types():
    doc = to_jsonable({"a": np.float32(0.25), "b": np.arange(3), "p": Path("/x"),
                       "n": float("inf"), "maps": {"x": np.zeros(3)}, "t": (1, 2)})
    assert doc == {"a": 0.25, "b": [0, 1, 2], "p": "/x", "n": None, "t": [1, 2]}
    json.dumps(doc)


def test_write_report_contents(tmp_path):
    result = make_result()
    paths = write_report(result, tmp_path / "out", figures=False)
    assert set(paths) == {"json", "markdown", "html", "maps", "table: friends_s6",
                          "table: movie10_run1"}
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    for name in MODELS:
        for set_key in EVAL_SETS:
            sc = doc["models"][name]["scores"][set_key]
            m = result["maps"][name][set_key]
            assert sc["mean"] == pytest.approx(m.mean(axis=1).mean(), abs=1e-12)
            assert sc["per_subject"]["sub-03"] == pytest.approx(m[2].mean(), abs=1e-12)
        assert doc["models"][name]["fit_s"] == result["models"][name]["fit_s"]
    assert doc["models"]["FeatureRidge"]["status"] == "skipped"
    assert doc["ceiling"]["friends_s6"]["mean"] == pytest.approx(
        result["maps"]["ceiling"]["friends_s6"].mean()
    )
    assert "maps" not in doc
    assert doc["environment"]["packages"]["torch"] == "2"
    assert doc["outputs"]["maps"] == "parcel_scores.npz"
    with np.load(tmp_path / "out" / "parcel_scores.npz") as npz:
        np.testing.assert_allclose(
            npz["CrossSubjectRidge/movie10_run1"],
            result["maps"]["CrossSubjectRidge"]["movie10_run1"], rtol=1e-6,
        )
        assert npz["ceiling/friends_s6"].shape == (4, 30)
    md = (tmp_path / "out" / "report.md").read_text()
    sc = result["models"]["MeanOfOthers"]["scores"]["friends_s6"]
    assert f"| MeanOfOthers | {sc['mean']:.3f} |" in md
    assert "## Friends s6" in md and "## Movie10 run 1" in md
    assert "skipped: no stimulus features" in md


def test_markdown_links_figures():
    md = report_markdown(make_result(), {"bars": Path("/o") / FIGURES["bars"]})
    assert f"![Mean Pearson r by subject and model]({FIGURES['bars']})" in md


def test_figures_written(tmp_path):
    pytest.importorskip("matplotlib")
    written = write_figures(make_result(), tmp_path)
    assert set(written) == {"bars", "scatter", "histogram"}
    for kind, path in written.items():
        assert path == tmp_path / FIGURES[kind]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no paired tests in this result: no differences figure
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FIGURES[k] for k in written)


def test_scatter_skipped_without_both_models(tmp_path):
    pytest.importorskip("matplotlib")
    result = make_result()
    del result["maps"]["CrossSubjectRidge"]
    assert set(write_figures(result, tmp_path)) == {"bars", "histogram"}


def test_figures_skipped_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    messages = []
    paths = write_report(make_result(), tmp_path, log=messages.append)
    assert len(messages) == 2 and "matplotlib is not installed" in messages[0]
    assert "brain maps skipped" in messages[1]
    assert "\n" not in messages[0]
    assert set(paths) == {"json", "markdown", "html", "maps", "table: friends_s6",
                          "table: movie10_run1"}
    assert not list(tmp_path.glob("*.png"))


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    """A figure write that dies half way leaves neither a partial file nor a temp file,
    and an earlier report in the folder stays as it was."""
    mpl_figure = pytest.importorskip("matplotlib.figure")
    out = tmp_path / "out"
    write_report(make_result(seed=1), out, figures=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_savefig(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG partial")
        raise OSError("disk full")

    monkeypatch.setattr(mpl_figure.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        write_report(make_result(seed=2), out)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(after) == set(before)
    assert after["report.json"] == before["report.json"]
    assert after["report.md"] == before["report.md"]


def test_output_dir_inside_data_dir_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ValueError, match="inside the data folder"):
        check_output_dir(data / "out", data)
    with pytest.raises(ValueError, match="inside the data folder"):
        check_output_dir(data, data)
    with pytest.raises(ValueError, match="inside the data folder"):
        write_report(make_result(data_dir=data), data / "reports", figures=False)
    assert list(data.iterdir()) == []
    assert check_output_dir(tmp_path / "data-out", data) == (tmp_path / "data-out").resolve()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        check_output_dir(tmp_path / "file")


def _with_evaluation(result):
    """Add intervals and a noise ceiling to a fake result, as run_comparison records them."""
    rng = np.random.default_rng(5)
    result["evaluation"] = {"confidence": 0.95, "reference": "CrossSubjectEncoder", "intervals": {
        k: {n: {"low": result["models"][n]["scores"][k]["mean"] - 0.01,
                "high": result["models"][n]["scores"][k]["mean"] + 0.02}
            for n in MODELS} for k in EVAL_SETS},
        "noise_ceiling": {"friends_s6": {"status": "unavailable", "reason": "no repeats"},
                          "movie10_run1": {"status": "ok", "mean": 0.7, "per_subject": dict(
                              zip(SUBJECTS, [0.68, 0.69, 0.71, 0.72], strict=True))}}}
    nc = rng.uniform(0.4, 0.9, (4, result["data"]["n_parcels"]))
    nc[:, :4] = np.nan
    result["maps"]["noise ceiling"] = {"movie10_run1": nc}
    return result


def test_bars_carry_intervals_and_both_ceilings_histogram_the_noise_ceiling(tmp_path, monkeypatch):
    """Read from the drawn figures: an error bar on each model's mean from its interval's low
    to high, the oracle and noise ceilings as ticks at their values, the noise ceiling's
    reliable parcels in the histogram, Pearson r on the axes."""
    mpl_figure = pytest.importorskip("matplotlib.figure")
    from matplotlib.container import ErrorbarContainer

    drawn = {}
    original = mpl_figure.Figure.savefig

    def spy(self, fname, **kwargs):
        drawn[len(drawn)] = self
        return original(self, fname, **kwargs)

    monkeypatch.setattr(mpl_figure.Figure, "savefig", spy)
    result = _with_evaluation(make_result())
    write_figures(result, tmp_path)
    bars, _, hist = drawn[0], drawn[1], drawn[2]
    friends, movie = bars.axes[:2]
    for ax, set_key in ((friends, "friends_s6"), (movie, "movie10_run1")):
        errs = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(errs) == len(MODELS)
        for err, name in zip(errs, MODELS, strict=True):
            (seg,) = err.lines[2][0].get_segments()
            ci = result["evaluation"]["intervals"][set_key][name]
            np.testing.assert_allclose([seg[0][1], seg[1][1]], [ci["low"], ci["high"]])
        assert "Pearson r" in ax.get_ylabel()
    ticks = {c.get_label(): c.get_offsets()[:, 1] for c in movie.collections if c.get_label()}
    noise = [k for k in ticks if k.startswith("noise ceiling")]
    assert len(noise) == 1
    np.testing.assert_allclose(ticks[noise[0]], [0.68, 0.69, 0.71, 0.72, 0.7])
    np.testing.assert_allclose(ticks["oracle ceiling"][-1],
                               result["ceiling"]["movie10_run1"]["mean"])
    assert not any(k.startswith("noise ceiling") for k in
                   (c.get_label() for c in friends.collections))  # Friends has none
    labels = [p.get_label() for p in hist.axes[1].patches]
    assert "noise ceiling (reliable parcels)" in labels
    counts = hist.axes[1].patches[labels.index("noise ceiling (reliable parcels)")]
    assert counts.get_path().vertices[:, 1].max() > 0
    assert all("Pearson r" in ax.get_xlabel() for ax in hist.axes)


def test_the_scatter_names_the_pair_it_draws(tmp_path):
    """With --models encoder feature the scatter draws the encoder against FeatureRidge:
    its file and caption say so (they named CrossSubjectRidge whatever the pair)."""
    pytest.importorskip("matplotlib")
    from sklearn_crossenc.report._figures import figure_file, scatter_caption

    result = make_result()
    assert figure_file("scatter", result) == FIGURES["scatter"] == "parcels_encoder_vs_ridge.png"
    assert scatter_caption(result) == ("Per subject and parcel: CrossSubjectEncoder's r "
                                       "against CrossSubjectRidge's")
    result["models"] = {k: v for k, v in result["models"].items() if k != "CrossSubjectRidge"}
    result["models"]["FeatureRidge"] = {**next(iter(result["models"].values())),
                                        "tuning": {"tuned": "alpha per parcel"}}
    result["maps"]["FeatureRidge"] = result["maps"]["CrossSubjectEncoder"]
    assert figure_file("scatter", result) == "parcels_encoder_vs_feature.png"
    assert "against FeatureRidge's" in scatter_caption(result)
    written = write_figures(result, tmp_path)
    assert written["scatter"].name == "parcels_encoder_vs_feature.png"

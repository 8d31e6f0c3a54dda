"""The headroom job: user predictions against the cross-subject ceiling, end to end on the
tiny synthetic dataset."""

import json
import re

import h5py
import numpy as np
import pytest

from sklearn_crossenc.cli import main
from sklearn_crossenc.data import load_friends, load_movie10, load_true_signal
from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.jobs.headroom import CEILING_FILE, run_headroom
from sklearn_crossenc.report import write_report
from sklearn_crossenc.report._headroom_section import TITLE, verdicts

QUICK = dict(quick=True, n_threads=1, n_resamples=100)
SUBJECTS = (1, 2, 3, 5)


def _submission(runs: dict) -> dict:
    """Loader dicts of (S, T, C) arrays as the challenge's submission dict."""
    out = {f"sub-{s:02d}": {} for s in SUBJECTS}
    for key, arr in runs.items():
        challenge_key = key + "_run-1" if key.startswith(("figures", "life")) else key
        for i, s in enumerate(SUBJECTS):
            out[f"sub-{s:02d}"][challenge_key] = arr[i]
    return out


@pytest.fixture(scope="module")
def truth_file(synthetic_root, tmp_path_factory):
    """The noise-free signal of the evaluation runs, as a submission .npy."""
    s6 = load_friends(synthetic_root, seasons=[6])
    m10 = load_movie10(synthetic_root, runs=[1])
    runs = {**load_true_signal(synthetic_root, s6, "friends"),
            **load_true_signal(synthetic_root, m10, "movie10")}
    path = tmp_path_factory.mktemp("pred") / "truth.npy"
    np.save(path, _submission(runs))
    return path


@pytest.fixture(scope="module")
def headroom_run(synthetic_root, truth_file, tmp_path_factory):
    """One headroom run with the true signal as the model, and its written report."""
    result = run_headroom({"truth": truth_file}, synthetic_root, **QUICK)
    out = tmp_path_factory.mktemp("out") / "headroom"
    write_report(result, out, figures=False)
    return result, out


def test_the_true_signal_is_above_the_ceiling_in_most_parcels(headroom_run):
    result, _ = headroom_run
    for key in result["eval_sets"]:
        h = result["headroom"]["truth"][key]
        assert h["mean"] < 0 and h["interval"][1] < 0 and h["p"] < 0.05
        assert h["parcels_above"] > 0.8 * h["n_parcels"] and h["parcels_below"] == 0
        assert h["ratio"]["low"] > 1
        assert result["partition"]["truth"][key]["unique_model"] > 0.1
    # every model is scored under both rules
    for m in result["models"].values():
        assert {"mean", "challenge"} <= set(m["scores"]["friends_s6"])


def test_predictions_equal_to_the_ceiling_give_zero_headroom(headroom_run, synthetic_root):
    _, out = headroom_run
    again = run_headroom({"own": out / CEILING_FILE}, synthetic_root, ceiling=out, **QUICK)
    for key in again["eval_sets"]:
        h = again["headroom"]["own"][key]
        assert h["mean"] == 0 and h["interval"] == [0, 0]
        assert h["parcels_below"] == h["parcels_above"] == 0
        assert h["ratio"]["estimate"] == pytest.approx(1.0, abs=1e-12)
        part = again["partition"]["own"][key]
        assert part["unique_model"] == pytest.approx(0, abs=1e-9)
        assert part["unique_ceiling"] == pytest.approx(0, abs=1e-9)


def test_the_ceiling_read_back_gives_the_same_numbers(headroom_run, synthetic_root,
                                                      truth_file, monkeypatch):
    result, out = headroom_run
    from sklearn_crossenc import CrossSubjectEncoder

    monkeypatch.setattr(CrossSubjectEncoder, "fit", lambda *a, **k: pytest.fail("trained"))
    again = run_headroom({"truth": truth_file}, synthetic_root, ceiling=out, **QUICK)
    for key in result["eval_sets"]:
        for field in ("mean", "interval", "p", "parcels_below", "parcels_above"):
            assert again["headroom"]["truth"][key][field] == pytest.approx(
                result["headroom"]["truth"][key][field], rel=1e-5, abs=1e-7)


def test_a_ceiling_from_other_data_is_refused(headroom_run, data_copy, truth_file, no_fit):
    _, out = headroom_run
    with pytest.raises(ValueError, match="was made with data folder .*; this run has"):
        run_headroom({"truth": truth_file}, data_copy, ceiling=out, **QUICK)


def test_a_missing_run_is_refused_before_any_fit_naming_subject_and_run(
        synthetic_root, truth_file, tmp_path, no_fit):
    sub = np.load(truth_file, allow_pickle=True).item()  # our own test file
    del sub["sub-02"]["s06e15b"]
    sub["sub-05"]["s06e01a"] = sub["sub-05"]["s06e01a"][:-3]
    path = tmp_path / "gappy.npy"
    np.save(path, sub)
    with pytest.raises(ValueError) as err:
        run_headroom({"gappy": path}, synthetic_root, **QUICK)
    assert "sub-02 lacks 1 run(s): s06e15b" in str(err.value)
    assert re.search(r"sub-05 s06e01a has \d+ time points; the data's run has", str(err.value))


def test_model_names_that_clash_or_repeat_are_refused(truth_file, no_fit):
    with pytest.raises(ValueError, match="'CrossSubjectRidge' is a built-in model's"):
        run_headroom({"CrossSubjectRidge": truth_file}, **QUICK)
    with pytest.raises(ValueError, match="two prediction files share a stem"):
        run_headroom([truth_file, truth_file], **QUICK)


def test_compare_gives_featureridge_the_headroom_section(synthetic_root, tmp_path):
    result = run_comparison(synthetic_root, **QUICK)
    h = result["headroom"]["FeatureRidge"]["friends_s6"]
    pair = next(p for p in result["evaluation"]["pairwise"]["friends_s6"]
                if p["b"] == "FeatureRidge")
    assert h["mean"] == pair["difference"] and h["parcels_below"] == pair["n_better"]
    paths = write_report(result, tmp_path / "out", figures=False)
    md = paths["markdown"].read_text()
    page = paths["html"].read_text()
    assert f"## {TITLE}" in md and 'id="headroom"' in page
    with h5py.File(paths["ceiling_predictions"]) as f:
        assert sorted(f) == ["sub-01", "sub-02", "sub-03", "sub-05"]
        assert set(f["sub-01"]) == set(result["data"]["sets"]["friends_s6"]["runs"]) | set(
            result["data"]["sets"]["movie10_run1"]["runs"])


def test_report_md_and_html_carry_the_same_verdicts_first(headroom_run):
    result, out = headroom_run
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    sentences = verdicts(result)
    assert len(sentences) == 2
    import html

    from sklearn_crossenc.report._markdown import plain

    for sentence in sentences:
        assert f"- {plain(sentence)}" in md
        assert f"<li>{html.escape(sentence, quote=True)}</li>" in page
    # the answer first: before the first evaluation set's table in both
    assert md.index(TITLE) < md.index("## Friends s6")
    assert page.index('id="headroom"') < page.index('id="set-0"')
    from test_report_sections import assert_same_sections  # every section, every number

    assert assert_same_sections(md, page)[:2] == [TITLE, "Data and protocol"]
    doc = json.loads((out / "report.json").read_text())
    assert doc["job"] == "headroom" and doc["user_models"] == ["truth"]
    assert set(doc["headroom"]["truth"]["friends_s6"]) >= {
        "mean", "interval", "p", "parcels_below", "parcels_above"}
    assert set(doc["partition"]["truth"]["friends_s6"]) >= {
        "unique_model", "shared", "unique_ceiling"}


@pytest.mark.slow
def test_command_line_refuses_code_in_a_pickle_and_writes_the_report(
        synthetic_root, truth_file, tmp_path, capsys):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.npy"
    np.save(evil, np.array({"sub-01": {"s06e01a": Evil()}}, dtype=object), allow_pickle=True)
    out = tmp_path / "out"
    code = main(["headroom", "--predictions", str(evil), "--data-dir", str(synthetic_root),
                 "--out", str(out), "--quick", "--quiet"])
    assert code == 1 and not marker.exists() and not out.exists()
    assert "refused to unpickle" in capsys.readouterr().err
    code = main(["headroom", "--predictions", f"oracle={truth_file}", "--data-dir",
                 str(synthetic_root), "--out", str(out), "--quick", "--quiet", "--threads", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{TITLE}:") and "oracle on Friends s6" in printed
    assert {p.name for p in out.iterdir()} >= {"report.html", "report.md", "report.json",
                                              CEILING_FILE, "parcels_friends_s6.tsv"}
    tsv = (out / "parcels_friends_s6.tsv").read_text().splitlines()
    assert "unique_oracle" in tsv[0].split("\t")

"""report.html: one self-contained page with every table, figure and brain map, escaped,
loading nothing; rendered by headless Chromium (skipped with a reason where absent)."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from test_report import MODELS, make_result

from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.report import report_html, report_markdown, write_report
from sklearn_crossenc.report._html import CSP
from sklearn_crossenc.report._tables import ceiling_notes, score_rows

# A valid 1x1 PNG (one red pixel).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


class Page(HTMLParser):
    """What a page holds: tables (class -> list of rows of cell texts), images, links,
    figures (data-kind -> img src), headings, the CSP, script elements."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables, self.images, self.links, self.figures = [], [], [], {}
        self.headings, self.csp, self.scripts = [], None, 0
        self._cell = self._kind = self._heading = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append((a.get("class"), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src", ""))
            if self._kind is not None:
                self.figures[self._kind] = a.get("src", "")
        elif tag == "figure":
            self._kind = a.get("data-kind")
        elif tag in ("link", "a", "script", "iframe", "object", "embed", "source", "video"):
            self.links.append(a.get("href") or a.get("src") or a.get("data") or "")
            self.scripts += tag == "script"
        elif tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = a.get("content")
        elif tag in ("h1", "h2"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "figure":
            self._kind = None
        elif tag in ("h1", "h2") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        for buf in (self._cell, self._heading):
            if buf is not None:
                buf.append(data)

    def table(self, cls):
        return [rows for c, rows in self.tables if c == cls]


def evaluated(result):
    """``result`` with an evaluation section: intervals, pairwise rows, noise ceilings."""
    sets = list(result["eval_sets"])
    ok = [n for n, m in result["models"].items() if m["status"] == "ok"]
    intervals = {k: {n: {"low": result["models"][n]["scores"][k]["mean"] - 0.01,
                         "high": result["models"][n]["scores"][k]["mean"] + 0.02}
                     for n in ok} for k in sets}
    pairwise = {k: [{"a": ok[0], "b": b, "difference": 0.01 * i, "low": -0.02, "high": 0.03,
                     "p_value": 0.004 * i, "n_better": i, "n_worse": 2 * i, "n_parcels": 30}
                    for i, b in enumerate(ok[1:], start=1)] for k in sets}
    per = {s: 0.7 for s in result["data"]["subject_labels"]}
    noise = {sets[0]: {"status": "unavailable", "reason": "no repeated viewings"},
             sets[1]: {"status": "ok", "pairs": [["figures01", "figures01_run-2"]],
                       "reliable_fraction": 0.8, "mean": 0.7, "per_subject": per,
                       "models": {n: {"fraction": 0.5} for n in ok}}}
    result["evaluation"] = {"intervals": intervals, "pairwise": pairwise, "noise_ceiling": noise,
                            "reference": ok[0], "confidence": 0.95, "fdr": 0.05,
                            "n_resamples": 200, "method": "t-jackknife"}
    return result


@pytest.fixture
def figures(tmp_path):
    kinds = ["bars", "scatter", "brain: CrossSubjectEncoder", "brain: noise ceiling"]
    paths = {}
    for i, kind in enumerate(kinds):
        paths[kind] = tmp_path / f"figure{i}.png"
        paths[kind].write_bytes(PNG + bytes([i]))  # distinct bytes per file
    return paths


def check_page(page: Page, result, figures):
    """Every table, row and figure of ``result`` is in ``page``; nothing outside it is."""
    scores = page.table("scores")
    assert len(scores) == len(result["eval_sets"])
    for rows, set_key in zip(scores, result["eval_sets"], strict=True):
        expected = score_rows(result, set_key)
        assert [r[0] for r in rows[1:]] == [r[0] for r in expected]
    pairwise = page.table("pairwise")
    n_pairs = sum(len(v) for v in (result.get("evaluation") or {}).get("pairwise", {}).values())
    assert len(pairwise) == (1 if n_pairs else 0)
    assert len(pairwise[0]) - 1 == n_pairs if n_pairs else True
    assert set(page.figures) == set(figures)
    for kind, path in figures.items():
        assert page.figures[kind] == "data:image/png;base64," + base64.b64encode(
            Path(path).read_bytes()).decode()
    assert page.csp == CSP and "default-src 'none'" in CSP
    assert page.scripts == 0
    assert all(link.startswith("#") for link in page.links), page.links


def test_page_holds_every_table_figure_and_map(figures):
    result = evaluated(make_result())
    text = report_html(result, figures)
    page = Page(text)
    check_page(page, result, figures)
    assert page.headings[:1] == ["Cross-subject encoding: comparison report"]
    for heading in ["Data and protocol", *result["eval_sets"].values(), "Noise ceilings",
                    "Figures", "Brain maps", "Models", "Configuration", "Environment"]:
        assert heading in page.headings
    assert not re.search(r"https?://", text)


def test_numbers_are_those_of_the_markdown_report(figures):
    result = evaluated(make_result())
    md = report_markdown(result, figures)
    page = Page(report_html(result, figures))
    md_rows = [[re.sub(r"\\(.)", r"\1", c.strip()) for c in line.strip("|").split("|")]
               for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    for rows in page.table("scores"):
        for row in rows[1:]:
            if len(row) == 2:  # a skipped model: its name and the reason
                assert row in [r[:2] for r in md_rows], row
                continue
            # model, mean, interval, (plot), subjects..., % of ceiling, fit (s)
            cells = [row[0], row[1], row[2]] + row[4:]
            assert cells in md_rows, (cells, md_rows)
    for row in page.table("pairwise")[0][1:]:
        assert row in md_rows


def with_tuning(result, early_stopping="folds", repeats=1):
    """``result`` as a tuned comparison: the encoder early-stopped after a grid search,
    the ridge's alphas by CV, the mean with nothing to tune."""
    enc, ridge, mean = MODELS
    result["config"].update(early_stopping=early_stopping, repeats=repeats, tuning_folds=5)
    search = {"grid": {"embed_dim": [32, 64]}, "best_params": {"embed_dim": 64},
              "best_score": 0.4567, "n_splits": 5, "seconds": 12.5,
              "candidates": [{"rank": 2, "params": {"embed_dim": 32}, "mean": 0.4321,
                              "std": 0.0123},
                             {"rank": 1, "params": {"embed_dim": 64}, "mean": 0.4567,
                              "std": 0.0111}]}
    result["models"][enc]["tuning"] = {
        "tuned": "training length (early stopping)", "refit": True, "search": search,
        "chosen": {"best_epoch": 3, "n_epochs": 4, "valid_pearson": [0.437, 0.461, 0.463,
                                                                     0.459]}}
    result["models"][enc]["repeats"] = [{"random_state": 0, "chosen": {"best_epoch": 3}}]
    result["models"][ridge]["tuning"] = {
        "tuned": "alpha per parcel (cross-validation)", "refit": False, "search": None,
        "chosen": {"alphas": {"1000": 70, "3162.28": 50}, "median_alpha": 1000.0,
                   "n_splits": 5}}
    result["models"][mean]["tuning"] = {"tuned": "nothing", "refit": False, "search": None,
                                        "chosen": {}}
    return result


def test_the_protocol_section_names_each_models_choices(figures):
    page_text = report_html(with_tuning(evaluated(make_result())), figures)
    page = Page(page_text)
    assert "Protocol: how each model chose its settings" in page.headings
    protocol = page_text.split('<h2 id="protocol">')[1].split("<h2")[0]
    assert "Friends s1-5, 3 runs; 5 folds of whole runs" in protocol
    assert ("chose epoch 3 of 4 run (held-out r per epoch: 0.437, 0.461, 0.463, 0.459); "
            "then trained again on every training run") in protocol
    assert "1000: 70, 3162.28: 50 (median 1000)" in protocol
    assert "MeanOfOthers: nothing to tune" in protocol
    # The grid search: winner, then every candidate ranked, nested under the encoder.
    assert re.search(r"CrossSubjectEncoder: .*<ul><li>grid search \(embed_dim in \[32, 64\]; "
                     r"5 folds, 12.5 s\): winner \{&#x27;embed_dim&#x27;: 64\} \(CV r 0.457\)"
                     r"</li><li>rank 1: .*0.457 \+- 0.011</li><li>rank 2: .*0.432", protocol)
    assert '<a href="#protocol">' in page_text
    # Tuned alike: no warning; the intervals say they cover the evaluation runs only.
    assert "unequal" not in page_text
    assert "cover the evaluation runs only" in page_text


def test_a_model_not_tuned_like_the_others_is_flagged_above_the_verdict(figures):
    text = report_html(with_tuning(evaluated(make_result()), early_stopping=None, repeats=3),
                       figures)
    note = re.search(r'<p class="quick unequal"><strong>Note:</strong> ([^<]*)</p>', text)
    assert note and "CrossSubjectEncoder&#x27;s training length was NOT tuned" in note[1]
    assert "while CrossSubjectRidge chose their settings" in note[1]
    assert text.index("unequal") < text.index('<h2 id="pairwise">')  # before the verdict
    assert "spread between the 3 random states" in text


def test_strings_from_the_data_are_escaped(figures):
    result = evaluated(make_result(data_dir='/data/<b>"x"&y'))
    evil = "<img src=x onerror=alert(1)>"
    result["models"][evil] = result["models"].pop("MeanOfOthers")
    result["command"] = "crossenc compare --out '</code><script>alert(2)</script>'"
    text = report_html(result, figures)
    page = Page(text)
    assert evil not in text and "<script>" not in text and page.scripts == 0
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "/data/&lt;b&gt;&quot;x&quot;&amp;y" in text
    assert len(page.images) == len(figures)  # the name made no image
    check_page(page, result, figures)


def test_a_figure_that_cannot_be_read_is_named(tmp_path):
    result = evaluated(make_result())
    text = report_html(result, {"bars": tmp_path / "gone.png"})
    assert "<code>gone.png</code> could not be read" in text
    assert Page(text).images == []


def test_files_that_are_not_images_are_named_not_drawn(figures, tmp_path):
    result = evaluated(make_result())
    nifti = tmp_path / "brain_crosssubjectencoder.nii.gz"
    nifti.write_bytes(b"\x1f\x8b not an image")
    text = report_html(result, {**figures, "nifti: <CrossSubjectEncoder>": nifti})
    check_page(Page(text), result, figures)
    assert "Also written beside this page: <code>brain_crosssubjectencoder.nii.gz</code>" in text


def test_write_report_writes_the_page(tmp_path):
    result = evaluated(make_result())
    paths = write_report(result, tmp_path / "out", figures=False)
    assert paths["html"] == tmp_path / "out" / "report.html"
    files = {k: p for k, p in paths.items() if k.startswith("table: ")}
    assert sorted(files) == ["table: friends_s6", "table: movie10_run1"]
    assert paths["html"].read_text() == report_html(result, files)
    assert not list((tmp_path / "out").glob(".*tmp*"))


# ---------------------------------------------------------------- in a real browser

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def chromium(tmp_path, url, *args) -> str:
    """Run headless Chromium on ``url`` with a fresh profile; its stdout."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def page_requests(netlog: Path) -> list[str]:
    """URLs the page asked for, from Chromium's net log (the browser's own requests,
    initiator "not an origin", left out)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [e.get("params") or {} for e in log["events"] if e["type"] == start]
    return [p["url"] for p in starts if "url" in p and p.get("initiator") != "not an origin"]


def coloured_fraction(png: Path) -> float:
    """Fraction of clearly coloured pixels (figures and maps; text is grey)."""
    from PIL import Image

    hsv = np.asarray(Image.open(png).convert("HSV"))  # (H, W, 3)
    return float(((hsv[..., 1] > 100) & (hsv[..., 2] > 100)).mean())


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found (Debian: apt-get "
                    "install chromium); report.html is checked without a browser above")
def test_report_renders_in_chromium(synthetic_root, tmp_path):
    pytest.importorskip("nilearn", reason="brain maps need the 'plot' extra")
    result = run_comparison(synthetic_root, models=["encoder", "ridge", "mean"], quick=True,
                            device="cpu")
    result["command"] = "crossenc compare --quick --models encoder ridge mean"
    paths = write_report(result, tmp_path / "out")
    figures = {k: p for k, p in paths.items() if p.suffix == ".png"}
    assert {"bars", "brain: CrossSubjectEncoder - CrossSubjectRidge (Friends s6)"} <= set(figures)
    # the verdict's differences: a PNG beside report.md, drawn inline (SVG) in the page
    assert figures.pop("differences").is_file()
    assert '<figure data-kind="differences"><svg' in paths["html"].read_text()
    others = [p.name for k, p in paths.items()
              if k.startswith(("table: ", "nifti: ")) and p.suffix != ".png"]
    assert others and all(name in paths["html"].read_text() for name in others)
    url = paths["html"].as_uri()
    netlog = tmp_path / "netlog.json"
    dom = chromium(tmp_path, url, "--dump-dom", f"--log-net-log={netlog}")
    check_page(Page(dom), result, figures)
    assert "Protocol: how each model chose its settings" in Page(dom).headings
    assert page_requests(netlog) == []
    shot = tmp_path / "report.png"
    chromium(tmp_path, url, f"--screenshot={shot}", "--window-size=1280,6000")
    # Every image decoded and drawn: a page of text alone has almost no colour (0.1%).
    assert coloured_fraction(shot) > 0.01
    print(f"screenshot: {shot}")


def test_each_ceiling_note_is_an_item_of_its_own(figures):
    """Two notes of one set used to run together in one item."""
    result = evaluated(make_result())
    notes = ceiling_notes(result)
    assert len(notes) >= 2
    items = re.findall(r"<li>([^<]*)</li>", report_html(result, figures).split(
        '<h2 id="ceilings">')[1].split("</ul>")[0])
    assert items == [html.escape(n, quote=True) for n in notes]

"""The documentation cites only what a user has: every relative link of README.md and
docs/*.md leads to a file of the repository, and no page cites the developers' notes
(shared/ALGONAUTS.md), whose facts are in docs/algonauts-facts.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_leads_to_a_file_of_the_repository():
    missing = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not missing, missing


def test_no_page_cites_the_developers_notes():
    for page in [*PAGES, *sorted((ROOT / "sklearn_crossenc").rglob("*.py"))]:
        text = page.read_text()
        assert "ALGONAUTS.md" not in text and "shared/" not in text, page.relative_to(ROOT)
    facts = (ROOT / "docs" / "algonauts-facts.md").read_text()
    for fact in ("292 Friends runs", "Runs present for all four subjects: 238 in s1-s5, 49 in s6",
                 "repeated viewings (figures / life) | | 0.230 / 0.161"):
        assert fact in facts


def test_compare_help_lists_every_file_it_writes(capsys):
    """Every output of crossenc compare's writer is named in its --help."""
    from sklearn_crossenc.cli import main
    from sklearn_crossenc.report import FIGURES

    assert main(["compare", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in ["report.html", "report.md", "report.json", "parcel_scores.npz",
                 "parcels_<set>.tsv", "brain_<map>_<set>.png", "brain_<map>_<set>.nii.gz",
                 *FIGURES.values()]:
        assert name in text, name


def test_add_subject_help_names_the_files_it_writes(capsys):
    """add-subject writes report.json and report.md (write_new_subject_report); its help
    named learning_curve.md and learning_curve.json, which no command writes."""
    from sklearn_crossenc.cli import main

    assert main(["add-subject", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "report.md" in text and "report.json" in text
    assert "learning_curve.md" not in text and "learning_curve.json" not in text

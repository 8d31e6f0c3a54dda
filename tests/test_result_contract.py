"""One result contract: ``compare``, ``grid`` and ``add-subject`` each write ``report.json``
with the same top level (and ``report.md``), read here from the files themselves."""

from __future__ import annotations

import json

import pytest

from sklearn_crossenc.cli import main
from sklearn_crossenc.jobs._job import COMMON_KEYS, SCHEMA_VERSION

COMMANDS = {
    "compare": ["--models", "mean", "ridge", "--no-figures"],
    "grid": ["--param", "embed_dim=4", "--cv", "2", "--split", "kfold"],
    "add-subject": ["--minutes", "0.5", "--threads", "1"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_job_writes_the_common_top_level(command, synthetic_root, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [command, "--data-dir", str(synthetic_root), "--out", str(out), "--quick",
            "--quiet", *COMMANDS[command]]
    assert main(argv) == 0
    capsys.readouterr()
    doc = json.loads((out / "report.json").read_text())
    assert list(doc)[:len(COMMON_KEYS)] == list(COMMON_KEYS)
    assert doc["schema_version"] == SCHEMA_VERSION and doc["job"] == command
    assert doc["config"]["data_dir"] == str(synthetic_root.resolve())
    assert doc["config"]["protocol"]["subjects"] == [1, 2, 3, 5]
    env = doc["environment"]
    assert len(env["load_average_at_start"]) == 3 and len(env["load_average"]) == 3
    assert doc["timings"]["total_s"] > 0
    assert doc["command"].startswith(f"crossenc {command} ")
    for name in doc["outputs"].values():
        assert (out / name).is_file()
    md = (out / "report.md").read_text()
    assert md.startswith("# ") and "## Environment" in md and doc["command"] in md
    assert "load average (1, 5, 15 min)**: at the start" in md

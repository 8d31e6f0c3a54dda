"""SIGINT and SIGTERM swept over many moments of real ``crossenc`` runs (subprocesses).

Every time: exit code 130 (SIGINT) or 143 (SIGTERM), exactly one line on stderr, and
nothing half-written: no temporary file or folder anywhere, the target either absent or
complete, the data folder unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sklearn_crossenc.data import is_synthetic

REPO = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^crossenc( \w+)?: (interrupted|terminated)\.$")
N_MOMENTS = 12
EARLIEST_S = 0.05  # counted from the moment crossenc has installed its handlers


def _env(tmp_path):
    return {**os.environ, "OMP_NUM_THREADS": "1", "CROSSENC_CACHE": str(tmp_path / "cache"),
            "PYTHONPATH": str(REPO)}


def _handles_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has installed a SIGTERM handler (``SigCgt`` in /proc): only
    crossenc's own signal handling does, once the interpreter has started."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


def _wait_until_handled(proc, timeout: float = 60.0) -> None:
    """Wait until crossenc catches signals (or exits), so that the sweep's moments do not
    depend on how long the interpreter takes to start on a busy machine (a signal during
    Python's own start-up is outside crossenc's reach)."""
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        if not Path("/proc").is_dir() or _handles_sigterm(proc.pid):
            return
        time.sleep(0.005)


def _run(args, env, delay=None, signum=None):
    """Run ``crossenc args``; send ``signum`` ``delay`` s after crossenc installed its
    signal handlers. ``(rc, stderr, hit)``."""
    proc = subprocess.Popen([sys.executable, "-m", "sklearn_crossenc", *args], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    hit = False
    if delay is not None:
        _wait_until_handled(proc)
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signum)
            # send_signal polls first: a run that ended during wait()'s last sleep got no
            # signal and has its return code already.
            hit = proc.returncode is None
    _, err = proc.communicate(timeout=120)
    if hit and proc.returncode == 0 and not err:
        # The signal reached a process already in the kernel's exit (poll() sees it alive
        # until it is a zombie; a large address space takes tens of ms to unmap): it had
        # finished, completely, and signals to an exiting process are dropped.
        hit = False
    return proc.returncode, err, hit


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _moments(duration: float) -> list[tuple[float, int]]:
    """N_MOMENTS spaced delays across a run, alternating SIGINT and SIGTERM."""
    step = (0.9 * duration - EARLIEST_S) / (N_MOMENTS - 1)
    sigs = (signal.SIGINT, signal.SIGTERM)
    return [(EARLIEST_S + i * max(step, 0.05), sigs[i % 2]) for i in range(N_MOMENTS)]


def _sweep(make_args, env, duration):
    """Run every moment (4 at a time); return ``[(i, delay, signum, rc, stderr, hit)]``."""
    def one(item):
        i, (delay, signum) = item
        return (i, delay, signum, *_run(make_args(i), env, delay, signum))

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, enumerate(_moments(duration))))


def _check_signal_outcome(results) -> None:
    hits = [r for r in results if r[5]]
    assert len(hits) >= 10, f"only {len(hits)} signals landed inside a run: {results}"
    for i, delay, signum, rc, err, _ in hits:
        where = f"moment {i} ({delay:.2f} s, signal {signum})"
        assert rc == 128 + signum, f"{where}: exit {rc}, stderr {err!r}"
        lines = err.splitlines()
        assert len(lines) == 1 and LINE.match(lines[0]), f"{where}: stderr {err!r}"
        word = "terminated" if signum == signal.SIGTERM else "interrupted"
        assert word in lines[0], where


def _no_temporaries(folder: Path) -> None:
    stray = [p for p in folder.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert not stray, f"temporary files left: {stray}"


@pytest.mark.slow
def test_signals_swept_over_synth_leave_exit_code_one_line_and_no_temp_folder(tmp_path):
    env = _env(tmp_path)
    t0 = time.perf_counter()
    rc, err, _ = _run(["synth", str(tmp_path / "base"), "--scale", "tiny", "--quiet"], env)
    duration = time.perf_counter() - t0
    assert rc == 0, err
    runs = tmp_path / "runs"
    runs.mkdir()
    results = _sweep(lambda i: ["synth", str(runs / f"ds{i}"), "--scale", "tiny", "--quiet"],
                     env, duration)
    _check_signal_outcome(results)
    _no_temporaries(runs)
    for target in runs.iterdir():  # renamed into place just before the signal: complete
        assert is_synthetic(target), target
        assert _snapshot(target) == _snapshot(tmp_path / "base"), target


@pytest.mark.slow
def test_signals_swept_over_compare_quick_leave_exit_code_one_line_and_no_partial_file(
        tmp_path, synthetic_root):
    env = _env(tmp_path)
    before = _snapshot(synthetic_root)
    args = ["compare", "--quick", "--quiet", "--no-figures", "--data-dir", str(synthetic_root)]
    t0 = time.perf_counter()
    rc, err, _ = _run(args + ["--out", str(tmp_path / "base")], env)
    duration = time.perf_counter() - t0
    assert rc == 0, err
    outs = tmp_path / "outs"
    results = _sweep(lambda i: args + ["--out", str(outs / f"o{i}")], env, duration)
    _check_signal_outcome(results)
    if outs.exists():
        _no_temporaries(outs)
        for path in outs.rglob("report.json"):  # written whole, or not at all
            assert json.loads(path.read_text())["config"]["quick"] is True
    assert _snapshot(synthetic_root) == before

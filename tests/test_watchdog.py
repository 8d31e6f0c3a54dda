"""A ``kill -9`` of a command leaves none of its joblib workers behind (issue 31, defect 8).

``crossenc grid --n-jobs 2`` killed with SIGKILL (or by the OOM killer) left its loky
workers computing, and loky's resource trackers waiting on them, for as long as we watched
(12 minutes, one worker at 800 MB). Every loky worker that imports the package now ends
when its parent is gone (``sklearn_crossenc._watchdog``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

PARENT = textwrap.dedent("""
    import os, sys, time
    from joblib import Parallel, delayed

    def task(folder):
        import sklearn_crossenc  # a job's task unpickles the package's objects
        open(os.path.join(folder, str(os.getpid())), "w").close()
        time.sleep(120)  # a long fit

    Parallel(n_jobs=2)(delayed(task)(sys.argv[1]) for _ in range(2))
""")


def _session(sid: int) -> list[int]:
    """The live (not zombie) processes of session ``sid``."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in "ZX":
            out.append(int(d.name))
    return out


def test_workers_and_trackers_end_with_a_parent_killed_by_sigkill(tmp_path):
    script, started = tmp_path / "parent.py", tmp_path / "started"
    script.write_text(PARENT)
    started.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(started)], start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(p.name) for p in started.iterdir()]
        assert len(workers) == 2 and set(workers) <= set(_session(proc.pid))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while _session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _session(proc.pid)
    for pid in left:  # leave nothing behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still alive 10 s after the parent's SIGKILL: {left}"


def test_the_watchdog_starts_in_loky_workers_only():
    from joblib import Parallel, delayed

    from sklearn_crossenc._watchdog import watch_parent

    assert watch_parent() is False  # not a worker: nothing started
    assert Parallel(n_jobs=2)(delayed(watch_parent)() for _ in range(2)) == [True, True]

"""``crossenc compare --dataset`` with its runs in memory against streamed from disk.

One synthetic ``dataset.toml`` (a shared signal per run plus each subject's noise) is
written once; the comparison then runs on it in a fresh Python process per setting, side
by side: ``stream=False`` (every run in memory) and ``stream=True`` (runs read once into a
scratch file and memory-mapped, :mod:`sklearn_crossenc.jobs._storage`). Each process
samples its own memory every 20 ms from ``/proc/self/status``: the peak of ``RssAnon``
(memory the process owns: what must fit, and what an OOM killer counts) and of
``RssFile`` (pages of mapped files, which the kernel drops under pressure and reads again).
One JSON line per run: setting, wall seconds, peak anonymous and file-backed MiB, the
load average before and after, each model's mean score (the same in both settings).

    python benchmarks/bench_stream.py --out /tmp/bench-stream
    python benchmarks/bench_stream.py --out /tmp/bench-stream --load 1   # one busy core
    python benchmarks/bench_stream.py --subjects 16 --parcels 400 --runs 16 --trs 1000

``--load N`` keeps N busy-looping processes running during the measurements (a shared
machine). ``--models`` as ``compare --models`` (default: mean, ridge and the encoder's
quick settings, ``--full`` for its real ones).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc.data._describe import write_dataset  # noqa: E402

_CHILD = """
import json, sys, threading, time
peak = {"RssAnon": 0, "RssFile": 0}
def sample():
    while True:
        with open("/proc/self/status") as f:
            for line in f:
                key = line.split(":")[0]
                if key in peak:
                    peak[key] = max(peak[key], int(line.split()[1]))
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
from sklearn_crossenc.jobs.compare import run_comparison
t0 = time.perf_counter()
r = run_comparison(dataset=sys.argv[1], models=sys.argv[3].split(","), device="cpu",
                   quick=sys.argv[2] == "quick", n_resamples=200, stream=sys.argv[4] == "1",
                   n_threads=1)
wall = time.perf_counter() - t0
time.sleep(0.05)
print(json.dumps({"wall_s": round(wall, 1), "peak_anon_mib": round(peak["RssAnon"] / 1024),
                  "peak_file_mib": round(peak["RssFile"] / 1024),
                  "storage": r["config"]["storage"]["reason"],
                  "scores": {m: round(v["scores"]["test"]["mean"], 4)
                             for m, v in r["models"].items() if v["status"] == "ok"}}))
"""


def make(folder: Path, n_subjects: int, n_parcels: int, n_runs: int, n_trs: int) -> Path:
    rng = np.random.default_rng(0)
    keys = [f"run{i:02d}" for i in range(1, n_runs + 1)]
    runs = {k: (rng.standard_normal((1, n_trs, n_parcels), dtype=np.float32)
                + 1.5 * rng.standard_normal((n_subjects, n_trs, n_parcels), dtype=np.float32))
            for k in keys}  # (S, T, C)
    n_train = 3 * n_runs // 4
    return write_dataset(folder, runs, [f"{s:02d}" for s in range(1, n_subjects + 1)],
                         train=keys[:n_train], evaluate={"test": keys[n_train:]}, tr=2.0,
                         name="bench-stream")


def _busy() -> None:
    while True:
        pass


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--subjects", type=int, default=16)
    p.add_argument("--parcels", type=int, default=400)
    p.add_argument("--runs", type=int, default=16)
    p.add_argument("--trs", type=int, default=1000)
    p.add_argument("--models", default="mean,ridge,encoder")
    p.add_argument("--full", action="store_true", help="the encoder's real settings")
    p.add_argument("--load", type=int, default=0, help="busy processes during the runs")
    p.add_argument("--repeat", type=int, default=1, help="runs of each setting, alternated")
    args = p.parse_args(argv)
    env = environment_info("cpu")
    size = 4 * args.subjects * args.parcels * args.runs * args.trs / 2**20
    print(json.dumps({"machine": env.get("cpu"), "cores": os.cpu_count(),
                      "subjects": args.subjects, "parcels": args.parcels, "runs": args.runs,
                      "trs": args.trs, "runs_mib": round(size, 1), "models": args.models,
                      "quick": not args.full, "busy_processes": args.load}), flush=True)
    path = make(args.out / "dataset", args.subjects, args.parcels, args.runs, args.trs)
    busy = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for b in busy:
        b.start()
    try:
        for _ in range(args.repeat):
            for stream in (False, True):
                load_before = os.getloadavg()
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(path), "full" if args.full else "quick",
                     args.models, "1" if stream else "0"], capture_output=True, text=True,
                    cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT),
                                   "OMP_NUM_THREADS": "1"})
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    return 1
                row = {"stream": stream, **json.loads(done.stdout.strip().splitlines()[-1]),
                       "load_before": [round(x, 2) for x in load_before],
                       "load_after": [round(x, 2) for x in os.getloadavg()]}
                print(json.dumps(row), flush=True)
    finally:
        for b in busy:
            b.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())

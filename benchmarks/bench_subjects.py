"""``crossenc compare --dataset`` against the number of subjects: wall time and peak memory.

For each subject count a synthetic ``dataset.toml`` is written (a shared signal per run
plus each subject's noise, ``--parcels`` parcels, ``--runs`` runs of ``--trs`` time points:
two thirds train, the rest one evaluation set), then the comparison runs on it in a fresh
Python process (so that its peak resident memory is its own) and prints one JSON line:
subjects, wall seconds, peak RSS (MiB), the load average before and after, and each
model's mean score.

    python benchmarks/bench_subjects.py --out /tmp/bench-subjects
    python benchmarks/bench_subjects.py --subjects 4 8 16 32 --parcels 1000 --full

``--full`` fits the models with their real settings (default: ``quick``, a smoke run whose
scores are not meaningful; the cost's growth with the number of subjects is what is
measured).
"""

from __future__ import annotations

import argparse
import json
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
import json, resource, sys, time
from sklearn_crossenc.jobs.compare import run_comparison
t0 = time.perf_counter()
r = run_comparison(dataset=sys.argv[1], models=sys.argv[3].split(","), device="cpu",
                   quick=sys.argv[2] == "quick", n_resamples=200)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": round(wall, 1),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "scores": {m: round(v["scores"]["test"]["mean"], 3)
                             for m, v in r["models"].items() if v["status"] == "ok"}}))
"""


def make(folder: Path, n_subjects: int, n_parcels: int, n_runs: int, n_trs: int) -> Path:
    rng = np.random.default_rng(n_subjects)
    keys = [f"run{i:02d}" for i in range(1, n_runs + 1)]
    runs = {k: (rng.standard_normal((1, n_trs, n_parcels))
                + 1.5 * rng.standard_normal((n_subjects, n_trs, n_parcels))).astype(np.float32)
            for k in keys}  # (S, T, C)
    n_train = 2 * n_runs // 3
    return write_dataset(folder, runs, [f"{s:02d}" for s in range(1, n_subjects + 1)],
                         train=keys[:n_train], evaluate={"test": keys[n_train:]}, tr=2.0,
                         name=f"bench-{n_subjects}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--subjects", type=int, nargs="+", default=[4, 8, 16, 32])
    p.add_argument("--parcels", type=int, default=400)
    p.add_argument("--runs", type=int, default=12)
    p.add_argument("--trs", type=int, default=150)
    p.add_argument("--models", default="mean,ridge,encoder")
    p.add_argument("--full", action="store_true", help="real settings, not quick")
    args = p.parse_args(argv)
    env = environment_info("cpu")
    print(json.dumps({"machine": env.get("cpu"), "cores": os.cpu_count(),
                      "parcels": args.parcels, "runs": args.runs, "trs": args.trs,
                      "models": args.models, "quick": not args.full}))
    for n in args.subjects:
        path = make(args.out / f"s{n}", n, args.parcels, args.runs, args.trs)
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path),
                               "full" if args.full else "quick", args.models],
                              capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        row = {"subjects": n, **json.loads(done.stdout.strip().splitlines()[-1]),
               "process_s": round(time.perf_counter() - t0, 1),
               "load_before": [round(x, 2) for x in load_before],
               "load_after": [round(x, 2) for x in os.getloadavg()]}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Loader benchmark: time and peak memory of loading a whole dataset.

Compares, side by side and each in a fresh subprocess (so that peak RSS is its own):

- ``loaders``: ``load_friends(root)`` + ``load_movie10(root)`` (this package);
- ``h5py``: plain ``h5py`` reads (``dataset[:]``) of exactly the datasets the loaders
  return, kept in a list (the reference: the least any loader must do);
- ``seed``: the seed notebook's logic (read every run, then ``np.stack`` the truncated
  subjects), for the cost of stack-then-copy.

Peak memory is the process's peak RSS minus its RSS just before loading, divided by the
bytes returned. Usage::

    python benchmarks/bench_loaders.py --scale small          # generates the data once
    python benchmarks/bench_loaders.py --root /path/to/algonauts_2025.competitors
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("loaders", "h5py", "seed")


def _status_kb(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KB (Linux).

    ``VmHWM`` (peak RSS) is used rather than ``getrusage``'s ``ru_maxrss``, which a
    child inherits from its parent across fork/exec.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _selected(root, subjects):
    """(path, file key, n_times) of every run the loaders return, per run, in order."""
    from sklearn_crossenc.data._loaders import run_index
    from sklearn_crossenc.data._paths import friends_path, movie10_path

    out = []
    for kind, path_fn in (("friends", friends_path), ("movie10", movie10_path)):
        maps = run_index(root, subjects, kind)
        common = set.intersection(*(set(m) for m in maps.values()))
        for name in sorted(common, key=lambda n: maps[subjects[0]][n][0].sort_key):
            out.append([(path_fn(root, s), maps[s][name][0].file_key, maps[s][name][1])
                        for s in subjects])
    return out


def child(mode: str, root: str) -> dict:
    """Run one mode in this process and return its measurements."""
    import h5py
    import numpy as np

    from sklearn_crossenc.data import load_friends, load_movie10

    subjects = (1, 2, 3, 5)
    plan = _selected(root, subjects)  # every mode: also pages in h5py's code before `base`
    base = _status_kb("VmRSS")
    t0 = time.perf_counter()
    if mode == "loaders":
        arrays = list(load_friends(root).values()) + list(load_movie10(root).values())
    else:
        files = {}
        arrays = []
        try:
            for run in plan:
                per_sub = []
                for path, key, _ in run:
                    if path not in files:
                        files[path] = h5py.File(path, "r")
                    per_sub.append(files[path][key][:])
                if mode == "h5py":
                    arrays.extend(per_sub)
                else:  # seed: stack the truncated subjects (a copy)
                    n = min(len(x) for x in per_sub)
                    arrays.append(np.stack([x[:n] for x in per_sub]))
                    del per_sub
        finally:
            for f in files.values():
                f.close()
    elapsed = time.perf_counter() - t0
    peak = _status_kb("VmHWM")
    returned = sum(a.nbytes for a in arrays)
    return {
        "mode": mode,
        "seconds": elapsed,
        "returned_bytes": returned,
        "peak_rss_increase_bytes": (peak - base) * 1024,
        "n_arrays": len(arrays),
    }


def machine() -> dict:
    from sklearn_crossenc._environment import cpu_model, load_average

    cpu = cpu_model()
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    import h5py
    import numpy as np
    load = load_average()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "h5py": h5py.__version__, "torch": torch_version,
            "device": "cpu (loading is CPU and disk only)", "load_average": load}


def _warm_cache(root: Path) -> None:
    """Read every HDF5 file once so that all modes start from a warm page cache."""
    for p in sorted((root / "fmri").rglob("*.h5")):
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", help="dataset folder (default: a synthetic one of --scale)")
    ap.add_argument("--scale", default="small", choices=("tiny", "small", "full"))
    ap.add_argument("--repeat", type=int, default=5, help="runs per mode")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.root)))
        return 0

    if args.root:
        root = Path(args.root)
    else:
        from sklearn_crossenc.data import ensure_synthetic_dataset
        root = Path(tempfile.gettempdir()) / "sklearn_crossenc_bench" / f"{args.scale}-seed0"
        t0 = time.perf_counter()
        ensure_synthetic_dataset(root, scale=args.scale, random_state=0, progress=True)
        print(f"dataset: {root} (ready in {time.perf_counter() - t0:.1f} s)")
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    _warm_cache(root)

    results = {m: [] for m in MODES}
    for i in range(args.repeat):
        # Interleaved and rotated, so that drifting load and run order hit every mode alike.
        for mode in MODES[i % len(MODES):] + MODES[:i % len(MODES)]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--root", str(root)],
                check=True, capture_output=True, text=True, env={**os.environ,
                                                                "OMP_NUM_THREADS": "1"},
            )
            results[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))

    summary = {}
    for mode, runs in results.items():
        summary[mode] = {
            "seconds_min": min(r["seconds"] for r in runs),
            "seconds_median": statistics.median(r["seconds"] for r in runs),
            "returned_mb": runs[0]["returned_bytes"] / 1e6,
            "peak_mb": max(r["peak_rss_increase_bytes"] for r in runs) / 1e6,
        }
        s = summary[mode]
        s["peak_over_returned"] = s["peak_mb"] / s["returned_mb"]
    ref_min = summary["h5py"]["seconds_min"]
    ref_med = summary["h5py"]["seconds_median"]
    print(f"\n{args.repeat} runs per mode (interleaved, order rotated); time = best (median) "
          "of the runs; peak = max RSS increase over the runs\n")
    print("| mode | time (s) | time / h5py | returned (MB) | peak RSS increase (MB) "
          "| peak / returned |")
    print("|---|---|---|---|---|---|")
    for mode, s in summary.items():
        print(f"| {mode} | {s['seconds_min']:.2f} ({s['seconds_median']:.2f}) | "
              f"{s['seconds_min'] / ref_min:.2f} ({s['seconds_median'] / ref_med:.2f}) | "
              f"{s['returned_mb']:.0f} | {s['peak_mb']:.0f} | {s['peak_over_returned']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"root": str(root), "machine": info, "summary": summary, "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

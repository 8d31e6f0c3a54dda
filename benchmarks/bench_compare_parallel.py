"""The fair comparison on several processes and on a Dask cluster, against one process.

Runs ``crossenc compare``'s job (:func:`sklearn_crossenc.jobs.compare.run_comparison`) with
the same options three times: ``n_jobs=1``, ``n_jobs=2`` (joblib's local processes) and on a
local Dask cluster of 2 worker processes (its scheduler's address, as
``crossenc compare --scheduler`` takes it), prints the wall time of each, their ratio to
``n_jobs=1``, and whether every number (scores, tuning choices, repeats, intervals, maps)
equals the ``n_jobs=1`` run's.

    python benchmarks/bench_compare_parallel.py                      # --tune --repeats 2 --quick
    python benchmarks/bench_compare_parallel.py --data-dir DATA --no-quick

Prints the machine and its load first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc.jobs.compare import run_comparison  # noqa: E402
from sklearn_crossenc.report import to_jsonable  # noqa: E402
from sklearn_crossenc.report._files import _flat_maps  # noqa: E402


def comparable_numbers(result) -> str:
    """Every number of a comparison but its timings and parallel options (models,
    evaluation, ceiling), as ``report.json`` has them: one canonical JSON string.
    Also what ``tests/test_parallel_compare.py`` compares."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items()
                    if not (k.endswith("_s") or k in ("seconds", "n_jobs", "scheduler"))}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    keep = {k: result[k] for k in ("models", "evaluation", "ceiling")}
    return json.dumps(strip(to_jsonable(keep)), sort_keys=True)


def _same(a, b) -> bool:
    ma, mb = _flat_maps(a["maps"]), _flat_maps(b["maps"])
    return comparable_numbers(a) == comparable_numbers(b) and sorted(ma) == sorted(mb) and all(
        np.array_equal(ma[k], mb[k], equal_nan=True) for k in ma)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="default: the default dataset")
    parser.add_argument("--no-quick", dest="quick", action="store_false")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=None)
    args = parser.parse_args(argv)
    import dask
    import distributed

    print(json.dumps({"machine": environment_info("cpu"), "load_at_start": os.getloadavg()}))
    kw = dict(models=args.models, quick=args.quick, tune=True, repeats=args.repeats,
              n_threads=1, device="cpu")
    runs = {}
    with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
    with cluster:
        for name, extra in (("n_jobs=1", {"n_jobs": 1}), ("n_jobs=2", {"n_jobs": 2}),
                            ("dask 2 workers", {"scheduler": cluster.scheduler_address})):
            t0 = time.perf_counter()
            runs[name] = (run_comparison(args.data_dir, **kw, **extra),
                          time.perf_counter() - t0)
            print(f"{name}: {runs[name][1]:.1f} s", flush=True)
    base_result, base_s = runs["n_jobs=1"]
    print(f"load average at the end: {os.getloadavg()}")
    print("| run | wall (s) | against n_jobs=1 | same numbers |")
    print("|---|---:|---:|---|")
    for name, (result, wall) in runs.items():
        print(f"| {name} | {wall:.1f} | {base_s / wall:.2f}x | {_same(base_result, result)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

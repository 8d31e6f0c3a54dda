"""GridSearchCV of CrossSubjectEncoder: n_jobs=1 against a local 2-worker Dask cluster.

The same grid, folds and seeds run side by side in one process:

1. ``serial, 1 thread``: ``GridSearchCV(n_jobs=1)``, each fit on one torch thread
   (``n_threads=1``), the arithmetic a worker does;
2. ``serial, torch default threads``: ``n_jobs=1`` with torch's own intra-op threads
   (all cores), what a user gets without asking for parallelism;
3. ``dask``: ``n_jobs=-1`` inside :func:`sklearn_crossenc.distributed.dask_backend` on a
   ``LocalCluster`` of ``--workers`` processes with one thread each, the episodes
   scattered once. The cluster is started before the timer (its start-up is reported
   separately) and kept for the repeats.

Speed-ups are the serial wall times divided by the Dask one; the scores of (1) and (3)
must be identical (same seeds, same thread count), which the script checks.

The data is random but shaped like parcel fMRI episodes: a shared low-rank latent mixed
into parcels plus subject noise, ``--episodes`` episodes of ``--length`` TRs.

Examples
--------
Reduced size (seconds)::

    python benchmarks/bench_dask_grid.py --quick

The run reported in docs/scaling.md::

    python benchmarks/bench_dask_grid.py
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_crossenc import CrossSubjectEncoder, pearson_scorer  # noqa: E402
from sklearn_crossenc._environment import cpu_model, package_versions, usable_cores  # noqa: E402
from sklearn_crossenc.distributed import dask_backend, import_distributed  # noqa: E402


def machine_info() -> dict:
    import torch

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable cores": usable_cores(),
        "torch threads (default)": torch.get_num_threads(),
        "device": "cpu (device='cpu' for every fit)",
        "python": platform.python_version(),
        "versions": package_versions(
            ("torch", "scikit-learn", "joblib", "dask", "distributed", "skorch")),
    }


def make_episodes(n_episodes, n_subjects, length, n_parcels, seed=0) -> list[np.ndarray]:
    """Episodes (list of (S, T, C) float32) sharing a rank-8 latent, plus subject noise."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((8, n_parcels)) / np.sqrt(8)  # (K, C)
    out = []
    for _ in range(n_episodes):
        z = rng.standard_normal((1, length, 8))  # (1, T, K)
        x = z @ mix + rng.standard_normal((n_subjects, length, n_parcels))  # (S, T, C)
        out.append((0.5 * x).astype(np.float32))
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--episodes", type=int, default=12)
    p.add_argument("--subjects", type=int, default=4)
    p.add_argument("--length", type=int, default=200, help="TRs per episode")
    p.add_argument("--parcels", type=int, default=200)
    p.add_argument("--embed-dims", type=int, nargs="+", default=[16, 32, 64, 128])
    p.add_argument("--cv", type=int, default=2)
    p.add_argument("--samples-per-epoch", type=int, default=512)
    p.add_argument("--max-epochs", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="reduced size, to check the script")
    args = p.parse_args(argv)
    if args.quick:
        args.episodes, args.length, args.parcels = 6, 80, 32
        args.embed_dims, args.samples_per_epoch, args.max_epochs = [4, 8], 32, 1
    return args


def main(argv=None) -> int:
    from sklearn.model_selection import GridSearchCV, KFold

    args = parse_args(argv)
    import_distributed()
    X = make_episodes(args.episodes, args.subjects, args.length, args.parcels)
    base = dict(sample_length=min(64, args.length), samples_per_epoch=args.samples_per_epoch,
                max_epochs=args.max_epochs, batch_size=16, device="cpu", random_state=0)
    grid = {"embed_dim": args.embed_dims}
    n_fits = len(args.embed_dims) * args.cv

    def search(n_jobs, n_threads):
        return GridSearchCV(CrossSubjectEncoder(**base, n_threads=n_threads), grid,
                            scoring=pearson_scorer, cv=KFold(args.cv), n_jobs=n_jobs,
                            refit=False)

    info = machine_info()
    print("machine:")
    for k, v in info.items():
        print(f"  {k}: {v}")
    print(f"load average before: {os.getloadavg()}")
    print(f"data: {args.episodes} episodes x {args.subjects} subjects x {args.length} TRs x "
          f"{args.parcels} parcels ({sum(x.nbytes for x in X) / 1e6:.1f} MB)")
    print(f"grid: embed_dim={args.embed_dims} x {args.cv} folds = {n_fits} fits; "
          f"{args.max_epochs} epochs x {args.samples_per_epoch} clips of {base['sample_length']}")

    times: dict[str, list[float]] = {"serial, 1 thread": [], "serial, torch default threads": [],
                                     f"dask, {args.workers} workers x 1 thread": []}
    scores = {}
    t0 = time.perf_counter()
    with dask_backend(n_workers=args.workers, scatter=(X,)) as client:
        client.wait_for_workers(args.workers)
        startup = time.perf_counter() - t0
        # Round 0 warms up (imports and first calls here and on the workers); not timed.
        first = {}
        for round_ in range(args.repeats + 1):
            for label, n_jobs, n_threads in (
                ("serial, 1 thread", 1, 1),
                ("serial, torch default threads", 1, None),
                (f"dask, {args.workers} workers x 1 thread", -1, 1),
            ):
                t = time.perf_counter()
                res = search(n_jobs, n_threads).fit(X).cv_results_
                if round_:
                    times[label].append(time.perf_counter() - t)
                else:
                    first[label] = time.perf_counter() - t
                scores[label] = res["mean_test_score"]
    print(f"load average after: {os.getloadavg()}")
    dask_label = f"dask, {args.workers} workers x 1 thread"
    same = np.array_equal(scores["serial, 1 thread"], scores[dask_label])
    ref = min(times[dask_label])
    print(f"\ncluster start-up (not in the times below): {startup:.1f} s")
    print("first (warm-up) round, not in the times below: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in first.items()))
    print(f"\n| run | wall (s, best of {args.repeats}) | speed-up of dask |")
    print("|---|---|---|")
    for label, ts in times.items():
        print(f"| {label} | {min(ts):.1f} | {min(ts) / ref:.2f}x |")
    print(f"\nmean test scores: {np.round(scores[dask_label], 4).tolist()}")
    print(f"dask scores identical to serial (1 thread): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

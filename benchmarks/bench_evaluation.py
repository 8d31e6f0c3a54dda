"""Time the evaluation step at full size: run statistics, 2000-resample intervals, paired tests.

Full-size Friends s6 evaluation set: 49 runs present for all 4 subjects, 427-591 TRs,
1000 parcels (random data of that shape: the cost does not depend on the values), and
``--models`` models. Times (1) :func:`run_statistics` per model, (2) one joint
:func:`bootstrap_scores` of all models, (3) :func:`paired_comparison` of the first model
against each other one (per-parcel tests and BH included).

    python benchmarks/bench_evaluation.py --models 4 --resamples 2000
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sklearn_crossenc._environment import environment_info
from sklearn_crossenc.evaluation import bootstrap_scores, paired_comparison, run_statistics


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=4)
    ap.add_argument("--runs", type=int, default=49)
    ap.add_argument("--parcels", type=int, default=1000)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(json.dumps(environment_info()))
    print(json.dumps(vars(args)))
    rng = np.random.default_rng(args.seed)
    lengths = rng.integers(427, 592, args.runs)
    y = [rng.standard_normal((4, t, args.parcels), dtype=np.float32) for t in lengths]
    stats, t_stats = {}, 0.0
    for m in range(args.models):
        pred = [ep + rng.standard_normal(ep.shape, dtype=np.float32) for ep in y]
        t0 = time.perf_counter()
        stats[f"model{m}"] = run_statistics(y, pred)
        t_stats += time.perf_counter() - t0
        del pred
    t0 = time.perf_counter()
    bootstrap_scores(stats, n_resamples=args.resamples, random_state=0)
    t_boot = time.perf_counter() - t0
    names = list(stats)
    t0 = time.perf_counter()
    for other in names[1:]:
        paired_comparison(stats[names[0]], stats[other], n_resamples=args.resamples,
                          random_state=0)
    t_pair = time.perf_counter() - t0
    n_tr = int(lengths.sum())
    print(f"{args.runs} runs, {n_tr} TRs x 4 subjects x {args.parcels} parcels, "
          f"{args.models} models, {args.resamples} resamples")
    print(f"run_statistics, all models:            {t_stats:7.2f} s")
    print(f"bootstrap_scores, all models jointly:  {t_boot:7.2f} s")
    print(f"paired_comparison x {len(names) - 1}:                {t_pair:7.2f} s")
    print(f"total:                                 {t_stats + t_boot + t_pair:7.2f} s")
    print(json.dumps({"load_average_after": list(np.round(__import__('os').getloadavg(), 2))}))


if __name__ == "__main__":
    main()

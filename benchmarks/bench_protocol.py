"""How the protocol decides the verdict: the comparison under each way of training the encoder.

Runs ``crossenc compare``'s job (:func:`sklearn_crossenc.jobs.compare.run_comparison`) on
one dataset once per protocol variant and prints, side by side, the encoder's and the
ridge's scores, the encoder-minus-ridge line of the paired table, the encoder's chosen
epochs and the wall time of each run:

- ``fixed``: the notebook's fixed 10 epochs (the default before issue 19);
- ``early``: early stopping on the last of the protocol's tuning folds, the early-stopped
  model evaluated (``--no-refit``);
- ``early+refit``: the same, then trained again on every training run for the chosen epochs
  (the default);
- ``tune``: ``--tune`` (grid search over the registry's grid on the tuning folds);
- ``repeats``: the default with ``--repeats 3``.

    python benchmarks/bench_protocol.py --variants fixed early early+refit
    python benchmarks/bench_protocol.py --data-dir /tmp/synth-seed1 --variants early tune

Prints the machine and its load first, a JSON line per run, then the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc.jobs.compare import run_comparison  # noqa: E402

VARIANTS = {
    "fixed": {"early_stopping": None},
    "early": {"refit": False},
    "early+refit": {"refit": True},
    "tune": {"tune": True},
    "repeats": {"repeats": 3},
}
REF, BASE = "CrossSubjectEncoder", "CrossSubjectRidge"


def _row(name: str, result: dict, wall: float) -> dict:
    models, ev = result["models"], result["evaluation"] or {}
    enc = models[REF]
    out = {"variant": name, "wall_s": wall, "encoder_fit_s": enc["fit_s"],
           "chosen": [r["chosen"].get("best_epoch") for r in enc.get("repeats", [])]}
    for key in result["eval_sets"]:
        out[f"encoder {key}"] = enc["scores"][key]["mean"]
        if BASE in models and models[BASE]["status"] == "ok":
            out[f"ridge {key}"] = models[BASE]["scores"][key]["mean"]
        pair = [r for r in (ev.get("pairwise") or {}).get(key, []) if r["b"] == BASE]
        if pair:
            p = pair[0]
            out[f"diff {key}"] = (f"{p['difference']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}] "
                                  f"p {p['p_value']:.2g}, {p['n_better']}/{p['n_worse']}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="default: the default dataset")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--models", nargs="+", default=None,
                        help="models of each run (default all)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args(argv)
    print(json.dumps({"machine": environment_info("cpu"), "load_at_start": os.getloadavg()}))
    rows = []
    for name in args.variants:
        t0 = time.perf_counter()
        result = run_comparison(args.data_dir, models=args.models, device="cpu",
                                n_threads=args.threads, random_state=args.random_state,
                                **VARIANTS[name])
        rows.append(_row(name, result, time.perf_counter() - t0))
        print(json.dumps(rows[-1]), flush=True)
    print(f"load average at the end: {os.getloadavg()}")
    keys = list(dict.fromkeys(k for r in rows for k in r))
    for r in rows:
        print(" | ".join(f"{k}: {r.get(k):.3f}" if isinstance(r.get(k), float)
                         else f"{k}: {r.get(k)}" for k in keys))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

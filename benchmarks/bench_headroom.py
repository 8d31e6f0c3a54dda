"""``crossenc headroom`` on a stimulus model of known quality, with and without ``--ceiling``.

1. Fits ``FeatureRidge`` (the development kit's stimulus-feature ridge, alphas by
   cross-validation on the protocol's tuning folds) on the training runs and writes its
   predictions of the evaluation runs in the challenge's submission format (``.npy``,
   ``{"sub-01": {"s06e01a": (T, parcels)}}``), plus a degraded copy (half the signal
   replaced by noise: a model known to be worse).
2. Runs the headroom job on both files, training the ceiling (``headroom``), then again
   reading the ceiling from the first run's output (``headroom --ceiling``), and prints the
   wall time of each, side by side, with the machine and its load.

    python benchmarks/bench_headroom.py --out /tmp/bench-headroom
    python benchmarks/bench_headroom.py --data-dir /tmp/synth-seed1 --out /tmp/bh-seed1

Prints a JSON line per run and the table of headroom numbers (docs/headroom.md).
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
from sklearn_crossenc.data import default_data_dir  # noqa: E402
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL, load_sets  # noqa: E402
from sklearn_crossenc.jobs._registry import REGISTRY, JobSettings  # noqa: E402
from sklearn_crossenc.jobs.headroom import run_headroom  # noqa: E402
from sklearn_crossenc.report import write_report  # noqa: E402


def _challenge_key(run: str) -> str:
    return run + "_run-1" if run.startswith(("figures", "life")) else run


def write_feature_predictions(root: Path, out: Path, n_threads: int) -> dict:
    """FeatureRidge's evaluation predictions as submission files: ``{name: path}``."""
    spec = REGISTRY["feature"]
    sets, data, _ = load_sets(root, SEED_PROTOCOL, False, lambda m: None)
    settings = JobSettings(cv=SEED_PROTOCOL.tuning_cv(), n_threads=n_threads)
    X, y = spec.inputs.build(root, sets["train"])
    t0 = time.perf_counter()
    est = spec.make(spec.params(settings)).fit(X, y)
    fit_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    good = {lab: {} for lab in data["subject_labels"]}
    bad = {lab: {} for lab in data["subject_labels"]}
    for key in SEED_PROTOCOL.eval_sets:
        Xe, ye = spec.inputs.build(root, sets[key])
        pred = spec.inputs.predict(est, Xe, ye)
        for run, p in zip(sets[key], pred, strict=True):  # (S, T, C)
            noise = rng.standard_normal(p.shape) * p.std(axis=1, keepdims=True)
            for s, lab in enumerate(data["subject_labels"]):
                good[lab][_challenge_key(run)] = p[s].astype(np.float32)
                bad[lab][_challenge_key(run)] = (0.5 * p[s] + noise[s]).astype(np.float32)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"FeatureRidge_submission": out / "FeatureRidge_submission.npy",
             "degraded": out / "degraded.npy"}
    np.save(paths["FeatureRidge_submission"], good)
    np.save(paths["degraded"], bad)
    print(json.dumps({"step": "FeatureRidge fit", "fit_s": fit_s}), flush=True)
    return paths


def _rows(result: dict, label: str, wall: float) -> list[dict]:
    rows = []
    for model in result["user_models"]:
        for key, h in result["headroom"][model].items():
            part = result["partition"][model][key]
            sc = result["models"][model]["scores"][key]
            rows.append({
                "run": label, "wall_s": round(wall, 1), "model": model, "set": key,
                "model_r": sc["mean"], "challenge": sc["challenge"],
                "ceiling_r": result["models"][result["ceiling_model"]["name"]]["scores"][key][
                    "mean"],
                "headroom": h["mean"], "interval": h["interval"], "p": h["p"],
                "ratio": [h["ratio"]["estimate"], h["ratio"]["low"], h["ratio"]["high"]],
                "below": h["parcels_below"], "above": h["parcels_above"],
                "unique_model": part["unique_model"], "shared": part["shared"],
                "unique_ceiling": part["unique_ceiling"]})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, required=True, help="scratch folder (created)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    root = (args.data_dir or default_data_dir()).resolve()
    print(json.dumps({"machine": environment_info("cpu"), "load": os.getloadavg(),
                      "data": str(root)}), flush=True)
    files = write_feature_predictions(root, args.out / "predictions", args.threads)
    rows = []
    for label, ceiling in (("headroom", None), ("headroom --ceiling", args.out / "first")):
        load = os.getloadavg()
        t0 = time.perf_counter()
        result = run_headroom(files, root, ceiling=ceiling, n_threads=args.threads)
        wall = time.perf_counter() - t0
        if ceiling is None:
            write_report(result, args.out / "first", figures=False)
        rows += _rows(result, label, wall)
        print(json.dumps({"run": label, "wall_s": wall, "load_at_start": load}), flush=True)
    for row in rows:
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

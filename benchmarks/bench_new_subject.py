"""Benchmark: a fifth subject added to an encoder trained on three, from a few minutes of data.

On the synthetic dataset (``small`` scale, cached under ``.bench/synthetic-small``):
``CrossSubjectEncoder`` (its defaults, the seed's schedule, ``random_state=0``) is trained
on subjects 1, 2, 3 (Friends s1-5); subject 5 is then added with ``SubjectAdder`` from
1, 5, 15, 60 minutes and all of their Friends s1-5 data (decoder alpha chosen by
``GridSearchCV``, 5 folds) and scored on Friends s6 and Movie10 run 1. Side by side at
the same budgets: ``CrossSubjectRidge`` for subject 5 from the three others' mean,
``MeanOfOthers``, and the encoder trained from scratch on all four subjects with all the
data (the reference). Prints the machine, the table and the targets; writes a JSON and a
learning-curve figure.

Usage::

    python benchmarks/bench_new_subject.py                       # the full benchmark
    python benchmarks/bench_new_subject.py --data-dir DIR --json out.json --figure out.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc._io import atomic_path, atomic_write_json  # noqa: E402
from sklearn_crossenc.data import TR, ensure_synthetic_dataset  # noqa: E402
from sklearn_crossenc.jobs.new_subject import (  # noqa: E402
    run_new_subject,
)
from sklearn_crossenc.report import format_learning_curve  # noqa: E402

DEFAULT_CACHE = REPO / ".bench" / "synthetic-small"
BUDGETS = (1, 5, 15, 60, None)
SETS = {"friends_s6": "Friends s6", "movie10_run1": "Movie10 run 1"}


def targets(res: dict) -> dict:
    """The issue's three targets, each with the numbers it was judged on."""
    ref = res["reference"]
    rows = {row["minutes"]: row for row in res["budgets"]}
    five = rows[5]["added"]
    ratio = {k: five[k] / ref[k] for k in SETS}
    above = {
        f"{row['minutes']} min {k}": (row["added"][k], row["ridge"][k])
        for row in res["budgets"] if row["minutes"] is not None and row["minutes"] <= 30
        for k in SETS
    }
    add_times = [row["added"]["add_time_s"] for row in res["budgets"]]
    return {
        "five_min_ratio_to_reference": ratio,
        "five_min_at_least_90pct": all(r >= 0.9 for r in ratio.values()),
        "added_vs_ridge_up_to_30min": above,
        "above_ridge_up_to_30min": all(a > r for a, r in above.values()),
        "add_time_s_max": max(add_times),
        "adding_takes_seconds": max(add_times) < 10.0,
    }


def figure(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_min = res["available_trs"] * TR / 60.0
    x = [all_min if row["minutes"] is None else row["minutes"] for row in res["budgets"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (key, title) in zip(axes, SETS.items(), strict=True):
        ax.plot(x, [r["added"][key] for r in res["budgets"]], "o-", label="SubjectAdder")
        ax.plot(x, [r["ridge"][key] for r in res["budgets"]], "s-", label="CrossSubjectRidge")
        ax.axhline(res["mean_of_others"][key], color="grey", ls=":", label="MeanOfOthers")
        ax.axhline(res["reference"][key], color="k", ls="--", label="reference (all data)")
        ax.axhline(0.9 * res["reference"][key], color="k", ls=":", lw=0.8, label="90% reference")
        ax.set_xscale("log")
        ax.set_xlabel(f"minutes of subject {res['new_subject']}'s data (last point: all)")
        ax.set_title(f"subject {res['new_subject']}, {title}")
    axes[0].set_ylabel("Pearson r (mean over parcels)")
    axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, help="dataset (default: cached synthetic small)")
    p.add_argument("--json", default=str(REPO / ".bench" / "new_subject.json"))
    p.add_argument("--figure", default=str(REPO / "docs" / "img" / "new_subject_curve.png"))
    args = p.parse_args(argv)
    machine = environment_info("cpu")
    print("machine:", json.dumps(machine))
    data_dir = args.data_dir or ensure_synthetic_dataset(DEFAULT_CACHE, scale="small")[0]
    t0 = time.perf_counter()
    res = run_new_subject(data_dir, budgets_min=BUDGETS, reference=True, log=print)
    res["wall_time_s"] = time.perf_counter() - t0
    res["machine"], res["machine_after"] = machine, environment_info("cpu")
    res["targets"] = targets(res)
    print(format_learning_curve(res))
    print("frozen encoder, subjects", res["fitted_subjects"], res["frozen"])
    for row in res["budgets"]:
        print(f"with the new subject's encoder, {row['minutes'] or 'all'} min:",
              {k: round(v, 4) for k, v in row["added_encoder"].items()})
    print(f"encoder fit (3 subjects): {res['encoder_fit_time_s']:.1f} s; "
          f"reference fit: {res['reference']['fit_time_s']:.1f} s")
    print("targets:", json.dumps(res["targets"], indent=1))
    atomic_write_json(args.json, res, indent=1, default=_jsonable)
    figure(res, Path(args.figure))
    print("wrote", args.json, "and", args.figure)
    return res


def _jsonable(obj):
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return str(obj)


if __name__ == "__main__":
    main()

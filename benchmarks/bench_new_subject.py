"""Benchmark: a fifth subject added to an encoder trained on three, from a few minutes of data.

On a synthetic dataset (``small`` scale; the default dataset, data seed 0, generated once
into the package's cache, ``$CROSSENC_CACHE``): ``CrossSubjectEncoder`` (the jobs'
settings: the seed's schedule, ``random_state=0``) is trained on subjects 1, 2, 3 (Friends
s1-5); subject 5 is then added with ``SubjectAdder`` from 1, 5, 15, 60 minutes and all of
their Friends s1-5 data (``run_new_subject``: decoder shrunk toward the group's, prior
weight and strength by cross-validation over runs) and scored on Friends s6 and Movie10
run 1 (the job's default: a temporal kernel, taps -2 .. 2, and the empirical-Bayes prior,
every choice by CV on the budget's runs). Side by side in the same run, at the same budgets
and on the same frozen encoder:

* the **previous method** (issue 30's "before", issue 21's method): no kernel, the decoder
  shrunk toward ``w W0`` with an isotropic penalty, ``w`` and alpha by the same CV;
* the **group prior alone** (no data of the new subject);
* **variants**: the kernel with the previous penalty, the empirical-Bayes prior without
  kernel, the kernel always fitted (no CV against none);
* ``CrossSubjectRidge`` for subject 5 from the others' mean, ``MeanOfOthers``, and the
  encoder trained from scratch on all four subjects with all the data (the reference).

For the default dataset (data seed 0) it also prints the numbers recorded in
docs/new-subject.md before issue 30. Prints the machine, the tables and issue 30's
targets; writes a JSON and a learning-curve figure (scores, and the chosen kernels).

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/bench_new_subject.py              # seed 0
    OMP_NUM_THREADS=1 nice python benchmarks/bench_new_subject.py --data-seed 1
    ... --encoder-cache /tmp/DIR    # the trained encoders kept between runs
    python benchmarks/bench_new_subject.py --data-dir DIR --json out.json --figure out.png
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc._io import atomic_path, atomic_write_json  # noqa: E402
from sklearn_crossenc.data import TR, ensure_default_dataset  # noqa: E402
from sklearn_crossenc.jobs import new_subject as job  # noqa: E402
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL  # noqa: E402
from sklearn_crossenc.report import format_learning_curve  # noqa: E402
from sklearn_crossenc.report._learning_curve import kernel_cell, strength_cell  # noqa: E402

BUDGETS = (1, 5, 15, 60, None)
SETS = {"friends_s6": "Friends s6", "movie10_run1": "Movie10 run 1"}
#: docs/new-subject.md before issue 30 (default dataset, data seed 0, runs of record of
#: 2026-12-06): SubjectAdder (no kernel, isotropic penalty) on Friends s6 and Movie10 run 1.
RECORDED_BEFORE = {1: (0.412, 0.385), 5: (0.419, 0.391), 15: (0.433, 0.404),
                   60: (0.452, 0.420), None: (0.467, 0.435)}
#: The previous method: SubjectAdder before issue 30.
PREVIOUS = {"prior": "isotropic", "kernel_delays": (0,)}
VARIANT_BUDGETS = (1, 5, None)
VARIANTS = {
    "temporal kernel + the previous (isotropic) penalty": {"prior": "isotropic"},
    "empirical-Bayes prior, no kernel": {"kernel_delays": (0,)},
    "temporal kernel always fitted (no CV against none)": {"kernel": "fitted"},
}


@contextlib.contextmanager
def keep_encoders(store: list, cache_dir=None, tag: str = ""):
    """Record the encoders the job trains (the frozen one first, then the reference).

    With ``cache_dir``, each encoder (and the seconds its training took) is pickled there
    once, keyed by the dataset ``tag``, what it was trained on and its parameters, and
    loaded by the next run instead of trained again. A cache of this script's own files:
    give a private folder (``/tmp/...``), never one others can write into.
    """
    import hashlib
    import pickle

    fit = job._fit_encoder

    def recording(train, params, log, what):
        path = None
        if cache_dir is not None:
            key = json.dumps([tag, what, job._jsonable_params(params),
                              [ep.shape for ep in train]], sort_keys=True, default=str)
            path = Path(cache_dir) / f"encoder-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"
        if path is not None and path.exists():
            with open(path, "rb") as f:
                enc, seconds = pickle.load(f)  # written by this script below
            log(f"loaded the encoder of {what} from {path} (trained in {seconds:.1f} s)")
        else:
            enc, seconds = fit(train, params, log, what)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path, suffix=".pkl") as tmp, open(tmp, "wb") as f:
                    pickle.dump((enc, seconds), f)
        store.append(enc)
        return enc, seconds

    job._fit_encoder = recording
    try:
        yield store
    finally:
        job._fit_encoder = fit


def _score(adder, eval_data) -> dict:
    return {k: float(adder.score_map(eps)[-1].mean()) for k, eps in eval_data.items()}


def side_by_side(enc, data_dir, res: dict) -> dict:
    """The previous method, the prior alone and the variants on the job's frozen encoder."""
    from sklearn_crossenc.encoder import SubjectAdder

    data, _ = job._load(data_dir, SEED_PROTOCOL, res["new_subject"], False, lambda m: None)
    eval_data = {k: data[k] for k in SETS}
    empty = [ep[:, :0] for ep in data["train_all"][:1]]
    out = {"prior_alone": _score(SubjectAdder(enc).fit(empty), eval_data),
           "previous": {}, "variants": {name: {} for name in VARIANTS}}
    for minutes in BUDGETS:
        train = job.take_budget(data["train_all"], job.budget_trs(minutes))
        t0 = time.perf_counter()
        old = SubjectAdder(enc, **PREVIOUS).fit(train)
        out["previous"][str(minutes)] = {**_score(old, eval_data), "alpha": old.alpha_,
                                         "prior_weight": old.prior_weight_,
                                         "fit_s": time.perf_counter() - t0}
        if minutes not in VARIANT_BUDGETS:
            continue
        for name, params in VARIANTS.items():
            est = SubjectAdder(enc, **params).fit(train)
            out["variants"][name][str(minutes)] = {**_score(est, eval_data),
                                                   **job._chosen(est)}
    return out


def _budget(minutes) -> str:
    return "all" if minutes is None else f"{minutes:g} min"


def comparison_table(res: dict, extra: dict, recorded: bool) -> str:
    """New beside previous (same run) and, for the default dataset, the recorded numbers."""
    head = ["budget", "TRs", "new s6", "new m10", "previous s6", "previous m10"]
    head += ["recorded before s6", "recorded before m10"] if recorded else []
    head += ["ridge s6", "ridge m10", "mean of others s6", "mean of others m10",
             "% of reference s6", "% of reference m10", "kernel", "strength"]
    ref, mean = res["reference"], res["mean_of_others"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in res["budgets"]:
        a, r, m = row["added"], row["ridge"], row["minutes"]
        old = extra["previous"][str(m)]
        cells = [_budget(m), str(row["n_trs"])] + [f"{a[k]:.3f}" for k in SETS]
        cells += [f"{old[k]:.3f}" for k in SETS]
        cells += [f"{v:.3f}" for v in RECORDED_BEFORE[m]] if recorded else []
        cells += [f"{r[k]:.3f}" for k in SETS] + [f"{mean[k]:.3f}" for k in SETS]
        cells += [f"{100 * a[k] / ref[k]:.1f}" for k in SETS]
        cells += [kernel_cell(a), strength_cell(a)]
        lines.append("| " + " | ".join(cells) + " |")
    prior = extra["prior_alone"]
    lines.append("| 0 (group prior alone) | 0 | " + " | ".join(f"{prior[k]:.3f}" for k in SETS)
                 + " |" + " |" * (len(head) - 4))
    return "\n".join(lines)


def variants_table(extra: dict) -> str:
    head = ["variant"] + [f"{_budget(m)} {s}" for m in VARIANT_BUDGETS for s in ("s6", "m10")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rows in extra["variants"].items():
        cells = [f"{rows[str(m)][k]:.3f}" for m in VARIANT_BUDGETS for k in SETS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(res: dict, extra: dict) -> dict:
    """Issue 30's targets, each with the numbers it was judged on."""
    ref, prior = res["reference"], extra["prior_alone"]
    rows = {row["minutes"]: row for row in res["budgets"]}
    ratio = {k: rows[5]["added"][k] / ref[k] for k in SETS}
    ratio_all = {k: rows[None]["added"][k] / ref[k] for k in SETS}
    per_budget = {f"{_budget(row['minutes'])} {k}": (row["added"][k], prior[k], row["ridge"][k])
                  for row in res["budgets"] for k in SETS}
    return {
        "five_min_ratio_to_reference": ratio,
        "five_min_at_least_91.5pct": all(r >= 0.915 for r in ratio.values()),
        "all_data_ratio_to_reference": ratio_all,
        "all_data_at_least_100pct": all(r >= 1.0 for r in ratio_all.values()),
        "added_prior_ridge_per_budget": per_budget,
        "at_least_the_prior_alone_everywhere": all(a >= p for a, p, _ in per_budget.values()),
        "above_ridge_everywhere": all(a > r for a, _, r in per_budget.values()),
        "search_and_fit_time_s": {_budget(row["minutes"]): (row["added"]["search_time_s"],
                                                            row["added"]["add_time_s"])
                                  for row in res["budgets"]},
    }


def figure(res: dict, extra: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    all_min = res["available_trs"] * TR / 60.0
    x = [all_min if row["minutes"] is None else row["minutes"] for row in res["budgets"]]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3),
                             gridspec_kw={"width_ratios": [1, 1, 0.8]})
    for ax, (key, title) in zip(axes[:2], SETS.items(), strict=True):
        ax.plot(x, [r["added"][key] for r in res["budgets"]], "o-",
                label="SubjectAdder (kernel + empirical Bayes)")
        for xi, r in zip(x, res["budgets"], strict=True):
            ax.annotate(strength_cell(r["added"]).split(" (")[0], (xi, r["added"][key]),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=6)
        ax.plot(x, [extra["previous"][str(r["minutes"])][key] for r in res["budgets"]], "o--",
                color="tab:blue", alpha=0.45, label="SubjectAdder before issue 30")
        ax.plot(x, [r["ridge"][key] for r in res["budgets"]], "s-", label="CrossSubjectRidge")
        ax.axhline(extra["prior_alone"][key], color="tab:blue", ls=":", lw=1,
                   label="group prior alone (no data)")
        ax.axhline(res["mean_of_others"][key], color="grey", ls=":", label="MeanOfOthers")
        ax.axhline(res["reference"][key], color="k", ls="--", label="reference (all data)")
        ax.axhline(0.915 * res["reference"][key], color="k", ls=":", lw=0.8,
                   label="91.5% reference")
        ax.set_xscale("log")
        ax.set_xlabel(f"minutes of subject {res['new_subject']}'s data (last point: all)")
        ax.set_title(f"subject {res['new_subject']}, {title}")
    axes[0].set_ylabel("Pearson r (mean over parcels)")
    lims = [ax.get_ylim() for ax in axes[:2]]
    for ax in axes[:2]:  # one scale for both sets
        ax.set_ylim(min(lo for lo, _ in lims), max(hi for _, hi in lims))
    axes[1].legend(loc="lower right", fontsize=7)
    taps = res["budgets"][0]["added"]["kernel_delays"]
    for r in res["budgets"]:
        a = r["added"]
        axes[2].plot(taps, a["kernel"], "o-", label=f"{_budget(r['minutes'])}"
                     + ("" if a["kernel_fitted"] else " (none)"))
    axes[2].set_xticks(taps)
    axes[2].set_xlabel("tap (TRs; positive: the past)")
    axes[2].set_ylabel("weight (taps sum to 1)")
    axes[2].set_title("the chosen temporal kernel")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _arguments(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None,
                   help="dataset (default: the cached synthetic 'small' set of --data-seed)")
    p.add_argument("--data-seed", type=int, default=0,
                   help="data seed of the default synthetic dataset (default 0)")
    p.add_argument("--json", default=None, help="default: .bench/new_subject-<dataset>.json")
    p.add_argument("--encoder-cache", default=None,
                   help="a private folder where the trained encoders are kept between runs "
                        "(default: none, every run trains them)")
    p.add_argument("--figure", default=None,
                   help="default: docs/img/new_subject_curve.png for the default dataset, "
                        "else .bench/new_subject_curve-<dataset>.png")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = _arguments(argv)
    default = args.data_dir is None and args.data_seed == 0
    tag = Path(args.data_dir).name if args.data_dir else f"small-seed{args.data_seed}"
    json_path = Path(args.json or REPO / ".bench" / f"new_subject-{tag}.json")
    fig_path = Path(args.figure or (REPO / "docs" / "img" / "new_subject_curve.png" if default
                                    else REPO / ".bench" / f"new_subject_curve-{tag}.png"))
    machine = environment_info("cpu")
    print("machine:", json.dumps(machine))
    data_dir = args.data_dir or ensure_default_dataset(scale="small", data_seed=args.data_seed,
                                                       log=print)
    print("dataset:", data_dir)
    t0 = time.perf_counter()
    with keep_encoders([], args.encoder_cache, tag) as encoders:
        res = job.run_new_subject(data_dir, budgets_min=BUDGETS, reference=True, log=print)
    extra = side_by_side(encoders[0], data_dir, res)
    res["wall_time_s"] = time.perf_counter() - t0
    res["side_by_side"] = extra
    res["machine"], res["machine_after"] = machine, environment_info("cpu")
    res["targets"] = targets(res, extra)
    print(format_learning_curve(res))
    print("\nNew method beside the previous one (same run, same frozen encoder)"
          + (" and the numbers recorded before issue 30:" if default else ":"))
    print(comparison_table(res, extra, recorded=default))
    print("\nVariants (same CV on the budget's runs, same frozen encoder):")
    print(variants_table(extra))
    print("\nfrozen encoder, subjects", res["fitted_subjects"], res["frozen"])
    for row in res["budgets"]:
        print(f"with the new subject's encoder, {_budget(row['minutes'])}:",
              {k: round(v, 4) for k, v in row["added_encoder"].items()})
    print(f"encoder fit (3 subjects): {res['timings']['encoder_fit_s']:.1f} s; "
          f"reference fit: {res['reference']['fit_time_s']:.1f} s; "
          f"wall time {res['wall_time_s']:.0f} s")
    print("targets:", json.dumps(res["targets"], indent=1))
    atomic_write_json(json_path, res, indent=1, default=_jsonable)
    figure(res, extra, fig_path)
    print("wrote", json_path, "and", fig_path)
    return res


def _jsonable(obj):
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return str(obj)


if __name__ == "__main__":
    main()

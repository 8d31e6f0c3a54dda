"""CrossSubjectRidge against scikit-learn's RidgeCV(alpha_per_target=True), side by side.

Both fit, for every target subject, a multi-target ridge from the mean of the other
subjects (all parcels) to the subject's parcels, choosing alpha per parcel from the same
grid. What each does to choose alpha:

- ``CrossSubjectRidge``: ``cv``-fold cross-validation over *episodes* (R^2 averaged over
  folds), then a refit on all episodes. One pass over the data per subject builds
  per-fold sufficient statistics; one eigen-decomposition per fold serves all alphas and
  parcels.
- ``RidgeCV(alpha_per_target=True)``: efficient leave-one-out over *time points*
  (generalised cross-validation, squared error), float64 only. Its cost per alpha grows
  with the number of time points.

The data is random but structured like parcel fMRI: a smooth shared latent time course
mixed into parcels by subject-specific weights, plus autocorrelated subject noise, per
parcel signal strength from near zero to strong, parcel std 0.4-0.6, cut into episodes
of ``--episode-length`` TRs. A held-out set of episodes gives each model's test Pearson
score, so that the speed comparison is made at comparable accuracy.

At full scale (120k time points x 1000 parcels x 4 subjects) RidgeCV needs tens of
minutes on a small machine. ``--reference-n-times`` and ``--reference-subjects`` run it
on a part of the problem; the script then also times ``CrossSubjectRidge`` on exactly
that part (a strict side-by-side ratio) and reports the reference's full-problem time
extrapolated, marked as such: linearly in subjects (one independent fit each) and along
the line through RidgeCV's times on the part and on half of it (its cost is affine in
time points: n * P * (P + C) per alpha plus a fixed (P, P) part).

Examples
--------
Small, both measured on the whole problem (about a minute on 2 cores)::

    python benchmarks/bench_ridge.py --n-times 12000 --n-parcels 500

Full scale, RidgeCV on a tenth of the time points of one subject::

    python benchmarks/bench_ridge.py --reference-n-times 12000 --reference-subjects 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn_crossenc._environment import cpu_model, package_versions, usable_cores  # noqa: E402
from sklearn_crossenc.metrics import pearson_r  # noqa: E402
from sklearn_crossenc.ridge import DEFAULT_ALPHAS, CrossSubjectRidge  # noqa: E402

# ---------------------------------------------------------------------------- machine


def machine_info() -> dict:
    blas = []
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{d.get('internal_api')} {d.get('version')} ({d.get('num_threads')} threads)"
                for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        pass
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "device": "cpu",
        "python": platform.python_version(),
        "versions": package_versions(("numpy", "scipy", "scikit-learn", "torch")),
        "blas": blas,
        "load_average_start": list(os.getloadavg()),
    }


# ------------------------------------------------------------------------------- data


def make_episodes(n_times, n_parcels, n_subjects, episode_length, seed, n_latent=16):
    """Structured random episodes, float32: list of (S, T_e, C)."""
    rng = np.random.default_rng(seed)
    n_eps = max(1, n_times // episode_length)
    lengths = [episode_length] * n_eps
    lengths[-1] += n_times - n_eps * episode_length
    shared_w = rng.standard_normal((n_latent, n_parcels))
    weights = shared_w + 0.7 * rng.standard_normal((n_subjects, n_latent, n_parcels))
    frac = 0.75 * rng.beta(1.3, 1.6, size=n_parcels)  # signal share of the variance
    std = rng.uniform(0.4, 0.6, size=n_parcels)
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    episodes = []
    for T in lengths:
        latent = rng.standard_normal((T + 12, n_latent))
        latent = np.apply_along_axis(np.convolve, 0, latent, kernel, mode="valid")  # (T, K)
        latent /= latent.std(axis=0)
        ep = np.empty((n_subjects, T, n_parcels), dtype=np.float32)
        for s in range(n_subjects):
            sig = latent @ weights[s]  # (T, C)
            sig /= sig.std(axis=0) + 1e-9
            noise = lfilter([1.0], [1.0, -0.4], rng.standard_normal((T, n_parcels)), axis=0)
            noise /= noise.std(axis=0) + 1e-9
            x = np.sqrt(frac) * sig + np.sqrt(1 - frac) * noise
            x -= x.mean(axis=0)
            ep[s] = (x * std).astype(np.float32)
        episodes.append(ep)
    return episodes


# -------------------------------------------------------------------------- reference


def reference_fit(episodes, subjects, alphas):
    """RidgeCV(alpha_per_target=True) per subject, mean of others -> subject."""
    from sklearn.linear_model import RidgeCV

    models = {}
    for s in subjects:
        X = np.concatenate([(ep.sum(0) - ep[s]) / (ep.shape[0] - 1) for ep in episodes])
        Y = np.concatenate([ep[s] for ep in episodes])
        models[s] = RidgeCV(alphas=alphas, alpha_per_target=True).fit(X, Y)
        del X, Y
    return models


def reference_test_map(models, test):
    out = {}
    for s, m in models.items():
        X = np.concatenate([(ep.sum(0) - ep[s]) / (ep.shape[0] - 1) for ep in test])
        Y = np.concatenate([ep[s] for ep in test])
        pred = m.predict(X)
        out[s] = pearson_r(Y, pred)  # (C,)
    return out


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


# ------------------------------------------------------------------------------- main


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-times", type=int, default=120_000,
                   help="training time points per subject (default: Friends s1-5, 120000)")
    p.add_argument("--n-parcels", type=int, default=1000)
    p.add_argument("--n-subjects", type=int, default=4)
    p.add_argument("--episode-length", type=int, default=470)
    p.add_argument("--n-test-episodes", type=int, default=10)
    p.add_argument("--cv", type=int, default=5)
    p.add_argument("--dtype", nargs="+", default=["float32"], choices=["float32", "float64"])
    p.add_argument("--reference-n-times", type=int, default=None,
                   help="time points for RidgeCV (default: all); whole episodes are used")
    p.add_argument("--reference-subjects", type=int, default=None,
                   help="subjects RidgeCV fits (default: all)")
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for both sides (default: the library's own choice); "
                        "on a machine shared with other jobs, 1 avoids oversubscription")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    if args.threads is None:
        return _run(args)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads, user_api="blas"):
        return _run(args)


def _run(args):
    info = machine_info()
    print(f"machine: {info['cpu']} | {info['cores']} cores ({info['usable_cores']} usable) | "
          f"device {info['device']} | numpy {info['versions']['numpy']} scipy "
          f"{info['versions']['scipy']} scikit-learn {info['versions']['scikit-learn']} "
          f"torch {info['versions']['torch']} | BLAS {'; '.join(info['blas']) or '?'} | "
          f"load avg {info['load_average_start'][0]:.2f}")
    alphas = np.asarray(DEFAULT_ALPHAS)
    n_train_eps = max(1, args.n_times // args.episode_length)
    all_eps, t_gen = timed(make_episodes, args.n_times + args.n_test_episodes * args.episode_length,
                           args.n_parcels, args.n_subjects, args.episode_length, args.seed)
    train, test = all_eps[:n_train_eps], all_eps[n_train_eps:]
    if not test:
        raise SystemExit("--n-test-episodes must leave at least one test episode")
    n_train = sum(ep.shape[1] for ep in train)
    print(f"problem: {args.n_subjects} subjects x {n_train} time points ({len(train)} episodes) "
          f"x {args.n_parcels} parcels, {alphas.size} alphas, cv={args.cv} episode folds; "
          f"test {sum(ep.shape[1] for ep in test)} time points; data made in {t_gen:.1f} s")

    results = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
               "n_train_times": n_train, "alphas": alphas.tolist(), "runs": []}

    def run_ours(episodes, dtype, label):
        model, secs = timed(CrossSubjectRidge(alphas=alphas, cv=args.cv, dtype=dtype).fit,
                            episodes)
        score_map = model.score_map(test)
        row = {"what": f"CrossSubjectRidge {dtype}", "scope": label, "seconds": secs,
               "subjects": model.n_subjects_, "n_times": sum(ep.shape[1] for ep in episodes),
               "test_pearson": float(score_map.mean()),
               "test_pearson_per_subject": score_map.mean(axis=1).tolist(),
               "alpha_at_grid_edge": float(np.mean((model.best_alphas_ == alphas[0])
                                                   | (model.best_alphas_ == alphas[-1])))}
        results["runs"].append(row)
        print(f"  {row['what']:<28} {label:<22} {secs:8.1f} s   test r {row['test_pearson']:.4f}"
              f"   alphas at grid edge {100 * row['alpha_at_grid_edge']:.1f}%", flush=True)
        return model, row

    ours = {}
    for dtype in args.dtype:
        ours[dtype] = run_ours(train, dtype, "full problem")

    if not args.skip_reference:
        k = args.reference_subjects or args.n_subjects
        m = args.reference_n_times or args.n_times
        ref_eps = train[:max(1, m // args.episode_length)]
        m_eff = sum(ep.shape[1] for ep in ref_eps)
        subjects = list(range(min(k, args.n_subjects)))
        partial_time = len(ref_eps) < len(train)
        partial = partial_time or len(subjects) < args.n_subjects
        scope = "full problem" if not partial else f"{len(subjects)} subj x {m_eff} TRs"
        if partial_time:  # strict side by side on the reference's time points
            for dtype in args.dtype:
                model, secs = timed(
                    CrossSubjectRidge(alphas=alphas, cv=args.cv, dtype=dtype).fit, ref_eps)
                per_subject = model.score_map(test).mean(axis=1)
                row = {"what": f"CrossSubjectRidge {dtype}", "scope": scope, "seconds": secs,
                       "n_times": m_eff, "subjects": args.n_subjects,
                       "test_pearson": float(per_subject.mean()),
                       "test_pearson_per_subject": per_subject.tolist(),
                       "note": "fits all subjects; the reference fits only " + str(len(subjects))}
                results["runs"].append(row)
                print(f"  {row['what']:<28} {scope:<22} {secs:8.1f} s   test r "
                      f"{row['test_pearson']:.4f} (all {args.n_subjects} subjects fitted)",
                      flush=True)
        models, secs = timed(reference_fit, ref_eps, subjects, alphas)
        test_maps = reference_test_map(models, test)
        ref_r = float(np.mean([v.mean() for v in test_maps.values()]))
        row = {"what": "sklearn RidgeCV(alpha_per_target)", "scope": scope, "seconds": secs,
               "subjects": len(subjects), "n_times": m_eff, "test_pearson": ref_r}
        results["runs"].append(row)
        print(f"  {row['what']:<28} {scope:<22} {secs:8.1f} s   test r {ref_r:.4f}"
              f" (subjects {subjects})", flush=True)
        full_ref = secs * (args.n_subjects / len(subjects)) * (n_train / m_eff)
        if partial_time and len(ref_eps) >= 2 * args.cv:
            # RidgeCV's time is affine in time points (per-alpha (P, P) work does not grow):
            # time it on half the episodes too and extrapolate the line, not the ratio.
            half = ref_eps[:len(ref_eps) // 2]
            m_half = sum(ep.shape[1] for ep in half)
            _, secs_half = timed(reference_fit, half, subjects, alphas)
            slope = (secs - secs_half) / (m_eff - m_half)
            affine = max(secs + slope * (n_train - m_eff), secs)
            results["runs"].append({"what": "sklearn RidgeCV(alpha_per_target)",
                                    "scope": f"{len(subjects)} subj x {m_half} TRs",
                                    "seconds": secs_half, "subjects": len(subjects),
                                    "n_times": m_half})
            print(f"  {'sklearn RidgeCV(alpha_per_target)':<28} "
                  f"{f'{len(subjects)} subj x {m_half} TRs':<22} {secs_half:8.1f} s", flush=True)
            results["reference_full_problem_seconds_proportional"] = full_ref
            full_ref = affine * args.n_subjects / len(subjects)
        results["reference_full_problem_seconds"] = full_ref
        results["reference_full_problem_extrapolated"] = partial
        for dtype, (_model, ours_row) in ours.items():
            same = [r for r in results["runs"] if r["what"] == f"CrossSubjectRidge {dtype}"
                    and r["scope"] == (scope if partial_time else "full problem")]
            # ours always fits every subject: compare per subject fitted
            ratio_part = secs * args.n_subjects / len(subjects) / same[0]["seconds"]
            # Accuracy at equal training data: ours fitted on the reference's part, scored
            # on the same subjects.
            ours_sub = float(np.mean([same[0]["test_pearson_per_subject"][s]
                                      for s in subjects]))
            results.setdefault("summary", {})[dtype] = {
                "speedup_full_problem": full_ref / ours_row["seconds"],
                "speedup_same_part": ratio_part,
                "test_pearson_ours_same_part_and_subjects": ours_sub,
                "test_pearson_reference": ref_r,
            }
            how = " (extrapolated: affine in time points, linear in subjects)" if partial else ""
            print(f"\n{dtype}: RidgeCV on the full problem "
                  f"{'~' if partial else ''}{full_ref:.1f} s{how}"
                  f" vs CrossSubjectRidge {ours_row['seconds']:.1f} s measured: "
                  f"{full_ref / ours_row['seconds']:.1f}x faster; on the reference's own part "
                  f"(per subject fitted): {ratio_part:.1f}x. Test Pearson when trained on "
                  f"that part, subjects {subjects}: ours {ours_sub:.4f}, RidgeCV {ref_r:.4f}.")
    info["load_average_end"] = list(os.getloadavg())
    print(f"load avg at the end {info['load_average_end'][0]:.2f}")
    if args.json:
        from sklearn_crossenc._io import atomic_write_json

        atomic_write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()

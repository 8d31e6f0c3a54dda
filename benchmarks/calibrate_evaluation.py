"""Calibrate the evaluation intervals and paired tests by simulation (seeded).

Each simulated data set has ``--runs`` runs of ``--times`` time points, 4 subjects and
``--parcels`` parcels. Per run ``r``, a stimulus signal ``s`` (AR(1) in time, low-rank
across parcels, unit variance) is shared by all subjects; subject data are
``y = g_r * s + sigma_c * e`` with a run gain ``g_r ~ LogNormal(0, --gain-sd)`` (some runs
drive the brain more than others: the run-to-run variation that makes runs the unit) and
noise ``e`` (AR(1), low-rank across parcels, unit variance). Two models predict
``p = s + tau_c * eta`` with independent ``eta``: equal true quality (the null of the
paired test). The true pooled correlation of parcel ``c`` is, in closed form,

    rho_c = E[g] / sqrt((E[g^2] + sigma_c^2) (1 + q_c)),   q_c = tau_c^2,

and the true mean score is the mean of ``rho_c`` over parcels (the same for every
subject). Reported per interval method: coverage of the 95% interval of model A's mean
score, false-positive rate at 5% of the paired test of the mean difference, the raw
per-parcel false-positive rate, and the share of data sets with any parcel declared
significant after Benjamini-Hochberg at 5% (under the complete null, the FDR).

    python benchmarks/calibrate_evaluation.py --datasets 1000 --runs 9

**Repeats** (``--repeats 1 2 3 5``): model A is stochastic, trained with several random
states. Repeat ``k`` predicts ``s + tau_c * eta + lam_c * z_k * nu_kr``: ``eta`` is the
error every random state shares (as above), ``nu_kr`` the repeat's own error on run ``r``
(AR(1), low-rank, the same in every subject: a random state changes the model's errors
on every run), ``lam_c = --seed-error * tau_c``, and ``z_k = exp(--seed-quality-sd * N(0,1))``
a repeat's quality, the same on every run (some random states train a better model).
Model B is deterministic: ``s + tau_c * eta' + lamB_c * nu'_r`` with ``lamB_c`` solving
``rho_c(B) = E_z rho_c(A)``, so that the two models' expected scores are equal in every
parcel. The target of A's interval is its expected score over random states,
``mean_c E_z rho_c(tau_c^2 + lam_c^2 z^2)`` (Gauss-Hermite); with one repeat, the target the
interval claims (this trained model on new runs) is also reported. One simulated data set
serves every K (the first K repeats). The repeat-level draws come from a second stream,
so ``--seed-error 0`` reproduces the plain simulation's data.

    python benchmarks/calibrate_evaluation.py --datasets 2000 --runs 9 --repeats 1 2 3 5 \\
        --seed-error 0.7 --seed-quality-sd 0.05
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import stats as sps
from scipy.signal import lfilter

from sklearn_crossenc._environment import environment_info
from sklearn_crossenc.evaluation import (
    bootstrap_score,
    fdr_bh,
    paired_comparison,
    run_statistics,
)
from sklearn_crossenc.evaluation._bootstrap import _check_stats, _samples
from sklearn_crossenc.evaluation._intervals import METHODS, interval, p_value

N_SUBJECTS = 4
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(60)
_GH_W = _GH_W / _GH_W.sum()  # E over a standard normal


def _ar1(rng, shape, phi=0.6):
    """Unit-variance AR(1) along axis 0."""
    e = rng.standard_normal(shape)
    e[1:] *= np.sqrt(1 - phi ** 2)
    return lfilter([1.0], [1.0, -phi], e, axis=0)


def _structured(rng, T, C, mix, rank=4):
    """(T, C) unit-variance series: a low-rank AR part plus independent AR noise."""
    low = _ar1(rng, (T, rank)) @ mix  # (T, C), mix columns have unit norm
    return np.sqrt(0.3) * low + np.sqrt(0.7) * _ar1(rng, (T, C))


def _inv_sd(q):
    return 1.0 / np.sqrt(1.0 + q)


def simulate(rng, n_runs, T, C, gain_sd, rep=None):
    """One data set: y (R, S, T, C), predictions of A (K, R, S, T, C) and B, the truths.

    ``rep``: ``None`` (no repeats: the plain simulation) or ``(rng_rep, K, seed_error,
    quality_sd)``. Returns ``y, pa, pb, truth, truth_per_repeat``.
    """
    sigma = rng.uniform(0.6, 3.0, C)  # (C,) noise std of y
    tau = rng.uniform(0.3, 1.5, C)  # (C,) shared error std of both models
    mix = rng.standard_normal((4, C))
    mix /= np.linalg.norm(mix, axis=0)
    g = np.exp(gain_sd * rng.standard_normal(n_runs))  # (R,) run gains
    rng_rep, K, seed_error, quality_sd = rep if rep is not None else (None, 1, 0.0, 0.0)
    lam = seed_error * tau  # (C,) the repeat's own error std
    z = np.exp(quality_sd * rng_rep.standard_normal(K)) if rep else np.ones(1)  # (K,)
    e_inv = (_GH_W[:, None] * _inv_sd(tau ** 2 + lam ** 2 * np.exp(
        2 * quality_sd * _GH_X)[:, None])).sum(0)  # (C,) E_z 1/sqrt(1 + q)
    lam_b = np.sqrt(np.maximum(1 / e_inv ** 2 - 1 - tau ** 2, 0))  # (C,)
    y = np.empty((n_runs, N_SUBJECTS, T, C))
    pa, pb = np.empty((K,) + y.shape), np.empty_like(y)
    for r in range(n_runs):
        s = _structured(rng, T, C, mix)  # (T, C), the stimulus signal of run r
        nu = [lam * zk * _structured(rng_rep, T, C, mix) for zk in z] if rep else [0.0]
        nu_b = lam_b * _structured(rng_rep, T, C, mix) if rep else 0.0
        for k in range(N_SUBJECTS):
            y[r, k] = g[r] * s + sigma * _structured(rng, T, C, mix)
            shared = s + tau * rng.standard_normal((T, C))
            pa[:, r, k] = [shared + n for n in nu]
            pb[r, k] = s + tau * rng.standard_normal((T, C)) + nu_b
    eg, eg2 = np.exp(gain_sd ** 2 / 2), np.exp(2 * gain_sd ** 2)
    base = eg / np.sqrt(eg2 + sigma ** 2)  # (C,)
    per_repeat = [float((base * _inv_sd(tau ** 2 + lam ** 2 * zk ** 2)).mean()) for zk in z]
    return y, pa, pb, float((base * e_inv).mean()), per_repeat


def one_dataset(rng, args):
    y, pa, pb, truth, _ = simulate(rng, args.runs, args.times, args.parcels, args.gain_sd)
    stats = _check_stats({"a": run_statistics(y, pa[0]), "b": run_statistics(y, pb)})
    (fa, ba, ja), (fb, bb, jb) = _samples(stats, args.resamples, rng.integers(2**31))
    out = {}
    for m in METHODS:
        lo, hi = interval(fa.mean(keepdims=True), ba.mean(1)[:, None], ja.mean(1)[:, None],
                          confidence=0.95, method=m)
        d, db, dj = fa - fb, ba - bb, ja - jb  # (C,), (B, C), (R, C)
        p = p_value(d.mean(keepdims=True), db.mean(1)[:, None], dj.mean(1)[:, None], method=m)
        pp = p_value(d, db, dj, method=m)
        out[m] = (lo[0] <= truth <= hi[0], p[0] < 0.05, (pp < 0.05).mean(),
                  fdr_bh(pp, 0.05)[0].any())
    return out


def _alternatives(estimate, se_runs, between, K, R, truth_or_zero):
    """Two other schemes at the mean level, from the result's fields: (covered, rejected).

    ``satterthwaite``: the same variance, Satterthwaite's degrees of freedom.
    ``no-interaction``: jackknife variance + the whole between-repeat variance of the
    mean (the interaction counted twice), harmonic-mean degrees of freedom.
    """
    out = {}
    for name in ("satterthwaite", "no-interaction"):
        if K == 1:
            out[name] = None
            continue
        if name == "satterthwaite":
            seed = between[0]
            var = se_runs ** 2 + seed
            df = var ** 2 / (se_runs ** 4 / (R - 1) + seed ** 2 / (K - 1))
        else:
            var = se_runs ** 2 + between[1]
            df = var / (se_runs ** 2 / (R - 1) + between[1] / (K - 1))
        half = sps.t.ppf(0.975, df) * np.sqrt(var)
        out[name] = abs(estimate - truth_or_zero) <= half
    return out


def one_repeated_dataset(rng, rng_rep, args):
    """Per K: (coverage, coverage of the claimed target, paired rejection, parcel FPR,
    any BH discovery, the alternatives' (coverage, paired rejection), magnitudes)."""
    Kmax = max(args.repeats)
    y, pa, pb, truth, per_repeat = simulate(
        rng, args.runs, args.times, args.parcels, args.gain_sd,
        rep=(rng_rep, Kmax, args.seed_error, args.seed_quality_sd))
    sa = [run_statistics(y, p) for p in pa]
    sb = run_statistics(y, pb)
    seed = int(rng.integers(2**31))
    out = {}
    for K in args.repeats:
        ci = bootstrap_score(sa[:K], n_resamples=args.resamples, random_state=seed)
        c = paired_comparison(sa[:K], sb, n_resamples=args.resamples, random_state=seed)
        claimed = per_repeat[0] if K == 1 else truth
        alt_ci = _alternatives(ci.estimate, ci.se_runs, (ci.se_repeats ** 2,
                               ci.repeat_sd ** 2 / K), K, args.runs, truth)
        alt_pc = _alternatives(c.difference, c.se_runs, (c.se_repeats ** 2,
                               c.repeat_sd_a ** 2 / K), K, args.runs, 0.0)
        out[K] = dict(
            coverage=ci.low <= truth <= ci.high, claimed=ci.low <= claimed <= ci.high,
            paired=c.p_value < 0.05, parcel=float((c.parcel_p_value < 0.05).mean()),
            any_bh=bool(c.parcel_significant.any()),
            alt={k: (alt_ci[k], None if alt_pc[k] is None else not alt_pc[k]) for k in alt_ci},
            sizes=(c.repeat_sd_a, c.se_runs))
    return out


def _print_repeats(rows, args):
    R = args.runs
    sd = np.nanmean([r[max(args.repeats)]["sizes"][0] for r in rows])
    se = np.mean([r[min(args.repeats)]["sizes"][1] for r in rows])
    print(f"mean between-repeat SD of A's score {sd:.4f}; mean run-jackknife s.e. of the "
          f"difference A - B {se:.4f} (ratio {sd / se:.1f})")
    print(f"{'K':>2} {'coverage':>9} {'claimed':>8} {'paired FPR':>11} {'parcel FPR':>11} "
          f"{'any BH hit':>11} | {'Satterthwaite cov / FPR':>24} | "
          f"{'no-interaction cov / FPR':>25}")
    for K in args.repeats:
        sel = [r[K] for r in rows]
        cov, claimed, fp, pfp, anyhit = (100 * np.mean([s[f] for s in sel]) for f in
                                         ("coverage", "claimed", "paired", "parcel", "any_bh"))
        alt = []
        for name in ("satterthwaite", "no-interaction"):
            if K == 1:
                alt.append(f"{'-':>24}")
                continue
            a_cov = 100 * np.mean([s["alt"][name][0] for s in sel])
            a_fp = 100 * np.mean([s["alt"][name][1] for s in sel])
            alt.append(f"{a_cov:>15.1f}% / {a_fp:4.1f}%")
        print(f"{K:>2} {cov:>8.1f}% {claimed:>7.1f}% {fp:>10.1f}% {pfp:>10.1f}% "
              f"{anyhit:>10.1f}% | {alt[0]} | {alt[1]}")
    print(f"(runs: {R}; 'claimed': coverage of the target the interval states - with one "
          "repeat, this trained model's score on new runs)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--times", type=int, default=150)
    ap.add_argument("--parcels", type=int, default=100)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--gain-sd", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, nargs="+", default=None,
                    help="numbers of random states of model A (t-jackknife only)")
    ap.add_argument("--seed-error", type=float, default=0.0,
                    help="std of a repeat's own error, as a multiple of the shared error's")
    ap.add_argument("--seed-quality-sd", type=float, default=0.0,
                    help="std of log z_k, a repeat's quality (the same on every run)")
    args = ap.parse_args(argv)
    print(json.dumps(environment_info()))
    print(json.dumps(vars(args)))
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    if args.repeats:
        rng_rep = np.random.default_rng([args.seed, 1])
        rows = [one_repeated_dataset(rng, rng_rep, args) for _ in range(args.datasets)]
    else:
        rows = [one_dataset(rng, args) for _ in range(args.datasets)]
    n = len(rows)
    print(f"{n} data sets in {time.perf_counter() - t0:.0f} s; Monte Carlo s.e. of a 5% rate "
          f"{100 * np.sqrt(0.05 * 0.95 / n):.1f} points, of 95% coverage "
          f"{100 * np.sqrt(0.05 * 0.95 / n):.1f} points")
    if args.repeats:
        _print_repeats(rows, args)
        return
    print(f"{'method':<12} {'coverage':>9} {'paired FPR':>11} {'parcel FPR':>11} "
          f"{'any BH hit':>11}")
    for m in METHODS:
        cov, fp, pfp, anyhit = (np.mean([r[m][i] for r in rows]) for i in range(4))
        print(f"{m:<12} {100 * cov:>8.1f}% {100 * fp:>10.1f}% {100 * pfp:>10.1f}% "
              f"{100 * anyhit:>10.1f}%")


if __name__ == "__main__":
    main()

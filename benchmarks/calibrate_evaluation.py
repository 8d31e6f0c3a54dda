"""Calibrate the evaluation intervals and paired tests by simulation (seeded).

Each simulated data set has ``--runs`` runs of ``--times`` time points, 4 subjects and
``--parcels`` parcels. Per run ``r``, a stimulus signal ``s`` (AR(1) in time, low-rank
across parcels, unit variance) is shared by all subjects; subject data are
``y = g_r * s + sigma_c * e`` with a run gain ``g_r ~ LogNormal(0, --gain-sd)`` (some runs
drive the brain more than others: the run-to-run variation that makes runs the unit) and
noise ``e`` (AR(1), low-rank across parcels, unit variance). Two models predict
``p = s + tau_c * eta`` with independent ``eta``: equal true quality (the null of the
paired test). The true pooled correlation of parcel ``c`` is, in closed form,

    rho_c = E[g] / sqrt((E[g^2] + sigma_c^2) (1 + tau_c^2)),

and the true mean score is the mean of ``rho_c`` over parcels (the same for every
subject). Reported per interval method: coverage of the 95% interval of model A's mean
score, false-positive rate at 5% of the paired test of the mean difference, the raw
per-parcel false-positive rate, and the share of data sets with any parcel declared
significant after Benjamini-Hochberg at 5% (under the complete null, the FDR).

    python benchmarks/calibrate_evaluation.py --datasets 1000 --runs 9
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.signal import lfilter

from sklearn_crossenc._environment import environment_info
from sklearn_crossenc.evaluation import fdr_bh, run_statistics
from sklearn_crossenc.evaluation._bootstrap import _check_stats, _samples
from sklearn_crossenc.evaluation._intervals import METHODS, interval, p_value

N_SUBJECTS = 4


def _ar1(rng, shape, phi=0.6):
    """Unit-variance AR(1) along axis 0."""
    e = rng.standard_normal(shape)
    e[1:] *= np.sqrt(1 - phi ** 2)
    return lfilter([1.0], [1.0, -phi], e, axis=0)


def _structured(rng, T, C, mix, rank=4):
    """(T, C) unit-variance series: a low-rank AR part plus independent AR noise."""
    low = _ar1(rng, (T, rank)) @ mix  # (T, C), mix columns have unit norm
    return np.sqrt(0.3) * low + np.sqrt(0.7) * _ar1(rng, (T, C))


def simulate(rng, n_runs, T, C, gain_sd):
    """One data set: y (R, S, T, C), two predictions, and the true mean score."""
    sigma = rng.uniform(0.6, 3.0, C)  # (C,) noise std of y
    tau = rng.uniform(0.3, 1.5, C)  # (C,) noise std of both models
    mix = rng.standard_normal((4, C))
    mix /= np.linalg.norm(mix, axis=0)
    g = np.exp(gain_sd * rng.standard_normal(n_runs))  # (R,) run gains
    y = np.empty((n_runs, N_SUBJECTS, T, C))
    pa, pb = np.empty_like(y), np.empty_like(y)
    for r in range(n_runs):
        s = _structured(rng, T, C, mix)  # (T, C), the stimulus signal of run r
        for k in range(N_SUBJECTS):
            y[r, k] = g[r] * s + sigma * _structured(rng, T, C, mix)
            pa[r, k] = s + tau * rng.standard_normal((T, C))
            pb[r, k] = s + tau * rng.standard_normal((T, C))
    eg, eg2 = np.exp(gain_sd ** 2 / 2), np.exp(2 * gain_sd ** 2)
    rho = eg / np.sqrt((eg2 + sigma ** 2) * (1 + tau ** 2))  # (C,)
    return y, pa, pb, float(rho.mean())


def one_dataset(rng, args):
    y, pa, pb, truth = simulate(rng, args.runs, args.times, args.parcels, args.gain_sd)
    stats = _check_stats({"a": run_statistics(y, pa), "b": run_statistics(y, pb)})
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--times", type=int, default=150)
    ap.add_argument("--parcels", type=int, default=100)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--gain-sd", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(json.dumps(environment_info()))
    print(json.dumps(vars(args)))
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    rows = [one_dataset(rng, args) for _ in range(args.datasets)]
    n = len(rows)
    print(f"{n} data sets in {time.perf_counter() - t0:.0f} s; Monte Carlo s.e. of a 5% rate "
          f"{100 * np.sqrt(0.05 * 0.95 / n):.1f} points, of 95% coverage "
          f"{100 * np.sqrt(0.05 * 0.95 / n):.1f} points")
    print(f"{'method':<12} {'coverage':>9} {'paired FPR':>11} {'parcel FPR':>11} "
          f"{'any BH hit':>11}")
    for m in METHODS:
        cov, fp, pfp, anyhit = (np.mean([r[m][i] for r in rows]) for i in range(4))
        print(f"{m:<12} {100 * cov:>8.1f}% {100 * fp:>10.1f}% {100 * pfp:>10.1f}% "
              f"{100 * anyhit:>10.1f}%")


if __name__ == "__main__":
    main()

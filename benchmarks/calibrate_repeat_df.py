"""The t test with repeats across variance ratios: normal theory of its three terms (seeded).

``calibrate_evaluation.py --repeats`` simulates whole data sets for a few scenarios; this
script sweeps the two ratios that decide how well the repeats' degrees of freedom work,
on the normal-theory model of the three jackknife terms of ``evaluation/_between_repeats.py``
(independent scaled chi-squares, as the mean squares of a balanced crossed design):

    d      ~ N(0, 1 + s)                          the repeat-averaged difference, H0 true
    V_runs ~ chi2(R-1) / (R-1)                    run jackknife (variance 1 in these units)
    B      ~ (s + f) chi2(K-1) / (K-1)            between-repeat variance of the mean
    I      ~ f chi2((K-1)(R-1)) / ((K-1)(R-1))    the interaction's share of B

``s`` is the random state's share (``sigma_a^2 / K``) relative to the run jackknife's
variance, ``f`` the interaction's share of that run variance. Reported: the rejection rate
at 5% (false-positive rate; target 3-7%) of the library's rule (``se^2 = V_runs +
max(B - I, 0)``, :func:`degrees_of_freedom`), of the same variance with Satterthwaite's
df, and of ``V_runs + B`` (no interaction correction) with the library's df rule.

    python benchmarks/calibrate_repeat_df.py --draws 200000
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import stats as sps

from sklearn_crossenc._environment import environment_info
from sklearn_crossenc.evaluation._between_repeats import degrees_of_freedom

SHARES = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)


def rejection_rates(rng, n, R, K, f, s):
    """Percent of draws rejecting H0 at 5%: library, Satterthwaite, no correction."""
    d = rng.normal(0.0, np.sqrt(1.0 + s), n)
    v_runs = rng.chisquare(R - 1, n) / (R - 1)
    between = (s + f) * rng.chisquare(K - 1, n) / (K - 1)
    inter = f * rng.chisquare((K - 1) * (R - 1), n) / ((K - 1) * (R - 1))
    seed = np.maximum(between - inter, 0.0)
    var = v_runs + seed
    satt = var ** 2 / (v_runs ** 2 / (R - 1) + seed ** 2 / (K - 1))
    rules = [(var, degrees_of_freedom(v_runs, [(seed, K)], R)), (var, satt),
             (v_runs + between, degrees_of_freedom(v_runs, [(between, K)], R))]
    return [100 * np.mean(2 * sps.t.sf(np.abs(d) / np.sqrt(v), df) < 0.05) for v, df in rules]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(json.dumps(environment_info()))
    print(json.dumps(vars(args)))
    print(f"Monte Carlo s.e. of a 5% rate: {100 * np.sqrt(0.05 * 0.95 / args.draws):.2f} points")
    rng = np.random.default_rng(args.seed)
    print("library rule at s = " + ", ".join(map(str, SHARES))
          + " | min-max: library, Satterthwaite df, no interaction correction")
    for R in (9, 49):
        for K in (2, 3, 5):
            for f in (0.1, 0.3, 0.8):
                rates = np.array([rejection_rates(rng, args.draws, R, K, f, s) for s in SHARES])
                lib = " ".join(f"{x:4.1f}" for x in rates[:, 0])
                span = " | ".join(f"{rates[:, i].min():4.1f}-{rates[:, i].max():4.1f}"
                                  for i in range(3))
                print(f"R={R:2} K={K} f={f}: {lib} | {span}")


if __name__ == "__main__":
    main()

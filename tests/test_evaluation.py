"""Evaluation: sufficient statistics, run bootstrap, jackknife intervals, BH FDR, ceilings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from sklearn_crossenc.data import load_movie10, load_true_signal
from sklearn_crossenc.evaluation import (
    bootstrap_score,
    bootstrap_scores,
    fdr_bh,
    noise_ceiling,
    paired_comparison,
    pearson_from_sums,
    resample_counts,
    run_statistics,
)
from sklearn_crossenc.metrics import pearson_map, pearson_score


def _episodes(seed=0, n_runs=7, n_subjects=3, n_parcels=6, noise=1.0):
    """Runs of unequal length (list of (S, T_i, C)) and a noisy prediction of them."""
    rng = np.random.default_rng(seed)
    y = [rng.standard_normal((n_subjects, 30 + 3 * i, n_parcels)) for i in range(n_runs)]
    p = [ep + noise * rng.standard_normal(ep.shape) for ep in y]
    return y, p


@pytest.mark.parametrize("trim", [0, 4])
def test_sums_reproduce_pearson_map_on_all_runs(trim):
    y, p = _episodes()
    st = run_statistics(y, p, trim=trim)
    assert st.n.tolist() == [30 + 3 * i - 2 * trim for i in range(7)]
    np.testing.assert_allclose(pearson_from_sums(st, np.ones(7)), pearson_map(y, p, trim=trim),
                               atol=1e-12)


def test_bootstrap_distribution_equals_direct_recomputation_on_resampled_runs():
    y, p = _episodes(1)
    ci = bootstrap_score(run_statistics(y, p), n_resamples=6, random_state=3)
    counts = resample_counts(len(y), 6, random_state=3)
    for b, row in enumerate(counts):
        runs = [i for i, c in enumerate(row) for _ in range(c)]  # run i repeated c times
        direct = pearson_score([y[i] for i in runs], [p[i] for i in runs])
        assert ci.distribution[b] == pytest.approx(direct, abs=1e-12)
    assert ci.estimate == pytest.approx(pearson_score(y, p), abs=1e-12)


def test_jackknife_t_interval_matches_leave_one_run_out_by_hand():
    y, p = _episodes(2)
    R = len(y)
    loo = np.array([pearson_score(y[:j] + y[j + 1:], p[:j] + p[j + 1:]) for j in range(R)])
    se = np.sqrt((R - 1) / R * ((loo - loo.mean()) ** 2).sum())
    half = sps.t.ppf(0.95, R - 1) * se  # 90% interval
    ci = bootstrap_score(run_statistics(y, p), n_resamples=10, confidence=0.9, random_state=0)
    assert ci.low == pytest.approx(pearson_score(y, p) - half, abs=1e-12)
    assert ci.high == pytest.approx(pearson_score(y, p) + half, abs=1e-12)


def test_joint_resampling_uses_the_same_runs_for_every_model():
    y, p = _episodes(3)
    q = [2 * ep for ep in p]  # a rescaled prediction: the same r on every resample
    cis = bootstrap_scores({"p": run_statistics(y, p), "q": run_statistics(y, q)},
                           n_resamples=50, method="percentile", random_state=0)
    np.testing.assert_allclose(cis["p"].distribution, cis["q"].distribution, atol=1e-12)


def test_fdr_bh_against_hand_computation():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.060, 0.074, 0.205, 0.212, 0.216])
    # m = 10, q = 0.05: thresholds k q / m = 0.005 k. Sorted p <= threshold at k = 1, 2
    # (0.001 <= 0.005, 0.008 <= 0.010), not at k = 3..10: two discoveries.
    rejected, adjusted = fdr_bh(p[::-1], q=0.05)
    assert rejected[::-1].tolist() == [True, True] + [False] * 8
    # Adjusted: min over j >= k of p_(j) m / j.
    hand = [0.01, 0.04, 0.084, 0.084, 0.084, 0.1, 0.10571428571428572, 0.216, 0.216, 0.216]
    np.testing.assert_allclose(adjusted[::-1], hand)
    assert fdr_bh(p, q=0.5)[0].sum() == 10  # 0.216 <= 0.5: everything


def test_fdr_bh_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fdr_bh([0.1, 1.5])
    with pytest.raises(ValueError, match="q must be in"):
        fdr_bh([0.1], q=0)


def test_paired_comparison_counts_parcels_each_way():
    rng = np.random.default_rng(4)
    y = rng.standard_normal((12, 2, 80, 6))
    good = y + 0.5 * rng.standard_normal(y.shape)
    bad = y + 3.0 * rng.standard_normal(y.shape)
    a = np.concatenate([good[..., :4], bad[..., 4:]], axis=-1)  # A wins on parcels 0-3
    b = np.concatenate([bad[..., :4], good[..., 4:]], axis=-1)  # B wins on parcels 4-5
    cmp = paired_comparison(run_statistics(y, a), run_statistics(y, b), n_resamples=100,
                            random_state=0)
    assert cmp.parcel_significant.tolist() == [True] * 6
    assert (cmp.n_better, cmp.n_worse) == (4, 2)
    assert (np.sign(cmp.parcel_difference) == [1, 1, 1, 1, -1, -1]).all()


def test_paired_comparison_of_a_model_with_itself_finds_nothing():
    y, p = _episodes(5)
    st = run_statistics(y, p)
    cmp = paired_comparison(st, st, n_resamples=50, method="bca", random_state=0)
    assert cmp.difference == 0 and cmp.low == 0 and cmp.high == 0
    assert not cmp.parcel_significant.any()


def test_paired_comparison_refuses_different_data():
    y, p = _episodes(6)
    y2, p2 = _episodes(7)
    with pytest.raises(ValueError, match="other data"):
        paired_comparison(run_statistics(y, p), run_statistics(y2, p2))


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "normal"}, "method must be one of"),
    ({"confidence": 95}, "confidence must be in"),
    ({"n_resamples": 0}, "n_resamples must be"),
])
def test_bootstrap_rejects_bad_parameters(kwargs, match):
    y, p = _episodes(8)
    with pytest.raises(ValueError, match=match):
        bootstrap_score(run_statistics(y, p), **kwargs)


def test_weights_must_cover_every_run():
    y, p = _episodes(9)
    with pytest.raises(ValueError, match="weights cover 3 runs but stats hold 7"):
        pearson_from_sums(run_statistics(y, p), np.ones(3))


def _orthonormal(rng, T, k):
    q, _ = np.linalg.qr(rng.standard_normal((T, k)))
    return (q - q.mean(axis=0)) * np.sqrt(T)  # not exactly orthogonal after centring


def test_ceiling_closed_form_on_exactly_orthogonal_signal_and_noise():
    # s, e1, e2 centred and mutually orthogonal with variances v_s, v_e, v_e: then
    # r12 = v_s / (v_s + v_e) exactly and corr(y1, s) = sqrt(r12).
    rng = np.random.default_rng(0)
    T = 500
    basis = np.linalg.qr(np.column_stack([np.ones(T), rng.standard_normal((T, 3))]))[0][:, 1:]
    s, e1, e2 = basis.T * np.sqrt(T)  # centred (orthogonal to 1), unit variance
    v_s = np.array([4.0, 1.0, 0.25])
    y1 = np.sqrt(v_s) * s[:, None] + e1[:, None]  # (T, 3)
    y2 = np.sqrt(v_s) * s[:, None] + e2[:, None]
    nc = noise_ceiling({"figures01": y1[None], "figures01_run-2": y2[None]})
    np.testing.assert_allclose(nc.split_half_r[0], v_s / (v_s + 1))
    np.testing.assert_allclose(nc.ceiling[0], np.sqrt(v_s / (v_s + 1)))
    np.testing.assert_allclose(nc.ceiling[0], pearson_map([y1[None]], [s[None, :, None]
                                                                        * np.ones(3)])[0])


def test_ceiling_pairs_viewings_from_their_start_when_lengths_differ():
    rng = np.random.default_rng(2)
    y1 = rng.standard_normal((2, 60, 3))
    y2 = np.concatenate([y1, rng.standard_normal((2, 2, 3))], axis=1)  # 2 TRs longer
    nc = noise_ceiling({"life01": y1, "life01_run-2": y2, "bourne01": y1})
    assert nc.pairs == [("life01", "life01_run-2")]
    np.testing.assert_allclose(nc.split_half_r, 1.0)
    swapped = noise_ceiling({"life01": y2, "life01_run-2": y1})  # run 1 the longer one
    np.testing.assert_allclose(swapped.split_half_r, 1.0)


def test_ceiling_reliability_test_is_not_fooled_by_autocorrelation():
    # Independent AR(0.9) runs, no shared signal: a naive test on n time points flags
    # many parcels; the effective-n test must not.
    rng = np.random.default_rng(1)
    from scipy.signal import lfilter

    def ar(shape):
        return lfilter([1.0], [1.0, -0.9], rng.standard_normal(shape), axis=1)

    data = {"life01": ar((1, 400, 300)), "life01_run-2": ar((1, 400, 300))}
    nc = noise_ceiling(data)
    naive_p = sps.t.sf(nc.split_half_r * np.sqrt(398 / (1 - nc.split_half_r ** 2)), 398)
    assert (naive_p < 0.05).mean() > 0.15  # the naive test would be badly anti-conservative
    assert np.median(nc.n_effective) < 100
    assert (nc.p_value < 0.05).mean() < 0.09
    assert nc.reliable.sum() <= 3


def test_noise_ceiling_without_repeats_says_friends_has_none(friends_tiny):
    with pytest.raises(ValueError, match="Friends has no repeats"):
        noise_ceiling(friends_tiny[1])


def test_ceiling_estimate_agrees_with_oracle_on_synthetic_data(synthetic_root):
    data = load_movie10(synthetic_root, movies=["figures", "life"], runs=[1, 2])
    nc = noise_ceiling(data)
    run1 = {k: v for k, v in data.items() if not k.endswith("_run-2")}
    truth = load_true_signal(synthetic_root, run1, "movie10")
    oracle = pearson_map(list(run1.values()), list(truth.values()))  # (S, C)
    # Tiny set: 48 parcels, two clips of 60-80 TRs. Measured (generator version 4):
    # r 0.85-0.91 per subject, mean difference -0.019 to 0.031.
    for s in range(oracle.shape[0]):
        assert np.corrcoef(oracle[s], nc.ceiling[s])[0, 1] > 0.8
        assert abs((nc.ceiling[s] - oracle[s]).mean()) < 0.04
    assert nc.reliable.mean() > 0.7


def test_evaluation_imports_without_nilearn_matplotlib_or_nibabel():
    import subprocess
    import sys

    code = ("import sys\n"
            "for m in ('nilearn', 'matplotlib', 'nibabel'): sys.modules[m] = None\n"
            "import sklearn_crossenc.evaluation as e\n"
            "assert e.fdr_bh([0.01])[0].all()\n")
    subprocess.run([sys.executable, "-c", code], check=True)

"""Repeats of a stochastic model in the evaluation: K random states on the same runs.

The estimate is the mean over repeats; the t-jackknife interval and tests add the
between-repeat variance beyond the run jackknife (``evaluation/_between_repeats.py``); one
RunStatistics gives today's results bit for bit. Also the parameter checks of issue 20.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats as sps

from sklearn_crossenc.evaluation import (
    bootstrap_score,
    bootstrap_scores,
    paired_comparison,
    run_statistics,
)
from sklearn_crossenc.evaluation._bootstrap import _check_stats, _samples
from sklearn_crossenc.evaluation._intervals import METHODS, interval, p_value
from sklearn_crossenc.metrics import pearson_map, pearson_score


def _data(seed=0, n_runs=7, n_subjects=2, n_parcels=5, n_repeats=3, quality=(1.0, 1.6, 0.7)):
    """Runs of unequal length, K predictions of them (each repeat with its own error on
    every run and its own quality) and one deterministic prediction."""
    rng = np.random.default_rng(seed)
    y = [rng.standard_normal((n_subjects, 25 + 4 * i, n_parcels)) for i in range(n_runs)]
    shared = [ep + rng.standard_normal(ep.shape) for ep in y]
    reps = [[sh + quality[k] * rng.standard_normal(sh.shape) for sh in shared]
            for k in range(n_repeats)]
    det = [ep + 1.5 * rng.standard_normal(ep.shape) for ep in y]
    return y, reps, det


def _fields(result):
    return dataclasses.asdict(result)


def _assert_identical(a: dict, b: dict):
    """Every field bit for bit (NaN equal to NaN)."""
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), key
        else:
            assert x == y or (x != x and y != y), key


# ---------------------------------------------------------------------------- K = 1


@pytest.mark.parametrize("method", METHODS)
def test_one_repeat_gives_todays_results_bit_for_bit(method):
    """One RunStatistics, or a list of one, gives exactly what the run resampling gave
    before repeats existed: the interval and tests composed from the primitives."""
    y, reps, det = _data(1)
    a, b = run_statistics(y, reps[0]), run_statistics(y, det)
    (fa, ba, ja), (fb, bb, jb) = _samples(_check_stats({"a": a, "b": b}), 150, 4)
    theta, bm, jm = fa.mean(keepdims=True), ba.mean(1)[:, None], ja.mean(1)[:, None]
    low, high = interval(theta, bm, jm, confidence=0.9, method=method)
    d, db, dj = fa - fb, ba - bb, ja - jb
    p = p_value(d.mean(keepdims=True), db.mean(1)[:, None], dj.mean(1)[:, None], method=method)
    pp = p_value(d, db, dj, method=method)
    kw = dict(n_resamples=150, confidence=0.9, method=method, random_state=4)
    for given in (a, [a]):
        ci = bootstrap_scores({"a": given, "b": b}, **kw)["a"]
        assert (ci.estimate, ci.low, ci.high) == (theta[0], low[0], high[0])
        np.testing.assert_array_equal(ci.distribution, bm[:, 0])
        assert ci.n_repeats == 1 and ci.covers == "evaluation runs only"
        assert np.isnan(ci.repeat_sd) and np.isnan(ci.se_repeats)
        c = paired_comparison(given, [b], **kw)
        assert (c.difference, c.p_value) == (d.mean(), p[0])
        np.testing.assert_array_equal(c.parcel_p_value, pp)
        assert c.covers == "evaluation runs only"
    _assert_identical(_fields(bootstrap_score(a, **kw)), _fields(bootstrap_score([a], **kw)))
    _assert_identical(_fields(paired_comparison(a, b, **kw)),
                      _fields(paired_comparison([a], [b], **kw)))


def test_identical_repeats_give_the_single_model_interval():
    """K copies of one prediction: no between-repeat variance, the same interval and test."""
    y, reps, det = _data(2)
    a, b = run_statistics(y, reps[0]), run_statistics(y, det)
    one = bootstrap_score(a, n_resamples=20, random_state=0)
    three = bootstrap_score([a, a, a], n_resamples=20, random_state=0)
    assert three.n_repeats == 3 and three.repeat_sd == 0 and three.se_repeats == 0
    assert (three.low, three.high, three.df) == pytest.approx((one.low, one.high, one.df),
                                                              abs=1e-14)
    c1 = paired_comparison(a, b, n_resamples=20, random_state=0)
    c3 = paired_comparison([a, a, a], b, n_resamples=20, random_state=0)
    assert c3.p_value == pytest.approx(c1.p_value, abs=1e-14)
    np.testing.assert_allclose(c3.parcel_p_value, c1.parcel_p_value, atol=1e-14)


# ---------------------------------------------------------------------------- the estimate


def test_estimate_is_the_mean_over_repeats():
    y, reps, det = _data(3)
    stats = [run_statistics(y, p) for p in reps]
    scores = np.array([pearson_score(y, p) for p in reps])  # (K,) by hand
    ci = bootstrap_score(stats, n_resamples=30, random_state=1)
    assert ci.estimate == pytest.approx(scores.mean(), abs=1e-12)
    np.testing.assert_allclose(ci.repeat_estimates, scores, atol=1e-12)
    assert ci.repeat_sd == pytest.approx(scores.std(ddof=1), abs=1e-12)
    c = paired_comparison(stats, run_statistics(y, det), n_resamples=30, random_state=1)
    assert c.difference == pytest.approx(scores.mean() - pearson_score(y, det), abs=1e-12)
    by_hand = np.mean([pearson_map(y, p).mean(0) for p in reps], axis=0) - \
        pearson_map(y, det).mean(0)  # (C,) repeat-averaged r minus B's, mean over subjects
    np.testing.assert_allclose(c.parcel_difference, by_hand, atol=1e-12)
    assert (c.n_repeats_a, c.n_repeats_b) == (3, 1)
    assert c.repeat_sd_a == pytest.approx(scores.std(ddof=1), abs=1e-12)
    assert np.isnan(c.repeat_sd_b)
    assert c.covers == "evaluation runs and random states (3 of A, 1 of B)"


def test_repeats_share_the_run_draws():
    """The bootstrap distribution of the repeat mean is the mean of each repeat's
    distribution under the same draws of runs."""
    y, reps, _ = _data(4)
    stats = [run_statistics(y, p) for p in reps]
    ci = bootstrap_score(stats, n_resamples=40, random_state=7)
    each = [bootstrap_score(st, n_resamples=40, random_state=7).distribution for st in stats]
    np.testing.assert_allclose(ci.distribution, np.mean(each, axis=0), atol=1e-12)


# ---------------------------------------------------------------------------- the variance


def _loo(y, p, j):
    return pearson_score(y[:j] + y[j + 1:], p[:j] + p[j + 1:])


def _by_hand(theta_k, loo_k, R):
    """Seed variance by the route of per-repeat jackknife variances (the module computes
    it from the repeat x run residuals): between/K - (mean_k V_k - V) / (K - 1)."""
    K = len(theta_k)
    jv = lambda v: (R - 1) / R * ((v - v.mean()) ** 2).sum()  # noqa: E731
    v_runs = jv(loo_k.mean(axis=0))
    interaction = (np.mean([jv(row) for row in loo_k]) - v_runs) / (K - 1)
    seed = max(theta_k.var(ddof=1) / K - interaction, 0.0)
    return v_runs, seed


def test_interval_decomposes_into_runs_and_repeats_by_hand():
    y, reps, _ = _data(5)
    R, K = len(y), len(reps)
    theta_k = np.array([pearson_score(y, p) for p in reps])  # (K,)
    loo_k = np.array([[_loo(y, p, j) for j in range(R)] for p in reps])  # (K, R)
    v_runs, seed = _by_hand(theta_k, loo_k, R)
    assert seed > 0  # the repeats differ in quality: a real between-repeat component
    df = (v_runs + seed) / (v_runs / (R - 1) + seed / (K - 1))
    half = sps.t.ppf(0.975, df) * np.sqrt(v_runs + seed)
    ci = bootstrap_score([run_statistics(y, p) for p in reps], n_resamples=10, random_state=0)
    assert ci.se_runs == pytest.approx(np.sqrt(v_runs), abs=1e-12)
    assert ci.se_repeats == pytest.approx(np.sqrt(seed), abs=1e-12)
    assert ci.df == pytest.approx(df, rel=1e-10)
    assert (ci.low, ci.high) == pytest.approx((theta_k.mean() - half, theta_k.mean() + half),
                                              abs=1e-12)
    assert ci.covers == "evaluation runs and 3 random states"


def test_paired_test_adds_each_models_repeats_by_hand():
    """A with 3 repeats, B with 2 (independent random states), and B deterministic."""
    y, reps, det = _data(6)
    R = len(y)
    b_reps = [[ep + 1.2 * (0.5 + k) * np.random.default_rng(10 + k).standard_normal(ep.shape)
               for ep in y] for k in range(2)]
    th_a = np.array([pearson_score(y, p) for p in reps])
    loo_a = np.array([[_loo(y, p, j) for j in range(R)] for p in reps])
    th_b = np.array([pearson_score(y, p) for p in b_reps])
    loo_b = np.array([[_loo(y, p, j) for j in range(R)] for p in b_reps])
    _, seed_a = _by_hand(th_a, loo_a, R)
    _, seed_b = _by_hand(th_b, loo_b, R)
    d_loo = loo_a.mean(0) - loo_b.mean(0)  # (R,) the difference of repeat means
    v_runs = (R - 1) / R * ((d_loo - d_loo.mean()) ** 2).sum()
    var = v_runs + seed_a + seed_b
    df = var / (v_runs / (R - 1) + seed_a / 2 + seed_b / 1)
    p = 2 * sps.t.sf(abs(th_a.mean() - th_b.mean()) / np.sqrt(var), df)
    sa = [run_statistics(y, q) for q in reps]
    c = paired_comparison(sa, [run_statistics(y, q) for q in b_reps], n_resamples=10,
                          random_state=0)
    assert c.difference == pytest.approx(th_a.mean() - th_b.mean(), abs=1e-12)
    assert (c.se_runs, c.se_repeats) == pytest.approx((np.sqrt(v_runs),
                                                       np.sqrt(seed_a + seed_b)), abs=1e-12)
    assert (c.df, c.p_value) == pytest.approx((df, p), rel=1e-9)
    # B deterministic: only A's repeats add.
    det_loo = np.array([_loo(y, det, j) for j in range(R)])
    d_loo = loo_a.mean(0) - det_loo
    v_runs = (R - 1) / R * ((d_loo - d_loo.mean()) ** 2).sum()
    c = paired_comparison(sa, run_statistics(y, det), n_resamples=10, random_state=0)
    assert (c.se_runs, c.se_repeats) == pytest.approx((np.sqrt(v_runs), np.sqrt(seed_a)),
                                                      abs=1e-12)
    half = sps.t.ppf(0.975, c.df) * np.sqrt(v_runs + seed_a)
    assert (c.low, c.high) == pytest.approx((c.difference - half, c.difference + half),
                                            abs=1e-12)


def test_parcel_tests_add_the_repeats_per_parcel():
    """Parcel c's p-value is the t test of its own decomposition (r averaged over subjects)."""
    y, reps, det = _data(7)
    R, K, c_ = len(y), len(reps), 3
    r_c = lambda yy, pp: pearson_map(yy, pp).mean(0)[c_]  # noqa: E731
    th = np.array([r_c(y, p) for p in reps])
    loo = np.array([[r_c(y[:j] + y[j + 1:], p[:j] + p[j + 1:]) for j in range(R)]
                    for p in reps])
    _, seed = _by_hand(th, loo, R)
    d_loo = loo.mean(0) - np.array([r_c(y[:j] + y[j + 1:], det[:j] + det[j + 1:])
                                    for j in range(R)])
    v_runs = (R - 1) / R * ((d_loo - d_loo.mean()) ** 2).sum()
    df = (v_runs + seed) / (v_runs / (R - 1) + seed / (K - 1))
    d = th.mean() - r_c(y, det)
    p = 2 * sps.t.sf(abs(d) / np.sqrt(v_runs + seed), df)
    c = paired_comparison([run_statistics(y, q) for q in reps], run_statistics(y, det),
                          n_resamples=10, random_state=0)
    assert c.parcel_p_value[c_] == pytest.approx(p, rel=1e-9)


def test_deterministic_model_beside_a_repeated_one_keeps_its_interval():
    y, reps, det = _data(8)
    b = run_statistics(y, det)
    mixed = bootstrap_scores({"enc": [run_statistics(y, p) for p in reps], "ridge": b},
                             n_resamples=25, random_state=3)
    alone = bootstrap_scores({"ridge": b}, n_resamples=25, random_state=3)
    _assert_identical(_fields(mixed["ridge"]), _fields(alone["ridge"]))
    assert mixed["enc"].n_repeats == 3 and mixed["ridge"].n_repeats == 1


# ---------------------------------------------------------------------------- bad input


def test_repeats_must_cover_the_same_runs_and_shapes():
    y, reps, _ = _data(9)
    a = [run_statistics(y, p) for p in reps]
    short = run_statistics(y[:-1], reps[1][:-1])
    with pytest.raises(ValueError, match=r"^stats_by_model\['enc'\]\[1\] covers 6 runs of "
                       r"\(subjects, parcels\) \(2, 5\) but stats_by_model\['enc'\]\[0\] "
                       r"covers 7 runs of \(2, 5\): every repeat of a model must be scored "
                       r"on the same runs\.$"):
        bootstrap_scores({"enc": [a[0], short]})
    narrow = run_statistics([ep[..., :4] for ep in y], [ep[..., :4] for ep in reps[2]])
    with pytest.raises(ValueError, match=r"^stats_a\[2\] covers 7 runs of \(subjects, parcels\) "
                       r"\(2, 4\) but stats_a\[0\] covers 7 runs of \(2, 5\)"):
        paired_comparison([a[0], a[1], narrow], a[0])
    other = run_statistics([ep + 1 for ep in y], reps[1])  # the same runs, another y_true
    with pytest.raises(ValueError, match=r"'enc\[1\]' was scored on other data than 'enc\[0\]'"):
        bootstrap_scores({"enc": [a[0], other]})


@pytest.mark.parametrize("value, match", [
    ([], r"^stats_by_model\['enc'\] is an empty sequence: give one RunStatistics, or a list "
         r"of K >= 1 of them \(one per random state\)\.$"),
    ((), r"is an empty sequence"),
    ("stats", r"^stats_by_model\['enc'\]: expected RunStatistics from run_statistics\(\), or "
              r"a list of them \(one per random state\); got str\.$"),
    ([1.0], r"^stats_by_model\['enc'\]\[0\]: expected RunStatistics from run_statistics\(\), "
            r"got float\.$"),
])
def test_bad_repeats_are_refused_naming_the_argument(value, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_scores({"enc": value})


def test_paired_comparison_names_the_argument_of_an_empty_list():
    y, reps, _ = _data(10)
    with pytest.raises(ValueError, match=r"^stats_b is an empty sequence"):
        paired_comparison(run_statistics(y, reps[0]), [])


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_bootstrap_methods_refuse_repeats(method):
    y, reps, det = _data(11)
    a = [run_statistics(y, p) for p in reps[:2]]
    msg = (rf"^method='{method}' resamples evaluation runs only, but 'enc' has 2 repeats "
           r"\(random states\): use method='t-jackknife', which adds the between-repeat "
           r"variance\.$")
    with pytest.raises(ValueError, match=msg):
        bootstrap_scores({"enc": a}, method=method)
    with pytest.raises(ValueError, match="but 'stats_a' has 2 repeats"):
        paired_comparison(a, run_statistics(y, det), method=method)


@pytest.mark.parametrize("value, match", [
    (float("inf"), r"n_resamples must be an integer >= 1; got inf \(float\)\."),
    (float("nan"), r"n_resamples must be an integer >= 1; got nan \(float\)\."),
    (1e12, r"n_resamples must be an integer >= 1; got 1000000000000\.0 \(float\)\."),
    (0.5, r"n_resamples must be an integer >= 1; got 0\.5 \(float\)\."),
    (True, r"n_resamples must be an integer >= 1; got True \(bool\)\."),
    (10 ** 12, r"n_resamples must be between 1 and 1000000 \(the resamples are held in "
               r"memory\); got 1000000000000\."),
    (0, r"n_resamples must be between 1 and 1000000 .*got 0\."),
    ("2000", r"n_resamples must be an integer >= 1; got '2000' \(str\)\."),
])
def test_n_resamples_refuses_non_integers_and_huge_counts(value, match):
    y, reps, det = _data(12)
    a, b = run_statistics(y, reps[0]), run_statistics(y, det)
    with pytest.raises(ValueError, match=f"^{match}$"):
        bootstrap_score(a, n_resamples=value)
    with pytest.raises(ValueError, match=f"^{match}$"):
        paired_comparison(a, b, n_resamples=value)


@pytest.mark.parametrize("name", ["confidence", "fdr"])
@pytest.mark.parametrize("value, match", [
    (float("nan"), r"must be in \(0, 1\); got nan\."),
    (float("inf"), r"must be in \(0, 1\); got inf\."),
    (1e12, r"must be in \(0, 1\); got 1000000000000\.0\."),
    (True, r"must be a number in \(0, 1\); got True \(bool\)\."),
    ("0.95", r"must be a number in \(0, 1\); got '0\.95' \(str\)\."),
    (95, r"must be in \(0, 1\); got 95\."),
])
def test_confidence_and_fdr_refuse_bools_strings_nan_and_out_of_range(name, value, match):
    y, reps, det = _data(13)
    with pytest.raises(ValueError, match=f"^{name} {match}$"):
        paired_comparison(run_statistics(y, reps[0]), run_statistics(y, det), **{name: value})


def test_np_integer_resamples_and_fractions_are_accepted():
    y, reps, _ = _data(14)
    ci = bootstrap_score(run_statistics(y, reps[0]), n_resamples=np.int64(5),
                         confidence=np.float32(0.5), random_state=0)
    assert ci.distribution.shape == (5,) and ci.confidence == 0.5

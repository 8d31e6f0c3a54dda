"""Run statistics at any offset and scale, and the evaluation functions' argument errors.

Issue 20: with standardised data shifted by 3e5, ``pearson_map`` gave 0.72 and the
run-statistics path (the intervals of ``crossenc compare``) 0.31 (0 at 1e6), because raw
sums of squares cancel. The statistics are now per-run means and centred moments.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_crossenc.evaluation import (
    NoiseCeiling,
    bootstrap_score,
    fraction_of_ceiling,
    noise_ceiling,
    pearson_from_sums,
    repeat_pairs,
    run_statistics,
)
from sklearn_crossenc.metrics import pearson_map, pearson_score


def _standardised(seed, n_runs=5, n_subjects=2, n_parcels=3, noise=1.0):
    """Runs of unequal length (list of (S, T_i, C)) and a prediction, each standardised
    per subject and parcel over all runs."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 40, n_runs)
    y = [rng.standard_normal((n_subjects, t, n_parcels)) for t in lengths]
    p = [ep + noise * rng.standard_normal(ep.shape) for ep in y]

    def standardise(eps):
        cat = np.concatenate(eps, axis=1)  # (S, T, C)
        mu, sd = cat.mean(axis=1, keepdims=True), cat.std(axis=1, keepdims=True)
        return [(ep - mu) / sd for ep in eps]

    return standardise(y), standardise(p)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1),
       shift=st.sampled_from([0.0, 30.0, 150.0, -3e3, 3e5, 1e6, -1e8]),
       log_scale=st.sampled_from([-150, -100, -12, 0, 12, 100, 150]),
       counts_seed=st.integers(0, 2**32 - 1))
def test_property_interval_path_equals_pearson_map_under_shift_and_scale(
        seed, shift, log_scale, counts_seed):
    y, p = _standardised(seed)
    scale = 10.0 ** log_scale
    ys = [(ep + shift) * scale for ep in y]
    ps = [(ep + shift) * scale for ep in p]
    st_ = run_statistics(ys, ps)
    # All runs: the point estimate of the intervals.
    np.testing.assert_allclose(pearson_from_sums(st_, np.ones(len(y))), pearson_map(ys, ps),
                               rtol=0, atol=1e-8)
    # Bootstrap counts (a run drawn 0, 1 or more times) equal the resampled concatenation.
    counts = np.random.default_rng(counts_seed).multinomial(len(y), np.ones(len(y)) / len(y))
    runs = [i for i, c in enumerate(counts) for _ in range(c)]
    np.testing.assert_allclose(pearson_from_sums(st_, counts),
                               pearson_map([ys[i] for i in runs], [ps[i] for i in runs]),
                               rtol=0, atol=1e-8)
    # And the same numbers as without the shift and the scale.
    np.testing.assert_allclose(pearson_from_sums(st_, np.ones(len(y))), pearson_map(y, p),
                               rtol=0, atol=1e-7)


def test_the_issues_case_an_offset_of_3e5_or_1e6_keeps_r():
    y, p = _standardised(0, n_runs=7, n_parcels=5)
    r = pearson_map(y, p)
    assert r.mean() > 0.6
    for shift in (3e5, 1e6):
        ys, ps = [ep + shift for ep in y], [ep + shift for ep in p]
        ci = bootstrap_score(run_statistics(ys, ps), n_resamples=50, random_state=0)
        assert ci.estimate == pytest.approx(pearson_score(y, p), abs=1e-9)
        assert ci.low < ci.estimate < ci.high and ci.high - ci.low > 1e-3  # not [0, 0]


def test_constant_series_is_zero_at_any_offset_and_a_tiny_one_is_not():
    y, p = _standardised(1)
    for offset in (0.0, 7.0, -3e8, 1e12):
        flat = [np.full_like(ep, offset) for ep in y]
        np.testing.assert_array_equal(pearson_from_sums(run_statistics(flat, p),
                                                        np.ones(len(y))), 0.0)
        np.testing.assert_array_equal(pearson_map(flat, p), 0.0)
    # Spread at most RTOL = 1e-10 of the magnitude counts as constant, as in pearson_r.
    rng = np.random.default_rng(0)
    near = [1.0 + 1e-12 * rng.standard_normal(ep.shape) for ep in y]
    np.testing.assert_array_equal(pearson_map(near, p), 0.0)
    np.testing.assert_array_equal(pearson_from_sums(run_statistics(near, p), np.ones(len(y))),
                                  0.0)
    tiny = [1e-140 * ep for ep in p]  # small, not constant
    np.testing.assert_allclose(pearson_from_sums(run_statistics(y, tiny), np.ones(len(y))),
                               pearson_map(y, p), atol=1e-12)


@pytest.mark.parametrize("scale, where", [(1e-200, "y_pred[0]"), (1e200, "y_true[0]")])
def test_scales_whose_squares_leave_float64_are_refused_not_zero(scale, where):
    y, p = _standardised(5)
    if where == "y_true[0]":
        y = [scale * ep for ep in y]
    else:
        p = [scale * ep for ep in p]
    with pytest.raises(ValueError, match=rf"^{re.escape(where)} \(subject 0, parcel 0\) "
                                         r"deviates from its mean by up to \d\.\de[+-]\d+: run "
                                         "statistics hold squared deviations"):
        run_statistics(y, p)
    # An exactly constant column is no such case: its r is 0.
    flat = [np.zeros_like(ep) for ep in p]
    assert not pearson_from_sums(run_statistics(y if where == "y_pred[0]" else p, flat),
                                 np.ones(len(p))).any()


# ----------------------------------------------------------- argument errors, named
@pytest.mark.parametrize("weights, match", [
    (np.array([1, 1, np.nan, 1, 1]), r"weights must be finite counts >= 0; got nan at index "
                                     r"2\."),
    (np.array([1, -1, 1, 1, 1]), r"weights must be finite counts >= 0; got -1.0 at index "
                                 r"1\."),
    (np.array([[1, 1, 1, 1, np.inf]]), r"got inf at index \(0, 4\)"),
    (np.ones((1, 1, 5)), r"weights must be a 1-D or 2-D array of per-run counts; got dtype "
                         r"float64 and shape \(1, 1, 5\)"),
    (np.array(["a"] * 5), "got dtype <U1"),
    (3, r"got dtype int64 and shape \(\)"),
    (None, "weights must be an array of per-run counts; got None"),
    (np.ones(3), "weights cover 3 runs but stats hold 5"),
])
def test_pearson_from_sums_names_bad_weights(weights, match):
    y, p = _standardised(2)
    with pytest.raises(ValueError, match=match):
        pearson_from_sums(run_statistics(y, p), weights)


def test_pearson_from_sums_keeps_integer_counts_and_zero_rows():
    y, p = _standardised(3)
    st_ = run_statistics(y, p)
    counts = np.array([[0, 0, 0, 0, 0], [2, 0, 1, 1, 1]])  # int64 resample counts
    r = pearson_from_sums(st_, counts)
    np.testing.assert_array_equal(r[0], 0.0)  # no run left: 0, as before
    runs = [0, 0, 2, 3, 4]
    np.testing.assert_allclose(r[1], pearson_map([y[i] for i in runs], [p[i] for i in runs]),
                               atol=1e-12)
    with pytest.raises(ValueError, match="stats must be the RunStatistics of "
                                         r"run_statistics\(\); got dict"):
        pearson_from_sums({}, np.ones(5))


@pytest.mark.parametrize("trim", [-1, 1.5, True, "2", float("nan")])
def test_run_statistics_names_a_bad_trim(trim):
    y, p = _standardised(4)
    with pytest.raises(ValueError, match=r"^trim must be >= 0, a whole number of time points; "
                                         rf"got {trim!r}\.$"):
        run_statistics(y, p, trim=trim)


def _repeats(seed=0, T=60):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((2, T, 3))
    return {"figures01": s + rng.standard_normal(s.shape),
            "figures01_run-2": s + rng.standard_normal(s.shape),
            "life01": s + rng.standard_normal(s.shape),
            "life01_run-2": s + rng.standard_normal(s.shape)}


@pytest.mark.parametrize("key, value, match", [
    ("figures01", "nan", r"data\['figures01'\] contains 1 NaN or Inf values\."),
    ("life01_run-2", "inf", r"data\['life01_run-2'\] contains 1 NaN or Inf values\."),
    ("figures01", "2d", r"data\['figures01'\] has shape \(2, 60\) and dtype float64; expected "
                        r"a numeric array of shape \(subjects, time, parcels\)\."),
    ("life01", "text", r"data\['life01'\] has shape \(2, 60, 3\) and dtype <U1"),
    ("life01", "parcels", r"data\['life01'\] has 2 subjects and 4 parcels but "
                          r"data\['figures01'\] has 2 and 3"),
    ("figures01", "one time point", r"data\['figures01'\] and data\['figures01_run-2'\] share "
                                    r"1 time point\(s\)"),
])
def test_noise_ceiling_names_the_users_key_not_internals(key, value, match):
    data = _repeats()
    x = data[key]
    data[key] = {"nan": np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x),
                 "inf": np.where(np.arange(x.size).reshape(x.shape) == 7, np.inf, x),
                 "2d": x[:, :, 0], "text": np.full(x.shape, "a"),
                 "parcels": np.concatenate([x, x[..., :1]], axis=-1),
                 "one time point": x[:, :1]}[value]
    with pytest.raises(ValueError, match=f"^{match}") as info:
        noise_ceiling(data)
    assert "y_true" not in str(info.value) and "y_pred" not in str(info.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"max_lag": -1}, r"max_lag must be an integer >= 0 \(time points\); got -1\."),
    ({"max_lag": 2.5}, "max_lag must be an integer >= 0 .*; got 2.5"),
    ({"max_lag": True}, "max_lag must be an integer >= 0 .*; got True"),
    ({"max_lag": float("nan")}, "max_lag must be an integer >= 0 .*; got nan"),
    ({"max_lag": "20"}, "max_lag must be an integer >= 0 .*; got '20'"),
    ({"fdr": 0}, r"fdr must be a number in \(0, 1\); got 0\."),
    ({"fdr": float("nan")}, "fdr must be a number in .*; got nan"),
    ({"fdr": "0.05"}, "fdr must be a number in .*; got '0.05'"),
    ({"fdr": True}, "fdr must be a number in .*; got True"),
])
def test_noise_ceiling_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        noise_ceiling(_repeats(), **kwargs)


def test_noise_ceiling_max_lag_zero_and_huge():
    data = _repeats(1)
    n = 2 * 60
    assert np.all(noise_ceiling(data, max_lag=0).n_effective == n)  # lags ignored: n
    # A lag past the runs' length adds nothing (and allocates nothing for it).
    big = noise_ceiling(data, max_lag=10**12)
    np.testing.assert_array_equal(big.n_effective, noise_ceiling(data, max_lag=59).n_effective)


def test_other_evaluation_arguments_are_named():
    with pytest.raises(ValueError, match="data must be a loader dict .*; got list"):
        repeat_pairs([("figures01", 1)])
    with pytest.raises(ValueError, match="data must be a loader dict .*; got ndarray"):
        noise_ceiling(np.zeros((2, 2, 10, 3)))
    nc = noise_ceiling(_repeats())
    with pytest.raises(ValueError, match=r"ceiling must be the NoiseCeiling of "
                                         r"noise_ceiling\(\); got ndarray"):
        fraction_of_ceiling(np.zeros((2, 3)), nc.ceiling)
    with pytest.raises(ValueError, match="scores must be numbers .*; got dtype <U1"):
        fraction_of_ceiling(np.full((2, 3), "a"), nc)
    assert isinstance(nc, NoiseCeiling)

"""The challenge's scoring rule against an independent implementation (scipy.stats.pearsonr)."""

import numpy as np
import pytest
from scipy.stats import pearsonr

from sklearn_crossenc.data._paths import challenge_group
from sklearn_crossenc.metrics import challenge_map, challenge_score, pearson_score


def _runs(rng, lengths, S=2, C=4):
    return [rng.standard_normal((S, T, C)) for T in lengths]


def test_equals_scipy_pearsonr_over_trimmed_concatenated_runs_of_each_movie():
    rng = np.random.default_rng(0)
    keys = ["s06e01a", "figures01", "s06e02b", "life02", "figures03"]
    lengths = [40, 33, 37, 29, 31]
    truth = _runs(rng, lengths)
    pred = [t + rng.standard_normal(t.shape) * (i + 1) for i, t in enumerate(truth)]
    groups = [challenge_group(k) for k in keys]
    r, names = challenge_map(truth, pred, groups)
    assert names == ["s06", "figures", "life"]
    expected = np.empty((2, 3, 4))
    for s in range(2):
        for g, name in enumerate(names):
            idx = [i for i, grp in enumerate(groups) if grp == name]
            for c in range(4):
                a = np.concatenate([truth[i][s, 5:-5, c] for i in idx])
                b = np.concatenate([pred[i][s, 5:-5, c] for i in idx])
                expected[s, g, c] = pearsonr(a, b)[0]
    np.testing.assert_allclose(r, expected, atol=1e-6)
    score = challenge_score(truth, pred, groups)
    assert score == pytest.approx(expected.mean(axis=2).mean(axis=1).mean(), abs=1e-6)
    # Not the project's rule (all runs pooled, nothing trimmed): the rules differ here.
    assert abs(score - pearson_score(truth, pred)) > 1e-3


def test_groups_must_name_every_run():
    y = np.zeros((2, 1, 20, 3))
    with pytest.raises(ValueError, match="groups names 1 episodes; there are 2"):
        challenge_map(y, y, ["s06"])


def test_challenge_groups_of_the_release_keys():
    assert [challenge_group(k) for k in ("s06e15c", "s01e02a", "bourne10", "wolf17",
                                         "figures01_run-2", "my_story")] == [
        "s06", "s01", "bourne", "wolf", "figures", "my_story"]

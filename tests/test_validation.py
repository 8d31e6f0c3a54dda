"""check_episodes: every bad input gets a clear error naming the problem and value."""

import re

import numpy as np
import pytest

from sklearn_crossenc._validation import (
    check_episodes,
    check_same_structure,
    check_trim,
    restore_structure,
)


def test_array_and_list_inputs_give_float32_episodes():
    X = np.zeros((2, 3, 10, 4), dtype=np.float64)
    eps = check_episodes(X)
    assert len(eps) == 2 and eps[0].shape == (3, 10, 4) and eps[0].dtype == np.float32
    ragged = [np.zeros((3, 10, 4)), np.zeros((3, 12, 4), dtype=np.float32)]
    eps = check_episodes(ragged)
    assert [e.shape[1] for e in eps] == [10, 12]
    # float32 C-contiguous input is not copied
    a = np.zeros((3, 10, 4), dtype=np.float32)
    assert check_episodes([a])[0] is a


def test_restore_structure():
    X = np.zeros((2, 3, 10, 4))
    eps = check_episodes(X)
    assert restore_structure(X, eps).shape == (2, 3, 10, 4)
    assert isinstance(restore_structure(list(X), eps), list)


@pytest.mark.parametrize(
    "X, match",
    [
        (None, "X is None"),
        ({"s01e01a": np.zeros((2, 5, 3))}, "is a dict"),
        (np.zeros((3, 10, 4)), "3-D array of shape \\(3, 10, 4\\)"),
        (np.zeros((3, 10)), "ndim=2"),
        ("abc", "got str"),
        ([], "no episodes"),
        ([np.zeros((10, 4))], "X\\[0\\] has ndim=2"),
        ([np.zeros((3, 10, 4)), np.zeros((2, 10, 4))], "X\\[1\\] has 2 subjects and 4 parcels"),
        ([np.array([[["a"]]])], "dtype <U1"),
        ([np.zeros((2, 5, 3)), np.zeros((2, 5, 3), dtype=object)], "mixes episode dtypes"),
    ],
)
def test_bad_inputs(X, match):
    with pytest.raises(ValueError, match=match):
        check_episodes(X)


def test_nan_inf_and_lengths_and_counts():
    bad = np.zeros((2, 10, 3))
    bad[1, 4, 2] = np.nan
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="X\\[1\\] contains 2 NaN or Inf"):
        check_episodes([np.zeros((2, 10, 3)), bad])
    assert check_episodes([bad], allow_nan=True)[0].shape == (2, 10, 3)
    with pytest.raises(ValueError, match="X\\[0\\] has 10 time points, fewer than the 64"):
        check_episodes([np.zeros((2, 10, 3))], min_length=64)
    with pytest.raises(ValueError, match="1 subject\\(s\\); at least 2"):
        check_episodes([np.zeros((1, 10, 3))], min_subjects=2)
    with pytest.raises(ValueError, match="3 subjects but the model was fitted on 4"):
        check_episodes([np.zeros((3, 10, 3))], n_subjects=4)
    with pytest.raises(ValueError, match="3 parcels but the model was fitted on 1000"):
        check_episodes([np.zeros((3, 10, 3))], n_parcels=1000)


def test_check_same_structure():
    X = check_episodes([np.zeros((2, 10, 3))])
    with pytest.raises(ValueError, match="X has 1 episodes but y has 2"):
        check_same_structure(X, X + X)
    with pytest.raises(ValueError, match="y\\[0\\] has shape \\(2, 9, 3\\)"):
        check_same_structure(X, [np.zeros((2, 9, 3))])


@pytest.mark.parametrize("trim, expected", [(0, 0), (5, 5), (np.int64(3), 3), (5.0, 5)])
def test_check_trim_accepts_whole_numbers(trim, expected):
    out = check_trim(trim)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("trim", [-1, 1.5, "5", True, None, float("nan")])
def test_check_trim_refuses_the_rest_naming_the_value(trim):
    with pytest.raises(ValueError, match=re.escape(f"trim must be >= 0, a whole number of "
                                                   f"time points; got {trim!r}.")):
        check_trim(trim)


def test_every_trim_goes_through_check_trim():
    """metrics and FeatureRidge give check_trim's message, and its int (5.0 works)."""
    from sklearn_crossenc.metrics import make_pearson_scorer, pearson_map
    from sklearn_crossenc.ridge import FeatureRidge

    msg = re.escape("trim must be >= 0, a whole number of time points; got -2.")
    y = np.zeros((1, 2, 10, 3))
    with pytest.raises(ValueError, match=msg):
        pearson_map(y, y, trim=-2)
    with pytest.raises(ValueError, match=msg):
        make_pearson_scorer(trim=-2)
    assert repr(make_pearson_scorer(trim=4.0)) == "make_pearson_scorer(trim=4)"
    X = [{"visual": np.ones((12, 2))}]
    with pytest.raises(ValueError, match=msg):
        FeatureRidge(modalities=("visual",), trim=-2).fit(X, y[:1])
    with pytest.raises(ValueError, match=re.escape("got 1.5.")):
        FeatureRidge(modalities=("visual",), trim=1.5).fit(X, y[:1])

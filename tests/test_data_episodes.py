"""Episode helpers: episodes list, group labels for grouped CV, fixed-length clips."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from sklearn_crossenc.data import as_episodes, episode_groups, make_clips


def _data(lengths=(10, 7, 4), s=3, c=2):
    rng = np.random.default_rng(0)
    keys = ["s01e01a", "s01e01b", "s02e01a"][: len(lengths)]
    return {k: rng.standard_normal((s, n, c)).astype(np.float32)
            for k, n in zip(keys, lengths, strict=True)}


def test_as_episodes_is_values_in_key_order(friends_tiny):
    train, _ = friends_tiny
    eps = as_episodes(train)
    assert len(eps) == len(train)
    assert all(a is b for a, b in zip(eps, train.values(), strict=True))


@pytest.mark.parametrize("bad, match", [
    ({}, "data is empty"),
    ([np.zeros((2, 3, 4))], "must be a loader dict"),
    ({"a": np.zeros((3, 4))}, "ndim=2"),
    ({"a": np.zeros((2, 3, 4)), "b": np.zeros((3, 3, 4))}, "subjects"),
])
def test_as_episodes_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        as_episodes(bad)


def test_groups_friends_movie_and_mixed(friends_tiny):
    train, val = friends_tiny
    g = episode_groups(train)
    assert g.dtype.kind == "i"
    np.testing.assert_array_equal(g, [int(k[1:3]) for k in train])
    assert set(g) == {1, 2, 3, 4, 5}
    keys = ["bourne01", "figures01", "figures01_run-2", "life01_run-2", "wolf01"]
    np.testing.assert_array_equal(episode_groups(keys),
                                  ["bourne", "figures", "figures", "life", "wolf"])
    np.testing.assert_array_equal(episode_groups(keys, by="movie"), episode_groups(keys))
    np.testing.assert_array_equal(episode_groups(["s01e01a", "wolf01"]), ["s1", "wolf"])
    # usable for grouped CV: no season split across folds
    cv = GroupKFold(n_splits=5)
    for tr, te in cv.split(np.zeros(len(g)), groups=g):
        assert not set(g[tr]) & set(g[te])


@pytest.mark.parametrize("keys, by, match", [
    (["s01e01a"], "movie", "is a Friends episode; it has no movie"),
    (["bourne01"], "season", "is a Movie10 run; it has no season"),
    (["hello"], "auto", "neither a Friends episode"),
    (["s01e01a"], "year", "by must be 'auto', 'season' or 'movie'"),
    ([], "auto", "empty selection"),
    ("s01e01a", "auto", "not a string"),
    ([3], "auto", "is not a string"),
])
def test_groups_errors(keys, by, match):
    with pytest.raises(ValueError, match=match):
        episode_groups(keys, by=by)


def test_clips_values_against_direct_slicing():
    data = _data()
    clips = make_clips(data, 3)
    # 10 -> 3 clips, 7 -> 2, 4 -> 1
    assert clips.shape == (6, 3, 3, 2) and clips.dtype == np.float32
    eps = list(data.values())
    expected = [eps[0][:, 0:3], eps[0][:, 3:6], eps[0][:, 6:9], eps[1][:, 0:3], eps[1][:, 3:6],
                eps[2][:, 0:3]]
    np.testing.assert_array_equal(clips, np.stack(expected))


def test_clips_step_and_input_forms():
    data = _data()
    clips = make_clips(data, 4, step=3)
    # starts: 10 -> 0,3,6 ; 7 -> 0,3 ; 4 -> 0
    assert clips.shape[0] == 6
    np.testing.assert_array_equal(clips[2], data["s01e01a"][:, 6:10])
    np.testing.assert_array_equal(make_clips(list(data.values()), 4, step=3), clips)
    arr = np.stack([v[:, :4] for v in data.values()])  # 4-D input
    np.testing.assert_array_equal(make_clips(arr, 2), arr.reshape(3, 3, 2, 2, 2)
                                  .transpose(0, 2, 1, 3, 4).reshape(6, 3, 2, 2))
    short = make_clips(data, 8)  # episodes shorter than the clip give none
    assert short.shape == (1, 3, 8, 2)


@pytest.mark.parametrize("length, step, match", [
    (11, None, "no clip of length 11 fits: the longest episode has 10"),
    (0, None, "length must be a positive integer, got 0"),
    (2.5, None, "length must be a positive integer"),
    (3, 0, "step must be a positive integer, got 0"),
])
def test_clips_errors(length, step, match):
    with pytest.raises(ValueError, match=match):
        make_clips(_data(), length, step)

"""Turn a loader dict into estimator input: episodes, group labels, fixed-length clips."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import check_episodes
from ._paths import parse_friends_run, parse_movie10_run, stimulus_name

__all__ = ["as_episodes", "episode_groups", "make_clips"]


def _check_dict(data, name: str = "data") -> Mapping:
    if not isinstance(data, Mapping):
        raise ValueError(
            f"{name} must be a loader dict of run name -> (subjects, time, parcels) array, "
            f"got {type(data).__name__}"
        )
    if not data:
        raise ValueError(f"{name} is empty (no runs selected)")
    return data


def as_episodes(data) -> list[np.ndarray]:
    """The values of a loader dict, in key order: the ragged episodes form.

    Parameters
    ----------
    data : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        A loader's output.

    Returns
    -------
    episodes : list of ndarray of shape (n_subjects, n_times_i, n_parcels)
        The arrays themselves (no copy), validated to share subjects and parcels.

    Examples
    --------
    >>> import numpy as np
    >>> data = {"s01e01a": np.zeros((4, 10, 3), np.float32),
    ...         "s01e01b": np.ones((4, 12, 3), np.float32)}
    >>> [ep.shape for ep in as_episodes(data)]
    [(4, 10, 3), (4, 12, 3)]
    """
    data = _check_dict(data)
    episodes = list(data.values())
    check_episodes(episodes, name="data values", dtype=None, allow_nan=True)
    return episodes


def _group_of(key: str, by: str):
    if not isinstance(key, str):
        raise ValueError(f"run key {key!r} is not a string")
    stim = stimulus_name(key)
    try:
        season = parse_friends_run(stim)[0]
    except ValueError:
        season = None
    if season is not None:
        if by == "movie":
            raise ValueError(f"run {key!r} is a Friends episode; it has no movie (use by='season')")
        return season
    try:
        movie = parse_movie10_run(stim)[0]
    except ValueError:
        raise ValueError(
            f"run key {key!r} is neither a Friends episode ('s01e02a') nor a Movie10 run "
            "('bourne01', 'figures01_run-2')"
        ) from None
    if by == "season":
        raise ValueError(f"run {key!r} is a Movie10 run; it has no season (use by='movie')")
    return movie


def episode_groups(data, by: str = "auto") -> np.ndarray:
    """Group label of each run, for grouped cross-validation (e.g. ``GroupKFold``).

    Parameters
    ----------
    data : dict or sequence of str
        A loader dict (its keys are used) or the run keys themselves.
    by : {"auto", "season", "movie"}, default="auto"
        ``"season"``: the Friends season number; ``"movie"``: the Movie10 movie
        (``"figures"`` for ``"figures01_run-2"``); ``"auto"``: per key, the season for
        Friends and the movie for Movie10. A mix of both gives strings, Friends seasons
        then read ``"s1"`` ... ``"s6"``.

    Returns
    -------
    groups : ndarray of shape (n_runs,)
        int for seasons, str for movies.

    Examples
    --------
    >>> episode_groups(["s01e01a", "s01e01b", "s02e01a"])
    array([1, 1, 2])
    >>> episode_groups(["bourne01", "figures01", "figures01_run-2"])
    array(['bourne', 'figures', 'figures'], dtype='<U7')
    """
    if by not in ("auto", "season", "movie"):
        raise ValueError(f"by must be 'auto', 'season' or 'movie', got {by!r}")
    if isinstance(data, Mapping):
        keys = list(_check_dict(data))
    elif isinstance(data, str):
        raise ValueError("data must be a loader dict or a sequence of run keys, not a string")
    else:
        keys = list(data)
        if not keys:
            raise ValueError("data holds no run keys (empty selection)")
    groups = [_group_of(k, by) for k in keys]
    kinds = {type(g) for g in groups}
    if kinds == {int}:
        return np.asarray(groups, dtype=int)
    if kinds == {str}:
        return np.asarray(groups, dtype=str)
    return np.asarray([f"s{g}" if isinstance(g, int) else g for g in groups], dtype=str)


def make_clips(data, length: int, step: int | None = None) -> np.ndarray:
    """Cut every episode into fixed-length clips, as one 4-D array.

    Clip starts run ``0, step, 2 * step, ...`` while a whole clip fits, as in the
    seed's ordered sampler; an episode shorter than ``length`` gives no clip.

    Parameters
    ----------
    data : dict, list of ndarray of shape (n_subjects, n_times_i, n_parcels), or 4-D ndarray
        A loader dict or episodes.
    length : int
        Clip length in time points.
    step : int, optional
        Distance between clip starts (default ``length``: non-overlapping).

    Returns
    -------
    clips : ndarray of shape (n_clips, n_subjects, length, n_parcels)
        float32.

    Examples
    --------
    >>> import numpy as np
    >>> data = {"s01e01a": np.zeros((4, 10, 3)), "s01e01b": np.zeros((4, 7, 3))}
    >>> make_clips(data, 4).shape
    (3, 4, 4, 3)
    >>> make_clips(data, 4, step=2).shape
    (6, 4, 4, 3)
    """
    for name, v in (("length", length), ("step", step)):
        if v is None and name == "step":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    step = length if step is None else int(step)
    episodes = as_episodes(data) if isinstance(data, Mapping) else check_episodes(
        data, name="data", dtype=None, allow_nan=True)
    starts = [range(0, ep.shape[1] - length + 1, step) for ep in episodes]
    n_clips = sum(len(r) for r in starts)
    if n_clips == 0:
        longest = max(ep.shape[1] for ep in episodes)
        raise ValueError(
            f"no clip of length {length} fits: the longest episode has {longest} time points"
        )
    s, _, c = episodes[0].shape
    out = np.empty((n_clips, s, length, c), np.float32)  # (N, S, L, C)
    i = 0
    for ep, r in zip(episodes, starts, strict=True):
        for t0 in r:
            out[i] = ep[:, t0:t0 + length]
            i += 1
    return out

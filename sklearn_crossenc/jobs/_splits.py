"""The folds of a grid search over whole runs: by season or plain ``KFold``.

One module that the grid search and the pre-flight both import (before, the pre-flight
imported :func:`cv_splitter` from ``grid.py``, which imports the pre-flight: a circle).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPLITS", "cv_splitter", "run_groups"]

#: Fold kinds: ``season`` (GroupKFold, one group per season) or ``kfold`` (KFold over runs).
SPLITS = ("season", "kfold")


def run_groups(keys, described: bool) -> np.ndarray:
    """The group of each searched run: the release's season or movie (its run keys say
    which), or, for runs of a ``dataset.toml`` (``described``), each run its own group:
    a dataset's keys (``task-movie_run-1``, ``story3``) are not the release's, and read as
    the release's they were refused, or grouped by a "movie" that is not one.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._splits import run_groups
    >>> run_groups(["s01e01a", "s01e01b", "s02e01a"], described=False)
    array([1, 1, 2])
    >>> run_groups(["task-movie_run-1", "task-movie_run-2"], described=True)
    array([0, 1])
    """
    from ..data import episode_groups

    keys = list(keys)
    return np.arange(len(keys)) if described else episode_groups(keys)


def cv_splitter(split: str, n_folds: int, groups):
    """The cross-validation splitter over whole runs, checked against the data.

    Parameters
    ----------
    split : {"season", "kfold"}
        ``season``: ``GroupKFold`` with one group per season; ``kfold``: ``KFold``.
    n_folds : int
        Number of folds (at least 2).
    groups : array-like of shape (n_runs,)
        Season of each run (:func:`sklearn_crossenc.episode_groups`).

    Examples
    --------
    >>> from sklearn_crossenc.jobs._splits import cv_splitter
    >>> splitter = cv_splitter("season", 2, [1, 1, 2, 2])
    >>> type(splitter).__name__, splitter.get_n_splits()
    ('GroupKFold', 2)
    >>> cv_splitter("season", 3, [1, 1, 2, 2])
    Traceback (most recent call last):
    ...
    ValueError: --split season needs at least 3 seasons for --cv 3; the data has 2 (1, 2). Use a smaller --cv or --split kfold.
    """  # noqa: E501
    from sklearn.model_selection import GroupKFold, KFold

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose {' or '.join(SPLITS)}.")
    if n_folds < 2:
        raise ValueError(f"--cv must be at least 2; got {n_folds}.")
    n_runs = len(groups)
    if n_runs < n_folds:
        raise ValueError(f"only {n_runs} runs for --cv {n_folds} folds.")
    if split == "season":
        seasons = np.unique(groups)
        if len(seasons) < n_folds:
            raise ValueError(
                f"--split season needs at least {n_folds} seasons for --cv {n_folds}; the data "
                f"has {len(seasons)} ({', '.join(map(str, seasons))}). Use a smaller --cv or "
                "--split kfold."
            )
        return GroupKFold(n_splits=n_folds)
    return KFold(n_splits=n_folds, shuffle=False)

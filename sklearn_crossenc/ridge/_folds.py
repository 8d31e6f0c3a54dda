"""Cross-validation over episodes: the folds and the progress bar of the ridge fits.

Also the folds of a short budget (:func:`piece_counts`, :func:`cv_row_splits`): runs cut
into contiguous pieces when there are fewer runs than folds.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

__all__ = ["check_cv", "episode_splits", "piece_counts", "cv_row_splits", "progress_ticker"]


def check_cv(cv, name: str = "cv"):
    """``cv`` if it can split episodes: an int >= 2, a splitter or (train, test) pairs.

    Examples
    --------
    >>> from sklearn_crossenc.ridge._folds import check_cv
    >>> check_cv("5")
    Traceback (most recent call last):
    ...
    ValueError: cv must be an integer >= 2, a cross-validation splitter or an iterable of (train, test) episode indices; got '5'.
    """  # noqa: E501
    ok = not isinstance(cv, (str, bytes, bool)) and (
        (isinstance(cv, numbers.Integral) and cv >= 2) or callable(getattr(cv, "split", None))
        or (not isinstance(cv, numbers.Number) and hasattr(cv, "__iter__")))
    if not ok:
        raise ValueError(f"{name} must be an integer >= 2, a cross-validation splitter or an "
                         f"iterable of (train, test) episode indices; got {cv!r}.")
    return cv


def episode_splits(cv, n_episodes: int, groups=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) episode indices from ``cv``: an int, a splitter or an iterable.

    An int ``k`` means ``KFold(k)`` over episodes (in order, no shuffling).
    """
    from sklearn.model_selection import check_cv

    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds; got cv={cv}.")
        if cv > n_episodes:
            raise ValueError(
                f"cv={cv} folds need at least {cv} episodes; got {n_episodes}. "
                "Pass fewer folds or more episodes."
            )
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape[0] != n_episodes:
            raise ValueError(
                f"groups has {groups.shape[0]} labels but there are {n_episodes} episodes; "
                "give one label per episode."
            )
    splitter = check_cv(cv)
    index = np.arange(n_episodes).reshape(-1, 1)  # (E, 1): the splitters index episodes
    try:
        splits = [(np.asarray(tr, dtype=int), np.asarray(te, dtype=int))
                  for tr, te in splitter.split(index, None, groups)]
    except ValueError as exc:
        raise ValueError(f"cv could not split {n_episodes} episodes: {exc}") from exc
    if not splits:
        raise ValueError("cv produced no splits.")
    for f, (tr, te) in enumerate(splits):
        if tr.size == 0 or te.size == 0:
            raise ValueError(f"cv split {f} has an empty training or test set of episodes.")
        bad = np.concatenate([tr, te])
        bad = bad[(bad < 0) | (bad >= n_episodes)]
        if bad.size:
            raise ValueError(
                f"cv split {f} refers to episode {int(bad[0])}, but there are only "
                f"{n_episodes} episodes."
            )
    return splits



def piece_counts(lengths, n_splits: int) -> np.ndarray:
    """Pieces per episode so that there are ``n_splits`` in all (whole when enough).

    Each episode starts as one piece; while there are fewer than ``n_splits``, the
    episode whose pieces are longest gets one more (``np.array_split`` cuts it).

    Examples
    --------
    >>> piece_counts([40], 5).tolist(), piece_counts([470, 133], 5).tolist()
    ([5], [4, 1])
    >>> piece_counts([3], 5)
    Traceback (most recent call last):
    ...
    ValueError: 3 time points are too few to cut into 5 folds.
    """
    lengths = np.asarray(lengths, dtype=float)  # (E,)
    pieces = np.ones(lengths.size, dtype=int)  # (E,)
    while pieces.sum() < n_splits:
        pieces[int(np.argmax(lengths / pieces))] += 1
    if (lengths < pieces).any():
        raise ValueError(
            f"{int(lengths.sum())} time points are too few to cut into {n_splits} folds."
        )
    return pieces


def cv_row_splits(lengths, cv, gap: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over runs as (train, validation) indices of the concatenated time points.

    ``cv`` an int ``k``: ``KFold(k)`` over the episodes (in order) when there are at
    least ``k``; else the episodes are cut into ``k`` contiguous pieces
    (:func:`piece_counts`), one per fold, and the time points of the same episode within
    ``gap`` of the validation piece are left out of that fold's training (neighbouring
    time points share slow signal and autocorrelated noise, which would favour weak
    penalties). Any other ``cv`` (a splitter, (train, test) pairs) splits the episodes as
    :func:`~sklearn_crossenc.ridge._folds.episode_splits` does.

    Examples
    --------
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv_row_splits([6], 3, gap=1)]
    [([3, 4, 5], [0, 1]), ([0, 5], [2, 3]), ([0, 1, 2], [4, 5])]
    """
    lengths = np.asarray(lengths, dtype=int)  # (E,)
    starts = np.concatenate([[0], np.cumsum(lengths)])  # (E + 1,)
    if not isinstance(cv, numbers.Integral) or isinstance(cv, bool) or cv <= lengths.size:
        rows = [np.arange(starts[e], starts[e + 1]) for e in range(lengths.size)]
        return [(np.concatenate([rows[e] for e in tr]), np.concatenate([rows[e] for e in te]))
                for tr, te in episode_splits(cv, lengths.size)]
    n = int(starts[-1])
    splits = []
    for e, k in enumerate(piece_counts(lengths, int(cv))):
        for piece in np.array_split(np.arange(starts[e], starts[e + 1]), k):
            keep = np.ones(n, dtype=bool)
            keep[max(starts[e], piece[0] - gap):min(starts[e + 1], piece[-1] + 1 + gap)] = False
            splits.append((np.flatnonzero(keep), piece))
    return splits


@contextlib.contextmanager
def progress_ticker(verbose, total: int, desc: str):
    """A tqdm bar of ``total`` steps while ``verbose``: yields its ``update`` (else None).

    The bar is closed however the block ends.
    """
    if not verbose:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", leave=False)
    try:
        yield bar.update
    finally:
        bar.close()

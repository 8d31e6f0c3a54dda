"""Cross-validation over episodes: the folds and the progress bar of the ridge fits."""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

__all__ = ["check_cv", "episode_splits", "progress_ticker"]


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

"""The episodes early stopping holds out: from a fraction, a splitter or given episodes.

``CrossSubjectEncoder(validation=...)`` takes

- a fraction in (0, 1): that share of the training episodes, drawn at random (seeded by
  the estimator's ``random_state``);
- a cross-validation splitter (``KFold(5)``, ``GroupKFold``...): the test episodes of its
  **last** split, so that early stopping holds out the same whole runs as the last fold of
  a cross-validation with that splitter (``crossenc compare`` passes the protocol's folds,
  the folds on which the ridges choose their alphas);
- episodes: held out as given (the training episodes stay whole).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_episodes

__all__ = ["split_validation"]


def _pick(eps, idx):
    return None if eps is None else [eps[i] for i in idx]


def _fraction_split(n: int, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    n_val = int(round(fraction * n))
    if n_val < 1 or n_val >= n:
        raise ValueError(
            f"validation={fraction} of {n} training episode(s) leaves {n_val} for validation "
            f"and {n - n_val} for training; both need at least one.")
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _splitter_split(n: int, splitter) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(n).reshape(-1, 1)  # (E, 1): splitters index episodes
    try:
        splits = list(splitter.split(index))
    except ValueError as err:
        raise ValueError(f"validation={splitter!r} cannot split the {n} training episodes: "
                         f"{err}") from None
    if not splits:
        raise ValueError(f"validation={splitter!r} gives no split of the {n} training episodes.")
    train, val = (np.asarray(i, dtype=int) for i in splits[-1])
    if train.size == 0 or val.size == 0:
        raise ValueError(f"the last split of validation={splitter!r} leaves {val.size} of the {n} "
                         f"training episodes for validation and {train.size} for training; both "
                         "need at least one.")
    return np.sort(train), np.sort(val)


def split_validation(validation, episodes: list, targets, rng) -> tuple:
    """``(train inputs, train targets, valid inputs, valid targets)``.

    Parameters
    ----------
    validation : None, float in (0, 1), splitter or episodes
        See the module's docstring.
    episodes : list of ndarray of shape (n_subjects, n_times_i, n_parcels)
    targets : list of ndarray or None
        None where the targets are the inputs themselves.
    rng : numpy Generator
        Draws the random hold-out of a fraction.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold
    >>> from sklearn_crossenc.encoder._holdout import split_validation
    >>> eps = [np.full((2, 5, 3), i, np.float32) for i in range(10)]
    >>> train, _, valid, _ = split_validation(KFold(5), eps, None, None)
    >>> [int(e[0, 0, 0]) for e in valid], len(train)
    ([8, 9], 8)
    """
    if validation is None:
        return episodes, targets, [], None
    n = len(episodes)
    if isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        train_idx, val_idx = _fraction_split(n, float(validation), rng)
    elif callable(getattr(validation, "split", None)):
        train_idx, val_idx = _splitter_split(n, validation)
    else:
        S, _, C = episodes[0].shape
        valid = check_episodes(validation, name="validation", n_subjects=S, n_parcels=C,
                               min_length=2)
        return episodes, targets, valid, None
    return (_pick(episodes, train_idx), _pick(targets, train_idx),
            _pick(episodes, val_idx), _pick(targets, val_idx))

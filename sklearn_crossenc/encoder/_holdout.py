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

__all__ = ["validation_indices"]


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


def validation_indices(validation, n: int, rng) -> tuple[np.ndarray, np.ndarray | None]:
    """``(train indices, validation indices)`` of ``n`` training episodes.

    ``(all, None)`` for None or for validation episodes given as such (they are checked
    against the data by the caller).

    Parameters
    ----------
    validation : None, float in (0, 1), splitter or episodes
        See the module's docstring.
    n : int
        Number of training episodes.
    rng : numpy Generator
        Draws the random hold-out of a fraction.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold
    >>> from sklearn_crossenc.encoder._holdout import validation_indices
    >>> train, valid = validation_indices(KFold(5), 10, None)
    >>> valid.tolist(), train.tolist()
    ([8, 9], [0, 1, 2, 3, 4, 5, 6, 7])
    """
    if isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        return _fraction_split(n, float(validation), rng)
    if callable(getattr(validation, "split", None)):
        return _splitter_split(n, validation)
    return np.arange(n), None

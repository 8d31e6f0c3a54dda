"""Input validation for the episode-structured data every estimator takes.

The estimators of this package take *episodes*: either a 4-D array shaped
``(n_episodes, n_subjects, n_times, n_parcels)`` or a list of 3-D arrays shaped
``(n_subjects, n_times_i, n_parcels)`` whose time length may differ (the values of
the loaders' dict). :func:`check_episodes` turns both into a list of C-contiguous
float arrays and raises a clear ``ValueError`` naming the offending episode and
value for anything else.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["check_episodes", "check_same_structure", "restore_structure", "is_episode_array",
           "check_trim", "check_random_state_param", "check_callbacks", "check_predictions"]


def check_random_state_param(value, name: str = "random_state"):
    """``value`` if scikit-learn accepts it as a seed, else an error naming ``name``.

    None, an int in [0, 2**32 - 1] or a ``numpy.random.RandomState``.

    Examples
    --------
    >>> from sklearn_crossenc._validation import check_random_state_param
    >>> check_random_state_param(3)
    3
    >>> check_random_state_param(-1)
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, an integer in [0, 2**32 - 1] or a numpy RandomState; got -1.
    """  # noqa: E501
    ok = value is None or isinstance(value, np.random.RandomState) or (
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
        and 0 <= value <= 2**32 - 1)
    if not ok:
        raise ValueError(f"{name} must be None, an integer in [0, 2**32 - 1] or a numpy "
                         f"RandomState; got {value!r}.")
    return value


def check_callbacks(value, name: str = "callbacks"):
    """``value`` if skorch can use it as extra callbacks, else one clear error.

    None, or a list/tuple of skorch callbacks (instances or classes) and
    ``(name, callback)`` pairs.

    Examples
    --------
    >>> from sklearn_crossenc._validation import check_callbacks
    >>> check_callbacks("progress")
    Traceback (most recent call last):
    ...
    ValueError: callbacks must be None or a list of skorch callbacks or (name, callback) pairs; got 'progress'.
    """  # noqa: E501
    from skorch.callbacks import Callback

    def is_callback(cb):
        return isinstance(cb, Callback) or (isinstance(cb, type) and issubclass(cb, Callback))

    def ok(item):
        if isinstance(item, tuple):
            return len(item) == 2 and isinstance(item[0], str) and is_callback(item[1])
        return is_callback(item)

    if value is not None and not (isinstance(value, (list, tuple)) and all(map(ok, value))):
        raise ValueError(f"{name} must be None or a list of skorch callbacks or (name, "
                         f"callback) pairs; got {value!r}.")
    return value


def check_trim(trim, name: str = "trim") -> int:
    """Validate a count of time points left out at each end of every episode.

    Parameters
    ----------
    trim : int
        An integer >= 0 (a float with an integral value, such as ``5.0``, is accepted).
    name : str, default="trim"
        Name of the argument, used in the error message.

    Returns
    -------
    trim : int

    Examples
    --------
    >>> from sklearn_crossenc._validation import check_trim
    >>> check_trim(5), check_trim(5.0)
    (5, 5)
    >>> check_trim(-1)
    Traceback (most recent call last):
    ...
    ValueError: trim must be >= 0, a whole number of time points; got -1.
    """
    whole = isinstance(trim, numbers.Integral) or (
        isinstance(trim, numbers.Real) and float(trim).is_integer())
    if isinstance(trim, bool) or not whole or trim < 0:
        raise ValueError(f"{name} must be >= 0, a whole number of time points; got {trim!r}.")
    return int(trim)


def is_episode_array(X) -> bool:
    """True when ``X`` is a single 4-D array (rather than a list of episodes)."""
    return isinstance(X, np.ndarray) and X.ndim == 4


def _episode_items(X, name: str) -> Sequence:
    """The episodes of ``X`` as a sequence, after the container-level checks."""
    if X is None:
        raise ValueError(f"{name} is None; expected episodes shaped (subjects, time, parcels).")
    if isinstance(X, Mapping):
        raise ValueError(
            f"{name} is a dict; pass list({name}.values()) (the loaders' dict values) "
            "so that cross-validation can index episodes."
        )
    if isinstance(X, np.ndarray):
        if X.ndim == 3:
            raise ValueError(
                f"{name} is a 3-D array of shape {X.shape}; expected 4-D "
                "(episodes, subjects, time, parcels). For a single episode pass [array]."
            )
        if X.ndim != 4:
            raise ValueError(
                f"{name} must be a 4-D array (episodes, subjects, time, parcels) or a list of "
                f"3-D arrays (subjects, time, parcels); got an array with ndim={X.ndim} "
                f"and shape {X.shape}."
            )
        items: Sequence = list(X)
    elif isinstance(X, (list, tuple)):
        items = X
    else:
        raise ValueError(
            f"{name} must be a 4-D array or a list of 3-D arrays; got {type(X).__name__}."
        )
    if len(items) == 0:
        raise ValueError(f"{name} holds no episodes (empty selection).")

    dtypes = {np.asarray(ep).dtype for ep in items} if isinstance(X, (list, tuple)) else set()
    if len(dtypes) > 1:
        kinds = {dt.kind for dt in dtypes}
        if not kinds <= {"f", "i", "u"}:
            raise ValueError(
                f"{name} mixes episode dtypes {sorted(str(d) for d in dtypes)}; "
                "every episode must hold numbers."
            )
    return items


def check_episodes(
    X,
    *,
    name: str = "X",
    n_subjects: int | None = None,
    n_parcels: int | None = None,
    min_subjects: int = 1,
    min_length: int = 1,
    dtype=np.float32,
    allow_nan: bool = False,
) -> list[np.ndarray]:
    """Validate episode data and return it as a list of 3-D arrays.

    Parameters
    ----------
    X : ndarray of shape (n_episodes, n_subjects, n_times, n_parcels) or list of ndarray
        Episodes. A list holds arrays shaped ``(n_subjects, n_times_i, n_parcels)``.
    name : str, default="X"
        Name of the argument, used in error messages.
    n_subjects, n_parcels : int, optional
        Expected counts (for instance those seen in ``fit``).
    min_subjects : int, default=1
        Smallest number of subjects accepted.
    min_length : int, default=1
        Shortest episode (in time points) accepted.
    dtype : numpy dtype, default=np.float32
        Output dtype; arrays already of that dtype and C-contiguous are not copied.
    allow_nan : bool, default=False
        Whether NaN/Inf values are accepted.

    Returns
    -------
    episodes : list of ndarray of shape (n_subjects, n_times_i, n_parcels)

    Raises
    ------
    ValueError
        On a wrong type or ndim, an empty input, inconsistent or unexpected subject or
        parcel counts, episodes shorter than ``min_length`` and non-finite values.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc._validation import check_episodes
    >>> eps = check_episodes(np.zeros((2, 4, 10, 5)))
    >>> len(eps), eps[0].shape
    (2, (4, 10, 5))
    """
    items = _episode_items(X, name)
    out = []
    first_shape = None
    for i, ep in enumerate(items):
        arr = np.asarray(ep)
        if arr.dtype.kind not in "fiu":
            raise ValueError(
                f"{name}[{i}] has dtype {arr.dtype}; expected a floating point array."
            )
        if arr.ndim != 3:
            raise ValueError(
                f"{name}[{i}] has ndim={arr.ndim} (shape {arr.shape}); each episode must be "
                "3-D (subjects, time, parcels)."
            )
        s, t, c = arr.shape
        if first_shape is None:
            first_shape = (s, c)
        elif (s, c) != first_shape:
            raise ValueError(
                f"{name}[{i}] has {s} subjects and {c} parcels but {name}[0] has "
                f"{first_shape[0]} subjects and {first_shape[1]} parcels; all episodes must "
                "share the subject and parcel axes."
            )
        if t < min_length:
            raise ValueError(
                f"{name}[{i}] has {t} time points, fewer than the {min_length} this "
                "operation needs."
            )
        arr = np.ascontiguousarray(arr, dtype=dtype)
        if not allow_nan and not np.isfinite(arr).all():
            n_bad = int(arr.size - np.isfinite(arr).sum())
            raise ValueError(f"{name}[{i}] contains {n_bad} NaN or Inf values.")
        out.append(arr)

    s, c = first_shape
    if s < min_subjects:
        raise ValueError(
            f"{name} has {s} subject(s); at least {min_subjects} are needed "
            "(each subject is predicted from the others)."
        )
    if n_subjects is not None and s != n_subjects:
        raise ValueError(
            f"{name} has {s} subjects but the model was fitted on {n_subjects}."
        )
    if n_parcels is not None and c != n_parcels:
        raise ValueError(
            f"{name} has {c} parcels but the model was fitted on {n_parcels}."
        )
    return out


def check_same_structure(X: list[np.ndarray], y: list[np.ndarray], *, names=("X", "y")) -> None:
    """Raise ``ValueError`` unless ``y`` has as many episodes as ``X`` with equal lengths."""
    if len(X) != len(y):
        raise ValueError(
            f"{names[0]} has {len(X)} episodes but {names[1]} has {len(y)}."
        )
    for i, (a, b) in enumerate(zip(X, y, strict=True)):
        if a.shape[:2] != b.shape[:2]:
            raise ValueError(
                f"{names[1]}[{i}] has shape {b.shape} but {names[0]}[{i}] has shape {a.shape}; "
                "subjects and time points must match."
            )


def check_predictions(y_true, y_pred, *, trim=0, min_length: int | None = None,
                      finite_predictions: bool = False):
    """The checks every metric makes of a target and a prediction, made once.

    Both are episodes of the same structure (episodes, subjects, time points, parcels);
    ``y_true`` must be finite and each of its episodes at least ``min_length`` long
    (default ``2 * trim + 2``, two time points left after trimming); ``y_pred`` may hold
    NaN or Inf (a diverged model), which the metrics turn into NaN scores, unless
    ``finite_predictions`` (the run statistics of the intervals refuse them).

    Returns
    -------
    trim : int
    y_true, y_pred : list of ndarray of shape (n_subjects, n_times_i, n_parcels)
        In their own dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc._validation import check_predictions
    >>> check_predictions(np.zeros((1, 2, 9, 3)), np.zeros((1, 2, 9, 4)))
    Traceback (most recent call last):
    ...
    ValueError: y_true has 3 parcels but y_pred has 4.
    """
    trim = check_trim(trim)
    need = 2 * trim + 2 if min_length is None else min_length
    yt = check_episodes(y_true, name="y_true", dtype=None, min_length=need)
    yp = check_episodes(y_pred, name="y_pred", dtype=None, allow_nan=not finite_predictions)
    check_same_structure(yt, yp, names=("y_true", "y_pred"))
    if yt[0].shape[2] != yp[0].shape[2]:
        raise ValueError(f"y_true has {yt[0].shape[2]} parcels but y_pred has {yp[0].shape[2]}.")
    return trim, yt, yp


def restore_structure(X_in, episodes: list[np.ndarray]):
    """Return ``episodes`` in the structure of the user's input ``X_in``.

    A 4-D array input gives a 4-D array back; a list gives a list.
    """
    if is_episode_array(X_in):
        return np.stack(episodes)
    return list(episodes)

"""The encoder's standardisation: each subject's parcels centred, one scale per subject.

The torch net trains in float32 with a fixed learning rate: on data whose parcels sit near
100-1000 (raw own data), or at a scale far from 1, it learned something else or nothing
(issue 31: an offset of 1e4 turned r = 0.15 into -0.04). ``fit`` therefore trains on each
subject's data centred per parcel on its training mean and divided by its root-mean-square
standard deviation, and ``predict`` maps the net's output back. Pure array functions; the
standardised copy of runs streamed from disk goes to disk too (an anonymous scratch file,
:class:`~sklearn_crossenc.data._run_store.RunStore`), never into memory at once.
"""

from __future__ import annotations

import numpy as np

from ..data._run_store import empty_run, store_like

__all__ = ["references", "standardise", "restore"]


def references(episodes) -> tuple[np.ndarray, np.ndarray]:
    """Per subject and parcel the mean (S, C), and per subject the root-mean-square standard
    deviation over parcels (S,), of a list of (S, T_i, C) episodes, in float64 (1 where a
    subject is constant).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.encoder._scaling import references
    >>> x = np.stack([np.full((4, 2), 100.0), np.arange(8.0).reshape(4, 2)])[None]  # (1, 2, 4, 2)
    >>> mean, scale = references(list(x))
    >>> mean.tolist(), scale.tolist()
    ([[100.0, 100.0], [3.0, 4.0]], [1.0, 2.23606797749979])
    """
    S, _, C = episodes[0].shape
    total, squares, n = np.zeros((S, C)), np.zeros((S, C)), 0
    for ep in episodes:  # (S, T, C)
        total += ep.sum(axis=1, dtype=np.float64)
        n += ep.shape[1]
    mean = total / max(n, 1)  # (S, C)
    for ep in episodes:
        d = ep.astype(np.float64) - mean[:, None, :]  # (S, T, C)
        squares += np.einsum("stc,stc->sc", d, d, dtype=np.float64)
    var = (squares / max(n, 1)).mean(axis=1)  # (S,)
    return mean, np.where(var > 0, np.sqrt(var), 1.0)


def standardise(episodes, mean: np.ndarray, scale: np.ndarray) -> list:
    """``(x - mean) / scale`` of each (S, T_i, C) episode, float32 (computed in float64, one
    subject at a time); on disk when any episode is (streamed runs), else in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.encoder._scaling import standardise
    >>> x = np.arange(12.0).reshape(1, 2, 3, 2)  # (E, S, T, C)
    >>> standardise(list(x), np.zeros((2, 2)), np.array([1.0, 2.0]))[0][1].tolist()
    [[3.0, 3.5], [4.0, 4.5], [5.0, 5.5]]
    """
    store = store_like(episodes)
    out = []
    for ep in episodes:  # (S, T, C)
        z = empty_run(ep.shape, store)
        for s in range(ep.shape[0]):
            z[s] = (ep[s] - mean[s]) / scale[s]  # float64, cast to float32 as it is stored
        out.append(z)
    return out


def restore(episodes, mean: np.ndarray, scale: np.ndarray, dtype=np.float32) -> list:
    """The inverse of :func:`standardise`: ``x * scale + mean`` in ``dtype`` (float64 keeps
    the decimals of a prediction near a large mean)."""
    return [(ep * scale[:, None, None] + mean[:, None, :]).astype(dtype) for ep in episodes]

"""Stimulus features as :class:`FeatureRidge` input, and the windows its design reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["feature_episodes"]


def feature_episodes(features, fmri, *, modalities=("visual", "audio", "language"),
                     allow_pickle: bool = False) -> list[dict]:
    """Stimulus features of each fMRI run, as :class:`FeatureRidge` input.

    Parameters
    ----------
    features : str, Path, DatasetDescription or dict
        A dataset root or a feature file, read with
        :func:`sklearn_crossenc.load_stimulus_features` for each modality; a
        ``dataset.toml``'s description (:func:`sklearn_crossenc.data.load_dataset`), read
        from its ``[features]`` files by run key; or a dict
        ``{modality: {run key: (n_chunks, dims) array}}`` already loaded.
    fmri : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        A loader's output (``load_friends``, ``load_movie10``); its keys pick the runs
        and its order the order of the episodes.
    modalities : tuple of str, default=("visual", "audio", "language")
    allow_pickle : bool, default=False
        Passed to the loader; needed only for the kit's pickled ``.npy`` files.

    Returns
    -------
    X : list of dict
        One ``{modality: array, "n_times": int}`` per run of ``fmri``; ``n_times`` is the
        run's fMRI length, so that ``FeatureRidge.predict`` returns arrays shaped like
        ``list(fmri.values())``. Pair it with ``y = list(fmri.values())``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.ridge import feature_episodes
    >>> fmri = {"s01e01a": np.zeros((4, 30, 8), np.float32)}
    >>> feats = {"visual": {"s01e01a": np.ones((31, 6))}}
    >>> X = feature_episodes(feats, fmri, modalities=("visual",))
    >>> X[0]["visual"].shape, X[0]["n_times"]
    ((31, 6), 30)
    """
    if not isinstance(fmri, Mapping) or not fmri:
        raise ValueError("fmri must be a non-empty dict of run key -> (subjects, time, parcels)"
                         f" arrays (a loader's output); got {type(fmri).__name__}.")
    runs = list(fmri)
    if isinstance(features, (str, Path)):
        from ..data import load_stimulus_features

        table = {m: load_stimulus_features(features, m, runs=runs, allow_pickle=allow_pickle)
                 for m in modalities}
    elif hasattr(features, "stimulus_features"):  # a dataset description
        table = features.stimulus_features(runs, tuple(modalities))
    elif isinstance(features, Mapping):
        table = {}
        for m in modalities:
            if m not in features:
                raise ValueError(f"features has no {m!r} modality; it has {sorted(features)}.")
            missing = [r for r in runs if r not in features[m]]
            if missing:
                raise ValueError(f"{m} features are missing for runs {missing[:10]}.")
            table[m] = features[m]
    else:
        raise ValueError("features must be a dataset root, a feature file, a dataset "
                         "description or a dict "
                         f"{{modality: {{run: array}}}}; got {type(features).__name__}.")
    out = []
    for r in runs:
        n_times = int(np.shape(fmri[r])[1])
        out.append({**{m: table[m][r] for m in modalities}, "n_times": n_times})
    return out


def _window_index(n_times: int, n_chunks: int, hrf_delay: int, window: int) -> np.ndarray:
    """Chunk indices feeding each fMRI time point: (n_times, window).

    TR ``t`` sees chunks ``t - hrf_delay - window + 1 ... t - hrf_delay``; a window that
    starts before chunk 0 is replaced by chunks ``0 ... window - 1``, one that ends after
    the last chunk by the last ``window`` chunks (the development kit's clipping).
    """
    start = np.arange(n_times) - hrf_delay - window + 1  # (T,)
    start = np.clip(start, 0, n_chunks - window)
    return start[:, None] + np.arange(window)[None, :]  # (T, window)


def _single_index(n_times: int, n_chunks: int, hrf_delay: int) -> np.ndarray:
    """Chunk index ``t - hrf_delay`` for each TR, clipped into ``[0, n_chunks)``: (T,)."""
    return np.clip(np.arange(n_times) - hrf_delay, 0, n_chunks - 1)

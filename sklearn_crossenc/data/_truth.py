"""Noise-free signal of a synthetic dataset, for oracle ceilings."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._generative import subject_signal
from ._hdf5 import open_h5, read_key
from ._loaders import _check_finite, check_root, check_subjects, run_index
from ._paths import SUBJECTS, stimulus_name, subject_label
from ._synthetic import GENERATOR_VERSION, TRUTH_FILE, full_latent, is_synthetic, synthetic_version

__all__ = ["load_true_signal"]


def load_true_signal(root, data, kind: str, subjects=SUBJECTS) -> dict[str, np.ndarray]:
    """The noise-free signal behind a loader dict of a synthetic dataset.

    Parameters
    ----------
    root : str or Path
        A dataset written by :func:`make_synthetic_dataset`.
    data : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        What :func:`load_friends` or :func:`load_movie10` returned for ``subjects``.
    kind : {"friends", "movie10"}
        Which loader produced ``data``.
    subjects : sequence of int, default=(1, 2, 3, 5)
        The subjects ``data`` was loaded with, in the same order.

    Returns
    -------
    truth : dict of str to ndarray
        Same keys and shapes as ``data``, float32: each subject's signal without noise
        (centred over the subject's whole run, as the data are), so that
        ``pearson_map(list(data.values()), list(truth.values()))`` is the oracle ceiling.

    Raises
    ------
    ValueError
        When ``root`` is not a synthetic dataset, or ``data`` does not match it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_dataset, load_friends
    >>> from sklearn_crossenc.data import load_true_signal
    >>> root = make_synthetic_dataset(pathlib.Path(tempfile.mkdtemp()) / "ds", scale="tiny")
    >>> data = load_friends(root, seasons=[6])
    >>> truth = load_true_signal(root, data, "friends")
    >>> truth["s06e01a"].shape == data["s06e01a"].shape
    True
    """
    root = check_root(root)
    if not is_synthetic(root):
        raise ValueError(
            f"{root} is not a synthetic dataset (no synthetic.json): there is no ground truth "
            "for real data"
        )
    version = synthetic_version(root)
    if version != GENERATOR_VERSION:
        raise ValueError(
            f"{root} was written by synthetic generator version {version}; this package reads "
            f"version {GENERATOR_VERSION}: regenerate it with make_synthetic_dataset(root, "
            "overwrite=True) or `crossenc synth`"
        )
    if kind not in ("friends", "movie10"):
        raise ValueError(f"kind must be 'friends' or 'movie10', got {kind!r}")
    subjects = check_subjects(subjects)
    if not isinstance(data, Mapping) or not data:
        raise ValueError("data must be a non-empty loader dict of run name -> array")
    # subject -> {loader key: full length in the file}
    lengths = {s: {name: n for name, (_, n) in runs.items()}
               for s, runs in run_index(root, subjects, kind).items()}

    out = {}
    with open_h5(root / TRUTH_FILE) as t:
        def read(key):
            arr = read_key(t, root / TRUTH_FILE, key, root)
            _check_finite(np.asarray(arr), root / TRUTH_FILE, key)  # the runs' check
            return arr

        pad = int(t.attrs["pad"])
        models = {s: (read(f"subjects/{subject_label(s)}/weights").astype(np.float64),
                      int(t[f"subjects/{subject_label(s)}"].attrs["lag"])) for s in subjects}
        for key, arr in data.items():
            arr_shape = np.shape(arr)
            if len(arr_shape) != 3 or arr_shape[0] != len(subjects):
                raise ValueError(
                    f"data[{key!r}] has shape {arr_shape}; expected ({len(subjects)}, time, "
                    f"parcels) for subjects {subjects}"
                )
            stim = stimulus_name(key)
            if f"latent/{stim}" not in t:
                raise ValueError(f"{root} has no {kind} run {key!r} (no latent for {stim!r})")
            sig = np.empty(arr_shape, np.float32)  # (S, T, C)
            for i, s in enumerate(subjects):
                w, lag = models[s]
                if w.shape[1] != arr_shape[2]:
                    raise ValueError(f"data[{key!r}] has {arr_shape[2]} parcels but {root} "
                                     f"has {w.shape[1]}")
                full = lengths[s].get(key)
                if full is None or full < arr_shape[1]:
                    raise ValueError(
                        f"data[{key!r}] does not match {root}: {subject_label(s)} has "
                        f"{'no such run' if full is None else f'{full} time points'}, "
                        f"data has {arr_shape[1]}"
                    )
                latent = full_latent(t, stim, s, read)  # (pad + T + 1, K + K_movie + K_private)
                sig[i] = subject_signal(latent, w, lag, pad, full)[:arr_shape[1]]
            out[key] = sig
    return out

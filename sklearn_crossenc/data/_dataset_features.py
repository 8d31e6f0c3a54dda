"""The ``[features]`` table of a ``dataset.toml``: stimulus features for ``FeatureRidge``.

::

    [features]                  # optional: one HDF5 file per modality (relative to this
    visual = "visual.h5"        # file), one (time, dims) dataset per run key
    audio = "audio.h5"
    language = "language.h5"

The modality names are the release's (:data:`~._paths.MODALITIES`): ``FeatureRidge``
windows every modality but ``"language"``, so a name says how the features are used. A
table may name some of them only (a lab with video features and no transcript): the jobs
fit ``FeatureRidge`` on the modalities it names (``DatasetDescription.modalities``). The
files are read through the checked reads of :mod:`._hdf5` (links stay inside the
dataset's folder; nothing is unpickled). Each problem is added to the caller's list, so
that :func:`~._dataset.load_dataset` names them all in one error. Whether a run's
features are long enough for its fMRI depends on the model's ``hrf_delay``: the jobs'
pre-flight checks it with the release's rule.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ._hdf5 import checked_dataset, open_h5, read_checked

__all__ = ["shapes_in", "feature_shapes", "read_features"]


def _inspect(f, path: Path, key: str, folder: Path) -> tuple:
    """``(dataset, requirements)`` of one run's features: 2-D, numeric, not empty."""
    d, reqs = checked_dataset(f, path, key, folder)
    if not isinstance(d, h5py.Dataset):
        raise ValueError(f"{path}: {key!r} is a {type(d).__name__}, expected a 2-D dataset "
                         "(time, dims)")
    if d.ndim != 2 or 0 in d.shape:
        raise ValueError(f"{path}: dataset {key!r} has shape {d.shape}; expected 2-D "
                         "(time, dims), not empty")
    if d.dtype.kind not in "fiu":
        raise ValueError(f"{path}: dataset {key!r} has dtype {d.dtype}; expected numbers")
    return d, reqs


def shapes_in(path: Path, keys, inspect, who: str, problems: list) -> dict:
    """Run key -> shape of each run in the file ``path`` (``inspect(f, key)``: its checked
    shape), metadata only; a missing run, a bad one and an unreadable file noted in
    ``problems`` as ``who``'s (a subject's runs, or a modality's features)."""
    shapes, missing = {}, []
    try:
        with open_h5(path) as f:
            for key in keys:
                if key not in f:
                    missing.append(key)
                    continue
                try:
                    shapes[key] = inspect(f, key)
                except (OSError, ValueError) as err:
                    problems.append(f"{who}: {err}")
    except OSError as err:
        problems.append(f"{who}: {err}")
        return {}
    if missing:
        problems.append(f"{who} ({path.name}) lacks run(s) {', '.join(missing)}")
    return shapes


def feature_shapes(paths: dict, keys, folder: Path, problems: list) -> dict:
    """Modality -> run key -> rows (time points) of each run's features, metadata only."""
    return {m: {k: int(shape[0]) for k, shape in shapes_in(
        path, keys, lambda f, key, path=path: _inspect(f, path, key, folder)[0].shape,
        f"features.{m}", problems).items()} for m, path in paths.items()}


def read_features(paths: dict, keys, folder: Path, problems: list) -> dict:
    """Modality -> run key -> ``(time, dims)`` float32 features; non-finite values and
    unreadable datasets noted in ``problems`` (the run left out)."""
    out = {}
    for modality, path in paths.items():
        out[modality] = {}
        with open_h5(path) as f:
            for key in keys:
                try:
                    d, reqs = _inspect(f, path, key, folder)
                    x = np.asarray(read_checked(d, reqs, path, key), dtype=np.float32)
                except (OSError, ValueError) as err:
                    problems.append(f"features.{modality}: {err}")
                    continue
                if not np.isfinite(x.sum(dtype=np.float64)):
                    bad = int(np.count_nonzero(~np.isfinite(x)))
                    problems.append(f"features.{modality} run {key!r} ({path.name}) holds "
                                    f"{bad} NaN or Inf values (or values outside float32's "
                                    "range)")
                out[modality][key] = x  # (T, D)
    return out

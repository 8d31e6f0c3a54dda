"""Runs already in memory written as a described dataset: per-subject HDF5 files and a
``dataset.toml`` (:mod:`._dataset`). Tests, the docs' worked example and a described copy
of the synthetic release use it; ``crossenc extract`` writes its own files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._extract import dataset_toml
from ._paths import subject_label

__all__ = ["write_dataset"]


def write_dataset(folder, runs: dict, subjects, *, train, evaluate: dict, tr: float,
                  name: str = "dataset", repeats: dict | None = None, atlas=None,
                  features: dict | None = None) -> Path:
    """Write ``runs`` as ``sub-<label>.h5`` files and a ``dataset.toml``; its path.

    Parameters
    ----------
    folder : path-like
        A new or empty folder.
    runs : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        Run key -> the subjects' series, in the order of ``subjects`` (a loader dict).
    subjects : sequence of str or int
        Labels (an int ``1`` is written ``"01"``).
    train, evaluate, repeats, tr, name
        The description's ``[runs]`` and ``[dataset]`` (:func:`load_dataset`).
    atlas : path-like, optional
        A labels image, copied into ``folder``.
    features : dict of str to dict of str to ndarray of shape (n_times, dims), optional
        Stimulus features, ``{modality: {run key: array}}``, written as
        ``features-<modality>.h5`` and the ``[features]`` table.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sklearn_crossenc.data import load_dataset
    >>> x = np.random.default_rng(0).normal(size=(2, 30, 4))  # (S, T, C)
    >>> runs = {k: x for k in ("a", "b", "c", "d", "e", "f")}
    >>> path = write_dataset(tempfile.mkdtemp(), runs, ["01", "02"], train=["a", "b", "c"],
    ...                      evaluate={"test": ["d", "e", "f"]}, tr=2.0)
    >>> load_dataset(path).evaluate
    {'test': ('d', 'e', 'f')}
    """
    import h5py

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise FileExistsError(f"{folder} is not empty; write a dataset into a new folder")
    labels = [s if isinstance(s, str) else subject_label(s)[4:] for s in subjects]
    files = {}
    for i, label in enumerate(labels):
        files[label] = f"sub-{label}.h5"
        with h5py.File(folder / files[label], "w") as f:
            for key, x in runs.items():  # (S, T, C)
                f.create_dataset(key, data=np.asarray(x[i], dtype=np.float32))  # (T, C)
    names = {}
    for modality, per_run in (features or {}).items():
        names[modality] = f"features-{modality}.h5"
        with h5py.File(folder / names[modality], "w") as f:
            for key, x in per_run.items():
                f.create_dataset(key, data=np.asarray(x, dtype=np.float32))  # (T, D)
    if atlas is not None:
        target = folder / Path(atlas).name
        target.write_bytes(Path(atlas).read_bytes())
        atlas = target.name
    path = folder / "dataset.toml"
    path.write_text(dataset_toml(name, tr, files, list(train), atlas, {},
                                 evaluate={k: list(v) for k, v in evaluate.items()},
                                 repeats=repeats, features=names))
    return path

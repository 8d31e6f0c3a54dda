"""Stimulus features: HDF5 (one group per stimulus) or the development kit's pickled dicts."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ._hdf5 import checked_dataset, missing_path_error, open_h5, read_checked
from ._paths import MODALITIES, features_path, stimulus_name

__all__ = ["load_stimulus_features", "stimulus_rows"]


def load_stimulus_features(source, modality: str, runs=None, *, allow_pickle: bool = False
                           ) -> dict[str, np.ndarray]:
    """Load one modality's stimulus features per stimulus.

    Parameters
    ----------
    source : str or Path
        A dataset root (reads ``stimulus_features/features_{modality}.h5``), an
        ``.h5`` file with one group per stimulus (its dataset ``features``, a dataset
        named ``modality``, or its only dataset), or the development kit's pickled
        ``.npy`` dict of stimulus -> (n_chunks, dims).
    modality : str
        ``"visual"``, ``"audio"`` or ``"language"`` for a dataset root; for a file it
        picks the dataset inside a group that has several.
    runs : sequence of str, optional
        Run keys to return (default every stimulus in the source). Loader keys of a
        repeated viewing map to their stimulus: ``"figures01_run-2"`` gets the
        features of ``"figures01"``. The output is keyed by these run keys.
    allow_pickle : bool, default=False
        Needed to read an ``.npy`` dict: unpickling runs code stored in the file, so
        only pass True for files you trust.

    Returns
    -------
    features : dict of str to ndarray of shape (n_chunks, dims)
        float32. Runs sharing a stimulus share one array.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_dataset, load_stimulus_features
    >>> root = make_synthetic_dataset(pathlib.Path(tempfile.mkdtemp()) / "ds", scale="tiny")
    >>> f = load_stimulus_features(root, "audio", runs=["figures01", "figures01_run-2"])
    >>> f["figures01"].shape[1], f["figures01_run-2"] is f["figures01"]
    (20, True)
    """
    if not isinstance(modality, str) or not modality:
        raise ValueError(f"modality must be a non-empty string, got {modality!r}")
    if source is None:
        raise ValueError("source is None; pass a dataset root or a features file")
    path = root = Path(source)
    if not path.exists():
        raise missing_path_error(path, "stimulus feature source")
    if path.is_dir():
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {list(MODALITIES)}, got {modality!r}")
        path = features_path(path, modality)
        if not path.is_file():
            raise FileNotFoundError(f"no {modality} stimulus features: {path} does not exist")
    else:
        root = None  # a file: links may point inside the dataset (or folder) holding it
    wanted = None if runs is None else _check_runs(runs)
    names = None if wanted is None else sorted({stimulus_name(r) for r in wanted})
    if path.suffix == ".npy":
        table = _read_pickled(path, allow_pickle)
    elif path.suffix in (".h5", ".hdf5"):
        table = _read_h5(path, modality, names, root)
    else:
        raise ValueError(f"{path}: unknown feature file type {path.suffix!r}; expected .h5 or .npy")
    if wanted is None:
        return table
    missing = [r for r in wanted if stimulus_name(r) not in table]
    if missing:
        have = sorted(table)
        raise ValueError(
            f"{path} has no {modality} features for runs {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}; it has {len(have)} stimuli, "
            f"e.g. {have[:5]}"
        )
    return {r: table[stimulus_name(r)] for r in wanted}


def stimulus_rows(root, runs) -> dict:
    """``{modality: (file, {run: (stimulus, chunks)})}`` of a release's feature files,
    metadata only: every modality's file exists and holds a stimulus for every run."""
    out = {}
    for modality in MODALITIES:
        path = features_path(Path(root), modality)
        if not path.is_file():
            raise FileNotFoundError(
                f"no {modality} stimulus features: {path} does not exist (FeatureRidge needs "
                f"{', '.join(MODALITIES)}); drop it with --models, or add the file.")
        with open_h5(path) as f:
            missing = sorted({r for r in runs if stimulus_name(r) not in f})
            if missing:
                raise ValueError(
                    f"{path} has no {modality} features for {len(missing)} run(s) FeatureRidge "
                    f"needs: {missing[:10]}{' ...' if len(missing) > 10 else ''}")
            out[modality] = (path, {r: (stimulus_name(r), _rows(f, path, stimulus_name(r),
                                                                 modality)) for r in runs})
    return out


def _rows(f, path, name: str, modality: str) -> int:
    """Rows (chunks) of one stimulus's features in an open feature file (metadata only)."""
    obj = f[name]
    if isinstance(obj, h5py.Group):
        obj = obj[pick_dataset(obj, modality, path)]
    return int(obj.shape[0]) if isinstance(obj, h5py.Dataset) and obj.ndim else 0


def _check_runs(runs) -> list[str]:
    if isinstance(runs, str):
        runs = [runs]
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty; pass None for every stimulus")
    for r in runs:
        if not isinstance(r, str):
            raise ValueError(f"runs must hold run keys (str), got {r!r}")
    return runs


def _as_features(x, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        raise ValueError(f"{what} has shape {arr.shape} and dtype {arr.dtype}; "
                         "expected a 2-D numeric array (n_chunks, dims)")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _read_h5(path: Path, modality: str, names, root) -> dict[str, np.ndarray]:
    out = {}
    with open_h5(path) as f:
        keys = list(f.keys()) if names is None else [n for n in names if n in f]
        for name in keys:
            obj, reqs = checked_dataset(f, path, name, root)
            key = name
            if isinstance(obj, h5py.Group):
                key = f"{name}/{pick_dataset(obj, modality, path)}"
                obj, reqs = checked_dataset(f, path, key, root)
            if not isinstance(obj, h5py.Dataset):
                raise ValueError(f"{path}: {key!r} is a {type(obj).__name__}, expected a "
                                 "dataset or a group of datasets")
            out[name] = _as_features(read_checked(obj, reqs, path, key), f"{path}: /{key}")
    return out


def pick_dataset(group: h5py.Group, modality: str, path: Path) -> str:
    """Name of the features dataset in a stimulus group (a link counts by its name)."""
    names = list(group.keys())
    for name in ("features", modality):
        if name in names:
            return name
    dsets = [k for k in names if _class_of(group, k) is h5py.Dataset]
    if len(dsets) == 1:
        return dsets[0]
    raise ValueError(
        f"{path}: group {group.name} holds datasets {dsets}; expected one named 'features' "
        f"or {modality!r}, or a single dataset"
    )


def _class_of(group: h5py.Group, name: str):
    """The class of a member, None for a dangling link or a link loop."""
    try:
        return group.get(name, getclass=True)
    except (KeyError, RuntimeError):
        return None


def _read_pickled(path: Path, allow_pickle: bool) -> dict[str, np.ndarray]:
    if not allow_pickle:
        raise ValueError(
            f"{path} is a pickled .npy dict; unpickling runs code stored in the file. "
            "Pass allow_pickle=True only if you trust its origin (for example the official "
            "development kit)."
        )
    try:
        obj = np.load(path, allow_pickle=True)
    except (OSError, ValueError, EOFError) as err:
        raise OSError(f"cannot read {path} as a .npy file: {err}") from err
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.ndim == 0:
        obj = obj.item()
    if not isinstance(obj, dict):
        raise ValueError(f"{path} holds a {type(obj).__name__}, expected a dict of "
                         "stimulus name -> (n_chunks, dims) array")
    return {str(k): _as_features(v, f"{path}: entry {k!r}") for k, v in obj.items()}

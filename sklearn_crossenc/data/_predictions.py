"""A model's predictions from a file: the challenge's submission format and its siblings.

A prediction set maps each subject to its runs: ``{"sub-01": {"s06e01a": (T, parcels)}}``
(the Algonauts 2025 submission dict). Files:

* ``.npy``: that dict saved with ``np.save`` (how the challenge's submissions were made);
  read with an unpickler that builds only dicts, strings, numbers and numeric arrays
  (:mod:`._safe_pickle`): a file that would run code is refused without running it;
* ``.npz``: one array per ``"<subject>/<run>"`` key (``np.savez(path, **{"sub-01/s06e01a":
  a})``), read without pickle;
* ``.h5`` / ``.hdf5``: one group per subject, one ``(T, parcels)`` dataset per run.

Run keys are the release's keys without their ``ses-NNN_task-`` prefix, as the
challenge's scoring program reads them (``s06e01a``, ``figures01_run-1``, ``bourne01``);
the loaders' keys (``figures01`` for the first viewing) and full release keys
(``ses-005_task-s06e01a``) are accepted too. :func:`run_key_of` maps any of them to
the loaders' key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ._hdf5 import missing_path_error, open_h5, read_key
from ._paths import parse_key, subject_label
from ._safe_pickle import read_pickled_npy

__all__ = ["PredictionSet", "load_predictions", "run_key_of", "subject_label"]

_SUFFIXES = (".npy", ".npz", ".h5", ".hdf5")


def run_key_of(key: str) -> str:
    """The loaders' key of a run named in a prediction set.

    Examples
    --------
    >>> run_key_of("figures01_run-1"), run_key_of("figures01_run-2"), run_key_of("s06e01a")
    ('figures01', 'figures01_run-2', 's06e01a')
    >>> run_key_of("ses-005_task-s06e01a"), run_key_of("ses-012_task-life03_run-1")
    ('s06e01a', 'life03')
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"a run key is a non-empty string; got {key!r}")
    if "task-" in key:
        entities = parse_key(key)
        key = entities["task"] + (f"_run-{entities['run']}" if "run" in entities else "")
    base, sep, run = key.rpartition("_run-")
    return base if sep and run == "1" else key


@dataclass
class PredictionSet:
    """A model's predictions: ``runs[subject label][loader run key] -> (T, C)`` float32.

    ``source`` says where they came from (a path, or ``"arrays"``) for messages.
    """

    name: str
    runs: dict
    source: str

    def check(self, needed: dict, n_parcels: int) -> list[str]:
        """Check the predictions against what an evaluation needs; every problem at once.

        Parameters
        ----------
        needed : dict
            ``{subject label: {loader run key: (own length, common length)}}``: the
            subject's own length of the run in its file and the length the loaders cut
            every subject to; a prediction may have either.
        n_parcels : int

        Returns
        -------
        notes : list of str
            Subjects and runs present but not evaluated (not an error).

        Raises
        ------
        ValueError
            Naming every missing subject and run, every wrong length or parcel count and
            every run with NaN or Inf, in one message.
        """
        problems, notes = [], []
        for label, runs in needed.items():
            have = self.runs.get(label)
            if have is None:
                problems.append(f"subject {label} is missing (all {len(runs)} runs)")
                continue
            missing = [run for run in runs if run not in have]
            if missing:
                problems.append(f"{label} lacks {len(missing)} run(s): {', '.join(missing)}")
            for run, (own, common) in runs.items():
                if run in have:
                    problems += _run_problems(have[run], f"{label} {run}", own, common,
                                              n_parcels)
        for label, runs in self.runs.items():
            extra = sorted(set(runs) - set(needed.get(label, {})))
            if label not in needed:
                notes.append(f"subject {label} is not evaluated ({len(runs)} runs ignored)")
            elif extra:
                notes.append(f"{label}: {len(extra)} run(s) not evaluated: {', '.join(extra)}")
        if problems:
            raise ValueError(f"predictions {self.name!r} ({self.source}) cannot be scored:\n- "
                             + "\n- ".join(problems))
        return notes

    def episodes(self, run_keys, subjects, lengths) -> list[np.ndarray]:
        """The predictions as episodes: one ``(S, T_i, C)`` float32 array per run key,
        subjects in the given order, each run cut to ``lengths[i]`` (the loaders cut
        every subject to the shortest; :func:`check_coverage` allowed only that)."""
        labels = [subject_label(s) for s in subjects]
        return [np.stack([self.runs[lab][key][:T] for lab in labels]).astype(np.float32)
                for key, T in zip(run_keys, lengths, strict=True)]  # (S, T_i, C) each


def _run_problems(arr: np.ndarray, where: str, own: int, common: int, n_parcels: int
                  ) -> list[str]:
    """What is wrong with one run's predictions (empty: nothing)."""
    out = []
    T, C = arr.shape
    if C != n_parcels:
        out.append(f"{where} has {C} parcels; the data has {n_parcels}")
    if T not in (own, common):
        allowed = own if own == common else f"{own} (the subject's) or {common} (all subjects')"
        out.append(f"{where} has {T} time points; the data's run has {allowed}")
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        out.append(f"{where} has {bad} NaN or Inf value(s)")
    return out


def _from_mapping(obj, where: str, verbatim: bool = False) -> dict:
    """``{subject label: {loader run key: array}}`` from a nested mapping, checked."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a dict of subject -> dict of run -> array, got "
                         f"{type(obj).__name__}")
    out: dict = {}
    for subject, runs in obj.items():
        label = subject_label(subject)
        if not isinstance(runs, dict):
            raise ValueError(f"{where}: {subject!r} maps to {type(runs).__name__}, expected a "
                             "dict of run -> (time, parcels) array")
        table = out.setdefault(label, {})
        for key, value in runs.items():
            run = key if verbatim else run_key_of(key)
            if run in table:
                raise ValueError(f"{where}: {label} names run {run!r} twice (as {key!r} too)")
            table[run] = _checked_array(value, f"{where}: {label} run {key!r}")
    return out


def _checked_array(value, where: str) -> np.ndarray:
    arr = np.asarray(value) if isinstance(value, (np.ndarray, list)) else value
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        kind = getattr(arr, "dtype", type(value).__name__)
        raise ValueError(f"{where} is not a numeric array ({kind})")
    if arr.ndim != 2:
        raise ValueError(f"{where} has shape {arr.shape}; expected (time, parcels)")
    return arr.astype(np.float32, copy=False)


def _read_npz(path: Path) -> dict:
    nested: dict = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for name in z.files:
                subject, sep, run = name.partition("/")
                if not sep or not run:
                    raise ValueError(f"{path}: key {name!r} is not '<subject>/<run>' (e.g. "
                                     "'sub-01/s06e01a')")
                nested.setdefault(subject, {})[run] = z[name]
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(f"{path}: holds pickled objects; an .npz of predictions holds "
                             "numeric arrays only") from None
        raise
    return nested


def _read_h5(path: Path) -> dict:
    nested: dict = {}
    with open_h5(path) as f:
        for subject in f:
            group = f[subject]
            if not isinstance(group, h5py.Group):
                raise ValueError(f"{path}: {subject!r} is a dataset; expected one group per "
                                 "subject with one dataset per run")
            nested[subject] = {run: read_key(f, path, f"{subject}/{run}", root=path.parent)
                               for run in group}
    return nested


def load_predictions(source, name: str | None = None, *, verbatim: bool = False
                     ) -> PredictionSet:
    """Read a model's predictions from a file or from arrays.

    Parameters
    ----------
    source : str, Path or dict
        An ``.npy`` (the challenge's submission dict), ``.npz`` or ``.h5`` file, or a dict
        ``{subject: {run: (time, parcels) array}}`` (subjects as ``"sub-01"``, ``"01"``
        or ``1``).
    name : str, optional
        The model's name in reports; default the file's stem (``"arrays"`` for a dict).
    verbatim : bool, default=False
        Keep the run keys as written (a ``dataset.toml``'s), instead of mapping the
        release's names to the loaders' (:func:`run_key_of`).

    Returns
    -------
    PredictionSet

    Raises
    ------
    UnsafePickleError
        An ``.npy`` whose pickle names anything but numpy's array builders.
    ValueError, OSError
        Unknown suffix, missing file, or content that is not subject -> run -> 2-D array.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mymodel.npy"
    >>> np.save(path, {"sub-01": {"figures01_run-1": np.ones((4, 3))}})
    >>> preds = load_predictions(path)
    >>> preds.name, list(preds.runs["sub-01"]), preds.runs["sub-01"]["figures01"].dtype
    ('mymodel', ['figures01'], dtype('float32'))
    """
    if isinstance(source, dict):
        return PredictionSet(name or "arrays", _from_mapping(source, "predictions", verbatim),
                             "arrays")
    path = Path(source)
    if path.suffix.lower() not in _SUFFIXES:
        raise ValueError(f"{path}: predictions are read from {', '.join(_SUFFIXES)} files; "
                         f"got suffix {path.suffix!r}")
    if not path.is_file():
        raise missing_path_error(path, "predictions file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        nested = read_pickled_npy(path)
    elif suffix == ".npz":
        nested = _read_npz(path)
    else:
        nested = _read_h5(path)
    return PredictionSet(name or path.stem, _from_mapping(nested, str(path), verbatim),
                         str(path))

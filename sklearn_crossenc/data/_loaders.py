"""Loaders for the fMRI of the Algonauts 2025 competitor release (and synthetic copies).

They return what the seed notebook's loaders return (same runs, values, order of runs
and of subjects) with three differences: Movie10 keys are strings (``"figures01"``,
``"figures01_run-2"``) instead of ``(segment, run)`` tuples, every bad input raises a
clear error, and each run is read once straight into its final array.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ._hdf5 import checked_dataset, missing_path_error, open_h5, read_checked
from ._paths import (
    MOVIES,
    SUBJECTS,
    friends_path,
    movie10_path,
    movie10_run_key,
    parse_friends_run,
    parse_key,
    parse_movie10_run,
    subject_label,
)
from ._run_store import empty_run

__all__ = ["load_friends", "load_movie10"]


def load_friends(root, subjects=SUBJECTS, seasons=None, *, progress: bool = False,
                 store=None) -> dict[str, np.ndarray]:
    """Load the Friends fMRI runs present for every requested subject.

    Parameters
    ----------
    root : str or Path
        The competitor release folder (``algonauts_2025.competitors``) or a synthetic
        dataset written by :func:`make_synthetic_dataset`.
    subjects : sequence of int, default=(1, 2, 3, 5)
        Subjects, in the order of the output's subject axis.
    seasons : sequence of int, optional
        Seasons to load (default: all in the files, 1-6 in the release).
    progress : bool, default=False
        Show a progress bar (tqdm).
    store : RunStore, optional
        Read the runs into this store on disk (memory-mapped arrays, see
        :mod:`sklearn_crossenc.data._run_store`) instead of memory.

    Returns
    -------
    data : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        float32 arrays keyed by episode name (``"s01e02a"``), sorted by name. A run
        missing for any requested subject is left out; each run is truncated to its
        shortest subject.

    Raises
    ------
    FileNotFoundError
        When ``root`` or a subject's file does not exist (a symbolic link loop is an
        ``OSError`` of its own), or a file that an external link or a virtual dataset
        points to does not.
    OSError
        When a file is not readable HDF5 (corrupt), is truncated (checked from the
        datasets' storage before reading and again after), or holds a dataset never
        written: HDF5 would read the missing bytes as zeros.
    ValueError
        For an unknown subject, a key that does not parse, a season filter that matches
        nothing, a dataset that is not 2-D, parcel counts that differ, a dangling soft
        link, a link loop, an external link or a virtual dataset pointing outside the data
        folder ``root``, or a virtual dataset with a region no source fills.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_dataset, load_friends
    >>> root = make_synthetic_dataset(pathlib.Path(tempfile.mkdtemp()) / "ds", scale="tiny")
    >>> data = load_friends(root, seasons=[6])
    >>> data["s06e15a"].shape[0], data["s06e15a"].dtype
    (4, dtype('float32'))
    >>> "s06e03a" in data  # missing for one subject
    False
    """
    seasons = None if seasons is None else _check_filter(seasons, "seasons", int)
    return _load(
        root, subjects, kind="friends", path_fn=friends_path, index_fn=friends_entry,
        select=None if seasons is None else (lambda e: e.group in seasons),
        describe=lambda entries: f"seasons {sorted({e.group for e in entries})}",
        what=f"seasons={sorted(seasons)}" if seasons is not None else "any season",
        progress=progress, store=store,
    )


def load_movie10(root, subjects=SUBJECTS, movies=None, runs=None, *, progress: bool = False,
                 store=None) -> dict[str, np.ndarray]:
    """Load the Movie10 fMRI runs present for every requested subject.

    Parameters
    ----------
    root : str or Path
        The competitor release folder or a synthetic dataset.
    subjects : sequence of int, default=(1, 2, 3, 5)
        Subjects, in the order of the output's subject axis.
    movies : sequence of str, optional
        Movies among ``"bourne"``, ``"figures"``, ``"life"``, ``"wolf"`` (default all).
    runs : sequence of int, optional
        Viewings to load: 1 (the first, or only, viewing) and/or 2 (``figures`` and
        ``life`` were shown twice). Default both.
    progress : bool, default=False
        Show a progress bar (tqdm).
    store : RunStore, optional
        As :func:`load_friends`: the runs on disk instead of in memory.

    Returns
    -------
    data : dict of str to ndarray of shape (n_subjects, n_times, n_parcels)
        float32 arrays keyed by segment for run 1 (``"bourne01"``, ``"figures01"``) and
        ``"figures01_run-2"`` for run 2, sorted by (segment, run).

    Raises
    ------
    FileNotFoundError, OSError, ValueError
        As :func:`load_friends`; also for a movie that is not in Movie10.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_dataset, load_movie10
    >>> root = make_synthetic_dataset(pathlib.Path(tempfile.mkdtemp()) / "ds", scale="tiny")
    >>> list(load_movie10(root, movies=["figures", "life"]))
    ['figures01', 'figures01_run-2', 'life01', 'life01_run-2']
    """
    if movies is not None:
        movies = _check_filter(movies, "movies", str)
        unknown = sorted(set(movies) - set(MOVIES))
        if unknown:
            raise ValueError(f"movies {unknown} are not in Movie10; choose among {list(MOVIES)}")
    runs = None if runs is None else _check_filter(runs, "runs", int)
    parts = []
    if movies is not None:
        parts.append(f"movies={sorted(movies)}")
    if runs is not None:
        parts.append(f"runs={sorted(runs)}")

    def select(e):
        return (movies is None or e.group in movies) and (runs is None or e.run in runs)

    return _load(
        root, subjects, kind="movie10", path_fn=movie10_path, index_fn=movie10_entry,
        select=select,
        describe=lambda entries: (f"movies {sorted({e.group for e in entries})}, "
                                  f"runs {sorted({e.run for e in entries})}"),
        what=", ".join(parts) or "any movie",
        progress=progress, store=store,
    )


# --------------------------------------------------------------------------- indexing
@dataclass(frozen=True, order=True)
class Entry:
    """One run in one subject's file."""

    sort_key: tuple
    name: str = field(compare=False)  # loader key
    group: object = field(compare=False)  # season (int) or movie (str)
    run: int = field(compare=False)
    file_key: str = field(compare=False)


def friends_entry(key: str) -> Entry:
    """The index entry of a Friends run from its HDF5 key (season, episode)."""
    episode = parse_key(key)["task"]
    season, _, _ = parse_friends_run(episode)
    return Entry((episode,), episode, season, 1, key)


def movie10_entry(key: str) -> Entry:
    """The index entry of a Movie10 run from its HDF5 key (movie, segment, run)."""
    ent = parse_key(key)
    segment = ent["task"]
    movie, _ = parse_movie10_run(segment)
    run_s = ent.get("run", "1")
    if not run_s.isdigit():
        raise ValueError(f"run entity {run_s!r} is not a number")
    run = int(run_s)
    return Entry((segment, run), movie10_run_key(segment, run), movie, run, key)


def index_file(f: h5py.File, path: Path, index_fn: Callable[[str], Entry]) -> list[Entry]:
    """Parse every key of an open file; a key that does not parse names key and file.

    A run stored under two keys (``ses-001_task-s01e02a`` and ``ses-007_task-s01e02a``)
    is refused: which copy is meant cannot be told.
    """
    entries, seen = [], {}
    for key in f.keys():
        try:
            entry = index_fn(key)
        except ValueError as err:
            raise ValueError(f"cannot parse key {key!r} in {path}: {err}") from None
        if entry.name in seen:
            raise ValueError(
                f"{path}: run {entry.name} is stored twice, under {seen[entry.name]!r} and "
                f"{key!r}; keep one copy (which one is meant cannot be told)."
            )
        seen[entry.name] = key
        entries.append(entry)
    return entries


# --------------------------------------------------------------------------- validation
def check_root(root) -> Path:
    """Return ``root`` as a Path, or raise ``FileNotFoundError`` when it does not exist."""
    if root is None or (isinstance(root, str) and not root):
        raise ValueError(f"root must be a dataset folder, got {root!r}")
    path = Path(root)
    if not path.exists():
        raise missing_path_error(path, "dataset root")
    if not path.is_dir():
        raise NotADirectoryError(f"dataset root {path} is not a folder")
    return path


def check_subjects(subjects) -> tuple[int, ...]:
    """Validate a subject selection against the release's subjects (1, 2, 3, 5)."""
    if isinstance(subjects, (int, np.integer)) and not isinstance(subjects, bool):
        subjects = (subjects,)
    try:
        subjects = tuple(subjects)
    except TypeError:
        raise ValueError(f"subjects must be a sequence of ints, got {subjects!r}") from None
    if not subjects:
        raise ValueError("subjects is empty; choose among (1, 2, 3, 5)")
    for s in subjects:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise ValueError(f"subject {s!r} is not an integer; choose among {SUBJECTS}")
        if s not in SUBJECTS:
            raise ValueError(f"subject {s} is not in the release; choose among {SUBJECTS}")
    if len(set(subjects)) != len(subjects):
        raise ValueError(f"subjects {subjects} contains duplicates")
    return tuple(int(s) for s in subjects)


def _check_filter(values, name: str, typ) -> set:
    if isinstance(values, (str, int, np.integer)) and not isinstance(values, bool):
        values = [values]
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence, got {values!r}") from None
    if not values:
        raise ValueError(f"{name} is empty; pass None to load all")
    for v in values:
        ok = isinstance(v, str) if typ is str else (
            isinstance(v, (int, np.integer)) and not isinstance(v, bool))
        if not ok:
            raise ValueError(f"{name} must hold {typ.__name__} values, got {v!r}")
    return {typ(v) for v in values}


# --------------------------------------------------------------------------- loading
def _load(root, subjects, *, kind, path_fn, index_fn, select, describe, what, progress,
          store=None):
    root = check_root(root)
    subjects = check_subjects(subjects)
    with contextlib.ExitStack() as stack:
        files, maps, having = {}, {}, {}
        for s in subjects:
            path = path_fn(root, s)
            files[s] = (stack.enter_context(open_h5(path)), path)
            entries = index_file(files[s][0], path, index_fn)
            having[s] = entries
            maps[s] = {e.name: e for e in entries if select is None or select(e)}
        common = set.intersection(*(set(m) for m in maps.values()))
        if not common:
            have = "; ".join(f"{subject_label(s)} has {describe(e)} ({len(e)} runs)" if e
                             else f"{subject_label(s)} has no runs" for s, e in having.items())
            raise ValueError(
                f"no {kind} run matching {what} is present for every subject of "
                f"{subjects}: {have}"
            )
        names = sorted(common, key=lambda n: maps[subjects[0]][n].sort_key)
        # Shapes, links and storage first (metadata only): bad files fail before any read.
        plan = [(n, [(s, maps[s][n].file_key,
                      *_inspect_run(*files[s], maps[s][n].file_key, root)) for s in subjects])
                for n in names]
        _check_parcels(plan, subjects)
        if progress:
            from tqdm.auto import tqdm
            plan = tqdm(plan, desc=f"loading {kind}", unit="run")
        return {name: _read_run(files, parts, name, store) for name, parts in plan}


def _inspect_run(f, path: Path, key: str, root=None) -> tuple[tuple[int, int], list]:
    """``(shape, requirements)`` of a run's dataset: links followed and checked, shape
    and dtype checked, storage checked against the file sizes; no value is read."""
    d, reqs = checked_dataset(f, path, key, root)
    if not isinstance(d, h5py.Dataset):
        raise ValueError(f"{path}: {key!r} is a {type(d).__name__}, expected a 2-D dataset")
    if d.ndim != 2:
        raise ValueError(
            f"{path}: dataset {key!r} has shape {d.shape}; expected 2-D (time, parcels)"
        )
    if d.dtype.kind not in "fiu":
        raise ValueError(f"{path}: dataset {key!r} has dtype {d.dtype}; expected numbers")
    if d.shape[0] == 0 or d.shape[1] == 0:
        raise ValueError(
            f"{path}: dataset {key!r} has shape {d.shape}; a run needs at least one time "
            "point and one parcel"
        )
    return d.shape, reqs


def run_shape(file_and_path, key: str) -> tuple[int, int]:
    """Shape of a run's dataset in ``(file, path)``, after :func:`_inspect_run`'s checks."""
    return _inspect_run(*file_and_path, key)[0]


def _check_parcels(plan, subjects) -> None:
    first = plan[0][1][0][2][1]
    for name, parts in plan:
        for s, _, shape, _ in parts:
            if shape[1] != first:
                raise ValueError(
                    f"parcel counts differ: {subject_label(s)} run {name} has {shape[1]} parcels "
                    f"but {subject_label(subjects[0])} run {plan[0][0]} has {first}"
                )


def _read_run(files, parts, name: str, store=None) -> np.ndarray:
    """Read one run of every subject straight into a preallocated (S, T_min, C) array (in
    ``store`` when given).

    Each dataset is opened only while it is read: an open dataset keeps its chunk cache
    (about 1 MB), which adds up over hundreds of runs.
    """
    n_times = min(shape[0] for _, _, shape, _ in parts)
    out = empty_run((len(parts), n_times, parts[0][2][1]), store)  # (S, T, C)
    for i, (s, key, _, reqs) in enumerate(parts):
        f, path = files[s]
        read_checked(f[key], reqs, path, key, out[i], np.s_[:n_times],
                     what=f"run {name} ({key})")
        _check_finite(out[i], path, key)
    return out


def _check_finite(x: np.ndarray, path: Path, key: str) -> None:
    """Refuse NaN, Inf, and values outside float32's range (Inf once read as float32)."""
    if np.isfinite(x.sum(dtype=np.float64)):  # one pass; a non-finite value spoils the sum
        return
    bad = int(np.count_nonzero(~np.isfinite(x)))
    raise ValueError(
        f"{path}: dataset {key!r} holds {bad} NaN or Inf values (or values outside "
        "float32's range)"
    )


def run_index(root, subjects: Iterable[int], kind: str
              ) -> dict[int, dict[str, tuple[Entry, int]]]:
    """Every run of each subject's ``kind`` file ("friends" or "movie10"), metadata only.

    Returns ``{subject: {loader key: (Entry, full length in TRs)}}``; no data is read.
    """
    path_fn, index_fn = ((friends_path, friends_entry) if kind == "friends"
                         else (movie10_path, movie10_entry))
    out = {}
    for s in subjects:
        path = path_fn(root, s)
        with open_h5(path) as f:
            out[s] = {e.name: (e, run_shape((f, path), e.file_key)[0])
                      for e in index_file(f, path, index_fn)}
    return out

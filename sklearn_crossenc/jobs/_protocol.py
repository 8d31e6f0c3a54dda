"""The protocol: which runs train, which evaluate, which subjects, how tuning holds out.

One :class:`Protocol` object, :data:`SEED_PROTOCOL`, is read by every job (``compare``,
``grid``, ``add-subject``), by the pre-flight (which checks the same runs from metadata
before any fit) and by the reports. It is the seed notebook's protocol: train on Friends
seasons 1-5, evaluate on Friends season 6 and on the first viewing of every Movie10
segment, subjects 1, 2, 3 and 5.

Every learned model chooses its settings on the training runs only, never on an
evaluation set, and on the same folds: :meth:`Protocol.tuning_cv`, ``tuning_folds``
folds of whole training runs in their order. The ridges choose each parcel's alpha by
cross-validation over those folds; the encoder's early stopping holds out the last of
them; ``--tune``'s grid search cross-validates over them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..data import SUBJECTS, TR, subject_label
from ..metrics import pearson_map

__all__ = ["RunSet", "Protocol", "SEED_PROTOCOL", "budget_trs", "dataset_atlas", "load_sets",
           "oracle_ceiling", "protocol_from_dataset", "job_data"]


@dataclass(frozen=True)
class RunSet:
    """A named selection of runs of one stimulus kind.

    Parameters
    ----------
    key : str
        Name in results and reports (``"friends_s6"``).
    label : str
        Short label for tables (``"Friends s6"``).
    kind : {"friends", "movie10", "runs"}
        ``"runs"``: the run keys of a ``dataset.toml`` (``keys``).
    seasons : tuple of int, optional
        Friends seasons (``kind="friends"``); None: all.
    movies : tuple of str, optional
        Movie10 movies (``kind="movie10"``); None: all.
    runs : tuple of int, optional
        Movie10 viewings (1 or 2); None: all.
    keys : tuple of str, optional
        Run keys (``kind="runs"``), read from the protocol's dataset description.
    """

    key: str
    label: str
    kind: str
    seasons: tuple | None = None
    movies: tuple | None = None
    runs: tuple | None = None
    keys: tuple | None = None

    def selects(self, entry) -> bool:
        """Whether a run of a file index (:class:`~sklearn_crossenc.data._loaders.Entry`)
        belongs to the set: the rule the pre-flight applies to metadata."""
        if self.kind == "friends":
            return self.seasons is None or entry.group in self.seasons
        if self.kind == "runs":
            return entry.name in self.keys
        return ((self.movies is None or entry.group in self.movies)
                and (self.runs is None or entry.run in self.runs))

    def load(self, root, subjects, *, progress: bool = False, store=None) -> dict:
        """The set's runs present for every subject: loader dict of run -> (S, T, C).
        ``root`` is the release folder, or the dataset description (``kind="runs"``);
        ``store``: read into it (on disk) instead of memory."""
        from ..data import load_friends, load_movie10

        if self.kind == "runs":
            return root.load_runs(self.keys, subjects, store=store)
        if self.kind == "friends":
            return load_friends(root, subjects=subjects, seasons=self.seasons,
                                progress=progress, store=store)
        return load_movie10(root, subjects=subjects, movies=self.movies, runs=self.runs,
                            progress=progress, store=store)


@dataclass(frozen=True)
class Protocol:
    """Training set, evaluation sets, subjects and the hold-out used for tuning.

    Attributes
    ----------
    train : RunSet
    evaluation : tuple of RunSet
        In report order.
    subjects : tuple of int or str
        The release's subject numbers, or a ``dataset.toml``'s labels.
    tuning_folds : int
        Folds over whole training runs, in their order, on which every model chooses its
        settings (:meth:`tuning_cv`).
    quick_tuning_folds : int
        The folds of a smoke run (``quick=True``).
    dataset : DatasetDescription, optional
        The ``dataset.toml`` the runs come from (:func:`protocol_from_dataset`); None: the
        release layout.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
    >>> SEED_PROTOCOL.eval_sets
    {'friends_s6': 'Friends s6', 'movie10_run1': 'Movie10 run 1'}
    >>> [s.key for s in SEED_PROTOCOL.sets], SEED_PROTOCOL.subjects
    (['train', 'friends_s6', 'movie10_run1'], (1, 2, 3, 5))
    """

    train: RunSet
    evaluation: tuple
    subjects: tuple = SUBJECTS
    tuning_folds: int = 5
    quick_tuning_folds: int = 2
    dataset: object = None

    @property
    def tr(self) -> float:
        """Repetition time in seconds: the dataset's, or the release's."""
        return TR if self.dataset is None else self.dataset.tr

    def source(self, root):
        """What the sets read: the dataset description, or the release folder ``root``."""
        return root if self.dataset is None else self.dataset

    @property
    def modalities(self) -> tuple | None:
        """The stimulus modalities ``FeatureRidge`` fits on: a ``dataset.toml``'s
        ``[features]``, or None (the release's three)."""
        return None if self.dataset is None else self.dataset.modalities

    def has_features(self, root) -> bool:
        """Whether stimulus features exist for the runs: the release folder's, or a
        ``dataset.toml``'s ``[features]`` table."""
        from ..data import has_stimulus_features

        if self.dataset is not None:
            return bool(self.dataset.features)
        return has_stimulus_features(root)

    @property
    def sets(self) -> tuple:
        """The training set, then the evaluation sets."""
        return (self.train, *self.evaluation)

    @property
    def eval_sets(self) -> dict:
        """Evaluation set key -> label, in report order."""
        return {s.key: s.label for s in self.evaluation}

    def tuning_cv(self, quick: bool = False):
        """The folds every model tunes on: ``KFold(tuning_folds)`` over the training runs,
        in order (whole runs; the last fold is early stopping's hold-out);
        ``quick_tuning_folds`` of them for a smoke run.

        Examples
        --------
        >>> from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
        >>> SEED_PROTOCOL.tuning_cv()
        KFold(n_splits=5, random_state=None, shuffle=False)
        """
        from sklearn.model_selection import KFold

        return KFold(self.quick_tuning_folds if quick else self.tuning_folds, shuffle=False)

    def with_subjects(self, subjects) -> Protocol:
        """The same protocol for other subjects (in the order given); a dataset's labels
        are checked against its file."""
        if self.dataset is not None:
            known = self.dataset.included
            if isinstance(subjects, (str, bytes)) or not all(s in known for s in subjects) \
                    or len(set(subjects)) != len(subjects) or len(subjects) < 2:
                raise ValueError(f"subjects must be 2 or more different labels of "
                                 f"{self.dataset.path.name} ({', '.join(known)}); got "
                                 f"{subjects!r}.")
        return replace(self, subjects=tuple(subjects))

    def load(self, root, *, progress: bool = False, store=None) -> dict:
        """Every set's runs: ``{set key: loader dict}``; an empty set is an error.
        ``store``: read into it (on disk) instead of memory."""
        out = {}
        for s in self.sets:
            out[s.key] = s.load(self.source(root), self.subjects, progress=progress,
                                store=store)
            if not out[s.key]:
                raise ValueError(f"the {s.key} set ({s.label}) is empty in {root}.")
        return out

    def describe(self) -> dict:
        """The protocol as reported: sets, subjects, tuning hold-out."""
        return {
            **({} if self.dataset is None else {
                "dataset": str(self.dataset.path), "name": self.dataset.name,
                "tr": self.dataset.tr, "excluded": list(self.dataset.exclude)}),
            "subjects": list(self.subjects),
            "train": self.train.label,
            "evaluation": self.eval_sets,
            "tuning": f"{self.tuning_folds} folds of whole training runs, in order "
                      "(early stopping holds out the last)",
            "tuning_folds": self.tuning_folds,
        }


#: The seed notebook's protocol.
SEED_PROTOCOL = Protocol(
    train=RunSet("train", "Friends s1-5", "friends", seasons=(1, 2, 3, 4, 5)),
    evaluation=(
        RunSet("friends_s6", "Friends s6", "friends", seasons=(6,)),
        RunSet("movie10_run1", "Movie10 run 1", "movie10", runs=(1,)),
    ),
)


def protocol_from_dataset(desc) -> Protocol:
    """The protocol of a ``dataset.toml`` (:func:`~sklearn_crossenc.data.load_dataset`):
    its training runs, its evaluation sets in the file's order, its subjects (less the
    excluded ones), the same tuning folds as the release's.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from sklearn_crossenc.data import load_dataset
    >>> from sklearn_crossenc.data._describe import write_dataset
    >>> x = np.random.default_rng(0).normal(size=(2, 30, 4))  # (S, T, C)
    >>> path = write_dataset(tempfile.mkdtemp(), {k: x for k in "abcdef"}, ["01", "02"],
    ...                      train="abc", evaluate={"test": "def"}, tr=2.0)
    >>> protocol = protocol_from_dataset(load_dataset(path))
    >>> protocol.eval_sets, protocol.subjects, protocol.tr
    ({'test': 'test'}, ('01', '02'), 2.0)
    """
    return Protocol(
        train=RunSet("train", "runs.train", "runs", keys=desc.train),
        evaluation=tuple(RunSet(name, name, "runs", keys=keys)
                         for name, keys in desc.evaluate.items()),
        subjects=desc.included, dataset=desc)


def job_data(data_dir, dataset, protocol: Protocol, *, progress: bool = False, log=None):
    """A job's data: ``(root, protocol)``, from the release folder ``data_dir`` (or the
    default synthetic one) with ``protocol``, or from a ``dataset.toml`` (a path or a
    :class:`~sklearn_crossenc.data.DatasetDescription`) with its own protocol.

    A ``dataset.toml`` given as a path is read and checked here (metadata; the values as
    the runs load, before any fit)."""
    from ..data import DatasetDescription, load_dataset
    from ._job import data_root, noop

    if dataset is None:
        return data_root(data_dir, progress=progress, log=log or noop), protocol
    if data_dir is not None:
        raise ValueError(f"give a data folder ({data_dir}) or a dataset description "
                         f"({dataset}), not both.")
    if protocol is not SEED_PROTOCOL:
        raise ValueError("a dataset description brings its own protocol (its [runs]); "
                         "give dataset or protocol, not both.")
    desc = dataset if isinstance(dataset, DatasetDescription) \
        else load_dataset(dataset, check_values=False)
    return desc.folder, protocol_from_dataset(desc)


def _set_info(label: str, data: dict) -> dict:
    return {
        "label": label,
        "n_runs": len(data),
        "n_times": int(sum(v.shape[1] for v in data.values())),
        "runs": list(data),
    }


def _data_info(root, protocol: Protocol, sets: dict) -> dict:
    from ..data import is_synthetic

    subjects = protocol.subjects
    return {
        "synthetic": protocol.dataset is None and bool(is_synthetic(root, strict=True)),
        "subjects": list(subjects),
        "subject_labels": [subject_label(s) for s in subjects],
        "n_parcels": int(next(iter(sets[protocol.train.key].values())).shape[2]),
        "sets": {s.key: _set_info(s.label, sets[s.key]) for s in protocol.sets},
    }


def check_not_constant(runs: dict, label: str, subjects) -> None:
    """Refuse a subject whose every run of a set is constant (all zeros, say): it carries no
    signal, and every model scored 0 on it without a word."""
    flat = None
    for x in runs.values():  # (S, T, C)
        spread = (x.max(axis=1) > x.min(axis=1)).any(axis=1)  # (S,)
        flat = ~spread if flat is None else flat & ~spread
    for i in np.flatnonzero(flat if flat is not None else []):
        value = float(next(iter(runs.values()))[i, 0, 0])
        raise ValueError(
            f"{subject_label(subjects[i])} is constant ({value:g}) in every run of {label} "
            f"({len(runs)} runs): no signal to predict or to predict from; check how its "
            "parcel series were extracted, or leave the subject out.")


def load_sets(root, protocol: Protocol, progress: bool, log, store=None
              ) -> tuple[dict, dict, float]:
    """The protocol's sets, their summary and the seconds loading took; ``store``: read
    into it (on disk, :mod:`~sklearn_crossenc.jobs._storage`) instead of memory."""
    labels = ", ".join(s.label for s in protocol.evaluation)
    log(f"Loading {root} (train {protocol.train.label}; evaluate {labels}) ...")
    t0 = time.perf_counter()
    sets = protocol.load(root, progress=progress, store=store)
    load_s = time.perf_counter() - t0
    for rs in (protocol.train, *protocol.evaluation):
        check_not_constant(sets[rs.key], rs.label, protocol.subjects)
    data = _data_info(root, protocol, sets)
    log(
        f"  {data['sets'][protocol.train.key]['n_runs']} training runs, "
        + ", ".join(f"{data['sets'][s.key]['n_runs']} {s.label} runs"
                    for s in protocol.evaluation)
        + f"; {len(data['subject_labels'])} subjects x {data['n_parcels']} parcels "
        f"({load_s:.1f} s)."
    )
    return sets, data, load_s


def oracle_ceiling(root, protocol: Protocol, sets: dict, trim: int) -> dict:
    """Per-parcel r of the data with its noise-free signal, per evaluation set."""
    from ..data import load_true_signal

    out = {}
    for s in protocol.evaluation:
        data = sets[s.key]
        truth = load_true_signal(root, data, s.kind, subjects=protocol.subjects)
        out[s.key] = pearson_map(list(data.values()), [truth[k] for k in data], trim=trim)
    return out  # key -> (S, C)


def dataset_atlas(dataset) -> tuple:
    """The labels image a described dataset's brain maps are drawn on, or None and why.

    The maps are drawn on a volume (NIfTI) labels image; a CIFTI ``dlabel.nii`` (what
    ``crossenc extract`` records after a grayordinate extraction) gives no maps, with the
    reason in the report, rather than an error before the comparison.
    """
    if dataset.atlas is None:
        return None, f"{dataset.path.name} names no [atlas] labels_img: brain maps skipped"
    if Path(dataset.atlas).name.endswith(".dlabel.nii"):
        return None, (f"{dataset.path.name}'s [atlas] {Path(dataset.atlas).name} is a CIFTI "
                      "dlabel.nii: brain maps are drawn on a volume labels image (NIfTI) "
                      "only, so they are skipped (give one with --atlas to draw them)")
    return dataset.atlas, None


def budget_trs(minutes, tr: float = TR) -> int | None:
    """Time points in ``minutes`` of data at ``tr`` seconds (None: all the data).

    Examples
    --------
    >>> budget_trs(1), budget_trs(5), budget_trs(None)
    (40, 201, None)
    >>> budget_trs(0.001)
    Traceback (most recent call last):
    ...
    ValueError: a budget of 0.001 min is less than one time point (TR = 1.49 s).
    """
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) \
            or not 0 < minutes < float("inf"):
        raise ValueError(f"a budget must be a finite number of minutes > 0, or None for all "
                         f"the data; got {minutes!r}.")
    n = int(round(60.0 * minutes / tr))
    if n < 1:
        raise ValueError(f"a budget of {minutes:g} min is less than one time point "
                         f"(TR = {tr:g} s).")
    return n

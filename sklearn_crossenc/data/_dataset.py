"""A dataset described by ``dataset.toml``: any subjects, runs, parcels and repetition time.

``crossenc extract`` writes the description (:func:`~._extract.dataset_toml`); the user
splits its runs into a training set and named evaluation sets. :func:`load_dataset` reads
it and checks everything before any work, listing every problem in one ``ValueError``:
the tables and keys (a typo is an unknown key), the subjects' HDF5 files (inside the
dataset's folder, read through the checked reads of :mod:`._hdf5`: nothing is unpickled),
every run present for every subject, shapes, parcel counts, lengths, numeric and finite
values, the split (a run in both training and evaluation, evaluation sets too small for
their intervals, fewer than 2 subjects). The format::

    [dataset]
    name = "my-study"
    tr = 2.0                    # seconds
    exclude = ["04"]            # optional: subjects left out
    [subjects]                  # label = HDF5 file (relative to this file), one
    "01" = "sub-01.h5"          # (time, parcels) dataset per run key
    [runs]
    train = ["story1", "story2", "story3"]
    [runs.evaluate]             # one or more named evaluation sets
    heldout = ["story4", "story5", "story6"]
    [runs.repeats]              # optional: the same stimulus shown twice (noise ceiling)
    story5 = ["story5", "story5_rep"]
    [atlas]                     # optional: brain maps
    labels_img = "atlas.nii.gz"
    [features]                  # optional: stimulus features for FeatureRidge, one
    visual = "visual.h5"        # (time, dims) dataset per run key (._dataset_features)
    audio = "audio.h5"
    language = "language.h5"
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ._dataset_features import feature_shapes, read_features, shapes_in
from ._hdf5 import check_file, open_h5, read_checked
from ._loaders import _inspect_run
from ._paths import MAX_SUBJECT_LENGTH_GAP, MODALITIES, subject_label
from ._run_store import empty_run

__all__ = ["DatasetDescription", "load_dataset", "MIN_EVAL_RUNS"]

#: Tables of a ``dataset.toml`` and their keys (None: any key; ``[extraction]`` is the
#: record ``crossenc extract`` writes, kept as written and not read).
TABLES = {"dataset": ("name", "tr", "exclude"), "subjects": None,
          "runs": ("train", "evaluate", "repeats"), "atlas": ("labels_img",),
          "features": MODALITIES, "extraction": None}
#: Runs an evaluation set needs: its intervals resample whole runs (the evaluation's
#: ``MIN_RUNS``; tests/test_dataset.py checks that they agree).
MIN_EVAL_RUNS = 3
_LABEL = re.compile(r"^[A-Za-z0-9]+$")
#: Run keys and evaluation set names: shown in reports as they are, so plain names only.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True, eq=False)
class DatasetDescription:
    """A checked ``dataset.toml`` (:func:`load_dataset`): where the runs are, how they split.

    Attributes
    ----------
    path : Path
        The ``dataset.toml``.
    name : str
    tr : float
        Repetition time in seconds.
    subjects : dict of str to Path
        Label -> HDF5 file, every subject listed (excluded ones too).
    train : tuple of str
        Training run keys.
    evaluate : dict of str to tuple of str
        Evaluation set name -> run keys, in the file's order.
    repeats : dict of str to tuple of str
        Name -> (first showing, second showing) run keys; empty when none.
    atlas : Path or None
        Labels image for brain maps.
    exclude : tuple of str
        Subjects left out.
    lengths : dict of str to dict of str to int
        Included subject -> run key -> time points.
    n_parcels : int
    features : dict of str to Path
        Modality -> HDF5 file of stimulus features (``[features]``); empty when none.
    feature_rows : dict of str to dict of str to int
        Modality -> run key -> time points of its features.
    """

    path: Path
    name: str
    tr: float
    subjects: dict
    train: tuple
    evaluate: dict
    repeats: dict = field(default_factory=dict)
    atlas: Path | None = None
    exclude: tuple = ()
    lengths: dict = field(default_factory=dict)
    n_parcels: int = 0
    features: dict = field(default_factory=dict)
    feature_rows: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder of the ``dataset.toml``: every file it names lies inside."""
        return self.path.parent

    @property
    def included(self) -> tuple:
        """The subjects the jobs use, in the file's order."""
        return tuple(s for s in self.subjects if s not in self.exclude)

    @property
    def modalities(self) -> tuple:
        """The stimulus modalities of ``[features]``, in the release's order (what the jobs
        fit ``FeatureRidge`` on); empty without features."""
        return tuple(m for m in MODALITIES if m in self.features)

    @property
    def run_keys(self) -> list:
        """Every run the description names (training, evaluation, repeats), once each."""
        keys = [*self.train, *(k for ks in self.evaluate.values() for k in ks),
                *(k for ks in self.repeats.values() for k in ks)]
        return list(dict.fromkeys(keys))

    def load_runs(self, keys, subjects=None, store=None) -> dict:
        """Run key -> ``(subjects, time, parcels)`` float32 array, each run cut to its
        shortest subject; values read through the checked reads, non-finite values refused
        (every one named in one error). ``store``: a
        :class:`~sklearn_crossenc.data._run_store.RunStore` the runs are read into (on
        disk) instead of memory."""
        subjects = self.included if subjects is None else tuple(subjects)
        unknown = [s for s in subjects if s not in self.subjects]
        if unknown:
            raise ValueError(f"{self.path}: no subject {', '.join(map(repr, unknown))} "
                             f"(the file lists {', '.join(self.subjects)})")
        out, problems = {}, []
        with self._open(subjects) as files:
            for key in keys:
                out[key] = _read_run(files, key, self.folder, problems, store)
        if problems:
            raise ValueError(_message(self.path, problems))
        return out

    def stimulus_features(self, keys, modalities=MODALITIES) -> dict:
        """``{modality: {run key: (time, dims) float32 array}}`` of ``[features]`` (what
        :func:`~sklearn_crossenc.ridge.feature_episodes` reads); non-finite values
        refused, every one named in one error."""
        missing = [m for m in modalities if m not in self.features]
        if missing:
            raise ValueError(f"{self.path}: no stimulus features for {', '.join(missing)} "
                             "(its [features] table names "
                             f"{', '.join(self.features) or 'none'})")
        problems: list = []
        out = read_features({m: self.features[m] for m in modalities}, list(keys),
                            self.folder, problems)
        if problems:
            raise ValueError(_message(self.path, problems))
        return out

    def stimulus_rows(self) -> dict:
        """``{modality: (file, {run key: (stored as, time points)})}`` of the features,
        the structure the pre-flight's length check reads for the release too."""
        return {m: (self.features[m], {k: (k, n) for k, n in rows.items()})
                for m, rows in self.feature_rows.items()}

    def check_values(self) -> None:
        """Read every run (and its features) once: every non-finite value refused, all in
        one error."""
        problems: list = []
        with self._open(self.included) as files:
            for key in self.run_keys:
                _read_run(files, key, self.folder, problems)
        read_features(self.features, self.run_keys, self.folder, problems)
        if problems:
            raise ValueError(_message(self.path, problems))

    @contextlib.contextmanager
    def _open(self, subjects):
        with contextlib.ExitStack() as stack:
            yield {s: (stack.enter_context(open_h5(self.subjects[s])), self.subjects[s])
                   for s in subjects}


def _read_run(files: dict, key: str, folder: Path, problems: list, store=None) -> np.ndarray:
    parts = [(s, *_inspect_run(f, path, key, folder)) for s, (f, path) in files.items()]
    n_times = min(shape[0] for _, shape, _ in parts)
    out = empty_run((len(parts), n_times, parts[0][1][1]), store)  # (S, T, C)
    for i, (s, _, reqs) in enumerate(parts):
        f, path = files[s]
        read_checked(f[key], reqs, path, key, out[i], np.s_[:n_times], what=f"run {key}")
        if not np.isfinite(out[i].sum(dtype=np.float64)):
            bad = int(np.count_nonzero(~np.isfinite(out[i])))
            problems.append(f"{subject_label(s)} run {key!r} ({path.name}) holds {bad} NaN "
                            "or Inf values (or values outside float32's range)")
    return out


# ---------------------------------------------------------------------------- reading
def _message(path: Path, problems: list) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"{path} cannot be used ({len(problems)} problem(s)):\n{lines}"


def _unknown_keys(doc: dict, problems: list) -> None:
    """Tables and keys the format does not have (a typo), with the nearest known name."""
    def hint(name, known):
        near = difflib.get_close_matches(name, known, n=1)
        return f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"

    for table, value in doc.items():
        if table not in TABLES:
            problems.append(f"unknown table [{table}]{hint(table, list(TABLES))}")
        elif not isinstance(value, dict):
            problems.append(f"{table} must be a table [{table}]; got {value!r}")
        elif TABLES[table] is not None:
            for key in value:
                if key not in TABLES[table]:
                    problems.append(f"unknown key {table}.{key}{hint(key, TABLES[table])}")


def _keys_list(value, where: str, problems: list, *, empty: bool = False) -> tuple:
    """A list of run keys (strings), each once; problems noted."""
    if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
        problems.append(f"{where} must be a list of run keys (strings); got {value!r}")
        return ()
    if not value and not empty:
        problems.append(f"{where} is empty")
    odd = [k for k in value if not _NAME.match(k)]
    if odd:
        problems.append(f"{where}: {', '.join(map(repr, odd))} must be letters, digits and "
                        "_ . + - (a run key as crossenc extract writes it)")
    twice = sorted({k for k in value if value.count(k) > 1})
    if twice:
        problems.append(f"{where} lists {', '.join(twice)} more than once")
    return tuple(dict.fromkeys(value))


def _inside(folder: Path, text, where: str, problems: list, *, anywhere: bool = False
            ) -> Path | None:
    """A file named relative to the dataset's folder, inside it (``anywhere``: or an
    absolute path, the atlas ``crossenc extract`` names), that exists."""
    if not isinstance(text, str) or not text:
        problems.append(f"{where} must be a file name relative to {folder}; got {text!r}")
        return None
    path = (folder / Path(text).expanduser()).resolve()
    if not anywhere and (Path(text).is_absolute() or not path.is_relative_to(folder.resolve())):
        problems.append(f"{where} = {text!r} is outside the dataset's folder {folder}: "
                        "name files relative to dataset.toml, inside its folder")
        return None
    try:
        return check_file(path)
    except OSError as err:
        problems.append(f"{where} = {text!r}: {err}")
        return None


def _dataset_table(table: dict, problems: list) -> tuple:
    name, tr = table.get("name"), table.get("tr")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"dataset.name must be a non-empty string; got {name!r}")
    if isinstance(tr, bool) or not isinstance(tr, (int, float)) or not math.isfinite(tr) \
            or tr <= 0:
        problems.append(f"dataset.tr must be the repetition time in seconds (> 0); got {tr!r}")
        tr = None
    exclude = _keys_list(table.get("exclude", []), "dataset.exclude", problems, empty=True)
    return name, tr, exclude


def _subjects_table(table: dict, folder: Path, exclude: tuple, problems: list) -> dict:
    subjects = {}
    for label, text in table.items():
        if not _LABEL.match(label):
            problems.append(f"subject label {label!r} must be letters and digits (BIDS "
                            "label, written sub-<label>)")
        subjects[label] = _inside(folder, text, f"subjects.{label}", problems)
    unknown = [s for s in exclude if s not in subjects]
    if unknown:
        problems.append(f"dataset.exclude names {', '.join(unknown)}, not in [subjects]")
    if len([s for s in subjects if s not in exclude]) < 2:
        problems.append(f"{len(subjects)} subject(s) listed, {len(exclude)} excluded: "
                        "cross-subject encoding needs at least 2 subjects")
    return subjects


def _runs_table(table: dict, problems: list) -> tuple:
    train = _keys_list(table.get("train"), "runs.train", problems)
    evaluate = table.get("evaluate", {})
    sets = {}
    if not isinstance(evaluate, dict) or not evaluate:
        problems.append("[runs.evaluate] needs at least one named evaluation set "
                        "(name = [run keys])")
        evaluate = {} if not isinstance(evaluate, dict) else evaluate
    for name, keys in evaluate.items():
        if name == "train" or not _NAME.match(name):
            problems.append(f"evaluation set name {name!r} must be letters, digits and "
                            "_ . + -, and not 'train'")
        sets[name] = _keys_list(keys, f"runs.evaluate.{name}", problems)
        if 0 < len(sets[name]) < MIN_EVAL_RUNS:
            problems.append(f"runs.evaluate.{name} has {len(sets[name])} run(s); its intervals "
                            f"resample whole runs and need at least {MIN_EVAL_RUNS}")
        both = [k for k in sets[name] if k in train]
        if both:
            problems.append(f"run(s) {', '.join(both)} are in runs.train and in "
                            f"runs.evaluate.{name}: a model would be scored on runs it "
                            "trained on")
    repeats = {}
    raw = table.get("repeats", {})
    for name, keys in (raw.items() if isinstance(raw, dict) else []):
        pair = _keys_list(keys, f"runs.repeats.{name}", problems)
        if len(pair) != 2:
            problems.append(f"runs.repeats.{name} must name 2 different runs (the first "
                            f"showing, then the repeat); got {keys!r}")
        repeats[name] = pair
    if not isinstance(raw, dict):
        problems.append(f"[runs.repeats] must be a table (name = [first, repeat]); got {raw!r}")
    return train, sets, repeats


def _subject_shapes(label: str, path: Path, keys: list, folder: Path, problems: list) -> dict:
    """Run key -> (time, parcels) of one subject's file, metadata only; problems noted."""
    return shapes_in(path, keys, lambda f, key: _inspect_run(f, path, key, folder)[0],
                     subject_label(label), problems)


def _check_shapes(shapes: dict, problems: list) -> int:
    """Parcel counts alike and each run's length alike across subjects; the parcel count."""
    counts = {}
    for label, runs in shapes.items():
        for key, (_, n) in runs.items():
            counts.setdefault(n, []).append(f"{subject_label(label)} {key}")
    if len(counts) > 1:
        shown = "; ".join(f"{n} parcels: {', '.join(w[:3])}{' ...' if len(w) > 3 else ''}"
                          for n, w in sorted(counts.items()))
        problems.append(f"parcel counts differ between runs ({shown})")
    keys = {k for runs in shapes.values() for k in runs}
    for key in sorted(keys):
        per = {s: runs[key][0] for s, runs in shapes.items() if key in runs}
        if max(per.values()) - min(per.values()) > MAX_SUBJECT_LENGTH_GAP:
            shown = ", ".join(f"{subject_label(s)} {n}" for s, n in per.items())
            problems.append(f"run {key} has {shown} time points: more than "
                            f"{MAX_SUBJECT_LENGTH_GAP} apart is not the same recording cut "
                            "short")
    return max(counts) if len(counts) == 1 else 0


def load_dataset(path, *, check_values: bool = True) -> DatasetDescription:
    """Read and check a ``dataset.toml``: every problem listed in one ``ValueError``.

    Parameters
    ----------
    path : path-like
        The ``dataset.toml`` (format in :mod:`sklearn_crossenc.data._dataset`).
    check_values : bool, default=True
        Also read every run once to refuse NaN and Inf (the jobs check them as they load
        the runs, before any fit, and pass False).

    Returns
    -------
    description : DatasetDescription
        Its ``load_runs(keys)`` gives the loaders' structure (run key ->
        ``(subjects, time, parcels)``); ``protocol_from_dataset`` in
        :mod:`sklearn_crossenc.jobs` the protocol the jobs use.

    Examples
    --------
    >>> import tempfile, pathlib, h5py, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for s in ("01", "02"):
    ...     with h5py.File(folder / f"sub-{s}.h5", "w") as f:
    ...         for k in ("a", "b", "c", "d", "e", "f"):
    ...             f[k] = np.random.default_rng(0).normal(size=(20, 5))
    >>> _ = (folder / "dataset.toml").write_text('''
    ... [dataset]
    ... name = "demo"
    ... tr = 2.0
    ... [subjects]
    ... "01" = "sub-01.h5"
    ... "02" = "sub-02.h5"
    ... [runs]
    ... train = ["a", "b", "c"]
    ... [runs.evaluate]
    ... heldout = ["d", "e", "f"]
    ... ''')
    >>> desc = load_dataset(folder / "dataset.toml")
    >>> desc.included, desc.n_parcels, desc.load_runs(["d"])["d"].shape
    (('01', '02'), 5, (2, 20, 5))
    """
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"dataset description {path} does not exist or is not a file")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid TOML (a key written twice is an error too): "
                         f"{err}") from None
    problems: list = []
    _unknown_keys(doc, problems)
    tables = {t: (doc.get(t) if isinstance(doc.get(t), dict) else {}) for t in TABLES}
    for t in ("dataset", "subjects", "runs"):
        if t not in doc:
            problems.append(f"the [{t}] table is missing")
    name, tr, exclude = _dataset_table(tables["dataset"], problems)
    subjects = _subjects_table(tables["subjects"], path.parent, exclude, problems)
    train, evaluate, repeats = _runs_table(tables["runs"], problems)
    atlas = None
    if "labels_img" in tables["atlas"]:
        atlas = _inside(path.parent, tables["atlas"]["labels_img"], "atlas.labels_img",
                        problems, anywhere=True)
    keys = list(dict.fromkeys([*train, *(k for ks in evaluate.values() for k in ks),
                               *(k for ks in repeats.values() for k in ks)]))
    shapes = {s: _subject_shapes(s, p, keys, path.parent, problems)
              for s, p in subjects.items() if p is not None and s not in exclude}
    n_parcels = _check_shapes(shapes, problems) if any(shapes.values()) else 0
    features = {m: _inside(path.parent, text, f"features.{m}", problems)
                for m, text in tables["features"].items() if m in MODALITIES}
    features = {m: p for m, p in features.items() if p is not None}
    feature_rows = feature_shapes(features, keys, path.parent, problems)
    if problems:
        raise ValueError(_message(path, problems))
    desc = DatasetDescription(
        path=path, name=name, tr=float(tr), subjects=subjects, train=train, evaluate=evaluate,
        repeats=repeats, atlas=atlas, exclude=exclude, n_parcels=n_parcels,
        features=features, feature_rows=feature_rows,
        lengths={s: {k: n for k, (n, _) in runs.items()} for s, runs in shapes.items()})
    if check_values:
        desc.check_values()
    return desc

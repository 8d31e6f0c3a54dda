"""Facts about the Algonauts 2025 competitor release: file names, keys, runs.

Everything here is a constant or a pure function of names; only
:func:`has_stimulus_features` looks at disk (it lists one folder).
The catalogue of runs (:func:`friends_catalogue`, :func:`movie10_catalogue`) and the
missing runs are taken from ``docs/algonauts-facts.md``; the synthetic generator writes
exactly these names so that code passing on synthetic data runs on the real release.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = [
    "SUBJECTS",
    "TR",
    "MOVIES",
    "REPEATED_MOVIES",
    "MODALITIES",
    "FEATURE_DIMS",
    "friends_path",
    "movie10_path",
    "atlas_path",
    "stimulus_features_dir",
    "features_path",
    "has_stimulus_features",
    "dataset_root_of",
    "parse_key",
    "parse_friends_run",
    "parse_movie10_run",
    "movie10_run_key",
    "stimulus_name",
    "friends_catalogue",
    "movie10_catalogue",
    "MISSING_RUNS",
    "subject_label",
]

SUBJECTS = (1, 2, 3, 5)
TR = 1.49  # seconds
MOVIES = ("bourne", "figures", "life", "wolf")
#: Movie10 movies shown twice (run-1 and run-2): the source of the noise ceiling.
REPEATED_MOVIES = ("figures", "life")
MODALITIES = ("visual", "audio", "language")
FEATURE_DIMS = {"visual": 250, "audio": 20, "language": 250}

_SPACE = "space-MNI152NLin2009cAsym_atlas-Schaefer18_parcel-1000Par7Net"

# Runs absent from a subject's file in the release (docs/algonauts-facts.md, "Quirks").
# The subject lacking s06e03a is not documented; sub-03 is our choice.
MISSING_RUNS = {
    2: ("s05e20a",),
    5: ("s04e01a", "s04e01b", "s04e13b"),
    3: ("s06e03a",),
}

def subject_label(subject) -> str:
    """A subject's display label: an int of the release (``1`` -> ``"sub-01"``), or the label
    of a ``dataset.toml`` or a submission (``"07"`` -> ``"sub-07"``, ``"pilot"`` ->
    ``"sub-pilot"``, ``"sub-02"`` as it is).

    Examples
    --------
    >>> subject_label(1), subject_label("07"), subject_label("pilot"), subject_label("sub-02")
    ('sub-01', 'sub-07', 'sub-pilot', 'sub-02')
    """
    if isinstance(subject, (int, np.integer)) and not isinstance(subject, bool):
        return f"sub-{int(subject):02d}"
    if isinstance(subject, str) and subject:
        return subject if subject.startswith("sub-") else f"sub-{subject}"
    raise ValueError(f"a subject is an int or a label like 'sub-01'; got {subject!r}")


_FRIENDS_RE = re.compile(r"s([0-9]+)e([0-9]+)([a-z])")
_MOVIE_RE = re.compile(r"([a-z]+)([0-9]+)")


def friends_path(root, subject: int) -> Path:
    """Path of a subject's Friends HDF5 file under the release folder ``root``."""
    sub = subject_label(subject)
    return Path(root) / "fmri" / sub / "func" / f"{sub}_task-friends_{_SPACE}_desc-s123456_bold.h5"


def movie10_path(root, subject: int) -> Path:
    """Path of a subject's Movie10 HDF5 file under the release folder ``root``."""
    sub = subject_label(subject)
    return Path(root) / "fmri" / sub / "func" / f"{sub}_task-movie10_{_SPACE}_bold.h5"


def atlas_path(root, subject: int) -> Path:
    """Path of a subject's Schaefer-1000 parcellation (labels 1-1000, 0 = background).

    Examples
    --------
    >>> path = atlas_path("/data", 1)
    >>> path.parent.as_posix(), path.name.endswith("_desc-dseg_parcellation.nii.gz")
    ('/data/fmri/sub-01/atlas', True)
    """
    sub = subject_label(subject)
    return Path(root) / "fmri" / sub / "atlas" / f"{sub}_{_SPACE}_desc-dseg_parcellation.nii.gz"


def stimulus_features_dir(root) -> Path:
    """The folder of stimulus features under a dataset root: ``root/stimulus_features``."""
    return Path(root) / "stimulus_features"


def features_path(root, modality: str) -> Path:
    """Where a dataset root keeps one modality's features (the synthetic dataset's layout).

    Examples
    --------
    >>> features_path("/data", "audio").as_posix()
    '/data/stimulus_features/features_audio.h5'
    """
    return stimulus_features_dir(root) / f"features_{modality}.h5"


def has_stimulus_features(root) -> bool:
    """Whether ``root`` has a non-empty stimulus-features folder (reads the folder only).

    Examples
    --------
    >>> has_stimulus_features("/nonexistent/folder")
    False
    """
    folder = stimulus_features_dir(root)
    return folder.is_dir() and any(folder.iterdir())


def dataset_root_of(path) -> Path:
    """The data folder a file belongs to: its dataset root when it lies where the release
    (or the synthetic dataset) keeps its files, else the folder holding it.

    HDF5 links and virtual datasets of a file may only point inside this folder.

    Examples
    --------
    >>> dataset_root_of(friends_path("/data", 1)).as_posix()
    '/data'
    >>> dataset_root_of(features_path("/data", "audio")).as_posix()
    '/data'
    >>> dataset_root_of("/elsewhere/features.h5").as_posix()
    '/elsewhere'
    """
    path = Path(path)
    parents = path.parents
    if len(parents) > 3 and path.parent.name == "func" and parents[2].name == "fmri":
        return parents[3]  # root/fmri/sub-XX/func/FILE
    if len(parents) > 1 and path.parent == stimulus_features_dir(parents[1]):
        return parents[1]  # root/stimulus_features/FILE
    return path.parent


def parse_entities(text: str, what: str) -> dict[str, str]:
    """BIDS-like entities of ``text`` (``"sub-01_task-movie"`` -> ``{"sub": "01", "task":
    "movie"}``); a part without ``name-value`` raises ``ValueError`` naming ``what``."""
    entities = {}
    for part in text.split("_"):
        name, sep, value = part.partition("-")
        if not sep or not name or not value:
            raise ValueError(f"{what}: part {part!r} is not of the form 'name-value'")
        entities[name] = value
    return entities


def parse_key(key: str) -> dict[str, str]:
    """Split a BIDS-like HDF5 key into entities.

    ``"ses-001_task-figures01_run-2"`` -> ``{"ses": "001", "task": "figures01", "run": "2"}``.
    Raises ``ValueError`` when a part has no ``-`` or there is no ``task`` entity.

    Examples
    --------
    >>> parse_key("ses-003_task-s01e02a")
    {'ses': '003', 'task': 's01e02a'}
    """
    entities = parse_entities(key, f"key {key!r}")
    if "task" not in entities:
        raise ValueError(f"key {key!r} has no 'task-' entity")
    return entities


def parse_friends_run(run: str) -> tuple[int, int, str]:
    """``"s01e02a"`` -> ``(1, 2, "a")``; ``ValueError`` for anything else."""
    match = _FRIENDS_RE.fullmatch(run)
    if match is None:
        raise ValueError(f"{run!r} is not a Friends run name like 's01e02a'")
    return int(match.group(1)), int(match.group(2)), match.group(3)


def parse_movie10_run(run: str) -> tuple[str, int]:
    """``"figures01"`` -> ``("figures", 1)``; ``ValueError`` for anything else."""
    match = _MOVIE_RE.fullmatch(run)
    if match is None:
        raise ValueError(f"{run!r} is not a Movie10 segment name like 'bourne01'")
    return match.group(1), int(match.group(2))


def movie10_run_key(segment: str, run: int) -> str:
    """Loader key of a Movie10 run: ``"figures01"`` for run 1, ``"figures01_run-2"`` for 2."""
    return segment if run == 1 else f"{segment}_run-{run}"


def stimulus_name(run_key: str) -> str:
    """Name of the stimulus shown in a run: drop the viewing (``_run-N``) part.

    Accepts loader keys (``"figures01_run-2"``, ``"s01e02a"``) and file keys
    (``"ses-004_task-figures01_run-2"``). Repeated viewings share one stimulus.

    Examples
    --------
    >>> stimulus_name("figures01_run-2"), stimulus_name("bourne01"), stimulus_name("s01e02a")
    ('figures01', 'bourne01', 's01e02a')
    """
    if not isinstance(run_key, str) or not run_key:
        raise ValueError(f"run key must be a non-empty string, got {run_key!r}")
    if "task-" in run_key:
        return parse_key(run_key)["task"]
    base, sep, run = run_key.rpartition("_run-")
    if sep:
        if not base or not run.isdigit():
            raise ValueError(f"run key {run_key!r} does not parse as '<segment>_run-<N>'")
        return base
    return run_key


def challenge_group(run_key: str) -> str:
    """The movie a run belongs to under the challenge's scoring: a Friends run's season
    (``"s06"``), a Movie10 run's movie (``"figures"``); any other key is its own group.

    Examples
    --------
    >>> challenge_group("s06e01a"), challenge_group("figures01_run-2"), challenge_group("x")
    ('s06', 'figures', 'x')
    """
    name = stimulus_name(run_key)
    friends = _FRIENDS_RE.fullmatch(name)
    if friends:
        return f"s{int(friends.group(1)):02d}"
    movie = _MOVIE_RE.fullmatch(name)
    return movie.group(1) if movie and movie.group(1) in MOVIES else name


# --------------------------------------------------------------------------- catalogue
# season -> (episode numbers, {episode: parts}) ; default parts "ab".
_FRIENDS_LAYOUT = {
    1: (range(1, 25), {}),
    2: (range(1, 25), {}),
    3: (range(1, 26), {}),
    4: (range(1, 24), {23: "abcd"}),
    5: (range(1, 24), {23: "abcd"}),
    6: ([e for e in range(1, 25) if e != 16], {15: "abcd", 24: "abcd"}),
}
_MOVIE10_SEGMENTS = {"bourne": 10, "figures": 12, "life": 5, "wolf": 17}
# Segment lengths in TRs that differ from the usual ~401-410.
_MOVIE10_SPECIAL_LENGTHS = {"bourne10": 379, "figures12": 372, "life05": 390, "wolf17": 496}


def friends_catalogue() -> list[str]:
    """All 292 Friends runs of seasons 1-6 of the release, sorted."""
    runs = []
    for season, (episodes, splits) in _FRIENDS_LAYOUT.items():
        for ep in episodes:
            runs += [f"s{season:02d}e{ep:02d}{p}" for p in splits.get(ep, "ab")]
    return sorted(runs)


def movie10_catalogue() -> list[tuple[str, int]]:
    """All Movie10 runs of the release as ``(segment, run)``, sorted."""
    runs = []
    for movie, n in _MOVIE10_SEGMENTS.items():
        for i in range(1, n + 1):
            runs.append((f"{movie}{i:02d}", 1))
            if movie in REPEATED_MOVIES:
                runs.append((f"{movie}{i:02d}", 2))
    return sorted(runs)


def movie10_special_length(segment: str) -> int | None:
    """The documented length of an unusually long or short Movie10 segment, else None."""
    return _MOVIE10_SPECIAL_LENGTHS.get(segment)

#: TRs by which one run may differ between subjects before a job refuses it: the release's
#: runs differ by 1-2 TRs; the loaders cut each run to its shortest subject, and a run cut
#: from 89 TRs to 20 was accepted without a word.
MAX_SUBJECT_LENGTH_GAP = 5

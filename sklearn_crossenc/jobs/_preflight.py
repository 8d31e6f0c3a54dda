"""Pre-flight: every check a job can make before its first fit, made first.

A configuration error found after minutes of training loses the trained models. The
jobs call these functions at their start: options (threads, random state, callbacks,
grid candidates), the data they will read (files, keys, duplicate runs, shapes and
dtypes: metadata only, no array is read), ``trim`` against the shortest evaluation run,
the stimulus features each requested model needs, and the output folder (created, and
written to by a probe file that is removed).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import tempfile
from pathlib import Path

from .._validation import check_callbacks, check_random_state_param
from ..data._loaders import _friends_entry, _movie10_entry, _shape, index_file, open_h5
from ..data._paths import MODALITIES, features_path, friends_path, movie10_path, stimulus_name

__all__ = ["check_threads", "check_output_folder", "protocol_lengths", "check_trim_fits",
           "check_features", "check_candidates"]

_KINDS = {"friends": (friends_path, _friends_entry), "movie10": (movie10_path, _movie10_entry)}


def check_threads(n_threads, name: str = "--threads"):
    """``n_threads`` as None or a positive int; else one clear error."""
    if n_threads is None:
        return None
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) \
            or n_threads < 1:
        raise ValueError(f"{name} must be a positive integer; got {n_threads!r}.")
    return int(n_threads)


def check_output_folder(out) -> bool:
    """Create ``out`` if needed and write a probe file into it (removed at once).

    Returns whether the folder was created here, so that a run that fails or is
    interrupted can remove it again while it is empty.
    """
    out = Path(out).expanduser()
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".crossenc-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OSError(f"output folder {out} cannot be created or written to: "
                      f"{err.strerror or err}") from None
    return created


def remove_if_empty(out) -> None:
    """Remove the folder ``out`` when nothing was written into it."""
    with contextlib.suppress(OSError):
        Path(out).expanduser().rmdir()


def _subject_runs(root: Path, subject: int, kind: str) -> dict[str, tuple[object, int]]:
    """Run key -> (Entry, length) of one subject's file; shapes and dtypes checked."""
    path_fn, index_fn = _KINDS[kind]
    path = path_fn(root, subject)
    with open_h5(path) as f:
        return {e.name: (e, _shape((f, path), e.file_key)[0])
                for e in index_file(f, path, index_fn)}


def protocol_lengths(root, subjects, sets: dict) -> dict[str, dict[str, int]]:
    """Length of every run each set will load (its shortest subject), metadata only.

    ``sets`` maps a set name to ``(kind, select)``: ``kind`` "friends" or "movie10",
    ``select(entry)`` True for the runs of the set. An empty set is an error.
    """
    root = Path(root)
    index = {kind: {s: _subject_runs(root, s, kind) for s in subjects}
             for kind in {k for k, _ in sets.values()}}
    out = {}
    for name, (kind, select) in sets.items():
        per_subject = index[kind]
        common = set.intersection(*(
            {k for k, (e, _) in runs.items() if select(e)} for runs in per_subject.values()))
        if not common:
            raise ValueError(f"the {name} set is empty in {root}: no run of it is present "
                             f"for every subject of {tuple(subjects)}.")
        out[name] = {k: min(runs[k][1] for runs in per_subject.values()) for k in sorted(common)}
    return out


def check_trim_fits(trim: int, lengths: dict[str, dict[str, int]], sets) -> None:
    """Every evaluated run keeps at least 2 time points after ``trim`` at each end."""
    for name in sets:
        run, n = min(lengths[name].items(), key=lambda kv: kv[1])
        if n < 2 * trim + 2:
            raise ValueError(
                f"--trim {trim} leaves fewer than 2 time points of the shortest {name} run "
                f"{run} ({n} TRs); use --trim {max((n - 2) // 2, 0)} or less."
            )


def check_features(root, runs) -> None:
    """Every modality has a feature file holding a stimulus for every run (keys only)."""
    root = Path(root)
    for modality in MODALITIES:
        path = features_path(root, modality)
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


def check_candidates(base_params: dict, param_grid: dict) -> None:
    """Every grid candidate is a valid encoder: parameters checked, nothing fitted."""
    from sklearn.model_selection import ParameterGrid

    from ..encoder import CrossSubjectEncoder

    for name in ("random_state", "callbacks"):
        for value in param_grid.get(name, []):
            check = check_random_state_param if name == "random_state" else check_callbacks
            check(value, f"--param {name}")
    for params in ParameterGrid(param_grid):
        est = CrossSubjectEncoder(**{**base_params, **params})
        try:
            est._check_params()
        except ValueError as err:
            raise ValueError(f"grid candidate {params}: {err}") from None


def _protocol_sets() -> dict:
    """The comparison's sets as ``(kind, select)``: see ``compare.load_protocol``."""
    return {
        "train": ("friends", lambda e: e.group in (1, 2, 3, 4, 5)),
        "friends_s6": ("friends", lambda e: e.group == 6),
        "movie10_run1": ("movie10", lambda e: e.run == 1),
    }


def preflight_comparison(root, names, subjects, trim: int, n_threads, random_state
                         ) -> dict[str, dict[str, int]]:
    """Everything ``run_comparison`` can check before its first fit; the run lengths."""
    from ..data import has_stimulus_features
    from ._settings import EVAL_SETS

    check_threads(n_threads)
    check_random_state_param(random_state)
    lengths = protocol_lengths(root, tuple(subjects), _protocol_sets())
    check_trim_fits(trim, lengths, EVAL_SETS)
    if "FeatureRidge" in names and has_stimulus_features(root):
        check_features(root, [run for runs in lengths.values() for run in runs])
    return lengths


def preflight_grid(root, *, seasons, param_grid: dict, base_params) -> None:
    """Everything ``run_grid_search`` can check before its first fit.

    ``base_params(min_train_length)`` gives the encoder's job settings.
    """
    check_random_state_param(base_params(None).get("random_state"))
    seasons = set(seasons)
    lengths = protocol_lengths(root, (1, 2, 3, 5),
                               {"search": ("friends", lambda e: e.group in seasons)})
    check_candidates(base_params(min(lengths["search"].values())), param_grid)

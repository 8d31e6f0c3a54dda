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

__all__ = ["check_threads", "check_fraction", "check_evaluation_options", "check_output_folder",
           "remove_if_empty", "protocol_lengths", "check_trim_fits", "check_features",
           "check_candidates", "preflight_comparison", "preflight_grid",
           "preflight_new_subject"]

_KINDS = {"friends": (friends_path, _friends_entry), "movie10": (movie10_path, _movie10_entry)}


def check_threads(n_threads, name: str = "--threads"):
    """``n_threads`` as None or a positive int; else one clear error."""
    if n_threads is None:
        return None
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) \
            or n_threads < 1:
        raise ValueError(f"{name} must be a positive integer; got {n_threads!r}.")
    return int(n_threads)


def check_fraction(value, name: str):
    """``value`` as a float in (0, 1), or None; a clear error otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a fraction of the training runs in (0, 1); "
                         f"got {value!r}.")
    return float(value)


def check_evaluation_options(n_resamples, confidence, fdr, atlas) -> None:
    """The evaluation's options and a given parcellation, checked before any work."""
    from ..evaluation._intervals import check_n_resamples, check_unit_fraction

    if atlas is not None and not Path(atlas).expanduser().is_file():
        raise FileNotFoundError(f"atlas {atlas} does not exist or is not a file.")
    if check_n_resamples(n_resamples) < 10:
        raise ValueError(f"n_resamples must be an integer >= 10; got {n_resamples!r}.")
    check_unit_fraction(confidence, "confidence")
    check_unit_fraction(fdr, "fdr")


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


def protocol_lengths(root, subjects, sets) -> dict[str, dict[str, int]]:
    """Length of every run each set will load (its shortest subject), metadata only.

    ``sets`` are :class:`~sklearn_crossenc.jobs._protocol.RunSet` objects; their
    ``selects`` rule picks the runs from each file's index. An empty set is an error.
    """
    root = Path(root)
    index = {kind: {s: _subject_runs(root, s, kind) for s in subjects}
             for kind in {rs.kind for rs in sets}}
    out = {}
    for rs in sets:
        per_subject = index[rs.kind]
        common = set.intersection(*(
            {k for k, (e, _) in runs.items() if rs.selects(e)} for runs in per_subject.values()))
        if not common:
            raise ValueError(f"the {rs.key} set ({rs.label}) is empty in {root}: no run of it "
                             f"is present for every subject of {tuple(subjects)}.")
        out[rs.key] = {k: min(runs[k][1] for runs in per_subject.values())
                       for k in sorted(common)}
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


def preflight_comparison(root, protocol, specs, trim: int, n_threads, random_state
                         ) -> dict[str, dict[str, int]]:
    """Everything ``run_comparison`` can check before its first fit; the run lengths."""
    from ..data import has_stimulus_features

    check_threads(n_threads)
    check_random_state_param(random_state)
    lengths = protocol_lengths(root, protocol.subjects, protocol.sets)
    check_trim_fits(trim, lengths, protocol.eval_sets)
    if any(s.needs_features for s in specs) and has_stimulus_features(root):
        check_features(root, [run for runs in lengths.values() for run in runs])
    return lengths


def preflight_grid(root, runs, subjects, *, param_grid: dict, base_params) -> None:
    """Everything ``run_grid_search`` can check before its first fit.

    ``runs`` is the searched :class:`~sklearn_crossenc.jobs._protocol.RunSet`;
    ``base_params(min_train_length)`` gives the encoder's job settings.
    """
    check_random_state_param(base_params(None).get("random_state"))
    lengths = protocol_lengths(root, subjects, [runs])
    check_candidates(base_params(min(lengths[runs.key].values())), param_grid)


def _check_budget_folds(minutes, n: int, runs: list[int], n_splits: int) -> None:
    """The first ``n`` time points of ``runs`` leave training data in every fold of the
    adder's cross-validation (runs cut into pieces, a gap around each held-out piece)."""
    import inspect

    from ..data import TR
    from ..encoder import SubjectAdder
    from ..ridge._folds import cv_row_splits

    gap = inspect.signature(SubjectAdder).parameters["gap"].default
    taken, left = [], n
    for length in runs:
        if left <= 0:
            break
        taken.append(min(length, left))
        left -= taken[-1]
    try:
        empty = any(tr.size == 0 for tr, _ in cv_row_splits(taken, n_splits, gap))
    except ValueError:
        empty = True
    if empty:
        need = next(m for m in range(n_splits, 10 * n_splits + 2 * gap + 10)
                    if all(tr.size for tr, _ in cv_row_splits([m], n_splits, gap)))
        raise ValueError(
            f"a budget of {minutes:g} min ({n} time points) cannot be cut into the "
            f"{n_splits} folds that choose the decoder's penalty (with a gap of {gap} time "
            f"points around each held-out piece); give at least {need} time points "
            f"({need * TR / 60:.2f} min).")


def preflight_new_subject(root, protocol, new_subject: int, budgets, n_splits: int, n_threads,
                          random_state) -> dict[str, dict[str, int]]:
    """Everything ``run_new_subject`` can check before its first fit: the new subject,
    the threads and random state, every set's runs, and each budget against the time
    points of the new subject's training runs (metadata only)."""
    from .new_subject import budget_trs

    if new_subject not in protocol.subjects:
        raise ValueError(f"new_subject must be one of {protocol.subjects}; got "
                         f"{new_subject!r}.")
    check_threads(n_threads)
    check_random_state_param(random_state)
    lengths = protocol_lengths(root, protocol.subjects, protocol.sets)
    runs = list(lengths[protocol.train.key].values())  # in the loader's order
    available = sum(runs)
    for minutes in budgets:
        n = budget_trs(minutes)
        if n is not None and n <= available:
            _check_budget_folds(minutes, n, runs, n_splits)
        if n is not None and n > available:
            raise ValueError(
                f"a budget of {minutes:g} min ({n} time points) exceeds the {available} time "
                f"points of subject {new_subject}'s {protocol.train.label} runs shared with "
                "the others; give fewer minutes or 'all'.")
    return lengths

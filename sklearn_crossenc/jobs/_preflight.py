"""Pre-flight: every check a job can make before its first fit, made first.

A configuration error found after minutes of training loses the trained models. The
jobs call these functions at their start: options (threads, random state, callbacks,
grid candidates), the data they will read (files, keys, duplicate runs, shapes and
dtypes: metadata only, no array is read), ``trim`` against the shortest evaluation run,
the stimulus features each requested model needs, the parcellation the brain maps will be
drawn on, every grid candidate against the runs of each of its fits, and where the runs
will be held (memory, or streamed from disk: :mod:`~sklearn_crossenc.jobs._storage`). The disk space
the outputs will take is estimated by :mod:`~sklearn_crossenc.jobs._outputs` and held
from the start by the command line's output set
(:func:`sklearn_crossenc.report.open_output_set`).
"""

from __future__ import annotations

import functools
import numbers
from pathlib import Path

import numpy as np

from .._validation import check_callbacks, check_random_state_param
from ..data import subject_label
from ..data._loaders import friends_entry, index_file, movie10_entry, open_h5, run_shape
from ..data._paths import friends_path, movie10_path
from ._protocol import budget_trs, dataset_atlas
from ._splits import cv_splitter, run_groups
from ._storage import Storage, plan_storage

__all__ = ["check_threads", "check_fraction", "check_evaluation_options", "protocol_lengths",
           "check_trim_fits", "check_features", "check_candidates", "preflight_comparison",
           "preflight_grid", "grid_folds", "check_candidates_on_folds", "preflight_new_subject",
           "check_atlas", "lengths_of", "parcel_count",
           "check_comparison_atlas"]

_KINDS = {"friends": (friends_path, friends_entry), "movie10": (movie10_path, movie10_entry)}


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

    if atlas is not None:
        if not Path(atlas).expanduser().is_file():
            raise FileNotFoundError(f"atlas {atlas} does not exist or is not a file.")
        check_atlas(atlas)
    if check_n_resamples(n_resamples) < 10:
        raise ValueError(f"n_resamples must be an integer >= 10; got {n_resamples!r}.")
    check_unit_fraction(confidence, "confidence")
    check_unit_fraction(fdr, "fdr")


def _subject_runs(root: Path, subject: int, kind: str) -> dict[str, tuple[object, int]]:
    """Run key -> (Entry, length) of one subject's file; shapes and dtypes checked."""
    path_fn, index_fn = _KINDS[kind]
    path = path_fn(root, subject)
    with open_h5(path) as f:
        return {e.name: (e, run_shape((f, path), e.file_key)[0])
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
        _check_length_gaps(rs, {s: {k: runs[k][1] for k in common}
                                for s, runs in per_subject.items()})
    return out


def lengths_of(root, protocol) -> dict[str, dict[str, int]]:
    """:func:`protocol_lengths` of a protocol: the release's files, or a ``dataset.toml``'s
    lengths (read and checked by ``load_dataset``), each run's shortest subject."""
    if protocol.dataset is None:
        return protocol_lengths(root, protocol.subjects, protocol.sets)
    per = protocol.dataset.lengths  # subject -> run key -> time points
    return {rs.key: {k: min(per[s][k] for s in protocol.subjects) for k in rs.keys}
            for rs in protocol.sets}


def _check_length_gaps(rs, lengths: dict[int, dict[str, int]]) -> None:
    """A run may differ between subjects by a few TRs only (the loaders cut each run to its
    shortest subject)."""
    from ..data._paths import MAX_SUBJECT_LENGTH_GAP

    for key in sorted(next(iter(lengths.values()))):
        per = {s: n[key] for s, n in lengths.items()}
        if max(per.values()) - min(per.values()) > MAX_SUBJECT_LENGTH_GAP:
            shown = ", ".join(f"{subject_label(s)} {n}" for s, n in per.items())
            raise ValueError(
                f"run {key} of {rs.label} has {shown} TRs: the loaders cut it to its shortest "
                f"subject, and more than {MAX_SUBJECT_LENGTH_GAP} TRs apart is not the same "
                "recording cut short; check that subject's file, or leave the run out.")


def check_trim_fits(trim: int, lengths: dict[str, dict[str, int]], sets) -> None:
    """Every evaluated run keeps at least 2 time points after ``trim`` at each end."""
    for name in sets:
        run, n = min(lengths[name].items(), key=lambda kv: kv[1])
        if n < 2 * trim + 2:
            raise ValueError(
                f"--trim {trim} leaves fewer than 2 time points of the shortest {name} run "
                f"{run} ({n} TRs); use --trim {max((n - 2) // 2, 0)} or less."
            )


def check_evaluation_runs(lengths: dict[str, dict[str, int]], sets) -> None:
    """Every evaluation set holds the runs its intervals resample (before any fit)."""
    from ..evaluation._bootstrap import MIN_RUNS

    for name in sets:
        if len(lengths[name]) < MIN_RUNS:
            raise ValueError(
                f"the {name} evaluation set has {len(lengths[name])} run(s) present for every "
                f"subject ({', '.join(lengths[name])}); its intervals resample runs and need "
                f"at least {MIN_RUNS}: add runs to it, or evaluate on another set.")


def check_features(root, runs, lengths: dict[str, int] | None = None, dataset=None) -> None:
    """Every modality has a feature file holding a stimulus for every run (keys): the
    release's (:func:`~sklearn_crossenc.data._stimulus.stimulus_rows`) or a
    ``dataset.toml``'s ``[features]`` (``dataset``, checked by ``load_dataset``); and
    (``lengths``: run -> fMRI time points) enough chunks for the run: the design reads
    chunk ``t - hrf_delay`` for TR ``t``, so a run needs ``T - hrf_delay`` of them (the
    design builder would clip the rest to the last chunk, a silently wrong fit)."""
    from ..data._stimulus import stimulus_rows
    from ..ridge import FeatureRidge

    need = FeatureRidge().hrf_delay
    table = stimulus_rows(root, runs) if dataset is None else dataset.stimulus_rows()
    for modality, (path, rows) in table.items():
        for run, n_times in sorted((lengths or {}).items()):
            name, n_rows = rows[run]
            if n_rows < n_times - need:
                raise ValueError(
                    f"{path}: the {modality} features of run {run} ({name}) have {n_rows} "
                    f"chunks but the run has {n_times} TRs of fMRI; FeatureRidge needs at least "
                    f"{n_times - need} (one per TR, hrf_delay {need}): give the features of "
                    "the whole run, or drop it with --models.")


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


def preflight_comparison(root, protocol, specs, trim: int, n_threads, random_state, *,
                         atlas=None, stream=None, scheduler=None, n_kept: int = 0) -> Storage:
    """Everything ``run_comparison`` can check before its first fit; where its runs are
    held (memory, or streamed from disk: :func:`~._storage.plan_storage`; ``n_kept``: the
    fits and files whose predictions of the evaluation runs the job keeps).

    ``atlas`` is the parcellation given to the job (None: the release's, if any)."""
    check_threads(n_threads)
    check_random_state_param(random_state)
    lengths = lengths_of(root, protocol)
    check_trim_fits(trim, lengths, protocol.eval_sets)
    check_evaluation_runs(lengths, protocol.eval_sets)
    if any(s.needs_features for s in specs) and protocol.has_features(root):
        every = {run: n for runs in lengths.values() for run, n in runs.items()}
        check_features(root, list(every), every, protocol.dataset)
    if protocol.dataset is None:
        check_comparison_atlas(root, protocol.subjects, atlas)
    elif atlas is not None or dataset_atlas(protocol.dataset)[0] is not None:
        check_atlas(atlas if atlas is not None else protocol.dataset.atlas,
                    protocol.dataset.n_parcels)
    n_parcels = protocol.dataset.n_parcels if protocol.dataset is not None \
        else parcel_count(root, protocol.subjects[0])
    copied = protocol.train.key if any(s.copies_training for s in specs) else None
    return plan_storage(lengths, len(protocol.subjects), n_parcels, stream=stream,
                        scheduler=scheduler, copied=copied, predicted=list(protocol.eval_sets),
                        n_kept=n_kept)


def preflight_grid(root, runs, subjects, *, param_grid: dict, base_params, cv=None,
                   split: str = "season", refit: bool = False, trim: int = 0,
                   protocol=None, stream=None, scheduler=None) -> Storage:
    """Everything ``run_grid_search`` can check before its first fit; where its runs are
    held (memory, or streamed from disk).

    ``runs`` is the searched :class:`~sklearn_crossenc.jobs._protocol.RunSet`;
    ``base_params(min_train_length)`` gives the encoder's job settings. Every candidate
    is checked by the encoder's own validation, then against the runs each of its fits
    will get: the folds of ``cv`` and ``split`` (the searched runs when ``cv`` is None)
    and, with ``refit``, all of them.
    """
    check_random_state_param(base_params(None).get("random_state"))
    described = protocol is not None and protocol.dataset is not None
    lengths = (lengths_of(root, protocol) if described
               else protocol_lengths(root, subjects, [runs]))[runs.key]
    check_trim_fits(trim, {runs.key: lengths}, [runs.key])  # each validation fold's runs
    base = base_params(min(lengths.values()))
    check_candidates(base, param_grid)
    check_candidates_on_folds(base, param_grid, lengths,
                              grid_folds(lengths, cv, split, refit, described))
    n_parcels = protocol.dataset.n_parcels if described else parcel_count(root, subjects[0])
    storage = plan_storage({runs.key: lengths}, len(subjects), n_parcels, stream=stream,
                           scheduler=scheduler, copied=runs.key)
    check_candidates_memory(base, param_grid, len(subjects), n_parcels)
    return storage


def check_candidates_memory(base: dict, param_grid: dict, n_subjects: int,
                            n_parcels: int) -> None:
    """Every candidate's fit fits in memory (and asks for a sane thread count)."""
    from sklearn.model_selection import ParameterGrid

    from ..encoder import CrossSubjectEncoder
    from ..encoder._memory import check_training_memory

    for params in ParameterGrid(param_grid):
        try:
            check_training_memory(CrossSubjectEncoder(**{**base, **params}), n_subjects,
                                  n_parcels)
        except ValueError as err:
            raise ValueError(f"grid candidate {params}: {err}") from None


def grid_folds(lengths: dict[str, int], cv, split: str, refit: bool,
               described: bool = False) -> list:
    """``(name, run keys)`` of the training runs of every fit of a search (metadata);
    ``described``: the runs of a ``dataset.toml`` (:func:`._splits.run_groups`)."""
    names = list(lengths)  # the loader's order: sorted run keys
    folds = []
    if cv is not None:
        groups = run_groups(names, described)
        splitter = cv_splitter(split, cv, groups)
        by_season = groups if split == "season" else None
        for i, (train, _) in enumerate(splitter.split(np.zeros(len(names)), groups=by_season)):
            folds.append((f"fold {i + 1} of {cv}", [names[j] for j in train]))
    if refit or cv is None:
        folds.append(("the refit on every searched run" if refit else "the searched runs",
                      names))
    return folds


def check_candidates_on_folds(base: dict, param_grid: dict, lengths: dict[str, int],
                              folds: list) -> None:
    """Each candidate against the training runs of each of its fits: its clip no longer
    than the shortest run, its early-stopping hold-out (``validation``, through the
    encoder's own split) leaving runs to hold out and to train on."""
    from sklearn.model_selection import ParameterGrid

    from ..encoder import CrossSubjectEncoder
    from ..encoder._holdout import validation_indices

    for params in ParameterGrid(param_grid):
        est = CrossSubjectEncoder(**{**base, **params})
        for name, runs in folds:
            shortest = min(runs, key=lengths.__getitem__)
            if est.sample_length > lengths[shortest]:
                raise ValueError(
                    f"grid candidate {params}: sample_length={est.sample_length} is longer than "
                    f"the shortest training run of {name}, {shortest} ({lengths[shortest]} time "
                    f"points); give sample_length={lengths[shortest]} or less.")
            if isinstance(est.validation, numbers.Real) or hasattr(est.validation, "split"):
                try:
                    validation_indices(est.validation, len(runs), np.random.default_rng(0))
                except ValueError as err:
                    raise ValueError(f"grid candidate {params}, {name}: {err}") from None


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
                          random_state, *, stream=None) -> Storage:
    """Everything ``run_new_subject`` can check before its first fit: the new subject,
    the threads and random state, every set's runs, each budget against the time points
    of the new subject's training runs (metadata only); where the runs are held (the
    training runs are read twice: the fitted subjects', then everyone's)."""

    if new_subject not in protocol.subjects:
        raise ValueError(f"new_subject must be one of {protocol.subjects}; got "
                         f"{new_subject!r}.")
    check_threads(n_threads)
    check_random_state_param(random_state)
    lengths = lengths_of(root, protocol)
    runs = list(lengths[protocol.train.key].values())  # in the loader's order
    available = sum(runs)
    for minutes in budgets:
        n = budget_trs(minutes, protocol.tr)
        if n is not None and n <= available:
            _check_budget_folds(minutes, n, runs, n_splits)
        if n is not None and n > available:
            raise ValueError(
                f"a budget of {minutes:g} min ({n} time points) exceeds the {available} time "
                f"points of subject {new_subject}'s {protocol.train.label} runs shared with "
                "the others; give fewer minutes or 'all'.")
    n_parcels = protocol.dataset.n_parcels if protocol.dataset is not None \
        else parcel_count(root, protocol.subjects[0])
    twice = {**lengths, "fitted subjects' training runs": lengths[protocol.train.key]}
    return plan_storage(twice, len(protocol.subjects), n_parcels, stream=stream,
                        copied=protocol.train.key)


# ---------------------------------------------------------------------------- the atlas


@functools.lru_cache(maxsize=4)
def _atlas_labels(path: str, mtime_ns: int, size: int) -> np.ndarray:
    """The labels present in the parcellation at ``path`` (0 included when present).

    Cached by path, modification time and size: the job's two checks read it once."""
    import nibabel as nib

    try:
        img = nib.load(path)
        data = np.asarray(img.dataobj)
    except Exception as exc:  # nibabel raises many kinds for a file that is not NIfTI
        what = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise ValueError(f"atlas {path} is not a readable NIfTI parcellation ({what}); brain "
                         "maps need a 3-D image of integer labels (.nii or .nii.gz).") from None
    if data.ndim != 3:
        raise ValueError(f"atlas {path} has shape {data.shape}; a parcellation is a 3-D image "
                         "of integer labels.")
    if data.dtype.kind not in "iub" and not (
            data.dtype.kind == "f" and np.isfinite(data).all()
            and np.array_equal(data, np.round(data))):
        raise ValueError(f"atlas {path} holds non-integer values (dtype {data.dtype}); a "
                         "parcellation is an image of integer labels.")
    lo, hi = data.min(), data.max()
    if lo < 0 or hi > 10**6:
        raise ValueError(f"atlas {path} has labels from {lo:g} to {hi:g}; a parcellation's "
                         "labels are 0 (background) and 1 to the number of parcels.")
    return np.flatnonzero(np.bincount(data.astype(np.int64).ravel()))


def check_atlas(atlas, n_parcels: int | None = None) -> None:
    """The parcellation the brain maps will be drawn on, loaded and checked before any fit.

    It must be a 3-D NIfTI image of integer labels, 0 for the background and ``1`` to
    ``n_parcels`` for the parcels (column ``i`` of the data is label ``i + 1``). Without
    nibabel (the ``plot`` extra) nothing is checked: the maps are skipped then.

    Raises
    ------
    ValueError
        Naming the file and what is wrong: not a NIfTI image (random bytes, a ``.npy`` or
        a pickle renamed), not 3-D, non-integer labels, or labels that do not run up to
        the data's parcel count.
    """
    try:
        import nibabel  # noqa: F401
    except ImportError:
        return
    path = Path(atlas).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"atlas {atlas} does not exist or is not a file.")
    st = path.stat()
    labels = _atlas_labels(str(path), st.st_mtime_ns, st.st_size)
    parcels = labels[labels > 0]
    if parcels.size == 0:
        raise ValueError(f"atlas {path} holds no parcel: every voxel is 0 (background).")
    if n_parcels is not None and int(parcels[-1]) != n_parcels:
        raise ValueError(
            f"atlas {path} has labels 1 to {int(parcels[-1])} ({parcels.size} parcels) but the "
            f"data has {n_parcels} parcels (column i is label i + 1): give the parcellation "
            "the data was extracted with (--atlas).")


def parcel_count(root, subject: int) -> int:
    """Parcels of a subject's first Friends run (metadata only)."""
    root = Path(root)
    path = friends_path(root, subject)
    with open_h5(path) as f:
        entries = index_file(f, path, friends_entry)
        if not entries:
            raise ValueError(f"{path} holds no run.")
        return run_shape((f, path), entries[0].file_key)[1]


def check_comparison_atlas(root, subjects, atlas=None) -> None:
    """The atlas the comparison will draw on (``atlas``, else the release's of its first
    subject, when present) checked against the data's parcel count."""
    from ..data._paths import atlas_path

    path = Path(atlas).expanduser() if atlas is not None else atlas_path(root, subjects[0])
    if atlas is not None or path.is_file():
        check_atlas(path, parcel_count(root, subjects[0]))


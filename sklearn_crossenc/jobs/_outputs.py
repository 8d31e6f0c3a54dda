"""The disk space each job's outputs will take, estimated before the work.

The command line holds that much space beside its output folder from the start (see
:func:`sklearn_crossenc.report.open_output_set`), so that a full disk is said before the
first fit and a run never fails for lack of space after its work. The estimates are
upper bounds of what the writers of :mod:`sklearn_crossenc.report` write, from the job's
options and the data's shape (metadata only).
"""

from __future__ import annotations

from pathlib import Path

from ._preflight import _KINDS, _subject_runs, parcel_count

__all__ = ["data_shape", "comparison_output_bytes", "encoder_bytes", "grid_output_bytes",
           "new_subject_output_bytes"]

# Upper bounds of what the writers write, per file (measured: a comparison's figure 50-70
# kB, a brain map ~180 kB, report.json and report.md ~20 kB and ~60 bytes per run).
_FIGURE_BYTES = 256 << 10
_BRAIN_MAP_BYTES = 512 << 10
_DOCUMENT_BYTES = 256 << 10
_RUN_BYTES = 256
_CANDIDATE_BYTES = 4 << 10  # one grid candidate's row in the CSV, JSON and Markdown
#: (subjects, parcels, runs) assumed when the data cannot be read yet (the release's).
_RELEASE_SHAPE = (4, 1000, 400)
#: Time points of the release's evaluation runs (Friends s6: 50 runs, Movie10 run 1: 44).
_RELEASE_EVAL_TRS = 42_000


def data_shape(root, subjects=None, dataset=None) -> tuple[int, int, int]:
    """``(subjects, parcels, runs)`` of a ``dataset.toml``'s description, or of a release
    folder (metadata of the first subject's files); the release's when it cannot be read:
    the job's own checks then say why."""
    from ._protocol import SEED_PROTOCOL

    if dataset is not None:
        return len(dataset.included), dataset.n_parcels, len(dataset.run_keys)
    subjects = tuple(subjects or SEED_PROTOCOL.subjects)
    try:
        runs = sum(len(_subject_runs(Path(root), subjects[0], kind)) for kind in _KINDS)
        return len(subjects), parcel_count(root, subjects[0]), runs
    except (OSError, ValueError, KeyError):
        return _RELEASE_SHAPE


def comparison_output_bytes(root, models=None, *, figures: bool = True,
                            extra_models: int = 0, dataset=None) -> int:
    """Bytes ``write_report`` will write for a comparison of ``models`` and
    ``extra_models`` given as predictions (an upper bound): per-parcel maps of every model
    and ceiling on every set, the paired differences, the headroom maps, the figures and
    brain maps, the ceiling's predictions, ``report.json`` and ``report.md``."""
    from ._protocol import SEED_PROTOCOL, protocol_from_dataset
    from ._registry import resolve_models

    protocol = SEED_PROTOCOL if dataset is None else protocol_from_dataset(dataset)
    S, C, runs = data_shape(root, dataset=dataset)
    try:
        specs = resolve_models(models)
    except ValueError:  # an unknown name: the job says so
        specs = resolve_models(None)
    n = len(specs) + extra_models
    # The ceiling's predictions are written when the reference model runs (or is read back).
    ceiling = any(s.reference for s in specs) or extra_models > 0
    sets = len(protocol.eval_sets)
    maps = sets * (n + 2) * S * C * 4  # float32 (S, C) per model and ceiling
    pairs = sets * n * (n - 1) // 2 * C * 17  # difference and significance per parcel
    # Models with a headroom section (against the reference): the stimulus models and the
    # models given as predictions.
    reference = any(s.reference for s in specs)
    headroom = (sum(s.needs_features for s in specs) if reference else 0) + extra_models
    # 4 figures; per set a brain map of each model, both ceilings and the difference, and
    # 2 headroom maps per such model; each picture once more inside report.html (base64:
    # 4/3 of its size)
    drawn = ((4 * _FIGURE_BYTES + sets * (n + 3 + 2 * headroom) * _BRAIN_MAP_BYTES) * 7 // 3
             if figures else 0)
    return (2 * (maps + pairs) + drawn + _DOCUMENT_BYTES + runs * _RUN_BYTES
            + (_prediction_bytes(root, protocol) if ceiling else 0))


def _prediction_bytes(root, protocol) -> int:
    """Bytes of the ceiling's evaluation predictions (float32, every subject and run)."""
    from ._preflight import lengths_of, protocol_lengths

    if protocol.dataset is not None:
        lengths = {k: v for k, v in lengths_of(root, protocol).items() if k != "train"}
        T = sum(n for runs in lengths.values() for n in runs.values())
        return int(1.1 * T * len(protocol.subjects) * protocol.dataset.n_parcels * 4) + (64 << 10)
    try:
        lengths = protocol_lengths(root, protocol.subjects, protocol.evaluation)
        C = parcel_count(root, protocol.subjects[0])
        T = sum(n for runs in lengths.values() for n in runs.values())
    except (OSError, ValueError, KeyError):  # unreadable: the release's (the job says why)
        C, T = _RELEASE_SHAPE[1], _RELEASE_EVAL_TRS
    return int(1.1 * T * len(protocol.subjects) * C * 4) + (64 << 10)


def encoder_bytes(params: dict, n_subjects: int, n_parcels: int) -> int:
    """Bytes of a fitted encoder saved with joblib (its parameters, float32, twice)."""
    import torch

    from ..encoder import CrossSubjectConvLinearEncoder, CrossSubjectEncoder

    kwargs = CrossSubjectEncoder(**params)._module_kwargs(n_subjects, n_parcels)
    with torch.device("meta"):  # shapes only: nothing is allocated
        module = CrossSubjectConvLinearEncoder(**kwargs)
    return 8 * sum(p.numel() for p in module.parameters()) + (1 << 20)


def grid_output_bytes(root, param_grid: dict, *, refit: bool = False, quick: bool = False,
                      dataset=None) -> int:
    """Bytes ``write_grid_report`` will write (an upper bound): the CSV and documents of
    every candidate and, with ``refit``, the largest candidate's fitted encoder."""
    from sklearn.model_selection import ParameterGrid

    from ._registry import encoder_params

    S, C, runs = data_shape(root, dataset=dataset)
    grid = ParameterGrid(param_grid)
    total = _DOCUMENT_BYTES + runs * _RUN_BYTES + len(grid) * _CANDIDATE_BYTES
    if refit:
        base = encoder_params(quick=quick)
        sizes = []
        for params in grid:
            try:
                sizes.append(encoder_bytes({**base, **params}, S, C))
            except (ValueError, TypeError):  # a bad candidate: the job says which
                continue
        total += max(sizes, default=0)
    return total


def new_subject_output_bytes(root, budgets, dataset=None) -> int:
    """Bytes ``write_new_subject_report`` will write (an upper bound); ``dataset``: a
    ``dataset.toml``'s description instead of the release folder ``root``."""
    _, _, runs = data_shape(root, dataset=dataset)
    return _DOCUMENT_BYTES + runs * _RUN_BYTES + len(budgets) * _CANDIDATE_BYTES

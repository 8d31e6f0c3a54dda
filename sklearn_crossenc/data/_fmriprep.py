"""fMRIPrep derivatives: their runs found by BIDS entities, and a small folder made for tests.

fMRIPrep writes, per subject and run, ``sub-<label>[_ses-<label>]_task-<label>[_run-<n>]
_space-<space>_desc-preproc_bold.nii.gz`` and, beside it, the run's confounds
``..._desc-confounds_timeseries.tsv`` (without the ``space`` entity).
:func:`find_runs` lists them for one task; a run's key is its entities other than
``sub``, ``space`` and ``desc`` (``ses-01_task-movie_run-1``), so that every subject's runs
of one stimulus share a key.

:func:`make_fmriprep_like` writes such a folder with low-resolution volumes, a labels image
and confounds whose effect on every voxel is known: the parcel means the generator put in
are returned, so an extraction can be checked against them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._cifti import write_cifti_copy
from ._paths import parse_entities

__all__ = ["BoldRun", "find_runs", "make_fmriprep_like", "run_key"]

_BOLD = re.compile(r"(?P<stem>.+)_desc-preproc_bold\.nii(\.gz)?$")
_DTSERIES = re.compile(r"(?P<stem>.+)_bold\.dtseries\.nii$")
#: Entities that do not name the stimulus: left out of a run's key (``den``: a CIFTI
#: run's density, the grayordinate counterpart of ``space``).
_NOT_IN_KEY = ("sub", "space", "desc", "den")
#: Confound columns of the synthetic folder, as fMRIPrep names them.
MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
TISSUE = ("white_matter", "csf")


def run_key(entities: dict[str, str]) -> str:
    """The key of a run: its entities other than ``sub``, ``space`` and ``desc``.

    Examples
    --------
    >>> run_key({"sub": "01", "ses": "01", "task": "movie", "run": "1", "space": "MNI"})
    'ses-01_task-movie_run-1'
    >>> run_key({"sub": "01", "task": "movie", "space": "fsLR", "den": "91k"})
    'task-movie'
    """
    return "_".join(f"{k}-{v}" for k, v in entities.items() if k not in _NOT_IN_KEY)


@dataclass(frozen=True)
class BoldRun:
    """One preprocessed run: its subject, key, image and confounds file (may not exist)."""

    subject: str
    key: str
    bold: Path
    confounds: Path


def find_runs(derivatives, task: str, space: str | None = None, *,
              cifti: bool = False) -> list[BoldRun]:
    """Every ``*_desc-preproc_bold.nii[.gz]`` of ``task`` under ``derivatives`` (with
    ``cifti``: every ``*_bold.dtseries.nii``), sorted.

    Parameters
    ----------
    derivatives : path-like
        fMRIPrep's output folder (``sub-*/[ses-*/]func/`` below it).
    task : str
        The ``task`` entity to keep.
    space : str, optional
        The ``space`` entity to keep (needed when a run is there in several spaces).

    Raises
    ------
    FileNotFoundError, ValueError
        A missing folder; no run of the task (naming the tasks and spaces found); a run in
        several spaces without ``space``; two files for one subject and key.
    """
    root = Path(derivatives).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"derivatives folder {root} does not exist or is not a folder")
    runs, tasks, spaces = {}, set(), set()
    pattern = _DTSERIES if cifti else _BOLD
    glob = "*_bold.dtseries.nii" if cifti else "*_desc-preproc_bold.nii*"
    for path in sorted(root.glob(f"sub-*/**/func/{glob}")):
        match = pattern.match(path.name)
        if match is None:
            continue
        ent = parse_entities(match.group("stem"), str(path))
        tasks.add(ent.get("task", "?"))
        spaces.add(ent.get("space", "(none)"))
        if ent.get("task") != task or (space is not None and ent.get("space") != space):
            continue
        key = (ent["sub"], run_key(ent))
        if key in runs:
            raise ValueError(
                f"sub-{key[0]} run {key[1]} is there twice ({runs[key].bold.name} and "
                f"{path.name}); choose one with --space ({', '.join(sorted(spaces))})")
        conf_stem = "_".join(f"{k}-{v}" for k, v in ent.items()
                             if k not in ("space", "desc", "den"))
        runs[key] = BoldRun(ent["sub"], key[1], path,
                            path.parent / f"{conf_stem}_desc-confounds_timeseries.tsv")
    if not runs:
        raise ValueError(f"no {glob} run of task {task!r}"
                         f"{'' if space is None else f' in {space}'} under {root}: found tasks "
                         f"{sorted(tasks) or 'none'}, spaces {sorted(spaces) or 'none'}")
    return [runs[k] for k in sorted(runs)]


def _labels_volume(shape, n_parcels: int) -> np.ndarray:
    """Labels 1..n_parcels as slabs along the first axis, a background border of 0."""
    labels = np.zeros(shape, dtype=np.int16)
    inner = np.arange(1, shape[0] - 1)
    for i, chunk in enumerate(np.array_split(inner, n_parcels)):
        labels[chunk, 1:-1, 1:-1] = i + 1
    return labels  # (X, Y, Z)


def make_fmriprep_like(root, *, n_subjects: int = 3, n_runs: int = 2, n_parcels: int = 6,
                       n_times: int = 80, shape=(14, 6, 6), tr: float = 2.0, task: str = "movie",
                       seed: int = 0) -> dict:
    """Write a small fMRIPrep-like derivatives folder with a known truth.

    Every voxel of parcel ``p`` in a run is ``signal[p] + loading[v] @ confounds + noise[v]``,
    where the voxel noise sums to zero within each parcel at every time point and the
    loadings average to ``loading_mean[p]``: so the plain parcel mean is exactly
    ``signal[p] + loading_mean[p] @ confounds`` (returned as ``means``), and regressing the
    confounds out leaves ``signal[p]`` up to the confounds' share of it (returned as
    ``signals``). Confounds are 6 motion parameters, white matter and csf, written to the
    run's ``_desc-confounds_timeseries.tsv``.

    Returns
    -------
    truth : dict
        ``atlas`` (path of the labels image), ``cifti_atlas``, ``tr``, ``means`` and
        ``signals``: subject
        label -> run key -> ``(n_times, n_parcels)`` arrays.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> truth = make_fmriprep_like(pathlib.Path(tempfile.mkdtemp()) / "deriv", n_subjects=1)
    >>> sorted(truth["means"]["01"]), truth["means"]["01"]["task-movie_run-1"].shape
    (['task-movie_run-1', 'task-movie_run-2'], (80, 6))
    """
    import nibabel as nib

    rng = np.random.default_rng(seed)
    root = Path(root)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    labels = _labels_volume(shape, n_parcels)
    root.mkdir(parents=True, exist_ok=True)
    atlas = root / "atlas_dseg.nii.gz"
    nib.Nifti1Image(labels, affine).to_filename(str(atlas))
    names = MOTION + TISSUE
    stimulus = rng.standard_normal((n_runs, n_times, n_parcels))  # shared by subjects
    means, signals = {}, {}
    for s in range(1, n_subjects + 1):
        label = f"{s:02d}"
        func = root / f"sub-{label}" / "func"
        func.mkdir(parents=True, exist_ok=True)
        for r in range(1, n_runs + 1):
            stem = f"sub-{label}_task-{task}_run-{r}"
            signal = stimulus[r - 1] + 0.5 * rng.standard_normal((n_times, n_parcels))
            conf = np.cumsum(rng.standard_normal((n_times, len(names))), axis=0) * 0.3
            vox = _voxels(labels, signal, conf, rng)  # (X, Y, Z, T)
            img = nib.Nifti1Image(vox.astype(np.float32), affine)
            img.header.set_xyzt_units("mm", "sec")
            img.header["pixdim"][4] = tr
            img.to_filename(str(func / f"{stem}_space-MNI_desc-preproc_bold.nii.gz"))
            write_cifti_copy(vox, labels, tr,
                             func / f"{stem}_space-fsLR_den-91k_bold.dtseries.nii",
                             None if s > 1 or r > 1 else root / "atlas.dlabel.nii")
            lines = ["\t".join(names)] + ["\t".join(f"{v:.6f}" for v in row) for row in conf]
            (func / f"{stem}_desc-confounds_timeseries.tsv").write_text("\n".join(lines) + "\n")
            key = f"task-{task}_run-{r}"
            means.setdefault(label, {})[key] = _parcel_means(vox, labels, n_parcels)
            signals.setdefault(label, {})[key] = signal
    return {"atlas": atlas, "cifti_atlas": root / "atlas.dlabel.nii", "tr": tr,
            "means": means, "signals": signals}


def _voxels(labels, signal, conf, rng) -> np.ndarray:
    """Voxel series: parcel signal, confounds through voxel loadings, zero-sum noise."""
    T = signal.shape[0]
    out = np.zeros(labels.shape + (T,))
    for p in range(signal.shape[1]):
        idx = np.argwhere(labels == p + 1)  # (V, 3)
        load = rng.standard_normal((len(idx), conf.shape[1])) + 1.0  # (V, K), mean ~1
        noise = rng.standard_normal((len(idx), T))
        noise -= noise.mean(axis=0)  # zero-sum within the parcel at every time point
        series = signal[:, p][None] + load @ conf.T + noise  # (V, T)
        out[tuple(idx.T)] = series + 100.0  # an offset, as raw BOLD has
    return out  # (X, Y, Z, T)


def _parcel_means(vox, labels, n_parcels) -> np.ndarray:
    return np.stack([vox[labels == p + 1].mean(axis=0) for p in range(n_parcels)], axis=1)

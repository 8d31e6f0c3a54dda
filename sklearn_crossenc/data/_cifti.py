"""CIFTI runs: a ``*_bold.dtseries.nii`` averaged within the labels of a ``*.dlabel.nii``.

fMRIPrep's grayordinate outputs (``--cifti-output``) are
``sub-<label>_task-<label>[_run-<n>]_space-fsLR_den-91k_bold.dtseries.nii``; a parcellation
on the same grayordinates is a ``dlabel.nii`` (the Schaefer parcellations ship one per
resolution). Both are read with nibabel: the run's series ``(time, grayordinates)`` is
averaged within every non-zero label of the atlas, in the order of the label keys, and
the confounds, when a preset asks for them, are regressed out with nilearn's
``signal.clean``, which is what ``NiftiLabelsMasker`` applies to the region signals of a
volume: the same preset gives the same operation in both formats.

:func:`write_cifti_copy` writes a CIFTI twin of a volume run of the fMRIPrep-like test
folder (its in-atlas voxels as grayordinates), so that both paths are checked against one
truth.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

__all__ = ["read_dlabel", "cifti_parcel_means", "write_cifti_copy"]


def _load(path: Path, what: str, first_axis: str) -> tuple:
    """``(image, first axis, grayordinates)`` of a CIFTI-2 file whose axes are
    ``first_axis`` x ``BrainModelAxis``; one message naming the file otherwise."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except Exception as err:  # nibabel's errors name neither the file nor what was expected
        raise ValueError(f"{path} cannot be read as a CIFTI {what} "
                         f"({type(err).__name__}: {err})") from None
    if not isinstance(img, nib.Cifti2Image):
        raise ValueError(f"{path} is not a CIFTI-2 file (nibabel reads it as "
                         f"{type(img).__name__}); expected a {what}")
    axis, models = img.header.get_axis(0), img.header.get_axis(1)
    if not isinstance(axis, getattr(nib.cifti2, first_axis)) \
            or not isinstance(models, nib.cifti2.BrainModelAxis):
        raise ValueError(f"{path} is not a {what}: its axes are {type(axis).__name__} x "
                         f"{type(models).__name__}, expected {first_axis} x BrainModelAxis")
    return img, axis, models


def read_dlabel(path) -> tuple[np.ndarray, list[int], object]:
    """A ``dlabel.nii``'s label key per grayordinate ``(G,)``, its non-zero keys in order,
    and its grayordinates (nibabel's ``BrainModelAxis``); clear errors otherwise."""
    path = Path(path)
    img, _, models = _load(path, "labels file (dlabel.nii)", "LabelAxis")
    if img.shape[0] != 1:
        raise ValueError(f"{path} holds {img.shape[0]} label maps; extract with one")
    values = np.asarray(img.get_fdata())[0]  # (G,)
    keys = np.rint(values).astype(np.int64)
    if not np.all(np.isfinite(values)) or not np.array_equal(keys, values):
        raise ValueError(f"{path} holds label values that are not whole numbers")
    labels = sorted(int(k) for k in np.unique(keys) if k != 0)
    if not labels:
        raise ValueError(f"{path} labels no grayordinate (every value is 0)")
    return keys, labels, models


def cifti_parcel_means(bold, atlas: tuple, *, confounds=None, high_pass=None,
                       tr: float | None = None) -> tuple[np.ndarray, float]:
    """``(series (T, C) float32, TR)`` of one ``dtseries.nii`` within the atlas's labels.

    ``atlas`` is what :func:`read_dlabel` returned; ``confounds`` ``(T, K)`` and
    ``high_pass`` (Hz) as ``NiftiLabelsMasker`` takes them; ``tr`` overrides the file's.
    """
    keys, labels, models = atlas
    bold = Path(bold)
    img, series_axis, run_models = _load(bold, "dense time series (dtseries.nii)",
                                         "SeriesAxis")
    if run_models != models:
        raise ValueError(f"{bold} and the atlas are on different grayordinates "
                         f"({len(run_models)} and {len(models)}); the dlabel.nii must be in "
                         "the run's space and density (e.g. fsLR 91k)")
    t_r = tr if tr is not None else _seconds(series_axis)
    if t_r is None or not math.isfinite(t_r) or t_r <= 0:
        raise ValueError(f"the repetition time of {bold} is not in its header "
                         f"({series_axis.step} {series_axis.unit}); give --tr SECONDS")
    data = np.asarray(img.get_fdata(dtype=np.float32))  # (T, G)
    if confounds is not None and confounds.shape[0] != data.shape[0]:
        raise ValueError(f"the confounds have {confounds.shape[0]} rows; {bold} has "
                         f"{data.shape[0]} time points")
    means = np.stack([data[:, keys == k].mean(axis=1, dtype=np.float64) for k in labels],
                     axis=1)  # (T, C)
    if confounds is not None or high_pass is not None:
        from nilearn import signal

        with warnings.catch_warnings():  # nilearn >= 0.14 asks for None instead of False
            warnings.filterwarnings("ignore", message=".*'standardize'", category=FutureWarning)
            means = signal.clean(means, detrend=False, standardize=False, confounds=confounds,
                                 high_pass=high_pass, t_r=t_r)
    return np.asarray(means, dtype=np.float32), float(t_r)


def _seconds(axis) -> float | None:
    scale = {"SECOND": 1.0, "MILLISECOND": 1e-3}.get(str(axis.unit).upper())
    return None if scale is None else float(axis.step) * scale


def write_cifti_copy(vox: np.ndarray, labels: np.ndarray, tr: float, path: Path,
                     atlas_path: Path | None = None) -> None:
    """Write the in-atlas voxels of ``vox`` ``(X, Y, Z, T)`` as a ``dtseries.nii`` (their
    order: ``np.argwhere(labels > 0)``, split into two hemispheres' vertices), and, with
    ``atlas_path``, the matching ``dlabel.nii``."""
    import nibabel as nib

    inside = labels > 0
    n = int(inside.sum())
    models = (nib.cifti2.BrainModelAxis.from_mask(np.ones(n // 2, bool), name="CortexLeft")
              + nib.cifti2.BrainModelAxis.from_mask(np.ones(n - n // 2, bool),
                                                    name="CortexRight"))
    series = nib.cifti2.SeriesAxis(start=0.0, step=tr, size=vox.shape[3], unit="second")
    data = vox[inside].T.astype(np.float32)  # (T, G)
    nib.Cifti2Image(data, header=(series, models)).to_filename(str(path))
    if atlas_path is not None:
        keys = labels[inside]
        table = {0: ("???", (0.0, 0.0, 0.0, 0.0))}
        table.update({int(k): (f"parcel-{int(k)}", (1.0, 0.0, 0.0, 1.0))
                      for k in np.unique(keys)})
        axis = nib.cifti2.LabelAxis(["parcels"], [table])
        nib.Cifti2Image(keys[None].astype(np.float32), header=(axis, models)).to_filename(
            str(atlas_path))

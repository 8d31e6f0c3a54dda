"""Per-parcel vectors on the brain: a label lookup into a subject's parcellation, and PNGs.

Column ``i`` of every fMRI array is atlas label ``i + 1`` (0 = background), so a vector
of parcel values becomes a volume by indexing ``[0, v_1, ..., v_n]`` with the label
image, the same volume ``NiftiLabelsMasker(labels_img=atlas).inverse_transform`` gives.
Needs nibabel for images, nilearn and matplotlib for pictures (the ``plot`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..data._paths import atlas_path

__all__ = ["find_atlas", "parcel_image", "plot_parcel_map"]


def find_atlas(root=None, subject: int = 1, atlas=None):
    """The parcellation to draw on, or the one-line reason there is none.

    Parameters
    ----------
    root : str or Path, optional
        Release folder (or synthetic dataset): its
        ``fmri/sub-0X/atlas/sub-0X_..._desc-dseg_parcellation.nii.gz`` is used.
    subject : int, default=1
    atlas : str or Path, optional
        An explicit parcellation file, for data laid out otherwise (``--atlas PATH``).

    Returns
    -------
    path : Path or None
    reason : str or None
        Why there is no map (``path`` is None), in one line.

    Examples
    --------
    >>> from sklearn_crossenc.evaluation import find_atlas
    >>> path, reason = find_atlas("/nowhere", 1)
    >>> path is None, reason.startswith("no parcellation for sub-01 at /nowhere/fmri")
    (True, True)
    """
    path = Path(atlas) if atlas is not None else atlas_path(root, subject)
    if not path.is_file():
        return None, f"no parcellation for sub-{subject:02d} at {path}: brain maps skipped"
    return path, None


def _labels(atlas):
    """Label array and image from a path or a nibabel image."""
    import nibabel as nib

    if isinstance(atlas, (str, Path)):
        if not Path(atlas).is_file():
            raise FileNotFoundError(f"parcellation {atlas} does not exist")
        try:
            atlas = nib.load(str(atlas))
        except Exception as exc:
            raise ValueError(f"cannot read parcellation {atlas}: {exc}") from None
    labels = np.asarray(atlas.dataobj)
    if labels.ndim != 3 or not np.allclose(labels, np.round(labels)) or labels.min() < 0:
        raise ValueError(f"a parcellation must be a 3-D image of integer labels >= 0; got "
                         f"shape {labels.shape}, dtype {labels.dtype}")
    return labels.astype(np.int64), atlas


def parcel_image(values, atlas):
    """Volume holding ``values[i]`` at every voxel of label ``i + 1`` (0 elsewhere).

    Parameters
    ----------
    values : array-like of shape (n_parcels,)
        One value per parcel, in column order of the fMRI arrays. NaN is allowed.
    atlas : str, Path or nibabel image
        Integer label image whose largest label is ``n_parcels``.

    Returns
    -------
    image : nibabel.Nifti1Image
        float32, same grid as the atlas.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from sklearn_crossenc.evaluation import parcel_image
    >>> atlas = nib.Nifti1Image(np.array([[[0, 1], [2, 2]]], np.int16), np.eye(4))
    >>> np.asarray(parcel_image([0.5, -1.0], atlas).dataobj)
    array([[[ 0. ,  0.5],
            [-1. , -1. ]]], dtype=float32)
    """
    import nibabel as nib

    labels, img = _labels(atlas)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"values must be one vector of per-parcel numbers; got shape {v.shape}")
    if labels.max() != v.size:
        raise ValueError(f"values has {v.size} entries but the parcellation's labels run up to "
                         f"{labels.max()}: they must match (column i = label i + 1)")
    lut = np.concatenate([[0.0], v]).astype(np.float32)  # label -> value
    return nib.Nifti1Image(lut[labels], img.affine)


def _shown_values(values, significant):
    """Values as drawn (n.s. and non-finite parcels at 0, i.e. blank) and a title note."""
    v = np.asarray(values, dtype=np.float64).copy()
    note = None
    if significant is not None:
        sig = np.asarray(significant, dtype=bool)
        if sig.shape != v.shape:
            raise ValueError(f"significant has shape {sig.shape}; values have {v.shape}")
        v[~sig] = 0.0
        note = f"{int((~sig).sum())} of {v.size} parcels n.s. (blank)"
    v[~np.isfinite(v)] = 0.0
    return v, note


def _limits(v, vmax, diverging):
    finite = v[np.isfinite(v)]
    top = float(vmax) if vmax is not None else float(np.abs(finite).max(initial=0.0)) or 1.0
    return (-top if diverging else 0.0), top


def plot_parcel_map(values, atlas, path, *, significant=None, title=None, vmax=None,
                    cmap=None, display_mode="lzry", dpi=110) -> Path:
    """Draw a per-parcel vector on the brain (glass brain) and save it as a PNG atomically.

    Parameters
    ----------
    values : array-like of shape (n_parcels,)
        Scores, ceilings, or a difference of two models (any sign).
    atlas : str, Path or nibabel image
        The subject's parcellation (see :func:`find_atlas`).
    path : str or Path
        PNG to write; written through a temporary file and renamed, never half-written.
    significant : array-like of bool, shape (n_parcels,), optional
        For a difference map: parcels not significant (False) are drawn blank and counted
        in the title, so that only differences that survive correction carry colour.
    title : str, optional
    vmax : float, optional
        Colour scale limit (default: the largest absolute value).
    cmap : str, optional
        Default ``"cold_hot"`` for values of both signs, ``"hot"`` otherwise.
    display_mode : str, default="lzry"
        nilearn's glass-brain views.
    dpi : int, default=110

    Returns
    -------
    path : Path

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_atlas
    >>> from sklearn_crossenc.evaluation import plot_parcel_map
    >>> atlas, centroids = make_synthetic_atlas(48, resolution=4)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.png"
    >>> plot_parcel_map(centroids[:, 1], atlas, out, title="y coordinate").stat().st_size > 0
    True
    """
    from matplotlib.figure import Figure
    from nilearn import plotting

    v, note = _shown_values(values, significant)
    diverging = bool((v < 0).any())
    if note:
        title = f"{title}  [{note}]" if title else note
    vmin, vmax = _limits(v, vmax, diverging)
    img = parcel_image(v, atlas)
    fig = Figure(figsize=(10, 3.2))
    display = plotting.plot_glass_brain(
        img, figure=fig, display_mode=display_mode, colorbar=True, plot_abs=False,
        cmap=cmap or ("cold_hot" if diverging else "hot"), vmin=vmin, vmax=vmax,
        threshold=1e-6 * (vmax - vmin), title=title, symmetric_cbar=diverging)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    del display  # a pyplot-free Figure: nothing to close, freed with its last reference
    return path

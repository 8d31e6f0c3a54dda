"""Per-parcel vectors on the brain: a label lookup into a subject's parcellation, and pictures.

Column ``i`` of every fMRI array is atlas label ``i + 1`` (0 = background), so a vector
of parcel values becomes a volume by indexing ``[0, v_1, ..., v_n]`` with the label
image, the same volume ``NiftiLabelsMasker(labels_img=atlas).inverse_transform`` gives.
Pictures are drawn on the inflated cortex (:mod:`._surface`). Needs nibabel for images,
nilearn and matplotlib for pictures (the ``plot`` extra).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..data._paths import atlas_path, subject_label

__all__ = ["FORMATS", "colour_limits", "find_atlas", "parcel_image", "plot_parcel_map"]


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
        return None, f"no parcellation for {subject_label(subject)} at {path}: brain maps skipped"
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
    """Values as drawn (n.s. and non-finite parcels NaN, i.e. blank) and a title note."""
    v = np.asarray(values, dtype=np.float64).copy()
    if v.ndim != 1:
        raise ValueError(f"values must be one vector of per-parcel numbers; got shape {v.shape}")
    note = None
    if significant is not None:
        sig = np.asarray(significant)
        if sig.shape != v.shape or sig.dtype != bool:
            raise ValueError(f"significant must be booleans of shape {v.shape} (one per "
                             f"parcel); got {sig.dtype} of shape {sig.shape}")
        v[~sig] = np.nan
        note = f"{int((~sig).sum())} of {v.size} parcels n.s. (pale green); grey: no value"
    v[~np.isfinite(v)] = np.nan
    return v, note


def _number(name, value, *, positive=False):
    """A finite real number (not bool), else ValueError naming ``name`` and the value."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)) and np.isfinite(value) and (not positive or value > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite{' positive' if positive else ''} number; "
                         f"got {value!r}")
    return float(value)


def colour_limits(values, vmin=None, vmax=None) -> tuple[float, float]:
    """The colour scale of a map: given limits, else ``[-m, m]`` when a value is negative
    and ``[0, m]`` otherwise, ``m`` the largest absolute finite value (1 when none).

    Raises
    ------
    ValueError
        Naming ``vmin`` or ``vmax`` and its value when not finite, ``vmax <= vmin``, or
        ``vmax <= 0`` without ``vmin``.

    Examples
    --------
    >>> from sklearn_crossenc.evaluation._maps import colour_limits
    >>> colour_limits([0.1, 0.4]), colour_limits([-0.2, 0.1]), colour_limits([0.3], vmax=0.5)
    ((0.0, 0.4), (-0.2, 0.2), (0.0, 0.5))
    """
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    top = float(np.abs(finite).max(initial=0.0)) or 1.0
    diverging = bool((finite < 0).any())
    hi = _number("vmax", vmax) if vmax is not None else top
    if vmin is None and not hi > 0:
        raise ValueError(f"vmax must be positive when vmin is not given (the scale is [0, vmax] "
                         f"or [-vmax, vmax]); got {vmax!r}")
    lo = _number("vmin", vmin) if vmin is not None else (-hi if diverging else 0.0)
    if not hi > lo:
        raise ValueError(f"vmax must be above vmin; got vmin={lo!r}, vmax={hi!r}")
    return lo, hi


#: File formats :func:`plot_parcel_map` writes, by file name ending.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def _check_plot_args(path, cmap, dpi, title, label):
    """The output format and the colormap, or ValueError naming the bad argument."""
    from matplotlib import colormaps

    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"path must end in {', '.join(FORMATS)} (the format written); got "
                         f"{str(path)!r}")
    try:
        cmap = colormaps[cmap] if isinstance(cmap, str) else cmap
    except KeyError:
        raise ValueError(f"cmap must be a matplotlib colormap name; got {cmap!r}") from None
    if isinstance(dpi, bool) or not isinstance(dpi, (int, np.integer)) or not 10 <= dpi <= 1200:
        raise ValueError(f"dpi must be an integer in [10, 1200]; got {dpi!r}")
    for name, text in (("title", title), ("label", label)):
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{name} must be a string; got {text!r}")
    return path, fmt, cmap


def _vertex_labels(atlas):
    """Per-vertex labels of the fsaverage5 surface for ``atlas`` (cached per file)."""
    from ._surface import vertex_labels

    if isinstance(atlas, (str, Path)):
        p = Path(atlas)
        if p.is_file():
            return _vertex_labels_of_file(str(p.resolve()), p.stat().st_mtime_ns)
    labels, img = _labels(atlas)
    return vertex_labels(labels, img.affine)


@lru_cache(maxsize=4)
def _vertex_labels_of_file(path: str, mtime_ns: int):
    from ._surface import vertex_labels

    labels, img = _labels(path)
    return vertex_labels(labels, img.affine)


def plot_parcel_map(values, atlas, path, *, significant=None, title=None, vmin=None,
                    vmax=None, cmap=None, label=None, dpi=100) -> Path:
    """Draw a per-parcel vector on the inflated cortex (four views) and save it atomically.

    Every parcel is seen once, where it lies (a glass brain shows the most extreme parcel
    along each line of sight and saturates). Parcels without a value (NaN, the medial
    wall) show the grey, sulcus-shaded surface; parcels not significant are pale green.

    Parameters
    ----------
    values : array-like of shape (n_parcels,)
        Scores, ceilings, or a difference of two models (any sign); NaN = no value.
    atlas : str, Path or nibabel image
        The subject's parcellation in MNI space (see :func:`find_atlas`).
    path : str or Path
        File to write; its ending picks the format: ``.png``, ``.svg`` or ``.pdf`` (the
        brain is a bitmap inside SVG and PDF). Written through a temporary file and
        renamed, never half-written.
    significant : array-like of bool, shape (n_parcels,), optional
        For a difference map: parcels not significant (False) are drawn pale green (apart
        from the grey of parcels without a value) and counted in the title, so that only
        differences that survive correction carry the colour map's colours.
    title : str, optional
    vmin, vmax : float, optional
        Colour scale limits; give both to put several maps on one scale. Default: see
        :func:`colour_limits` (symmetric around 0 when a value is negative). Values
        beyond the limits take the end colours (the colour bar shows an arrow).
    cmap : str or colormap, optional
        Default ``"RdBu_r"`` when ``vmin < 0``, ``"inferno"`` otherwise.
    label : str, optional
        The colour bar's label: the values' unit, e.g. ``"Pearson r"``.
    dpi : int, default=100

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        A bad argument, named with its value (``vmax=-1``, an unknown ``cmap``, a file
        ending other than ``.png``/``.svg``/``.pdf``, values that do not match the
        parcellation).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_atlas
    >>> from sklearn_crossenc.evaluation import plot_parcel_map
    >>> atlas, centroids = make_synthetic_atlas(48, resolution=4)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "map.png"
    >>> plot_parcel_map(centroids[:, 1], atlas, out, title="y coordinate",
    ...                 label="mm").stat().st_size > 0
    True
    >>> plot_parcel_map(centroids[:, 1], atlas, out, vmax=-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: vmax must be positive when vmin is not given (...); got -1
    """
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from ._surface import draw_surface_views

    v, note = _shown_values(values, significant)
    lo, hi = colour_limits(v, vmin, vmax)
    path, fmt, cmap = _check_plot_args(path, cmap or ("RdBu_r" if lo < 0 else "inferno"),
                                       dpi, title, label)
    labels, _ = _labels(atlas)
    if labels.max() != v.size:
        raise ValueError(f"values has {v.size} entries but the parcellation's labels run up to "
                         f"{labels.max()}: they must match (column i = label i + 1)")
    fig = Figure(figsize=(10, 2.3))
    grid = fig.add_gridspec(1, 5, width_ratios=[1, 1, 1, 1, 0.05], left=0.01, right=0.93,
                            bottom=0.04, top=0.82, wspace=0.04)
    norm = Normalize(lo, hi)
    muted = None if significant is None else (
        ~np.asarray(significant, bool) & np.isfinite(np.asarray(values, float)))  # (C,)
    draw_surface_views(fig, [fig.add_subplot(grid[0, k]) for k in range(4)], v,
                       _vertex_labels(atlas), cmap, norm, not_significant=muted)
    _colour_bar(fig, fig.add_subplot(grid[0, 4]), v, cmap, norm, label)
    fig.suptitle(f"{title}  [{note}]" if title and note else (title or note or ""),
                 fontsize="medium")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path


def _colour_bar(fig, cax, v, cmap, norm, label):
    """The colour bar, with arrows at the ends that clip values."""
    from matplotlib.cm import ScalarMappable

    finite = v[np.isfinite(v)]
    below = bool((finite < norm.vmin).any())
    above = bool((finite > norm.vmax).any())
    extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get(
        (below, above), "neither")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, extend=extend)
    if label:
        bar.set_label(label)
    return bar

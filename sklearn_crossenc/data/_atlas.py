"""A synthetic Schaefer-like parcellation built from the MNI152 template nilearn ships.

The release ships one parcellation per subject (integer labels 1-1000, 0 = background;
1-500 left hemisphere, 501-1000 right). For the synthetic dataset we build one with the
same conventions from nilearn's bundled MNI152 grey-matter template (package data:
nothing is downloaded): the left-hemisphere grey matter is cut into ``n_parcels / 2``
compact parcels by k-means on voxel coordinates, the right hemisphere by the mirror
images of those centres (label ``i + n/2`` is the homologue of label ``i``), and labels are
numbered from posterior to anterior within each hemisphere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import atomic_path

__all__ = ["make_synthetic_atlas", "save_atlas"]

def _grey_matter(resolution: int):
    """Bundled MNI152 grey-matter mask (nilearn package data) and its voxel coordinates."""
    try:
        from nilearn.datasets import load_mni152_gm_mask
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("make_synthetic_atlas needs nilearn (pip install nilearn, or the "
                          "'plot' extra)") from exc
    mask = load_mni152_gm_mask(resolution=resolution)
    ijk = np.argwhere(np.asarray(mask.dataobj) > 0)  # (V, 3)
    xyz = ijk @ mask.affine[:3, :3].T + mask.affine[:3, 3]  # (V, 3) mm
    return mask, ijk, xyz


def _left_centres(xyz_left, n_half, random_state):
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(random_state)
    # k-means on at most 20 points per parcel: as compact, and fast at 1000 parcels.
    n_fit = min(len(xyz_left), 20 * n_half)
    sample = xyz_left[rng.choice(len(xyz_left), n_fit, replace=False)]  # (n_fit, 3)
    km = KMeans(n_clusters=n_half, n_init=1, max_iter=30, random_state=random_state)
    centres = km.fit(sample).cluster_centers_  # (n_half, 3)
    return centres[np.argsort(centres[:, 1], kind="stable")]  # posterior -> anterior


def make_synthetic_atlas(n_parcels: int = 1000, *, resolution: int = 2, random_state=0):
    """Build a Schaefer-like parcellation with ``n_parcels`` labels in MNI152 space.

    Parameters
    ----------
    n_parcels : int, default=1000
        Even number of parcels: labels ``1 .. n/2`` left hemisphere (x < 0),
        ``n/2 + 1 .. n`` right (``48`` for the ``tiny`` synthetic scale).
    resolution : int, default=2
        Voxel size in mm of nilearn's bundled template.
    random_state : int, default=0
        Seed of the k-means cut.

    Returns
    -------
    atlas : nibabel.Nifti1Image
        int16 labels, 0 = background.
    centroids : ndarray of shape (n_parcels, 3)
        Mean MNI coordinate (mm) of each label's voxels; row ``i`` is label ``i + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.data import make_synthetic_atlas
    >>> img, centroids = make_synthetic_atlas(48, resolution=4)
    >>> labels = np.asarray(img.dataobj)
    >>> np.unique(labels[labels > 0]).tolist() == list(range(1, 49))
    True
    >>> bool((centroids[:24, 0] < 0).all() and (centroids[24:, 0] > 0).all())
    True
    """
    import nibabel as nib
    from scipy.spatial import cKDTree

    n_parcels = int(n_parcels)
    if n_parcels < 2 or n_parcels % 2:
        raise ValueError(f"n_parcels must be an even number >= 2; got {n_parcels}.")
    mask, ijk, xyz = _grey_matter(resolution)
    left, right = xyz[:, 0] < 0, xyz[:, 0] > 0
    n_half = n_parcels // 2
    if left.sum() < n_half:
        raise ValueError(f"{n_parcels} parcels are too many for {left.sum()} left-hemisphere "
                         f"voxels at {resolution} mm; use a finer resolution.")
    centres = _left_centres(xyz[left], n_half, random_state)  # (n_half, 3)
    mirrored = centres * [-1.0, 1.0, 1.0]
    labels = np.zeros(mask.shape, np.int16)
    for side, c, offset in ((left, centres, 1), (right, mirrored, 1 + n_half)):
        nearest = cKDTree(c).query(xyz[side])[1]  # (V_side,)
        labels[tuple(ijk[side].T)] = nearest + offset
    found = np.bincount(labels.ravel(), minlength=n_parcels + 1)[1:]
    if (found == 0).any():
        raise ValueError(f"labels {np.flatnonzero(found == 0)[:5] + 1} got no voxel at "
                         f"{resolution} mm; use a finer resolution or fewer parcels.")
    lab = labels[tuple(ijk.T)]  # (V,) label of each grey-matter voxel
    centroids = np.stack([np.bincount(lab, weights=xyz[:, d], minlength=n_parcels + 1)[1:]
                          for d in range(3)], axis=1) / found[:, None]  # (n_parcels, 3)
    return nib.Nifti1Image(labels, mask.affine), centroids


def save_atlas(img, path) -> Path:
    """Write a NIfTI image to ``path`` (``.nii.gz``) atomically; return the path."""
    path = Path(path)
    with atomic_path(path, suffix=".nii.gz") as tmp:
        img.to_filename(str(tmp))
    return path

"""A synthetic Schaefer-like parcellation built from the templates nilearn ships.

The release ships one parcellation per subject (integer labels 1-1000, 0 = background;
1-500 left hemisphere, 501-1000 right, each grouped by Yeo's 7 networks in Schaefer's
order). For the synthetic dataset we build one with the same conventions from nilearn's
bundled package data (nothing is downloaded): the cortex is the MNI152 grey matter within
5 mm of the fsaverage5 mid-thickness surface, medial wall excluded (so no cerebellum or
deep grey matter, as in Schaefer's); the left cortex is cut into ``n_parcels / 2`` compact
parcels by k-means on voxel coordinates; the parcels are given to the 7 networks (as many as
:func:`~._networks.network_counts` says) by their distance to a few anatomical anchors of
each network (:data:`ANCHORS`), and numbered within a network by distance from its first
anchor, the hub (occipital pole, Heschl's gyrus, MT+, ...). The right hemisphere holds the
mirror images (label ``i + n/2`` is the homologue of label ``i``). So label ``i`` sits
where :func:`~._networks.parcel_layout` (which the generative model uses) puts it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ._networks import NETWORKS, network_counts

__all__ = ["ANCHORS", "load_fsaverage5", "make_synthetic_atlas", "save_atlas"]

#: Left-hemisphere MNI coordinates (mm) that stand for each network; the first is the hub
#: from which a network's parcels are numbered.
ANCHORS = {
    "Vis": [(-10, -96, 2), (-8, -80, 8), (-25, -92, 2), (-20, -85, 25), (-35, -82, -8),
            (-28, -70, -12), (-12, -70, -5)],
    "SomMot": [(-48, -20, 8), (-60, -22, 8), (-58, -8, 0), (-40, -12, 12), (-55, -18, 30),
               (-45, -18, 50), (-28, -28, 64), (-8, -22, 62), (-5, -8, 55)],
    "DorsAttn": [(-45, -70, 2), (-50, -60, -8), (-28, -62, 52), (-35, -45, 48),
                 (-15, -68, 55), (-26, -6, 56)],
    "SalVentAttn": [(-56, -42, 28), (-38, 16, 0), (-48, 10, 8), (-6, 16, 38), (-8, 4, 48),
                    (-36, 44, 22), (-58, -30, 22)],
    "Limbic": [(-38, 10, -34), (-50, -8, -34), (-22, 28, -18), (-6, 36, -20),
               (-28, -10, -32)],
    "Cont": [(-44, 28, 28), (-42, 48, 6), (-40, -56, 45), (-8, -66, 42), (-56, -48, -10),
             (-4, 28, 36)],
    "Default": [(-55, -32, -4), (-58, -10, -18), (-48, -64, 30), (-6, -54, 30), (-6, 52, 12),
                (-8, 54, 34), (-25, -28, -16), (-48, 28, 0), (-22, 26, 48)],
}
_CORTEX_MM = 5.0  # grey matter this close to the mid-thickness surface is cortex


def _import_nilearn(what: str):
    try:
        from nilearn import datasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs nilearn (pip install nilearn, or the 'plot' "
                          "extra)") from exc
    return datasets


@lru_cache(maxsize=1)
def load_fsaverage5() -> dict:
    """nilearn's bundled fsaverage5 meshes (package data, never downloaded), per hemisphere.

    Returns
    -------
    meshes : dict
        ``"left"`` / ``"right"`` -> dict with ``"mid"`` (mid-thickness vertex coordinates,
        the mean of pial and white), ``"inflated"`` (inflated coordinates), both
        (10242, 3) float64 in mm, ``"faces"`` (20480, 3) int, ``"sulc"`` (10242,) and
        ``"medial_wall"`` (10242,) bool: the vertices without cortex (thickness under 1 mm),
        where the hemispheres were cut apart.
    """
    import nibabel as nib

    fs = _import_nilearn("load_fsaverage5").fetch_surf_fsaverage("fsaverage5")

    def arrays(path):
        return [np.asarray(d.data) for d in nib.load(str(path)).darrays]

    out = {}
    for hemi in ("left", "right"):
        pial, faces = arrays(fs[f"pial_{hemi}"])
        white = arrays(fs[f"white_{hemi}"])[0]
        out[hemi] = {"mid": (pial.astype(float) + white) / 2.0,
                     "inflated": arrays(fs[f"infl_{hemi}"])[0].astype(float),
                     "faces": faces.astype(np.int64), "sulc": arrays(fs[f"sulc_{hemi}"])[0],
                     "medial_wall": arrays(fs[f"thick_{hemi}"])[0] < 1.0}
    return out


def _cortex(resolution: int):
    """Cortical voxels of the bundled MNI152 grey-matter mask: (mask image, ijk, xyz mm).

    A voxel is cortex when it, or its mirror image, lies within ``_CORTEX_MM`` of its
    hemisphere's mid-thickness surface: the mask is left-right symmetric like the template.
    """
    from scipy.spatial import cKDTree

    mask = _import_nilearn("make_synthetic_atlas").load_mni152_gm_mask(resolution=resolution)
    ijk = np.argwhere(np.asarray(mask.dataobj) > 0)  # (V, 3)
    xyz = ijk @ mask.affine[:3, :3].T + mask.affine[:3, 3]  # (V, 3) mm
    mesh = load_fsaverage5()
    near = np.zeros(len(xyz), bool)
    for hemi, sign in (("left", -1.0), ("right", 1.0)):
        tree = cKDTree(mesh[hemi]["mid"][~mesh[hemi]["medial_wall"]])
        own = np.sign(xyz[:, 0]) == sign
        near[own] |= tree.query(xyz[own])[0] <= _CORTEX_MM
        mirrored = np.sign(xyz[:, 0]) == -sign
        near[mirrored] |= tree.query(xyz[mirrored] * [-1.0, 1.0, 1.0])[0] <= _CORTEX_MM
    return mask, ijk[near], xyz[near]


def _left_centres(xyz_left, n_half, random_state):
    """``n_half`` compact parcel centres (k-means on a sample of the voxels), unordered."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(random_state)
    # k-means on at most 20 points per parcel: as compact, and fast at 1000 parcels.
    n_fit = min(len(xyz_left), 20 * n_half)
    sample = xyz_left[rng.choice(len(xyz_left), n_fit, replace=False)]  # (n_fit, 3)
    km = KMeans(n_clusters=n_half, n_init=1, max_iter=30, random_state=random_state)
    return km.fit(sample).cluster_centers_  # (n_half, 3)


def _schaefer_order(centres: np.ndarray) -> np.ndarray:
    """Centres reordered into Schaefer's label order: by network (each getting
    :func:`network_counts` parcels, nearest anchors first overall), then by distance from
    the network's hub."""
    from scipy.optimize import linear_sum_assignment

    counts = network_counts(len(centres))
    dist = np.stack([np.linalg.norm(centres[:, None] - np.asarray(ANCHORS[n], float)[None],
                                    axis=2).min(axis=1) for n in NETWORKS], axis=1)  # (n, 7)
    slots = np.repeat(np.arange(len(NETWORKS)), counts)  # (n,) network of each slot
    rows, cols = linear_sum_assignment(dist[:, slots])
    network = np.empty(len(centres), int)
    network[rows] = slots[cols]
    order = []
    for k, name in enumerate(NETWORKS):
        members = np.flatnonzero(network == k)
        hub = np.linalg.norm(centres[members] - np.asarray(ANCHORS[name][0], float), axis=1)
        order.extend(members[np.argsort(hub, kind="stable")])
    return centres[np.asarray(order, int)]


def make_synthetic_atlas(n_parcels: int = 1000, *, resolution: int = 2, random_state=0):
    """Build a Schaefer-like parcellation with ``n_parcels`` labels in MNI152 space.

    Parameters
    ----------
    n_parcels : int, default=1000
        Even number of parcels: labels ``1 .. n/2`` left hemisphere (x < 0),
        ``n/2 + 1 .. n`` right (``48`` for the ``tiny`` synthetic scale); each hemisphere
        grouped by Yeo's 7 networks in Schaefer's order (Vis, SomMot, DorsAttn,
        SalVentAttn, Limbic, Cont, Default), as ``parcel_layout`` says.
    resolution : int, default=2
        Voxel size in mm of nilearn's bundled template.
    random_state : int, default=0
        Seed of the k-means cut.

    Returns
    -------
    atlas : nibabel.Nifti1Image
        int16 labels, 0 = background (everything but cortex).
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
    >>> bool(centroids[0, 1] < -70)  # label 1: visual, at the back of the brain
    True
    """
    import nibabel as nib
    from scipy.spatial import cKDTree

    n_parcels = int(n_parcels)
    if n_parcels < 2 or n_parcels % 2:
        raise ValueError(f"n_parcels must be an even number >= 2; got {n_parcels}.")
    mask, ijk, xyz = _cortex(resolution)
    left, right = xyz[:, 0] < 0, xyz[:, 0] > 0
    n_half = n_parcels // 2
    if left.sum() < n_half:
        raise ValueError(f"{n_parcels} parcels are too many for {left.sum()} left-hemisphere "
                         f"voxels at {resolution} mm; use a finer resolution.")
    centres = _schaefer_order(_left_centres(xyz[left], n_half, random_state))  # (n_half, 3)
    mirrored = centres * [-1.0, 1.0, 1.0]
    labels = np.zeros(mask.shape, np.int16)
    for side, c, offset in ((left, centres, 1), (right, mirrored, 1 + n_half)):
        nearest = cKDTree(c).query(xyz[side])[1]  # (V_side,)
        labels[tuple(ijk[side].T)] = nearest + offset
    found = np.bincount(labels.ravel(), minlength=n_parcels + 1)[1:]
    if (found == 0).any():
        raise ValueError(f"labels {np.flatnonzero(found == 0)[:5] + 1} got no voxel at "
                         f"{resolution} mm; use a finer resolution or fewer parcels.")
    lab = labels[tuple(ijk.T)]  # (V,) label of each cortical voxel (0 at x = 0)
    centroids = np.stack([np.bincount(lab, weights=xyz[:, d], minlength=n_parcels + 1)[1:]
                          for d in range(3)], axis=1) / found[:, None]  # (n_parcels, 3)
    return nib.Nifti1Image(labels, mask.affine), centroids


def save_atlas(img, path) -> Path:
    """Write a NIfTI image to ``path`` (``.nii.gz``) atomically; return the path."""
    path = Path(path)
    with atomic_path(path, suffix=".nii.gz") as tmp:
        img.to_filename(str(tmp))
    return path

"""Per-parcel values on the inflated cortical surface (fsaverage5), drawn with matplotlib.

A glass brain shows the most extreme parcel along each line of sight, so a map of 1000
parcels saturates; on the inflated surface every parcel is seen once, where it lies. The
parcellation (a volume in MNI space) is sampled at the vertices of nilearn's bundled
fsaverage5 mid-thickness surface: each vertex takes the label of the nearest labelled
voxel of its hemisphere within :data:`MAX_MM` (none on the medial wall: drawn grey). The
inflated surface is then projected orthographically in four views (left lateral, left
medial, right medial, right lateral), faces painted back to front, lit from the viewer.
Nothing is downloaded; no pyplot state is touched.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["MAX_MM", "VIEWS", "draw_surface_views", "vertex_labels"]

#: How far (mm) a vertex may be from the nearest labelled voxel and still take its label.
MAX_MM = 4.0
#: (hemisphere, view): the camera's direction from the brain and the screen's x axis.
VIEWS = {
    ("left", "lateral"): ((-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    ("left", "medial"): ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ("right", "medial"): ((-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    ("right", "lateral"): ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
}


def vertex_labels(labels: np.ndarray, affine: np.ndarray) -> dict[str, np.ndarray]:
    """Parcel label of every fsaverage5 vertex, per hemisphere (0: no parcel near).

    Parameters
    ----------
    labels : ndarray of int, shape (I, J, K)
        Label volume (0 = background).
    affine : ndarray of shape (4, 4)
        Voxel to MNI mm.

    Returns
    -------
    labels : dict
        ``"left"`` / ``"right"`` -> (10242,) int: the label of the nearest labelled voxel
        on the vertex's side of the midline (x < 0 left), or 0 beyond :data:`MAX_MM` and
        on the medial wall.
    """
    from scipy.spatial import cKDTree

    from ..data._atlas import load_fsaverage5

    ijk = np.argwhere(labels > 0)  # (V, 3)
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]  # (V, 3) mm
    lab = labels[tuple(ijk.T)]  # (V,)
    out = {}
    for hemi, side in (("left", xyz[:, 0] < 0), ("right", xyz[:, 0] > 0)):
        mid = load_fsaverage5()[hemi]["mid"]  # (10242, 3)
        if not side.any():
            out[hemi] = np.zeros(len(mid), np.int64)
            continue
        dist, idx = cKDTree(xyz[side]).query(mid)
        near = (dist <= MAX_MM) & ~load_fsaverage5()[hemi]["medial_wall"]
        out[hemi] = np.where(near, lab[side][idx], 0).astype(np.int64)
    return out


@lru_cache(maxsize=4)
def _view(hemi: str, view: str):
    """Visible faces of one view, back to front: (faces, 2-D triangles, light, grey)."""
    from ..data._atlas import load_fsaverage5

    mesh = load_fsaverage5()[hemi]
    v, faces = mesh["inflated"], mesh["faces"]  # (N, 3), (F, 3)
    camera, right = (np.asarray(a) for a in VIEWS[hemi, view])
    tri = v[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (F, 3), outward
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    facing = normal @ camera  # (F,)
    keep = np.flatnonzero(facing > 0)
    keep = keep[np.argsort(tri[keep].mean(axis=1) @ camera, kind="stable")]  # far first
    up = np.array([0.0, 0.0, 1.0])
    flat = np.stack([tri[keep] @ right, tri[keep] @ up], axis=-1)  # (F_v, 3, 2)
    light = 0.55 + 0.45 * facing[keep]  # (F_v,)
    sulc = mesh["sulc"][faces[keep]].mean(axis=1)  # (F_v,) > 0 in sulci
    grey = np.where(sulc > 0, 0.42, 0.56)  # (F_v,): mid grey, apart from pale colours
    return faces[keep], flat, light, grey


def _face_labels(vertex_label: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """A face's label: the one two of its vertices share, else its first vertex's."""
    a, b, c = (vertex_label[faces[:, k]] for k in range(3))
    return np.where((b == c) & (a != b), b, a)


#: The colour of a parcel that has a value which is not significant: pale green, apart from
#: the grey of parcels without a value (and the medial wall) and from the colour maps.
NOT_SIGNIFICANT = (0.74, 0.85, 0.66)


def draw_surface_views(fig, axes, values, vertex_label: dict, cmap, norm,
                       not_significant=None) -> None:
    """Paint ``values`` (per parcel, NaN = blank) on the four views, one per axes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    axes : sequence of 4 Axes
        In the order of :data:`VIEWS`.
    values : ndarray of shape (n_parcels,)
        Value of label ``i + 1`` at index ``i``; NaN parcels (and vertices with no parcel)
        show the grey, sulcus-shaded surface.
    vertex_label : dict
        From :func:`vertex_labels`.
    cmap : matplotlib colormap
    norm : matplotlib.colors.Normalize
    not_significant : ndarray of bool, shape (n_parcels,), optional
        Parcels drawn in :data:`NOT_SIGNIFICANT` (they have a value, not significant),
        not in the grey of parcels without one.
    """
    from matplotlib.collections import PolyCollection

    lut = np.concatenate([[np.nan], np.asarray(values, float)])  # label -> value
    ns = np.zeros(lut.size, bool)  # label -> drawn as not significant
    if not_significant is not None:
        ns[1:] = np.asarray(not_significant, bool)
    for ax, (hemi, view) in zip(axes, VIEWS, strict=True):
        faces, flat, light, grey = _view(hemi, view)
        value = lut[_face_labels(vertex_label[hemi], faces)]  # (F_v,)
        rgb = np.repeat(grey[:, None], 3, axis=1)  # (F_v, 3)
        shown = np.isfinite(value)
        rgb[shown] = cmap(norm(value[shown]))[:, :3]
        rgb[ns[_face_labels(vertex_label[hemi], faces)]] = NOT_SIGNIFICANT
        rgb *= light[:, None]
        # Not antialiased: no seams between faces, and twice as fast.
        coll = PolyCollection(flat, facecolors=rgb, edgecolors="none", antialiased=False)
        coll.set_rasterized(True)  # a bitmap inside SVG/PDF: small files
        ax.add_collection(coll, autolim=False)
        ax.set_xlim(flat[..., 0].min() - 1, flat[..., 0].max() + 1)
        ax.set_ylim(flat[..., 1].min() - 1, flat[..., 1].max() + 1)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_title(f"{hemi} {view}", fontsize="small", pad=2)

"""Brain maps: synthetic atlas, label lookup, PNG output, missing atlas."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nilearn")

from sklearn_crossenc.data import atlas_path, make_synthetic_atlas, save_atlas  # noqa: E402
from sklearn_crossenc.evaluation import find_atlas, parcel_image, plot_parcel_map  # noqa: E402
from sklearn_crossenc.evaluation._maps import _shown_values  # noqa: E402
from sklearn_crossenc.evaluation._surface import NOT_SIGNIFICANT  # noqa: E402


@pytest.fixture(scope="module")
def atlas48():
    return make_synthetic_atlas(48, resolution=4)


def test_synthetic_atlas_follows_schaefer_conventions(atlas48):
    img, centroids = atlas48
    labels = np.asarray(img.dataobj)
    assert labels.dtype == np.int16 and np.unique(labels).tolist() == list(range(49))
    # Left hemisphere (x < 0 in MNI) holds labels 1-24, right 25-48; label i + 24 mirrors i.
    assert (centroids[:24, 0] < 0).all() and (centroids[24:, 0] > 0).all()
    # nilearn's template is symmetric, so the mirror is exact up to a voxel.
    np.testing.assert_allclose(centroids[24:], centroids[:24] * [-1, 1, 1], atol=1)
    # Centroids are the mean voxel coordinate of each label, computed independently here.
    ijk = np.argwhere(labels == 7)
    xyz = ijk @ img.affine[:3, :3].T + img.affine[:3, 3]
    np.testing.assert_allclose(centroids[6], xyz.mean(axis=0))


def test_synthetic_atlas_labels_follow_the_networks_and_their_hubs(atlas48):
    """Schaefer's order: labels grouped by network (as parcel_layout says), visual parcels
    at the back, Heschl's gyrus first among the somatomotor ones; within a network the
    labels move away from its hub. Only cortex is labelled (no cerebellum)."""
    from sklearn_crossenc.data._atlas import ANCHORS
    from sklearn_crossenc.data._networks import NETWORKS, parcel_layout

    img, centroids = atlas48
    _, net, _ = parcel_layout(48)
    left = centroids[:24]
    y = [left[net[:24] == k, 1].mean() for k in range(7)]
    assert y[0] == min(y) and y[0] < -60  # Vis
    for k, name in enumerate(NETWORKS):
        hub = np.linalg.norm(left[net[:24] == k] - ANCHORS[name][0], axis=1)
        assert (np.diff(hub) >= 0).all(), name
    labels = np.asarray(img.dataobj)
    ijk = np.argwhere(labels > 0)
    xyz = ijk @ img.affine[:3, :3].T + img.affine[:3, 3]
    assert not ((xyz[:, 2] < -30) & (xyz[:, 1] < -50) & (np.abs(xyz[:, 0]) < 30)).any()


def test_synthetic_atlas_rejects_odd_counts():
    with pytest.raises(ValueError, match="even number"):
        make_synthetic_atlas(47)


def test_map_values_at_parcel_voxels_equal_the_input_vector(atlas48, tmp_path):
    img, _ = atlas48
    path = save_atlas(img, tmp_path / "atlas.nii.gz")  # also read back from disk
    values = np.random.default_rng(0).standard_normal(48).astype(np.float32)
    out = np.asarray(parcel_image(values, path).dataobj)
    labels = np.asarray(img.dataobj)
    for k in range(1, 49):
        assert (out[labels == k] == values[k - 1]).all()
    assert (out[labels == 0] == 0).all()


def test_lookup_matches_nilearn_inverse_transform(atlas48):
    from nilearn.maskers import NiftiLabelsMasker

    img, _ = atlas48
    values = np.arange(1.0, 49.0)
    ours = np.asarray(parcel_image(values, img).dataobj)
    theirs = NiftiLabelsMasker(labels_img=img).fit().inverse_transform(values[None])
    np.testing.assert_allclose(ours, np.asarray(theirs.dataobj).squeeze())


def test_map_length_must_match_the_labels(atlas48):
    with pytest.raises(ValueError, match="values has 1000 entries but .* up to 48"):
        parcel_image(np.zeros(1000), atlas48[0])


def test_missing_atlas_gives_a_one_line_reason(tmp_path):
    path, reason = find_atlas(tmp_path, 2)
    assert path is None and "\n" not in reason
    assert str(atlas_path(tmp_path, 2)) in reason and "skipped" in reason
    with pytest.raises(FileNotFoundError, match="does not exist"):
        parcel_image(np.zeros(3), tmp_path / "nope.nii.gz")


def _spy_on_savefig(monkeypatch):
    """Record every matplotlib figure saved (after it is drawn): list of (format, figure)."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig

    def spy(self, fname, **kwargs):
        out = original(self, fname, **kwargs)
        saved.append((kwargs.get("format"), self))
        return out

    monkeypatch.setattr(Figure, "savefig", spy)
    return saved


def drawn_colour_bar(fig):
    """(limits, label) of the one colour bar of a saved figure: the limits of the colour
    mesh it shows (what was drawn, not what was asked)."""
    from matplotlib.collections import QuadMesh

    found = [(ax, c) for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(found) == 1
    return tuple(map(float, found[0][1].get_clim())), found[0][0].get_ylabel()


def _face_colours(fig):
    """Face colours of the four brain views, stacked: (n_faces, 4)."""
    from matplotlib.collections import PolyCollection

    colls = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(colls) == 4
    return np.concatenate([c.get_facecolor() for c in colls])


def test_plot_writes_png_atomically_and_blanks_non_significant(atlas48, tmp_path, monkeypatch):
    img, centroids = atlas48
    saved = _spy_on_savefig(monkeypatch)
    diff = np.where(centroids[:, 0] < 0, 0.1, -0.1)  # saturated red / blue
    sig = np.arange(48) % 2 == 0
    out = plot_parcel_map(diff, img, tmp_path / "diff.png", significant=sig, title="A - B",
                          label="difference of r")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diff.png"]  # no temporary left
    fig = saved[-1][1]
    assert "24 of 48 parcels n.s. (pale green); grey: no value" in fig._suptitle.get_text()
    assert drawn_colour_bar(fig) == ((-0.1, 0.1), "difference of r")
    shown, _ = _shown_values(diff, sig)
    np.testing.assert_array_equal(shown, np.where(sig, diff, np.nan))  # n.s. parcels: blank
    # What was drawn: the n.s. half pale green (shaded), grey (r = g = b) only where no
    # parcel lies (the medial wall), the colour map's colours for the rest.
    def kinds(fig):
        rgb = _face_colours(fig)[:, :3]
        grey = (rgb.max(axis=1) - rgb.min(axis=1)) < 1e-9
        hue = rgb / rgb.max(axis=1, keepdims=True).clip(1e-9)  # shading divided out
        pale = np.all(np.abs(hue - np.divide(NOT_SIGNIFICANT, max(NOT_SIGNIFICANT))) < 1e-6,
                      axis=1)
        return grey.mean(), pale.mean()

    grey, pale = kinds(fig)
    assert grey < 0.15 and 0.3 < pale < 0.7
    plot_parcel_map(diff, img, tmp_path / "all.png", significant=np.ones(48, bool))
    grey_all, pale_all = kinds(saved[-1][1])
    assert grey_all == pytest.approx(grey) and pale_all == 0  # only the medial wall is grey
    plot_parcel_map(diff, img, tmp_path / "none.png", significant=np.zeros(48, bool))
    grey_none, pale_none = kinds(saved[-1][1])
    assert grey_none == pytest.approx(grey) and pale_none == pytest.approx(1 - grey)
    # without a value (NaN) a parcel is grey, not pale: no data is not "not significant"
    plot_parcel_map(np.full(48, np.nan), img, tmp_path / "nan.png", vmax=0.1,
                    significant=np.zeros(48, bool))
    assert kinds(saved[-1][1]) == (pytest.approx(1.0), 0.0)


def test_surface_vertices_take_their_hemisphere_s_labels(atlas48):
    from sklearn_crossenc.data._atlas import load_fsaverage5
    from sklearn_crossenc.evaluation._surface import vertex_labels

    img, _ = atlas48
    labels = vertex_labels(np.asarray(img.dataobj).astype(int), img.affine)
    mesh = load_fsaverage5()
    for hemi, first in (("left", 1), ("right", 25)):
        lab, wall = labels[hemi], mesh[hemi]["medial_wall"]
        assert (lab[wall] == 0).all() and (lab[~wall] > 0).mean() > 0.99
        assert np.unique(lab[lab > 0]).tolist() == list(range(first, first + 24))


@pytest.mark.parametrize("kwargs, message", [
    (dict(vmax=-1), r"vmax must be positive when vmin is not given .*; got -1$"),
    (dict(vmin=0, vmax=-1), "vmax must be above vmin; got vmin=0.0, vmax=-1.0"),
    (dict(vmax=float("nan")), "vmax must be a finite number; got nan"),
    (dict(vmin="0"), "vmin must be a finite number; got '0'"),
    (dict(vmin=0.5, vmax=0.5), "vmax must be above vmin; got vmin=0.5, vmax=0.5"),
    (dict(cmap="nope"), "cmap must be a matplotlib colormap name; got 'nope'"),
    (dict(dpi=0), r"dpi must be an integer in \[10, 1200\]; got 0"),
    (dict(dpi=True), r"dpi must be an integer in \[10, 1200\]; got True"),
    (dict(title=3), "title must be a string; got 3"),
    (dict(label=["r"]), r"label must be a string; got \['r'\]"),
    (dict(significant=np.ones(48)), "significant must be booleans of shape \\(48,\\)"),
    (dict(path="map.jpg"), "path must end in .png, .svg, .pdf .*; got '.*map.jpg'"),
    (dict(path="map"), "path must end in .png, .svg, .pdf"),
])
def test_bad_plot_arguments_are_named_with_their_value(atlas48, tmp_path, kwargs, message):
    img, centroids = atlas48
    path = tmp_path / kwargs.pop("path", "map.png")
    with pytest.raises(ValueError, match=message):
        plot_parcel_map(centroids[:, 1] + 200, img, path, **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF"),
                                           (".PNG", b"\x89PNG")])
def test_the_file_ending_picks_the_format(atlas48, tmp_path, suffix, magic):
    img, centroids = atlas48
    out = plot_parcel_map(centroids[:, 1], img, tmp_path / f"map{suffix}", label="mm")
    data = out.read_bytes()
    assert data.startswith(magic)
    if suffix == ".svg":
        assert b"<svg" in data[:2000] and b"<image" in data  # the brain is a bitmap inside
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"map{suffix}"]


def test_colour_limits_default_and_given():
    from sklearn_crossenc.evaluation._maps import colour_limits

    assert colour_limits(np.array([np.nan, 0.2, 0.5])) == (0.0, 0.5)
    assert colour_limits(np.array([-0.3, 0.1])) == (-0.3, 0.3)
    assert colour_limits(np.array([np.nan])) == (0.0, 1.0)
    assert colour_limits(np.array([0.2]), vmin=-1, vmax=2) == (-1.0, 2.0)


def test_atlas_and_maps_fetch_nothing(tmp_path, monkeypatch):
    """The templates and the fsaverage5 surface come from nilearn's package data: with every
    network connection refused, the parcellation is built and a map is drawn."""
    import socket

    from sklearn_crossenc.data._atlas import load_fsaverage5
    from sklearn_crossenc.evaluation import _maps, _surface

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for cached in (load_fsaverage5, _surface._view, _maps._vertex_labels_of_file):
        cached.cache_clear()  # load everything again, under the block
    img, centroids = make_synthetic_atlas(48, resolution=4)
    path = save_atlas(img, tmp_path / "atlas.nii.gz")
    out = plot_parcel_map(centroids[:, 2], path, tmp_path / "z.png", label="mm")
    assert out.stat().st_size > 0

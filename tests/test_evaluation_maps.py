"""Brain maps: synthetic atlas, label lookup, PNG output, missing atlas."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nilearn")

from sklearn_crossenc.data import atlas_path, make_synthetic_atlas, save_atlas  # noqa: E402
from sklearn_crossenc.evaluation import find_atlas, parcel_image, plot_parcel_map  # noqa: E402
from sklearn_crossenc.evaluation._maps import _shown_values  # noqa: E402


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


def test_plot_writes_png_atomically_and_blanks_non_significant(atlas48, tmp_path):
    img, centroids = atlas48
    diff = np.where(centroids[:, 0] < 0, 0.1, -0.1)
    sig = np.arange(48) % 2 == 0
    out = plot_parcel_map(diff, img, tmp_path / "diff.png", significant=sig, title="A - B")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diff.png"]  # no temporary left
    shown, note = _shown_values(diff, sig)
    np.testing.assert_array_equal(shown, np.where(sig, diff, 0.0))  # n.s. parcels: blank
    assert note == "24 of 48 parcels n.s. (blank)"
    with pytest.raises(ValueError, match="significant has shape"):
        plot_parcel_map(diff, img, tmp_path / "x.png", significant=sig[:3])

"""Every model's score is unchanged by a constant added to a parcel and by the data's scale.

Raw parcel means of own data sit near 100-1000, not 0 (issue 31): a model that sums float32
products before centring, or regularises in the data's units, returns another number on the
same signal. Each model is fitted on the same tiny episodes, then on the same episodes with a
constant added to every subject's parcel (up to 1e4) and multiplied by one scale (1e-3 to
1e3); the scores must agree within 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_crossenc import CrossSubjectEncoder, MeanOfOthers
from sklearn_crossenc.ridge import CrossSubjectRidge, FeatureRidge

TOL = 1e-3
#: (offset bound, scale): offsets drawn per subject and parcel in [-bound, bound].
CASES = [(1e4, 1.0), (0.0, 1e-3), (0.0, 1e3), (1e4, 1e-3), (1e4, 1e3), (300.0, 7.0)]


def _episodes(seed=0, n_episodes=5, n_subjects=3, n_times=40, n_parcels=6):
    """A shared low-rank signal plus subject noise, std ~0.5 as the release's parcels."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((2, n_parcels))  # (K, C)
    out = []
    for _ in range(n_episodes):
        z = rng.standard_normal((1, n_times, 2))  # (1, T, K)
        x = z @ mix + 0.7 * rng.standard_normal((n_subjects, n_times, n_parcels))  # (S, T, C)
        out.append(0.5 * x)
    return np.stack(out)  # (E, S, T, C)


def _transform(X, bound, scale, seed=1):
    """X with a constant per subject and parcel added, times ``scale`` (float64)."""
    S, C = X.shape[1], X.shape[3]
    offsets = np.random.default_rng(seed).uniform(-bound, bound, (S, C))  # (S, C)
    return (X + offsets[None, :, None, :]) * scale


def _features(X, seed=2):
    """Stimulus features (one chunk per TR) that carry the shared signal."""
    rng = np.random.default_rng(seed)
    out = []
    for ep in X:  # (S, T, C)
        drive = ep.mean(axis=0)  # (T, C)
        out.append({"visual": drive + 0.3 * rng.standard_normal(drive.shape),
                    "audio": rng.standard_normal((drive.shape[0], 3))})
    return out


def _mean_of_others(X):
    return MeanOfOthers().fit(X).score(X)


def _ridge(X, dtype):
    return CrossSubjectRidge(cv=3, delays=(0, 1), dtype=dtype).fit(X).score(X)


def _feature_ridge(X, feats, cv):
    model = FeatureRidge(modalities=("visual", "audio"), hrf_delay=0, stimulus_window=2,
                         cv=cv).fit(feats, X)
    return model.score(feats, X)


def _encoder(X):
    enc = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
                              batch_size=8, max_epochs=2, device="cpu", random_state=0)
    return enc.fit(X).score(X)


def _subject_adder(X):
    """The encoder fitted on the first 2 subjects, the third added (``fit_encoder``: its
    latent joins the others' average)."""
    from sklearn_crossenc import SubjectAdder

    enc = CrossSubjectEncoder(embed_dim=4, sample_length=16, samples_per_epoch=32,
                              batch_size=8, max_epochs=2, device="cpu", random_state=0)
    enc.fit(X[:, :2])
    model = SubjectAdder(enc, cv=3, fit_encoder=True).fit(X)
    return model.score(X)  # every subject: the fitted ones see the new one's latent


MODELS = {
    "MeanOfOthers": lambda X, F: _mean_of_others(X),
    "CrossSubjectRidge-float32": lambda X, F: _ridge(X, "float32"),
    "CrossSubjectRidge-float64": lambda X, F: _ridge(X, "float64"),
    "FeatureRidge-cv": lambda X, F: _feature_ridge(X, F, 3),
    "FeatureRidge-kit": lambda X, F: _feature_ridge(X, F, None),
    "CrossSubjectEncoder": lambda X, F: _encoder(X),
    "SubjectAdder": lambda X, F: _subject_adder(X),
}



@pytest.mark.parametrize("name", list(MODELS))
def test_a_constant_per_parcel_and_the_data_scale_change_no_score(name):
    X = _episodes()
    feats = _features(X)
    reference = MODELS[name](X, feats)
    assert reference > 0.1  # the models find the shared signal: the comparison means something
    for bound, scale in CASES:
        got = MODELS[name](_transform(X, bound, scale), feats)
        assert got == pytest.approx(reference, abs=TOL), (name, bound, scale, got, reference)


@pytest.mark.parametrize("name", ["MeanOfOthers", "CrossSubjectRidge-float32",
                                  "FeatureRidge-cv", "FeatureRidge-kit"])
@pytest.mark.parametrize("scale", [1e19, 1e-19, 1e-30])
def test_float32_data_at_extreme_scales_gives_the_same_score(name, scale):
    """Issue 31, defect 7 and the ridge's absolute alpha grid: float32 data times 1e19 (its
    squares overflow float32) made CrossSubjectRidge fail after its fit (``y_pred contains
    NaN or Inf``) or in scipy (``failed to compute an eigenvalue``); at 1e-10 and below its
    alphas in the data's units shrank every prediction to r = 0."""
    X = _episodes().astype(np.float32)
    feats = _features(X)
    reference = MODELS[name](X, feats)
    got = MODELS[name](X * np.float32(scale), feats)
    assert got == pytest.approx(reference, abs=TOL)

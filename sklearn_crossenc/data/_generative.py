"""The generative model of the synthetic dataset: pure array functions, no files.

The model, per stimulus (a Friends run, or a Movie10 segment shown once or twice):

1. *Drivers*: ``K`` smooth random time courses at TR resolution (white noise through a
   Gaussian filter). Movie10 drivers are rougher (faster cuts), rescaled per movie, and have
   ``K_movie`` extra directions that Friends never has (the out-of-distribution shift).
2. *Latent*: drivers convolved with the SPM canonical haemodynamic response at
   TR = 1.49 s, standardised per direction. ``figures``/``life`` run-2 reuse run-1's
   latent (same stimulus) with fresh noise.
3. *Subject signal*: the latent, delayed by a subject-specific lag of 0-2 TRs, mixed into
   parcels by subject weights ``W_s = W + deviation * D_s`` whose columns are scaled so
   that each parcel's signal holds a fraction ``f_sc`` of its variance (from near zero to
   strong, shared across subjects with a small subject jitter). Both vary over the brain
   (:func:`._networks.parcel_layout`): ``f`` is highest at each network's hub (occipital
   pole, Heschl's gyrus, ...) and falls off along the network, and ``W``'s columns are a
   network pattern (visual parcels driven by the directions the visual features carry,
   somatomotor by audio, default by language) plus a field smooth along the network,
   the same in both hemispheres, plus each parcel's own part.
   A further ``K_private`` directions per subject carry stimulus-driven signal that no
   other subject shares (``private_share`` of each parcel's signal variance; repeated
   with the stimulus in run-2): part of the oracle, out of reach of cross-subject models.
4. *Noise*: subject-specific low-rank AR(1) factors plus per-parcel AR(1) noise.
5. Each parcel is scaled to a std drawn in [0.4, 0.6] (not unit variance), each run is
   centred per parcel, and subject lengths differ from the run length by 0-2 TRs.

Stimulus features (visual/audio/language) are noisy linear mixtures of part of the
drivers (before the haemodynamic delay, as stimulus features are), one group per
stimulus, 250/20/250 dims like the development kit.

The noise-free signal is recoverable from ``ground_truth/truth.h5`` (latents per stimulus
and subject weights and lags): see :func:`load_true_signal`.

All calibration constants live in :data:`PARAMS`; :mod:`._synthetic` writes the files.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter
from scipy.stats import gamma

from ._networks import NETWORKS, parcel_layout
from ._paths import (
    FEATURE_DIMS,
    MISSING_RUNS,
    MODALITIES,
    SUBJECTS,
    TR,
    friends_catalogue,
    movie10_catalogue,
    movie10_special_length,
    parse_friends_run,
    parse_movie10_run,
)

__all__ = ["GeneratorParams", "PARAMS", "SCALES", "hrf", "subject_signal", "feature_values"]


@dataclass(frozen=True)
class GeneratorParams:
    """Every constant of the generative model (calibration lives here only)."""

    n_latent: int = 16  # shared stimulus-driven directions
    n_movie_latent: int = 4  # extra directions present in Movie10 only
    driver_sigma_friends: float = 1.0  # Gaussian smoothing of drivers, in TRs
    driver_sigma_movie10: float = 0.6
    movie_scale_sigma: float = 0.5  # log-normal per-movie rescaling of shared directions
    movie_extra_gain: float = 0.57  # weight scale of the extra directions relative to shared
    movie_extra_deviation: float = 3.0  # subject deviation of the extra directions' weights
    hrf_length_s: float = 32.0
    pad: int = 24  # pre-roll TRs generated before each run (lags and HRF start-up)
    max_lag: int = 2  # subject lags drawn in 0..max_lag TRs
    subject_deviation: float = 0.5  # weight deviation of a subject relative to shared weights
    n_private_latent: int = 6  # stimulus-driven directions private to each subject
    private_share: float = 0.35  # share of a parcel's signal variance that is private
    # Signal variance fraction f per parcel, by network (NETWORKS order: Vis, SomMot,
    # DorsAttn, SalVentAttn, Limbic, Cont, Default): `peak` at the network's hub (rank 0),
    # decaying as exp(-rank / decay) to `floor` at its far end; on the log-odds scale, plus
    # a field smooth along the rank and a parcel jitter.
    signal_peak: tuple = (0.78, 0.75, 0.61, 0.46, 0.18, 0.39, 0.63)
    signal_floor: tuple = (0.33, 0.09, 0.24, 0.15, 0.055, 0.12, 0.15)
    signal_decay: float = 0.35
    field_sigma: float = 0.4  # log-odds sd of the smooth field (shared by homologues)
    field_width: float = 0.15  # its correlation length, in units of a network's rank
    parcel_jitter: float = 0.1  # log-odds sd of f per parcel, shared by subjects
    subject_jitter: float = 0.25  # log-normal jitter of f per subject and parcel
    # Shared weights W per parcel: network pattern + smooth field + parcel's own, in sd.
    weight_network: float = 0.6
    weight_field: float = 0.6
    weight_parcel: float = 0.5
    modality_gain: float = 2.0  # network patterns favour their modality's directions
    noise_rank: int = 6  # low-rank structured noise factors per subject
    noise_lowrank_share: float = 0.4  # share of noise variance in the low-rank part
    noise_factor_ar: float = 0.7  # AR(1) coefficient of the low-rank factors
    noise_parcel_ar: float = 0.4  # AR(1) coefficient of the per-parcel noise
    std_low: float = 0.4  # parcel std drawn uniformly in [std_low, std_high]
    std_high: float = 0.6
    feature_noise: float = 1.0  # feature noise std relative to the driver part
    mantissa_bits: int = 8  # stored values keep 8 of float32's 23 mantissa bits (rel. error
    # <= 0.2%, far below the noise) so that gzip shrinks the files about 3x


PARAMS = GeneratorParams()


@dataclass(frozen=True)
class _Scale:
    n_parcels: int
    friends_runs: tuple[str, ...] | None  # None: the whole catalogue
    movie10_runs: tuple[tuple[str, int], ...] | None
    friends_len: tuple[int, int]  # min, max TRs (None catalogue lengths: real-like)
    movie10_len: tuple[int, int]
    real_lengths: bool


def _ep(season, episodes, parts="ab"):
    return [f"s{season:02d}e{e:02d}{p}" for e in episodes for p in parts]


_TINY_FRIENDS = (
    _ep(1, [1, 2]) + _ep(2, [1, 2]) + _ep(3, [1, 2])
    + _ep(4, [1, 13]) + _ep(4, [23], "abcd")
    + _ep(5, [1, 20])
    + _ep(6, [1, 3]) + _ep(6, [15], "abcd")
)
_TINY_MOVIE10 = (
    ("bourne01", 1), ("figures01", 1), ("figures01", 2), ("life01", 1), ("life01", 2),
    ("wolf01", 1),
)
_SMALL_FRIENDS = (
    _ep(1, range(1, 5)) + _ep(2, range(1, 5)) + _ep(3, range(1, 5))
    + _ep(4, [1, 13]) + _ep(4, [23], "abcd")
    + _ep(5, [20, 21]) + _ep(5, [23], "abcd")
    + _ep(6, [1, 3, 17]) + _ep(6, [15], "abcd")
)
_SMALL_MOVIE10 = (
    ("bourne01", 1), ("bourne10", 1), ("figures01", 1), ("figures01", 2), ("figures12", 1),
    ("figures12", 2), ("life01", 1), ("life01", 2), ("life05", 1), ("life05", 2),
    ("wolf01", 1), ("wolf17", 1),
)

SCALES = {
    "tiny": _Scale(48, tuple(sorted(_TINY_FRIENDS)), _TINY_MOVIE10, (60, 100), (60, 80), False),
    "small": _Scale(1000, tuple(sorted(_SMALL_FRIENDS)), _SMALL_MOVIE10, (427, 591), (401, 410),
                    True),
    "full": _Scale(1000, None, None, (427, 591), (401, 410), True),
}


# --------------------------------------------------------------------------- randomness
def _rng(seed: int, *tags) -> np.random.Generator:
    """Independent stream per (seed, tags): the same run gets the same numbers at any scale."""
    key = [zlib.crc32(str(t).encode()) for t in tags]
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def hrf(tr: float = TR, length_s: float = PARAMS.hrf_length_s) -> np.ndarray:
    """SPM canonical haemodynamic response sampled every ``tr`` seconds, summing to 1."""
    t = np.arange(0.0, length_s, tr)  # (L,)
    h = gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6.0
    return h / h.sum()


def _ar1(rng, n_times: int, n: int, phi: float) -> np.ndarray:
    """Unit-variance stationary AR(1) series, shape (n_times, n)."""
    e = rng.standard_normal((n_times, n), dtype=np.float32)  # (T, n)
    e[1:] *= np.float32(np.sqrt(1.0 - phi**2))
    one = np.ones(1, np.float32)
    return lfilter(one, np.array([1.0, -phi], np.float32), e, axis=0)  # float32 throughout


# --------------------------------------------------------------------------- model parts
@dataclass
class _Subject:
    lag: int
    weights: np.ndarray  # (K + K_movie + K_private, C): latent -> parcel signal, std-scaled
    noise_loadings: np.ndarray  # (rank, C)
    noise_parcel: np.ndarray  # (C,) std of the per-parcel noise


def _smooth_field(rng, rank: np.ndarray, n_fields: int, width: float) -> np.ndarray:
    """Standard-normal random functions of the rank (0-1), smooth over ``width``, evaluated
    at ``rank``: (n_fields, len(rank)); equal ranks (homologues) get equal values."""
    grid = np.linspace(0.0, 1.0, 201)  # (G,)
    white = rng.standard_normal((n_fields, grid.size + 100))  # padded: no edge effect
    smooth = gaussian_filter1d(white, width * (grid.size - 1), axis=1)[:, 50:-50]  # (n, G)
    smooth /= smooth.std(axis=1, keepdims=True)
    return np.stack([np.interp(rank, grid, f) for f in smooth])  # (n_fields, len(rank))


def _modality_parts(p: GeneratorParams) -> dict[str, list[int]]:
    """Which driver directions each stimulus modality sees: overlapping, different parts."""
    K, Km = p.n_latent, p.n_movie_latent
    return {
        "visual": list(range(0, K // 2 + 2)) + list(range(K, K + Km // 2)),
        "audio": list(range(K // 3, K // 3 + K // 3 + 1)),
        "language": list(range(K // 2, K)) + list(range(K + Km // 2, K + Km)),
    }


#: The modality whose directions drive each network more (see ``modality_gain``).
_NETWORK_MODALITY = {"Vis": "visual", "DorsAttn": "visual", "SomMot": "audio",
                     "Default": "language"}


def _spatial_model(seed: int, n_parcels: int, p: GeneratorParams):
    """Shared weights (K+Km, C) and signal fractions (C,), smooth over the brain."""
    K, Km, C = p.n_latent, p.n_movie_latent, n_parcels
    _, network, rank = parcel_layout(C)
    rng = _rng(seed, "shared")
    parts = _modality_parts(p)
    pattern = rng.standard_normal((len(NETWORKS), K + Km))  # (7, K+Km)
    for k, name in enumerate(NETWORKS):
        if name in _NETWORK_MODALITY:  # the directions Friends shares with Movie10 only
            pattern[k, [d for d in parts[_NETWORK_MODALITY[name]] if d < K]] *= p.modality_gain
    pattern /= np.sqrt(np.mean(pattern**2, axis=1, keepdims=True))  # unit mean square
    shared_w = p.weight_parcel * rng.standard_normal((K + Km, C))  # (K+Km, C)
    logit_f = p.parcel_jitter * rng.standard_normal(C)  # (C,)
    peak, floor = np.asarray(p.signal_peak), np.asarray(p.signal_floor)
    for k in range(len(NETWORKS)):
        cols = np.flatnonzero(network == k)
        field = _smooth_field(rng, rank[cols], K + Km + 1, p.field_width)  # (K+Km+1, n_k)
        shared_w[:, cols] += p.weight_network * pattern[k][:, None] + p.weight_field * field[1:]
        logit_f[cols] += p.field_sigma * field[0]
    profile = floor[network] + (peak - floor)[network] * np.exp(-rank / p.signal_decay)
    logit_f += np.log(profile / (1.0 - profile))
    return shared_w, 1.0 / (1.0 + np.exp(-logit_f))  # (K+Km, C), (C,)


def _subject_models(seed: int, n_parcels: int, p: GeneratorParams) -> dict[int, _Subject]:
    K, Km, C = p.n_latent, p.n_movie_latent, n_parcels
    shared_w, frac = _spatial_model(seed, C, p)  # (K+Km, C), (C,)
    models = {}
    for s in SUBJECTS:
        r = _rng(seed, "subject", s)
        lag = int(r.integers(0, p.max_lag + 1))
        dev = r.standard_normal((K + Km, C))  # (K+Km, C)
        w = shared_w.copy()
        w[:K] += p.subject_deviation * dev[:K]
        w[K:] += p.movie_extra_deviation * dev[K:]  # Movie10-only directions: less shared
        # Unit signal variance per parcel from the K shared (unit-variance) directions.
        w /= np.linalg.norm(w[:K], axis=0, keepdims=True)
        w[K:] *= p.movie_extra_gain
        f = np.clip(frac * np.exp(p.subject_jitter * r.standard_normal(C)), 0.0, 0.95)  # (C,)
        std = r.uniform(p.std_low, p.std_high, C)  # (C,)
        w *= std * np.sqrt(f * (1.0 - p.private_share))
        wp = r.standard_normal((p.n_private_latent, C))  # (Kp, C)
        wp *= std * np.sqrt(f * p.private_share) / np.linalg.norm(wp, axis=0)
        # Rounded to float32 as stored in truth.h5, so truth and data agree exactly.
        weights = np.concatenate([w, wp]).astype(np.float32).astype(np.float64)  # (K+Km+Kp, C)
        noise_std = std * np.sqrt(1.0 - f)  # (C,)
        load = r.standard_normal((p.noise_rank, C))  # (rank, C)
        load *= noise_std * np.sqrt(p.noise_lowrank_share) / np.linalg.norm(load, axis=0)
        models[s] = _Subject(lag, weights, load, noise_std * np.sqrt(1 - p.noise_lowrank_share))
    return models


def _drivers(seed: int, stimulus: str, n_times: int, p: GeneratorParams) -> np.ndarray:
    """Smooth stimulus drivers, shape (pad + n_times, K + K_movie); Friends extras are 0."""
    K, Km = p.n_latent, p.n_movie_latent
    rng = _rng(seed, "stimulus", stimulus)
    n = p.pad + n_times
    movie = None if _is_friends(stimulus) else parse_movie10_run(stimulus)[0]
    sigma = p.driver_sigma_friends if movie is None else p.driver_sigma_movie10
    d = gaussian_filter1d(rng.standard_normal((n, K + Km)), sigma, axis=0)  # (n, K+Km)
    d /= d.std(axis=0, keepdims=True)
    if movie is None:
        d[:, K:] = 0.0
    else:
        scale = np.exp(p.movie_scale_sigma * _rng(seed, "movie", movie).standard_normal(K))
        d[:, :K] *= scale / np.sqrt(np.mean(scale**2))  # same total shared variance
    return d


def _latent(drivers: np.ndarray, p: GeneratorParams) -> np.ndarray:
    """Haemodynamic latent from drivers: HRF convolution, standardised per direction."""
    lat = lfilter(hrf(TR, p.hrf_length_s), [1.0], drivers, axis=0)  # (n, K+Km)
    std = lat[p.pad:].std(axis=0, keepdims=True)
    scale = drivers[p.pad:].std(axis=0, keepdims=True)  # keeps movie rescaling, zeros stay 0
    return lat * np.divide(scale, std, out=np.zeros_like(std), where=std > 0)


def _private_latent(seed: int, stimulus: str, subject: int, n_times: int,
                    p: GeneratorParams) -> np.ndarray:
    """A subject's own stimulus-driven latent, (pad + n_times, K_private): the same for
    every viewing of the stimulus, invisible in the other subjects."""
    rng = _rng(seed, "private", stimulus, subject)
    sigma = p.driver_sigma_friends if _is_friends(stimulus) else p.driver_sigma_movie10
    d = gaussian_filter1d(rng.standard_normal((p.pad + n_times, p.n_private_latent)), sigma,
                          axis=0)  # (n, Kp)
    d /= d.std(axis=0, keepdims=True)
    return _latent(d, p)


def subject_signal(latent: np.ndarray, weights: np.ndarray, lag: int, pad: int,
                   n_times: int) -> np.ndarray:
    """Noise-free signal of a subject, centred over its ``n_times``: (n_times, C) float64."""
    sig = latent[pad - lag: pad - lag + n_times] @ weights  # (T_s, C)
    return sig - sig.mean(axis=0)


def _quantize(x: np.ndarray, bits: int) -> np.ndarray:
    """float32 copy of ``x`` keeping ``bits`` mantissa bits (round to nearest)."""
    x = np.asarray(x, np.float32)
    drop = 23 - bits
    if drop <= 0:
        return x
    u = x.view(np.uint32)
    u = (u + np.uint32(1 << (drop - 1))) & np.uint32(~((1 << drop) - 1) & 0xFFFFFFFF)
    return u.view(np.float32)


def _is_friends(name: str) -> bool:
    try:
        parse_friends_run(name)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- run plan
def _plan(scale: _Scale, seed: int):
    """Runs to write: list of (kind, stimulus, run, base_length, {subject: length})."""
    friends = scale.friends_runs or tuple(friends_catalogue())
    movie = scale.movie10_runs or tuple(movie10_catalogue())
    plan = []
    for name in friends:
        r = _rng(seed, "length", name)
        if scale.real_lengths:
            base = int(min(scale.friends_len[1], scale.friends_len[0] + round(r.gamma(1.5, 28))))
        else:
            base = int(r.integers(scale.friends_len[0], scale.friends_len[1] + 1))
        plan.append(("friends", name, 1, base, _subject_lengths(r, base, name)))
    stim_len = {}
    for seg, run in movie:
        if seg not in stim_len:
            r = _rng(seed, "length", seg)
            special = movie10_special_length(seg) if scale.real_lengths else None
            lo, hi = scale.movie10_len
            stim_len[seg] = special or int(r.integers(lo, hi + 1))
        r = _rng(seed, "length", seg, run)
        plan.append(("movie10", seg, run, stim_len[seg], _subject_lengths(r, stim_len[seg], None)))
    return plan


def _subject_lengths(rng, base: int, friends_name: str | None) -> dict[int, int]:
    """Per-subject lengths: about half the runs lose 1-2 TRs for some subjects."""
    short = rng.integers(0, 3, len(SUBJECTS)) * (rng.random(len(SUBJECTS)) < 0.3)
    lengths = {s: base - int(d) for s, d in zip(SUBJECTS, short, strict=True)}
    if friends_name is not None:
        lengths = {s: t for s, t in lengths.items() if friends_name not in MISSING_RUNS.get(s, ())}
    return lengths


def _noise(rng, n_times: int, m: _Subject, p: GeneratorParams) -> np.ndarray:
    """Structured (low-rank AR(1)) plus per-parcel AR(1) noise: (n_times, C) float64."""
    factors = _ar1(rng, n_times, p.noise_rank, p.noise_factor_ar)  # (T, rank)
    own = _ar1(rng, n_times, m.noise_parcel.size, p.noise_parcel_ar)  # (T, C)
    return factors @ m.noise_loadings + own * m.noise_parcel


def _feature_mixers(seed: int, p: GeneratorParams) -> dict[str, np.ndarray]:
    """Per modality, a (K + K_movie, dims) mixing of a modality-specific part of the drivers."""
    K, Km = p.n_latent, p.n_movie_latent
    parts = _modality_parts(p)
    mixers = {}
    for mod in MODALITIES:
        r = _rng(seed, "features", mod)
        mix = np.zeros((K + Km, FEATURE_DIMS[mod]))
        mix[parts[mod]] = r.standard_normal((len(parts[mod]), FEATURE_DIMS[mod]))
        # Decreasing component scale, like PCA-reduced features.
        mix *= 1.0 / np.sqrt(1.0 + np.arange(FEATURE_DIMS[mod]) / 10.0)
        mixers[mod] = mix
    return mixers


def feature_values(mixers, seed: int, stim: str, drivers: np.ndarray, base: int,
                   p: GeneratorParams) -> dict[str, np.ndarray]:
    """Features of one stimulus per modality, (base + {-1, 0, +1}, dims), quantised."""
    n = base + int(_rng(seed, "feature-length", stim).integers(-1, 2))
    out = {}
    for mod in MODALITIES:
        r = _rng(seed, "feature-noise", mod, stim)
        clean = drivers[:n] @ mixers[mod]  # (n, dims)
        noise = r.standard_normal(clean.shape) * p.feature_noise * clean.std(axis=0)
        out[mod] = _quantize(clean + noise, p.mantissa_bits)
    return out

"""Writer of the synthetic Algonauts-2025-like dataset, and its cache check.

The generative model (drivers, latents, subject models, noise, features) is in
:mod:`._generative`; this module writes what it draws into the release's layout, records
the settings in ``synthetic.json`` and reads back the latents of ``ground_truth/truth.h5``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np

from .._interrupt import check_interrupted, shielded
from .._io import apply_umask
from ._atlas import make_synthetic_atlas, save_atlas
from ._generative import (
    PARAMS,
    SCALES,
    GeneratorParams,
    _drivers,
    _feature_mixers,
    _latent,
    _noise,
    _plan,
    _private_latent,
    _quantize,
    _rng,
    _Scale,
    _subject_models,
    feature_values,
    subject_signal,
)
from ._paths import (
    MODALITIES,
    SUBJECTS,
    TR,
    atlas_path,
    features_path,
    friends_path,
    movie10_path,
    movie10_run_key,
    subject_label,
)

__all__ = ["make_synthetic_dataset", "ensure_synthetic_dataset", "is_synthetic", "PARAMS",
           "SCALES"]

GENERATOR = "sklearn_crossenc.data.make_synthetic_dataset"
# 2: private per-subject latent directions (ground truth layout changed)
# 3: a parcellation per subject at the release's atlas path (fMRI arrays unchanged)
# 4: spatial structure: signal and weights vary smoothly over the brain and by network,
#    labels in Schaefer's network order, the parcellation cortex-only
GENERATOR_VERSION = 4
TRUTH_FILE = Path("ground_truth") / "truth.h5"
META_FILE = "synthetic.json"


def full_latent(truth: h5py.File, stimulus: str, subject: int, read=None) -> np.ndarray:
    """Shared and private latent of a subject from ``truth.h5``: (pad + T + 1, K+Km+Kp).

    ``read(key)`` reads a dataset of the file (default: plain h5py).
    """
    read = read or (lambda key: truth[key][()])
    shared = read(f"latent/{stimulus}")
    private = read(f"private/{stimulus}/{subject_label(subject)}")
    return np.concatenate([shared, private], axis=1).astype(np.float64)



def _resolve_random_state(random_state, seed, where: str):
    """``random_state``, or the deprecated ``seed`` alias (with a FutureWarning): (value, name)."""
    if seed is None:
        return random_state, "random_state"
    warnings.warn(
        f"{where}(seed=...) is deprecated and will be removed; pass random_state=... "
        "(in this project 'the seed' is the reference notebook).",
        FutureWarning, stacklevel=3,
    )
    if random_state not in (0, seed):
        raise ValueError(f"pass random_state only; got random_state={random_state!r} and the "
                         f"deprecated seed={seed!r}.")
    return seed, "seed"


def make_synthetic_dataset(root, *, scale: str = "small", random_state: int = 0,
                           n_parcels: int | None = None, overwrite: bool = False,
                           progress: bool = False, seed: int | None = None) -> Path:
    """Write a synthetic dataset in the Algonauts 2025 competitor layout.

    The folder holds, for subjects 1, 2, 3 and 5, the Friends and Movie10 HDF5 files
    with the release's file names and keys (gzip), ``ground_truth/truth.h5`` (what is
    needed to compute the noise-free signal, see :func:`load_true_signal`),
    ``stimulus_features/features_{visual,audio,language}.h5`` and ``synthetic.json``.
    It is generated into a temporary folder beside ``root`` and renamed into place.

    Parameters
    ----------
    root : str or Path
        Folder to create. An existing synthetic dataset with the same ``scale``,
        ``random_state`` and ``n_parcels`` is returned unchanged (unless ``overwrite``); any
        other existing non-empty folder is refused, a non-synthetic one always.
    scale : {"tiny", "small", "full"}, default="small"
        ``"tiny"``: 48 parcels, runs of 60-100 TRs, a handful of runs per season and
        of Movie10 (for tests). ``"small"``: 1000 parcels, real-like lengths, 50
        Friends and 12 Movie10 runs, about 200 MB (a demo). ``"full"``: the 292 Friends and 61
        Movie10 runs of the release at real lengths (about 2 GB of float32).
    random_state : int, default=0
        Seed of the generator (recorded as ``"seed"`` in ``synthetic.json``); the same
        value gives the same bytes of data.
    n_parcels : int, optional
        Number of parcels (default: 48 for "tiny", 1000 otherwise).
    overwrite : bool, default=False
        Replace an existing synthetic dataset with different settings.
    progress : bool, default=False
        Show a progress bar (tqdm).
    seed : int, optional
        Deprecated alias of ``random_state`` (FutureWarning).

    Returns
    -------
    root : Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data import make_synthetic_dataset, load_friends
    >>> root = make_synthetic_dataset(pathlib.Path(tempfile.mkdtemp()) / "ds", scale="tiny")
    >>> data = load_friends(root, seasons=[6])
    >>> list(data)[:3], data["s06e01a"].shape[0]
    (['s06e01a', 's06e01b', 's06e03b'], 4)
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    seed, name = _resolve_random_state(random_state, seed, "make_synthetic_dataset")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")
    sc = SCALES[scale]
    if n_parcels is None:
        n_parcels = sc.n_parcels
    if isinstance(n_parcels, bool) or not isinstance(n_parcels, (int, np.integer)) \
            or n_parcels < 2:
        raise ValueError(f"n_parcels must be an integer >= 2, got {n_parcels!r}")
    root = Path(root)
    meta = {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "scale": scale,
        "seed": int(seed),
        "n_parcels": int(n_parcels),
        "subjects": list(SUBJECTS),
        "tr": TR,
        "params": json.loads(json.dumps(dataclasses.asdict(PARAMS))),  # tuples as lists
        "atlas": _can_write_atlas(int(n_parcels)),
    }
    if _existing_is_reusable(root, meta, overwrite):
        return root

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        counts = _generate(tmp, sc, int(seed), int(n_parcels), PARAMS, progress)
        meta.update(counts)
        if meta["atlas"]:
            _write_atlases(tmp, int(n_parcels))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        apply_umask(tmp, folder=True)  # mkdtemp made it 0700
        check_interrupted()  # a signal some library swallowed: nothing goes into place
        with shielded():  # two renames that must not be cut in between
            _move_into_place(tmp, root)
    except BaseException:
        with shielded():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def _existing_is_reusable(root: Path, meta: dict, overwrite: bool) -> bool:
    if not root.exists():
        return False
    if not root.is_dir():
        raise FileExistsError(f"{root} exists and is not a folder; not overwriting it.")
    if not any(root.iterdir()):
        return False
    if not is_synthetic(root):
        raise FileExistsError(
            f"{root} exists and is not a synthetic dataset (no {META_FILE} written by this "
            "generator); refusing to overwrite it. Choose another folder."
        )
    old = json.loads((root / META_FILE).read_text())
    same = all(old.get(k) == meta[k] for k in ("version", "scale", "seed", "n_parcels", "params"))
    if same and not overwrite:
        return True
    if not overwrite:
        raise FileExistsError(
            f"{root} holds a synthetic dataset with scale={old.get('scale')!r}, "
            f"random_state={old.get('seed')}, n_parcels={old.get('n_parcels')}; pass "
            "overwrite=True to replace it."
        )
    return False


def _move_into_place(tmp: Path, root: Path) -> None:
    if root.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
        os.replace(root, old / "x")
        try:
            os.replace(tmp, root)
        except BaseException:
            os.replace(old / "x", root)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, root)


def _can_write_atlas(n_parcels: int) -> bool:
    """Whether the parcellation can be built here (nilearn installed, an even count)."""
    if n_parcels % 2:
        return False
    try:
        import nibabel  # noqa: F401
        import nilearn  # noqa: F401
    except ImportError:
        return False
    return True


def _write_atlases(out: Path, n_parcels: int) -> None:
    """The same synthetic parcellation for every subject, at the release's atlas path."""
    atlas, _ = make_synthetic_atlas(n_parcels, resolution=2 if n_parcels > 200 else 4)
    for s in SUBJECTS:
        save_atlas(atlas, _mkparent(atlas_path(out, s)))


def _generate(out: Path, sc: _Scale, seed: int, C: int, p: GeneratorParams,
              progress: bool) -> dict:
    plan = _plan(sc, seed)
    subjects = _subject_models(seed, C, p)
    seen: set[str] = set()
    session = {}
    h5kw = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    with contextlib.ExitStack() as stack:
        files = {}
        for s in SUBJECTS:
            for kind, path_fn in (("friends", friends_path), ("movie10", movie10_path)):
                path = path_fn(out, s)
                path.parent.mkdir(parents=True, exist_ok=True)
                files[kind, s] = stack.enter_context(h5py.File(path, "w"))
                session[kind, s] = 0
        truth = stack.enter_context(h5py.File(_mkparent(out / TRUTH_FILE), "w"))
        feats = {m: stack.enter_context(h5py.File(_mkparent(features_path(out, m)), "w"))
                 for m in MODALITIES}
        mixers = _feature_mixers(seed, p)
        it = plan
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(plan, desc="synthetic runs", unit="run")
        for kind, stim, run, base, lengths in it:
            check_interrupted()
            if stim not in seen:
                seen.add(stim)
                drv = _drivers(seed, stim, base + 1, p)  # (pad + base + 1, K+Km)
                truth.create_dataset(f"latent/{stim}", data=_latent(drv, p).astype(np.float32))
                for s in SUBJECTS:
                    truth.create_dataset(f"private/{stim}/{subject_label(s)}", data=_private_latent(
                        seed, stim, s, base + 1, p).astype(np.float32))
                values = feature_values(mixers, seed, stim, drv[p.pad:], base, p)
                for mod, f in feats.items():
                    f.create_group(stim).create_dataset(
                        "features", data=values[mod], compression="gzip", compression_opts=1,
                        shuffle=True)
            for s, n_times in lengths.items():
                m = subjects[s]
                lat = full_latent(truth, stim, s)  # (pad + base + 1, K+Km+Kp)
                x = subject_signal(lat, m.weights, m.lag, p.pad, n_times)  # (T_s, C)
                x += _noise(_rng(seed, "noise", kind, s, stim, run), n_times, m, p)
                x -= x.mean(axis=0)
                k = session[kind, s]
                session[kind, s] += 1
                ses = 1 + s * 7 + k // 4  # subjects saw runs in different sessions
                key = f"ses-{ses:03d}_task-{stim}"
                if kind == "movie10" and stim.startswith(("figures", "life")):
                    key += f"_run-{run}"
                files[kind, s].create_dataset(
                    key, data=_quantize(x, p.mantissa_bits),
                    chunks=(min(n_times, 128), C), **h5kw)
        for s, m in subjects.items():
            g = truth.create_group(f"subjects/{subject_label(s)}")
            g.create_dataset("weights", data=m.weights.astype(np.float32))
            g.attrs["lag"] = m.lag
        truth.attrs["pad"] = p.pad
        truth.attrs["n_parcels"] = C
    return {
        "friends_runs": sum(k == "friends" for k, *_ in plan),
        "movie10_runs": sum(k == "movie10" for k, *_ in plan),
        "runs": [movie10_run_key(st, r) if k == "movie10" else st for k, st, r, *_ in plan],
    }


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def ensure_synthetic_dataset(root, *, scale: str = "small", random_state: int = 0,
                             progress: bool = False, seed: int | None = None
                             ) -> tuple[Path, bool]:
    """A synthetic dataset in a cache folder: reused when current, else (re)generated.

    For folders that belong to this package (the CLI's default dataset, benchmark
    caches): a dataset written with the same settings by the same generator version is
    reused; one written by other settings or an older generator is replaced. A folder
    that is not a synthetic dataset is never touched (``FileExistsError``).

    Parameters
    ----------
    root : str or Path
        Cache folder.
    scale : {"tiny", "small", "full"}, default="small"
    random_state : int, default=0
        Seed of the generator.
    progress : bool, default=False
        Progress bar while generating.
    seed : int, optional
        Deprecated alias of ``random_state`` (FutureWarning).

    Returns
    -------
    root : Path
    generated : bool
        Whether the dataset was (re)generated by this call.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data import ensure_synthetic_dataset
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "cache"
    >>> ensure_synthetic_dataset(d, scale="tiny")[1], ensure_synthetic_dataset(d, scale="tiny")[1]
    (True, False)
    """
    seed, _ = _resolve_random_state(random_state, seed, "ensure_synthetic_dataset")
    root = Path(root)
    if root.exists() and is_synthetic(root):
        try:
            make_synthetic_dataset(root, scale=scale, random_state=seed)  # same settings: reuse
            return root, False
        except FileExistsError:
            pass  # other settings or an older generator: regenerate below
        return make_synthetic_dataset(root, scale=scale, random_state=seed, overwrite=True,
                                      progress=progress), True
    return make_synthetic_dataset(root, scale=scale, random_state=seed, progress=progress), True


def synthetic_version(root) -> int | None:
    """Generator version recorded in ``root``'s ``synthetic.json``, None if absent."""
    try:
        return int(json.loads((Path(root) / META_FILE).read_text()).get("version"))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def is_synthetic(root, *, strict: bool = False) -> bool:
    """True when ``root`` is a dataset written by :func:`make_synthetic_dataset`.

    ``strict``: a ``synthetic.json`` that cannot be read as a JSON object is an error
    (a damaged marker would otherwise turn the synthetic dataset "real" without a word:
    no oracle ceiling, other notes in the report).

    Examples
    --------
    >>> is_synthetic("/nonexistent/folder")
    False
    """
    meta = Path(root) / META_FILE
    if not meta.is_file():
        return False
    try:
        doc = json.loads(meta.read_text())
        if not isinstance(doc, dict):
            raise ValueError(f"a JSON {type(doc).__name__}, not an object")
    except (OSError, ValueError) as err:
        if strict:
            raise ValueError(
                f"{meta} cannot be read ({err}): the marker of a synthetic dataset is damaged; "
                "regenerate the dataset (crossenc synth), or remove the file if the folder "
                "holds real data.") from None
        return False
    return doc.get("generator") == GENERATOR


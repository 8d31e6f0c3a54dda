"""The default dataset: a synthetic release generated once into the per-user cache.

The command line and :func:`sklearn_crossenc.compare.run_comparison` use it when no
data folder is given. The cache folder belongs to this package: a dataset written by an
older generator or other settings is regenerated there, never in a user's folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .._log import noop
from ._synthetic import ensure_synthetic_dataset, is_synthetic

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_DATA_SEED",
    "default_cache_dir",
    "default_data_dir",
    "ensure_default_dataset",
]

DEFAULT_SCALE = "small"
DEFAULT_DATA_SEED = 0


def default_cache_dir() -> Path:
    """The per-user cache folder of sklearn-crossenc.

    ``$CROSSENC_CACHE`` when set, else ``$XDG_CACHE_HOME/sklearn-crossenc``, else
    ``~/.cache/sklearn-crossenc``.

    Examples
    --------
    >>> from sklearn_crossenc.data import default_cache_dir, default_data_dir
    >>> default_data_dir("small", data_seed=0).parent == default_cache_dir()
    True
    >>> default_data_dir("small", data_seed=0).name
    'synthetic-small-seed0'
    """
    env = os.environ.get("CROSSENC_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sklearn-crossenc"


def default_data_dir(scale: str = DEFAULT_SCALE, data_seed: int = DEFAULT_DATA_SEED) -> Path:
    """Folder of the default synthetic dataset: ``<cache>/synthetic-<scale>-seed<data_seed>``."""
    return default_cache_dir() / f"synthetic-{scale}-seed{data_seed}"


def ensure_default_dataset(
    *,
    scale: str = DEFAULT_SCALE,
    data_seed: int = DEFAULT_DATA_SEED,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Return the default synthetic dataset's folder, generating it on first use.

    The folder is reused while it was written with the generator's current settings;
    when the generator has changed since (a newer package), it is regenerated: the
    cache belongs to this package. The generator writes into a temporary folder and
    renames it, so an interrupted first run leaves no half-written dataset behind.

    Parameters
    ----------
    scale : {"tiny", "small", "full"}, default="small"
    data_seed : int, default=0
        Random seed of the synthetic generator (its ``random_state``).
    progress : bool, default=False
        Progress bar while generating.
    log : callable, optional
        Called with a line of text when the dataset is generated (and when done).

    Returns
    -------
    root : Path
        :func:`default_data_dir` of ``scale`` and ``data_seed``.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> from sklearn_crossenc.data import ensure_default_dataset
    >>> with mock.patch.dict(os.environ, CROSSENC_CACHE=tempfile.mkdtemp()):
    ...     print(ensure_default_dataset(scale="tiny", log=print).name)  # doctest: +ELLIPSIS
    Generating the synthetic 'tiny' dataset (data seed 0) once into ...
      done in ... s.
    synthetic-tiny-seed0
    """
    log = log or noop
    root = default_data_dir(scale, data_seed)
    cached = root.exists() and is_synthetic(root)
    if not cached:
        log(f"Generating the synthetic '{scale}' dataset (data seed {data_seed}) once into "
            f"{root} ...")
    t0 = time.perf_counter()
    root, generated = ensure_synthetic_dataset(root, scale=scale, random_state=data_seed,
                                               progress=progress)
    if generated and cached:
        log(f"The cached dataset {root} was written with other generator settings: "
            "regenerated it.")
    if generated:
        log(f"  done in {time.perf_counter() - t0:.1f} s.")
    return root

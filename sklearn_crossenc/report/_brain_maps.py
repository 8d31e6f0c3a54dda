"""A comparison's brain maps: per-parcel numbers drawn on the parcellation (nilearn).

Each model's score map and the noise-ceiling map (mean over subjects), and the
difference of the encoder and the cross-subject ridge with the parcels that are not
significant after correction left blank. Needs nilearn and matplotlib (the ``plot``
extra) and a parcellation (``result["config"]["atlas"]``); without them the maps are
skipped with a one-line reason. The mean over subjects is drawn on the first subject's
parcellation (column ``i`` is label ``i + 1`` in every subject's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["BRAIN_MAP_SET", "DIFFERENCE", "write_brain_maps"]

#: The evaluation set drawn for the models (the noise ceiling exists for Movie10 only).
BRAIN_MAP_SET = "friends_s6"
#: The difference map drawn: reference minus this baseline.
DIFFERENCE = ("CrossSubjectEncoder", "CrossSubjectRidge")


def _file_name(label: str) -> str:
    """``brain_<label>.png``: ``CrossSubjectEncoder - CrossSubjectRidge`` ->
    ``brain_crosssubjectencoder_minus_crosssubjectridge.png``."""
    words = label.replace(" - ", " minus ").lower().split()
    return "brain_" + "_".join("".join(c for c in w if c.isalnum()) for w in words) + ".png"


def _jobs(result) -> list[tuple[str, np.ndarray, np.ndarray | None, str]]:
    """``(label, per-parcel values, significant or None, title)`` of every map to draw."""
    maps = result.get("maps") or {}
    sets = result["eval_sets"]
    jobs = []
    for name, m in result["models"].items():
        if m.get("status") == "ok" and BRAIN_MAP_SET in maps.get(name, {}):
            values = np.asarray(maps[name][BRAIN_MAP_SET]).mean(axis=0)  # (C,)
            jobs.append((name, values, None,
                         f"{name}: Pearson r, {sets[BRAIN_MAP_SET]}, mean over subjects"))
    for set_key, ceiling in (maps.get("noise ceiling") or {}).items():
        ceiling = np.asarray(ceiling)  # (S, C), NaN where not reliable
        n = np.isfinite(ceiling).sum(axis=0)  # (C,)
        values = np.where(n > 0, np.nansum(ceiling, axis=0) / np.maximum(n, 1), np.nan)
        jobs.append(("noise ceiling", values, None,
                     f"noise ceiling, {sets[set_key]} (reliable parcels)"))
    key = f"{DIFFERENCE[0]} - {DIFFERENCE[1]}"
    diff = (maps.get(key) or {}).get(BRAIN_MAP_SET)
    if diff is not None:
        jobs.append((key, np.asarray(diff["difference"]), np.asarray(diff["significant"]),
                     f"{DIFFERENCE[0]} minus {DIFFERENCE[1]}, {sets[BRAIN_MAP_SET]}"))
    return jobs


def write_brain_maps(result, out_dir, *, log: Callable[[str], None] | None = None) -> dict:
    """Draw the comparison's brain maps as PNG files into ``out_dir`` (atomically).

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    out_dir : path-like
        Output folder.
    log : callable, optional
        Receives the one-line reason when maps are skipped.

    Returns
    -------
    figures : dict of str to Path
        ``"brain: <label>"`` -> written file; empty when skipped.
    """
    log = log or (lambda msg: None)
    try:
        import nilearn  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        log("nilearn or matplotlib is not installed: brain maps skipped "
            "(pip install 'sklearn-crossenc[plot]').")
        return {}
    atlas = (result.get("config") or {}).get("atlas")
    if atlas is None:
        reason = (result.get("config") or {}).get("atlas_reason") or "no parcellation given"
        log(f"{reason}.")
        return {}
    from ..evaluation import plot_parcel_map

    written = {}
    for label, values, significant, title in _jobs(result):
        path = Path(out_dir) / _file_name(label)
        plot_parcel_map(values, atlas, path, significant=significant, title=title)
        written[f"brain: {label}"] = path
    return written

"""A comparison's brain maps: pictures on one colour scale per kind, NIfTI and TSV beside.

Drawn for every evaluation set (mean over subjects, on the first subject's parcellation;
column ``i`` is label ``i + 1`` in every subject's): each model's score map, the oracle
ceiling, the noise ceiling where it exists, and the difference of the encoder and the
cross-subject ridge with the parcels that are not significant after correction left grey.
All score and ceiling maps of every set share one colour scale (0 to the largest value of
any of them), differences one scale symmetric around zero, so that one colour means one r
everywhere; every colour bar names its unit.

Beside every picture, the same per-parcel values as a NIfTI image in the parcellation's
space (``brain_<name>_<set>.nii.gz``, the map and its set in the header's description),
and per evaluation set a table a user can load into other tools (``parcels_<set>.tsv``:
label, the parcel's name and network where known (the synthetic dataset's), each model's
r, the ceilings, each difference to the reference with its q-value).
Pictures need nilearn and matplotlib (the ``plot`` extra), NIfTI images nibabel and a
parcellation (``result["config"]["atlas"]``); without them those are skipped with a
one-line reason. The tables need neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_text
from .._log import noop
from ..jobs._headroom import UNIQUE_PREFIX
from ._headroom_section import headroom_maps
from ._tables import CEILING, NOISE_CEILING, main_pair

__all__ = ["UNITS", "nifti_description", "parcel_columns", "parcel_names", "shared_limits",
           "write_brain_maps", "write_parcel_files"]
#: Colour bar label of each kind of map.
UNITS = {"score": "Pearson r", "difference": "difference of r",
         "unique": "R² unique to the model"}


@dataclass
class _Map:
    label: str  # "CrossSubjectEncoder", "oracle ceiling", "A - B"
    kind: str  # "score" (scores and ceilings) or "difference"
    values: np.ndarray  # (C,) mean over subjects, NaN = no value
    significant: np.ndarray | None  # (C,) bool, differences only
    title: str
    set_key: str = ""  # the evaluation set the values come from
    set_label: str = ""

    @property
    def name(self) -> str:
        """``"<label> (<set label>)"``: the map's kind of figure and file, set included."""
        return f"{self.label} ({self.set_label})" if self.set_label else self.label

    @property
    def stem(self) -> str:
        """``brain_<label>_<set key>``, the file name without its suffix."""
        return file_stem(self.label) + (f"_{self.set_key}" if self.set_key else "")


def _mean_over_subjects(a) -> np.ndarray:
    """(S, C) -> (C,): mean over the subjects with a finite value, NaN where none has."""
    a = np.asarray(a, dtype=np.float64)
    n = np.isfinite(a).sum(axis=0)  # (C,)
    return np.where(n > 0, np.nansum(a, axis=0) / np.maximum(n, 1), np.nan)


def parcel_columns(result, set_key: str) -> dict[str, np.ndarray]:
    """The per-parcel table of one evaluation set: column name -> (n_parcels,) values.

    Columns, where the result has them: ``r_<model>`` (each model that ran: Pearson r,
    mean over subjects), ``oracle_ceiling``, ``noise_ceiling`` (NaN where not reliable),
    and per comparison with the reference ``diff_<A>_minus_<B>`` (difference of r),
    ``q_<A>_minus_<B>`` (Benjamini-Hochberg adjusted p-value, when recorded) and
    ``significant_<A>_minus_<B>`` (1 or 0). The values are those drawn and written as
    NIfTI.
    """
    maps = result.get("maps") or {}
    cols: dict[str, np.ndarray] = {}
    for name, m in result["models"].items():
        if m.get("status") == "ok" and set_key in maps.get(name, {}):
            cols[f"r_{name}"] = _mean_over_subjects(maps[name][set_key])
    for key, column in (("ceiling", "oracle_ceiling"), ("noise ceiling", "noise_ceiling")):
        if set_key in (maps.get(key) or {}):
            cols[column] = _mean_over_subjects(maps[key][set_key])
    for key, by_set in maps.items():
        if key.startswith(UNIQUE_PREFIX) and set_key in by_set:
            cols[f"unique_{key[len(UNIQUE_PREFIX):]}"] = np.asarray(by_set[set_key],
                                                                    dtype=np.float64)
        if " - " not in key or set_key not in by_set:
            continue
        pair = key.replace(" - ", "_minus_")
        d = by_set[set_key]
        cols[f"diff_{pair}"] = np.asarray(d["difference"], dtype=np.float64)
        if "q_value" in d:
            cols[f"q_{pair}"] = np.asarray(d["q_value"], dtype=np.float64)
        cols[f"significant_{pair}"] = np.asarray(d["significant"], dtype=bool).astype(float)
    return cols


def _set_maps(result, set_key: str, set_label: str) -> list[_Map]:
    """Every map of one evaluation set: each model's r, the ceilings it has, the
    difference of the reference and the first learned baseline."""
    cols = parcel_columns(result, set_key)
    where = f"{set_label}, mean over subjects"

    def m(label, kind, values, significant, title):
        return _Map(label, kind, values, significant, title, set_key, set_label)

    out = [m(c[2:], "score", v, None, f"{c[2:]}: {where}") for c, v in cols.items()
           if c.startswith("r_")]
    if "oracle_ceiling" in cols:
        out.append(m(CEILING, "score", cols["oracle_ceiling"], None,
                     f"{CEILING} (noise-free signal): {where}"))
    if "noise_ceiling" in cols:
        out.append(m(NOISE_CEILING, "score", cols["noise_ceiling"], None,
                     f"{NOISE_CEILING}: {set_label}, repeated clips, reliable parcels"))
    names = main_pair(result)  # the reference minus the first learned baseline
    pair = None if names is None else f"{names[0]}_minus_{names[1]}"
    if pair is not None and f"diff_{pair}" in cols:
        out.append(m(f"{names[0]} - {names[1]}", "difference", cols[f"diff_{pair}"],
                     cols[f"significant_{pair}"] > 0, f"{names[0]} minus {names[1]}: {where}"))
    out += [m(label, kind, values, sig, f"{label}: {where}")
            for label, kind, values, sig in headroom_maps(result, set_key)]
    return out


def _maps(result) -> list[_Map]:
    """Every map to draw, set by set, in the order of the report."""
    return [m for key, label in result["eval_sets"].items() for m in _set_maps(result, key, label)]


def _nice_ceil(x: float) -> float:
    """``x`` rounded up to a round number for a colour bar (0.05 steps above 0.1)."""
    step = 0.05 if x > 0.1 else 0.01
    return max(step, math.ceil(x / step - 1e-9) * step)


def shared_limits(maps) -> dict[str, tuple[float, float]]:
    """One colour scale per kind of map: scores and ceilings ``(0, top)``, ``top`` the
    largest value of any of them rounded up; differences ``(-m, m)``, ``m`` the largest
    absolute difference shown (of significant parcels, all parcels when none is).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.report._brain_maps import _Map, shared_limits
    >>> maps = [_Map("a", "score", np.array([0.1, 0.62]), None, ""),
    ...         _Map("b", "score", np.array([-0.02, 0.3]), None, ""),
    ...         _Map("a - b", "difference", np.array([0.3, -0.04]), np.array([False, True]), "")]
    >>> shared_limits(maps)
    {'score': (0.0, 0.65), 'difference': (-0.04, 0.04)}
    """
    top: dict[str, float] = {}
    for m in maps:
        v = m.values
        if m.significant is not None and m.significant.any():
            v = v[m.significant]
        v = np.abs(v[np.isfinite(v)])
        top[m.kind] = max(top.get(m.kind, 0.0), float(v.max(initial=0.0)))
    return {kind: ((0.0 if kind == "score" else -1.0) * _nice_ceil(t), _nice_ceil(t))
            for kind, t in top.items()}


def file_stem(label: str) -> str:
    """``brain_<label>``: ``CrossSubjectEncoder - CrossSubjectRidge`` ->
    ``brain_crosssubjectencoder_minus_crosssubjectridge``."""
    words = label.replace(" - ", " minus ").lower().split()
    return "brain_" + "_".join("".join(c for c in w if c.isalnum()) for w in words)


def nifti_description(m: _Map) -> str:
    """The NIfTI header's description of a map (80 bytes at most): what it holds, its
    unit and its evaluation set, e.g. ``"CrossSubjectEncoder, Pearson r, Friends s6"``."""
    text = f"{m.label}, {UNITS[m.kind]}, {m.set_label or m.set_key}"
    return text.encode("ascii", "replace")[:79].decode("ascii")


def _format(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.6g}"


def parcel_names(result, n_parcels: int) -> dict[str, list[str]]:
    """The parcels' names and networks for the tables, where they are known: the synthetic
    dataset's (Schaefer-style, :func:`~sklearn_crossenc.data._networks.parcel_names`);
    none for other data (the release ships no label table beside its parcellation).

    Examples
    --------
    >>> from sklearn_crossenc.report._brain_maps import parcel_names
    >>> cols = parcel_names({"data": {"synthetic": True}}, 24)
    >>> list(cols), cols["name"][0], cols["network"][-1]
    (['name', 'network'], '7Networks_LH_Vis_1', 'Default')
    >>> parcel_names({"data": {"synthetic": False}}, 24)
    {}
    """
    if not (result.get("data") or {}).get("synthetic"):
        return {}
    from ..data._networks import parcel_names as synthetic_names

    names, networks = synthetic_names(n_parcels)
    return {"name": names, "network": networks}


def _write_table(path: Path, cols: dict[str, np.ndarray], names: dict | None = None) -> Path:
    n = len(next(iter(cols.values())))
    names = names or {}
    lines = ["\t".join(["label", *names, *cols])]
    for i in range(n):
        lines.append("\t".join([str(i + 1), *(v[i] for v in names.values()),
                                *(_format(c[i]) for c in cols.values())]))
    return atomic_write_text(path, "\n".join(lines) + "\n")


def write_parcel_files(result, out_dir, *, log: Callable[[str], None] | None = None) -> dict:
    """Write the per-parcel tables (TSV) and every brain map as NIfTI, atomically.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    out_dir : path-like
        Output folder.
    log : callable, optional
        Receives the one-line reason when the NIfTI images are skipped.

    Returns
    -------
    files : dict of str to Path
        ``"table: <set>"`` -> ``parcels_<set>.tsv`` (one per evaluation set with maps) and
        ``"nifti: <label> (<set>)"`` -> ``brain_<label>_<set key>.nii.gz`` (one per brain
        map of every evaluation set).
    """
    log = log or noop
    out_dir = Path(out_dir)
    written = {}
    for set_key in result["eval_sets"]:
        cols = parcel_columns(result, set_key)
        if cols:
            names = parcel_names(result, len(next(iter(cols.values()))))
            written[f"table: {set_key}"] = _write_table(out_dir / f"parcels_{set_key}.tsv", cols,
                                                        names)
    atlas = (result.get("config") or {}).get("atlas")
    maps = _maps(result)
    if atlas is None or not maps:
        return written
    try:
        import nibabel  # noqa: F401
    except ImportError:
        log("nibabel is not installed: NIfTI maps skipped (pip install 'sklearn-crossenc[plot]').")
        return written
    from ..evaluation import parcel_image

    for m in maps:
        path = out_dir / f"{m.stem}.nii.gz"
        img = parcel_image(m.values, atlas)
        img.header["descrip"] = nifti_description(m)
        with atomic_path(path, suffix=".nii.gz") as tmp:
            img.to_filename(str(tmp))
        written[f"nifti: {m.name}"] = path
    return written


def write_brain_maps(result, out_dir, *, log: Callable[[str], None] | None = None) -> dict:
    """Draw the comparison's brain maps into ``out_dir`` (PNG); their values are written
    by :func:`write_parcel_files`.

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
        ``"brain: <label> (<set>)"`` -> written PNG, every evaluation set's maps; empty when
        skipped.
    """
    log = log or noop
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

    maps = _maps(result)
    limits = shared_limits(maps)
    written = {}
    for m in maps:
        path = Path(out_dir) / f"{m.stem}.png"
        lo, hi = limits[m.kind]
        plot_parcel_map(m.values, atlas, path, significant=m.significant, title=m.title,
                        vmin=lo, vmax=hi, label=UNITS[m.kind],
                        cmap="inferno" if m.kind == "score" else "RdBu_r")
        written[f"brain: {m.name}"] = path
    return written

"""Writing every job's outputs: the output folder check, ``report.json`` and
``report.md`` of each job, and the comparison's per-parcel maps and figures.

Every job writes ``report.json`` (its result: the common top level of
:mod:`sklearn_crossenc.jobs._job`, then its own results, and ``outputs``: the files
written beside it) and ``report.md`` through :func:`write_job_files`. Every file is
written atomically (temporary file, then rename; see :mod:`sklearn_crossenc._io`), and a
folder inside the data folder is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_json, atomic_write_text
from ._brain_maps import write_brain_maps, write_parcel_files
from ._cv_results import grid_markdown, write_best_estimator, write_grid_results
from ._figures import write_figures
from ._html import write_report_html
from ._learning_curve import new_subject_markdown
from ._tables import report_markdown

__all__ = ["check_output_dir", "to_jsonable", "write_job_files", "write_report",
           "write_grid_report", "write_new_subject_report"]


def _is_inside(path: Path, folder: Path) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def check_output_dir(out, data_dir=None) -> Path:
    """Return ``out`` as a resolved path; refuse one inside (or equal to) ``data_dir``.

    Parameters
    ----------
    out : path-like
        Output folder (it need not exist).
    data_dir : path-like, optional
        The data folder, which is never written to.

    Returns
    -------
    out : Path

    Raises
    ------
    ValueError
        When ``out`` is ``data_dir`` or lies inside it, or is an existing file.

    Examples
    --------
    >>> from sklearn_crossenc.report import check_output_dir
    >>> check_output_dir("/tmp/crossenc-out", "/data/algonauts").name
    'crossenc-out'
    >>> check_output_dir("/data/algonauts/out", "/data/algonauts")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output folder /data/algonauts/out is inside the data folder /data/algonauts; ...
    """
    out = Path(out).expanduser().resolve()
    if data_dir is not None and _is_inside(out, Path(data_dir).expanduser()):
        data = Path(data_dir).expanduser().resolve()
        raise ValueError(
            f"output folder {out} is inside the data folder {data}; "
            "nothing is ever written into the data folder: choose another --out."
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a folder.")
    return out


def to_jsonable(obj):
    """Turn a result dict into plain JSON types (drops per-parcel maps and estimators).

    NumPy scalars become Python numbers, arrays become lists, paths strings, and NaN
    becomes ``None`` (JSON has no NaN). The keys ``"maps"`` and ``"estimators"`` of the
    top-level dict are left out: maps go to ``parcel_scores.npz``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.report import to_jsonable
    >>> to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "maps": {}, "c": float("nan")})
    {'a': 0.5, 'b': [0, 1], 'c': None}
    """
    if isinstance(obj, dict):
        return {
            str(k): to_jsonable(v) for k, v in obj.items() if k not in ("maps", "estimators")
        }
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return repr(obj)


def _flat_maps(maps: dict) -> dict:
    """``"<name>/<set>"`` (and ``"<a> - <b>/<set>/<field>"``) -> float32 array."""
    arrays = {}
    for name, by_set in maps.items():
        for set_key, m in by_set.items():
            if isinstance(m, dict):  # a paired comparison: difference and significance
                for field, v in m.items():
                    arrays[f"{name}/{set_key}/{field}"] = np.asarray(v)
            else:
                arrays[f"{name}/{set_key}"] = np.asarray(m, dtype=np.float32)
    return arrays


def _save_maps(result, path: Path) -> Path | None:
    arrays = _flat_maps(result.get("maps") or {})
    if not arrays:
        return None
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def write_job_files(result: dict, out_dir: Path, markdown: str, outputs: dict) -> dict:
    """Write ``report.json`` and ``report.md`` of a job into ``out_dir`` (atomically).

    ``outputs`` (kind -> path of a file already written beside them) is recorded in
    ``report.json`` under ``"outputs"`` by file name. Returns ``outputs`` with ``"json"``
    and ``"markdown"`` added.
    """
    doc = to_jsonable(result)
    doc["outputs"] = {k: Path(p).name for k, p in outputs.items()}
    paths = dict(outputs)
    paths["json"] = atomic_write_json(out_dir / "report.json", doc)
    paths["markdown"] = atomic_write_text(out_dir / "report.md", markdown)
    return paths


def _out(result: dict, out_dir) -> Path:
    out_dir = check_output_dir(out_dir, result.get("config", {}).get("data_dir"))
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def write_report(
    result,
    out_dir,
    *,
    figures: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Write a comparison's ``report.json``, ``report.md``, ``report.html``,
    ``parcel_scores.npz`` and figures into ``out_dir``.

    Every file is written atomically; ``out_dir`` is created if needed and refused when
    it lies inside the result's data folder.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    out_dir : path-like
        Output folder.
    figures : bool, default=True
        Whether to draw figures (needs matplotlib; skipped with a message otherwise).
    log : callable, optional
        Receives one-line messages.

    Returns
    -------
    paths : dict of str to Path
        ``"json"``, ``"markdown"``, ``"html"``, ``"maps"`` (when per-parcel maps exist),
        ``"table: <set>"`` (per-parcel TSV), ``"nifti: <label>"`` (each brain map as NIfTI,
        with nibabel and a parcellation) and one entry per figure kind.
    """
    out_dir = _out(result, out_dir)
    outputs = {}
    maps_path = _save_maps(result, out_dir / "parcel_scores.npz")
    if maps_path is not None:
        outputs["maps"] = maps_path
    files = write_parcel_files(result, out_dir, log=log)  # tables and NIfTI: no plotting
    fig_paths = {}
    if figures:
        fig_paths.update(write_figures(result, out_dir, log=log))
        fig_paths.update(write_brain_maps(result, out_dir, log=log))
    outputs.update(files)
    outputs.update(fig_paths)
    outputs["html"] = write_report_html(result, out_dir / "report.html", {**fig_paths, **files})
    markdown = report_markdown(result, fig_paths, files=files)
    return write_job_files(result, out_dir, markdown, outputs)


def write_grid_report(result, out_dir) -> dict:
    """Write a grid search's ``grid_results.csv``, ``best_estimator.joblib`` (with
    ``refit``), ``report.json`` and ``report.md`` into ``out_dir``, atomically.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.grid.run_grid_search`.
    out_dir : path-like

    Returns
    -------
    paths : dict of str to Path
        ``"csv"``, ``"json"``, ``"markdown"`` and ``"best_estimator"`` when refitted.
    """
    out_dir = _out(result, out_dir)
    outputs = {"csv": write_grid_results(result["cv_results"], out_dir, result["rank_column"])}
    if result.get("best_estimator") is not None:
        outputs["best_estimator"] = write_best_estimator(result["best_estimator"], out_dir)
    doc = {k: v for k, v in result.items() if k != "best_estimator"}
    return write_job_files(doc, out_dir, grid_markdown(result, outputs), outputs)


def write_new_subject_report(result, out_dir) -> dict:
    """Write the new-subject job's ``report.json`` and ``report.md`` into ``out_dir``.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.new_subject.run_new_subject`.
    out_dir : path-like

    Returns
    -------
    paths : dict of str to Path
        ``"json"`` and ``"markdown"``.
    """
    out_dir = _out(result, out_dir)
    return write_job_files(result, out_dir, new_subject_markdown(result), {})

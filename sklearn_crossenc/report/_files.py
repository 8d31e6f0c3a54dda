"""Writing every job's outputs: the output folder check, ``report.json`` and
``report.md`` of each job, and the comparison's per-parcel maps and figures.

Every job writes ``report.json`` (its result: the common top level of
:mod:`sklearn_crossenc.jobs._job`, then its own results, and ``outputs``: the files
written beside it) and ``report.md`` through :func:`write_job_files`.

A run's files are committed into the output folder as one set
(:mod:`sklearn_crossenc._output_set`): each writer writes its whole set into a private
folder beside the output folder and puts it in the folder's place at the end, so that the
folder holds the previous complete set or the new one, never a mix. The command line
opens the set before its job (:func:`open_output_set`: the lock, the disk space, the
folder's checks) and hands it to the writer; from Python, each writer opens its own.
Each run replaces the folder's previous set as a whole, so a folder holding anything
crossenc did not write is refused rather than emptied (:func:`check_replaceable`), and a
folder inside the data folder, or holding it, is refused.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_json, atomic_write_text
from .._output_set import OutputSet, output_set
from ..jobs.headroom import CEILING_FILE
from ._brain_maps import write_brain_maps, write_parcel_files
from ._compare_sections import report_markdown
from ._cv_results import grid_markdown, write_best_estimator, write_grid_results
from ._data_files import extract_markdown, write_extracted, write_predictions
from ._figures import write_figures
from ._html import write_report_html
from ._learning_curve import new_subject_markdown

__all__ = ["check_output_dir", "check_replaceable", "open_output_set", "to_jsonable",
           "write_job_files", "write_report", "write_grid_report", "write_new_subject_report",
           "write_extract_report"]

#: Result keys that are not written into ``report.json`` (files of their own, or none).
_NOT_JSON = ("maps", "estimators", "predictions", "series")
#: The files every job writes; the others of a set are listed in its ``report.json``.
REPORT_FILES = ("report.json", "report.md")


def _is_inside(path: Path, folder: Path) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def check_output_dir(out, data_dir=None) -> Path:
    """Return ``out`` as a resolved path; refuse one inside, equal to or holding ``data_dir``.

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
        When ``out`` is ``data_dir``, lies inside it or holds it (each run replaces its
        output folder as a whole), is the current folder, or is an existing file.

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
    if (data_dir is not None and Path(data_dir).expanduser().exists()
            and _is_inside(Path(data_dir).expanduser(), out)):
        data = Path(data_dir).expanduser().resolve()
        raise ValueError(
            f"output folder {out} holds the data folder {data}; each run replaces its output "
            "folder as a whole: choose another --out."
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"output path {out} exists and is not a folder.")
    if out == Path.cwd().resolve():
        raise ValueError(
            f"output folder {out} is the current folder; each run replaces its output folder "
            "as a whole: give a folder inside it, e.g. --out crossenc-out.")
    return out


def _report(out: Path) -> dict | None:
    """The crossenc ``report.json`` in ``out`` as a dict (else None)."""
    try:
        doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "schema_version" in doc else None


def _listed_outputs(out: Path) -> set[str]:
    """The file names a crossenc ``report.json`` in ``out`` lists as its set (else none)."""
    doc = _report(out)
    if doc is None or not isinstance(doc.get("outputs"), dict):
        return set()
    names = {n for n in doc["outputs"].values() if isinstance(n, str)}
    return {n for n in names if n == Path(n).name and n not in ("", ".", "..")} | set(
        REPORT_FILES)


def _check_same_job(out: Path, job: str) -> None:
    """Refuse to replace a set another job (command) wrote."""
    doc = _report(out)
    other = None if doc is None else doc.get("job")
    if isinstance(other, str) and other != job:
        when = doc.get("created_utc")
        raise ValueError(
            f"output folder {out} holds the outputs of another command, crossenc {other}"
            f"{f' (written {when})' if isinstance(when, str) else ''}; a crossenc {job} run "
            "would replace them as a whole: choose another --out, or delete the folder first "
            "to replace them on purpose.")


def check_replaceable(out, job: str | None = None) -> None:
    """Refuse an output folder holding anything crossenc did not write, or (``job`` given)
    a set another job wrote.

    Each run replaces the folder's previous set of files as a whole. A folder that is
    missing or empty may be used; so may one holding exactly a set crossenc wrote: its
    ``report.json`` and ``report.md`` and the files its ``report.json`` lists under
    ``"outputs"``. Anything else (a file of the user's, a subfolder, a set of an older
    release without that list) is never deleted: the folder is refused.

    Raises
    ------
    ValueError
        Naming the folder and the first entries crossenc did not write, or the job that
        wrote its set and how to replace it on purpose.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sklearn_crossenc.report import check_replaceable
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> check_replaceable(out)  # empty: fine
    >>> _ = (out / "notes.txt").write_text("mine")
    >>> check_replaceable(out)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output folder ... holds 1 entry crossenc did not write (notes.txt); ...
    """
    out = Path(out)
    if not out.is_dir():
        return
    entries = {p.name: p for p in out.iterdir()}
    ours = _listed_outputs(out) if entries else set()
    foreign = sorted(n for n, p in entries.items()
                     if n not in ours or p.is_symlink() or not p.is_file())
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ValueError(
            f"output folder {out} holds {len(foreign)} "
            f"{'entry' if len(foreign) == 1 else 'entries'} crossenc did not write "
            f"({shown}); each run replaces the folder's files as a whole, and crossenc never "
            "deletes files it did not write: move them away, or choose a new or empty --out.")
    if job is not None and entries:
        _check_same_job(out, job)


@contextlib.contextmanager
def open_output_set(out, data_dir=None, *, owner: str = "", reserve: int = 0,
                    job: str | None = None):
    """Open the set of files a run will commit into ``out`` (see :mod:`~sklearn_crossenc.
    _output_set`), after :func:`check_output_dir` and, under the folder's lock,
    :func:`check_replaceable` (a set written by another ``job`` than this one is
    refused). Yields the :class:`~sklearn_crossenc._output_set.OutputSet` (hand it to a
    writer as its ``out_dir``); commits it when the block ends normally.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sklearn_crossenc.report import open_output_set, write_new_subject_report
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with open_output_set(out, reserve=1 << 20) as outset:
    ...     pass  # a job runs here; the writer then writes into outset
    >>> out.exists()  # nothing was written: an empty set is committed
    True
    """
    out = check_output_dir(out, data_dir)
    check = functools.partial(check_replaceable, job=job)
    with output_set(out, owner=owner, reserve=reserve, check=check) as outset:
        yield outset


def to_jsonable(obj):
    """Turn a result dict into plain JSON types (drops per-parcel maps, estimators and
    predictions).

    NumPy scalars become Python numbers, arrays become lists, paths strings, and NaN
    becomes ``None`` (JSON has no NaN). The keys ``"maps"``, ``"estimators"`` and
    ``"predictions"`` are left out: maps go to ``parcel_scores.npz``, the ceiling's
    predictions to ``ceiling_predictions.h5``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.report import to_jsonable
    >>> to_jsonable({"a": np.float32(0.5), "b": np.arange(2), "maps": {}, "c": float("nan")})
    {'a': 0.5, 'b': [0, 1], 'c': None}
    """
    if isinstance(obj, dict):
        return {
            str(k): to_jsonable(v) for k, v in obj.items() if k not in _NOT_JSON
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
    """Write ``report.json`` and ``report.md`` of a job into the folder ``out_dir``
    (atomically; the writers call it on the private folder of their set).

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


@contextlib.contextmanager
def _writing(result: dict, out_dir, paths: dict):
    """Yield the folder to write a job's files into: an open set's private folder (the
    command line commits it), or that of a set opened and committed here. ``paths`` (kind
    -> written file) is turned into the files' paths in the output folder."""
    if isinstance(out_dir, OutputSet):
        yield out_dir.folder()
        final = out_dir.path
    else:
        with open_output_set(out_dir, (result.get("config") or {}).get("data_dir"),
                             job=result.get("job")) as outset:
            yield outset.folder()
        final = outset.path
    for kind, p in paths.items():
        paths[kind] = final / Path(p).name


def write_report(
    result,
    out_dir,
    *,
    figures: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Write a comparison's ``report.json``, ``report.md``, ``report.html``,
    ``parcel_scores.npz`` and figures into ``out_dir``.

    The files are committed into ``out_dir`` as one set (see the module's notes):
    ``out_dir`` is created if needed, refused when it lies inside the result's data folder
    or holds files crossenc did not write, and keeps its previous set if writing fails.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    out_dir : path-like or OutputSet
        Output folder, or a set opened by :func:`open_output_set` (committed by its owner).
    figures : bool, default=True
        Whether to draw figures (needs matplotlib; skipped with a message otherwise).
    log : callable, optional
        Receives one-line messages.

    Returns
    -------
    paths : dict of str to Path
        ``"json"``, ``"markdown"``, ``"html"``, ``"maps"`` (when per-parcel maps exist),
        ``"table: <set>"`` (per-parcel TSV), ``"nifti: <label>"`` (each brain map as NIfTI,
        with nibabel and a parcellation), ``"ceiling_predictions"`` (the ceiling's
        evaluation predictions, when the encoder was fitted once: ``headroom --ceiling``
        reads them) and one entry per figure kind.
    """
    paths: dict = {}
    with _writing(result, out_dir, paths) as folder:
        outputs = {}
        maps_path = _save_maps(result, folder / "parcel_scores.npz")
        if maps_path is not None:
            outputs["maps"] = maps_path
        files = write_parcel_files(result, folder, log=log)  # tables and NIfTI: no plotting
        fig_paths = {}
        if figures:
            fig_paths.update(write_figures(result, folder, log=log))
            fig_paths.update(write_brain_maps(result, folder, log=log))
        outputs.update(files)
        outputs.update(fig_paths)
        if result.get("predictions"):
            outputs["ceiling_predictions"] = write_predictions(
                result["predictions"]["runs"], folder / CEILING_FILE)
        outputs["html"] = write_report_html(result, folder / "report.html",
                                            {**fig_paths, **files})
        markdown = report_markdown(result, fig_paths, files=files)
        paths.update(write_job_files(result, folder, markdown, outputs))
    return paths


def write_grid_report(result, out_dir) -> dict:
    """Write a grid search's ``grid_results.csv``, ``best_estimator.joblib`` (with
    ``refit``), ``report.json`` and ``report.md`` into ``out_dir``, as one set.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.grid.run_grid_search`.
    out_dir : path-like or OutputSet
        As for :func:`write_report`.

    Returns
    -------
    paths : dict of str to Path
        ``"csv"``, ``"json"``, ``"markdown"`` and ``"best_estimator"`` when refitted.
    """
    paths: dict = {}
    with _writing(result, out_dir, paths) as folder:
        outputs = {"csv": write_grid_results(result["cv_results"], folder,
                                             result["rank_column"])}
        if result.get("best_estimator") is not None:
            outputs["best_estimator"] = write_best_estimator(result["best_estimator"], folder)
        doc = {k: v for k, v in result.items() if k != "best_estimator"}
        paths.update(write_job_files(doc, folder, grid_markdown(result, outputs), outputs))
    return paths


def write_new_subject_report(result, out_dir) -> dict:
    """Write the new-subject job's ``report.json`` and ``report.md`` into ``out_dir``,
    as one set.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.new_subject.run_new_subject`.
    out_dir : path-like or OutputSet
        As for :func:`write_report`.

    Returns
    -------
    paths : dict of str to Path
        ``"json"`` and ``"markdown"``.
    """
    paths: dict = {}
    with _writing(result, out_dir, paths) as folder:
        paths.update(write_job_files(result, folder, new_subject_markdown(result), {}))
    return paths


def write_extract_report(result, out_dir) -> dict:
    """Write what ``crossenc extract`` made into ``out_dir``, as one set: ``sub-<label>.h5``
    (one ``(time, parcels)`` float32 dataset per run), ``dataset.toml``, ``report.json``
    and ``report.md``.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.extract.run_extract`.
    out_dir : path-like or OutputSet
        As for :func:`write_report`; never inside the derivatives folder.

    Returns
    -------
    paths : dict of str to Path
    """
    paths: dict = {}
    with _writing({**result, "config": {"data_dir": result["config"]["derivatives"]}},
                  out_dir, paths) as folder:
        outputs = write_extracted(result, folder)
        paths.update(write_job_files(result, folder, extract_markdown(result), outputs))
    return paths

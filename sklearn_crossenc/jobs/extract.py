"""The extract job: fMRIPrep outputs and an atlas to parcel time series and a dataset.

:func:`run_extract` runs :func:`~sklearn_crossenc.data._extract.extract_parcels` and
returns the job's result (the common top level of every job, then what was extracted);
:func:`~sklearn_crossenc.report.write_extract_report` writes ``sub-<label>.h5`` per
subject, ``dataset.toml``, ``report.json`` and ``report.md`` as one set.
"""

from __future__ import annotations

from collections.abc import Callable

from ..data._extract import extract_parcels
from ._job import JobStart, noop

__all__ = ["run_extract"]


def run_extract(derivatives, atlas, task: str, *, confounds: str = "none", space=None,
                tr: float | None = None, name: str | None = None,
                log: Callable[[str], None] | None = None) -> dict:
    """Extract parcel time series of every run of ``task`` (see ``extract_parcels``).

    Returns
    -------
    result : dict
        The common top level (``job: "extract"``), then ``subjects`` (label -> file name),
        ``runs``, ``lengths`` (subject -> run -> TRs), ``n_parcels``, ``labels``, ``tr``,
        ``extraction`` and ``series`` (the arrays; not in ``report.json``).
    """
    log = log or noop
    start = JobStart("extract")
    got = extract_parcels(derivatives, atlas, task, confounds=confounds, space=space, tr=tr,
                          log=log)
    series = got["series"]
    config = {"derivatives": got["extraction"]["derivatives"], "atlas": str(atlas),
              "task": task, "confounds": confounds, "space": space, "tr": tr,
              "name": name or task}
    return start.result(
        config, {}, subjects={s: f"sub-{s}.h5" for s in series}, runs=got["runs"],
        lengths={s: {k: int(v.shape[0]) for k, v in by.items()} for s, by in series.items()},
        n_parcels=len(got["labels"]), labels=got["labels"], tr=got["tr"],
        extraction=got["extraction"], series=series)

"""What every job shares: its start, its log, its data folder and its result's top level.

Every job (:mod:`~sklearn_crossenc.jobs.compare`, :mod:`~sklearn_crossenc.jobs.grid`,
:mod:`~sklearn_crossenc.jobs.new_subject`) returns a dict that starts with the same keys,
made by :meth:`JobStart.result`::

    schema_version, job, created_utc, config, environment, timings, <the job's own results>

so that ``report.json`` of every command has one top level that a reader can rely on.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from .._environment import environment_info, load_average
from .._log import noop

__all__ = ["SCHEMA_VERSION", "COMMON_KEYS", "JobStart", "noop", "data_root"]

#: Version of the result's layout (3: one top level for every job).
SCHEMA_VERSION = 3
#: The keys every job's result begins with, in this order.
COMMON_KEYS = ("schema_version", "job", "created_utc", "config", "environment", "timings")


class JobStart:
    """A job's start: its clock, the wall-clock time and the machine's load at that moment.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._job import COMMON_KEYS, JobStart
    >>> start = JobStart("demo")
    >>> result = start.result({"option": 1}, {"load_s": 0.0}, answer=42)
    >>> tuple(result)[:len(COMMON_KEYS)] == COMMON_KEYS, result["answer"]
    (True, 42)
    >>> sorted(result["timings"])
    ['load_s', 'total_s']
    """

    def __init__(self, job: str):
        self.job = job
        self.created_utc = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.load_at_start = load_average()
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def result(self, config: dict, timings: dict, *, device: str = "cpu", **results) -> dict:
        """The job's result: the common top level, then ``results`` in the order given."""
        return {
            "schema_version": SCHEMA_VERSION,
            "job": self.job,
            "created_utc": self.created_utc,
            "config": config,
            "environment": environment_info(device, load_at_start=self.load_at_start),
            "timings": {**timings, "total_s": self.elapsed()},
            **results,
        }


def data_root(data_dir, *, progress: bool = False, log=noop) -> Path:
    """The data folder: ``data_dir`` (it must exist), or the default synthetic dataset,
    generated once into the cache folder."""
    from ..data import ensure_default_dataset

    if data_dir is None:
        return ensure_default_dataset(progress=progress, log=log).resolve()
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} does not exist or is not a folder.")
    return root.resolve()

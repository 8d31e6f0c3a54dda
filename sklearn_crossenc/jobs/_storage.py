"""Where a job holds its runs: in memory, or streamed from disk when they would not fit.

Decided before the runs are read (:func:`plan_storage`), from their lengths: a job holds
the runs in memory when they, the copy of the training runs a model keeps (the encoder's
standardised copy) and the predictions of the evaluation runs the job keeps (one set per
model) take at most :data:`STREAM_SHARE` of the memory available; beyond, the runs are
read once into a scratch file in the system's temporary folder (``TMPDIR``;
:class:`~sklearn_crossenc.data._run_store.RunStore`) and the models read them from there;
the encoder's copy and the kept predictions go to disk too. The numbers are the same
either way.
``stream=True`` streams whatever the size, ``stream=False`` never (and refuses runs
larger than the memory available).

Refused before any work: streaming with a Dask scheduler (every worker would receive the
runs in its memory), and a temporary folder without the disk space for the runs.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass

__all__ = ["STREAM_SHARE", "Storage", "plan_storage", "check_stream"]

#: Runs (and a model's copy of its training runs) beyond this share of the memory
#: available are streamed from disk: the rest is left to the models' own work (maps,
#: predictions, statistics, the encoder's weights) and to the machine's other users.
STREAM_SHARE = 0.5


@dataclass(frozen=True)
class Storage:
    """A job's decision: ``stream`` (runs on disk) or not, the bytes of its runs, of a
    model's copy of its training runs and of the predictions the job keeps, the sentence
    that says why, and the run lengths it was decided from (set key -> run key -> time
    points)."""

    stream: bool
    run_bytes: int
    copy_bytes: int
    reason: str
    lengths: dict
    kept_bytes: int = 0

    def store(self):
        """The context the runs are read into: a new
        :class:`~sklearn_crossenc.data._run_store.RunStore` (removed at its end), or
        ``None`` (memory)."""
        if not self.stream:
            return contextlib.nullcontext()
        from ..data._run_store import RunStore

        return RunStore(self.run_bytes)

    def describe(self) -> dict:
        """As reported in a job's configuration."""
        return {"stream": self.stream, "run_mib": round(self.run_bytes / 2**20, 1),
                "reason": self.reason}


def check_stream(stream) -> bool | None:
    """``stream`` checked: None (decide from the memory available), True or False."""
    if stream is not None and not isinstance(stream, bool):
        raise ValueError(f"stream must be None (decide from the memory available), True or "
                         f"False; got {stream!r}.")
    return stream


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def plan_storage(lengths: dict, n_subjects: int, n_parcels: int, *, stream=None,
                 scheduler=None, copied: str | None = None, predicted=(),
                 n_kept: int = 0) -> Storage:
    """Whether a job's runs are held in memory or streamed from disk, before any is read.

    Parameters
    ----------
    lengths : dict
        Set key -> run key -> time points (each run's shortest subject).
    n_subjects, n_parcels : int
    stream : bool or None
        None: stream when the runs (and the copy) take more than :data:`STREAM_SHARE` of
        the memory available; True: always; False: never.
    scheduler : str, optional
        A Dask scheduler's address: its workers receive the runs in memory, so streaming
        is refused.
    copied : str, optional
        The set whose runs a model copies (the encoder's standardised training runs).
    predicted : sequence of str, optional
        The sets whose predictions the job keeps, ``n_kept`` of each (one per model fit):
        in memory, or on disk with streamed runs.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._storage import plan_storage
    >>> lengths = {"train": {"a": 100, "b": 100}, "test": {"c": 50}}
    >>> plan = plan_storage(lengths, 4, 10, stream=True, copied="train")
    >>> plan.stream, plan.run_bytes, plan.copy_bytes
    (True, 40000, 32000)
    >>> plan_storage(lengths, 4, 10, stream=False).stream
    False
    """
    from ..data._run_store import scratch_folder
    from ..encoder._memory import available_memory

    stream = check_stream(stream)
    per_time = 4 * n_subjects * n_parcels  # float32 bytes of one time point of every subject
    n_times = sum(sum(runs.values()) for runs in lengths.values())
    run_bytes = per_time * n_times
    copy_bytes = 0 if copied is None else per_time * sum(lengths[copied].values())
    kept_bytes = n_kept * per_time * sum(sum(lengths[k].values()) for k in predicted)
    shape = f"{n_subjects} subjects x {n_times} TRs x {n_parcels} parcels, float32"
    available = available_memory()
    need = run_bytes + copy_bytes + kept_bytes
    if stream is None:
        stream = available is not None and need > STREAM_SHARE * available
        if not stream:
            return Storage(False, run_bytes, copy_bytes, f"in memory: the runs take "
                           f"{_mib(run_bytes)} ({shape})" + (
                               "" if available is None else f", {_mib(available)} available"),
                           lengths, kept_bytes)
        extra = copy_bytes + kept_bytes
        why = (f"streamed from disk: the runs take {_mib(run_bytes)} ({shape})"
               + (f" and the models' copies and predictions {_mib(extra)}" if extra else "")
               + f", more than {STREAM_SHARE:.0%} of the {_mib(available)} available")
    elif stream:
        why = f"streamed from disk (stream=True): the runs take {_mib(run_bytes)} ({shape})"
    else:
        if available is not None and run_bytes > available:
            raise ValueError(
                f"the runs take {_mib(run_bytes)} in memory ({shape}) and {_mib(available)} "
                "are available: leave stream to its default (the runs are then streamed "
                "from disk), or use fewer subjects or runs.")
        return Storage(False, run_bytes, copy_bytes,
                       f"in memory (stream=False): the runs take {_mib(run_bytes)} ({shape})",
                       lengths, kept_bytes)
    if scheduler is not None:
        raise ValueError(
            f"the runs would be streamed from disk ({why.split(': ', 1)[1]}), and a Dask "
            f"cluster ({scheduler}) receives every run in each worker's memory: run "
            "without --scheduler (local processes read the scratch file), or with fewer "
            "subjects or runs.")
    folder = scratch_folder()
    free = shutil.disk_usage(folder).free
    if need > free:
        raise ValueError(
            f"the runs would be streamed from disk ({_mib(need)} with the models' copies and "
            f"predictions) into the temporary folder {folder}, which has {_mib(free)} "
            "free: point TMPDIR at a disk with more space.")
    return Storage(True, run_bytes, copy_bytes, f"{why}; scratch files in {folder}", lengths,
                   kept_bytes)

"""Runs held on disk instead of in memory: float32 arrays in a scratch file, memory-mapped.

A job whose runs would not fit in memory reads each run once from its HDF5 files into a
:class:`RunStore` (one run of one subject in memory at a time) and hands the models
memory-mapped views: numpy arrays whose pages the operating system reads from the
scratch file as they are used and drops again under memory pressure. Nothing else
changes: the views are ``(S, T, C)`` float32 arrays like the in-memory ones, so every
number is the same (``tests/test_streaming.py``), and joblib's worker processes reopen
them by name instead of receiving copies.

A named store lives in a private folder ``crossenc-runs-<host>-<pid>-<random>`` of the
system's temporary folder (``TMPDIR``), never in the data folder; the folder is removed
when the store closes (the end of the job, an error, Ctrl-C or SIGTERM), and the next
store removes the folders of processes of this host that no longer run (after
``kill -9``). An anonymous store (``named=False``: the encoder's standardised copy of
streamed runs) has no name at all: its space returns to the disk when the last view is
gone, whatever ends the process.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["RunStore", "empty_run", "on_disk", "store_like", "scratch_folder",
           "remove_stale_stores", "stored_like", "STORE_PREFIX"]

#: The name of a named store's folder starts with this.
STORE_PREFIX = "crossenc-runs-"
_ALIGN = 64  # bytes: every array starts on a cache line


def scratch_folder() -> Path:
    """Where stores are made: the system's temporary folder (``TMPDIR``)."""
    return Path(tempfile.gettempdir())


def on_disk(x) -> bool:
    """Whether an array's memory is a mapped file (a view of a :class:`RunStore`, or of any
    ``numpy.memmap``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.data._run_store import RunStore, on_disk
    >>> with RunStore(4 * 6, named=False) as store:
    ...     x = store.empty((1, 2, 3))
    ...     on_disk(x), on_disk(np.zeros(3)), on_disk(x[0, :1])
    (True, False, True)
    """
    while x is not None:
        if isinstance(x, (np.memmap, mmap.mmap)):
            return True
        x = x.obj if isinstance(x, memoryview) else getattr(x, "base", None)
    return False


def empty_run(shape, store=None) -> np.ndarray:
    """A new float32 array: in memory, or in ``store`` (a :class:`RunStore`) on disk."""
    return np.empty(shape, np.float32) if store is None else store.empty(shape)


def store_like(arrays) -> RunStore | None:
    """An anonymous :class:`RunStore` with room for float32 copies of ``arrays`` when any
    of them is on disk (streamed runs: what is made from them stays on disk too), else
    None (memory)."""
    if not any(on_disk(a) for a in arrays):
        return None
    return RunStore(sum(4 * int(np.prod(a.shape)) + _ALIGN for a in arrays), named=False)


def stored_like(like, arrays) -> list:
    """``arrays`` as they are, or copied to disk (an anonymous store) when ``like`` (a list
    of arrays) is on disk: what a job keeps of streamed runs stays off its memory."""
    if not any(on_disk(a) for a in like):
        return list(arrays)
    store = RunStore(sum(a.nbytes + _ALIGN for a in arrays), named=False)
    out = []
    for a in arrays:
        out.append(store.empty(a.shape, a.dtype))  # the same values, bit for bit
        out[-1][...] = a
    return out


def _host() -> str:
    return socket.gethostname().replace("-", "_") or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def remove_stale_stores(folder=None) -> list[Path]:
    """Remove the store folders of processes of this host that no longer run (a job killed
    with ``kill -9`` could not remove its own); the removed folders."""
    folder = scratch_folder() if folder is None else Path(folder)
    prefix = f"{STORE_PREFIX}{_host()}-"
    removed = []
    with contextlib.suppress(OSError):
        for path in folder.glob(prefix + "*"):
            pid = path.name[len(prefix):].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


class RunStore:
    """Arrays (float32 unless asked otherwise) allocated in a scratch file on disk and
    memory-mapped.

    Parameters
    ----------
    nbytes : int
        The space to reserve (the runs' total, known before they are read); a request
        beyond it opens a further file of the size asked.
    folder : str or Path, optional
        Where the store is made (default: :func:`scratch_folder`).
    named : bool, default=True
        A named file in a private folder, which joblib's worker processes reopen by name
        (removed on :meth:`close`); or an anonymous file (no name: nothing to remove,
        for arrays that stay in this process).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.data._run_store import RunStore
    >>> with RunStore(4 * 2 * 3 * 5 + 64) as store:
    ...     x = store.empty((2, 3, 5))  # (S, T, C)
    ...     x[:] = 1.5
    ...     float(x.sum()), x.dtype, store.path.exists()
    (45.0, dtype('float32'), True)
    >>> store.path.exists()
    False
    """

    def __init__(self, nbytes: int, folder=None, *, named: bool = True):
        if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
            raise ValueError(f"nbytes must be an integer >= 0; got {nbytes!r}.")
        self.folder = scratch_folder() if folder is None else Path(folder)
        self.named = bool(named)
        self.path: Path | None = None
        self._segments: list[tuple[np.ndarray, int]] = []  # (mapping, bytes used)
        if self.named:
            remove_stale_stores(self.folder)
            self.path = Path(tempfile.mkdtemp(
                prefix=f"{STORE_PREFIX}{_host()}-{os.getpid()}-", dir=self.folder))
        self._grow(int(nbytes))

    def _grow(self, nbytes: int) -> None:
        nbytes = max(-(-int(nbytes) // _ALIGN) * _ALIGN, 2 * _ALIGN)
        if self.named:
            target = self.path / f"runs-{len(self._segments)}.bin"
            # Rows of 64 bytes, not one row: joblib up to 1.4 rebuilds a view of a 1-D
            # memmap in a worker in Fortran order (a 1-D array is F-contiguous too), which
            # scrambled every (S, T, C) run; the views are slices of the flat array.
            mapping = np.memmap(target, np.uint8, mode="w+", shape=(nbytes // _ALIGN, _ALIGN))
            mapping = mapping.reshape(-1)
        else:  # no name, gone with the map; a plain array over the map, so that joblib
            # pickles it as an array instead of reopening a file by name
            with tempfile.TemporaryFile(dir=self.folder) as f:
                f.truncate(nbytes)
                mapping = np.frombuffer(mmap.mmap(f.fileno(), nbytes), np.uint8)
        self._segments.append((mapping, 0))

    @property
    def nbytes(self) -> int:
        """Bytes reserved on disk."""
        return sum(m.size for m, _ in self._segments)

    def empty(self, shape, dtype=np.float32) -> np.ndarray:
        """A new array of ``shape`` and ``dtype`` (float32 by default) on disk, its values
        undefined until written."""
        dtype = np.dtype(dtype)
        n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        mapping, used = self._segments[-1]
        start = -(-used // _ALIGN) * _ALIGN
        if start + n > mapping.size:
            self._grow(n)
            mapping, start = self._segments[-1][0], 0
        self._segments[-1] = (mapping, start + n)
        return mapping[start:start + n].view(dtype).reshape(shape)

    def close(self) -> None:
        """Remove the store's files. Arrays still referenced stay readable (the mapping
        outlives the name) until they are dropped."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        self._segments = []

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path if self.named else f"anonymous in {self.folder}"
        return f"RunStore({self.nbytes / 2**20:.1f} MiB, {where})"

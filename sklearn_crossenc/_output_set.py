"""A command's output files committed as one set into its output folder.

A run writes its whole set into a private folder beside the output folder ``OUT`` and
puts it in ``OUT``'s place in one step at the end, so that ``OUT`` holds either the
previous complete set or the new complete set, never a mix; a lock refuses a second run
on the same ``OUT``. Beside ``OUT`` (in its parent), while a run runs:

- ``.OUT.crossenc-lock``: the lock file (an ``fcntl`` lock, released by the kernel when
  the process ends however it ends; it names the run holding it), removed at the end;
- ``.OUT.crossenc-new-XXXXXXXX``: the private folder the run writes its set into;
- ``.OUT.crossenc-old-XXXXXXXX``: the previous set while it is moved (portable path only).

The new folder takes ``OUT``'s place by ``renameat2(RENAME_EXCHANGE)`` on Linux (one
atomic swap of two folders); elsewhere, or on a file system that cannot swap, by two
renames that are undone on failure, and that the next run on ``OUT`` recovers from when
the process was killed between them. Any failure before that step (an exception, a
signal, a full disk) leaves ``OUT`` as it was and removes the private folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from ._interrupt import check_interrupted, shielded
from ._io import current_umask

try:
    import fcntl
except ImportError:  # not a POSIX system: output folders are not locked
    fcntl = None

__all__ = ["OutputSet", "OutputFolderInUse", "output_set", "lock_path"]

_SIBLING = re.compile(r"^\.(?P<out>.+)\.crossenc-(?P<kind>new|old)-(?P<token>[a-z0-9_]{8})$")
_RESERVE = ".crossenc-reserve"
_MB = 1 << 20


class OutputFolderInUse(OSError):
    """Another run holds the lock of the output folder."""


def _sibling(out: Path, kind: str, token: str = "") -> Path:
    return out.parent / f".{out.name}.crossenc-{kind}{token}"


def lock_path(out) -> Path:
    """The lock file of the output folder ``out``: ``.OUT.crossenc-lock`` beside it.

    Examples
    --------
    >>> from sklearn_crossenc._output_set import lock_path
    >>> lock_path("/tmp/runs/out").as_posix()
    '/tmp/runs/.out.crossenc-lock'
    """
    return _sibling(Path(out), "lock")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the file system cannot, so that the caller takes the portable path."""
    if not _EXCHANGE["enabled"] or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # no libc symbol (glibc < 2.28, musl)
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


#: ``enabled=False`` forces the portable path (tests).
_EXCHANGE = {"enabled": True}


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every system can)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _allocate(fd: int, nbytes: int) -> None:
    """Give the open file ``nbytes`` of real disk blocks (ENOSPC if there are not)."""
    try:
        os.posix_fallocate(fd, 0, nbytes)
        return
    except AttributeError:  # not on this system: write zeros
        pass
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    chunk = bytes(min(nbytes, _MB))
    left = nbytes
    while left > 0:
        left -= os.write(fd, chunk[:left])


def _mb(nbytes: int) -> str:
    return f"{nbytes / _MB:.1f} MB"


def _take_lock(path: Path, out: Path, owner: str) -> int | None:
    """Lock ``path`` (created if needed) and write who holds it; refuse when another
    process holds it. The kernel releases the lock when the process ends, however."""
    if fcntl is None:
        return None
    for _ in range(20):  # the holder may remove the file between our open and our lock
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputFolderInUse(
                f"output folder {out} is in use by another crossenc run ({holder}); wait for "
                "it to end or choose another --out.") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            with contextlib.suppress(OSError):  # a full disk: the lock holds all the same
                os.ftruncate(fd, 0)
                started = time.strftime("%Y-%m-%d %H:%M:%S")
                os.pwrite(fd, f"pid {os.getpid()}: {owner}, since {started}\n".encode(), 0)
            return fd
        os.close(fd)
    raise OSError(f"cannot lock output folder {out}: {path} keeps being replaced.")


def _release_lock(fd: int | None, path: Path) -> None:
    if fd is None:
        return
    with contextlib.suppress(OSError):
        if os.path.samestat(os.fstat(fd), os.stat(path)):
            os.unlink(path)  # while still held: a waiting run then makes a new one
    os.close(fd)


def _recover(out: Path) -> None:
    """Clear what an earlier run of ``out`` left when it was killed (under the lock):
    a folder it was writing is removed; a previous set moved aside by the portable path
    goes back to ``out`` when ``out`` is missing, else is removed."""
    mine = []
    for p in out.parent.iterdir():
        m = _SIBLING.match(p.name)
        if m and m["out"] == out.name and p.is_dir() and not p.is_symlink():
            mine.append((m["kind"], p))
    olds = sorted((p for kind, p in mine if kind == "old"), key=lambda p: p.stat().st_mtime)
    if olds and not os.path.lexists(out):
        os.rename(olds.pop(), out)
    for p in [p for kind, p in mine if kind == "new"] + olds:
        _remove(p)


def _remove(folder: Path) -> None:
    """Remove a set's folder (one left read-only by its user too)."""
    with contextlib.suppress(OSError):
        os.chmod(folder, stat.S_IRWXU)
    shutil.rmtree(folder, ignore_errors=True)


class OutputSet:
    """The set of files one run writes into the output folder ``out``, committed as one.

    Made by :func:`output_set`. While the run works, ``out`` keeps the previous set
    untouched; the writers write into :meth:`folder`, a private folder beside ``out``;
    :meth:`commit` puts the new set in ``out``'s place in one step and removes the previous
    one. A second run on the same ``out`` is refused while this one holds its lock.

    Attributes
    ----------
    path : Path
        The output folder.
    committed : bool
        Whether the new set is in place.
    """

    def __init__(self, out, *, owner: str = ""):
        self.path = Path(out)
        self.owner = owner or f"python {' '.join(sys.argv[:1])}"
        self.committed = False
        self._staging: Path | None = None
        self._lock_fd: int | None = None
        self._created: list[Path] = []  # parent folders made here, outermost first
        self._mode = 0o777 & ~current_umask()

    def open(self, *, reserve: int = 0, check=None) -> OutputSet:
        """Take the lock, clear what a killed run left, check the folder, make the
        private folder and hold ``reserve`` bytes of disk space in it."""
        out = self.path
        if os.path.lexists(out) and not out.is_dir():
            raise ValueError(f"output path {out} exists and is not a folder.")
        try:
            self._make_parents()
            self._lock_fd = _take_lock(_sibling(out, "lock"), out, self.owner)
            _recover(out)
            if out.is_dir():
                if os.path.ismount(out) or os.stat(out).st_dev != os.stat(out.parent).st_dev:
                    raise ValueError(
                        f"output folder {out} is a mount point; each run moves a new folder "
                        f"into its place: give a folder inside it, e.g. {out / 'crossenc-out'}.")
                self._mode = stat.S_IMODE(os.stat(out).st_mode) | stat.S_IRWXU
            if check is not None:
                check(out)
            self._staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.crossenc-new-",
                                                  dir=out.parent))
        except OutputFolderInUse:
            raise
        except OSError as err:
            raise OSError(f"output folder {out} cannot be created or written to: "
                          f"{err.strerror or err}") from None
        self._reserve(int(reserve))
        return self

    def _make_parents(self) -> None:
        missing, p = [], self.path.parent
        while not os.path.lexists(p):
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            try:
                os.mkdir(p)
            except FileExistsError:
                continue
            self._created.append(p)

    def _reserve(self, nbytes: int) -> None:
        """Hold ``nbytes`` of real disk blocks until the writers start (:meth:`folder`)."""
        if nbytes <= 0 or not hasattr(os, "statvfs"):
            return
        st = os.statvfs(self._staging)
        free = st.f_bavail * st.f_frsize

        def full(free_now):
            return OSError(
                f"not enough free space for the outputs of this run: about {_mb(nbytes)} "
                f"needed beside {self.path}, {_mb(free_now)} free; free some space or "
                "choose another --out.")

        if free < nbytes:
            raise full(free)
        fd = os.open(self._staging / _RESERVE, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | os.O_CLOEXEC, 0o600)
        try:
            _allocate(fd, nbytes)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise full(free) from None
            raise
        finally:
            os.close(fd)

    def folder(self) -> Path:
        """The private folder to write the set into; the space held for it is freed."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._staging / _RESERVE)
        return self._staging

    def commit(self) -> None:
        """Put the new set in ``out``'s place in one step, then remove the previous set."""
        out, new = self.path, self.folder()
        os.chmod(new, self._mode)
        check_interrupted()  # a signal some library swallowed: the previous set stays
        with shielded():
            old = None
            if os.path.lexists(out):
                if _exchange(new, out):
                    old = new  # the previous set now lies under the private name
                else:  # portable: two renames; the next run recovers from a kill between
                    old = _sibling(out, "old-", new.name[-8:])
                    os.rename(out, old)
                    try:
                        os.rename(new, out)
                    except BaseException:
                        os.rename(old, out)
                        raise
            else:
                os.rename(new, out)
            self.committed = True
            self._created = []
            _fsync_dir(out.parent)
            if old is not None:
                _remove(old)

    def close(self) -> None:
        """Remove the private folder unless committed, the parent folders made here when
        nothing was committed, and release the lock (whatever happened before)."""
        with shielded():
            if self._staging is not None and not self.committed:
                _remove(self._staging)
            if self._lock_fd is not None:
                _release_lock(self._lock_fd, _sibling(self.path, "lock"))
                self._lock_fd = None
            for folder in reversed(self._created):
                with contextlib.suppress(OSError):
                    folder.rmdir()
            self._created = []


@contextlib.contextmanager
def output_set(out, *, owner: str = "", reserve: int = 0, check=None):
    """Commit the files written into the yielded :class:`OutputSet` into ``out`` as one set.

    ``out`` ends holding either its previous set of files, untouched (the block raised,
    was interrupted, or the disk filled up), or the complete new set: never a mix, and no
    private folder or lock file is left beside it.

    Parameters
    ----------
    out : path-like
        The output folder (created with its parents if needed).
    owner : str, optional
        Who runs (a command line), named to a second run that is refused.
    reserve : int, default=0
        Bytes of disk space held from the start until the writers start (ENOSPC then
        rather than after the work).
    check : callable, optional
        ``check(out)``, called under the lock before anything is written: it may refuse
        the folder by raising.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sklearn_crossenc._io import atomic_write_text
    >>> from sklearn_crossenc._output_set import output_set
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with output_set(out) as outset:
    ...     _ = atomic_write_text(outset.folder() / "a.txt", "one")
    ...     _ = atomic_write_text(outset.folder() / "b.txt", "two")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'b.txt']
    >>> try:
    ...     with output_set(out) as outset:
    ...         _ = atomic_write_text(outset.folder() / "a.txt", "three")
    ...         raise RuntimeError("disk full")
    ... except RuntimeError:
    ...     pass
    >>> (out / "a.txt").read_text(), sorted(p.name for p in out.parent.iterdir())
    ('one', ['out'])
    """
    outset = OutputSet(out, owner=owner)
    try:
        outset.open(reserve=reserve, check=check)
        yield outset
        outset.commit()
    finally:
        outset.close()

"""Atomic file output: write to a temporary file beside the target, then rename.

A write that fails half way (an exception, a full disk, Ctrl-C) leaves the target as
it was and no partial file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from ._interrupt import check_interrupted, shielded

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_write_bytes",
    "current_umask",
    "apply_umask",
]


def current_umask() -> int:
    """The process's umask (read from ``/proc`` where possible, else set and restored).

    Examples
    --------
    >>> import os
    >>> from sklearn_crossenc._io import current_umask
    >>> old = os.umask(0o027)
    >>> oct(current_umask())
    '0o27'
    >>> _ = os.umask(old)
    """
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path, *, folder: bool = False) -> None:
    """Give ``path`` the mode a plain ``open()`` (0666) or ``mkdir`` (0777) would give.

    ``tempfile.mkstemp`` creates files 0600 and ``mkdtemp`` folders 0700 whatever the
    umask; an output renamed from them must end like any other file of the user's.
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


@contextlib.contextmanager
def atomic_path(path, *, suffix: str | None = None):
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    Use it for writers that need a file name (h5py, matplotlib, torch.save). The file
    ends with the mode the umask gives a new file (0644 under the usual 022).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc._io import atomic_path
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The real suffix stays last so that writers which infer a format from it work.
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=".tmp" + (path.suffix if suffix is None else suffix),
        dir=path.parent,
    )
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        apply_umask(tmp)  # mkstemp made it 0600
        check_interrupted()  # a signal some library swallowed: no result in place
        os.replace(tmp, path)
    except BaseException:
        with shielded(), contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj, **kwargs) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically and return the path."""
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("sort_keys", False)
    return atomic_write_text(path, json.dumps(obj, **kwargs) + "\n")

"""A pickled ``.npy`` read without running code: dicts, strings, numbers and arrays only.

``np.save`` of a dict writes a 0-d object array whose payload is a pickle. A pickle can
name any importable callable and have it called while loading (``os.system`` included),
so ``np.load(allow_pickle=True)`` of a file from elsewhere runs whatever its author
chose. :func:`read_pickled_npy` reads the same files with an unpickler that resolves no
global but the few numpy needs to rebuild arrays (``_reconstruct``, ``ndarray``,
``dtype``, ``scalar``, ``_frombuffer``); a pickle naming anything else is refused before
that name is imported, let alone called. Dicts, lists, tuples, strings and numbers are
built by the pickle machine's own opcodes and need no global.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

__all__ = ["UnsafePickleError", "read_pickled_npy"]

# (module, name) pairs numpy's array pickles use, for numpy 1.x and 2.x module paths.
_NUMPY_GLOBALS = frozenset(
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
) | frozenset(
    (module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")
) | {("numpy", "ndarray"), ("numpy", "dtype")}


class UnsafePickleError(ValueError):
    """A pickle names a callable outside the arrays-only set: refused, nothing run."""


class _ArraysOnly(pickle.Unpickler):
    """Resolves only numpy's array-rebuilding globals; every other global is refused."""

    def find_class(self, module, name):
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refers to {module}.{name}, which is not a dict, a string, a number or a numeric "
            "array; nothing in it was run"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError("uses a persistent reference; nothing in it was run")


def _header(fp, path: Path):
    """(shape, dtype) of an .npy file positioned at its start; leaves ``fp`` at the data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise ValueError(f"format version {version} is not 1.0 or 2.0")
    except ValueError as err:
        raise ValueError(f"{path} is not a readable .npy file ({err}).") from None
    return shape, dtype


def read_pickled_npy(path) -> object:
    """The object stored in an ``.npy`` file, unpickled with arrays-only globals.

    Parameters
    ----------
    path : str or Path
        An ``.npy`` file written by ``np.save``: an object array (its pickle is read with
        the restricted unpickler) or a plain numeric array (read without pickle).

    Returns
    -------
    object
        The 0-d object array's item (``np.save(path, some_dict)`` gives ``some_dict``
        back), else the array.

    Raises
    ------
    UnsafePickleError
        When the pickle names any callable but numpy's array-rebuilding ones (what an
        ``os.system`` payload names): refused before anything is imported or called.
    ValueError
        A file that is not ``.npy`` or whose pickle is damaged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pred.npy"
    >>> np.save(path, {"sub-01": {"s06e01a": np.zeros((3, 2), "float32")}})
    >>> read_pickled_npy(path)["sub-01"]["s06e01a"].shape
    (3, 2)
    """
    path = Path(path)
    with open(path, "rb") as fp:
        shape, dtype = _header(fp, path)
        if not dtype.hasobject:
            fp.seek(0)
            return np.load(fp, allow_pickle=False)
        payload = fp.read()
    try:
        array = _ArraysOnly(io.BytesIO(payload)).load()
    except UnsafePickleError as err:
        raise UnsafePickleError(f"{path}: refused to unpickle: the file {err}.") from None
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError,
            IndexError, KeyError) as err:
        raise ValueError(f"{path}: its pickle is damaged or not numpy's "
                         f"({type(err).__name__}: {err}).") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{path}: the pickle holds a {type(array).__name__}, not an array "
                         "as np.save writes.")
    if array.shape != tuple(shape):
        raise ValueError(f"{path}: the header says shape {tuple(shape)}, the pickle holds "
                         f"{array.shape}.")
    return array.item() if array.shape == () else array

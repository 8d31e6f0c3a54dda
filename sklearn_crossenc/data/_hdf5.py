"""Opening and reading the dataset's HDF5 files without silent fill values.

HDF5 returns the fill value (zeros) for bytes it cannot find: a virtual dataset whose
source file or source dataset is missing, a region no mapping covers, a chunk never
written, a contiguous dataset never written, and bytes past the end of a file cut while
it is open. Links can also lead outside the dataset. These helpers refuse each case
before any value is read, with an error naming the file and the key, and check the
sizes of the files again after reading (a file cut during the read):

- :func:`open_h5`: a file that exists (a symbolic link loop and a dangling symbolic link
  get their own messages), opened read-only.
- :func:`checked_dataset`: follows the links of a key itself (soft links inside the file;
  external links and virtual-dataset sources only to files inside the data folder that
  exist), then returns the dataset with the bytes each file must hold for it.
- :func:`read_checked`: reads a dataset, with the size check before and after.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
from pathlib import Path

import h5py
import numpy as np
from h5py import h5d, h5s

from ._paths import dataset_root_of

__all__ = ["check_file", "missing_path_error", "open_h5", "checked_dataset", "read_checked",
           "read_key", "check_sizes"]

#: Links (soft, external, virtual sources) followed in a row before giving up: a loop.
MAX_LINK_DEPTH = 16
#: Reason of the requirement that a file holds a dataset's stored values.
_VALUES = "its values end at byte {n}"


# ------------------------------------------------------------------------- files on disk
def missing_path_error(path: Path, what: str = "file") -> OSError:
    """The error for a path that cannot be reached: a symlink loop, a dangling symlink, or
    a missing file (in that order)."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return OSError(errno.ELOOP, f"{what} {path} cannot be reached: a symbolic link "
                                        "loop (a link leads back to itself)")
        if path.is_symlink():
            return FileNotFoundError(f"{what} {path} is a dangling symbolic link: its target "
                                     f"{os.readlink(path)} does not exist")
        if err.errno not in (errno.ENOENT, errno.ENOTDIR):
            return OSError(err.errno, f"{what} {path} cannot be reached: {err.strerror}")
    return FileNotFoundError(f"{what} not found: {path}" if what == "file"
                             else f"{what} {path} does not exist")


def check_file(path: Path) -> Path:
    """A release file that exists, is a regular file and can be read; else a clear error."""
    if not path.exists():
        raise missing_path_error(path)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file (a fifo, socket or device)"
        raise OSError(f"{path} is {what}; expected an HDF5 file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"permission denied: cannot read {path}")
    return path


def _open_error(path: Path, err: OSError) -> OSError:
    text = str(err)
    if isinstance(err, BlockingIOError) or "unable to lock file" in text:
        return BlockingIOError(
            f"{path} is locked by another process (HDF5 file locking: is it being written?); "
            "wait for it to finish, or set HDF5_USE_FILE_LOCKING=FALSE if nothing writes it: "
            f"{' '.join(text.split())}"
        )
    if isinstance(err, PermissionError) or "Permission denied" in text:
        return PermissionError(f"permission denied: cannot read {path}: {text}")
    return OSError(f"cannot open {path} as HDF5 (truncated or corrupt?): {text}")


@contextlib.contextmanager
def open_h5(path: Path):
    """Open an HDF5 file read-only; a missing, unreadable or locked file gets a clear error."""
    check_file(path)
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise _open_error(path, err) from err
    with f:
        yield f


# ------------------------------------------------------------------------------- links
def _inside(target: str, root: Path) -> bool:
    """Whether ``target`` lies in ``root``, comparing normalised absolute paths (symbolic
    links inside the data folder, as a datalad dataset has, are the owner's choice)."""
    t = os.path.normpath(os.path.abspath(target))
    r = os.path.normpath(os.path.abspath(root))
    return t == r or t.startswith(r.rstrip(os.sep) + os.sep)


def _target_file(file: Path, name: str, label: str, root: Path, env: str) -> Path:
    """The file ``name`` that a link or a virtual source of ``file`` points to, checked:
    inside ``root`` and existing. ``label`` says which link, for the messages; ``env`` is
    the environment variable that would make HDF5 look elsewhere."""
    if os.environ.get(env):
        raise ValueError(f"{label}, and {env} is set, so HDF5 may read another file; "
                         f"unset {env} to load it")
    target = Path(name) if os.path.isabs(name) else file.parent / name
    if not _inside(str(target), root):
        raise ValueError(f"{label}, outside the data folder {root}; only links to files "
                         "inside it are followed")
    if not target.is_file():
        why = "is not a regular file" if target.exists() else _why_missing(target)
        raise FileNotFoundError(f"{label}, but {target} {why}")
    return target


def _why_missing(path: Path) -> str:
    err = missing_path_error(path)
    if err.errno == errno.ELOOP:
        return "is a symbolic link loop"
    return "is a dangling symbolic link" if path.is_symlink() else "does not exist"


def _walk(f: h5py.File, path: Path, key: str, root: Path, depth: int, via=None
          ) -> tuple[Path, str]:
    """Follow ``key`` link by link; return the file and the hard path of the object.

    Soft links may point anywhere in the file; external links only to existing files
    inside ``root``. A missing target, a dangling link and a loop name the file and key.
    ``via`` is ``(file, key, description)`` of the first link followed, for the message.
    """
    if depth > MAX_LINK_DEPTH:
        first = via or (path, key, "")
        raise ValueError(f"{first[0]}: {first[1]!r} goes through more than {MAX_LINK_DEPTH} "
                         "links in a row (a link loop)")
    parts = [p for p in key.split("/") if p]
    here = "/"
    for i, part in enumerate(parts):
        node = f.get(here, getlink=False)
        link = node.get(part, getlink=True) if isinstance(node, h5py.Group) else None
        rest = "/".join(parts[i + 1:])
        if link is None:
            if via is not None:
                raise ValueError(f"{via[0]}: {via[1]!r} is a dangling {via[2]}: its target "
                                 f"{key!r} does not exist in {path}")
            raise ValueError(f"{path}: no object {key!r}")
        if isinstance(link, h5py.SoftLink):
            target = posixpath.normpath(posixpath.join(here, link.path))
            inner = posixpath.join(target, rest) if rest else target
            return _walk(f, path, inner, root, depth + 1, via or (path, key, "soft link"))
        if isinstance(link, h5py.ExternalLink):
            target = _target_file(path, link.filename, f"{path}: {key!r} is an external link "
                                  f"to {link.path!r} in {link.filename!r}", root,
                                  "HDF5_EXT_PREFIX")
            inner = posixpath.join(link.path, rest) if rest else link.path
            with open_h5(target) as g:
                return _walk(g, target, inner, root, depth + 1,
                             via or (path, key, f"external link (to {link.filename!r})"))
        here = posixpath.join(here, part)
    return path, here


# --------------------------------------------------------------- where the bytes live
def _requirements(d: h5py.Dataset, file: Path, label: str, root: Path, depth: int
                  ) -> list[tuple[Path, int]]:
    """``(file, bytes it must hold)`` for every byte of ``d``, stored in ``file``;
    refuses what would read as the fill value. ``label`` starts every message."""
    dcpl = d.id.get_create_plist()
    layout = dcpl.get_layout()
    if layout == h5d.VIRTUAL:
        return _virtual_requirements(d, file, label, root, depth)
    if layout == h5d.COMPACT or d.size == 0:
        return []  # the values live in the object header, read when the file was opened
    if layout == h5d.CHUNKED:
        try:
            ends = _chunk_ends(d)
        except RuntimeError as err:  # its chunk index is unreadable: cut, or corrupt
            check_sizes([_opened_size(d.file, file)], label)
            raise OSError(f"{label}: its chunk index cannot be read (corrupt file?): "
                          f"{err}") from err
        expected = int(np.prod([-(-n // c) for n, c in zip(d.shape, d.chunks, strict=True)]))
        if len(ends) < expected:
            raise OSError(f"{label} has {expected - len(ends)} of its {expected} chunks never "
                          "written (they would read as zeros)")
        return [(file, max(ends), _VALUES)]
    if dcpl.get_external_count():
        return _external_storage(d, dcpl, label, root)
    offset = d.id.get_offset()
    if offset is None:
        raise OSError(f"{label} was never written (it would read as zeros)")
    return [(file, offset + d.id.get_storage_size(), _VALUES)]


def _chunk_ends(d: h5py.Dataset) -> list[int]:
    """End byte of every stored chunk of ``d``."""
    ends: list[int] = []
    try:
        d.id.chunk_iter(lambda info: ends.append(info.byte_offset + info.size))
    except (AttributeError, NotImplementedError):  # older HDF5
        ends = []
        for i in range(d.id.get_num_chunks()):
            info = d.id.get_chunk_info(i)
            ends.append(info.byte_offset + info.size)
    return ends


def _external_storage(d, dcpl, label: str, root: Path) -> list[tuple[Path, int]]:
    """Raw data kept in external files: HDF5 resolves them against the working folder."""
    if os.environ.get("HDF5_EXTFILE_PREFIX"):
        raise ValueError(f"{label} keeps its values in external files and "
                         "HDF5_EXTFILE_PREFIX is set; unset it to load it")
    out, left = [], d.size * d.dtype.itemsize
    for i in range(dcpl.get_external_count()):
        name, offset, size = dcpl.get_external(i)
        name = os.fsdecode(name)
        where = f"{label} keeps its values in the external file {name!r}"
        if not _inside(name, root):
            raise ValueError(f"{where} ({os.path.abspath(name)}: HDF5 reads it from the "
                             f"working folder), outside the data folder {root}")
        if not os.path.isfile(name):
            raise FileNotFoundError(f"{where}, and {os.path.abspath(name)} "
                                    f"{_why_missing(Path(name))}; it would read as zeros")
        used = min(size, left)
        out.append((Path(os.path.abspath(name)), offset + used, _VALUES))
        left -= used
    return out


def _virtual_requirements(d, file: Path, label: str, root: Path, depth: int):
    """Every source of a virtual dataset exists, lies inside ``root``, is large enough,
    and the mappings cover the whole dataset; then the sources' own requirements."""
    if depth > MAX_LINK_DEPTH:
        raise ValueError(f"{label} nests more than {MAX_LINK_DEPTH} virtual datasets "
                         "(a loop?)")
    out = []
    covered = np.zeros(d.shape, bool)  # what the mappings fill
    for m in d.virtual_sources():
        what = f"{label} is a virtual dataset mapping {m.dset_name!r} of {m.file_name!r}"
        src = file if m.file_name == "." else _target_file(
            file, m.file_name, what, root, "HDF5_VDS_PREFIX")
        with open_h5(src) as g:
            if g.get(m.dset_name, getlink=True) is None:
                raise ValueError(f"{what}, which does not exist; it would read as zeros")
            _, sd, reqs = _inspect(g, src, m.dset_name, root, depth + 1)
            if not isinstance(sd, h5py.Dataset):
                raise ValueError(f"{what}, which is a {type(sd).__name__}")
            short = _too_small(m.src_space, m.vspace, sd.shape)
            if short:
                raise ValueError(f"{what}, whose shape {sd.shape} {short}; it would read as "
                                 "zeros")
            out += reqs
        _mark(covered, m.vspace)
    if not covered.all():
        raise ValueError(f"{label} is a virtual dataset that maps no source to "
                         f"{int((~covered).sum())} of its {covered.size} values; they would "
                         "read as zeros")
    return out


def _too_small(src_space, vspace, shape) -> str | None:
    """Why a source dataset of ``shape`` cannot fill its mapping, or None if it can."""
    if src_space.get_select_type() == h5s.SEL_ALL:  # the whole source, whatever its size
        need = vspace.get_select_npoints()
        size = int(np.prod(shape))
        return None if size == need else f"holds {size} values, not the {need} mapped"
    need = tuple(int(hi) + 1 for hi in src_space.get_select_bounds()[1])
    if len(need) == len(shape) and all(n <= h for n, h in zip(need, shape, strict=True)):
        return None
    return f"is smaller than the mapped region {need}"


def _mark(covered: np.ndarray, space) -> None:
    """Set what the selection ``space`` of a virtual mapping covers."""
    kind = space.get_select_type()
    if kind == h5s.SEL_ALL:
        covered[...] = True
    elif kind == h5s.SEL_HYPERSLABS:
        # int(): older numpy turns an unsigned bound plus one into a float.
        for lo, hi in space.get_select_hyper_blocklist():
            covered[tuple(slice(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True))] = True
    elif kind == h5s.SEL_POINTS:
        covered[tuple(space.get_select_elem_pointlist().astype(np.intp).T)] = True


# -------------------------------------------------------------------------- public
def _inspect(f: h5py.File, path: Path, key: str, root: Path, depth: int = 0):
    """``(file holding it, dataset or group, requirements)`` after every link check."""
    where, hard = _walk(f, path, key, root, depth)
    obj = f.get(key)
    if obj is None or os.path.normpath(os.path.abspath(obj.file.filename)) != \
            os.path.normpath(os.path.abspath(where)):  # HDF5 resolved it otherwise
        raise ValueError(f"{path}: {key!r} leads HDF5 elsewhere than to {hard!r} in {where}")
    if not isinstance(obj, h5py.Dataset):
        return where, obj, []
    reqs = _requirements(obj, where, f"{path}: dataset {key!r}", root, depth)
    return where, obj, reqs + [_opened_size(obj.file, where)]


def _opened_size(f: h5py.File, file: Path) -> tuple[Path, int, str]:
    """The requirement that ``file`` keeps the size it had when HDF5 opened (and checked)
    it: a file cut afterwards reads as zeros past the cut."""
    return file, f.id.get_filesize(), "the file had {n} bytes when it was opened"


def checked_dataset(f: h5py.File, path: Path, key: str, root=None):
    """``(object, requirements)`` of ``key`` in an open file, every link checked.

    ``object`` is the dataset (or a group: the caller says what it expected);
    ``requirements`` lists ``(file, bytes, reason)``: every file the dataset's values come
    from and the size it must have, already checked. ``root`` is the data folder that
    links may point into (default: the dataset root the file belongs to).
    """
    root = dataset_root_of(path) if root is None else Path(root)
    _, obj, reqs = _inspect(f, Path(path), key, root)
    check_sizes(reqs, f"{path}: dataset {key!r}")
    return obj, reqs


def check_sizes(reqs, label: str, *, after_read: bool = False) -> None:
    """Raise when a file is shorter than a requirement says (truncated)."""
    for file, needed, reason in reqs:
        size = os.stat(file).st_size
        if size < needed:
            when = "was cut while it was being read" if after_read else "is truncated"
            raise OSError(f"{label} {when}: {reason.format(n=needed)} but {file} has {size} "
                          "bytes; the missing bytes would read as zeros")


#: Registered HDF5 filters that plugins provide (https://portal.hdfgroup.org/documentation/).
_FILTER_NAMES = {307: "bzip2", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle",
                 32013: "zfp", 32015: "zstd", 32017: "SZ", 32026: "blosc2"}


def _missing_filters(d: h5py.Dataset) -> str:
    """``"zstd (id 32015)"``: the filters of ``d``'s pipeline this HDF5 cannot load ('')."""
    try:
        plist = d.id.get_create_plist()
        filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    except (OSError, ValueError, RuntimeError):
        return ""
    names = [f"{(name or b'').decode(errors='replace') or _FILTER_NAMES.get(fid, 'unknown')} "
             f"(id {fid})" for fid, _, _, name in filters if not h5py.h5z.filter_avail(fid)]
    return ", ".join(names)


def read_checked(d: h5py.Dataset, reqs, path: Path, key: str, out=None, sel=None, *,
                 what: str | None = None):
    """Read ``d`` (into ``out`` when given, rows ``sel``), checking the file sizes before
    and after; an HDF5 read error names the file and ``what`` (default: the key)."""
    label = f"{path}: dataset {key!r}"
    check_sizes(reqs, label)
    try:
        if out is None:
            value = d[()]
        else:
            d.read_direct(out, sel)
            value = out
    except OSError as err:
        check_sizes(reqs, label, after_read=True)
        missing = _missing_filters(d)
        if missing:
            raise OSError(
                f"cannot read {what or repr(key)} from {path}: it is compressed with the HDF5 "
                f"filter {missing}, whose plugin is not installed here (not a corrupt file): "
                "install the plugin (the common ones: pip install hdf5plugin, then set "
                "HDF5_PLUGIN_PATH to the folder `python -c 'import hdf5plugin; "
                "print(hdf5plugin.PLUGIN_PATH)'` prints), or store the file without it"
            ) from err
        raise OSError(f"cannot read {what or repr(key)} from {path} (corrupt file?): "
                      f"{err}") from err
    check_sizes(reqs, label, after_read=True)
    return value


def read_key(f: h5py.File, path: Path, key: str, root=None) -> np.ndarray:
    """The values of dataset ``key`` of an open file, read with every check above."""
    d, reqs = checked_dataset(f, path, key, root)
    if not isinstance(d, h5py.Dataset):
        raise ValueError(f"{path}: {key!r} is a {type(d).__name__}, expected a dataset")
    return read_checked(d, reqs, path, key)

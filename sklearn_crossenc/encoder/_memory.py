"""Upper bounds of the encoder's settings: the memory a fit will take, estimated before it
starts, and the threads it may ask for.

``encoder_kernel_size=100000`` took 24 GB and an OOM kill, ``samples_per_epoch=10**12``
grew 100 MB/s, ``n_threads=100000`` ended in ``ImportError: failed to map segment``: each
is now refused before the first fit, naming the parameter (issue 31).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["training_bytes", "check_training_memory", "available_memory", "cgroup_available"]

#: Bytes per trained float32 parameter: the weight, its gradient, Adam's two moments.
_PER_PARAMETER = 4 * 4
#: Threads per core beyond which ``n_threads`` is refused.
MAX_THREADS_PER_CORE = 4


def training_bytes(est, n_subjects: int, n_parcels: int) -> dict[str, int]:
    """Estimated bytes of one fit, by the parameter that drives each part (an upper bound
    of the big terms: weights with their state, one batch's activations, the epoch's
    clip draws)."""
    S, C, D = n_subjects, n_parcels, est.embed_dim
    copies = S + 1  # one shared module and one per subject, at most
    enc = copies * D * C * max(est.encoder_kernel_size, 1) * _PER_PARAMETER
    dec = copies * C * D * max(est.decoder_kernel_size, 1) * _PER_PARAMETER
    clips = 3 * 4 * est.batch_size * S * est.sample_length  # bytes per activation column
    kernel = max(("encoder_kernel_size", "decoder_kernel_size"), key=lambda k: getattr(est, k))
    parts = {"encoder_kernel_size": enc, "decoder_kernel_size": dec,
             "batch_size": clips * (C + D), "samples_per_epoch": 16 * est.samples_per_epoch}
    parts[kernel] += clips * D * max(getattr(est, kernel), 1)  # the unfolded kernel windows
    return parts


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation: Linux's ``MemAvailable``, or less
    where the process's memory cgroup allows less (a SLURM job's ``--mem``, a container's
    limit: :func:`cgroup_available`); None where neither can be read."""
    values = [v for v in (_meminfo_available(), cgroup_available()) if v is not None]
    return min(values) if values else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # v2's "max": no limit


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def cgroup_available(proc="/proc/self/cgroup", root="/sys/fs/cgroup") -> int | None:
    """Bytes the process's memory cgroup still allows, or None without a limit: for its
    cgroup and each cgroup above it (limits nest), the limit less the usage, page cache the
    kernel can drop (inactive files) not counted as used; the smallest. cgroup v2
    (``memory.max``) and v1 (``memory.limit_in_bytes``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from sklearn_crossenc.encoder._memory import cgroup_available
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> job = tmp / "cg" / "job"; job.mkdir(parents=True)
    >>> _ = (tmp / "cgroup").write_text("0::/job\\n")
    >>> _ = (job / "memory.max").write_text("1000\\n")
    >>> _ = (job / "memory.current").write_text("700\\n")
    >>> _ = (job / "memory.stat").write_text("anon 500\\ninactive_file 100\\n")
    >>> cgroup_available(tmp / "cgroup", tmp / "cg")  # 1000 - (700 - 100)
    400
    """
    try:
        lines = Path(proc).read_text().splitlines()
    except OSError:
        return None
    best = None
    for line in lines:
        _, controllers, rel = line.split(":", 2) if line.count(":") >= 2 else ("", "-", "")
        if controllers == "":  # v2: one hierarchy
            mount, files = Path(root), ("memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):
            mount = Path(root) / "memory"
            files = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        parts = [p for p in rel.split("/") if p]
        for depth in range(len(parts), -1, -1):  # the cgroup, then each one above it
            folder = mount.joinpath(*parts[:depth])
            limit = _read_int(folder / files[0])
            if limit is None or limit >= 1 << 60:  # no limit here (v1 writes a huge number)
                continue
            used = (_read_int(folder / files[1]) or 0) - _stat(folder / "memory.stat", files[2])
            free = max(limit - max(used, 0), 0)
            best = free if best is None else min(best, free)
    return best


def check_training_memory(est, n_subjects: int, n_parcels: int, available=None) -> None:
    """Refuse a fit that cannot fit in memory, or asks for absurd thread counts, naming the
    parameter (before any weight is allocated)."""
    cores = os.cpu_count() or 1
    if isinstance(est.n_threads, int) and est.n_threads > MAX_THREADS_PER_CORE * cores:
        raise ValueError(
            f"CrossSubjectEncoder: n_threads={est.n_threads} is more than "
            f"{MAX_THREADS_PER_CORE} threads per core of this machine ({cores} cores); give "
            f"n_threads={cores} or less.")
    parts = training_bytes(est, n_subjects, n_parcels)
    need = sum(parts.values())
    available = available_memory() if available is None else available
    if available is None or need <= available:
        return
    name = max(parts, key=parts.__getitem__)
    raise ValueError(
        f"CrossSubjectEncoder: a fit on {n_subjects} subjects and {n_parcels} parcels would "
        f"need about {need / 2**30:.1f} GB of memory, {parts[name] / 2**30:.1f} GB of it from "
        f"{name}={getattr(est, name)}; {available / 2**30:.1f} GB are available: lower "
        f"{name}.")

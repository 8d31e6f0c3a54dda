"""Upper bounds of the encoder's settings: the memory a fit will take, estimated before it
starts, and the threads it may ask for.

``encoder_kernel_size=100000`` took 24 GB and an OOM kill, ``samples_per_epoch=10**12``
grew 100 MB/s, ``n_threads=100000`` ended in ``ImportError: failed to map segment``: each
is now refused before the first fit, naming the parameter (issue 31).
"""

from __future__ import annotations

import os

__all__ = ["training_bytes", "check_training_memory", "available_memory"]

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
    """Bytes of memory available to a new allocation (Linux's MemAvailable), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


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

"""Where torch computes: device resolution and thread count, for the estimators and the jobs."""

from __future__ import annotations

import contextlib
import os
import sys
import time

__all__ = ["busy_cores", "float32_matmul", "free_cores", "passive_openmp_waits",
           "resolve_device", "resolve_threads", "torch_threads"]

#: The OpenMP wait policy the package asks for before torch is loaded: idle workers sleep
#: instead of spinning (spinning workers cost a shared machine its cores; docs/performance.md).
WAIT_POLICY = "PASSIVE"


def passive_openmp_waits(environ=None, modules=None) -> bool:
    """Ask OpenMP (torch's intra-op threads) to let idle workers sleep, not spin.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` (default ``os.environ``) unless the
    variable is already set (a user's choice wins) or torch is already imported (its
    OpenMP runtime read the variable when it was loaded: setting it then would change
    nothing). Called when the package is imported.

    Returns
    -------
    set : bool
        Whether the variable was set by this call.

    Examples
    --------
    >>> from sklearn_crossenc._device import passive_openmp_waits
    >>> env = {}
    >>> passive_openmp_waits(env, modules={}), env
    (True, {'OMP_WAIT_POLICY': 'PASSIVE'})
    >>> passive_openmp_waits({"OMP_WAIT_POLICY": "ACTIVE"}, modules={})
    False
    >>> passive_openmp_waits({}, modules={"torch": None})
    False
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "OMP_WAIT_POLICY" in environ or "torch" in modules:
        return False
    environ["OMP_WAIT_POLICY"] = WAIT_POLICY
    return True


def busy_cores(samples: int = 5, interval: float = 0.01, path="/proc/loadavg") -> float:
    """Processes running on the machine now, this one left out: the median of ``samples``
    reads of the kernel's count of runnable tasks (Linux); elsewhere the 1-minute load.

    Examples
    --------
    >>> from sklearn_crossenc._device import busy_cores
    >>> busy_cores(samples=1) >= 0
    True
    """
    counts = []
    for i in range(samples):
        try:
            with open(path) as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            break
        counts.append(max(0, running - 1))  # this process is running while it reads
        if i + 1 < samples:
            time.sleep(interval)
    if counts:
        return float(sorted(counts)[len(counts) // 2])
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0.0


def free_cores(busy: float | None = None) -> int:
    """The cores this process may use that no other process is running on: its usable
    cores (affinity) less :func:`busy_cores`, rounded, at least 1.

    Examples
    --------
    >>> from sklearn_crossenc._device import free_cores
    >>> from sklearn_crossenc._environment import usable_cores
    >>> free_cores(busy=0) == usable_cores(), free_cores(busy=1000)
    (True, 1)
    """
    from ._environment import usable_cores

    busy = busy_cores() if busy is None else busy
    return max(1, usable_cores() - int(round(busy)))


def resolve_threads(n_threads):
    """``n_threads`` as torch is to get it: ``"auto"`` -> :func:`free_cores` now, an int
    as it is, None stays None (leave torch's setting alone).

    Examples
    --------
    >>> from sklearn_crossenc._device import resolve_threads
    >>> resolve_threads(3), resolve_threads(None), resolve_threads("auto") >= 1
    (3, None, True)
    """
    if isinstance(n_threads, str) and n_threads == "auto":
        return free_cores()
    return None if n_threads is None else int(n_threads)


@contextlib.contextmanager
def torch_threads(n_threads):
    """Set torch's intra-op threads for the duration of a block, then restore them.

    ``None`` leaves torch's setting as it is; ``"auto"`` is the cores free when the block
    starts (:func:`free_cores`).

    Examples
    --------
    >>> import torch
    >>> from sklearn_crossenc._device import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    n_threads = resolve_threads(n_threads)
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def float32_matmul():
    """Full float32 matrix products for the duration of a block, then the caller's setting.

    The encoder trains and predicts in float32 as the seed does: TF32 on CUDA (or
    bfloat16 inside oneDNN on a CPU), which ``torch.set_float32_matmul_precision("high")``
    or ``"medium"`` would allow, is pinned off (precision ``"highest"``) and the previous
    setting restored afterwards.

    Examples
    --------
    >>> import torch
    >>> from sklearn_crossenc._device import float32_matmul
    >>> torch.set_float32_matmul_precision("high")
    >>> with float32_matmul():
    ...     torch.get_float32_matmul_precision()
    'highest'
    >>> torch.get_float32_matmul_precision()
    'high'
    >>> torch.set_float32_matmul_precision("highest")
    """
    import torch

    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def resolve_device(device="auto"):
    """The ``torch.device`` for ``device``: ``"auto"`` (or None) is CUDA when available.

    Parameters
    ----------
    device : str, torch.device or None, default="auto"
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or anything ``torch.device``
        accepts.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        For a name that is not a device, or CUDA asked for on a machine without it.

    Examples
    --------
    >>> from sklearn_crossenc._device import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: unknown device 'tpu'; choose auto, cpu, cuda or cuda:N.
    """
    import torch

    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device.lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"unknown device {device!r}; choose auto, cpu, cuda or cuda:N."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r} requested but CUDA is not available on this machine "
            "(use cpu or auto)."
        )
    return dev

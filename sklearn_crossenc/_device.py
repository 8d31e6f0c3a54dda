"""Where torch computes: device resolution and thread count, for the estimators and the jobs."""

from __future__ import annotations

import contextlib

__all__ = ["float32_matmul", "resolve_device", "torch_threads"]


@contextlib.contextmanager
def torch_threads(n_threads):
    """Set torch's intra-op threads for the duration of a block, then restore them.

    ``None`` leaves torch's setting as it is.

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

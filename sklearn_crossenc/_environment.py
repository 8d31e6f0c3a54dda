"""What machine and software a result came from: CPU, cores, load, versions, device.

Reports (``crossenc compare``) and every benchmark record this next to their figures.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata

__all__ = ["cpu_model", "usable_cores", "load_average", "package_versions", "environment_info"]

REPORT_PACKAGES = ("sklearn-crossenc", "torch", "numpy", "scikit-learn", "skorch", "h5py",
                   "joblib", "matplotlib")


def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (its affinity), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: timings on a busy machine say so."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def package_versions(names=REPORT_PACKAGES) -> dict:
    """Installed version of each distribution, None where it is not installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment_info(device: str = "cpu", packages=REPORT_PACKAGES, *,
                     load_at_start: list[float] | None = None) -> dict:
    """Python, platform, CPU, load averages, package versions and the device, as a dict.

    ``load_average`` is read now; ``load_at_start`` is the load average a job read when it
    started (:func:`load_average`), reported beside it, since timings depend on both.

    Examples
    --------
    >>> from sklearn_crossenc._environment import environment_info
    >>> sorted(environment_info())[:3]
    ['cpu', 'cpu_count', 'device']
    """
    import torch

    if str(device).startswith("cuda"):
        dev = {"type": "cuda", "name": torch.cuda.get_device_name(torch.device(device))}
    else:
        dev = {"type": "cpu", "name": cpu_model()}
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": load_average(),
        "load_average_at_start": load_at_start,
        "device": dev,
        "packages": package_versions(packages),
    }

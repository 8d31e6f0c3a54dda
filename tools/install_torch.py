"""Install torch into the running virtual environment before the package (``make``).

Without an NVIDIA GPU on Linux, the default torch wheel brings CUDA libraries that
nothing uses: about 2.9 GB to download, 5.4 GB on disk; the CPU build is a 0.2 GB
download, 0.9 GB on disk. This script installs the CPU build when one can be had, trying in order

1. PyTorch's CPU index, https://download.pytorch.org/whl/cpu;
2. the sources pip is configured with (a local wheel folder, a mirror), newest release;
3. the same sources, the oldest supported release (pyproject's floor);

and accepts a candidate only if it is a ``+cpu`` build. Otherwise (or with a GPU, or
off Linux, where the default wheel has no CUDA) it installs the default build. Either
way it says first what it installs and how big it is. Nothing happens when torch is
already installed. Standard library only: it runs before anything is installed.

Run it with the environment's Python: ``.venv/bin/python tools/install_torch.py``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
#: Sizes of torch 2.13-2.14 and its dependencies on Linux x86-64 (GB): download, on disk
#: (measured: the CPU build in a fresh venv; the CUDA build from its wheels' contents).
SIZE_CPU = (0.2, 0.9)
SIZE_CUDA = (2.9, 5.4)


def say(msg: str) -> None:
    print(f"[install_torch] {msg}", flush=True)


def floor() -> str:
    """Pyproject's torch floor, e.g. ``"2.13"``."""
    m = re.search(r'"torch>=([0-9.]+)"', PYPROJECT.read_text())
    if m is None:
        sys.exit(f"install_torch: no 'torch>=' requirement in {PYPROJECT}")
    return m.group(1)


def has_nvidia_gpu() -> bool:
    """An NVIDIA GPU with its driver: ``nvidia-smi -L`` lists one, or the driver's folder."""
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir() and any(gpus.iterdir()):
        return True
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def pip(*args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", *args] + (["-q"] if quiet else [])
    return subprocess.run(cmd, capture_output=True, text=True)


def resolve(spec: str, index_args: list[str]) -> str | None:
    """The URL of the torch wheel pip would install for ``spec`` (no download of it)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        out = pip("install", "--dry-run", "--no-deps", "--ignore-installed", "--retries", "1",
                  "--timeout", "15", "--report", str(report), *index_args, spec)
        if out.returncode != 0 or not report.exists():
            return None
        items = json.loads(report.read_text()).get("install", [])
    urls = [i["download_info"]["url"] for i in items if i["metadata"]["name"] == "torch"]
    return urls[0] if urls else None


def download_size(url: str) -> float | None:
    """Size of the wheel at ``url`` in GB (a local file, or an HTTP HEAD request)."""
    parsed = urllib.parse.urlparse(url)
    try:
        if parsed.scheme == "file":
            return os.path.getsize(urllib.request.url2pathname(parsed.path)) / 1e9
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                    timeout=15) as resp:
            return int(resp.headers["Content-Length"]) / 1e9
    except (OSError, KeyError, ValueError):
        return None


def unreachable(url: str) -> str | None:
    """Why ``url`` cannot be read (a short reason), or None when it can."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=15):
            return None
    except OSError as exc:  # URLError, HTTPError, timeouts
        return str(getattr(exc, "reason", exc))


def find_cpu_build(low: str) -> tuple[str, list[str], str] | None:
    """``(wheel URL, pip index arguments, where)`` of a CPU build, or None."""
    tries = [
        (f"torch>={low}", ["--index-url", CPU_INDEX], f"PyTorch's CPU index {CPU_INDEX}"),
        (f"torch>={low}", [], "pip's configured sources"),
        (f"torch=={low}.*", [], f"pip's configured sources (torch {low}, the oldest supported)"),
    ]
    reason = unreachable(CPU_INDEX + "/torch/")
    if reason:
        say(f"PyTorch's CPU index {CPU_INDEX} cannot be reached ({reason})")
        tries = tries[1:]
    for spec, index_args, where in tries:
        url = resolve(spec, index_args)
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1]) if url else ""
        if "+cpu" in name:
            return url, index_args, where
        say(f"no CPU build from {where}" + (f" (it offers {name})" if name else ""))
    return None


def install(spec: str, index_args: list[str]) -> None:
    out = pip("install", *index_args, spec, quiet=True)
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        sys.exit(f"install_torch: pip install {spec} failed")


def main() -> None:
    try:
        say(f"torch {importlib.metadata.version('torch')} is already installed: nothing to do.")
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    low = floor()
    linux_x86 = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")
    if linux_x86 and not has_nvidia_gpu():
        found = find_cpu_build(low)
        if found is not None:
            url, index_args, where = found
            name = urllib.parse.unquote(url.rsplit("/", 1)[-1])
            version = name.split("-")[1]
            size = download_size(url) or SIZE_CPU[0]
            say(f"no NVIDIA GPU: installing the CPU build of torch {version} from {where}: "
                f"a {size:.2f} GB download, about {SIZE_CPU[1]:.1f} GB on disk ...")
            install(f"torch=={version}", index_args)
            return
        say("no CPU build of torch could be had: installing the default build, which "
            f"brings CUDA libraries (about {SIZE_CUDA[0]:.1f} GB to download, "
            f"{SIZE_CUDA[1]:.1f} GB on disk) ...")
    elif linux_x86:
        say(f"NVIDIA GPU found: installing the default build of torch with CUDA (about "
            f"{SIZE_CUDA[0]:.1f} GB to download, {SIZE_CUDA[1]:.1f} GB on disk) ...")
    else:
        say(f"installing the default build of torch for {sys.platform} "
            f"({platform.machine()}; a few hundred MB) ...")
    install(f"torch>={low}", [])


if __name__ == "__main__":
    main()

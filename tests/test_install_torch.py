"""tools/install_torch.py, the first step of ``make``: which torch it installs, and that it
says what and how big first. pip and the network are replaced by fakes here."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU = "https://download.pytorch.org/whl/cpu/torch-2.14.1%2Bcpu-cp311-cp311-linux_x86_64.whl"
CUDA = "https://files.example/torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl"
LOCAL_CPU = "file:///opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


@pytest.fixture
def tool(monkeypatch):
    path = ROOT / "tools" / "install_torch.py"
    spec = importlib.util.spec_from_file_location("install_torch", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    installed = []
    monkeypatch.setattr(mod, "install", lambda spec, args: installed.append((spec, args)))
    monkeypatch.setattr(mod, "download_size", lambda url: 0.19)
    monkeypatch.setattr(mod.sys, "platform", "linux")
    monkeypatch.setattr(mod.platform, "machine", lambda: "x86_64")

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(mod.importlib.metadata, "version", missing)
    mod.installed = installed
    return mod


def offers(tool, monkeypatch, *, index_up, cpu_index, configured, floor):
    """Fake pip: the wheel each source would give."""
    monkeypatch.setattr(tool, "unreachable", lambda url: None if index_up else "no DNS")

    def resolve(spec, index_args):
        if index_args:
            return cpu_index
        return floor if spec.startswith("torch==") else configured

    monkeypatch.setattr(tool, "resolve", resolve)


def test_the_floor_is_pyprojects(tool):
    assert tool.floor() == "2.13"


def test_cpu_index_first(tool, monkeypatch, capsys):
    monkeypatch.setattr(tool, "has_nvidia_gpu", lambda: False)
    offers(tool, monkeypatch, index_up=True, cpu_index=CPU, configured=CUDA, floor=None)
    tool.main()
    assert tool.installed == [("torch==2.14.1+cpu", ["--index-url", tool.CPU_INDEX])]
    out = capsys.readouterr().out
    assert "no NVIDIA GPU: installing the CPU build of torch 2.14.1+cpu from PyTorch's CPU " \
           "index" in out and "a 0.19 GB download, about 0.9 GB on disk" in out


def test_a_cuda_wheel_is_refused_and_the_local_cpu_wheel_taken(tool, monkeypatch, capsys):
    # This machine: the CPU index unreachable, the configured sources' newest is a CUDA build.
    monkeypatch.setattr(tool, "has_nvidia_gpu", lambda: False)
    offers(tool, monkeypatch, index_up=False, cpu_index=None, configured=CUDA, floor=LOCAL_CPU)
    tool.main()
    assert tool.installed == [("torch==2.13.0+cpu", [])]
    out = capsys.readouterr().out
    assert "cannot be reached (no DNS)" in out
    assert "no CPU build from pip's configured sources (it offers torch-2.14.1-cp311" in out


def test_no_cpu_build_falls_back_to_the_default_and_says_its_size(tool, monkeypatch, capsys):
    monkeypatch.setattr(tool, "has_nvidia_gpu", lambda: False)
    offers(tool, monkeypatch, index_up=False, cpu_index=None, configured=CUDA, floor=CUDA)
    tool.main()
    assert tool.installed == [("torch>=2.13", [])]
    assert "installing the default build, which brings CUDA libraries (about 2.9 GB to " \
           "download, 5.4 GB on disk)" in capsys.readouterr().out


def test_with_a_gpu_the_default_build(tool, monkeypatch, capsys):
    monkeypatch.setattr(tool, "has_nvidia_gpu", lambda: True)
    monkeypatch.setattr(tool, "resolve", lambda *a: pytest.fail("no CPU build looked for"))
    tool.main()
    assert tool.installed == [("torch>=2.13", [])]
    assert "NVIDIA GPU found" in capsys.readouterr().out


def test_nothing_when_torch_is_there(tool, monkeypatch, capsys):
    monkeypatch.setattr(tool.importlib.metadata, "version", lambda name: "2.13.0+cpu")
    tool.main()
    assert tool.installed == []
    assert "torch 2.13.0+cpu is already installed" in capsys.readouterr().out

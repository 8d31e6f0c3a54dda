"""One device resolution for the estimators and the jobs."""

from __future__ import annotations

import pytest
import torch

from sklearn_crossenc._device import resolve_device


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device(None) == torch.device(expected)
    with pytest.raises(ValueError, match="unknown device 'tpu'; choose auto, cpu, cuda"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="unknown device 3.5"):
        resolve_device(3.5)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:1", torch.device("cuda")):
            with pytest.raises(ValueError, match="requested but CUDA is not available"):
                resolve_device(name)

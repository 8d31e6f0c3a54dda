"""Threads on a shared machine: the encoder's default ``n_threads="auto"`` takes the cores
no other process runs on when a fit starts, and importing the package asks OpenMP for
passive waits (idle workers sleep) unless the user chose otherwise or torch came first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_crossenc import CrossSubjectEncoder, _device
from sklearn_crossenc._device import busy_cores, free_cores, resolve_threads
from sklearn_crossenc._environment import usable_cores

REPO = Path(__file__).resolve().parents[1]
FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=16, batch_size=8, max_epochs=1,
            random_state=0, device="cpu")


def test_busy_cores_counts_the_other_running_processes(tmp_path):
    """The kernel's runnable count less this process, the median of the reads."""
    path = tmp_path / "loadavg"
    path.write_text("0.50 0.40 0.30 7/120 999\n")
    assert busy_cores(samples=3, interval=0, path=path) == 6.0
    path.write_text("0.50 0.40 0.30 1/120 999\n")
    assert busy_cores(samples=1, path=path) == 0.0


def test_free_cores_are_the_usable_cores_less_the_busy_ones_at_least_one():
    n = usable_cores()
    assert free_cores(busy=0) == n
    assert free_cores(busy=n - 1) == 1
    assert free_cores(busy=n + 5) == 1
    assert free_cores(busy=0.4) == n and free_cores(busy=n - 0.6) == 1


def test_resolve_threads():
    assert resolve_threads(None) is None and resolve_threads(3) == 3


class _Seen(Callback):
    def __init__(self, seen):
        self.seen = seen

    def on_train_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


@pytest.mark.parametrize("busy", [0, 1000])
def test_the_default_fit_trains_on_the_free_cores_then_restores(monkeypatch, busy):
    """Default n_threads: every usable core on a quiet machine, one beside many busy
    processes; torch's setting is restored after the fit."""
    monkeypatch.setattr(_device, "busy_cores", lambda: float(busy))
    X = np.random.default_rng(0).standard_normal((2, 3, 24, 5)).astype(np.float32)
    before = torch.get_num_threads()
    seen: list[int] = []
    enc = CrossSubjectEncoder(callbacks=[_Seen(seen)], **FAST)
    assert enc.n_threads == "auto"
    enc.fit(X)
    assert seen == [usable_cores() if busy == 0 else 1]
    assert torch.get_num_threads() == before


def _policy(code: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    environ.update(env, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code + "; import os; "
                          "print(os.environ.get('OMP_WAIT_POLICY', 'unset'))"],
                         env=environ, capture_output=True, text=True, check=True, timeout=300)
    return out.stdout.strip()


def test_importing_the_package_asks_for_passive_waits_unless_chosen_or_too_late():
    assert _policy("import sklearn_crossenc") == "PASSIVE"
    assert _policy("import sklearn_crossenc", OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert _policy("import torch, sklearn_crossenc") == "unset"  # torch's OpenMP already read it

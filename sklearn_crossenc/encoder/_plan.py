"""What one encoder fit trains on, decided before it trains (shared by ``fit`` and
:func:`~sklearn_crossenc.encoder.fit_repeats`): the checked episodes and targets, the
three seeds drawn from ``random_state``, the validation split and the device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils import check_random_state

from .._device import resolve_device
from .._validation import check_episodes, check_same_structure
from ._holdout import validation_indices
from ._memory import check_training_memory
from ._scaling import references, standardise

__all__ = ["FitPlan", "make_plan", "seeded_initialize"]


@dataclass
class FitPlan:
    """One fit's inputs: episodes are lists of (S, T_i, C) float32 arrays; targets None
    where they are the inputs; ``train_idx`` / ``valid_idx`` index ``episodes`` (None
    when the validation episodes were given)."""

    episodes: list
    targets: list | None
    train_idx: np.ndarray
    valid_idx: np.ndarray | None
    valid: list
    valid_y: list | None
    torch_seed: int
    sampler_seed: int
    device: torch.device
    warm: bool
    scaling: tuple = ()  # (x mean (S, C), x scale (S,), y mean, y scale): see _scaling

    @property
    def shape(self) -> tuple[int, int]:
        """(subjects, parcels)."""
        S, _, C = self.episodes[0].shape
        return S, C

    @property
    def train(self) -> list:
        return [self.episodes[i] for i in self.train_idx]

    @property
    def train_y(self) -> list | None:
        return None if self.targets is None else [self.targets[i] for i in self.train_idx]


def make_plan(est, X, y=None, *, like: FitPlan | None = None) -> FitPlan:
    """Check ``est``'s parameters and the data; draw the seeds as ``fit`` draws them.

    ``like``: a plan of the same data and settings whose checked episodes and targets are
    reused (``X`` and ``y`` are then ignored: the data is checked once for many fits).
    """
    est._check_params()
    if like is not None:
        episodes, targets = like.episodes, like.targets  # standardised already
    else:
        # Float64 data stays float64 until it is standardised (an offset of 1e4 in float32
        # keeps 3 decimals).
        episodes = check_episodes(X, name="X", min_subjects=2, min_length=est.sample_length,
                                  dtype=None)
        targets = None
    S, _, C = episodes[0].shape
    if like is None and y is not None:
        targets = check_episodes(y, name="y", n_subjects=S, n_parcels=C, dtype=None)
        check_same_structure(episodes, targets, names=("X", "y"))
    rs = check_random_state(est.random_state)
    torch_seed, sampler_seed, split_seed = (int(s) for s in rs.randint(0, 2**31 - 1, 3))
    train_idx, valid_idx = validation_indices(est.validation, len(episodes),
                                              np.random.default_rng(split_seed))
    if valid_idx is not None:
        valid = [episodes[i] for i in valid_idx]
        valid_y = None if targets is None else [targets[i] for i in valid_idx]
    elif est.validation is None:
        valid, valid_y = [], None
    else:
        valid = check_episodes(est.validation, name="validation", n_subjects=S,
                               n_parcels=C, min_length=2, dtype=None)
        valid_y = None
    check_training_memory(est, S, C)  # before any weight is allocated
    warm = est._continues(S, C)
    device = est.device_ if warm else resolve_device(est.device)
    plan = FitPlan(episodes, targets, train_idx, valid_idx, valid, valid_y, torch_seed,
                   sampler_seed, device, warm)
    return _standardised(plan, like, est.scaling_ if warm else None)


def _standardised(plan: FitPlan, like: FitPlan | None, kept) -> FitPlan:
    """``plan`` on standardised data (see :mod:`._scaling`). The references are those of
    every episode the fit sees, its hold-out for early stopping included, so that a
    splitter's hold-out and the same episodes given as ``validation`` train alike, and the
    repeats of :func:`fit_repeats` (each its own hold-out) share one standardised copy;
    ``kept`` when a fit continues; a ``like`` plan's data is standardised already."""
    if like is not None:
        plan.scaling = like.scaling
        if plan.valid_idx is None and plan.valid:  # the same given episodes
            plan.valid = like.valid
        return plan
    given = plan.valid if plan.valid_idx is None else []
    if kept is not None:
        x_ref, y_ref = kept[:2], kept[2:]
    else:
        x_ref = references(plan.episodes + given)
        y_ref = x_ref if plan.targets is None else references(plan.targets)
    episodes = standardise(plan.episodes, *x_ref)
    targets = None if plan.targets is None else standardise(plan.targets, *y_ref)
    if plan.valid_idx is not None:
        plan.valid = [episodes[i] for i in plan.valid_idx]
        plan.valid_y = None if targets is None else [targets[i] for i in plan.valid_idx]
    elif given:  # given validation episodes: inputs and targets alike
        plan.valid = standardise(given, *x_ref)
    plan.episodes, plan.targets, plan.scaling = episodes, targets, (*x_ref, *y_ref)
    return plan


def seeded_initialize(net, seed: int):
    """``net.initialize()`` with torch's CPU generator seeded, then restored.

    The module is built and initialised on the CPU (then moved), so only the CPU
    generator is seeded: the caller's CUDA generators are neither reseeded nor advanced.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        net.initialize()
    return net

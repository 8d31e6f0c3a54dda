"""The seed's clip sampler, vectorised, and the resident clip store it indexes.

The seed's ``Algonauts2025Dataset`` draws, for ever, a random permutation of the
episodes and, for each episode in that order, one offset uniform in ``[0, T - L]``;
an epoch stops after ``samples_per_epoch`` clips (the rest of the permutation is
dropped, the generator carries on). :func:`sample_clip_starts` makes the same draws
from the same ``numpy.random.Generator`` (identical clips for an identical generator
state) with one call per permutation instead of one per clip, and
:class:`ClipStore` holds all training episodes as one subject-major tensor
``(S, T_total, C)`` on the training device, from which a whole batch of clips is
gathered with a single ``index_select``.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["sample_clip_starts", "ClipStore"]


def sample_clip_starts(
    rng: np.random.Generator, lengths, n_samples: int, sample_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Episode index and offset of ``n_samples`` clips, drawn as the seed draws them.

    Parameters
    ----------
    rng : numpy.random.Generator
        Advanced in place, exactly as the seed's dataset advances its own.
    lengths : sequence of int
        Time points of each episode.
    n_samples, sample_length : int

    Returns
    -------
    episodes, offsets : ndarray of shape (n_samples,), int64

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.encoder._sampling import sample_clip_starts
    >>> ep, off = sample_clip_starts(np.random.default_rng(0), [10, 12], 3, 4)
    >>> ep.shape, bool((off <= np.array([10, 12])[ep] - 4).all())
    ((3,), True)
    """
    highs = np.asarray(lengths, dtype=np.int64) - int(sample_length) + 1  # (E,)
    if (highs < 1).any():
        bad = int(np.argmin(highs))
        raise ValueError(
            f"episode {bad} has {int(highs[bad]) + sample_length - 1} time points, fewer than "
            f"sample_length={sample_length}."
        )
    episodes, offsets = [], []
    remaining = int(n_samples)
    while remaining > 0:
        perm = rng.permutation(len(highs))[:remaining]  # (<=E,)
        # One vectorised call draws the same numbers as the seed's scalar calls in turn.
        offs = rng.integers(0, highs[perm])
        episodes.append(perm)
        offsets.append(np.asarray(offs, dtype=np.int64).reshape(-1))
        remaining -= len(perm)
    return np.concatenate(episodes).astype(np.int64), np.concatenate(offsets)


class ClipStore:
    """Episodes concatenated along time, subject-major, resident on one device.

    Parameters
    ----------
    episodes : list of ndarray of shape (S, T_i, C)
    device : torch.device or str
    targets : list of ndarray of shape (S, T_i, C), optional
        Training targets when they differ from the inputs.
    """

    def __init__(self, episodes, device, targets=None):
        self.lengths = np.array([ep.shape[1] for ep in episodes], dtype=np.int64)  # (E,)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])  # (E,)
        self.X = self._stack(episodes, device)  # (S, T_total, C)
        self.Y = self.X if targets is None else self._stack(targets, device)

    @staticmethod
    def _stack(episodes, device):
        return torch.from_numpy(np.concatenate(episodes, axis=1)).to(device)  # (S, T_total, C)

    @property
    def n_subjects(self) -> int:
        return self.X.shape[0]

    def clip_index(self, episodes, offsets, sample_length: int) -> torch.Tensor:
        """Global time index of every time point of every clip: (n, L), int64, on device."""
        first = self.starts[episodes] + offsets  # (n,)
        idx = first[:, None] + np.arange(sample_length)  # (n, L)
        return torch.from_numpy(idx).to(self.X.device)

    def gather(self, index: torch.Tensor):
        """Clips for a (B, L) index: inputs and targets, each (S, B, L, C)."""
        B, L = index.shape
        flat = index.reshape(-1)  # (B*L,)
        x = self.X.index_select(1, flat).view(self.n_subjects, B, L, -1)  # (S, B, L, C)
        if self.Y is self.X:
            return x, x
        return x, self.Y.index_select(1, flat).view(self.n_subjects, B, L, -1)

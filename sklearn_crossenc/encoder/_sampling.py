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
        Training targets when they differ from the inputs (targets equal to the inputs
        are stored once, and train exactly as without targets).
    """

    def __init__(self, episodes, device, targets=None):
        if targets is not None and all(
            t is e or np.array_equal(t, e) for t, e in zip(targets, episodes, strict=True)
        ):
            targets = None
        self.lengths = np.array([ep.shape[1] for ep in episodes], dtype=np.int64)  # (E,)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])  # (E,)
        self.X = self._stack(episodes, device)  # (S, T_total, C)
        self.Y = self.X if targets is None else self._stack(targets, device)
        self._row_sq = None

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

    def gather(self, index: torch.Tensor, out=None):
        """Clips for a (B, L) index: inputs and targets, each (S, B, L, C).

        ``out``: optional ``(x, y)`` buffers of shape (S, B*L, C) to gather into (``y``
        unused when the targets are the inputs); the results then share their memory.
        """
        B, L = index.shape
        flat = index.reshape(-1)  # (B*L,)
        S = self.n_subjects
        x = torch.index_select(self.X, 1, flat, **({} if out is None else {"out": out[0]}))
        x = x.view(S, B, L, -1)  # (S, B, L, C)
        if self.Y is self.X:
            return x, x
        y = torch.index_select(self.Y, 1, flat, **({} if out is None else {"out": out[1]}))
        return x, y.view(S, B, L, -1)

    def new_buffers(self, n_rows: int):
        """Buffers for :meth:`gather` of ``n_rows`` time points: (x, y), each (S, n_rows, C)."""
        x = self.X.new_empty(self.X.shape[0], n_rows, self.X.shape[2])
        return x, (x if self.Y is self.X else self.Y.new_empty(x.shape))

    @property
    def row_sq(self) -> torch.Tensor:
        """Squared norm of every target time point, (S, T_total), float64 (computed once)."""
        if self._row_sq is None:  # a reduction: no full-size temporary
            self._row_sq = torch.linalg.vector_norm(self.Y, dim=-1).double().square_()
        return self._row_sq

    @property
    def mean_square(self) -> float:
        """Mean squared target value over the whole store."""
        return float(self.row_sq.sum()) / self.Y.numel()

    def target_sq(self, index: torch.Tensor) -> torch.Tensor:
        """Each subject's squared target norm over the clips of a (B, L) index: (S,), float32."""
        return self.row_sq[:, index.reshape(-1)].sum(1).float()

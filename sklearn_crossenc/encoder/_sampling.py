"""The seed's clip sampler, vectorised, and the resident clip store it indexes.

The seed's ``Algonauts2025Dataset`` draws, for ever, a random permutation of the
episodes and, for each episode in that order, one offset uniform in ``[0, T - L]``;
an epoch stops after ``samples_per_epoch`` clips (the rest of the permutation is
dropped, the generator carries on). :func:`sample_clip_starts` makes the same draws
from the same ``numpy.random.Generator`` (identical clips for an identical generator
state) with one call per permutation instead of one per clip, and
:class:`ClipStore` holds the training episodes on the training device (on the CPU, the
checked arrays themselves: no copy), from which a whole batch of clips is gathered with
one concatenation of views, into a reused buffer.
"""

from __future__ import annotations

import warnings

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
    """Training episodes, subject-major, resident on one device, and their clips.

    Parameters
    ----------
    episodes : list of ndarray of shape (S, T_i, C)
        On the CPU they are used in place (as tensors sharing their memory).
    device : torch.device or str
    targets : list of ndarray of shape (S, T_i, C), optional
        Training targets when they differ from the inputs (targets equal to the inputs
        are stored once, and train exactly as without targets).

    Notes
    -----
    A clip index (:meth:`clip_index`) is a host array of ``(episode, offset)`` rows;
    :meth:`gather` builds a batch from its rows, :meth:`clip_sq` the squared norm of
    every clip's targets (from the rows' squared norms, computed once: the batch's
    ``t_sq`` without reading the batch).
    """

    def __init__(self, episodes, device, targets=None):
        if targets is not None and all(
            t is e or np.array_equal(t, e) for t, e in zip(targets, episodes, strict=True)
        ):
            targets = None
        self.device = torch.device(device)
        self.lengths = np.array([ep.shape[1] for ep in episodes], dtype=np.int64)  # (E,)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])  # (E,)
        self.X = [self._resident(ep) for ep in episodes]  # E x (S, T_i, C)
        self.Y = self.X if targets is None else [self._resident(ep) for ep in targets]
        self.sample_length = None
        self._row_sq = None

    def _resident(self, ep: np.ndarray) -> torch.Tensor:
        with warnings.catch_warnings():  # read-only arrays are fine: the store only reads
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.from_numpy(ep).to(self.device)  # no copy on the CPU

    @property
    def n_subjects(self) -> int:
        return self.X[0].shape[0]

    @property
    def n_parcels(self) -> int:
        return self.X[0].shape[2]

    def clip_index(self, episodes, offsets, sample_length: int) -> np.ndarray:
        """``(episode, offset)`` of every clip: (n, 2), int64, on the host."""
        self.sample_length = int(sample_length)
        return np.stack([np.asarray(episodes), np.asarray(offsets)], axis=1).astype(np.int64)

    def gather(self, index, out=None):
        """Clips of a (B, 2) clip index: inputs and targets, each (S, B, L, C).

        ``out``: optional ``(x, y)`` buffers of shape (S, B*L, C) to gather into (``y``
        unused when the targets are the inputs); the results then share their memory.
        """
        L = self.sample_length
        rows = [(int(e), int(o)) for e, o in index]
        S, B = self.n_subjects, len(rows)

        def cat(tensors, buf):
            views = [tensors[e][:, o:o + L] for e, o in rows]  # B x (S, L, C)
            return torch.cat(views, dim=1, **({} if buf is None else {"out": buf}))

        x = cat(self.X, None if out is None else out[0]).view(S, B, L, -1)
        if self.Y is self.X:
            return x, x
        return x, cat(self.Y, None if out is None else out[1]).view(S, B, L, -1)

    def new_buffers(self, n_rows: int):
        """Buffers for :meth:`gather` of ``n_rows`` time points: (x, y), each (S, n_rows, C)."""
        x = self.X[0].new_empty(self.n_subjects, n_rows, self.n_parcels)
        return x, (x if self.Y is self.X else torch.empty_like(x))

    @property
    def row_sq(self) -> np.ndarray:
        """Squared norm of every target time point, (S, T_total), float64, on the host."""
        if self._row_sq is None:  # one reduction per episode: no full-size temporary
            self._row_sq = np.concatenate(
                [torch.linalg.vector_norm(y, dim=-1).double().square_().cpu().numpy()
                 for y in self.Y], axis=1)
        return self._row_sq

    @property
    def mean_square(self) -> float:
        """Mean squared target value over the whole store."""
        return float(self.row_sq.sum()) / (self.row_sq.size * self.n_parcels)

    def clip_sq(self, index) -> torch.Tensor:
        """Squared target norm of every clip of a clip index, per subject: (S, n), float64,
        on the device (one transfer per call: an epoch's clips at once)."""
        first = self.starts[index[:, 0]] + index[:, 1]  # (n,)
        rows = first[:, None] + np.arange(self.sample_length)  # (n, L)
        out = self.row_sq[:, rows].sum(-1)  # (S, n)
        return torch.from_numpy(out).to(self.device)

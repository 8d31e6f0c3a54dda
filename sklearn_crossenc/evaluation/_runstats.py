"""Per-run sufficient statistics of (y_true, y_pred) and Pearson r from their weighted sums.

For each run ``r``, subject ``s`` and parcel ``c`` we keep the number of time points,
the means of ``y`` and of the prediction ``p`` and the centred second moments
``sum (y - mean_y)**2``, ``sum (p - mean_p)**2``, ``sum (y - mean_y) (p - mean_p)``.
The Pearson correlation over any multiset of whole runs (a bootstrap resample, a
leave-one-run-out jackknife sample, all runs) follows exactly from the count-weighted
statistics (the pairwise combination of Chan, Golub and LeVeque), so thousands of
resamples cost a matrix product each instead of a pass over the data.

Raw sums of squares would cancel: with data of standard deviation 1 and an offset of
1e6, ``sum y**2 - (sum y)**2 / n`` keeps no correct digit. The moments here are centred
on each run's mean, and the runs' means on the mean over all runs, so the result does not
depend on the data's offset, and (from 1e-150 to 1e150) not on its scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_predictions
from ..metrics import RTOL

__all__ = ["RunStatistics", "run_statistics", "pearson_from_sums"]


@dataclass(frozen=True)
class RunStatistics:
    """Sufficient statistics of one model's predictions, per run, subject and parcel.

    Attributes
    ----------
    n : ndarray of shape (n_runs,)
        Time points per run (after trimming).
    mean_y, mean_p : ndarray of shape (n_runs, n_subjects, n_parcels)
        Mean of y and of the prediction p over each run's time points, in float64.
    m2_yy, m2_pp, m2_yp : ndarray of shape (n_runs, n_subjects, n_parcels)
        Centred second moments over each run's time points:
        ``sum (y - mean_y)**2``, ``sum (p - mean_p)**2`` and
        ``sum (y - mean_y) * (p - mean_p)``, in float64.
    """

    n: np.ndarray
    mean_y: np.ndarray
    mean_p: np.ndarray
    m2_yy: np.ndarray
    m2_pp: np.ndarray
    m2_yp: np.ndarray
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_runs(self) -> int:
        return int(self.n.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_subjects, n_parcels)``."""
        return tuple(self.mean_y.shape[1:])

    # Raw sums, derived (they cancel at large offsets: not used for variances here).
    @property
    def sy(self) -> np.ndarray:
        """Sum of y over each run: ``n * mean_y``."""
        return self.n[:, None, None] * self.mean_y

    @property
    def sp(self) -> np.ndarray:
        """Sum of p over each run: ``n * mean_p``."""
        return self.n[:, None, None] * self.mean_p

    @property
    def syy(self) -> np.ndarray:
        """Sum of y**2 over each run: ``m2_yy + n * mean_y**2``."""
        return self.m2_yy + self.n[:, None, None] * self.mean_y ** 2

    @property
    def spp(self) -> np.ndarray:
        """Sum of p**2 over each run: ``m2_pp + n * mean_p**2``."""
        return self.m2_pp + self.n[:, None, None] * self.mean_p ** 2

    @property
    def syp(self) -> np.ndarray:
        """Sum of y * p over each run: ``m2_yp + n * mean_y * mean_p``."""
        return self.m2_yp + self.n[:, None, None] * self.mean_y * self.mean_p

    def combinable(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-run sums centred on the mean over all runs, and each column's magnitude.

        Returns ``(sums, magnitude)``: ``sums`` of shape (5, n_runs, n_subjects *
        n_parcels) holds, per run, the sums of ``y - c_y``, ``p - c_p``,
        ``(y - c_y)**2``, ``(p - c_p)**2`` and ``(y - c_y) (p - c_p)``, where ``c`` is the
        mean over all runs; any weighted sum of them over runs gives the centred moments
        of the weighted runs without cancellation. ``magnitude`` of shape
        (2, n_subjects * n_parcels) is the largest root mean square of y and of p over
        the runs, the scale against which a series counts as constant. Computed once.
        """
        if "sums" not in self._cache:
            n = self.n.astype(np.float64)[:, None]  # (R, 1)
            flat = [a.reshape(self.n_runs, -1) for a in (
                self.mean_y, self.mean_p, self.m2_yy, self.m2_pp, self.m2_yp)]  # (R, K) each
            my, mp, m2yy, m2pp, m2yp = flat
            total = max(float(n.sum()), 1.0)
            dy = my - (n * my).sum(axis=0) / total  # (R, K) run mean minus overall mean
            dp = mp - (n * mp).sum(axis=0) / total
            with np.errstate(over="ignore", invalid="ignore"):
                sums = np.stack([n * dy, n * dp, m2yy + n * dy * dy, m2pp + n * dp * dp,
                                 m2yp + n * dy * dp])  # (5, R, K)
            if not np.isfinite(sums).all():
                raise ValueError("the runs' means differ by more than float64 can square "
                                 "(about 1e150): rescale the data.")
            rms = [np.hypot(m, np.sqrt(m2 / np.maximum(n, 1.0))).max(axis=0, initial=0.0)
                   for m, m2 in ((my, m2yy), (mp, m2pp))]
            self._cache["sums"] = (sums, np.stack(rms))  # (5, R, K), (2, K)
        return self._cache["sums"]


def run_statistics(y_true, y_pred, *, trim: int = 0) -> RunStatistics:
    """Per-run sufficient statistics of a model's predictions, for fast resampling.

    Parameters
    ----------
    y_true, y_pred : episodes
        4-D arrays ``(runs, subjects, time, parcels)`` or lists of 3-D arrays
        ``(subjects, time_i, parcels)`` with matching shapes (for example
        ``list(data.values())`` and the model's ``predict`` of it).
    trim : int, default=0
        Time points left out at the start and at the end of every run, as in
        :func:`sklearn_crossenc.metrics.pearson_map`.

    Returns
    -------
    stats : RunStatistics

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, pearson_from_sums
    >>> from sklearn_crossenc.metrics import pearson_map
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 2, 40, 5))
    >>> p = y + rng.standard_normal(y.shape)
    >>> st = run_statistics(y, p)
    >>> st.n, st.shape
    (array([40, 40, 40]), (2, 5))
    >>> np.allclose(pearson_from_sums(st, np.ones(3)), pearson_map(y, p))
    True
    """
    trim, yt, yp = check_predictions(y_true, y_pred, trim=trim, finite_predictions=True)
    n = np.array([ep.shape[1] - 2 * trim for ep in yt])
    out = {f: np.empty((len(yt),) + (yt[0].shape[0], yt[0].shape[2]))
           for f in ("mean_y", "mean_p", "m2_yy", "m2_pp", "m2_yp")}
    for r, (a, b) in enumerate(zip(yt, yp, strict=True)):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # checked below
            a, out["mean_y"][r], fa = _centred(a[:, trim: a.shape[1] - trim])  # (S, T, C)
            b, out["mean_p"][r], fb = _centred(b[:, trim: b.shape[1] - trim])  # (S, T, C)
            # sum (a - f)(b - f') = sum a b - n f f' (a and b sum to n f and n f')
            out["m2_yy"][r] = np.einsum("stc,stc->sc", a, a) - n[r] * fa * fa
            out["m2_pp"][r] = np.einsum("stc,stc->sc", b, b) - n[r] * fb * fb
            out["m2_yp"][r] = np.einsum("stc,stc->sc", a, b) - n[r] * fa * fb
        for name, d, key in (("y_true", a, "yy"), ("y_pred", b, "pp")):
            _check_range(out[f"m2_{key}"][r], d, out[f"mean_{key[0]}"][r], f"{name}[{r}]")
    return RunStatistics(n=n, **out)


#: Mean squared deviation below which squares become subnormal (sd below ~1e-153).
_TINY = 1e-306


def _check_range(m2, dev, mean, name: str) -> None:
    """Refuse a run whose squared deviations over- or underflow float64 (standard
    deviations beyond about 1e150 or below about 1e-150): its r would be wrong."""
    n = dev.shape[1]
    small = ~(m2 >= _TINY * n)  # (S, C): NaN and Inf included
    big = ~np.isfinite(m2) | ~np.isfinite(mean)
    if not (small.any() or big.any()):
        return
    spread = np.abs(dev[:, :, small.any(axis=0)]).max(axis=1)  # (S, C'): only the suspects
    varies = np.zeros_like(small)
    varies[:, small.any(axis=0)] = spread > RTOL * (np.abs(mean[:, small.any(axis=0)]) + spread)
    bad = big | (small & varies)
    if bad.any():
        s, c = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} (subject {s}, parcel {c}) deviates from its mean by up to "
            f"{np.abs(dev[s, :, c]).max():.1e}: run statistics hold squared deviations, which "
            "float64 keeps for standard deviations from about 1e-150 to 1e150. Rescale the "
            "data (Pearson r does not depend on its scale).")


#: Offset, in standard deviations, above which a column is centred before its squares
#: are summed: below it, ``sum x**2 - n mean**2`` loses at most ~(6 * 100)**2 * 1e-16
#: < 1e-10 of the variance (6: how far 16 rows may misjudge the spread).
_CENTRE_ABOVE = 100.0


def _centred(x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x - k, mean, mean - k)`` over axis 1 in float64, for a reference ``k``: the mean
    of 16 rows spread over the run where a column's offset exceeds ``_CENTRE_ABOVE`` of
    its spread in those rows, else 0. The deviations are then small next to the spread
    whatever the offset, so their mean gives ``mean - k`` to rounding, and
    ``sum (x - mean)**2 = sum (x - k)**2 - n (mean - k)**2`` loses no digit to the offset.
    Data without a large offset (z-scored runs) skip the centring pass: the float64
    conversion and one mean cost what the plain sums cost."""
    x = np.array(x, dtype=np.float64)  # (S, T, C): a copy (the conversion, for float32)
    rows = x[:, :: max(1, x.shape[1] // 16)]  # (S, <=16+, C)
    k = rows.mean(axis=1)  # (S, C)
    k = np.where(np.abs(k) > _CENTRE_ABOVE * rows.std(axis=1), k, 0.0)
    if k.any():
        x -= k[:, None]
    f = x.mean(axis=1)  # (S, C)
    return x, k + f, f


def _pearson(n, sums, magnitude):
    """Pearson r from summed centred statistics; broadcasts. Matches ``metrics.pearson_r``.

    ``sums`` are ``(sy, sp, syy, spp, syp)`` about a common reference (see
    :meth:`RunStatistics.combinable`). The division is guarded (no epsilon, so no scale
    dependence); a series whose standard deviation is at most ``RTOL`` of its magnitude
    (rounding leaves ~1e-16 of it) counts as constant, and its r is 0, as in
    :func:`~sklearn_crossenc.metrics.pearson_r`.
    """
    sy, sp, syy, spp, syp = sums
    n = np.maximum(n, 1)
    vy = np.maximum(syy - sy * (sy / n), 0.0)
    vp = np.maximum(spp - sp * (sp / n), 0.0)
    cov = syp - sy * (sp / n)
    ok = (np.sqrt(vy / n) > RTOL * magnitude[0]) & (np.sqrt(vp / n) > RTOL * magnitude[1])
    den = np.sqrt(np.where(ok, vy, 1.0)) * np.sqrt(np.where(ok, vp, 1.0))
    return np.where(ok, cov / den, 0.0)


def _check_weights(weights, n_runs: int) -> np.ndarray:
    """``weights`` as a (n_samples, n_runs) float array of finite counts >= 0."""
    if weights is None or isinstance(weights, (str, bytes, dict)):
        raise ValueError(f"weights must be an array of per-run counts; got {weights!r}.")
    try:
        w = np.asarray(weights)
    except ValueError:  # ragged
        raise ValueError("weights must be a 1-D or 2-D array of per-run counts; got a ragged "
                         "sequence.") from None
    if w.dtype.kind not in "biuf" or w.ndim not in (1, 2):
        raise ValueError(f"weights must be a 1-D or 2-D array of per-run counts; got dtype "
                         f"{w.dtype} and shape {w.shape}.")
    w = np.atleast_2d(w.astype(np.float64))  # (B, R)
    if w.shape[1] != n_runs:
        raise ValueError(f"weights cover {w.shape[1]} runs but stats hold {n_runs}.")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        raise ValueError(f"weights must be finite counts >= 0; got {w[i]} at index "
                         f"{i if np.ndim(weights) == 2 else i[1]}.")
    return w


def pearson_from_sums(stats: RunStatistics, weights) -> np.ndarray:
    """Per-subject, per-parcel Pearson r over runs repeated ``weights`` times.

    Parameters
    ----------
    stats : RunStatistics
    weights : array-like of shape (n_runs,) or (n_samples, n_runs)
        How often each run enters (bootstrap counts; 1 everywhere for all runs, a 0 to
        leave a run out). Finite and >= 0.

    Returns
    -------
    r : ndarray of shape (n_subjects, n_parcels) or (n_samples, n_subjects, n_parcels)
        The value :func:`~sklearn_crossenc.metrics.pearson_map` gives on the
        concatenation of the weighted runs (0 where no run is left).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_crossenc.evaluation import run_statistics, pearson_from_sums
    >>> rng = np.random.default_rng(1)
    >>> y = rng.standard_normal((2, 1, 30, 3))
    >>> st = run_statistics(y, 2 * y)
    >>> pearson_from_sums(st, [[1, 1], [2, 0]]).round(6)
    array([[[1., 1., 1.]],
    <BLANKLINE>
           [[1., 1., 1.]]])
    """
    if not isinstance(stats, RunStatistics):
        raise ValueError(f"stats must be the RunStatistics of run_statistics(); got "
                         f"{type(stats).__name__}.")
    w = _check_weights(weights, stats.n_runs)  # (B, R)
    sums, magnitude = stats.combinable()  # (5, R, K), (2, K)
    summed = np.einsum("br,frk->fbk", w, sums)  # (5, B, K)
    n = (w @ stats.n)[:, None]  # (B, 1)
    r = _pearson(n, summed, magnitude[:, None]).reshape((w.shape[0],) + stats.shape)
    return r[0] if np.ndim(weights) == 1 else r  # (S, C) or (B, S, C)

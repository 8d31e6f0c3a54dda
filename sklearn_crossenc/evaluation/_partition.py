"""Variance partitioning of a parcel between a model and the cross-subject prediction.

For every subject and parcel, three linear read-outs of the measured series are fitted
on all evaluation runs but one and scored on that one (leave one run out, so no run is
scored by a fit that saw it): from the model's prediction ``a`` alone, from the
cross-subject prediction ``b`` alone, and from both. Their out-of-sample R² (one minus
the held-out squared errors summed over runs, over the held-out sums of squares) give

* ``unique_model = R²(a, b) - R²(b)``: what only the model explains;
* ``unique_ceiling = R²(a, b) - R²(a)``: what only the other subjects explain;
* ``shared = R²(a) + R²(b) - R²(a, b)``: what both explain.

Every series is centred per run first (a per-run offset is no signal a model could be
credited with), so adding a constant to a parcel or scaling a prediction changes no
piece. The read-outs are closed-form least squares from per-run sufficient statistics:
one pass over the data. Pieces are left as estimated: out of sample, a predictor that
adds nothing costs a little R², so a unique part can be slightly negative where the
truth is zero; clipping at zero would bias every mean upwards. Where the two predictions
are collinear (identical up to scale), the joint read-out is the single one.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_predictions

__all__ = ["partition_variance", "PARTS"]

#: The pieces of :func:`partition_variance`, in report order.
PARTS = ("unique_model", "shared", "unique_ceiling")
# Below this relative determinant the two predictions count as collinear.
_COLLINEAR = 1e-10


def _run_stats(y, a, b) -> np.ndarray:
    """Sums of products of the centred series of one run: (6, S, C) in the order
    yy, aa, bb, ab, ya, yb."""
    y, a, b = (x.astype(np.float64) - x.mean(axis=1, keepdims=True, dtype=np.float64)
               for x in (y, a, b))  # (S, T, C) each
    return np.stack([(y * y).sum(1), (a * a).sum(1), (b * b).sum(1), (a * b).sum(1),
                     (y * a).sum(1), (y * b).sum(1)])


def _one_sse(fit, held, p: int, q: int) -> np.ndarray:
    """Held-out SSE of y on predictor ``p`` (1: a, 2: b) fitted on ``fit``: (S, C)."""
    beta = np.divide(fit[q], fit[p], out=np.zeros_like(fit[p]), where=fit[p] > 0)
    return held[0] - 2 * beta * held[q] + beta ** 2 * held[p]


def _joint_sse(fit, held) -> np.ndarray:
    """Held-out SSE of y on both predictors fitted on ``fit`` (2 x 2 normal equations
    per subject and parcel); collinear pairs fall back to ``a`` alone: (S, C)."""
    aa, bb, ab, ya, yb = fit[1], fit[2], fit[3], fit[4], fit[5]
    det = aa * bb - ab ** 2
    ok = det > _COLLINEAR * aa * bb
    safe = np.where(ok, det, 1.0)
    ba = np.where(ok, (bb * ya - ab * yb) / safe, 0.0)
    bb_ = np.where(ok, (aa * yb - ab * ya) / safe, 0.0)
    sse = (held[0] - 2 * (ba * held[4] + bb_ * held[5])
           + ba ** 2 * held[1] + bb_ ** 2 * held[2] + 2 * ba * bb_ * held[3])
    return np.where(ok, sse, _one_sse(fit, held, 1, 4))


def partition_variance(y_true, model, ceiling) -> dict:
    """Cross-validated variance partitioning of each parcel between two predictions.

    Parameters
    ----------
    y_true, model, ceiling : episodes
        The measured runs, the model's predictions and the cross-subject predictions:
        4-D arrays ``(runs, subjects, time, parcels)`` or lists of ``(subjects, time_i,
        parcels)``; at least 2 runs (each run is held out once).

    Returns
    -------
    parts : dict of str to ndarray of shape (n_subjects, n_parcels)
        ``r2_model``, ``r2_ceiling``, ``r2_both`` (out-of-sample R²) and the pieces
        ``unique_model``, ``shared``, ``unique_ceiling`` (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m, c, e = rng.standard_normal((3, 6, 1, 400, 2))  # 6 runs, 1 subject, 2 parcels
    >>> parts = partition_variance(m + c + e, m, c)   # a third each, nothing shared
    >>> round(float(parts["unique_model"].mean()), 1), round(float(parts["r2_both"].mean()), 1)
    (0.3, 0.7)
    """
    _, yt, ya = check_predictions(y_true, model)
    _, _, yb = check_predictions(y_true, ceiling)
    if len(yt) < 2:
        raise ValueError(f"variance partitioning holds out one run at a time: it needs at "
                         f"least 2 runs, got {len(yt)}")
    stats = np.stack([_run_stats(*runs) for runs in zip(yt, ya, yb, strict=True)])  # (K, 6, S, C)
    total = stats.sum(axis=0)  # (6, S, C)
    sse = np.zeros((3,) + total.shape[1:])  # (3, S, C): a, b, both
    for held in stats:
        fit = total - held
        sse += np.stack([_one_sse(fit, held, 1, 4), _one_sse(fit, held, 2, 5),
                         _joint_sse(fit, held)])
    sst = total[0]
    r2 = 1.0 - np.divide(sse, sst, out=np.ones_like(sse), where=sst > 0)  # (3, S, C)
    r2_model, r2_ceiling, r2_both = r2
    return {
        "r2_model": r2_model,
        "r2_ceiling": r2_ceiling,
        "r2_both": r2_both,
        "unique_model": r2_both - r2_ceiling,
        "shared": r2_model + r2_ceiling - r2_both,
        "unique_ceiling": r2_both - r2_model,
    }

"""``SubjectAdder``'s checks: the fitted encoder it extends, its grids and its kernel's taps."""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError

from .._param_validation import Boolean, Checked, Interval, NoneValue, Options
from ..ridge._folds import check_cv
from ..solvers import check_alphas, check_delays
from ._modules import CrossSubjectConvLinearEncoder

__all__ = ["ADDER_PARAMETERS", "PRIORS", "_unwrap_encoder", "_check_weights",
           "_check_scales", "_check_scale", "_check_kernel_delays"]

#: The decoder's penalties: the empirical-Bayes prior and today's isotropic one.
PRIORS = ("empirical_bayes", "isotropic")


def _unwrap_encoder(encoder):
    """The fitted ``CrossSubjectEncoder`` inside ``encoder`` (itself or a FrozenEstimator)."""
    inner = getattr(encoder, "estimator", None) if type(encoder).__name__ == "FrozenEstimator" \
        else encoder
    module = getattr(getattr(inner, "net_", None), "module_", None)
    if isinstance(module, CrossSubjectConvLinearEncoder):
        return inner
    if hasattr(inner, "get_params") and hasattr(inner, "embed_dim"):
        raise NotFittedError(
            f"encoder {type(inner).__name__} is not fitted; SubjectAdder adds a subject to a "
            "fitted CrossSubjectEncoder (fit it first; sklearn.base.clone of an encoder drops "
            "its fitted state, a clone of SubjectAdder keeps it)."
        )
    raise TypeError(
        f"encoder must be a fitted CrossSubjectEncoder (or a FrozenEstimator of one); got "
        f"{type(encoder).__name__}."
    )


def _check_weights(weights, name: str = "prior_weights") -> np.ndarray:
    """``weights`` as a non-empty 1-D float array in [0, 1]; a clear error otherwise."""
    arr = np.asarray(weights, dtype=object) if not isinstance(weights, (str, bytes)) else None
    ok = arr is not None and arr.ndim == 1 and arr.size > 0 and all(
        isinstance(w, (int, float, np.number)) and not isinstance(w, (bool, np.bool_))
        and 0.0 <= float(w) <= 1.0 for w in arr)
    if not ok:
        raise ValueError(f"{name} must be a non-empty sequence of numbers in [0, 1]; "
                         f"got {weights!r}.")
    return arr.astype(np.float64)


def _check_scales(scales, name: str = "scales") -> np.ndarray:
    """``scales`` as a non-empty 1-D float array of values > 0 (``inf`` allowed)."""
    arr = np.asarray(scales, dtype=object) if not isinstance(scales, (str, bytes)) else None
    ok = arr is not None and arr.ndim == 1 and arr.size > 0 and all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
        and float(v) > 0 for v in arr)
    if not ok:
        raise ValueError(f"{name} must be a non-empty sequence of numbers > 0 (inf: no "
                         f"refinement); got {scales!r}.")
    return arr.astype(np.float64)


def _check_kernel_delays(delays, name: str = "kernel_delays") -> tuple[int, ...]:
    """Distinct ints holding 0 (the identity kernel is always a candidate)."""
    values = check_delays(delays, name)
    if 0 not in values:
        raise ValueError(f"{name} must include 0 (the identity kernel); got {delays!r}.")
    return values


def _check_scale(scale, name: str = "scale") -> float:
    """One number > 0, ``inf`` allowed (no refinement); ``"cv"`` is the table's option."""
    ok = isinstance(scale, (int, float, np.number)) and not isinstance(scale, (bool, np.bool_))
    if not ok or not float(scale) > 0:
        raise ValueError(f"{name} must be a number > 0 (inf: no refinement) or 'cv'; got "
                         f"{scale!r}.")
    return float(scale)


#: ``SubjectAdder``'s parameter constraints (its ``_parameter_table``).
ADDER_PARAMETERS = {
    "prior": [Options(*PRIORS)],
    "scale": [Checked(_check_scale), Options("cv")],
    "scales": [Checked(_check_scales)],
    "shrinkage": [Interval(float, 0, 1), Options("cv")],
    "shrinkages": [Checked(_check_weights)],
    "kernel_delays": [Checked(_check_kernel_delays)],
    "kernel": [Options("cv", "fitted")],
    "alpha": [Interval(float, 0, None, closed="neither"), Options("cv")],
    "prior_weight": [Interval(float, 0, 1), Options("cv")],
    "alphas": [Checked(check_alphas)],
    "prior_weights": [Checked(_check_weights)],
    "cv": [Checked(check_cv)],
    "gap": [Interval(int, 0, None)],
    "delays": [NoneValue(), Checked(check_delays)],
    "fit_encoder": [Boolean()],
    "encoder_alpha": [Interval(float, 0, None, closed="neither")],
    "fit_intercept": [Boolean()],
}

"""The seed's cross-subject encoder: torch module and scikit-learn estimator."""

from ._modules import CrossSubjectConvLinearEncoder

__all__ = ["CrossSubjectConvLinearEncoder"]

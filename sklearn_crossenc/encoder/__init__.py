"""The seed's cross-subject encoder: torch module, skorch net and scikit-learn estimator."""

from ._callbacks import EpochProgressBar
from ._modules import CrossSubjectConvLinearEncoder
from ._net import CrossSubjectNet
from ._sklearn_api import CrossSubjectEncoder

__all__ = [
    "CrossSubjectEncoder",
    "CrossSubjectConvLinearEncoder",
    "CrossSubjectNet",
    "EpochProgressBar",
]

"""The seed's cross-subject encoder: torch module, skorch net and scikit-learn estimator."""

from ._modules import CrossSubjectConvLinearEncoder
from ._net import CrossSubjectNet
from ._new_subject import SubjectAdder
from ._sklearn_api import CrossSubjectEncoder

__all__ = [
    "CrossSubjectEncoder", "CrossSubjectConvLinearEncoder", "CrossSubjectNet", "SubjectAdder",
]

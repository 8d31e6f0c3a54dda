"""The seed's cross-subject encoder: torch module, skorch net and scikit-learn estimator."""

from .._compat import alias_module
from ._callbacks import EpochProgressBar, LRSchedule
from ._estimator import CrossSubjectEncoder
from ._modules import CrossSubjectConvLinearEncoder
from ._net import CrossSubjectNet
from ._new_subject import SubjectAdder
from ._repeats import fit_repeats

__all__ = [
    "CrossSubjectEncoder",
    "CrossSubjectConvLinearEncoder",
    "CrossSubjectNet",
    "EpochProgressBar",
    "LRSchedule",
    "SubjectAdder",
    "fit_repeats",
]

alias_module(__name__ + "._sklearn_api", CrossSubjectEncoder=CrossSubjectEncoder)
del alias_module

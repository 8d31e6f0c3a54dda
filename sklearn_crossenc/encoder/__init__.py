"""The seed's cross-subject encoder: torch module, skorch net and scikit-learn estimator."""

import sys as _sys

from . import _estimator
from ._estimator import CrossSubjectEncoder
from ._modules import CrossSubjectConvLinearEncoder
from ._net import CrossSubjectNet

# Transitional (issue 9): ``distributed.py`` still imports ``resolve_device`` from the old
# module name ``encoder._sklearn_api`` (renamed ``_estimator``). Remove this alias once it
# imports the one device resolution of the job layer.
_sys.modules.setdefault(__name__ + "._sklearn_api", _estimator)

__all__ = ["CrossSubjectEncoder", "CrossSubjectConvLinearEncoder", "CrossSubjectNet"]

"""The encoder's optimizer: a ``torch.optim`` class from a name, and its keywords checked.

``CrossSubjectEncoder(optimizer=...)`` takes None (AdamW, the seed's), a ``torch.optim``
class or its name (``"sgd"``, ``"AdamW"``); ``optimizer__<name>`` keywords must be
arguments of that class. Both are checked in ``fit`` before any work, so that a typo is
one clear message rather than a traceback from inside skorch.
"""

from __future__ import annotations

import inspect

import torch

__all__ = ["resolve_optimizer", "check_optimizer_params"]


def _optimizers() -> dict:
    """torch's optimizer classes by lower-case name (``"adamw"``, ``"sgd"``...)."""
    return {name.lower(): cls for name, cls in vars(torch.optim).items()
            if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
            and cls is not torch.optim.Optimizer}


def resolve_optimizer(optimizer, name: str = "optimizer"):
    """The optimizer class of ``optimizer``: None is AdamW (the seed's); a name of a
    ``torch.optim`` class (any case, e.g. ``"sgd"``) is that class; a subclass of
    ``torch.optim.Optimizer`` is itself; anything else is a clear error.

    Examples
    --------
    >>> from sklearn_crossenc.encoder._estimator import resolve_optimizer
    >>> resolve_optimizer(None).__name__, resolve_optimizer("sgd").__name__
    ('AdamW', 'SGD')
    """
    if optimizer is None:
        return torch.optim.AdamW
    if isinstance(optimizer, str):
        cls = _optimizers().get(optimizer.lower())
        if cls is not None:
            return cls
    elif isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer
    names = ", ".join(sorted(c.__name__ for c in _optimizers().values()))
    raise ValueError(f"{name} must be None, a torch.optim optimizer class or the name of one "
                     f"({names}); got {optimizer!r}.")


def check_optimizer_params(optimizer, params: dict) -> None:
    """Every ``optimizer__<name>`` keyword is an argument of the optimizer."""
    accepted = inspect.signature(optimizer).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    if not takes_any and not {"lr", "weight_decay"} <= set(accepted):
        raise ValueError(f"optimizer {optimizer.__name__} takes no lr or weight_decay, which "
                         "the encoder passes to every optimizer; choose another one.")
    for key in params:
        arg = key[len("optimizer__"):]
        if not takes_any and (arg not in accepted or arg == "params"):
            valid = ", ".join(k for k in accepted if k != "params")
            raise ValueError(f"{key}: {optimizer.__name__} has no argument {arg!r}; its "
                             f"arguments are {valid}.")

"""Declarative parameter validation: each estimator states its constraints once.

An estimator lists, in the class attribute ``_parameter_table``, every constructor
parameter with the constraints its value may satisfy (any one of them suffices), in the
spirit of scikit-learn's own ``_parameter_constraints`` (a name left to scikit-learn's
machinery, which expects its own constraint objects). ``fit`` calls ``_check_params``
(:class:`ParamsMixin`), that is :func:`validate_params`, so that ``__init__`` and
``set_params`` stay free of checks (scikit-learn's convention) and a wrong value is
named before any work:

>>> from sklearn_crossenc._param_validation import Interval, validate_params
>>> validate_params("Model", {"n": 0}, {"n": [Interval(int, 1, None)]})
Traceback (most recent call last):
...
ValueError: Model: n must be an integer >= 1; got 0.

Booleans are strict: ``True``/``False`` (or NumPy booleans) only, never ``"no"``; and an
integer parameter refuses ``True`` (which Python counts as the integer 1).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["Interval", "Options", "Boolean", "NoneValue", "InstanceOf", "HasMethods",
           "Checked", "validate_params", "ParamsMixin"]


class Interval:
    """An integer (``kind=int``) or a finite real number (``kind=float``) in a range.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integers only (not booleans); ``float`` accepts any real
        number that is finite (integers included).
    low, high : number or None
        Bounds; None leaves that side open.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the interval.

    Examples
    --------
    >>> from sklearn_crossenc._param_validation import Interval
    >>> Interval(float, 0, 1, closed="neither").description
    'a number in (0, 1)'
    >>> Interval(int, 1, None)(True), Interval(int, 1, None)(3)
    (False, True)
    """

    def __init__(self, kind, low, high, *, closed: str = "both"):
        if kind not in (int, float) or closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"bad Interval({kind!r}, closed={closed!r})")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def __call__(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        left_ok = self.closed in ("both", "left")
        right_ok = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left_ok)):
            return False
        return not (self.high is not None
                    and (value > self.high or (value == self.high and not right_ok)))

    @property
    def description(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        lo, hi = self.low, self.high
        if hi is None and lo is not None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {lo}"
        if lo is None and hi is not None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {hi}"
        if lo is None:
            return f"a finite {what.split()[-1]}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{what} in {left}{lo}, {hi}{right}"


class Options:
    """One of a fixed set of values (strings, say), compared with ``==`` and by type.

    Examples
    --------
    >>> from sklearn_crossenc._param_validation import Options
    >>> Options("constant", "cosine").description
    "one of 'constant', 'cosine'"
    """

    def __init__(self, *values):
        self.values = values

    def __call__(self, value) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    @property
    def description(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class Boolean:
    """``True`` or ``False`` (Python or NumPy booleans), nothing else."""

    description = "True or False"

    def __call__(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))


class NoneValue:
    """``None``."""

    description = "None"

    def __call__(self, value) -> bool:
        return value is None


class InstanceOf:
    """An instance of one of ``types``, described as ``description``."""

    def __init__(self, types, description: str):
        self.types, self.description = types, description

    def __call__(self, value) -> bool:
        return isinstance(value, self.types)


class HasMethods:
    """An object with every method of ``methods`` (a splitter has ``split``...); never text,
    whose ``str.split`` would pass for a splitter's (``validation='abc'`` was a TypeError)."""

    def __init__(self, *methods):
        self.methods = methods

    def __call__(self, value) -> bool:
        return not isinstance(value, (str, bytes)) and all(
            callable(getattr(value, m, None)) for m in self.methods)

    @property
    def description(self) -> str:
        return "an object with " + ", ".join(f"{m}()" for m in self.methods)


class Checked:
    """A value accepted by ``check(value, name)``, a function that raises its own
    ``ValueError`` (with its own message) for anything else.

    For parameters whose rule needs more than a type and a range (a random state,
    callbacks, a grid of alphas); the function is the one place that rule is written.
    """

    def __init__(self, check: Callable):
        self.check = check


def _message(owner: str, name: str, constraints, value) -> str:
    allowed = " or ".join(c.description for c in constraints)
    return f"{owner}: {name} must be {allowed}; got {value!r}."


def validate_params(owner: str, params: Mapping, constraints: Mapping) -> None:
    """Check every parameter of ``params`` named in ``constraints``.

    Parameters
    ----------
    owner : str
        The estimator's class name, first in every message.
    params : mapping of str to value
        The parameters as stored (``get_params(deep=False)``).
    constraints : mapping of str to list
        Parameter -> constraints; a value is valid when it satisfies any one of them. A
        :class:`Checked` constraint is run last and raises its own message.

    Raises
    ------
    ValueError
        Naming the owner, the parameter, what it must be and the value given.

    Examples
    --------
    >>> from sklearn_crossenc._param_validation import Boolean, validate_params
    >>> validate_params("CrossSubjectRidge", {"fit_intercept": "no"},
    ...                 {"fit_intercept": [Boolean()]})
    Traceback (most recent call last):
    ...
    ValueError: CrossSubjectRidge: fit_intercept must be True or False; got 'no'.
    """
    for name, allowed in constraints.items():
        if name not in params:
            continue
        value = params[name]
        plain = [c for c in allowed if not isinstance(c, Checked)]
        if any(c(value) for c in plain):
            continue
        checks = [c for c in allowed if isinstance(c, Checked)]
        if not checks:
            raise ValueError(_message(owner, name, plain, value))
        for c in checks:
            c.check(value, name)


class ParamsMixin:
    """``_check_params()``: every parameter against the class's ``_parameter_table``.

    Subclasses that need more (rules joining several parameters) extend
    ``_check_params`` and call this one first.
    """

    _parameter_table: dict = {}

    def _check_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False),
                        self._parameter_table)

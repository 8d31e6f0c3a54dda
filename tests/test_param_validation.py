"""Declarative parameter validation: every estimator's table covers every parameter, each
bad value is refused in ``fit`` with a message naming the estimator, the parameter and the
value, and booleans are strict."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_crossenc import (
    CrossSubjectEncoder,
    CrossSubjectRidge,
    EpisodeZScore,
    FeatureRidge,
    MeanOfOthers,
)
from sklearn_crossenc._param_validation import (
    Boolean,
    Checked,
    Interval,
    NoneValue,
    Options,
    validate_params,
)

ESTIMATORS = [CrossSubjectEncoder, CrossSubjectRidge, FeatureRidge, MeanOfOthers, EpisodeZScore]


class BadType:
    """A value no constraint accepts."""

    def __repr__(self):
        return "<BadType>"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_estimator_checks_every_parameter(cls):
    est = cls()
    params = est.get_params(deep=False)
    assert set(cls._parameter_table) == set(params)
    for name in params:
        bad = cls(**{name: BadType()})
        with pytest.raises(ValueError, match=rf"{name}.*<BadType>"):
            bad._check_params()
    est._check_params()  # the defaults are valid


@pytest.mark.parametrize("cls, name", [
    (cls, name) for cls in ESTIMATORS for name, cons in cls._parameter_table.items()
    if any(isinstance(c, Boolean) for c in cons) and not any(isinstance(c, Interval) for c in cons)
], ids=lambda v: getattr(v, "__name__", v))
def test_booleans_are_strict(cls, name):
    for bad in ("no", "maybe", 1, 0, None, "False"):
        with pytest.raises(ValueError, match=f"{cls.__name__}: {name} must be True or False; "
                                             f"got {bad!r}."):
            cls(**{name: bad})._check_params()
    for good in (True, False, np.bool_(True)):
        cls(**{name: good})._check_params()


def test_the_booleans_named_in_the_issue_are_refused():
    with pytest.raises(ValueError, match="normalize must be True or False; got 'maybe'"):
        CrossSubjectEncoder(normalize="maybe")._check_params()
    with pytest.raises(ValueError, match="fit_intercept must be True or False; got 'no'"):
        CrossSubjectRidge(fit_intercept="no")._check_params()


def test_interval_bounds_and_types():
    positive = Interval(int, 1, None)
    assert positive(1) and positive(np.int64(7)) and not positive(0)
    assert not positive(True) and not positive(2.0) and not positive("3")
    fraction = Interval(float, 0, 1, closed="neither")
    assert fraction(0.5) and fraction(1e-9) and not fraction(0) and not fraction(1)
    assert not fraction(float("nan")) and not fraction(float("inf")) and not fraction(False)
    left = Interval(float, 0, 1, closed="left")
    assert left(0) and not left(1)
    assert fraction.description == "a number in (0, 1)"
    assert left.description == "a number in [0, 1)"
    assert Interval(float, 0, None).description == "a number >= 0"
    assert Interval(int, None, 5, closed="neither").description == "an integer < 5"


def test_options_compare_type_and_value():
    opts = Options("constant", "cosine")
    assert opts("cosine") and not opts("Cosine") and not opts(1)
    assert Options(1, 2)(1) and not Options(1, 2)(True)  # True == 1 but is no option


def test_validate_params_message_and_checked_constraints():
    table = {"n": [NoneValue(), Interval(int, 1, None)], "s": [Options("a", "b")]}
    validate_params("M", {"n": None, "s": "a", "other": object()}, table)
    with pytest.raises(ValueError, match=r"^M: n must be None or an integer >= 1; got 0\.$"):
        validate_params("M", {"n": 0}, table)
    with pytest.raises(ValueError, match=r"^M: s must be one of 'a', 'b'; got 'c'\.$"):
        validate_params("M", {"s": "c"}, table)

    def check(value, name):
        if value != "ok":
            raise ValueError(f"{name} is not ok; got {value!r}.")

    validate_params("M", {"c": "ok"}, {"c": [Checked(check)]})
    with pytest.raises(ValueError, match="^c is not ok; got 'no'.$"):
        validate_params("M", {"c": "no"}, {"c": [Checked(check)]})


def test_fit_checks_before_any_work(monkeypatch):
    X = np.zeros((3, 2, 20, 4), np.float32)

    def never(*args, **kwargs):
        raise AssertionError("validation must come first")

    monkeypatch.setattr("sklearn_crossenc.ridge._cross_subject.check_episodes", never)
    with pytest.raises(ValueError, match="CrossSubjectRidge: verbose must be"):
        CrossSubjectRidge(verbose="loud").fit(X)

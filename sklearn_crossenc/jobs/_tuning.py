"""How every model chooses its settings on the training runs, and what it chose.

Fair by default: each learned model tunes on the training runs only, on the protocol's
folds (:meth:`~sklearn_crossenc.jobs._protocol.Protocol.tuning_cv`), never on an
evaluation set:

- the ridges choose each parcel's alpha by cross-validation over the folds (in ``fit``);
- the encoder's training length is chosen by early stopping on the last fold (the
  ``validation`` the registry gives it), then, with ``refit``, it is trained again on
  every training run for the number of epochs chosen;
- with ``tune``, the encoder's architecture is chosen by ``GridSearchCV`` over the same
  folds with the Pearson scorer (each candidate early-stopped on its own last fold), and
  the refitted winner is evaluated.

:func:`fit_model` does one model's tuning and fit and returns what it chose, for the
report's protocol section.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._registry import EARLY_STOPPING_FOLDS, ModelSpec

__all__ = ["SearchProgress", "TuningPlan", "check_early_stopping", "fit_model", "search_rows"]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class SearchProgress:
    """A scorer that logs a grid search's progress each time it scores a fit.

    ``GridSearchCV`` fits candidate by candidate, fold by fold, and scores each fit on its
    held-out fold once: each call logs ``"<label>: k of n fits done (candidate c of C, fold
    f of F); t so far, about u left"`` (``u`` from the mean time per fit so far), then
    returns ``scorer``'s score. For searches in this process (``n_jobs=1``): the counts of
    fits run in other processes do not come back.

    Examples
    --------
    >>> from sklearn_crossenc.jobs._tuning import SearchProgress
    >>> lines = []
    >>> p = SearchProgress(lambda est, X, y=None: 0.5, 2, 3, "grid", lines.append)
    >>> p(None, None), lines[0].split(";")[0]
    (0.5, 'grid: 1 of 6 fits done (candidate 1 of 2, fold 1 of 3)')
    """

    def __init__(self, scorer, n_candidates: int, n_folds: int, label: str, log):
        self.scorer, self.n_candidates, self.n_folds = scorer, n_candidates, n_folds
        self.label, self.log = label, log
        self.done, self.start = 0, time.perf_counter()

    def __call__(self, estimator, X, y=None, **kwargs):
        score = self.scorer(estimator, X, y, **kwargs)
        self.done += 1
        total = self.n_candidates * self.n_folds
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (total - self.done)
        candidate, fold = divmod(self.done - 1, self.n_folds)
        self.log(f"{self.label}: {min(self.done, total)} of {total} fits done (candidate "
                 f"{min(candidate + 1, self.n_candidates)} of {self.n_candidates}, fold "
                 f"{fold + 1} of {self.n_folds}); {_duration(elapsed)} so far, about "
                 f"{_duration(max(left, 0.0))} left")
        return score


def check_early_stopping(value, name: str = "early_stopping"):
    """``"folds"``, None or a fraction in (0, 1); a clear error otherwise."""
    if value is None or value == EARLY_STOPPING_FOLDS:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be {EARLY_STOPPING_FOLDS!r} (the last of the protocol's "
                         "tuning folds), a fraction of the training runs in (0, 1), or None "
                         f"(the notebook's fixed schedule); got {value!r}.")
    return float(value)


@dataclass(frozen=True)
class TuningPlan:
    """How the models of one job tune.

    Attributes
    ----------
    cv : splitter
        The tuning folds over the training runs.
    early_stopping : {"folds"} or float or None
        The encoder's early stopping (see :func:`check_early_stopping`).
    refit : bool
        After early stopping, train the encoder again on every training run for the
        number of epochs chosen.
    tune : bool
        Search each model's registry grid (or ``param_grid``) with ``GridSearchCV``.
    param_grid : mapping, optional
        Grid replacing the registry's, for the model with a grid.
    n_jobs : int
        Parallel fits of the search (joblib).
    n_threads : int or None
        Threads of every fit: the encoder's torch threads (its ``n_threads``) and the BLAS
        threads of the ridges' products and eigendecompositions. Fixed, a fit gives the same
        numbers in the calling process, a joblib worker or a Dask worker (a BLAS sums in an
        order that depends on its thread count); None leaves each process's default.
    """

    cv: object
    early_stopping: object = EARLY_STOPPING_FOLDS
    refit: bool = False
    tune: bool = False
    param_grid: Mapping | None = None
    n_jobs: int = 1
    n_threads: int | None = None

    def grid_of(self, spec: ModelSpec) -> dict:
        """The grid ``spec`` is searched over with ``tune`` (empty: not searched)."""
        if not self.tune or not spec.grid:
            return {}
        return {k: list(v) for k, v in (self.param_grid or spec.grid).items()}


def _fit(est, X, y):
    return est.fit(X) if y is None else est.fit(X, y)


def search_rows(cv_results: Mapping) -> list[dict]:
    """Each candidate of a search: its parameters, mean and std CV score, rank."""
    return [{"params": dict(p), "mean": float(m), "std": float(s), "rank": int(r)}
            for p, m, s, r in zip(cv_results["params"], cv_results["mean_test_score"],
                                  cv_results["std_test_score"],
                                  cv_results["rank_test_score"], strict=True)]


def _search(spec: ModelSpec, params: dict, grid: dict, X, y, plan: TuningPlan, log):
    """``GridSearchCV`` of ``spec`` over ``grid`` on the tuning folds; the refit winner."""
    from sklearn.model_selection import GridSearchCV

    from ..metrics import pearson_scorer

    params = {k: v for k, v in params.items() if k != "callbacks"}  # no bar per fit
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    log(f"{spec.label}: --tune: {n_candidates} candidates x {plan.cv.get_n_splits()} folds "
        "of training runs ...")
    scorer = pearson_scorer
    if plan.n_jobs == 1:  # fits in this process: each one scored is logged
        scorer = SearchProgress(pearson_scorer, n_candidates, plan.cv.get_n_splits(),
                                f"{spec.label} --tune", log)
    search = GridSearchCV(spec.make(params), grid, scoring=scorer, cv=plan.cv,
                          refit=True, error_score="raise", n_jobs=plan.n_jobs)
    t0 = time.perf_counter()
    _fit(search, X, y)
    info = {"grid": grid, "candidates": search_rows(search.cv_results_),
            "best_params": dict(search.best_params_), "best_score": float(search.best_score_),
            "n_splits": int(search.n_splits_), "seconds": time.perf_counter() - t0}
    return search.best_estimator_, info


def _refit_epochs(est, X, y, log):
    """The early-stopped encoder trained again on every run for its chosen epochs."""
    from sklearn.base import clone

    epochs = int(est.best_epoch_)
    log(f"{type(est).__name__}: refit on every training run for the chosen {epochs} epochs ...")
    return _fit(clone(est).set_params(validation=None, max_epochs=epochs), X, y)


def fit_model(spec: ModelSpec, params: dict, X, y, plan: TuningPlan, log) -> tuple:
    """Tune and fit one model on the training runs.

    Returns
    -------
    estimator : the fitted estimator that is evaluated
    tuning : dict
        ``tuned`` (what the model tunes, in words), ``chosen`` (its ``choices``: epochs
        and held-out curve, alpha distribution...), ``search`` (with ``tune``: the grid,
        each candidate's CV score, the winner, seconds), ``refit`` (whether the encoder was
        trained again on every run) and ``seconds`` (tuning and fitting).
    """
    t0 = time.perf_counter()
    grid = plan.grid_of(spec)
    tuning = {"tuned": spec.tuned, "search": None, "refit": False}
    if grid:
        est, tuning["search"] = _search(spec, params, grid, X, y, plan, log)
    else:
        est = _fit(spec.make(params), X, y)
    tuning["chosen"] = dict(spec.choices(est)) if spec.choices is not None else {}
    tuning["tuned"] = tuning["chosen"].pop("tuned", spec.tuned)
    if grid:
        tuning["tuned"] += f"; {', '.join(grid)} (grid search)"
    if plan.refit and getattr(est, "best_epoch_", None) is not None:
        est = _refit_epochs(est, X, y, log)
        tuning["refit"] = True
    tuning["seconds"] = time.perf_counter() - t0
    return est, tuning

"""Job: add a new subject to an encoder trained on the others, at several data budgets.

:func:`run_new_subject` trains :class:`CrossSubjectEncoder` on every subject but the new
one (Friends seasons 1-5), adds the new subject with :class:`SubjectAdder` from the first
minutes of their Friends seasons 1-5 data, and scores the new subject on Friends season 6
and Movie10 run 1. Side by side at the same budgets: ``CrossSubjectRidge`` for the new
subject from the others' mean, ``MeanOfOthers`` and, on request, the encoder trained from
scratch on all subjects with all the data (the reference).

A budget of ``m`` minutes is ``round(60 m / TR)`` time points (TR = 1.49 s): the runs the
new subject shares with all the others are taken in the loader's order (sorted by name,
``s01e01a`` first) until that many time points are reached, the last run cut short.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from ..data import SUBJECTS, TR, load_friends, load_movie10
from ._settings import EVAL_SETS, clip_length_cap

__all__ = ["budget_trs", "take_budget", "split_for_cv", "run_new_subject",
           "DEFAULT_ALPHAS"]

#: Decoder penalties searched by ``GridSearchCV`` at each budget.
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-2, 6, 9))


def budget_trs(minutes) -> int | None:
    """Time points in ``minutes`` of data (None: all the data).

    Examples
    --------
    >>> budget_trs(1), budget_trs(5), budget_trs(None)
    (40, 201, None)
    """
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
        raise ValueError(f"a budget must be a number of minutes > 0 or None; got {minutes!r}.")
    return int(round(60.0 * minutes / TR))


def take_budget(episodes: list[np.ndarray], n_trs: int | None) -> list[np.ndarray]:
    """The first ``n_trs`` time points of ``episodes`` (list of (S, T_i, C)), run by run.

    Examples
    --------
    >>> import numpy as np
    >>> eps = [np.zeros((2, 30, 3)), np.zeros((2, 30, 3)), np.zeros((2, 30, 3))]
    >>> [e.shape[1] for e in take_budget(eps, 45)]
    [30, 15]
    """
    if n_trs is None:
        return list(episodes)
    out, left = [], int(n_trs)
    for ep in episodes:
        if left <= 0:
            break
        out.append(ep[:, :left])
        left -= out[-1].shape[1]
    if left > 0:
        raise ValueError(
            f"a budget of {n_trs} time points exceeds the {n_trs - left} the data holds."
        )
    return out


def split_for_cv(episodes: list[np.ndarray], n_splits: int = 5) -> list[np.ndarray]:
    """Cut episodes into contiguous pieces until there are ``n_splits`` (for a k-fold CV).

    Episodes are left whole when there are enough; else each is cut into ``k_i`` equal
    pieces, one more piece each time for the episode whose pieces are longest.

    Examples
    --------
    >>> import numpy as np
    >>> [e.shape[1] for e in split_for_cv([np.zeros((2, 40, 3))], 5)]
    [8, 8, 8, 8, 8]
    >>> [e.shape[1] for e in split_for_cv([np.zeros((2, 470, 3)), np.zeros((2, 133, 3))])]
    [118, 118, 117, 117, 133]
    """
    lengths = np.array([e.shape[1] for e in episodes], dtype=float)  # (E,)
    pieces = np.ones(len(episodes), dtype=int)  # (E,)
    while pieces.sum() < n_splits:
        pieces[int(np.argmax(lengths / pieces))] += 1
    if (lengths < pieces).any():
        raise ValueError(
            f"{int(lengths.sum())} time points are too few to cut into {n_splits} folds."
        )
    return [part for ep, k in zip(episodes, pieces, strict=True)
            for part in np.array_split(ep, k, axis=1)]


def _new_subject_score(estimator, X, y=None) -> float:
    """Scorer: the seed's Pearson score of the last (new) subject only."""
    return float(estimator.score_map(X, y)[-1].mean())


def _scores(est, eval_data: dict, subject: int) -> dict:
    """Mean Pearson r of one subject (index) on every evaluation set."""
    return {name: float(est.score_map(eps)[subject].mean()) for name, eps in eval_data.items()}


def _load(data_dir, new_subject: int, log) -> tuple[dict, list]:
    if new_subject not in SUBJECTS:
        raise ValueError(f"new_subject must be one of {SUBJECTS}; got {new_subject!r}.")
    others = tuple(s for s in SUBJECTS if s != new_subject)
    everyone = others + (new_subject,)
    log(f"loading subjects {others} and {new_subject} from {data_dir}")
    data = {
        "train_others": list(load_friends(data_dir, subjects=others,
                                          seasons=range(1, 6)).values()),
        "train_all": list(load_friends(data_dir, subjects=everyone,
                                       seasons=range(1, 6)).values()),
        "friends_s6": list(load_friends(data_dir, subjects=everyone, seasons=[6]).values()),
        "movie10_run1": list(load_movie10(data_dir, subjects=everyone, runs=[1]).values()),
    }
    return data, list(others)


def _add(encoder, train: list, eval_data: dict, alphas, n_splits: int) -> dict:
    """Search the decoder's alpha, refit on the whole budget, score the new subject."""
    from ..encoder import SubjectAdder

    t0 = time.perf_counter()
    search = GridSearchCV(SubjectAdder(encoder), {"alpha": list(alphas)},
                          cv=KFold(n_splits), scoring=_new_subject_score)
    search.fit(split_for_cv(train, n_splits))
    total = time.perf_counter() - t0
    out = _scores(search.best_estimator_, eval_data, -1)
    out.update(alpha=float(search.best_params_["alpha"]), add_time_s=search.refit_time_,
               search_time_s=total - search.refit_time_)
    return out


def _add_with_encoder(encoder, train: list, eval_data: dict, alpha: float) -> dict:
    """The fitted subjects' mean score once the new subject also has an encoder."""
    from ..encoder import SubjectAdder

    t0 = time.perf_counter()
    adder = SubjectAdder(encoder, alpha=alpha, fit_encoder=True).fit(train)
    elapsed = time.perf_counter() - t0
    S = adder.n_subjects_ - 1
    out = {name: float(adder.score_map(eps)[:S].mean()) for name, eps in eval_data.items()}
    out["add_time_s"] = elapsed
    return out


def _ridge(train: list, eval_data: dict, n_splits: int) -> dict:
    """``CrossSubjectRidge`` of the new subject from the others' mean (as subject 0)."""
    from ..ridge import CrossSubjectRidge

    def pair(eps):  # (S+1, T, C) -> (2, T, C): [mean of the others, new subject]
        return [np.stack([ep[:-1].mean(axis=0), ep[-1]]) for ep in eps]

    t0 = time.perf_counter()
    ridge = CrossSubjectRidge(cv=n_splits).fit(pair(split_for_cv(train, n_splits)))
    elapsed = time.perf_counter() - t0
    out = _scores(ridge, {k: pair(v) for k, v in eval_data.items()}, 1)
    out["fit_time_s"] = elapsed
    return out


def _fit_encoder(train: list, params: dict, log, what: str):
    from ..encoder import CrossSubjectEncoder

    log(f"training the encoder on {what}")
    t0 = time.perf_counter()
    if "sample_length" not in params:  # short runs (the tiny synthetic set)
        params = {**params, **clip_length_cap(min(ep.shape[1] for ep in train))}
    enc = CrossSubjectEncoder(**params).fit(train)
    return enc, time.perf_counter() - t0


def run_new_subject(data_dir, *, new_subject=5, budgets_min=(1, 5, 15, 60, None),
                    encoder_params=None, alphas=DEFAULT_ALPHAS, n_splits=5, baselines=True,
                    reference=False, with_encoder=True, log=None) -> dict:
    """Learning curve of a subject added to an encoder trained on the others.

    Parameters
    ----------
    data_dir : str or Path
        Competitor release folder or synthetic dataset (read only).
    new_subject : int, default=5
    budgets_min : sequence of float or None, default=(1, 5, 15, 60, None)
        Minutes of the new subject's Friends s1-5 data; None means all of it.
    encoder_params : dict, optional
        ``CrossSubjectEncoder`` parameters (default: its defaults, ``random_state=0``).
    alphas : sequence of float
        Decoder penalties searched by ``GridSearchCV`` (``n_splits`` folds over runs, runs
        halved until there are enough).
    n_splits : int, default=5
    baselines : bool, default=True
        Also ``CrossSubjectRidge`` (same budgets) and ``MeanOfOthers``.
    reference : bool, default=False
        Also train the encoder from scratch on all subjects with all the data.
    with_encoder : bool, default=True
        Also give the new subject an encoder and score the fitted subjects with it.
    log : callable, optional
        Called with progress messages.

    Returns
    -------
    result : dict
        ``budgets``: one dict per budget (``minutes``, ``n_trs``, ``n_runs``, ``added``,
        ``ridge``, ``added_encoder``); ``frozen``, ``mean_of_others``, ``reference``:
        scores per evaluation set; ``encoder_fit_time_s`` and the subjects.
    """
    log = log or (lambda msg: None)
    params = {"random_state": 0, **(encoder_params or {})}
    data, others = _load(data_dir, new_subject, log)
    eval_data = {k: data[k] for k in EVAL_SETS}
    enc, enc_time = _fit_encoder(data["train_others"], params, log, f"subjects {others}")
    S = len(others)
    frozen_eval = {k: [ep[:S] for ep in v] for k, v in eval_data.items()}
    result = {
        "new_subject": new_subject, "fitted_subjects": others, "encoder_params": params,
        "encoder_fit_time_s": enc_time,
        "available_trs": int(sum(ep.shape[1] for ep in data["train_all"])),
        "frozen": {k: float(enc.score_map(v).mean()) for k, v in frozen_eval.items()},
        "budgets": [],
    }
    for minutes in budgets_min:
        n = budget_trs(minutes)
        train = take_budget(data["train_all"], n)
        log(f"adding subject {new_subject} with {minutes or 'all'} min ({len(train)} runs)")
        row = {"minutes": minutes, "n_runs": len(train),
               "n_trs": int(sum(ep.shape[1] for ep in train)),
               "added": _add(enc, train, eval_data, alphas, n_splits)}
        if with_encoder:
            row["added_encoder"] = _add_with_encoder(enc, train, eval_data,
                                                     row["added"]["alpha"])
        if baselines:
            row["ridge"] = _ridge(train, eval_data, n_splits)
        result["budgets"].append(row)
    if baselines:
        from ..ridge import MeanOfOthers

        result["mean_of_others"] = _scores(MeanOfOthers().fit(eval_data["friends_s6"]),
                                           eval_data, -1)
    if reference:
        ref, ref_time = _fit_encoder(data["train_all"], params, log, "all subjects")
        result["reference"] = {**_scores(ref, eval_data, -1), "fit_time_s": ref_time}
    return result

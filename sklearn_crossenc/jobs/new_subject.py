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

from ..encoder._kernel_prior import EB_SCALES, KERNEL_DELAYS
from ..encoder._new_subject import PRIOR_WEIGHTS
from ..ridge import DEFAULT_ALPHAS
from ..ridge._folds import piece_counts
from . import _registry
from ._job import JobStart, noop
from ._preflight import preflight_new_subject
from ._protocol import (
    SEED_PROTOCOL,
    Protocol,
    budget_trs,
    job_data,
)
from ._registry import REGISTRY, JobSettings, clip_length_cap
from ._tuning import check_early_stopping

__all__ = ["budget_trs", "take_budget", "split_for_cv", "run_new_subject", "DECODER_ALPHAS"]

#: Decoder strengths searched at each budget (with the prior weights of ``SubjectAdder``):
#: the ridge's grid (:data:`sklearn_crossenc.ridge.DEFAULT_ALPHAS`), 17 values from 1e-2 to
#: 1e6, SubjectAdder's default; its search is closed form, so the whole grid costs little.
DECODER_ALPHAS = DEFAULT_ALPHAS


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
    pieces = piece_counts([e.shape[1] for e in episodes], n_splits)  # (E,)
    return [part for ep, k in zip(episodes, pieces, strict=True)
            for part in np.array_split(ep, k, axis=1)]


def _scores(est, eval_data: dict, subject: int) -> dict:
    """Mean Pearson r of one subject (index) on every evaluation set."""
    return {name: float(est.score_map(eps)[subject].mean()) for name, eps in eval_data.items()}


def _load(root, protocol: Protocol, new_subject: int, progress: bool, log, store=None
          ) -> tuple[dict, list]:
    """The protocol's sets: the training runs of the fitted subjects alone and of every
    subject (the new one last), and the evaluation sets of every subject; ``store``: read
    into it (on disk) instead of memory."""
    others = tuple(s for s in protocol.subjects if s != new_subject)
    everyone = protocol.with_subjects(others + (new_subject,))
    log(f"loading subjects {others} and {new_subject} from {root}")
    data = {
        "train_others": list(protocol.train.load(protocol.source(root), others,
                                                 progress=progress, store=store).values()),
        **{k: list(v.values()) for k, v in everyone.load(root, progress=progress,
                                                          store=store).items()},
    }
    data["train_all"] = data.pop(protocol.train.key)
    return data, list(others)


def _chosen(adder) -> dict:
    """What ``SubjectAdder``'s CV chose, JSON-ready: the kernel, the penalty, the strengths
    (``scale``/``alpha`` None and ``refined`` False when it kept the prior itself)."""
    lams = adder.strengths_
    refined = bool(np.all(np.isfinite(lams)))
    finite = lambda v: None if v is None or not np.isfinite(v) else float(v)  # noqa: E731
    identity = [float(e == 0) for e in adder.kernel_delays_]
    return {"prior": adder.prior, "kernel_delays": list(adder.kernel_delays_),
            "kernel": [float(h) for h in adder.kernel_],
            "kernel_fitted": [float(h) for h in adder.kernel_] != identity,
            "scale": finite(adder.scale_), "alpha": finite(adder.alpha_),
            "shrinkage": adder.shrinkage_,
            "prior_weight": adder.prior_weight_, "refined": refined,
            "strength_quantiles": ([float(q) for q in np.quantile(lams, (0.1, 0.5, 0.9))]
                                   if refined else None)}


def _add(encoder, train: list, eval_data: dict, adder_params: dict, n_splits: int) -> dict:
    """Choose the kernel and the decoder's penalty by ``SubjectAdder``'s own CV over the
    budget's runs (``n_splits`` folds; runs cut into pieces when fewer), which refits on
    the whole budget; score the new subject. ``search_time_s`` is that fit, ``add_time_s``
    one fit at the chosen values (kernel, scale or alpha and weight fixed)."""
    from ..encoder import SubjectAdder

    t0 = time.perf_counter()
    adder = SubjectAdder(encoder, cv=n_splits, **adder_params).fit(train)
    search_time = time.perf_counter() - t0
    out = {**_scores(adder, eval_data, -1), **_chosen(adder)}
    fixed = {"scale": adder.scale_} if adder.prior == "empirical_bayes" \
        else {"alpha": adder.alpha_, "prior_weight": adder.prior_weight_}
    fixed.update({"kernel": "fitted"} if out["kernel_fitted"] else {"kernel_delays": (0,)})
    t0 = time.perf_counter()
    SubjectAdder(encoder, **{**adder_params, **fixed}).fit(train)
    out.update(add_time_s=time.perf_counter() - t0, search_time_s=search_time)
    return out


def _add_with_encoder(encoder, train: list, eval_data: dict, alpha: float) -> dict:
    """The fitted subjects' mean score once the new subject also has an encoder (which
    does not depend on the new subject's decoder: ``alpha`` only spares a search)."""
    from ..encoder import SubjectAdder

    t0 = time.perf_counter()
    adder = SubjectAdder(encoder, prior="isotropic", alpha=alpha, prior_weight=1.0,
                         kernel_delays=(0,), fit_encoder=True).fit(train)
    elapsed = time.perf_counter() - t0
    S = adder.n_subjects_ - 1
    out = {name: float(adder.score_map(eps)[:S].mean()) for name, eps in eval_data.items()}
    out["add_time_s"] = elapsed
    return out


def _ridge(train: list, eval_data: dict, n_splits: int) -> dict:
    """``CrossSubjectRidge`` of the new subject from the others' mean (as subject 0)."""
    def pair(eps):  # (S+1, T, C) -> (2, T, C): [mean of the others, new subject]
        return [np.stack([ep[:-1].mean(axis=0), ep[-1]]) for ep in eps]

    t0 = time.perf_counter()
    ridge = REGISTRY["ridge"].make({"cv": n_splits}).fit(pair(split_for_cv(train, n_splits)))
    elapsed = time.perf_counter() - t0
    out = _scores(ridge, {k: pair(v) for k, v in eval_data.items()}, 1)
    out["fit_time_s"] = elapsed
    return out


def _fit_encoder(train: list, params: dict, log, what: str):
    log(f"training the encoder on {what}")
    t0 = time.perf_counter()
    if "sample_length" not in params:  # short runs (the tiny synthetic set)
        params = {**params, **clip_length_cap(min(ep.shape[1] for ep in train))}
    enc = REGISTRY["encoder"].make(params).fit(train)
    return enc, time.perf_counter() - t0


def _check_n_splits(n_splits) -> int:
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
    return n_splits


def run_new_subject(data_dir=None, *, new_subject=None, budgets_min=(1, 5, 15, 60, None),
                    encoder_params=None, prior="empirical_bayes", scales=EB_SCALES,
                    kernel_delays=KERNEL_DELAYS, alphas=DECODER_ALPHAS, n_splits=5,
                    baselines=True,
                    reference=False, with_encoder=True, device="auto", random_state=0,
                    n_threads=None, quick=False, progress=False, log=None,
                    protocol: Protocol = SEED_PROTOCOL, early_stopping="folds",
                    dataset=None, stream=None) -> dict:
    """Learning curve of a subject added to an encoder trained on the others.

    Parameters
    ----------
    data_dir : str or Path, optional
        Competitor release folder or synthetic dataset (read only); None: the default
        synthetic dataset, generated once into the cache folder.
    new_subject : int or str, optional
        One of the protocol's subjects; default 5, or a ``dataset``'s last subject.
    budgets_min : sequence of float or None, default=(1, 5, 15, 60, None)
        Minutes of the new subject's training runs (Friends s1-5); None means all of it.
    encoder_params : dict, optional
        ``CrossSubjectEncoder`` parameters; default the jobs' encoder settings
        (the seed's, with ``device``, ``random_state``, ``n_threads`` and ``quick``).
    prior : {"empirical_bayes", "isotropic"}, default="empirical_bayes"
        ``SubjectAdder``'s penalty of the decoder.
    scales : sequence of float, default=EB_SCALES
        Empirical Bayes: the scales of the per-parcel strengths searched (``inf``: the
        prior itself), by ``SubjectAdder``'s cross-validation (``n_splits`` folds over
        runs, runs cut into pieces until there are enough).
    kernel_delays : tuple of int, default=KERNEL_DELAYS
        Taps of the newcomer's temporal kernel (-2 .. 2); ``(0,)``: none.
    alphas : sequence of float, default=DECODER_ALPHAS
        Isotropic: decoder strengths searched, with ``SubjectAdder``'s prior weights.
    n_splits : int, default=5
    baselines : bool, default=True
        Also ``CrossSubjectRidge`` (same budgets) and ``MeanOfOthers``.
    reference : bool, default=False
        Also train the encoder from scratch on all subjects with all the data.
    with_encoder : bool, default=True
        Also give the new subject an encoder and score the fitted subjects with it.
    device, random_state, n_threads, quick :
        The encoder's job settings, as in :func:`~sklearn_crossenc.jobs.compare.run_comparison`.
    progress : bool, default=False
        Progress bars (loading, the encoder's epochs) on stderr.
    log : callable, optional
        Called with progress messages.
    protocol : Protocol, optional
        Training and evaluation sets and subjects (default the seed's).
    dataset : path-like or DatasetDescription, optional
        A ``dataset.toml`` instead of the release layout (its subjects, runs and
        repetition time: a budget of ``m`` minutes is ``round(60 m / tr)`` time points).
    early_stopping : "folds", float or None, default="folds"
        The encoders' training length, chosen on their training runs as in
        :func:`~sklearn_crossenc.jobs.compare.run_comparison` (None: the notebook's 10
        epochs).
    stream : bool, optional
        As for :func:`~sklearn_crossenc.jobs.compare.run_comparison`: the runs on disk
        (memory-mapped) when they would take more than half the memory available, always
        (True) or never (False).

    Returns
    -------
    result : dict
        The common top level of every job (``schema_version``, ``job``, ``created_utc``,
        ``config``, ``environment``, ``timings``), then ``new_subject``,
        ``fitted_subjects``, ``eval_sets``, ``available_trs``, ``frozen`` (the fitted
        subjects' scores), ``budgets`` (one dict per budget: ``minutes``, ``n_trs``,
        ``n_runs``, ``added`` (scores, the chosen kernel and penalty, seconds), ``ridge``,
        ``added_encoder``), ``mean_of_others`` and
        ``reference`` (scores per evaluation set; None when not computed).
    """
    from .._device import resolve_device

    log = log or noop
    start = JobStart("add-subject")
    budgets = list(budgets_min)
    for minutes in budgets:
        budget_trs(minutes)
    n_splits = _check_n_splits(n_splits)
    root, protocol = job_data(data_dir, dataset, protocol, progress=progress, log=log)
    if new_subject is None:  # the release's 5, a dataset's last subject
        new_subject = 5 if protocol.dataset is None else protocol.subjects[-1]
    adder_params = {"prior": prior, "scales": tuple(scales), "alphas": tuple(alphas),
                    "kernel_delays": tuple(kernel_delays)}
    _check_adder_params(adder_params)
    dev = str(resolve_device(device))
    storage = preflight_new_subject(root, protocol, new_subject, budgets, n_splits, n_threads,
                                    random_state, stream=stream)

    check_early_stopping(early_stopping)
    settings = JobSettings(quick=quick, random_state=random_state, device=dev,
                           n_threads=n_threads, progress=progress, early_stopping=early_stopping,
                           cv=protocol.tuning_cv(quick))
    params = (dict(encoder_params) if encoder_params is not None
              else _registry.encoder_params(settings))
    log(f"Runs: {storage.reason}.")
    with storage.store() as store:  # the runs' scratch file (if any) ends with the job
        return _learning_curve(locals(), start, root, protocol, params, store, storage)


def _learning_curve(args: dict, start, root, protocol: Protocol, params: dict, store,
                    storage) -> dict:
    """The job once checked: load (into ``store`` when the runs are streamed), fit the
    encoder on the others, add the new subject at every budget. ``args``: the job's
    arguments after their checks."""
    new_subject, log, budgets, dev = (args[k] for k in ("new_subject", "log", "budgets",
                                                         "dev"))
    baselines, reference, with_encoder = (args[k] for k in ("baselines", "reference",
                                                             "with_encoder"))
    t0 = time.perf_counter()
    data, others = _load(root, protocol, new_subject, args["progress"], log, store)
    load_s = time.perf_counter() - t0
    eval_data = {k: data[k] for k in protocol.eval_sets}
    enc, enc_time = _fit_encoder(data["train_others"], params, log, f"subjects {others}")
    S = len(others)
    frozen_eval = {k: [ep[:S] for ep in v] for k, v in eval_data.items()}
    curve = [_budget_row(enc, data["train_all"], eval_data, minutes, args["adder_params"],
                         args["n_splits"], with_encoder, baselines, log, new_subject,
                         protocol.tr)
             for minutes in budgets]
    mean_of_others = ref = None
    if baselines:
        first = next(iter(eval_data.values()))
        mean_of_others = _scores(REGISTRY["mean"].make({}).fit(first), eval_data, -1)
    if reference:
        est, ref_time = _fit_encoder(data["train_all"], params, log, "all subjects")
        ref = {**_scores(est, eval_data, -1), "fit_time_s": ref_time}
    config = {"data_dir": str(root),
              "default_dataset": args["data_dir"] is None and protocol.dataset is None,
              "new_subject": new_subject, "budgets_min": budgets, "n_splits": args["n_splits"],
              "prior": args["prior"], "kernel_delays": list(args["kernel_delays"]),
              "scales": [float(v) if np.isfinite(v) else "inf" for v in args["scales"]],
              "alphas": list(args["alphas"]), "prior_weights": list(PRIOR_WEIGHTS),
              "baselines": baselines, "reference": reference,
              "with_encoder": with_encoder, "quick": bool(args["quick"]), "device": dev,
              "random_state": args["random_state"], "n_threads": args["n_threads"],
              "early_stopping": args["early_stopping"],
              "encoder_params": _jsonable_params(params), "protocol": protocol.describe(),
              "storage": storage.describe()}
    return start.result(
        config, {"load_s": load_s, "encoder_fit_s": enc_time}, device=dev,
        new_subject=new_subject, fitted_subjects=others, eval_sets=protocol.eval_sets,
        available_trs=int(sum(ep.shape[1] for ep in data["train_all"])),
        frozen={k: float(enc.score_map(v).mean()) for k, v in frozen_eval.items()},
        budgets=curve, mean_of_others=mean_of_others, reference=ref)


def _jsonable_params(params: dict) -> dict:
    """The encoder's parameters without callbacks (progress bars are not settings)."""
    return {k: v for k, v in params.items() if k != "callbacks"}


def _check_adder_params(params: dict) -> None:
    """``SubjectAdder``'s own checks of the job's adder settings, before any fit."""
    from ..encoder import SubjectAdder

    SubjectAdder(None, **params)._check_params()


def _budget_row(enc, train_all, eval_data, minutes, adder_params, n_splits, with_encoder,
                baselines, log, new_subject, tr) -> dict:
    """The new subject added with ``minutes`` of data (``tr`` s per time point), beside
    the baselines."""
    n = budget_trs(minutes, tr)
    train = take_budget(train_all, n)
    budget = "all the data" if minutes is None else f"{minutes:g} min"
    log(f"adding subject {new_subject} with {budget} ({len(train)} runs)")
    row = {"minutes": minutes, "n_runs": len(train),
           "n_trs": int(sum(ep.shape[1] for ep in train)),
           "added": _add(enc, train, eval_data, adder_params, n_splits)}
    if with_encoder:  # the new encoder does not depend on the decoder: any fixed strength
        row["added_encoder"] = _add_with_encoder(enc, train, eval_data, 1000.0)
    if baselines:
        row["ridge"] = _ridge(train, eval_data, n_splits)
    return row

"""The headroom job: any model's predictions against the cross-subject ceiling.

:func:`run_headroom` scores a user's stimulus models (prediction files in the challenge's
submission format, or arrays) on the protocol's evaluation runs, beside
``CrossSubjectEncoder`` (the ceiling: trained here with the fair protocol, or read from
an earlier ``compare`` / ``headroom`` output with ``ceiling=``), ``CrossSubjectRidge``,
``MeanOfOthers``, the noise ceilings and, on synthetic data, the oracle. For each user
model it reports the headroom (the ceiling minus the model, with its interval, paired
test and parcels below and above the ceiling at the FDR), the model's share of the
ceiling, the variance partitioning and, where networks are known, a summary per network
(:mod:`._headroom`). Every prediction file is read and checked against the data before
the first fit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data import load_predictions, subject_label
from ..evaluation import run_statistics
from ..metrics import pearson_map
from ._evaluate import evaluate_comparison
from ._fits import scores_of
from ._headroom import (
    add_challenge_scores,
    ceiling_predictions,
    headroom_fields,
    headroom_step,
    parcel_networks,
)
from ._job import JobStart, noop
from ._preflight import _subject_runs, check_evaluation_options, preflight_comparison
from ._protocol import SEED_PROTOCOL, Protocol, job_data, load_sets
from ._registry import EARLY_STOPPING_FOLDS, REGISTRY, JobSettings, reference_model
from ._storage import Storage
from ._tuning import check_early_stopping

__all__ = ["CEILING_FILE", "run_headroom", "read_ceiling"]

#: The file of a compare / headroom output folder holding the ceiling's evaluation
#: predictions (one group per subject, one dataset per run), read by ``ceiling=``.
CEILING_FILE = "ceiling_predictions.h5"
#: The built-in models scored beside the user's (the reference is the ceiling).
BASELINES = ("ridge", "mean")


def _check_names(predictions) -> dict:
    """``{name: source}`` from a mapping or a sequence of paths (named by their stems)."""
    if isinstance(predictions, (str, Path)) or not predictions:
        raise ValueError("predictions must be a non-empty mapping of name -> file or arrays, "
                         f"or a sequence of files; got {predictions!r}.")
    named = (dict(predictions) if isinstance(predictions, Mapping)
             else {Path(p).stem: p for p in predictions})
    if not isinstance(predictions, Mapping) and len(named) != len(predictions):
        raise ValueError("two prediction files share a stem; name them (NAME=FILE).")
    taken = {s.label for s in REGISTRY.values()} | set(REGISTRY)
    for name in named:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a model's name must be a non-empty string; got {name!r}.")
        if name in taken:
            raise ValueError(f"model name {name!r} is a built-in model's; name the file "
                             "otherwise (NAME=FILE).")
    return named


def read_ceiling(folder, root: Path, protocol: Protocol, trim: int):
    """The ceiling's predictions and its record from an earlier output ``folder``.

    Refuses a folder without a compare / headroom ``report.json`` and the ceiling file,
    or one made from another data folder, other subjects, sets or trim.
    """
    folder = Path(folder).expanduser()
    try:
        doc = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"--ceiling {folder}: no readable report.json of crossenc compare or "
                         f"headroom ({err}).") from None
    if not isinstance(doc, dict) or doc.get("job") not in ("compare", "headroom"):
        raise ValueError(f"--ceiling {folder}: report.json is not crossenc compare's or "
                         "headroom's.")
    config = doc.get("config") or {}
    want = {"data folder": (config.get("data_dir"), str(root)),
            "subjects": ((config.get("protocol") or {}).get("subjects"),
                         list(protocol.subjects)),
            "evaluation sets": ((config.get("protocol") or {}).get("evaluation"),
                                protocol.eval_sets),
            "trim": (config.get("trim"), trim)}
    for what, (had, now) in want.items():
        if had != now:
            raise ValueError(f"--ceiling {folder} was made with {what} {had!r}; this run "
                             f"has {now!r}. Make the ceiling with the same settings.")
    path = folder / CEILING_FILE
    if not path.is_file():
        raise ValueError(f"--ceiling {folder} holds no {CEILING_FILE} (made by a compare "
                         "with the encoder fitted once: without --repeats).")
    model = (doc.get("ceiling_model") or {}).get("name", "CrossSubjectEncoder")
    return load_predictions(path, name=model, verbatim=protocol.dataset is not None), doc


def _needed(root: Path, protocol: Protocol) -> dict:
    """Subject label -> run -> (own length, common length) of every evaluation run."""
    out: dict = {subject_label(s): {} for s in protocol.subjects}
    if protocol.dataset is not None:  # lengths read and checked by load_dataset
        per_subject = {s: protocol.dataset.lengths[s] for s in protocol.subjects}
        for rs in protocol.evaluation:
            for run in rs.keys:
                shortest = min(runs[run] for runs in per_subject.values())
                for s, runs in per_subject.items():
                    out[subject_label(s)][run] = (runs[run], shortest)
        return out
    for rs in protocol.evaluation:
        per_subject = {s: _subject_runs(root, s, rs.kind) for s in protocol.subjects}
        common = set.intersection(*({k for k, (e, _) in runs.items() if rs.selects(e)}
                                    for runs in per_subject.values()))
        for run in sorted(common):
            shortest = min(runs[run][1] for runs in per_subject.values())
            for s, runs in per_subject.items():
                out[subject_label(s)][run] = (runs[run][1], shortest)
    return out


def _check_predictions(sets: dict, needed: dict, n_parcels: int, log) -> list[str]:
    """Every prediction set checked against the data: one message for all problems."""
    problems, notes = [], []
    for name, pset in sets.items():
        try:
            notes += [f"{name}: {n}" for n in pset.check(needed, n_parcels)]
        except ValueError as err:
            problems.append(str(err))
    if problems:
        raise ValueError("\n".join(problems))
    for note in notes:
        log(note)
    return notes


def _user_scores(psets: dict, sets: dict, protocol: Protocol, trim: int, labels) -> tuple:
    """Each user model's entry, maps, run statistics and predictions per evaluation set."""
    entries, maps, stats, preds = {}, {}, {}, {}
    for name, pset in psets.items():
        t0 = time.perf_counter()
        for key in protocol.eval_sets:
            runs = sets[key]
            pred = pset.episodes(list(runs), protocol.subjects,
                                 [x.shape[1] for x in runs.values()])
            target = list(runs.values())
            maps.setdefault(name, {})[key] = pearson_map(target, pred, trim=trim)  # (S, C)
            stats.setdefault(name, {})[key] = run_statistics(target, pred, trim=trim)
            preds.setdefault(name, {})[key] = pred
        entries[name] = {"status": "ok", "source": pset.source, "params":
                         {"predictions": pset.source}, "fit_s": 0.0,
                         "eval_s": time.perf_counter() - t0,
                         "scores": {k: scores_of(m, labels) for k, m in maps[name].items()},
                         "tuning": {}, "n_repeats": 1}
    return entries, maps, stats, preds


def run_headroom(
    predictions,
    data_dir=None,
    *,
    ceiling=None,
    device: str = "auto",
    quick: bool = False,
    random_state: int | None = 0,
    trim: int = 0,
    subjects: Sequence[int] | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    n_threads: int | None = None,
    early_stopping=EARLY_STOPPING_FOLDS,
    refit: bool = True,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    fdr: float = 0.05,
    atlas=None,
    protocol: Protocol = SEED_PROTOCOL,
    dataset=None,
    stream: bool | None = None,
) -> dict:
    """Score models' predictions against the cross-subject ceiling, parcel by parcel.

    Parameters
    ----------
    predictions : mapping of str to file or arrays, or sequence of files
        Each model's predictions of the evaluation runs: an ``.npy`` holding the
        challenge's submission dict (``{"sub-01": {"s06e01a": (T, parcels)}}``, read
        without running any code), the same dict in ``.npz`` (``"sub-01/s06e01a"`` keys)
        or HDF5 (a group per subject), or such a dict. A sequence names each model by its
        file's stem.
    data_dir : path-like, optional
        As for :func:`~sklearn_crossenc.jobs.compare.run_comparison`.
    ceiling : path-like, optional
        The output folder of an earlier ``compare`` or ``headroom`` on the same data,
        subjects, sets and trim: its ceiling's predictions are used instead of training the
        encoder (``CrossSubjectRidge`` is still fitted; ``MeanOfOthers`` needs no fit).
    device, quick, random_state, trim, subjects, progress, log, n_threads, early_stopping,
    refit, n_resamples, confidence, fdr, atlas, protocol, dataset, stream
        As for :func:`~sklearn_crossenc.jobs.compare.run_comparison` (one fit of the
        encoder: no repeats, no tuning of its architecture).

    Returns
    -------
    result : dict
        The comparison's result (``models`` with every model's scores under the project's
        rule and the challenge's, ``evaluation``, ``ceiling``, ``maps``) with
        ``user_models`` (their names), ``headroom`` (model -> set -> ``mean``,
        ``interval``, ``p``, ``parcels_below``, ``parcels_above``, ``n_parcels``,
        ``ratio``), ``partition`` (model -> set -> unique and shared parts),
        ``networks`` (model -> set -> rows, when the parcels' networks are known),
        ``ceiling_model`` (how the ceiling was made) and ``predictions`` (the ceiling's,
        written to :data:`CEILING_FILE`).
    """
    log = log or noop
    start = JobStart("headroom")
    check_early_stopping(early_stopping)
    check_evaluation_options(n_resamples, confidence, fdr, atlas)
    from .compare import _find_atlas, _plan

    named = _check_names(predictions)
    root, protocol = job_data(data_dir, dataset, protocol, progress=progress, log=log)
    if subjects is not None:
        protocol = protocol.with_subjects(subjects)
    pre = _prepare(named, root, ceiling, protocol, device, trim, early_stopping,
                   n_threads, random_state, atlas, log, stream)
    atlas, atlas_reason = _find_atlas(pre.root, protocol, atlas)
    plan = _plan(protocol, quick, early_stopping, refit, False, None, 1, n_threads)
    log(f"Runs: {pre.storage.reason}.")
    with pre.storage.store() as store:  # the runs' scratch file (if any) ends with the job
        return _headroom_job(locals(), pre, protocol, plan, atlas, atlas_reason, start, store)


def _headroom_job(args: dict, pre, protocol: Protocol, plan, atlas, atlas_reason, start,
                  store) -> dict:
    """The headroom job once checked: load (into ``store`` when the runs are streamed),
    fit, score, evaluate. ``args``: the job's arguments after their checks."""
    from .compare import _config, _oracle

    quick, random_state, progress, log = (args[k] for k in ("quick", "random_state",
                                                            "progress", "log"))
    n_threads, early_stopping, n_resamples, confidence, fdr = (
        args[k] for k in ("n_threads", "early_stopping", "n_resamples", "confidence", "fdr"))
    sets, data, load_s = load_sets(pre.root, protocol, progress, log, store)
    maps: dict = {}
    oracle = _oracle(pre.root, protocol, sets, pre.trim, data, maps)
    settings = JobSettings(
        quick=quick, random_state=random_state, device=pre.device, progress=progress,
        n_threads=n_threads, early_stopping=early_stopping, cv=plan.cv,
        modalities=protocol.modalities,
        min_train_length=min(pre.storage.lengths[protocol.train.key].values()))
    results, stats, preds, ref = _score_all(pre, sets, maps, settings, plan, protocol,
                                            data["subject_labels"], log)
    log(f"Evaluation: intervals ({n_resamples} resamples), paired tests, noise ceilings ...")
    evaluation = evaluate_comparison(pre.root, protocol, sets, stats, maps, data, dict(
        n_resamples=n_resamples, confidence=confidence, fdr=fdr, random_state=random_state,
        reference=ref))
    headroom = headroom_step({k: list(sets[k].values()) for k in protocol.eval_sets}, preds,
                             stats, evaluation, maps, ceiling=ref, models=list(pre.models),
                             confidence=confidence, trim=pre.trim,
                             networks=parcel_networks(data))
    config = _config(dict(args, trim=pre.trim, tune=False, param_grid=None, repeats=1,
                          n_jobs=1, scheduler=None),
                     pre.root, pre.specs, pre.device, atlas, atlas_reason, protocol, plan,
                     pre.storage)
    config.update(models=list(results), ceiling=pre.ceiling_from,
                  predictions={n: p.source for n, p in pre.models.items()})
    timings = {"load_s": load_s, "fit_s": {n: r["fit_s"] for n, r in results.items()
                                           if "source" not in r},
               "evaluation_s": evaluation["seconds"]}
    return start.result(
        config, timings, device=pre.device, data=data, eval_sets=protocol.eval_sets,
        ceiling=oracle, models=results, evaluation=evaluation, user_models=list(pre.models),
        ceiling_model={"name": ref, "trained_here": pre.ceiling is None,
                       "from": pre.ceiling_from},
        notes=pre.notes, **headroom_fields(headroom), maps=maps,
        predictions=ceiling_predictions(preds, ref, data))


@dataclass
class _Prepared:
    """What the headroom job checked and read before its first fit."""

    root: Path
    specs: list
    device: str
    trim: int
    storage: Storage  # where the runs are held, and their lengths
    models: dict  # name -> PredictionSet of the user's models
    ceiling: object  # PredictionSet of the ceiling read back, or None
    ceiling_from: str | None
    notes: list


def _prepare(named, root, ceiling, protocol, device, trim, early_stopping,
             n_threads, random_state, atlas, log, stream=None) -> _Prepared:
    """Options, data, prediction files and the ceiling to read back, all checked."""
    from .compare import _check_options

    names = list(BASELINES) if ceiling is not None else ["encoder", *BASELINES]
    specs, dev, trim = _check_options(names, device, trim, early_stopping, 1, None, 1, None,
                                      stream)
    storage = preflight_comparison(root, protocol, specs, trim, n_threads, random_state,
                                   atlas=atlas, stream=stream, n_kept=len(specs) + len(named))
    verbatim = protocol.dataset is not None  # a dataset's run keys, as written
    models = {name: load_predictions(src, name=name, verbatim=verbatim)
              for name, src in named.items()}
    read_back = None if ceiling is None else read_ceiling(ceiling, root, protocol, trim)[0]
    every = {**models, **({} if read_back is None else {read_back.name: read_back})}
    notes = _check_predictions(every, _needed(root, protocol), _n_parcels(root, protocol), log)
    return _Prepared(root, specs, dev, trim, storage, models, read_back,
                     None if ceiling is None else str(Path(ceiling).expanduser()), notes)


def _score_all(pre: _Prepared, sets, maps, settings, plan, protocol, labels, log) -> tuple:
    """Fit the built-in models, score the given predictions: ``(results, stats,
    predictions, ceiling's name)``; the maps go into ``maps``."""
    from .compare import _run_models

    results, _, stats, preds = _run_models(pre.specs, pre.root, sets, maps, settings, plan, 1,
                                           protocol, pre.trim, labels, log)
    given = dict(pre.models)
    if pre.ceiling is not None:
        ref = pre.ceiling.name
        given = {ref: pre.ceiling, **given}
    else:
        ref = reference_model(pre.specs).label
    entries, gmaps, gstats, gpreds = _user_scores(given, sets, protocol, pre.trim, labels)
    if pre.ceiling is not None:
        entries[ref]["ceiling_from"] = pre.ceiling_from
    results = ({ref: entries.pop(ref)} if pre.ceiling is not None else {}) | results | entries
    _merge((maps, stats, preds), (gmaps, gstats, gpreds))
    add_challenge_scores(results, sets, preds)
    return results, stats, preds, ref


def _merge(into, parts) -> None:
    for target, part in zip(into, parts, strict=True):
        target.update(part)


def _n_parcels(root: Path, protocol: Protocol) -> int:
    from ._preflight import parcel_count

    if protocol.dataset is not None:
        return protocol.dataset.n_parcels
    return parcel_count(root, protocol.subjects[0])

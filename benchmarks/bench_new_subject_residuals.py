"""Benchmark: the newcomer's top residual components as unpenalised covariates (issue 30, item 3).

One reading of the issue's prototype, measured and not kept: after ``SubjectAdder`` (kernel and
empirical-Bayes prior, the default) is fitted on the budget, the newcomer's training residual
``R`` (time x parcels) gives its top ``k`` spatial patterns ``V_k`` (SVD); the covariates are the
fitted subjects' mean activity in those patterns, ``mean_s X_s V_k`` (available when predicting),
and ``R`` is regressed on them without penalty (least squares, with an intercept). Subject 5 at
5 minutes and with all the data, ``k`` in 1, 2, 5, 10, 20, scored on Friends s6 and Movie10
run 1 beside the method alone; prints the seconds of the SVD. The encoder is the job's on
subjects 1, 2, 3 (``--encoder-cache``: the folder ``bench_new_subject.py`` keeps it in).

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/bench_new_subject_residuals.py [--data-seed N] \\
        [--encoder-cache /tmp/DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_new_subject import keep_encoders  # noqa: E402

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc.data import ensure_default_dataset  # noqa: E402
from sklearn_crossenc.encoder import SubjectAdder  # noqa: E402
from sklearn_crossenc.jobs import _registry  # noqa: E402
from sklearn_crossenc.jobs import new_subject as job  # noqa: E402
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL  # noqa: E402
from sklearn_crossenc.metrics import pearson_map  # noqa: E402

COMPONENTS = (1, 2, 5, 10, 20)


def _r(eps, preds) -> float:
    """Subject 5's (index 3) mean Pearson r over parcels of concatenated episodes."""
    y = np.concatenate([e[3] for e in eps])[None]  # (1, T, C)
    return float(pearson_map([y], [np.concatenate(preds)[None]])[0].mean())


def with_residual_components(adder, train, eval_data) -> dict:
    """Scores of the method alone and with ``k`` residual components, and the SVD's seconds."""
    t0 = time.perf_counter()
    R = np.concatenate([e[3] for e in train]) \
        - np.concatenate([p[3] for p in adder.predict(train)])  # (T, C)
    M = np.concatenate([e[:3].mean(0) for e in train])  # (T, C): the others' mean
    _, _, Vt = np.linalg.svd(R - R.mean(0), full_matrices=False)  # (C, C)
    out = {"svd_s": time.perf_counter() - t0}
    base = {k: adder.predict(eps) for k, eps in eval_data.items()}
    out["method"] = {k: _r(eps, [p[3] for p in base[k]]) for k, eps in eval_data.items()}
    for n in COMPONENTS:
        V = Vt[:n].T  # (C, n)
        coef = np.linalg.lstsq(np.c_[M @ V, np.ones(len(M))], R, rcond=None)[0]  # (n + 1, C)
        out[f"k={n}"] = {
            k: _r(eps, [p[3] + np.c_[e[:3].mean(0) @ V, np.ones(e.shape[1])] @ coef
                        for p, e in zip(base[k], eps, strict=True)])
            for k, eps in eval_data.items()}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--encoder-cache", default=None)
    args = p.parse_args(argv)
    print("machine:", json.dumps(environment_info("cpu")))
    root = ensure_default_dataset(scale="small", data_seed=args.data_seed, log=print)
    data, others = job._load(root, SEED_PROTOCOL, 5, False, print)
    settings = _registry.JobSettings(random_state=0, early_stopping="folds",
                                     cv=SEED_PROTOCOL.tuning_cv(False))
    with keep_encoders([], args.encoder_cache, f"small-seed{args.data_seed}"):
        enc, _ = job._fit_encoder(data["train_others"], _registry.encoder_params(settings),
                                  print, f"subjects {others}")
    eval_data = {k: data[k] for k in SEED_PROTOCOL.eval_sets}
    res = {}
    for minutes in (5, None):
        train = job.take_budget(data["train_all"], job.budget_trs(minutes))
        res[str(minutes)] = with_residual_components(SubjectAdder(enc).fit(train), train,
                                                     eval_data)
        for name, scores in res[str(minutes)].items():
            print(f"{minutes or 'all'} min, {name}:", scores if name == "svd_s"
                  else {k: round(v, 4) for k, v in scores.items()}, flush=True)
    print("machine after:", json.dumps(environment_info("cpu")["load_average"]))
    return res


if __name__ == "__main__":
    main()

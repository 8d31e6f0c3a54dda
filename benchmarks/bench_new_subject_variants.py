"""Benchmark: what was tried for issue 21 beside ``SubjectAdder``'s method, and not kept.

On a synthetic dataset (default: ``small``, data seed 0, from the package's cache), with the
jobs' encoder settings: an encoder trained on subjects 1, 2, 3 (frozen), then subject 5 added
from 1 minute, 5 minutes and all of their Friends s1-5 data by

* the method (``SubjectAdder()``: toward ``w W0``, weight and strength by CV over runs);
* a strength and weight chosen per parcel (same CV, same grids);
* the fitted subjects' latents side by side instead of their mean (prior ``W0 / S`` each);
* a short gradient fine-tune of the newcomer's own parameters through the frozen network:
  the decoder plus a depthwise temporal kernel (the seed's ``ConvLinear``), from the closed
  form, Adam, squared-error or Pearson loss, 50 or 200 steps (1 and 5 minutes only);

the prior alone with no data, as the fitted decoders' average (the method), as the least-
squares map from the latent to the fitted subjects' average prediction, and projected on the
latent's strongest directions; and several newcomers at once (an encoder on subjects 1, 2;
subjects 3 and 5 with 5 minutes each, each newcomer's decoder reading the latent average that
holds the other's encoded latent). Scores: the new subject's mean Pearson r on Friends s6 and
Movie10 run 1. Prints the machine and one line per measurement; writes a JSON.

Usage::

    OMP_NUM_THREADS=1 nice python benchmarks/bench_new_subject_variants.py [--data-seed N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn_crossenc._environment import environment_info  # noqa: E402
from sklearn_crossenc._io import atomic_write_json  # noqa: E402
from sklearn_crossenc.data import ensure_default_dataset  # noqa: E402
from sklearn_crossenc.encoder import SubjectAdder  # noqa: E402
from sklearn_crossenc.encoder._prior_ridge import group_prior  # noqa: E402
from sklearn_crossenc.jobs import _registry  # noqa: E402
from sklearn_crossenc.jobs import new_subject as job  # noqa: E402
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL  # noqa: E402
from sklearn_crossenc.metrics import pearson_map  # noqa: E402
from sklearn_crossenc.ridge._folds import cv_row_splits  # noqa: E402
from sklearn_crossenc.solvers import (  # noqa: E402
    RidgeStats,
    centred_train,
    ridge_fold_scores,
    split_blocks,
    sum_stats,
)

SETS = ("friends_s6", "movie10_run1")
BUDGETS = (1, 5, None)
WEIGHTS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def _r(y_eps, p_eps) -> float:
    """Mean Pearson r over parcels of concatenated (T, C) targets and predictions."""
    return float(pearson_map([np.concatenate(y_eps)[None]], [np.concatenate(p_eps)[None]])
                 [0].mean())


class Frozen:
    """The frozen encoder's latents of every set, computed once: (S, T, D) per episode."""

    def __init__(self, enc, data: dict, fitted: list[int]):
        self.enc, self.fitted = enc, fitted
        self.z = {k: [SubjectAdder._latents(enc, np.ascontiguousarray(ep[fitted]))
                      .double().numpy() for ep in eps] for k, eps in data.items()}

    def zbar(self, key, n=None):
        zs = self.z[key] if n is None else job.take_budget(self.z[key], n)
        return [z.mean(0) for z in zs]


def _scores(data, new, feats: dict, predict) -> dict:
    return {k: _r([ep[new] for ep in data[k]], [predict(x) for x in feats[k]]) for k in SETS}


def _cv_tensor(X, Y, w0, b0, alphas, gap=3):
    """Per-fold stats and the (G, A, C) validation Pearson r averaged over folds."""
    lengths = [len(x) for x in X]
    block_of, ftr, fte = split_blocks(cv_row_splits(lengths, 5, gap), sum(lengths))
    blocks = [RidgeStats.zeros(X[0].shape[1], Y[0].shape[1], np.float64)
              for _ in range(int(block_of.max()) + 1)]
    start = 0
    for x, y in zip(X, Y, strict=True):
        ids = block_of[start:start + len(x)]
        for b in np.unique(ids):
            blocks[b].add(x[ids == b], y[ids == b])
        start += len(x)
    del b0  # fitted with an intercept: the prior's intercept does not enter the scores
    cv = np.mean([ridge_fold_scores(sum_stats(blocks, tr), sum_stats(blocks, te), alphas,
                                    scoring="pearson", prior=w0, prior_weights=WEIGHTS)
                  for tr, te in zip(ftr, fte, strict=True)], axis=0)
    return sum_stats(blocks, list(range(len(blocks)))), cv


def _solve_per_target(stats, w0, weights, alphas):
    """The shrunk ridge with a (weight, alpha) per parcel: coef (P, C), intercept (C,)."""
    xx, xy, mx, my = centred_train(stats, True)
    lam, V = np.linalg.eigh(xx)
    U = (V.T @ xy + alphas * weights * (V.T @ w0)) / (lam[:, None] + alphas[None, :])
    coef = V @ U
    return coef, my - mx @ coef


def per_parcel_and_side_by_side(fz: Frozen, data, new, n, w0, b0, alphas) -> dict:
    train = job.take_budget(data["train_all"], n)
    Y = [ep[new].astype(np.float64) for ep in train]
    out = {}
    X = fz.zbar("train_all", n)
    full, cv = _cv_tensor(X, Y, w0, b0, alphas)
    g, a = np.unravel_index(np.argmax(cv.reshape(-1, cv.shape[2]), axis=0), cv.shape[:2])
    coef, icpt = _solve_per_target(full, w0, WEIGHTS[g], np.asarray(alphas)[a])
    out["per-parcel weight and strength"] = _scores(
        data, new, {k: fz.zbar(k) for k in SETS}, lambda x: x @ coef + icpt)
    S = len(fz.fitted)
    side = {k: [np.concatenate(list(z), axis=1) for z in fz.z[k]] for k in SETS}
    X = [np.concatenate(list(z), axis=1) for z in job.take_budget(fz.z["train_all"], n)]
    w0s = np.concatenate([w0 / S] * S)
    full, cv = _cv_tensor(X, Y, w0s, b0, alphas)
    gi, ai = np.unravel_index(np.argmax(cv.mean(axis=2)), cv.shape[:2])
    coef, icpt = _solve_per_target(full, w0s, np.full(w0.shape[1], WEIGHTS[gi]),
                                   np.full(w0.shape[1], np.asarray(alphas)[ai]))
    out["fitted subjects' latents side by side"] = _scores(data, new, side,
                                                           lambda x: x @ coef + icpt)
    return out


def fine_tune(fz: Frozen, data, new, n, adder, steps, loss_kind, kernel=5) -> dict:
    """Decoder and depthwise kernel from the closed form, through the frozen latents."""
    torch.manual_seed(0)
    train = job.take_budget(data["train_all"], n)
    zs = [torch.tensor(z) for z in fz.zbar("train_all", n)]
    ys = [torch.tensor(ep[new].astype(np.float64)) for ep in train]
    D = zs[0].shape[1]
    W = torch.tensor(adder.decoder_coef_, requires_grad=True)
    b = torch.tensor(adder.decoder_intercept_, requires_grad=True)
    k = torch.zeros(D, kernel, dtype=torch.float64)
    k[:, kernel // 2] = 1.0
    k.requires_grad_(True)
    target = torch.tensor(adder.prior_weight_ * adder.prior_coef_)
    opt = torch.optim.Adam([W, b, k], lr=1e-3)

    def forward(z):  # (T, D) -> (T, C)
        x = torch.nn.functional.conv1d(z.T[None], k[:, None, :], padding="same", groups=D)
        return x[0].T @ W + b

    for _ in range(steps):
        opt.zero_grad()
        loss = adder.alpha_ * ((W - target) ** 2).sum()
        for z, y in zip(zs, ys, strict=True):
            p = forward(z)
            if loss_kind == "mse":
                loss = loss + ((p - y) ** 2).sum()
            else:
                pc, yc = p - p.mean(0), y - y.mean(0)
                r = (pc * yc).sum(0) / ((pc**2).sum(0) * (yc**2).sum(0)).sqrt().clamp_min(1e-9)
                loss = loss - 10.0 * r.sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return _scores(data, new, {k_: fz.zbar(k_) for k_ in SETS},
                       lambda x: forward(torch.tensor(x)).numpy())


def priors(fz: Frozen, data, new, w0, b0) -> dict:
    """The prior alone, three ways, with no data of the new subject."""
    feats = {k: fz.zbar(k) for k in SETS}
    out = {"fitted decoders' average (the method)": _scores(data, new, feats,
                                                             lambda x: x @ w0 + b0)}
    m = fz.enc.net_.module_
    S = len(fz.fitted)
    zb, avg = [], []
    for z in fz.z["train_all"]:  # (S, T, D): each fitted subject's own prediction, averaged
        mixed = torch.tensor((z.sum(0, keepdims=True) - z) / (S - 1), dtype=torch.float32)
        with torch.no_grad():
            avg.append(m.decode(mixed, 1, z.shape[1]).double().mean(0).numpy())
        zb.append(z.mean(0))
    zb, avg = np.concatenate(zb), np.concatenate(avg)
    M = np.linalg.lstsq(zb - zb.mean(0), avg - avg.mean(0), rcond=None)[0]
    out["map to their average prediction (all their data)"] = _scores(
        data, new, feats, lambda x: x @ M)
    for label, n in (("all the data", None), ("1 minute", job.budget_trs(1))):
        z = np.concatenate(fz.zbar("train_all", n))
        lam, V = np.linalg.eigh(np.cov(z.T))
        top = V[:, np.argsort(lam)[::-1][:16]]  # (D, 16)
        proj = top @ top.T @ w0
        out[f"projected on the 16 strongest directions ({label})"] = _scores(
            data, new, feats, lambda x, p=proj: x @ p)
    return out


def several_at_once(data, params, n) -> dict:
    """Encoder on subjects 1, 2 (indices 0, 1); newcomers 3 and 5 (indices 2, 3)."""
    from sklearn_crossenc.encoder import CrossSubjectEncoder

    enc = CrossSubjectEncoder(**params).fit([ep[:2] for ep in data["train_all"]])
    budget = job.take_budget(data["train_all"], n)
    adders = {i: SubjectAdder(enc, fit_encoder=True).fit([ep[[0, 1, i]] for ep in budget])
              for i in (2, 3)}
    out = {}
    for new, other in ((2, 3), (3, 2)):
        alone = {k: float(adders[new].score_map([ep[[0, 1, new]] for ep in data[k]])[2].mean())
                 for k in SETS}
        out[f"subject index {new}"] = {
            "alone": alone, "jointly": _joint_scores(enc, data, new, other, adders[other], budget)}
    return out


def _joint_scores(enc, data, new, other, adder_other, budget) -> dict:
    """The newcomer ``new``'s decoder on the latent average that also holds ``other``'s
    encoded latent (same prior, grids and CV as the method)."""
    from sklearn_crossenc.ridge import DEFAULT_ALPHAS

    w0, b0 = group_prior(enc.net_.module_, (0,))

    def zbar3(eps):
        out = []
        for ep in eps:
            z = SubjectAdder._latents(enc, np.ascontiguousarray(ep[[0, 1]])).double().numpy()
            zo = ep[other].astype(np.float64) @ adder_other.encoder_coef_ \
                + adder_other.encoder_intercept_  # (T, D)
            out.append((z.sum(0) + zo) / 3.0)
        return out

    X, Y = zbar3(budget), [ep[new].astype(np.float64) for ep in budget]
    full, cv = _cv_tensor(X, Y, w0, b0, DEFAULT_ALPHAS)
    gi, ai = np.unravel_index(np.argmax(cv.mean(axis=2)), cv.shape[:2])
    C = w0.shape[1]
    coef, icpt = _solve_per_target(full, w0, np.full(C, WEIGHTS[gi]),
                                   np.full(C, DEFAULT_ALPHAS[ai]))
    return {k: _r([ep[new] for ep in data[k]], [x @ coef + icpt for x in zbar3(data[k])])
            for k in SETS}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    tag = Path(args.data_dir).name if args.data_dir else f"small-seed{args.data_seed}"
    print("machine:", json.dumps(environment_info("cpu")))
    root = args.data_dir or ensure_default_dataset(scale="small", data_seed=args.data_seed,
                                                   log=print)
    t0 = time.perf_counter()
    data, _ = job._load(root, SEED_PROTOCOL, 5, False, print)
    params = _registry.encoder_params(_registry.JobSettings(random_state=0))
    enc, _ = job._fit_encoder(data["train_others"], params, print, "subjects 1, 2, 3")
    fz = Frozen(enc, {k: data[k] for k in ("train_all", *SETS)}, [0, 1, 2])
    w0, b0 = group_prior(enc.net_.module_, (0,))
    from sklearn_crossenc.ridge import DEFAULT_ALPHAS

    res = {"priors (no data)": priors(fz, data, 3, w0, b0), "budgets": {}}
    for line in res["priors (no data)"].items():
        print("prior alone:", line)
    for minutes in BUDGETS:
        n = job.budget_trs(minutes)
        adder = SubjectAdder(enc).fit(job.take_budget(data["train_all"], n))
        row = {"the method": {k: float(adder.score_map(data[k])[3].mean()) for k in SETS}}
        row.update(per_parcel_and_side_by_side(fz, data, 3, n, w0, b0, DEFAULT_ALPHAS))
        if minutes is not None:
            for loss_kind in ("mse", "pearson"):
                for steps in (50, 200):
                    row[f"fine-tune {loss_kind} {steps} steps"] = fine_tune(
                        fz, data, 3, n, adder, steps, loss_kind)
        res["budgets"][str(minutes)] = row
        for name, scores in row.items():
            print(f"{minutes or 'all'} min, {name}:", {k: round(v, 4) for k, v in scores.items()},
                  flush=True)
    res["several at once (5 min)"] = several_at_once(data, params, job.budget_trs(5))
    print("several at once (5 min):", json.dumps(res["several at once (5 min)"]))
    res["wall_time_s"] = time.perf_counter() - t0
    res["machine_after"] = environment_info("cpu")
    out = Path(args.json or REPO / ".bench" / f"new_subject_variants-{tag}.json")
    atomic_write_json(out, res, indent=1)
    print(f"wall time {res['wall_time_s']:.0f} s; wrote {out}")
    return res


if __name__ == "__main__":
    main()

"""K repeats of the encoder trained together (``fit_repeats``) vs one after the other.

The repeats of ``crossenc compare --repeats K`` differ only in ``random_state``. This
benchmark fits them both ways on the same data in one process (seed configuration,
synthetic ``small`` dataset by default), prints the machine, the two wall times and
their ratio, and checks that each stacked repeat predicts Friends s6 as its sequential
fit does (largest absolute and relative difference; ``allclose`` with rtol 1e-4 /
atol 1e-5), with the same number of epochs and best epoch.

``--grid-probe`` asks whether the candidates of a grid could share a stack as well: it
times one training step of three separate models (``embed_dim`` 32, 64, 128; then
``encoder_kernel_size`` 0, 7, 11) against one stack of three models padded to the
largest (what sharing a stack would need), each the best of ``--probe-reps`` runs.

Usage::

    python benchmarks/bench_repeats.py --rounds 2             # K=4, 2 epochs x 2000 clips
    python benchmarks/bench_repeats.py --k 4 --validation 0.1 --epochs 6
    python benchmarks/bench_repeats.py --grid-probe --json out.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_training as bt  # noqa: E402


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def compare_repeats(X, evals, params: dict, k: int, together_first: bool = False) -> dict:
    """Wall and CPU time of K sequential fits and of ``fit_repeats``; their differences."""
    from sklearn.base import clone

    from sklearn_crossenc import CrossSubjectEncoder
    from sklearn_crossenc.encoder import fit_repeats

    base = CrossSubjectEncoder(**params)
    states = list(range(k))
    if together_first:
        tog, tog_wall, tog_cpu = _timed(lambda: fit_repeats(base, X, states, stacked=True))
    seq, seq_wall, seq_cpu = _timed(
        lambda: [clone(base).set_params(random_state=rs).fit(X) for rs in states])
    if not together_first:
        tog, tog_wall, tog_cpu = _timed(lambda: fit_repeats(base, X, states, stacked=True))
    abs_d, rel_d, close = 0.0, 0.0, True
    for a, b in zip(tog, seq, strict=True):
        for pa, pb in zip(a.predict(evals), b.predict(evals), strict=True):
            abs_d = max(abs_d, float(np.abs(pa - pb).max()))
            rel_d = max(rel_d, float((np.abs(pa - pb) / (np.abs(pb) + 1e-6)).max()))
            close &= bool(np.allclose(pa, pb, rtol=1e-4, atol=1e-5))
    return {
        "k": k, "sequential_s": seq_wall, "together_s": tog_wall,
        "sequential_cpu_s": seq_cpu, "together_cpu_s": tog_cpu,
        "ratio": seq_wall / tog_wall, "cpu_ratio": seq_cpu / tog_cpu,
        "max_abs_diff": abs_d, "max_rel_diff": rel_d, "allclose_1e-4_1e-5": close,
        "same_epochs": [a.n_epochs_ == b.n_epochs_ and a.best_epoch_ == b.best_epoch_
                        for a, b in zip(tog, seq, strict=True)],
        "epochs": [b.n_epochs_ for b in seq], "together_first": together_first,
    }


def _step_time(modules, reps: int, S=4, C=1000, B=16, L=64) -> float:
    """Best time of one lean training step (AdamW included) of the stack of ``modules``."""
    from sklearn_crossenc.encoder._forward import training_sse
    from sklearn_crossenc.encoder._repeats import _Stack

    stack = _Stack(modules)
    opt = torch.optim.AdamW(stack.parameters(), lr=3e-4, weight_decay=1e-3, fused=True)
    x = torch.randn(len(modules) * S, B * L, C)
    t_sq = (x * x).sum((1, 2))
    best = float("inf")
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        loss = training_sse(stack, stack.stacked_params(), x, x, t_sq, B, L).sum() / x.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    return best


def grid_probe(reps: int) -> dict:
    """Three grid candidates as separate steps vs one padded stack of three."""
    from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder as M

    out = {}
    for label, sizes, padded in (
        ("embed_dim 32/64/128 (kernel 7)", [(32, 7), (64, 7), (128, 7)], (128, 7)),
        ("encoder_kernel_size 0/7/11 (embed 64)", [(64, 0), (64, 7), (64, 11)], (64, 11)),
    ):
        separate = sum(_step_time([M(4, 1000, d, k, 0)], reps) for d, k in sizes)
        stacked = _step_time([M(4, 1000, *padded, 0) for _ in sizes], reps)
        out[label] = {"separate_s": separate, "padded_stack_s": stacked,
                      "ratio": separate / stacked}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", help="dataset folder (default: synthetic 'small' in .bench/)")
    p.add_argument("--k", type=int, default=4, help="repeats (default 4)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples-per-epoch", type=int, default=2000)
    p.add_argument("--validation", type=float, default=None,
                   help="held-out fraction for early stopping (each repeat its own)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat the comparison, alternating which side runs first")
    p.add_argument("--grid-probe", action="store_true")
    p.add_argument("--probe-reps", type=int, default=5)
    p.add_argument("--json", help="save the results to this JSON file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = bt.ref.resolve_device(args.device)
    data, data_dir = bt.prepare_data(args.data_dir)
    bt.warm_torch(device)
    res = {"command": "python benchmarks/bench_repeats.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "data_dir": str(data_dir),
        "machine": bt.machine_info(device)}
    params = dict(bt.SEED_PARAMS, max_epochs=args.epochs,
                  samples_per_epoch=args.samples_per_epoch, device=str(device))
    params.pop("random_state")
    if args.validation is not None:
        params["validation"] = args.validation
    print(f"{args.k} repeats, {args.epochs} epochs x {args.samples_per_epoch} clips, "
          f"validation {args.validation} ...", flush=True)
    X, evals = bt.episodes(data["train"]), bt.episodes(data["friends_s6"])
    res["rounds"] = [compare_repeats(X, evals, params, args.k, together_first=i % 2 == 1)
                     for i in range(args.rounds)]
    if args.grid_probe:
        res["grid_probe"] = grid_probe(args.probe_reps)
    m = res["machine"]
    print(f"== machine: {m['cpu']}, {m['cores_available']}/{m['cores']} cores, torch "
          f"{m['torch']} ({m['torch_threads']} threads), device {m['device']}, load avg "
          f"{m['load_avg_1_5_15']}")
    for r in res["rounds"]:
        print(("together first: " if r["together_first"] else "sequential first: ")
              + f"sequential {r['sequential_s']:.1f} s (CPU {r['sequential_cpu_s']:.1f} s), "
              f"together {r['together_s']:.1f} s (CPU {r['together_cpu_s']:.1f} s): "
              f"{r['ratio']:.2f}x wall, {r['cpu_ratio']:.2f}x CPU")
        print(f"  predictions on Friends s6: max |diff| {r['max_abs_diff']:.2e}, max relative "
              f"{r['max_rel_diff']:.2e}, allclose(rtol 1e-4, atol 1e-5) "
              f"{r['allclose_1e-4_1e-5']}; epochs {r['epochs']}, same epochs and best epoch "
              f"{r['same_epochs']}")
    for label, g in res.get("grid_probe", {}).items():
        print(f"grid probe, {label}: separate {g['separate_s'] * 1e3:.1f} ms/step, padded stack "
              f"{g['padded_stack_s'] * 1e3:.1f} ms/step ({g['ratio']:.2f}x)")
    if args.json:
        from sklearn_crossenc._io import atomic_write_json

        atomic_write_json(args.json, res)
        print(f"saved {args.json}")
    return res


if __name__ == "__main__":
    main()

"""``torch.compile`` of the encoder's training step on the CPU: compile time against savings.

Runs the seed configuration's training step (embed 64, encoder kernel 7, batch 16, clips
of 64 TRs, 4 subjects, 1000 parcels, fused AdamW) eagerly and with the loss compiled by
``torch.compile`` (inductor; autograd traced through it), on random data, and prints the
first compiled step (tracing and code generation included), the steady time per step
both ways (best of ``--rounds`` rounds of ``--steps`` steps) and the number of steps a
compiled fit would need to pay its compilation back (the seed's fit has 1,250 steps).
``--what lean`` compiles the estimator's loss (``training_sse`` with the Gram form),
``--what explicit`` the explicit residual (the form inductor can fuse end to end).

Usage::

    python benchmarks/bench_compile.py --threads 1 --what explicit
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def make_step(loss_fn, module):
    opt = torch.optim.AdamW(module.parameters(), lr=3e-4, weight_decay=1e-3, fused=True)

    def step(x, t_sq):
        loss = loss_fn(x, t_sq)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step


def timed(step, batches, rounds: int) -> float:
    """Best seconds per step over ``rounds`` passes over ``batches``."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for x, t_sq in batches:
            step(x, t_sq)
        best = min(best, (time.perf_counter() - t0) / len(batches))
    return best


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--what", choices=("lean", "explicit"), default="explicit")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from sklearn_crossenc.encoder import CrossSubjectConvLinearEncoder

    S, C, N, L = 4, 1000, 16, 64
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(args.steps):
        x = torch.randn(S, N, L, C, generator=g)
        batches.append((x, (x * x).sum((1, 2, 3)) if args.what == "lean" else None))
    n = S * N * L * C
    eager_mod = CrossSubjectConvLinearEncoder(S, C, 64, 7, 0)
    comp_mod = CrossSubjectConvLinearEncoder(S, C, 64, 7, 0)

    def loss_of(module):
        return lambda x, t_sq: module.training_sse(x, x, t_sq).sum() / n

    eager = make_step(loss_of(eager_mod), eager_mod)
    compiled = make_step(torch.compile(loss_of(comp_mod)), comp_mod)
    eager(*batches[0])
    t0 = time.perf_counter()
    compiled(*batches[0])
    first = time.perf_counter() - t0
    t_eager = timed(eager, batches, args.rounds)
    t_comp = timed(compiled, batches, args.rounds)
    compile_s = first - t_comp
    gain = t_eager - t_comp
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average "
          f"{os.getloadavg()}; compiled: {args.what}")
    print(f"first compiled step {first:.1f} s (compilation {compile_s:.1f} s); steady "
          f"{t_eager * 1e3:.1f} ms/step eager, {t_comp * 1e3:.1f} ms/step compiled")
    print("break-even: " + (f"{compile_s / gain:.0f} steps" if gain > 0 else
                            "never (the compiled step is not faster)"))
    return {"first_s": first, "compile_s": compile_s, "eager_s": t_eager,
            "compiled_s": t_comp}


if __name__ == "__main__":
    main()

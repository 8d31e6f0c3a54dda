"""Where one training step of ``CrossSubjectEncoder`` spends its time (torch.profiler).

Trains the seed configuration (embed 64, encoder kernel 7, decoder kernel 0, batch 16,
clips of 64 TRs, AdamW) on random data of the seed's shape (4 subjects, 1000 parcels,
20 episodes of 300-600 TRs), profiles ``--steps`` steps of the real loop
(``CrossSubjectNet.partial_fit``) after a warm-up epoch, and splits the wall time into:

- ``matmul``: every matrix product (``bmm``, ``baddbmm``, ``mm``, ``addmm``, ...);
- ``depthwise convolution``, ``loss / decoder error``, ``optimizer``: every other op
  inside the convolution, the loss (``LinearSSE``, ``_MSEFunction``, ``mse_loss``) or
  ``Optimizer.step`` / ``zero_grad``, forward and backward;
- ``gather``: building the batch from the resident episodes (every op inside
  ``ClipStore.gather``, marked with ``record_function("gather_batch")``);
- ``other tensor ops``: the rest (weight concatenations, the leave-one-out average's
  reshapes, autograd's accumulation, ...);
- ``Python, skorch and autograd bookkeeping``: wall time outside every op.

Each op's *self* time is counted once. Usage (run from any tree: the package on
``PYTHONPATH`` is profiled, so an older checkout gives the "before" profile)::

    OMP_NUM_THREADS=1 python benchmarks/profile_step.py --threads 1 --steps 40
    python benchmarks/profile_step.py --threads 2 --steps 40 --table 25 --set-up
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

MATMUL = {"aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm", "aten::matmul",
          "aten::addbmm", "aten::linear", "aten::_mkl_linear"}
PHASES = (  # (category, substrings of the enclosing op's name)
    ("depthwise convolution", ("DepthwiseConv", "aten::convolution", "ConvolutionBackward",
                               "aten::_convolution", "conv1d")),
    ("loss / decoder error", ("LinearSSE", "_MSEFunction", "mse_loss", "MseLoss",
                              "linalg_vecdot")),
    ("optimizer", ("Optimizer.step", "Optimizer.zero_grad")),
    ("gather", ("gather_batch",)),
)
SEED = dict(embed_dim=64, encoder_kernel_size=7, decoder_kernel_size=0, batch_size=16,
            sample_length=64, lr=3e-4, weight_decay=1e-3, random_state=0, device="cpu")


def seed_shaped_data(n_subjects=4, n_parcels=1000, n_episodes=20, seed=0) -> list:
    """Random episodes of the seed's shape: list of (S, T_i, C) float32."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n_subjects, int(t), n_parcels)).astype(np.float32)
            for t in rng.integers(300, 600, n_episodes)]


def category(event) -> str:
    """The bucket of a profiler event, by its name and its enclosing ops."""
    if event.name in MATMUL:
        return "matmul"
    node = event
    while node is not None:
        for cat, keys in PHASES:
            if any(k in node.name for k in keys):
                return cat
        node = node.cpu_parent
    return "other tensor ops"


def breakdown(events, wall_us: float) -> dict:
    """Seconds per category (self times) and the bookkeeping outside every op."""
    out: dict[str, float] = {}
    for ev in events:
        if ev.device_type != torch.autograd.DeviceType.CPU:
            continue
        out[category(ev)] = out.get(category(ev), 0.0) + ev.self_cpu_time_total
    inside = sum(out.values())
    out["Python, skorch and autograd bookkeeping"] = max(wall_us - inside, 0.0)
    return {k: v / 1e6 for k, v in out.items()}


def mark_gather() -> None:
    """Run ``ClipStore.gather`` inside ``record_function("gather_batch")``."""
    from torch.profiler import record_function

    from sklearn_crossenc.encoder._sampling import ClipStore

    gather = ClipStore.gather

    def marked(self, *args, **kwargs):
        with record_function("gather_batch"):
            return gather(self, *args, **kwargs)

    ClipStore.gather = marked


def prepare(steps: int):
    """A fitted seed-configuration net, and the resident data of the profiled epoch."""
    from sklearn_crossenc import CrossSubjectEncoder
    from sklearn_crossenc.encoder._net import FitData
    from sklearn_crossenc.encoder._sampling import ClipStore

    X = seed_shaped_data()
    est = CrossSubjectEncoder(**SEED, samples_per_epoch=16 * steps, max_epochs=1).fit(X)
    return est.net_, FitData(ClipStore(X, "cpu"))


def set_up_costs(X) -> dict:
    """Process CPU seconds of a fit's set-up pieces on episodes ``X`` (after a warm-up fit
    has paid torch's one-time costs), and of one epoch's 125 per-batch history rows."""
    from skorch.history import History

    from sklearn_crossenc import CrossSubjectEncoder
    from sklearn_crossenc._validation import check_episodes
    from sklearn_crossenc.encoder._plan import make_plan
    from sklearn_crossenc.encoder._sampling import ClipStore

    def cpu(fn):
        c0 = time.process_time()
        out = fn()
        return out, time.process_time() - c0

    est = CrossSubjectEncoder(**SEED, samples_per_epoch=16, max_epochs=1)
    eps, t_check = cpu(lambda: check_episodes(X, name="X", min_subjects=2, min_length=64))
    store, t_store = cpu(lambda: ClipStore(eps, "cpu"))
    _, t_rows = cpu(lambda: store.row_sq)
    plan = make_plan(est, X)
    _, t_init = cpu(lambda: est._initialized_net(plan))
    history = History()
    history.new_epoch()

    def rows():
        for _ in range(125):
            history.new_batch()
            history.record_batch("train_batch_size", 16)
            history.record_batch("train_loss", 0.5)

    _, t_hist = cpu(rows)
    return {"input checks": t_check, "resident training tensor": t_store,
            "targets' row norms": t_rows, "net initialisation": t_init,
            "125 per-batch history rows": t_hist}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--steps", type=int, default=40, help="profiled steps (default 40)")
    p.add_argument("--table", type=int, default=0, help="also print torch's table of N ops")
    p.add_argument("--set-up", action="store_true",
                   help="also time a fit's set-up pieces (process CPU time)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import sklearn_crossenc

    net, data = prepare(args.steps)
    net.partial_fit(data, epochs=1)  # warm-up epoch
    t0, c0 = time.perf_counter(), time.process_time()
    net.partial_fit(data, epochs=1)
    plain = time.perf_counter() - t0, time.process_time() - c0
    from torch.profiler import ProfilerActivity, profile

    mark_gather()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        net.partial_fit(data, epochs=1)
        wall = time.perf_counter() - t0
    parts = breakdown(prof.events(), wall * 1e6)
    total = sum(parts.values())
    print(f"package {os.path.dirname(sklearn_crossenc.__file__)}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s); load average {os.getloadavg()}")
    print(f"unprofiled: {plain[0] / args.steps * 1e3:.1f} ms/step wall, "
          f"{plain[1] / args.steps * 1e3:.1f} ms/step process CPU; profiled "
          f"{wall / args.steps * 1e3:.1f} ms/step wall")
    print(f"{'where':42s}{'ms/step':>9s}{'share':>8s}")
    for name, sec in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"{name:42s}{sec / args.steps * 1e3:9.2f}{sec / total:8.1%}")
    if args.table:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.table))
    out = {"parts_s": parts, "steps": args.steps, "wall_s": wall, "unprofiled_s": plain}
    if args.set_up:
        X = seed_shaped_data(n_episodes=36)
        out["set_up_cpu_s"] = set_up_costs(X)
        valid = seed_shaped_data(n_episodes=9, seed=1)  # as Friends s6 in the small set
        c0 = time.process_time()
        pred = net.predict_episodes(valid)
        c1 = time.process_time()
        net.validation_scores(valid)
        c2 = time.process_time()
        out["set_up_cpu_s"]["validation predictions (per epoch)"] = c1 - c0
        out["set_up_cpu_s"]["validation scores with them (per epoch)"] = c2 - c1
        del pred
        print(f"set-up, {sum(x.shape[1] for x in X)} time points x 4 subjects x 1000 parcels "
              f"(process CPU time; validation: {sum(v.shape[1] for v in valid)} time points):")
        for name, sec in out["set_up_cpu_s"].items():
            print(f"  {name:32s}{sec * 1e3:9.1f} ms")
    return out


if __name__ == "__main__":
    main()

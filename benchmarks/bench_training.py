"""Training benchmark: the seed's plain-PyTorch loop vs ``CrossSubjectEncoder``, side by side.

Both train on the same arrays (Friends s1-5) and are evaluated on Friends s6 and Movie10
run-1 after every epoch, in one process, one after the other. Printed and saved:

- the machine (CPU model, cores, torch version and threads, device, load average);
- clips/s of both at the seed's exact configuration (embed 64, encoder kernel 7, batch 16,
  clips of 64 TRs, 2000 clips per epoch, AdamW 3e-4 / 1e-3, 10 epochs) and the ratio;
- the training-loop time of both (epochs only; the project's clock starts at skorch's
  ``on_train_begin``, after all set-up) and the whole-fit time (the project's ``fit``
  call, set-up included; the reference's set-up plus loop), each as a ratio against the
  reference's training loop (issue 23's targets: >= 2.2x and >= 2.0x);
- the project with its *default* parameters (or those of ``--tta-params``): time to reach
  the reference's final Friends s6 accuracy (within 0.005) and the ratio to the
  reference's training time;
- final accuracies on both sets and the differences to the reference;
- achieved GFLOP/s against a measured matmul peak, from the seed model's FLOPs per clip
  counted analytically (and the project module's FLOPs counted by torch);
- with ``--grid``: a 3 x 3 grid (embed_dim x encoder_kernel_size) with 3 episode folds,
  ``GridSearchCV`` of the project vs the same grid trained with the reference loop.

Training times exclude the per-epoch evaluation (done for monitoring only).

Usage::

    python benchmarks/bench_training.py                    # synthetic "small" data, cached
    python benchmarks/bench_training.py --quick            # smoke test, < 1 minute
    python benchmarks/bench_training.py --epochs 2 --skip-tta   # loop and fit ratios only
    python benchmarks/bench_training.py --data-dir DIR --device cuda --json out.json
    python benchmarks/bench_training.py --grid --epochs 2 --samples-per-epoch 500
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_reference as ref  # noqa: E402

from sklearn_crossenc._environment import cpu_model, usable_cores  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / ".bench" / "synthetic-small"
EVAL_SETS = ("friends_s6", "movie10_run1")
TOLERANCE = 0.005
GRID = {"embed_dim": [32, 64, 128], "encoder_kernel_size": [0, 7, 11]}

#: The seed configuration in the project's parameter names.
SEED_PARAMS = {
    "embed_dim": 64,
    "encoder_kernel_size": 7,
    "decoder_kernel_size": 0,
    "lr": 3e-4,
    "weight_decay": 1e-3,
    "batch_size": 16,
    "sample_length": 64,
    "samples_per_epoch": 2000,
    "max_epochs": 10,
    "random_state": 3315,
}


# ----------------------------------------------------------------------------- machine


def machine_info(device: torch.device) -> dict:
    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_available": usable_cores(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "device": str(device),
        "load_avg_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(device, m: int, k: int, n: int, min_time: float = 0.3) -> float:
    """Best-of-3 float32 throughput of ``(m, k) @ (k, n)`` on ``device``, in GFLOP/s."""
    a = torch.randn(m, k, device=device)
    b = torch.randn(k, n, device=device)
    out = torch.empty(m, n, device=device)
    torch.mm(a, b, out=out)
    _sync(device)
    best = 0.0
    for _ in range(3):
        reps, t0 = 0, time.perf_counter()
        while True:
            torch.mm(a, b, out=out)
            reps += 1
            if reps % 4 == 0:
                _sync(device)
                if time.perf_counter() - t0 >= min_time / 3:
                    break
        best = max(best, 2.0 * m * k * n * reps / (time.perf_counter() - t0) / 1e9)
    return best


def matmul_peak(device, n_subjects=4, sample_length=64, n_parcels=1000, embed_dim=64,
                batch_size=16) -> dict:
    """Measured matmul rates: a large square product and the model's own shapes."""
    rows = batch_size * n_subjects * sample_length
    big = 8192 if device.type == "cuda" else 2048
    res = {
        f"square_{big}": matmul_gflops(device, big, big, big),
        f"encoder_{rows}x{n_parcels}x{embed_dim}": matmul_gflops(
            device, rows, n_parcels, embed_dim),
        f"decoder_{rows}x{embed_dim}x{n_parcels}": matmul_gflops(
            device, rows, embed_dim, n_parcels),
    }
    res["peak"] = max(res.values())
    return res


def warm_torch(device) -> None:
    """Pay torch's one-time costs before any clock starts: the first optimizer of a
    process imports ``torch._dynamo`` (1.5 s of CPU on the development machine), the first
    products load the BLAS kernels. Without this, whichever side runs first pays them."""
    p = torch.zeros(4, 4, device=device, requires_grad=True)
    opt = torch.optim.AdamW([p], fused=True)
    (p @ p).sum().backward()
    opt.step()
    _sync(device)


# ----------------------------------------------------------------------------- FLOPs


def seed_flops_per_clip(n_subjects=4, sample_length=64, n_parcels=1000, embed_dim=64,
                        encoder_kernel_size=7, decoder_kernel_size=0, with_shared=True,
                        with_subject=True) -> dict:
    """FLOPs of one training clip of the seed model, counted analytically.

    A multiply-add counts 2 FLOPs; bias additions, the loss and the optimizer are left
    out (each below 1%). Forward: per subject, the shared and the per-subject encoder
    ``2 L C D`` each, the depthwise encoder convolution ``2 L D k_e``, the leave-one-out
    average ``2 S L D`` and the shared and per-subject decoders ``2 L D C`` each (plus
    ``2 L D k_d`` for a decoder convolution). Backward: every layer's weight gradient
    costs its forward FLOPs again and its input gradient once more, except the encoders'
    input gradient (the input is data) and the averaging weights' gradient (a buffer).
    """
    S, L, C, D = n_subjects, sample_length, n_parcels, embed_dim
    n_lin = int(with_shared) + int(with_subject)
    enc_linear = n_lin * S * 2 * L * C * D
    enc_conv = S * 2 * L * D * encoder_kernel_size if (with_subject and
                                                       encoder_kernel_size > 1) else 0
    mix = S * 2 * S * L * D
    dec_linear = n_lin * S * 2 * L * D * C
    dec_conv = S * 2 * L * D * decoder_kernel_size if (with_subject and
                                                       decoder_kernel_size > 1) else 0
    forward = enc_linear + enc_conv + mix + dec_linear + dec_conv
    train = 3 * forward - enc_linear - mix
    return {"forward": forward, "train": train}


def _conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding,
                        _dilation, transposed, _output_padding, _groups, output_mask,
                        out_shape=None, **kwargs) -> int:
    """Group-aware FLOPs of ``aten.convolution_backward``.

    torch's own formula (2.x) counts the weight gradient of a grouped convolution as if
    it were dense, ``groups`` times too many for a depthwise convolution. Each of the
    input and weight gradients costs the forward's ``2 * numel(out) * prod(w.shape[1:])``.
    """
    if transposed:
        from torch.utils.flop_counter import conv_backward_flop

        return conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding,
                                  _dilation, transposed, _output_padding, _groups,
                                  output_mask, out_shape)
    forward = 2 * int(np.prod(grad_out_shape)) * int(np.prod(w_shape[1:]))
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def counted_flops_per_clip(module: torch.nn.Module, x: torch.Tensor, loss_fn=None) -> int | None:
    """FLOPs of one forward + backward of ``module`` on ``x`` per clip, counted by torch.

    Uses ``torch.utils.flop_counter`` (matmuls and convolutions) with a group-aware
    count for the convolutions' backward (see :func:`_conv_backward_flop`). A module with
    ``training_sse`` (the project's) is counted on the loss its training step computes.
    """
    if hasattr(module, "training_sse") and loss_fn is None:
        xs = x.transpose(0, 1).contiguous()  # (S, N, L, C)
        t_sq = (xs * xs).sum((1, 2, 3))
        return _counted(module, lambda: module.training_sse(xs, xs, t_sq).sum() / xs.numel(),
                        x.shape[0])
    return _counted(module, lambda: (loss_fn or (lambda out: torch.nn.functional.mse_loss(
        out, x)))(module(x)), x.shape[0])


def _counted(module, loss, n_clips: int) -> int | None:
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:  # pragma: no cover - old torch
        return None
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:  # pragma: no cover - old torch
        return None
    was_training = module.training
    module.train()
    mapping = {torch.ops.aten.convolution_backward: _conv_backward_flop}
    try:
        with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
            loss().backward()
    finally:
        module.zero_grad(set_to_none=True)
        module.train(was_training)
    return int(counter.get_total_flops() // n_clips)


# ----------------------------------------------------------------------------- data


def prepare_data(data_dir=None) -> tuple[dict, Path]:
    """Load the seed's splits (with the reference's independent loader)."""
    if data_dir is None:
        from sklearn_crossenc.data import ensure_synthetic_dataset

        # The cache is ours: reused while current, regenerated when the generator changed.
        data_dir, _ = ensure_synthetic_dataset(DEFAULT_CACHE, scale="small")
    data_dir = Path(data_dir)
    return ref.load_seed_splits(data_dir), data_dir


def episodes(split: dict) -> list[np.ndarray]:
    """A run dict as the project's episode list (the loaders' dict values)."""
    return list(split.values())


# ----------------------------------------------------------------------------- project


class _Timer:
    """Whole-fit and training-loop time, with evaluation pauses taken out.

    The whole fit runs from the ``fit`` call to its return (input checks, the resident
    training tensor, net initialisation included); the training loop from
    ``on_train_begin`` (after all set-up) to the end of the last epoch.
    """

    def __init__(self):
        self.start = time.perf_counter()
        self.loop_start = None
        self.paused = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def loop_elapsed(self) -> float:
        return time.perf_counter() - self.loop_start - self.paused


def _predict_with_net(net, eps: list[np.ndarray]) -> list[np.ndarray]:
    """Full-episode predictions of the net being trained, list of (S, T, C) arrays."""
    if hasattr(net, "predict_episodes"):
        return net.predict_episodes(eps)
    module = net.module_
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return [module(torch.from_numpy(ep)[None].to(net.device))[0].cpu().numpy()
                    for ep in eps]
    finally:
        module.train(was_training)


def _timing_callback(timer: _Timer, eval_data: dict, history: list, device):
    """A skorch callback that starts the loop clock and, with ``eval_data``, scores the
    current module on every evaluation set after each epoch (time taken out)."""
    from skorch.callbacks import Callback

    from sklearn_crossenc.metrics import pearson_score

    class EpochEval(Callback):
        uses_batch_rows = False  # as the package's own callbacks: no per-batch rows

        def on_train_begin(self, net, **kwargs):
            _sync(device)
            timer.loop_start = time.perf_counter()

        def on_epoch_end(self, net, **kwargs):
            if not eval_data:
                return
            _sync(device)
            entry = {"epoch": len(history), "train_time_s": timer.elapsed(),
                     "loop_time_s": timer.loop_elapsed()}
            t0 = time.perf_counter()
            for name, eps in eval_data.items():
                entry[name] = pearson_score(eps, _predict_with_net(net, eps))
            history.append(entry)
            timer.paused += time.perf_counter() - t0

    return EpochEval()


def run_project(data: dict, params: dict, device: str, eval_sets=EVAL_SETS,
                eval_each_epoch=True) -> dict:
    """Fit ``CrossSubjectEncoder(**params)`` on ``data["train"]``; results as the reference's.

    ``loop_time_s``: the training loop (epochs only); ``fit_time_s`` (also
    ``train_time_s``): the whole ``fit``, set-up included; evaluation excluded from both.
    """
    from sklearn_crossenc import CrossSubjectEncoder
    from sklearn_crossenc.metrics import pearson_score

    X = episodes(data["train"])
    eval_data = {name: episodes(data[name]) for name in eval_sets}
    history: list = []
    est = CrossSubjectEncoder(device=device, **params)
    dev = torch.device(est_device(device))
    timer = _Timer()
    cb = _timing_callback(timer, eval_data if eval_each_epoch else {}, history, dev)
    est.set_params(callbacks=[("bench_timing", cb)])
    timer.start = time.perf_counter()
    est.fit(X)
    _sync(dev)
    fit_time, loop_time = timer.elapsed(), timer.loop_elapsed()
    threads = torch.get_num_threads()
    final = {name: pearson_score(eps, est.predict(eps)) for name, eps in eval_data.items()}
    n_clips = est.get_params()["samples_per_epoch"] * _epochs_run(est, history)
    return {
        "final": final,
        "clips_per_s": n_clips / loop_time,
        "loop_time_s": loop_time,
        "fit_time_s": fit_time,
        "train_time_s": fit_time,
        "wall_time_s": time.perf_counter() - timer.start,
        "n_clips": n_clips,
        "history": history,
        "params": {k: v for k, v in est.get_params().items() if k != "callbacks"},
        "threads": threads,
        "estimator": est,
    }


def est_device(device: str) -> str:
    return str(ref.resolve_device(device))


def _epochs_run(est, history) -> int:
    """Epochs actually trained (early stopping may stop before ``max_epochs``)."""
    net = getattr(est, "net_", None)
    if net is not None and getattr(net, "history", None) is not None:
        return len(net.history)
    return len(history) or est.get_params()["max_epochs"]


def time_to_accuracy(history: list, target: float, key="friends_s6", tol=TOLERANCE):
    """Training time of the first epoch whose ``key`` accuracy is >= ``target - tol``."""
    for entry in history:
        if key in entry and entry[key] >= target - tol:
            return entry["train_time_s"], entry["epoch"]
    return None, None


def time_to_accuracy_summary(r: dict, ps: dict, pd: dict) -> dict:
    """Time to the reference's final s6 accuracy (the issue's target) and, stricter, to the
    reference's best epoch (a model that overfits reaches its own final value early)."""
    target = r["final"]["friends_s6"]
    t_proj, ep_proj = time_to_accuracy(pd["history"], target)
    t_ref, ep_ref = time_to_accuracy(r["history"], target)
    best = max(h["friends_s6"] for h in r["history"])
    out = {
        "target": target, "tolerance": TOLERANCE,
        "reference_total_s": r["train_time_s"], "reference_reached_s": t_ref,
        "reference_reached_epoch": ep_ref,
        "project_s": t_proj, "project_epoch": ep_proj,
        "speedup": r["train_time_s"] / t_proj if t_proj else None,
        "reference_best": best,
    }
    t_best_ref, _ = time_to_accuracy(r["history"], best)
    out["best_reference_s"] = t_best_ref
    for key, run in (("best_project_seed", ps), ("best_project_tta", pd)):
        t, ep = time_to_accuracy(run["history"], best)
        out[f"{key}_s"], out[f"{key}_epoch"] = t, ep
        out[f"{key}_speedup"] = t_best_ref / t if t else None
    return out


# ----------------------------------------------------------------------------- grid


def run_grid(data: dict, device: str, epochs: int, samples_per_epoch: int, n_jobs: int,
             n_folds: int = 3) -> dict:
    """The same 3 x 3 x 3 grid: project ``GridSearchCV`` vs reference loop."""
    from sklearn.model_selection import GridSearchCV, KFold

    from sklearn_crossenc import CrossSubjectEncoder, pearson_scorer

    names = list(data["train"])
    X = episodes(data["train"])
    cv = KFold(n_folds)
    base = dict(SEED_PARAMS, max_epochs=epochs, samples_per_epoch=samples_per_epoch)

    threads = torch.get_num_threads()
    t0 = time.perf_counter()
    scores_ref = {}
    for tr, te in cv.split(X):
        fold_data = {"train": {names[i]: data["train"][names[i]] for i in tr},
                     "fold": {names[i]: data["train"][names[i]] for i in te}}
        for d in GRID["embed_dim"]:
            for k in GRID["encoder_kernel_size"]:
                res = ref.run_reference(
                    data=fold_data, eval_sets=("fold",), eval_each_epoch=False,
                    epochs=epochs, n_train_samples=samples_per_epoch, embed_dim=d,
                    encoder_kernel_size=k, device=device)
                scores_ref.setdefault((d, k), []).append(res["final"]["fold"])
    t_ref = time.perf_counter() - t0
    torch.set_num_threads(threads)

    search = GridSearchCV(CrossSubjectEncoder(device=device, **base), GRID, cv=cv,
                          scoring=pearson_scorer, n_jobs=n_jobs, refit=False)
    t0 = time.perf_counter()
    search.fit(X)
    t_proj = time.perf_counter() - t0

    ref_means = {f"{d},{k}": float(np.mean(v)) for (d, k), v in scores_ref.items()}
    proj_means = {
        f"{p['embed_dim']},{p['encoder_kernel_size']}": float(s)
        for p, s in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"],
                        strict=True)
    }
    return {
        "grid": GRID, "n_folds": n_folds, "epochs": epochs,
        "samples_per_epoch": samples_per_epoch, "n_jobs": n_jobs,
        "reference_s": t_ref, "project_s": t_proj, "speedup": t_ref / t_proj,
        "reference_mean_scores": ref_means, "project_mean_scores": proj_means,
        "reference_best": max(ref_means, key=ref_means.get),
        "project_best": max(proj_means, key=proj_means.get),
    }


# ----------------------------------------------------------------------------- report


def _fmt(x, spec=".4f"):
    return "n/a" if x is None else format(x, spec)


def print_report(res: dict) -> None:
    m = res["machine"]
    print(f"\n== machine: {m['cpu']}, {m['cores_available']}/{m['cores']} cores, "
          f"torch {m['torch']} ({m['torch_threads']} threads), device {m['device']}"
          + (f" [{m['gpu']}]" if "gpu" in m else "")
          + f", load avg {m['load_avg_1_5_15']}")
    r, p, d = res["reference"], res["project_seed"], res["project_default"]
    cfg = res["config"]
    print(f"== data: {res['data_dir']}  epochs {cfg['epochs']}  clips/epoch "
          f"{cfg['samples_per_epoch']}")
    print(f"{'':28s}{'reference':>12s}{'project':>12s}{'ratio/diff':>12s}")
    tr = res["timing"]
    print(f"{'clips/s (seed config)':28s}{r['clips_per_s']:12.1f}{p['clips_per_s']:12.1f}"
          f"{p['clips_per_s'] / r['clips_per_s']:11.2f}x")
    print(f"{'training loop s (seed cfg)':28s}{tr['reference_loop_s']:12.2f}"
          f"{tr['project_loop_s']:12.2f}{tr['loop_ratio']:11.2f}x")
    print(f"{'whole fit s (seed cfg)':28s}{tr['reference_fit_s']:12.2f}"
          f"{tr['project_fit_s']:12.2f}{tr['fit_ratio']:11.2f}x   (against the reference "
          f"loop; {tr['fit_ratio_vs_reference_fit']:.2f}x against its loop + set-up)")
    for name in EVAL_SETS:
        print(f"{'final ' + name + ' (seed cfg)':28s}{r['final'][name]:12.4f}"
              f"{p['final'][name]:12.4f}{p['final'][name] - r['final'][name]:+12.4f}")
    tta = res["time_to_accuracy"]
    print(f"-- project, time-to-accuracy run: defaults changed by {d['params_changed']}")
    print(f"{'time to s6 target s':28s}{r['train_time_s']:12.1f}{_fmt(tta['project_s'], '12.1f')}"
          f"{_fmt(tta['speedup'], '11.2f')}x   (target {tta['target']:.4f} - {TOLERANCE})")
    for name in EVAL_SETS:
        print(f"{'final ' + name + ' (tta run)':28s}{r['final'][name]:12.4f}"
              f"{d['final'][name]:12.4f}{d['final'][name] - r['final'][name]:+12.4f}")
    fl = res["flops"]
    print(f"-- FLOPs per training clip: seed model {fl['seed_train_per_clip'] / 1e6:.1f} M "
          f"(analytic), {_fmt(fl['reference_counted_per_clip'], ',')} (counted, reference), "
          f"{_fmt(fl['project_counted_per_clip'], ',')} (counted, project module)")
    print(f"-- matmul peak {fl['matmul']['peak']:.1f} GFLOP/s "
          f"({', '.join(f'{k} {v:.1f}' for k, v in fl['matmul'].items() if k != 'peak')})")
    print(f"   reference achieved {fl['reference_gflops']:.1f} GFLOP/s "
          f"({fl['reference_gflops'] / fl['matmul']['peak']:.0%} of peak); project "
          f"{_fmt(fl['project_gflops'], '.1f')} GFLOP/s actual, "
          f"{fl['project_seed_equivalent_gflops']:.1f} seed-equivalent")
    if "grid" in res:
        g = res["grid"]
        print(f"-- grid 3x3, {g['n_folds']} folds, {g['epochs']} epochs x "
              f"{g['samples_per_epoch']} clips: reference {g['reference_s']:.1f}s, project "
              f"GridSearchCV(n_jobs={g['n_jobs']}) {g['project_s']:.1f}s, "
              f"speedup {g['speedup']:.2f}x; best (embed,kernel) ref {g['reference_best']} "
              f"project {g['project_best']}")


def markdown_summary(res: dict) -> str:
    """The results as the Markdown table of ``docs/performance.md``."""
    r, p, d = res["reference"], res["project_seed"], res["project_default"]
    tta, fl, m = res["time_to_accuracy"], res["flops"], res["machine"]
    ratio = p["clips_per_s"] / r["clips_per_s"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores_available']} cores, torch {m['torch']} "
        f"({m['torch_threads']} threads), device {m['device']}"
        + (f" ({m['gpu']})" if "gpu" in m else "")
        + f"; load average at start {', '.join(f'{x:.1f}' for x in m['load_avg_1_5_15'])}; "
        f"{m['date_utc']}.",
        "",
        "| | reference (seed loop) | CrossSubjectEncoder | ratio / difference |",
        "|---|---:|---:|---:|",
        f"| clips/s, seed configuration | {r['clips_per_s']:.1f} | {p['clips_per_s']:.1f} "
        f"| {ratio:.2f}x |",
        f"| training loop (s), seed configuration | {res['timing']['reference_loop_s']:.2f} | "
        f"{res['timing']['project_loop_s']:.2f} | {res['timing']['loop_ratio']:.2f}x |",
        f"| whole fit (s), seed configuration (ratio against the reference loop) | "
        f"{res['timing']['reference_fit_s']:.2f} (loop + set-up) | "
        f"{res['timing']['project_fit_s']:.2f} | {res['timing']['fit_ratio']:.2f}x |",
    ]
    for name in EVAL_SETS:
        lines.append(f"| final {name}, seed configuration | {r['final'][name]:.4f} | "
                     f"{p['final'][name]:.4f} | {p['final'][name] - r['final'][name]:+.4f} |")
    ep = tta["project_epoch"]
    lines.append(
        f"| time to s6 >= {tta['target']:.4f} - {TOLERANCE} (s), tta run | "
        f"{r['train_time_s']:.1f} (all epochs) | "
        + ("not reached" if tta["project_s"] is None else
           f"{tta['project_s']:.1f} (epoch {ep + 1})")
        + " | " + ("-" if tta["speedup"] is None else f"{tta['speedup']:.2f}x") + " |")
    if "reference_best" in tta:
        for key, label in (("best_project_seed", "seed configuration"),
                           ("best_project_tta", "tta run")):
            t, ep = tta[f"{key}_s"], tta[f"{key}_epoch"]
            lines.append(
                f"| time to the reference's best s6 {tta['reference_best']:.4f} - {TOLERANCE} "
                f"(s), {label} | {tta['best_reference_s']:.1f} | "
                + ("not reached" if t is None else f"{t:.1f} (epoch {ep + 1})") + " | "
                + ("-" if tta[f"{key}_speedup"] is None else f"{tta[f'{key}_speedup']:.2f}x")
                + " |")
    for name in EVAL_SETS:
        lines.append(f"| final {name}, tta run | {r['final'][name]:.4f} | "
                     f"{d['final'][name]:.4f} | {d['final'][name] - r['final'][name]:+.4f} |")
    pk = fl["matmul"]["peak"]
    lines.append(
        f"| GFLOP/s achieved (matmul peak {pk:.1f}) | {fl['reference_gflops']:.1f} "
        f"({fl['reference_gflops'] / pk:.0%}) | "
        + ("n/a" if fl["project_gflops"] is None else
           f"{fl['project_gflops']:.1f} ({fl['project_gflops'] / pk:.0%})")
        + f" | seed-equivalent {fl['project_seed_equivalent_gflops']:.1f} |")
    lines.append(
        f"| FLOPs per training clip | {fl['seed_train_per_clip'] / 1e6:.1f} M | "
        + ("n/a" if fl["project_counted_per_clip"] is None else
           f"{fl['project_counted_per_clip'] / 1e6:.1f} M")
        + " | |")
    if "grid" in res:
        g = res["grid"]
        lines.append(
            f"| 3x3 grid, {g['n_folds']} folds, {g['epochs']} x {g['samples_per_epoch']} "
            f"clips (s) | {g['reference_s']:.1f} | {g['project_s']:.1f} "
            f"(n_jobs={g['n_jobs']}) | {g['speedup']:.2f}x |")
    lines += ["", "tta run (time to accuracy): the seed configuration with "
              + (", ".join(f"`{k}={v!r}`" for k, v in d["params_changed"].items())
                 or "no change (the estimator's defaults)") + "."]
    return "\n".join(lines) + "\n"


def timing_summary(r: dict, p: dict) -> dict:
    """Training-loop and whole-fit times of the reference and the project, and the ratios
    (issue 23's targets: both against the reference's training loop)."""
    ref_loop = r["train_time_s"]
    ref_fit = r.get("set_up_time_s", 0.0) + ref_loop
    return {
        "reference_loop_s": ref_loop, "reference_fit_s": ref_fit,
        "project_loop_s": p["loop_time_s"], "project_fit_s": p["fit_time_s"],
        "loop_ratio": ref_loop / p["loop_time_s"], "fit_ratio": ref_loop / p["fit_time_s"],
        "fit_ratio_vs_reference_fit": ref_fit / p["fit_time_s"],
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()
                if k not in ("model", "estimator")}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", help="dataset folder (default: synthetic 'small' in .bench/)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 10; --quick 2)")
    p.add_argument("--samples-per-epoch", type=int, default=None,
                   help="clips per epoch (default 2000; --quick 96)")
    p.add_argument("--quick", action="store_true", help="few steps: a smoke test")
    p.add_argument("--grid", action="store_true", help="also time a 3x3 grid with 3 folds")
    p.add_argument("--grid-n-jobs", type=int, default=None,
                   help="n_jobs of the project's GridSearchCV (default: available cores)")
    p.add_argument("--skip-tta", action="store_true",
                   help="no time-to-accuracy run (the seed-configuration run stands in)")
    p.add_argument("--tta-params", help="JSON dict of CrossSubjectEncoder parameters for the "
                   "time-to-accuracy run (default: the estimator's defaults)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads for both sides (default: torch's default); on a shared "
                   "machine 1 avoids OpenMP threads waiting on each other")
    p.add_argument("--json", help="save the results to this JSON file")
    p.add_argument("--markdown", help="save the summary table (Markdown) to this file")
    args = p.parse_args(argv)

    epochs = args.epochs or (2 if args.quick else SEED_PARAMS["max_epochs"])
    spe = args.samples_per_epoch or (96 if args.quick else SEED_PARAMS["samples_per_epoch"])
    device = ref.resolve_device(args.device)
    if args.threads is not None:
        if args.threads < 1:
            p.error(f"--threads must be >= 1; got {args.threads}")
        torch.set_num_threads(args.threads)
    data, data_dir = prepare_data(args.data_dir)
    warm_torch(device)
    first = next(iter(data["train"].values()))  # (S, T, C)
    S, C = first.shape[0], first.shape[2]

    res = {"command": "python benchmarks/bench_training.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "data_dir": str(data_dir),
        "config": {"epochs": epochs, "samples_per_epoch": spe}}
    res["machine"] = machine_info(device)
    threads = torch.get_num_threads()  # both sides run with this thread count
    print(f"reference: seed loop, {epochs} epochs x {spe} clips ...", flush=True)
    r = ref.run_reference(data=data, epochs=epochs, n_train_samples=spe, device=device)
    print(f"  {r['clips_per_s']:.1f} clips/s, final {r['final']}", flush=True)
    torch.set_num_threads(threads)

    seed_params = dict(SEED_PARAMS, max_epochs=epochs, samples_per_epoch=spe)
    print("project: CrossSubjectEncoder at the seed configuration ...", flush=True)
    ps = run_project(data, seed_params, str(device))
    print(f"  {ps['clips_per_s']:.1f} clips/s, final {ps['final']}", flush=True)

    from sklearn_crossenc import CrossSubjectEncoder

    tta_params = {"random_state": SEED_PARAMS["random_state"]}
    if args.quick or args.epochs or args.samples_per_epoch:
        tta_params.update(max_epochs=epochs, samples_per_epoch=spe)
    tta_params.update(json.loads(args.tta_params) if args.tta_params else {})
    seed_all = CrossSubjectEncoder(**seed_params).get_params()
    tta_all = CrossSubjectEncoder(**tta_params).get_params()
    changed = {k: v for k, v in tta_all.items() if v != seed_all[k]}
    if args.skip_tta or not changed:
        print("project: no separate time-to-accuracy run (the seed-configuration run)")
        changed = {} if args.skip_tta else changed
        pd = dict(ps)
    else:
        print(f"project: CrossSubjectEncoder with {changed} ...", flush=True)
        pd = run_project(data, tta_params, str(device))
    pd["params_changed"] = changed
    print(f"  {pd['clips_per_s']:.1f} clips/s, final {pd['final']}", flush=True)

    res["time_to_accuracy"] = time_to_accuracy_summary(r, ps, pd)

    mm = matmul_peak(device, S, SEED_PARAMS["sample_length"], C, SEED_PARAMS["embed_dim"],
                     SEED_PARAMS["batch_size"])
    seed_fl = seed_flops_per_clip(S, SEED_PARAMS["sample_length"], C, SEED_PARAMS["embed_dim"],
                                  SEED_PARAMS["encoder_kernel_size"])
    x = torch.from_numpy(np.stack([first[:, :SEED_PARAMS["sample_length"]]] * 4)).to(device)
    ref_counted = counted_flops_per_clip(r["model"], x)
    try:
        proj_counted = counted_flops_per_clip(ps["estimator"].net_.module_, x)
    except Exception as exc:  # the module may take another input layout
        print(f"  (could not count the project module's FLOPs: {exc})")
        proj_counted = None
    res["flops"] = {
        "seed_train_per_clip": seed_fl["train"], "seed_forward_per_clip": seed_fl["forward"],
        "reference_counted_per_clip": ref_counted, "project_counted_per_clip": proj_counted,
        "matmul": mm,
        "reference_gflops": r["clips_per_s"] * seed_fl["train"] / 1e9,
        "project_gflops": ps["clips_per_s"] * proj_counted / 1e9 if proj_counted else None,
        "project_seed_equivalent_gflops": ps["clips_per_s"] * seed_fl["train"] / 1e9,
    }
    res["reference"], res["project_seed"], res["project_default"] = r, ps, pd
    res["timing"] = timing_summary(r, ps)
    res["ratios"] = {
        "clips_per_s": ps["clips_per_s"] / r["clips_per_s"],
        "train_time_seed_config": r["train_time_s"] / ps["train_time_s"],
    }

    if args.grid:
        n_jobs = args.grid_n_jobs or res["machine"]["cores_available"]
        print(f"grid: 3x3 x 3 folds, reference loop vs GridSearchCV(n_jobs={n_jobs}) ...",
              flush=True)
        res["grid"] = run_grid(data, str(device), epochs, spe, n_jobs)

    print_report(res)
    if args.json:
        from sklearn_crossenc._io import atomic_write_json

        atomic_write_json(args.json, _jsonable(res))
        print(f"saved {args.json}")
    if args.markdown:
        from sklearn_crossenc._io import atomic_write_text

        atomic_write_text(args.markdown, markdown_summary(res))
        print(f"saved {args.markdown}")
    return res


if __name__ == "__main__":
    main()

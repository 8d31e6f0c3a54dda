"""Contention benchmark: one encoder fit alone and beside busy processes, old and new threads.

A shared machine (a lab server, a cluster node) runs other work beside ours. This runs
the same encoder fit (fixed data, parameters and random state) in a fresh process

- alone, then beside 2 and beside 6 busy processes (each a Python loop that never sleeps),
- with each thread setting of ``--configs``:

  - ``before``: the defaults before issue 32: torch's own thread count (one per core),
    OpenMP's default wait policy (idle workers spin for a while before sleeping);
  - ``new``: the package's defaults now: ``n_threads="auto"`` (the cores no other process
    runs on when the fit starts, at least 1) and ``OMP_WAIT_POLICY=PASSIVE`` (idle workers
    sleep), set when ``sklearn_crossenc`` is imported before torch;
  - ``passive``: torch's thread count with passive waits only;
  - ``one``: ``n_threads=1``, OpenMP's default wait policy.

It prints the machine (CPU, cores, load average before and after) and a table of fit
times with two ratios: against the same setting alone (what the busy processes cost) and
against ``before`` in the same column (what the new defaults gain). A fair share of a
machine with ``c`` cores beside ``b`` busy processes is ``c / (b + 1)`` cores, so a fit
that takes ``t`` alone should take about ``t * (b + 1) / c`` when ``b + 1 > c``.

Usage::

    python benchmarks/bench_contention.py                 # before / new, 0, 2, 6 busy (2-4 min)
    python benchmarks/bench_contention.py --configs before,new,passive,one --busy 0,6
    python benchmarks/bench_contention.py --busy 0,2 --timeout 30   # quicker

Each fit is stopped after ``--timeout`` seconds (120) and reported as ``> 120``.

The machine's other work adds to the busy processes: the load average printed says how
much there was.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ("before", "new", "passive", "one")
#: The fit timed: about a second alone on 2 quiet cores.
SHAPE = (4, 4, 200, 400)  # (episodes, subjects, time, parcels)
PARAMS = dict(embed_dim=64, encoder_kernel_size=7, samples_per_epoch=240, device="cpu",
              random_state=0)


def _child(config: str, epochs: int) -> None:
    """Fit once under ``config`` (in this fresh process) and print the seconds as JSON."""
    if config in ("before", "one"):
        os.environ.pop("OMP_WAIT_POLICY", None)
        import torch  # noqa: F401  (loaded before the package: its OpenMP waits as before)
    elif config == "passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    # The package first, on its own: it sets passive waits when torch is not loaded yet.
    import sklearn_crossenc

    loaded_first = "torch" not in sys.modules or config in ("before", "one")
    assert loaded_first, "torch was imported before sklearn_crossenc"
    import numpy as np
    import torch
    from skorch.callbacks import Callback

    threads = {"before": None, "passive": None, "one": 1, "new": "auto"}[config]
    X = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)  # (E, S, T, C)
    enc = sklearn_crossenc.CrossSubjectEncoder(max_epochs=epochs, n_threads=threads, **PARAMS)
    seen = {}

    class Threads(Callback):  # torch's threads while the fit trains
        def on_train_begin(self, net, **kwargs):
            seen["threads"] = torch.get_num_threads()

    enc.set_params(callbacks=[Threads()])
    start = time.perf_counter()
    enc.fit(X)
    seconds = time.perf_counter() - start
    print(json.dumps({"config": config, "seconds": seconds, "threads": seen.get("threads"),
                      "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)")}))


def _busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def _stop(procs) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def _run(config: str, epochs: int, timeout: float) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--child", config, "--epochs", str(epochs)]
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:  # bounded: the row says "> timeout"
        return {"config": config, "seconds": float("inf"), "threads": "?",
                "wait_policy": "?"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _s(x: float, timeout) -> str:
    """``x`` to 2 decimals; a fit stopped at its timeout as ``> timeout``."""
    return f"{x:.2f}" if x != float("inf") else (f"> {timeout:.0f}" if timeout else "?")


def _ratio(a: float, b: float, timeout: float) -> str:
    """``a / b``; with a fit stopped at its timeout, the bound it gives (``> x`` or ``< x``)."""
    inf = float("inf")
    if a == inf and b == inf:
        return "?"
    if a == inf:
        return f"> {timeout / b:.2f}"
    if b == inf:
        return f"< {a / timeout:.2f}"
    return f"{a / b:.2f}"


def _machine() -> str:
    from sklearn_crossenc._environment import cpu_model, usable_cores

    return (f"{cpu_model()}, {usable_cores()} usable cores, {platform.system()}, "
            f"Python {platform.python_version()}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="before,new", help=f"comma-separated, of {CONFIGS}")
    ap.add_argument("--busy", default="0,2,6", help="busy processes beside the fit")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds before a fit is stopped and reported as longer")
    ap.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child, args.epochs)
    configs = args.configs.split(",")
    busy = [int(b) for b in args.busy.split(",")]
    if any(c not in CONFIGS for c in configs) or 0 not in busy:
        ap.error(f"--configs from {CONFIGS}; --busy must include 0")
    print(f"machine: {_machine()}")
    print(f"fit: CrossSubjectEncoder({PARAMS}, max_epochs={args.epochs}) on random "
          f"(episodes, subjects, time, parcels) = {SHAPE}, float32, in a fresh process")
    print(f"load average at the start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.perf_counter()
    times: dict = {}
    for b in busy:
        procs = _busy(b)
        try:
            time.sleep(1.0 if b else 0.0)  # the busy processes are running
            for c in configs:
                r = _run(c, args.epochs, args.timeout)
                times[c, b] = r
                print(f"  {b} busy, {c}: {r['seconds']:.2f} s ({r['threads']} threads, "
                      f"OMP_WAIT_POLICY {r['wait_policy']})", flush=True)
        finally:
            _stop(procs)
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"benchmark {time.perf_counter() - t0:.0f} s")
    print()
    print("| setting | busy processes | threads | fit (s) | x alone | x before |")
    print("|---|---:|---:|---:|---:|---:|")
    for b in busy:
        for c in configs:
            r = times[c, b]
            vs = _ratio(r["seconds"], times["before", b]["seconds"], args.timeout) \
                if "before" in configs else ""
            print(f"| {c} | {b} | {r['threads']} | {_s(r['seconds'], args.timeout)} | "
                  f"{_ratio(r['seconds'], times[c, 0]['seconds'], args.timeout)} | {vs} |")


if __name__ == "__main__":
    main()

"""The ``crossenc`` command line (also ``python -m sklearn_crossenc``).

Subcommands:

- ``crossenc compare``: fit and compare every model on the seed's protocol, print the
  table, write ``report.json``, ``report.md`` and figures into ``--out``;
- ``crossenc synth OUT``: write the synthetic dataset;
- ``crossenc grid``: ``GridSearchCV`` of ``CrossSubjectEncoder`` with the Pearson scorer
  over episode folds; prints and saves ``cv_results_`` as CSV.

Errors end the command with one line on stderr and a non-zero exit code (1; 2 for
bad usage; 130 on Ctrl-C); ``--traceback`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import io
import shlex
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser", "parse_param", "parse_value"]

PROG = "crossenc"
DEFAULT_OUT = "crossenc-out"
DEFAULT_GRID = ("embed_dim=32,64,128",)
# Errors the package raises on bad input or data; shown as one line, not a traceback.
EXPECTED_ERRORS = (ValueError, FileNotFoundError, OSError, ArithmeticError, RuntimeError)


# ---------------------------------------------------------------------------- parsing helpers


def parse_value(text: str):
    """A ``--param`` value: int, float, True/False/None, else the string itself.

    Examples
    --------
    >>> from sklearn_crossenc.cli import parse_value
    >>> parse_value("64"), parse_value("3e-4"), parse_value("False"), parse_value("cpu")
    (64, 0.0003, False, 'cpu')
    """
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return text


def parse_param(text: str, valid=None) -> tuple[str, list]:
    """Parse ``NAME=V1,V2,...`` into ``(NAME, [values])``.

    Parameters
    ----------
    text : str
        One ``--param`` argument.
    valid : collection of str, optional
        Accepted parameter names.

    Raises
    ------
    ValueError
        No ``=``, an empty name or value list, or a name not in ``valid``.

    Examples
    --------
    >>> from sklearn_crossenc.cli import parse_param
    >>> parse_param("embed_dim=32,64,128")
    ('embed_dim', [32, 64, 128])
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(
            f"--param {text!r} is not of the form NAME=V1,V2,... (e.g. embed_dim=32,64)."
        )
    if valid is not None and name not in valid:
        raise ValueError(
            f"--param {text!r}: unknown parameter {name!r} of CrossSubjectEncoder; "
            f"valid: {', '.join(sorted(valid))}."
        )
    items = [v for v in values.split(",") if v.strip()]
    if not items:
        raise ValueError(f"--param {text!r} gives no values for {name!r}.")
    return name, [parse_value(v) for v in items]


# ---------------------------------------------------------------------------- parser


def _add_common(p, *, data=True, out=True):
    if data:
        p.add_argument(
            "--data-dir", metavar="DIR", type=Path, default=None,
            help="competitor release folder (algonauts_2025.competitors) or a synthetic one; "
                 "default: the synthetic 'small' dataset, generated once into the cache folder "
                 "($CROSSENC_CACHE, else $XDG_CACHE_HOME/sklearn-crossenc or "
                 "~/.cache/sklearn-crossenc)",
        )
    if out:
        p.add_argument(
            "--out", metavar="DIR", type=Path, default=Path(DEFAULT_OUT),
            help=f"output folder (default ./{DEFAULT_OUT}); never inside the data folder",
        )
    p.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="device of the encoder (default auto: CUDA when available)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="random_state of the encoder (default 0)")
    p.add_argument("--quick", action="store_true",
                   help="reduced training for a smoke run; its numbers are not meaningful")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars or messages; only the results")


def build_parser() -> argparse.ArgumentParser:
    """The ``crossenc`` argument parser (subcommands ``compare``, ``synth``, ``grid``).

    Examples
    --------
    >>> from sklearn_crossenc.cli import build_parser
    >>> args = build_parser().parse_args(["compare", "--quick", "--models", "mean", "ridge"])
    >>> args.command, args.quick, args.models
    ('compare', True, ['mean', 'ridge'])
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Cross-subject encoding of fMRI (Algonauts 2025): fit, compare and report.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback on errors (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "compare",
        help="fit and compare all models on the seed's protocol, write the report",
        description="Train on Friends s1-5, evaluate on Friends s6 and Movie10 run 1: "
                    "MeanOfOthers, CrossSubjectRidge, FeatureRidge (when stimulus features "
                    "exist) and CrossSubjectEncoder (seed defaults). Prints the table and writes "
                    "report.json, report.md, parcel_scores.npz and figures into --out.",
    )
    _add_common(p)
    p.add_argument(
        "--models", nargs="+", metavar="MODEL", default=None,
        choices=("encoder", "ridge", "feature", "mean"),
        help="models to run: encoder ridge feature mean (default all)",
    )
    p.add_argument("--trim", type=int, default=0, metavar="N",
                   help="TRs left out at each end of every evaluated run (default 0 like the seed; "
                        "the challenge uses 5)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads for the encoder's training (default: torch's); on a "
                        "machine busy with other jobs fewer threads are often faster")
    p.add_argument("--early-stopping", type=float, nargs="?", const=0.1, default=None,
                   metavar="FRACTION",
                   help="hold out FRACTION of the training runs (default 0.1) and stop the "
                        "encoder at the first epoch that does not improve on them, keeping the "
                        "best weights (default: the seed's 10 epochs)")
    p.add_argument("--no-figures", action="store_true", help="do not draw figures")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser(
        "synth",
        help="write the synthetic dataset (competitor layout)",
        description="Write a synthetic dataset in the competitor release layout (HDF5 files per "
                    "subject, ground truth, stimulus features) into OUT.",
    )
    p.add_argument("out", metavar="OUT", type=Path, help="folder to create")
    p.add_argument("--scale", choices=("tiny", "small", "full"), default="small",
                   help="tiny (tests, ~1 s), small (default, the demo), full (real sizes, ~2 GB)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="generator seed (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing synthetic dataset at OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser(
        "grid",
        help="GridSearchCV of CrossSubjectEncoder over episode folds",
        description="Grid search of CrossSubjectEncoder on Friends training runs with the Pearson "
                    "scorer; cross-validation folds are whole runs (grouped by season by default). "
                    "Prints cv_results_ and saves it as grid_results.csv in --out.",
    )
    _add_common(p)
    p.add_argument(
        "--param", action="append", metavar="NAME=V1,V2", default=None,
        help="a parameter of CrossSubjectEncoder and its values; repeat for several "
             f"(default {' '.join(DEFAULT_GRID)})",
    )
    p.add_argument("--cv", type=int, default=3, metavar="N", help="number of folds (default 3)")
    p.add_argument("--split", choices=("season", "kfold"), default="season",
                   help="season: GroupKFold with one group per season (default); "
                        "kfold: KFold over runs")
    p.add_argument("--seasons", type=int, nargs="+", default=[1, 2, 3, 4, 5], metavar="S",
                   help="Friends seasons to search on (default 1 2 3 4 5)")
    p.add_argument("--n-jobs", type=int, default=1, metavar="N",
                   help="parallel fits (joblib; default 1)")
    p.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="run the fits on the Dask cluster whose scheduler is at ADDRESS "
             "(e.g. tcp://host:8786; needs the 'distributed' extra): the runs are sent to "
             "every worker once, each worker resolves --device itself, and --n-jobs N > 1 "
             "caps the fits running at once (default: every worker thread)",
    )
    p.set_defaults(func=_cmd_grid)
    return parser


# ---------------------------------------------------------------------------- helpers


def _logger(quiet: bool):
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    return log


def _check_dirs(args) -> None:
    from .report import check_output_dir

    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        raise FileNotFoundError(f"data folder {args.data_dir} does not exist or is not a folder.")
    data_dir = args.data_dir
    if data_dir is None:
        from .compare import default_data_dir

        data_dir = default_data_dir()
    check_output_dir(args.out, data_dir)


def _command_line(argv) -> str:
    return shlex.join([PROG] + list(argv))


# ---------------------------------------------------------------------------- compare


def _cmd_compare(args, argv) -> int:
    from .compare import run_comparison
    from .report import format_table, write_report

    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1; got {args.threads}.")
    _check_dirs(args)
    log = _logger(args.quiet)
    result = run_comparison(
        args.data_dir,
        models=args.models,
        device=args.device,
        quick=args.quick,
        seed=args.seed,
        trim=args.trim,
        progress=not args.quiet,
        log=log,
        n_threads=args.threads,
        early_stopping=args.early_stopping,
    )
    result["command"] = _command_line(argv)
    print(format_table(result), end="", flush=True)
    paths = write_report(result, args.out, figures=not args.no_figures, log=log)
    names = ", ".join(Path(p).name for p in paths.values())
    print(f"Report written to {Path(args.out).resolve()}: {names}")
    return 0


# ---------------------------------------------------------------------------- synth


def _cmd_synth(args, argv) -> int:
    from .data import make_synthetic_dataset

    log = _logger(args.quiet)
    log(f"Writing the synthetic '{args.scale}' dataset (seed {args.seed}) into {args.out} ...")
    t0 = time.perf_counter()
    root = make_synthetic_dataset(
        args.out, scale=args.scale, seed=args.seed, overwrite=args.overwrite,
        progress=not args.quiet,
    )
    size = sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())
    print(f"Synthetic dataset written to {Path(root).resolve()} "
          f"({size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s).")
    return 0


# ---------------------------------------------------------------------------- grid


def _param_grid(texts, valid) -> dict:
    grid = {}
    for text in texts or DEFAULT_GRID:
        name, values = parse_param(text, valid)
        if name in grid:
            raise ValueError(
                f"--param {name!r} is given twice; list all its values in one --param."
            )
        grid[name] = values
    return grid


def _parallel_backend(args, X):
    """The joblib context the search runs in: the Dask cluster of ``--scheduler``, with the
    episodes ``X`` scattered to its workers once; else joblib's default."""
    if args.scheduler is None:
        return contextlib.nullcontext()
    from .distributed import dask_backend

    return dask_backend(args.scheduler, scatter=(X,))


def _cv_splitter(split: str, n_folds: int, groups):
    import numpy as np
    from sklearn.model_selection import GroupKFold, KFold

    if n_folds < 2:
        raise ValueError(f"--cv must be at least 2; got {n_folds}.")
    n_runs = len(groups)
    if n_runs < n_folds:
        raise ValueError(f"only {n_runs} runs for --cv {n_folds} folds.")
    if split == "season":
        seasons = np.unique(groups)
        if len(seasons) < n_folds:
            raise ValueError(
                f"--split season needs at least {n_folds} seasons for --cv {n_folds}; the data "
                f"has {len(seasons)} ({', '.join(map(str, seasons))}). Use a smaller --cv or "
                "--split kfold."
            )
        return GroupKFold(n_splits=n_folds)
    return KFold(n_splits=n_folds, shuffle=False)


def cv_results_rows(cv_results) -> tuple[list[str], list[list]]:
    """Columns and rows of ``cv_results_`` (without the ``params`` dicts), ranked best first."""
    import numpy as np

    columns = [k for k in cv_results if k != "params"]
    order = np.argsort(np.asarray(cv_results["rank_test_score"]), kind="stable")
    rows = []
    for i in order:
        row = []
        for k in columns:
            v = cv_results[k][i]
            if np.ma.is_masked(v):
                v = ""
            elif isinstance(v, np.generic):
                v = v.item()
            row.append(v)
        rows.append(row)
    return columns, rows


def _grid_table(cv_results) -> str:
    columns, rows = cv_results_rows(cv_results)
    params = [c for c in columns if c.startswith("param_")]
    shown = ["rank_test_score", "mean_test_score", "std_test_score", "mean_fit_time"] + params
    idx = [columns.index(c) for c in shown]
    header = ["rank", "mean r", "std r", "fit (s)"] + [c[len("param_"):] for c in params]
    cells = [
        [str(r[idx[0]]), f"{r[idx[1]]:.4f}", f"{r[idx[2]]:.4f}", f"{r[idx[3]]:.1f}"]
        + [str(r[j]) for j in idx[4:]]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-" * len(lines[0]))
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines) + "\n"


def _grid_csv(cv_results) -> str:
    columns, rows = cv_results_rows(cv_results)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _cmd_grid(args, argv) -> int:
    from sklearn.model_selection import GridSearchCV

    import sklearn_crossenc as pkg

    from ._io import atomic_write_text
    from .compare import QUICK_ENCODER, ensure_default_dataset, interrupt_guard, resolve_device
    from .metrics import pearson_scorer

    _check_dirs(args)
    grid = _param_grid(args.param, set(pkg.CrossSubjectEncoder().get_params()))
    if args.n_jobs == 0:
        raise ValueError("--n-jobs must not be 0 (use 1, N > 1, or -1 for all cores).")
    if args.scheduler is None:
        device = resolve_device(args.device)
    else:  # resolved by each worker when it fits (its own GPU, if any)
        from .distributed import import_distributed

        try:
            import_distributed()
        except ImportError as err:
            raise RuntimeError(str(err)) from None
        device = args.device

    from .data import as_episodes, episode_groups, load_friends

    log = _logger(args.quiet)
    root = args.data_dir
    if root is None:
        root = ensure_default_dataset(progress=not args.quiet, log=log)
    log(f"Loading Friends seasons {' '.join(map(str, args.seasons))} from {root} ...")
    data = load_friends(root, seasons=args.seasons, progress=not args.quiet)
    X = as_episodes(data)  # list of (S, T_i, C)
    groups = episode_groups(data)
    cv = _cv_splitter(args.split, args.cv, groups)

    fixed = {"device": device, "random_state": args.seed}
    if args.quick:
        fixed.update(QUICK_ENCODER)
    min_len = min(x.shape[1] for x in X)
    if min_len < 64:
        fixed["sample_length"] = min_len
    estimator = pkg.CrossSubjectEncoder(**fixed)
    n_candidates = 1
    for v in grid.values():
        n_candidates *= len(v)
    n_jobs = -1 if args.scheduler is not None and args.n_jobs == 1 else args.n_jobs
    where = "" if args.scheduler is None else f" on the Dask cluster at {args.scheduler}"
    log(f"{n_candidates} candidates x {args.cv} folds over {len(X)} runs "
        f"({args.split}), n_jobs={n_jobs}{where} ...")
    search = GridSearchCV(
        estimator, grid, scoring=pearson_scorer, cv=cv, n_jobs=n_jobs, refit=False,
        error_score="raise", verbose=0 if args.quiet else 2,
    )
    t0 = time.perf_counter()
    with interrupt_guard(), _parallel_backend(args, X):
        search.fit(X, groups=groups if args.split == "season" else None)
    wall = time.perf_counter() - t0
    print(_grid_table(search.cv_results_), end="")
    best = search.cv_results_["params"][int(search.best_index_)]
    print(f"best: {best} (mean r {search.best_score_:.4f}); search took {wall:.1f} s")
    out = Path(args.out)
    path = atomic_write_text(out / "grid_results.csv", _grid_csv(search.cv_results_))
    print(f"cv_results_ written to {path.resolve()}")
    return 0


# ---------------------------------------------------------------------------- entry point


def main(argv=None) -> int:
    """Run the ``crossenc`` command line and return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    code : int
        0 on success, 1 on an error (one line on stderr), 2 on bad usage,
        130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error (already printed)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args, argv))
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted.", file=sys.stderr)
        return 130
    except EXPECTED_ERRORS as exc:
        if args.traceback:
            raise
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG} {args.command}: error: {msg}", file=sys.stderr)
        return 1

"""The ``crossenc`` command line (also ``python -m sklearn_crossenc``).

Subcommands:

- ``crossenc compare``: fit and compare every model on the seed's protocol, print the
  table, write ``report.json``, ``report.md`` and figures into ``--out``;
- ``crossenc synth OUT``: write the synthetic dataset;
- ``crossenc grid``: ``GridSearchCV`` of ``CrossSubjectEncoder`` with the Pearson scorer
  over episode folds; prints ``cv_results_``, writes it as CSV beside ``report.json`` and
  ``report.md``;
- ``crossenc add-subject``: a subject added to an encoder trained on the others, at
  several data budgets; prints the learning curve, writes ``report.json`` and ``report.md``.

The arguments are parsed by :mod:`sklearn_crossenc._cli_parser`; each command checks its
output folder, calls one job (:mod:`sklearn_crossenc.jobs`), has its files written by
:mod:`sklearn_crossenc.report` and prints.

Errors end the command with one line on stderr and a non-zero exit code (1; 2 for
bad usage; 130 on Ctrl-C, 143 on SIGTERM); ``--traceback`` shows the full traceback instead.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import time
from pathlib import Path

from ._cli_parser import PROG, build_parser, default_grid, parse_param, parse_value

__all__ = ["main", "build_parser", "parse_param", "parse_value"]

# Errors the package raises on bad input or data; shown as one line, not a traceback.
EXPECTED_ERRORS = (ValueError, FileNotFoundError, OSError, ArithmeticError, RuntimeError)


# ---------------------------------------------------------------------------- helpers


def _logger(quiet: bool):
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    return log


@contextlib.contextmanager
def _output_folder(args):
    """Check ``--out`` (never inside the data folder; created, and a probe file written)
    before any work; remove it again if the command fails or is interrupted before
    writing to it. The data folder itself is checked by the job."""
    from .data import default_data_dir
    from .jobs._preflight import check_output_folder, remove_if_empty
    from .report import check_output_dir

    check_output_dir(args.out, default_data_dir() if args.data_dir is None else args.data_dir)
    created = check_output_folder(args.out)
    try:
        yield
    except BaseException:
        if created:
            remove_if_empty(args.out)
        raise


def _command_line(argv) -> str:
    return shlex.join([PROG] + list(argv))


def _written(paths: dict, out) -> str:
    names = ", ".join(Path(p).name for p in paths.values())
    return f"{Path(out).resolve()}: {names}"


# ---------------------------------------------------------------------------- compare


def _cmd_compare(args, argv) -> int:
    if args.param and not args.tune:
        raise ValueError("--param sets the grid of --tune; add --tune.")
    if args.param:
        _param_grid(args.param, _encoder_params())  # checked before any work
    with _output_folder(args):
        return _compare(args, argv)


def _compare(args, argv) -> int:
    from .jobs.compare import run_comparison
    from .report import format_table, write_report

    log = _logger(args.quiet)
    result = run_comparison(
        args.data_dir,
        models=args.models,
        device=args.device,
        quick=args.quick,
        random_state=args.random_state,
        trim=args.trim,
        progress=not args.quiet,
        log=log,
        n_threads=args.threads,
        early_stopping=args.early_stopping,
        refit=args.refit,
        tune=args.tune,
        param_grid=_param_grid(args.param, _encoder_params()) if args.param else None,
        repeats=args.repeats,
        n_jobs=args.n_jobs,
        scheduler=args.scheduler,
        atlas=args.atlas,
    )
    result["command"] = _command_line(argv)
    print(format_table(result), end="", flush=True)
    paths = write_report(result, args.out, figures=not args.no_figures, log=log)
    print(f"Report written to {_written(paths, args.out)}")
    return 0


# ---------------------------------------------------------------------------- synth


def _cmd_synth(args, argv) -> int:
    from .data import make_synthetic_dataset

    log = _logger(args.quiet)
    log(f"Writing the synthetic '{args.scale}' dataset (data seed {args.data_seed}) into "
        f"{args.out} ...")
    t0 = time.perf_counter()
    root = make_synthetic_dataset(
        args.out, scale=args.scale, random_state=args.data_seed, overwrite=args.overwrite,
        progress=not args.quiet,
    )
    size = sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())
    print(f"Synthetic dataset written to {Path(root).resolve()} "
          f"({size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s).")
    return 0


# ---------------------------------------------------------------------------- grid


def _param_grid(texts, valid) -> dict:
    grid = {}
    for text in texts or default_grid():
        name, values = parse_param(text, valid)
        if name in grid:
            raise ValueError(
                f"--param {name!r} is given twice; list all its values in one --param."
            )
        grid[name] = values
    return grid


def _encoder_params() -> set:
    from .jobs._registry import REGISTRY

    return set(REGISTRY["encoder"].estimator()().get_params())


def _cmd_grid(args, argv) -> int:
    grid = _param_grid(args.param, _encoder_params())
    with _output_folder(args):
        return _grid(args, argv, grid)


def _grid(args, argv, grid) -> int:
    from .jobs.grid import run_grid_search
    from .report import format_grid_table, write_grid_report

    result = run_grid_search(
        args.data_dir, param_grid=grid, cv=args.cv, split=args.split, seasons=args.seasons,
        n_jobs=args.n_jobs, scheduler=args.scheduler, device=args.device,
        random_state=args.random_state, n_threads=args.threads, trim=args.trim,
        scoring=args.scoring, refit=args.refit, quick=args.quick, progress=not args.quiet,
        verbose=0 if args.quiet else 2, log=_logger(args.quiet),
        early_stopping=args.early_stopping,
    )
    result["command"] = _command_line(argv)
    print(format_grid_table(result["cv_results"], result["rank_column"]), end="")
    print(f"best: {result['best_params']} (mean {result['config']['scoring'][0]} "
          f"{result['best_score']:.4f}); search took {result['timings']['search_s']:.1f} s")
    paths = write_grid_report(result, args.out)
    print(f"Grid search written to {_written(paths, args.out)}")
    return 0


# ---------------------------------------------------------------------------- add-subject


def _minutes(values) -> list:
    """``--minutes`` values: numbers of minutes, or None for 'all' (checked by the job)."""
    out = []
    for v in values:
        if str(v).lower() == "all":
            out.append(None)
            continue
        try:
            out.append(float(v))
        except ValueError:
            raise ValueError(f"--minutes {v!r} is neither a number nor 'all'.") from None
    return out


def _cmd_add_subject(args, argv) -> int:
    budgets = _minutes(args.minutes)
    with _output_folder(args):
        return _add_subject(args, argv, budgets)


def _add_subject(args, argv, budgets) -> int:
    from .jobs.new_subject import run_new_subject
    from .report import format_learning_curve, write_new_subject_report

    result = run_new_subject(
        args.data_dir, new_subject=args.subject, budgets_min=budgets, reference=args.reference,
        device=args.device, random_state=args.random_state, n_threads=args.threads,
        quick=args.quick, progress=not args.quiet, log=_logger(args.quiet),
        early_stopping=args.early_stopping)
    result["command"] = _command_line(argv)
    print(format_learning_curve(result))
    paths = write_new_subject_report(result, args.out)
    print(f"Learning curve written to {_written(paths, args.out)}")
    return 0


COMMANDS = {
    "compare": _cmd_compare,
    "synth": _cmd_synth,
    "grid": _cmd_grid,
    "add_subject": _cmd_add_subject,
}


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
        130 on Ctrl-C (SIGINT), 143 on SIGTERM; nothing half-written is left.
    """
    from ._interrupt import catch_signals, received_signal

    argv = sys.argv[1:] if argv is None else list(argv)
    state = {"command": None, "signum": None}
    try:  # signals are caught from the start: parsing imports numpy and friends
        with catch_signals():
            try:
                return _parse_and_run(argv, state)
            finally:
                state["signum"] = received_signal()
    except KeyboardInterrupt:
        signum = state["signum"] or signal.SIGINT
        what = "terminated" if signum == signal.SIGTERM else "interrupted"
        name = f"{PROG} {state['command']}" if state["command"] else PROG
        print(f"{name}: {what}.", file=sys.stderr, flush=True)
        return 128 + int(signum)


def _parse_and_run(argv, state: dict) -> int:
    """Parse ``argv`` and run its subcommand; an expected error is one line (exit 1)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error (already printed)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    state["command"] = args.command
    try:
        return int(COMMANDS[args.command_name](args, argv))
    except EXPECTED_ERRORS as exc:
        if args.traceback:
            raise
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG} {args.command}: error: {msg}", file=sys.stderr)
        return 1

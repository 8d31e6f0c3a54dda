"""The ``crossenc`` command line (also ``python -m sklearn_crossenc``).

Subcommands:

- ``crossenc compare``: fit and compare every model on the seed's protocol, print the
  table, write ``report.json``, ``report.md`` and figures into ``--out``;
- ``crossenc synth OUT``: write the synthetic dataset;
- ``crossenc grid``: ``GridSearchCV`` of ``CrossSubjectEncoder`` with the Pearson scorer
  over episode folds; prints ``cv_results_``, writes it as CSV beside ``report.json`` and
  ``report.md``;
- ``crossenc add-subject``: a subject added to an encoder trained on the others, at
  several data budgets; prints the learning curve, writes ``report.json`` and ``report.md``;
- ``crossenc headroom``: models' prediction files against the cross-subject ceiling;
  prints the table, writes the comparison's files with the headroom section.

The arguments are parsed by :mod:`sklearn_crossenc._cli_parser`; each command opens the
set of files it will write into ``--out`` (checked, locked, its disk space held: see
:func:`sklearn_crossenc.report.open_output_set`), calls one job
(:mod:`sklearn_crossenc.jobs`), has its files written into the set by
:mod:`sklearn_crossenc.report`, which is committed as one, and prints.

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

from ._cli_parser import (
    PROG,
    build_parser,
    default_grid,
    parse_named_files,
    parse_param,
    parse_value,
)
from ._cli_values import dataset_option

__all__ = ["main", "build_parser", "parse_param", "parse_value"]

# Errors the package raises on bad input or data; shown as one line, not a traceback.
EXPECTED_ERRORS = (ValueError, FileNotFoundError, OSError, ArithmeticError, RuntimeError)


# ---------------------------------------------------------------------------- helpers


def _logger(quiet: bool):
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    return log


def _data_folder(args):
    from .data import default_data_dir

    if getattr(args, "described", None) is not None:
        return args.described.folder
    return default_data_dir() if args.data_dir is None else args.data_dir


def _import_torch() -> None:
    """Import torch with signals held until it is done: a Ctrl-C that lands while torch's
    C++ extension runs Python code during its import (``torch.distributed``) is raised
    through C++ and aborts the process (SIGABRT, nothing cleaned up). Held, it is raised
    once the import is done, as any other."""
    from ._interrupt import shielded

    with shielded():
        import torch  # noqa: F401


@contextlib.contextmanager
def _output_folder(args, argv, reserve):
    """The set of files the command will commit into ``--out``, opened before any work:
    ``--out`` is checked (never inside or around the data folder, nothing in it that
    crossenc did not write), locked against a second run, and ``reserve()`` bytes of disk
    space are held beside it. The writer writes into the set; it is committed when the
    block ends normally, and ``--out`` keeps its previous set otherwise."""
    from .report import open_output_set

    with open_output_set(args.out, _data_folder(args), owner=_command_line(argv),
                         reserve=reserve(), job=args.command) as outset:
        yield outset


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
    _import_torch()
    from .jobs._outputs import comparison_output_bytes

    def reserve():
        return comparison_output_bytes(_data_folder(args), args.models,
                                       figures=not args.no_figures, dataset=args.described)

    with _output_folder(args, argv, reserve) as outset:
        paths = _compare(args, argv, outset)
    print(f"Report written to {_written(paths, args.out)}")
    return 0


def _compare(args, argv, outset) -> dict:
    from .jobs.compare import run_comparison
    from .report import format_table, write_report

    log = _logger(args.quiet)
    result = run_comparison(
        args.data_dir,
        dataset=args.described,
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
        stream=args.stream,
    )
    result["command"] = _command_line(argv)
    print(format_table(result), end="", flush=True)
    return write_report(result, outset, figures=not args.no_figures, log=log)


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
    _import_torch()
    from .jobs._outputs import grid_output_bytes
    grid = _param_grid(args.param, _encoder_params())

    def reserve():
        return grid_output_bytes(_data_folder(args), grid, refit=args.refit, quick=args.quick,
                                 dataset=args.described)

    with _output_folder(args, argv, reserve) as outset:
        paths = _grid(args, argv, grid, outset)
    print(f"Grid search written to {_written(paths, args.out)}")
    return 0


def _grid(args, argv, grid, outset) -> dict:
    from .jobs.grid import run_grid_search
    from .report import format_grid_table, write_grid_report

    result = run_grid_search(
        args.data_dir, dataset=args.described, param_grid=grid, cv=args.cv, split=args.split,
        seasons=args.seasons,
        n_jobs=args.n_jobs, scheduler=args.scheduler, device=args.device,
        random_state=args.random_state, n_threads=args.threads, trim=args.trim,
        scoring=args.scoring, refit=args.refit, quick=args.quick, progress=not args.quiet,
        verbose=0 if args.quiet else 2, log=_logger(args.quiet),
        early_stopping=args.early_stopping, stream=args.stream,
    )
    result["command"] = _command_line(argv)
    print(format_grid_table(result["cv_results"], result["rank_column"]), end="")
    print(f"best: {result['best_params']} (mean {result['config']['scoring'][0]} "
          f"{result['best_score']:.4f}); search took {result['timings']['search_s']:.1f} s")
    return write_grid_report(result, outset)


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
    _import_torch()
    from .jobs._outputs import new_subject_output_bytes

    budgets = _minutes(args.minutes)
    with _output_folder(args, argv, lambda: new_subject_output_bytes(
            _data_folder(args), budgets, dataset=args.described)) as outset:
        paths = _add_subject(args, argv, budgets, outset)
    print(f"Learning curve written to {_written(paths, args.out)}")
    return 0


def _add_subject(args, argv, budgets, outset) -> dict:
    from .jobs.new_subject import run_new_subject
    from .report import format_learning_curve, write_new_subject_report

    result = run_new_subject(
        args.data_dir, dataset=args.described, budgets_min=budgets,
        new_subject=args.subject if args.described is not None or args.subject is None
        or not args.subject.isdigit() else int(args.subject),  # the release's are numbers
        reference=args.reference,
        device=args.device, random_state=args.random_state, n_threads=args.threads,
        quick=args.quick, progress=not args.quiet, log=_logger(args.quiet),
        early_stopping=args.early_stopping, stream=args.stream)
    result["command"] = _command_line(argv)
    print(format_learning_curve(result))
    return write_new_subject_report(result, outset)


# ---------------------------------------------------------------------------- headroom


def _cmd_headroom(args, argv) -> int:
    named = parse_named_files(args.predictions)  # checked before any work
    _import_torch()
    from .jobs._outputs import comparison_output_bytes

    def reserve():
        return comparison_output_bytes(_data_folder(args), None, figures=not args.no_figures,
                                       extra_models=len(named), dataset=args.described)

    with _output_folder(args, argv, reserve) as outset:
        paths = _headroom(args, argv, named, outset)
    print(f"Report written to {_written(paths, args.out)}")
    return 0


def _headroom(args, argv, named, outset) -> dict:
    from .jobs.headroom import run_headroom
    from .report import format_table, write_report

    log = _logger(args.quiet)
    result = run_headroom(
        named, args.data_dir, dataset=args.described, ceiling=args.ceiling,
        device=args.device, quick=args.quick,
        random_state=args.random_state, trim=args.trim, progress=not args.quiet, log=log,
        n_threads=args.threads, early_stopping=args.early_stopping, refit=args.refit,
        atlas=args.atlas, stream=args.stream)
    result["command"] = _command_line(argv)
    print(format_table(result), end="", flush=True)
    return write_report(result, outset, figures=not args.no_figures, log=log)


# ---------------------------------------------------------------------------- extract


def _cmd_extract(args, argv) -> int:
    from .jobs.extract import run_extract
    from .report import open_output_set, write_extract_report

    try:
        import nilearn  # noqa: F401
    except ImportError:
        raise RuntimeError("extract needs nilearn and nibabel: pip install "
                           "'sklearn-crossenc[plot]'") from None
    with open_output_set(args.out, args.derivatives, owner=_command_line(argv),
                         job=args.command) as outset:
        result = run_extract(args.derivatives, args.atlas, args.task, confounds=args.confounds,
                             space=args.space, tr=args.tr, name=args.name,
                             log=_logger(args.quiet))
        result["command"] = _command_line(argv)
        paths = write_extract_report(result, outset)
    print(f"{len(result['runs'])} runs of {len(result['subjects'])} subjects x "
          f"{result['n_parcels']} parcels written to {_written(paths, args.out)}")
    return 0


COMMANDS = {
    "extract": _cmd_extract,
    "compare": _cmd_compare,
    "headroom": _cmd_headroom,
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
    except BaseException as exc:
        # A signal may reach here wrapped by the code it interrupted (Python 3.11 turns an
        # exception inside a class body's __set_name__ into a RuntimeError): it is the
        # signal's all the same.
        if not isinstance(exc, KeyboardInterrupt) and state["signum"] is None:
            raise
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
        args.described = dataset_option(args)  # checked before any work
        return int(COMMANDS[args.command_name](args, argv))
    except EXPECTED_ERRORS as exc:
        from ._interrupt import received_signal

        if args.traceback or received_signal() is not None:  # a signal's error: stopped
            raise
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG} {args.command}: error: {msg}", file=sys.stderr)
        return 1

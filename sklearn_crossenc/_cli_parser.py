"""The ``crossenc`` argument parser: subcommands, their options and value parsing.

:mod:`sklearn_crossenc.cli` runs the command that :func:`build_parser` parses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._cli_values import parse_named_files, parse_param, parse_value

__all__ = ["PROG", "DEFAULT_OUTS", "default_grid", "build_parser", "parse_param", "parse_value",
           "parse_named_files"]

PROG = "crossenc"
#: Each command's default output folder (in the current folder): a command's own, so that
#: no run of one command replaces another's outputs by default.
DEFAULT_OUTS = {"compare": "crossenc-compare", "grid": "crossenc-grid",
                "add-subject": "crossenc-add-subject", "headroom": "crossenc-headroom",
                "extract": "crossenc-extract"}


def default_grid() -> tuple[str, ...]:
    """The encoder's default grid of the model registry, as ``--param`` arguments.

    Examples
    --------
    >>> from sklearn_crossenc._cli_parser import default_grid
    >>> default_grid()
    ('embed_dim=32,64,128', 'encoder_kernel_size=0,7')
    """
    from .jobs._registry import REGISTRY

    return tuple(f"{k}={','.join(map(str, v))}" for k, v in REGISTRY["encoder"].grid.items())


# ---------------------------------------------------------------------------- values


# ---------------------------------------------------------------------------- parser


class _DeprecatedAlias(argparse.Action):
    """An old flag kept for one release: warns on stderr and sets the new flag's value."""

    def __init__(self, option_strings, dest, new_flag=None, **kwargs):
        self.new_flag = new_flag
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{PROG}: warning: {option_string} is deprecated; use {self.new_flag}.",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def _deprecated_alias(p, old: str, new: str, **kwargs) -> None:
    dest = new.lstrip("-").replace("-", "_")
    p.add_argument(old, dest=dest, action=_DeprecatedAlias, new_flag=new, metavar="N",
                   help=f"deprecated alias of {new}", **kwargs)


def _add_common(p, *, data=True, out=True):
    command = p.prog.split()[-1]
    if data:
        p.add_argument(
            "--data-dir", metavar="DIR", type=Path, default=None,
            help="competitor release folder (algonauts_2025.competitors) or a synthetic one; "
                 "default: the synthetic 'small' dataset, generated once into the cache folder "
                 "($CROSSENC_CACHE, else $XDG_CACHE_HOME/sklearn-crossenc or "
                 "~/.cache/sklearn-crossenc)",
        )
        p.add_argument(
            "--dataset", metavar="TOML", type=Path, default=None,
            help="a dataset.toml (docs/own-data.md) instead of the release layout: its "
                 "subjects, training runs, evaluation sets, repeats and atlas; not with "
                 "--data-dir",
        )
    if out:
        p.add_argument(
            "--out", metavar="DIR", type=Path, default=Path(DEFAULT_OUTS[command]),
            help=f"output folder (default ./{DEFAULT_OUTS[command]}); never inside the data "
                 "folder, never one another command wrote",
        )
    p.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="device of the encoder (default auto: CUDA when available)",
    )
    p.add_argument("--random-state", type=int, default=0, metavar="N",
                   help="random_state of the encoder (default 0)")
    _deprecated_alias(p, "--seed", "--random-state", type=int)
    p.add_argument("--quick", action="store_true",
                   help="reduced training for a smoke run; its numbers are not meaningful")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars or messages; only the results")


def _early_stopping_fraction(text: str):
    from .jobs._registry import EARLY_STOPPING_FOLDS

    if text == EARLY_STOPPING_FOLDS:  # the default (argparse passes string defaults here)
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a fraction: {text!r}") from None
    return value


def _add_parallel(p) -> None:
    """``--n-jobs`` and ``--scheduler``: the same two options, one meaning, for every job
    with several fits (see :mod:`sklearn_crossenc.jobs._parallel`)."""
    p.add_argument("--n-jobs", type=int, default=1, metavar="N",
                   help="fits at once on this machine (joblib's processes; -1 every core; "
                        "default 1)")
    p.add_argument(
        "--scheduler", metavar="ADDRESS", default=None,
        help="run the fits on the Dask cluster whose scheduler is at ADDRESS "
             "(e.g. tcp://host:8786; needs the 'distributed' extra): the runs are sent to "
             "every worker once, each worker resolves --device itself, and --n-jobs N > 1 "
             "caps the fits running at once (default: every worker thread)",
    )


def _add_stream(p) -> None:
    """``--stream`` / ``--no-stream``: where a job holds its runs
    (:mod:`sklearn_crossenc.jobs._storage`)."""
    p.add_argument(
        "--stream", action=argparse.BooleanOptionalAction, default=None,
        help="hold the runs on disk (a scratch file in TMPDIR, memory-mapped, removed at the "
             "end) instead of in memory; default: when they would take more than half the "
             "memory available. The numbers are the same; --no-stream never streams")


def _add_training_length(p, *, refit: bool = False) -> None:
    """How the encoder's training length is chosen: early stopping on the training runs
    (the default), or the notebook's fixed schedule."""
    from .jobs._protocol import SEED_PROTOCOL
    from .jobs._registry import EARLY_STOPPING_FOLDS

    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--early-stopping", type=_early_stopping_fraction, nargs="?",
        const=EARLY_STOPPING_FOLDS, default=EARLY_STOPPING_FOLDS, metavar="FRACTION",
        help="the encoder stops at the first epoch that does not improve on held-out training "
             f"runs and keeps the best weights (the default): the last of the protocol's "
             f"{SEED_PROTOCOL.tuning_folds} tuning folds, or a random FRACTION of the runs")
    group.add_argument(
        "--fixed-schedule", dest="early_stopping", action="store_const", const=None,
        help="train the encoder for the notebook's fixed 10 epochs, without early stopping "
             "(to reproduce the notebook; its training length is then not tuned)")
    if refit:
        p.add_argument("--no-refit", dest="refit", action="store_false",
                       help="evaluate the early-stopped encoder itself, trained on the other "
                            "folds (default: after early stopping it is trained again on every "
                            "training run for the number of epochs chosen, as the ridges are "
                            "refitted once their alphas are chosen)")


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
    _add_compare(sub)
    _add_synth(sub)
    _add_grid(sub)
    _add_new_subject(sub)
    _add_headroom(sub)
    _add_extract(sub)
    return parser


def _add_compare(sub) -> None:
    from .jobs._protocol import SEED_PROTOCOL
    from .jobs._registry import REGISTRY

    p = sub.add_parser(
        "compare",
        help="fit and compare all models on the seed's protocol, write the report",
        description="Train on Friends s1-5, evaluate on Friends s6 and Movie10 run 1: "
                    "MeanOfOthers, CrossSubjectRidge, FeatureRidge (when stimulus features "
                    "exist) and CrossSubjectEncoder (seed defaults). Prints the verdict and the "
                    "table and writes into --out: report.html (the whole report as one page), "
                    "report.md, report.json, parcel_scores.npz, per evaluation set "
                    "parcels_<set>.tsv and the brain maps brain_<map>_<set>.png and "
                    "brain_<map>_<set>.nii.gz, and the figures scores_by_subject.png, "
                    "parcels_encoder_vs_ridge.png, parcel_histogram.png and "
                    "paired_differences.png (figures and maps "
                    "with the plot extra; docs/cli.md lists what each holds).",
    )
    _add_common(p)
    p.add_argument(
        "--models", nargs="+", metavar="MODEL", default=None,
        choices=tuple(REGISTRY),
        help=f"models to run: {' '.join(REGISTRY)} (default all)",
    )
    p.add_argument("--trim", type=int, default=0, metavar="N",
                   help="TRs left out at each end of every evaluated run (default 0 like the seed; "
                        "the challenge uses 5)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads of each fit: the encoder's torch threads and the ridges' "
                        "BLAS threads (default: the encoder takes the cores no other process "
                        "runs on when it starts, with passive OpenMP waits; the ridges "
                        "BLAS's own; docs/performance.md)")
    _add_training_length(p, refit=True)
    p.add_argument("--tune", action="store_true",
                   help="choose the encoder's architecture by GridSearchCV over the protocol's "
                        f"{SEED_PROTOCOL.tuning_folds} folds of training runs (Pearson scorer; "
                        f"default grid {' '.join(default_grid())}, or --param); the refit "
                        "winner is evaluated")
    p.add_argument("--param", action="append", metavar="NAME=V1,V2", default=None,
                   help="with --tune: a parameter of CrossSubjectEncoder and its values; "
                        "repeat for several (replaces the default grid)")
    _add_parallel(p)
    _add_stream(p)
    p.add_argument("--repeats", type=int, default=1, metavar="K",
                   help="train the encoder K times with random states N, N+1, ...; its scores "
                        "are the mean over repeats and the intervals and paired tests include "
                        "the spread between them (default 1)")
    p.add_argument("--atlas", metavar="PATH", type=Path, default=None,
                   help="parcellation (NIfTI, labels 1..n_parcels) to draw the brain maps on, for "
                        "data laid out otherwise; default: the release's "
                        "fmri/sub-0X/atlas/..._desc-dseg_parcellation.nii.gz of the first subject")
    p.add_argument("--no-figures", action="store_true",
                   help="do not draw figures or brain maps")
    p.set_defaults(command_name="compare")


def _add_synth(sub) -> None:
    from .data._generative import SCALES

    p = sub.add_parser(
        "synth",
        help="write the synthetic dataset (competitor layout)",
        description="Write a synthetic dataset in the competitor release layout (HDF5 files per "
                    "subject, ground truth, stimulus features) into OUT.",
    )
    p.add_argument("out", metavar="OUT", type=Path, help="folder to create")
    p.add_argument("--scale", choices=tuple(SCALES), default="small",
                   help="tiny (tests, ~1 s), small (default, the demo), full (real sizes, ~2 GB)")
    p.add_argument("--data-seed", type=int, default=0, metavar="N",
                   help="random seed of the generator (default 0)")
    _deprecated_alias(p, "--seed", "--data-seed", type=int)
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing synthetic dataset at OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    p.set_defaults(command_name="synth")


def _add_grid(sub) -> None:
    from .jobs._protocol import SEED_PROTOCOL
    from .jobs.grid import SPLITS
    from .scoring import DEPRECATED_NAMES, METRICS

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
             f"(default {' '.join(default_grid())})",
    )
    p.add_argument("--cv", type=int, default=3, metavar="N", help="number of folds (default 3)")
    p.add_argument("--split", choices=SPLITS, default=None,
                   help="season: GroupKFold with one group per season (default); "
                        "kfold: KFold over runs (the default with --dataset)")
    p.add_argument("--seasons", type=int, nargs="+", default=None, metavar="S",
                   help="Friends seasons to search on (default the protocol's training seasons, "
                        f"{' '.join(map(str, SEED_PROTOCOL.train.seasons))})")
    _add_parallel(p)
    _add_stream(p)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads of each fit (default: the cores no other process "
                        "runs on when the fit starts; docs/performance.md)")
    p.add_argument("--trim", type=int, default=0, metavar="N",
                   help="time points left out at each end of every run when scoring (default 0)")
    p.add_argument("--scoring", nargs="+", default=["pearson"],
                   choices=(*METRICS, *DEPRECATED_NAMES), metavar="NAME",
                   help=f"scorers among {', '.join(METRICS)} ('mse' is a deprecated spelling "
                        "of neg_mean_squared_error); the first ranks the candidates "
                        "(default pearson)")
    _add_training_length(p)
    p.add_argument("--refit", action="store_true",
                   help="refit the best candidate on all runs and save it with joblib as "
                        "best_estimator.joblib next to the CSV")
    p.set_defaults(command_name="grid")


def _add_new_subject(sub) -> None:
    from .data import SUBJECTS

    p = sub.add_parser(
        "add-subject",
        help="add a subject to an encoder trained on the others; report its learning curve",
        description="Train CrossSubjectEncoder on every subject but --subject (Friends s1-5), "
                    "add --subject with SubjectAdder (shared model frozen) from the first "
                    "--minutes of its data, score it on Friends s6 and Movie10 run 1 beside "
                    "CrossSubjectRidge and MeanOfOthers at the same budgets. Prints the learning "
                    "curve and writes report.md and report.json into --out.",
    )
    _add_common(p)
    p.add_argument("--subject", default=None, metavar="SUBJECT",
                   help=f"the subject to add: {', '.join(map(str, SUBJECTS))} (default 5), or a "
                        "label of --dataset (default its last subject)")
    p.add_argument("--minutes", nargs="+", default=["1", "5", "15", "60", "all"],
                   metavar="M", help="data budgets in minutes of the new subject's Friends s1-5 "
                                     "runs, 'all' for all of them (default 1 5 15 60 all)")
    p.add_argument("--reference", action="store_true",
                   help="also train the encoder from scratch on all subjects (a second fit)")
    _add_training_length(p)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads for the encoder's training (default: torch's)")
    _add_stream(p)
    p.set_defaults(command_name="add_subject")


def _add_headroom(sub) -> None:
    p = sub.add_parser(
        "headroom",
        help="put any model's predictions against the cross-subject ceiling, parcel by parcel",
        description="Score the models' predictions of the evaluation runs (Friends s6, "
                    "Movie10 run 1) beside CrossSubjectEncoder (the cross-subject ceiling, "
                    "trained with the fair protocol, or read from --ceiling), "
                    "CrossSubjectRidge, MeanOfOthers, the noise ceilings and, on synthetic "
                    "data, the oracle: the headroom per model and parcel with intervals, "
                    "paired tests with FDR, variance partitioning, the challenge's scoring "
                    "rule. Prints the table and writes into --out report.html, report.md, "
                    "report.json, parcel_scores.npz, parcels_<set>.tsv, brain_<map>.png and "
                    ".nii.gz (with an atlas), the figures and ceiling_predictions.h5.",
    )
    p.add_argument(
        "--predictions", nargs="+", required=True, metavar="[NAME=]FILE",
        help="prediction files: the challenge's submission .npy (a dict sub-0X -> run -> "
             "(TRs, parcels); read without running any code), the same as .npz "
             "('sub-01/s06e01a' keys) or HDF5 (a group per subject); each model is named "
             "after its file's stem unless NAME= is given")
    p.add_argument("--ceiling", metavar="DIR", type=Path, default=None,
                   help="the output folder of an earlier compare or headroom on the same data: "
                        "its ceiling_predictions.h5 is the ceiling (no encoder training)")
    _add_common(p)
    p.add_argument("--trim", type=int, default=0, metavar="N",
                   help="TRs left out at each end of every evaluated run by the project's rule "
                        "(default 0; the challenge's rule always drops 5)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads of each fit (default: each library's own)")
    _add_training_length(p, refit=True)
    p.add_argument("--atlas", metavar="PATH", type=Path, default=None,
                   help="parcellation to draw the brain maps on (as for compare)")
    _add_stream(p)
    p.add_argument("--no-figures", action="store_true",
                   help="do not draw figures or brain maps")
    p.set_defaults(command_name="headroom")


def _add_extract(sub) -> None:
    from .data._extract import PRESETS

    p = sub.add_parser(
        "extract",
        help="fMRIPrep outputs and an atlas to parcel time series and a dataset.toml",
        description="Average every preprocessed run of --task (*_desc-preproc_bold.nii.gz under "
                    "DERIVATIVES) within the labels of --atlas (nilearn's NiftiLabelsMasker, "
                    "labels resampled to the data), with the confounds of --confounds regressed "
                    "out, and write sub-<label>.h5 (one (time, parcels) dataset per run key: the "
                    "BIDS entities other than sub, space and desc), dataset.toml (every run "
                    "under train), report.json and report.md into --out. With a CIFTI "
                    "*.dlabel.nii as --atlas, the *_bold.dtseries.nii runs are read instead "
                    "(nibabel; the same confound presets).",
    )
    p.add_argument("derivatives", metavar="DERIVATIVES", type=Path,
                   help="fMRIPrep's output folder (sub-*/[ses-*/]func/ below it)")
    p.add_argument("--atlas", metavar="LABELS", type=Path, required=True,
                   help="labels image (NIfTI, integer labels, 0 = background), or a CIFTI "
                        "*.dlabel.nii for *_bold.dtseries.nii runs; nothing is downloaded")
    p.add_argument("--task", required=True, help="the BIDS task entity to extract")
    p.add_argument("--confounds", choices=tuple(PRESETS), default="none",
                   help="none: the plain parcel means (no regression, filtering or "
                        "standardising; the default); motion: the 6 motion parameters "
                        "regressed out; motion-wm-csf: and white matter and csf; "
                        "motion-wm-csf-hp: and a 0.008 Hz high-pass")
    p.add_argument("--space", default=None,
                   help="the space entity to read, when runs exist in several spaces")
    p.add_argument("--tr", type=float, default=None, metavar="SECONDS",
                   help="repetition time (default: each image's header)")
    p.add_argument("--name", default=None, help="the dataset's name (default the task)")
    p.add_argument("--out", metavar="DIR", type=Path, default=Path(DEFAULT_OUTS["extract"]),
                   help=f"output folder (default ./{DEFAULT_OUTS['extract']}); never inside "
                        "DERIVATIVES, never one another command wrote")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(command_name="extract")

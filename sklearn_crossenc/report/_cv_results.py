"""A grid search's results: the ranked table (a section, :mod:`._sections`) for the terminal
and ``report.md``, and ``grid_results.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_text
from ._job_sections import data_source, footer_sections, quick_section
from ._markdown import header
from ._sections import Code, Column, Fields, Paragraph, Section, Table, to_markdown, to_text

__all__ = ["BEST_MODEL", "GRID_CSV", "cv_results_rows", "format_grid_table", "grid_csv",
           "grid_markdown", "grid_table", "write_best_estimator", "write_grid_results"]

#: File name of the grid search's ``cv_results_`` table.
GRID_CSV = "grid_results.csv"
#: File name of the refitted best estimator (joblib), next to the CSV.
BEST_MODEL = "best_estimator.joblib"


def _metrics(cv_results) -> list[str]:
    """Scorer names of ``cv_results_``: ``["score"]`` for one scorer, else their keys."""
    return [k[len("rank_test_"):] for k in cv_results if k.startswith("rank_test_")]


def cv_results_rows(cv_results, rank_column=None) -> tuple[list[str], list[list]]:
    """Columns and rows of ``cv_results_`` (without the ``params`` dicts), ranked best first.

    ``rank_column`` (default: the first ``rank_test_*`` column) orders the rows.

    Examples
    --------
    >>> from sklearn_crossenc.report import cv_results_rows
    >>> cols, rows = cv_results_rows({"rank_test_score": [2, 1], "mean_test_score": [0.1, 0.3],
    ...                               "params": [{}, {}]})
    >>> cols, rows
    (['rank_test_score', 'mean_test_score'], [[1, 0.3], [2, 0.1]])
    """
    columns = [k for k in cv_results if k != "params"]
    rank_column = rank_column or f"rank_test_{_metrics(cv_results)[0]}"
    order = np.argsort(np.asarray(cv_results[rank_column]), kind="stable")
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


def grid_table(cv_results, rank_column=None) -> Table:
    """Rank, mean and std of each score, fit time and parameters, best candidate first."""
    columns, rows = cv_results_rows(cv_results, rank_column)
    rank_column = rank_column or f"rank_test_{_metrics(cv_results)[0]}"
    metrics = _metrics(cv_results)
    params = [c for c in columns if c.startswith("param_")]
    scores = [c for m in metrics for c in (f"mean_test_{m}", f"std_test_{m}")]
    idx = [columns.index(c) for c in [rank_column, *scores, "mean_fit_time", *params]]
    names = ["r"] if metrics == ["score"] else metrics
    header = (["rank"] + [f"{w} {m}" for m in names for w in ("mean", "std")] + ["fit (s)"]
              + [c[len("param_"):] for c in params])
    k = 1 + len(scores)
    cells = tuple(
        (str(r[idx[0]]), *(f"{r[j]:.4f}" for j in idx[1:k]), f"{r[idx[k]]:.1f}",
         *(str(r[j]) for j in idx[k + 1:]))
        for r in rows
    )
    return Table(tuple(map(Column, header)), cells)


def format_grid_table(cv_results, rank_column=None) -> str:
    """:func:`grid_table` for the terminal."""
    return to_text(Section("candidates", "", (grid_table(cv_results, rank_column),))) + "\n"


def grid_markdown(result: dict, files: dict | None = None) -> str:
    """A grid search's ``report.md``: what was searched, the ranked table, the winner.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.grid.run_grid_search`.
    files : dict of str to path, optional
        Files written beside the report (kind -> file), listed when given.
    """
    cfg = result["config"]
    grid = ", ".join(f"{k} in {v}" for k, v in cfg["param_grid"].items())
    runs = (f"Friends seasons {', '.join(map(str, cfg['seasons']))}" if cfg["seasons"]
            else "the training runs")
    summary = Section("summary", "", (
        Paragraph(("Data: ", *data_source(cfg), f"; {runs} ({result['n_runs']} runs), subjects "
                   f"{', '.join(map(str, cfg['protocol']['subjects']))}.")),
        Paragraph(f"Searched: {grid} ({result['n_candidates']} candidates) with {cfg['cv']} "
                  f"folds of whole runs ({cfg['split']}); scorers {', '.join(cfg['scoring'])}, "
                  f"ranked by the first; {cfg['trim']} TRs left out at each end of every run."),
    ))
    best = Section("best", "", (Paragraph((
        "Best: ", Code(result["best_params"]),
        f" (mean {cfg['scoring'][0]} {result['best_score']:.4f}).")),))
    candidates = Section("candidates", "Candidates, best first",
                         (grid_table(result["cv_results"], result["rank_column"]),))
    listed = Section("files", "Files", (Fields(tuple(
        (kind, Code(Path(p).name)) for kind, p in (files or {}).items())),) if files else ())
    sections = [summary, quick_section(result), best, candidates, listed,
                *footer_sections(result)]
    return "\n".join(header("Cross-subject encoding: grid search report", result) + [
        "\n\n".join(to_markdown(s).rstrip("\n") for s in sections if s)]) + "\n"


def grid_csv(cv_results, rank_column=None) -> str:
    """``cv_results_`` as CSV text, one row per candidate, best first."""
    columns, rows = cv_results_rows(cv_results, rank_column)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def write_grid_results(cv_results, out_dir, rank_column=None) -> Path:
    """Write ``grid_results.csv`` into ``out_dir`` atomically and return its path."""
    return atomic_write_text(Path(out_dir) / GRID_CSV, grid_csv(cv_results, rank_column))


def write_best_estimator(estimator, out_dir) -> Path:
    """Save ``estimator`` with joblib as ``best_estimator.joblib`` in ``out_dir``, atomically.

    Examples
    --------
    >>> import tempfile, joblib
    >>> from sklearn_crossenc import MeanOfOthers
    >>> from sklearn_crossenc.report import write_best_estimator
    >>> path = write_best_estimator(MeanOfOthers(), tempfile.mkdtemp())
    >>> path.name, type(joblib.load(path)).__name__
    ('best_estimator.joblib', 'MeanOfOthers')
    """
    import joblib

    with atomic_path(Path(out_dir) / BEST_MODEL) as tmp:
        joblib.dump(estimator, tmp)
    return Path(out_dir) / BEST_MODEL

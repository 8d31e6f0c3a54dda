"""A grid search's results: the terminal table and ``grid_results.csv``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .._io import atomic_write_text

__all__ = ["GRID_CSV", "cv_results_rows", "format_grid_table", "grid_csv", "write_grid_results"]

#: File name of the grid search's ``cv_results_`` table.
GRID_CSV = "grid_results.csv"


def cv_results_rows(cv_results) -> tuple[list[str], list[list]]:
    """Columns and rows of ``cv_results_`` (without the ``params`` dicts), ranked best first.

    Examples
    --------
    >>> from sklearn_crossenc.report import cv_results_rows
    >>> cols, rows = cv_results_rows({"rank_test_score": [2, 1], "mean_test_score": [0.1, 0.3],
    ...                               "params": [{}, {}]})
    >>> cols, rows
    (['rank_test_score', 'mean_test_score'], [[1, 0.3], [2, 0.1]])
    """
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


def format_grid_table(cv_results) -> str:
    """Rank, mean and std of the score, fit time and parameters, best candidate first."""
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


def grid_csv(cv_results) -> str:
    """``cv_results_`` as CSV text, one row per candidate, best first."""
    columns, rows = cv_results_rows(cv_results)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def write_grid_results(cv_results, out_dir) -> Path:
    """Write ``grid_results.csv`` into ``out_dir`` atomically and return its path."""
    return atomic_write_text(Path(out_dir) / GRID_CSV, grid_csv(cv_results))

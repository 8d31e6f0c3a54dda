"""Reports of the jobs: terminal tables, ``report.json``, ``report.md``, CSV and figures.

Every function here reads a job's result dict (:func:`sklearn_crossenc.jobs.compare.
run_comparison`, :func:`sklearn_crossenc.jobs.grid.run_grid_search`) and writes
nothing but into the output folder it is given.

- ``_tables``: the comparison's terminal table and Markdown report;
- ``_figures``: its figures (matplotlib, the ``plot`` extra);
- ``_files``: the output folder check, ``report.json``, ``parcel_scores.npz`` and
  :func:`write_report`, which writes them all;
- ``_cv_results``: a grid search's table and ``grid_results.csv``;
- ``_brain_maps``: the comparison's brain maps (nilearn);
- ``_html``: the comparison as one self-contained page, ``report.html``;
- ``_learning_curve``: the new-subject job's learning curve.

A new report section goes into the module of its kind (text, figure, file) and is
called from :func:`format_table` / :func:`report_markdown` / :func:`write_report`.
"""

from ._cv_results import (
    GRID_CSV,
    cv_results_rows,
    format_grid_table,
    grid_csv,
    write_best_estimator,
    write_grid_results,
)
from ._figures import FIGURES, write_figures
from ._files import check_output_dir, to_jsonable, write_report
from ._html import report_html
from ._learning_curve import format_learning_curve
from ._tables import format_table, report_markdown

__all__ = [
    "FIGURES",
    "GRID_CSV",
    "check_output_dir",
    "cv_results_rows",
    "format_grid_table",
    "format_learning_curve",
    "format_table",
    "grid_csv",
    "report_html",
    "report_markdown",
    "to_jsonable",
    "write_figures",
    "write_best_estimator",
    "write_grid_results",
    "write_report",
]

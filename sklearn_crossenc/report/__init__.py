"""Reports of the jobs: terminal tables, ``report.json``, ``report.md``, CSV and figures.

Every function here reads a job's result dict (:func:`sklearn_crossenc.jobs.compare.
run_comparison`, :func:`sklearn_crossenc.jobs.grid.run_grid_search`,
:func:`sklearn_crossenc.jobs.new_subject.run_new_subject`) and writes nothing but into
the output folder it is given, as one set of files. Every job writes ``report.json``
(one top level for all jobs) and ``report.md``:

- ``_markdown``: the header and footer every ``report.md`` shares;
- ``_sections``: a section as data (title, paragraphs, lists, tables, figures) and its
  three renderings, terminal text, Markdown and HTML;
- ``_tables``: the comparison's numbers and sentences (rows, verdict, paired tests);
- ``_compare_sections``: the comparison's sections, its terminal table and Markdown report;
- ``_figures``: its figures (matplotlib, the ``plot`` extra);
- ``_brain_maps``: the comparison's brain maps (nilearn);
- ``_cv_results``: a grid search's table, ``grid_results.csv`` and Markdown report;
- ``_learning_curve``: the new-subject job's learning curve and Markdown report;
- ``_files``: the output folder's checks, its set of files committed as one
  (:func:`open_output_set`) and the writers of each job's files (:func:`write_report`,
  :func:`write_grid_report`, :func:`write_new_subject_report`).
- ``_html``: the comparison as one self-contained page, ``report.html``;

A new section of the comparison's report is one function returning a
:class:`._sections.Section`, listed in ``_compare_sections.compare_sections``: report.md,
report.html (and the terminal, if listed in ``TERMINAL``) then carry it.
"""

from ._compare_sections import format_table, report_markdown
from ._cv_results import (
    GRID_CSV,
    cv_results_rows,
    format_grid_table,
    grid_csv,
    grid_markdown,
    write_best_estimator,
    write_grid_results,
)
from ._figures import FIGURES, write_figures
from ._files import (
    check_output_dir,
    check_replaceable,
    open_output_set,
    to_jsonable,
    write_extract_report,
    write_grid_report,
    write_job_files,
    write_new_subject_report,
    write_report,
)
from ._html import report_html
from ._learning_curve import format_learning_curve, new_subject_markdown

__all__ = [
    "FIGURES",
    "GRID_CSV",
    "check_output_dir",
    "check_replaceable",
    "cv_results_rows",
    "format_grid_table",
    "format_learning_curve",
    "format_table",
    "grid_csv",
    "grid_markdown",
    "new_subject_markdown",
    "open_output_set",
    "report_html",
    "report_markdown",
    "to_jsonable",
    "write_figures",
    "write_best_estimator",
    "write_extract_report",
    "write_grid_report",
    "write_grid_results",
    "write_job_files",
    "write_new_subject_report",
    "write_report",
]

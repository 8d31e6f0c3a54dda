"""The jobs behind the command line, one module each, returning plain dicts.

- :mod:`~sklearn_crossenc.jobs.compare`: :func:`run_comparison`, every model on the
  seed's protocol;
- :mod:`~sklearn_crossenc.jobs.grid`: :func:`run_grid_search`, ``GridSearchCV`` of the
  encoder over episode folds;
- :mod:`~sklearn_crossenc.jobs.new_subject`: :func:`run_new_subject`, a subject added to
  a trained encoder at several data budgets;
- :mod:`~sklearn_crossenc.jobs._registry`: every model a job can fit, described once;
- :mod:`~sklearn_crossenc.jobs._protocol`: the protocol (training and evaluation sets,
  subjects, the hold-out used for tuning), defined once for every job;
- :mod:`~sklearn_crossenc.jobs._job`: what every job shares (the result's top level).

Jobs print nothing: messages go to a ``log`` callback and reports are written by
:mod:`sklearn_crossenc.report`.
"""

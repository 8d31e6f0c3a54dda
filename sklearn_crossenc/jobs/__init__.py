"""The jobs behind the command line, one module each, returning plain dicts.

- :mod:`~sklearn_crossenc.jobs.compare`: :func:`run_comparison`, every model on the
  seed's protocol;
- :mod:`~sklearn_crossenc.jobs.grid`: :func:`run_grid_search`, ``GridSearchCV`` of the
  encoder over episode folds;
- :mod:`~sklearn_crossenc.jobs._settings`: the models, evaluation sets and the settings
  each model runs with (quick settings included), defined once for every job.

Jobs print nothing: messages go to a ``log`` callback and reports are written by
:mod:`sklearn_crossenc.report`.
"""

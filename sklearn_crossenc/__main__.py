"""``python -m sklearn_crossenc`` runs the ``crossenc`` command line."""

from .cli import main

raise SystemExit(main())

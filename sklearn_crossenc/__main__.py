"""``python -m sklearn_crossenc`` runs the ``crossenc`` command line.

A signal that arrives while the command line is still being imported (a second or more
on a busy machine) ends it like one during the command: one line, exit 130 or 143.
"""

import signal
import sys


def _stop_early(signum, frame):
    what = "terminated" if signum == signal.SIGTERM else "interrupted"
    print(f"crossenc: {what}.", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


for _signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_signum, _stop_early)

from .cli import main  # noqa: E402  (after the handlers: importing takes time)

_code = main()
for _signum in (signal.SIGINT, signal.SIGTERM):  # the command has answered: too late now
    signal.signal(_signum, signal.SIG_IGN)
raise SystemExit(_code)

"""The ``log`` callback that long work takes: one-line messages, or nothing.

Jobs, the dataset cache and the report writers take ``log=None``, meaning :func:`noop`;
the command line passes a function that prints to stderr unless ``--quiet``.
"""

from __future__ import annotations

__all__ = ["noop"]


def noop(msg: str) -> None:
    """A ``log`` that drops its message (the default everywhere).

    Examples
    --------
    >>> from sklearn_crossenc._log import noop
    >>> noop("fitting ...") is None
    True
    """

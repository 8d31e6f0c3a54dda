"""One way to stop on Ctrl-C through libraries that swallow ``KeyboardInterrupt``.

skorch ends training quietly on ``KeyboardInterrupt`` and returns a half-trained net,
which a comparison or a grid search would then report. The package carries an
interrupt through such code as :class:`Interrupted`, a private ``BaseException`` that
neither skorch nor scikit-learn's ``error_score`` handling catches, and turns it back
into ``KeyboardInterrupt`` where it leaves the package:

- :func:`interrupt_guard` (the jobs): SIGINT raises :class:`Interrupted`;
- :class:`~sklearn_crossenc.encoder.CrossSubjectNet` (any fit): a ``KeyboardInterrupt``
  inside an epoch is re-raised as :class:`Interrupted` past skorch's handler.
"""

from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["Interrupted", "interrupt_guard", "reraise_as_keyboard_interrupt"]


class Interrupted(BaseException):
    """Ctrl-C in disguise: libraries that swallow ``KeyboardInterrupt`` let it through."""


@contextlib.contextmanager
def reraise_as_keyboard_interrupt():
    """Turn an :class:`Interrupted` leaving the block into ``KeyboardInterrupt``.

    Examples
    --------
    >>> from sklearn_crossenc._interrupt import Interrupted, reraise_as_keyboard_interrupt
    >>> try:
    ...     with reraise_as_keyboard_interrupt():
    ...         raise Interrupted("during epoch 2")
    ... except KeyboardInterrupt as exc:
    ...     print("KeyboardInterrupt:", exc)
    KeyboardInterrupt: during epoch 2
    """
    try:
        yield
    except Interrupted as exc:
        raise KeyboardInterrupt(*exc.args) from None


@contextlib.contextmanager
def interrupt_guard():
    """Make Ctrl-C stop the block even inside libraries that swallow it.

    Inside the block, SIGINT raises :class:`Interrupted`, and it leaves the block as
    ``KeyboardInterrupt``. Only in the main thread (elsewhere signals cannot be handled
    and the block runs unguarded). The previous SIGINT handler is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGINT, handler)
    try:
        with reraise_as_keyboard_interrupt():
            yield
    finally:
        signal.signal(signal.SIGINT, previous)

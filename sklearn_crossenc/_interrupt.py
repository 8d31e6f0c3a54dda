"""One way to stop on Ctrl-C or SIGTERM, through libraries that swallow ``KeyboardInterrupt``.

skorch ends training quietly on ``KeyboardInterrupt`` and returns a half-trained net,
which a comparison or a grid search would then report; an exception raised while h5py
or a finaliser runs can be printed and dropped. The package therefore carries a signal
as :class:`Interrupted`, a private ``BaseException`` that neither skorch nor
scikit-learn's ``error_score`` handling catches, records it, and turns it back into
``KeyboardInterrupt`` where it leaves the package:

- :func:`catch_signals` (``crossenc``: SIGINT and SIGTERM; :func:`interrupt_guard`, the
  jobs: SIGINT) installs a handler that records the signal and raises
  :class:`Interrupted`; one that was swallowed is raised again by the next
  :func:`check_interrupted` (before every atomic rename, between synthetic runs) and at
  the end of the block, so an interrupted command never reports success;
- :func:`shielded`: cleanup (removing a temporary folder) is not cut short by a second
  signal; the signal is raised when the cleanup is done;
- :func:`interruptible`: a long call into BLAS/LAPACK runs in a helper thread while the
  main thread waits in short slices, so Ctrl-C is answered at once;
- :class:`~sklearn_crossenc.encoder.CrossSubjectNet` (any fit): a ``KeyboardInterrupt``
  inside an epoch is re-raised as :class:`Interrupted` past skorch's handler.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

__all__ = [
    "Interrupted",
    "interrupt_guard",
    "catch_signals",
    "check_interrupted",
    "shielded",
    "interruptible",
    "reraise_as_keyboard_interrupt",
]

# Per process: the first signal received inside catch_signals, handler depth, shield depth.
_STATE = {"signum": None, "depth": 0, "shield": 0}


class Interrupted(BaseException):
    """Ctrl-C in disguise: libraries that swallow ``KeyboardInterrupt`` let it through."""


def received_signal() -> int | None:
    """The signal received inside the current :func:`catch_signals` block, if any."""
    return _STATE["signum"]


def check_interrupted() -> None:
    """Raise :class:`Interrupted` when a signal arrived (even one some library swallowed).

    Called before a file or folder is renamed into place, so that an interrupted run
    never leaves a result behind. Does nothing outside :func:`catch_signals`.
    """
    if _STATE["signum"] is not None and not _STATE["shield"]:
        raise Interrupted(f"signal {_STATE['signum']}")


def _handler(signum, frame):
    if _STATE["signum"] is None:
        _STATE["signum"] = signum
    if not _STATE["shield"]:
        raise Interrupted(f"signal {signum}")


@contextlib.contextmanager
def shielded():
    """Run cleanup without being cut short by a signal; raise it after the block."""
    _STATE["shield"] += 1
    try:
        yield
    finally:
        _STATE["shield"] -= 1
    check_interrupted()


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


def _quiet_unraisable(previous):
    """An unraisable hook that drops :class:`Interrupted`: a signal that lands in a weakref
    callback or ``__del__`` cannot propagate from there; it is recorded and raised again by
    :func:`check_interrupted`, so Python's "Exception ignored in ..." report is noise."""

    def hook(unraisable):
        if not isinstance(unraisable.exc_value, (Interrupted, KeyboardInterrupt)):
            previous(unraisable)

    return hook


@contextlib.contextmanager
def catch_signals(signums=(signal.SIGINT, signal.SIGTERM)):
    """Inside the block, the signals ``signums`` raise :class:`Interrupted`, and leave it
    as ``KeyboardInterrupt`` (also when some library swallowed the first one).

    Only in the main thread (elsewhere signals cannot be handled and the block runs
    unguarded). Blocks nest; the previous handlers are restored on exit, and the
    outermost block forgets the recorded signal.

    Examples
    --------
    >>> import os, signal
    >>> from sklearn_crossenc._interrupt import catch_signals, received_signal
    >>> try:
    ...     with catch_signals():
    ...         os.kill(os.getpid(), signal.SIGTERM)
    ... except KeyboardInterrupt:
    ...     print("stopped")
    stopped
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in signums}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(previous_hook)
    _STATE["depth"] += 1
    try:
        with reraise_as_keyboard_interrupt():
            yield
            check_interrupted()  # a signal some library swallowed
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sys.unraisablehook = previous_hook
        _STATE["depth"] -= 1
        if _STATE["depth"] == 0:
            _STATE["signum"] = None


def interrupt_guard():
    """Make Ctrl-C stop the block even inside libraries that swallow it (the jobs' guard).

    Inside the block, SIGINT raises :class:`Interrupted`, and it leaves the block as
    ``KeyboardInterrupt``. See :func:`catch_signals`.
    """
    return catch_signals((signal.SIGINT,))


def interruptible(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with the main thread free to take a signal meanwhile.

    A single BLAS/LAPACK call (an ``eigh`` of a large Gram matrix) can take many
    seconds during which Python runs no signal handler. Run it in a helper thread and
    wait in 0.1 s slices: a signal then interrupts the wait at once; the abandoned
    call finishes in its daemon thread and its result is dropped.

    Examples
    --------
    >>> from sklearn_crossenc._interrupt import interruptible
    >>> interruptible(sum, [1, 2, 3])
    6
    """
    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    out = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="crossenc-interruptible")
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
    if "error" in out:
        raise out["error"]
    return out["value"]

"""The one interrupt mechanism: signals recorded, swallowed ones re-raised, long calls
interruptible, cleanup shielded."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from sklearn_crossenc import _interrupt
from sklearn_crossenc._interrupt import (
    catch_signals,
    check_interrupted,
    interruptible,
    received_signal,
    shielded,
)


def _kill_soon(signum, delay=0.2):
    threading.Timer(delay, os.kill, (os.getpid(), signum)).start()


def test_long_call_is_left_to_its_thread_and_the_signal_answered_at_once():
    release = threading.Event()
    seen = {}

    def blocking():  # stands for one long BLAS call that runs no signal handler
        seen["thread"] = threading.current_thread()
        release.wait(30)
        seen["returned"] = True

    _kill_soon(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt), catch_signals():
            interruptible(blocking)
        assert seen["thread"] is not threading.main_thread()
        assert "returned" not in seen  # the main thread did not wait for it
    finally:
        release.set()


def test_ridge_eigh_runs_interruptibly(monkeypatch):
    from sklearn_crossenc.solvers import _sufficient

    threads = []
    real = _sufficient.linalg.eigh

    def eigh(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(_sufficient.linalg, "eigh", eigh)
    lam, _ = _sufficient.eigh_psd(np.eye(3) * 2.0)
    assert np.allclose(lam, 2.0) and threads[0] is not threading.main_thread()


def test_a_swallowed_signal_is_raised_again_before_anything_is_renamed():
    with pytest.raises(KeyboardInterrupt), catch_signals():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs here
                pass
        except BaseException:
            pass  # a library that swallows everything
        assert received_signal() == signal.SIGTERM
        check_interrupted()
    assert received_signal() is None  # forgotten by the outermost block


def test_cleanup_is_not_cut_short_by_a_signal():
    done = []
    with pytest.raises(KeyboardInterrupt), catch_signals():
        with shielded():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
            done.append("cleaned")
    assert done == ["cleaned"] and _interrupt._STATE["shield"] == 0


def test_outside_catch_signals_nothing_is_recorded():
    check_interrupted()  # no error
    assert received_signal() is None


def test_a_signal_lost_in_a_weakref_callback_is_not_reported_and_still_stops():
    """A signal that lands where Python cannot raise (a weakref callback, ``__del__``) is
    neither printed as "Exception ignored" nor lost: it stops the block afterwards."""
    import gc
    import sys
    import weakref

    from sklearn_crossenc._interrupt import catch_signals

    reports, reached = [], []
    previous = sys.unraisablehook
    sys.unraisablehook = reports.append
    try:
        class Thing:
            pass

        def callback(ref):  # the handler runs here, as when SIGINT arrives in the callback
            _interrupt._handler(signal.SIGINT, None)

        with pytest.raises(KeyboardInterrupt):
            with catch_signals():
                thing = Thing()
                ref = weakref.ref(thing, callback)  # noqa: F841
                del thing
                gc.collect()
                reached.append(True)  # the callback's exception could not propagate
        assert reached == [True]
        assert reports == []  # not reported as "Exception ignored in ..."
    finally:
        sys.unraisablehook = previous
    assert _interrupt.received_signal() is None

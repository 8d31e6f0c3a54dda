"""Worker processes end with their parent: a ``kill -9`` of a command (or the OOM killer)
must not leave its joblib (loky) workers behind.

loky's workers wait for tasks from their parent; killed with SIGKILL, the parent never
tells them to stop, and they (and loky's resource tracker, which waits for every holder of
its pipe) stayed alive for as long as we watched (12 minutes, one holding 800 MB). The
package therefore starts, in every loky worker that imports it (any task of its jobs does,
unpickling the package's functions and estimators), a daemon thread that ends the worker
once its parent is gone (it is then re-parented: ``os.getppid()`` changes).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

__all__ = ["watch_parent"]

_WATCHING: list[int] = []  # the pid that started a watchdog (none after a fork)


def watch_parent(interval: float = 0.5) -> bool:
    """In a loky worker, start the thread that ends it when its parent dies; True if one
    runs (once per process; nothing in any other process)."""
    if _WATCHING and _WATCHING[0] == os.getpid():
        return True
    if not multiprocessing.current_process().name.startswith("LokyProcess"):
        return False
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # the parent is gone: nothing left to report to

    threading.Thread(target=watch, name="crossenc-parent-watchdog", daemon=True).start()
    _WATCHING[:] = [os.getpid()]
    return True

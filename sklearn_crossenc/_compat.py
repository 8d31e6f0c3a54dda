"""Old module paths of release 0.1.0, kept so that its pickles still load.

Release 0.1.0 defined the estimators in ``encoder/_sklearn_api.py`` and
``ridge/_sklearn_api.py``; a pickle names the module of each class, so those names must
still import. They are registered as aliases of the modules that define the classes now.
"""

from __future__ import annotations

import sys
import types

__all__ = ["alias_module"]


def alias_module(old: str, **names) -> None:
    """Make ``import old`` give a module holding ``names`` (unless it exists already).

    Examples
    --------
    >>> from sklearn_crossenc._compat import alias_module
    >>> alias_module("sklearn_crossenc._doctest_old", answer=42)
    >>> import sklearn_crossenc._doctest_old as old
    >>> old.answer
    42
    """
    if old in sys.modules:
        return
    module = types.ModuleType(old, f"Alias of release 0.1.0's {old} (pickles only).")
    module.__dict__.update(names)
    sys.modules[old] = module

"""The values of ``crossenc``'s options: ``--param NAME=V1,V2`` and ``--predictions
[NAME=]FILE``, parsed and checked before any work (:mod:`._cli_parser` builds the parser).
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["parse_value", "parse_param", "parse_named_files", "dataset_option"]


def parse_value(text: str):
    """A ``--param`` value: int, float, True/False/None, else the string itself.

    Examples
    --------
    >>> from sklearn_crossenc.cli import parse_value
    >>> parse_value("64"), parse_value("3e-4"), parse_value("False"), parse_value("cpu")
    (64, 0.0003, False, 'cpu')
    """
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return text


def parse_param(text: str, valid=None) -> tuple[str, list]:
    """Parse ``NAME=V1,V2,...`` into ``(NAME, [values])``.

    Parameters
    ----------
    text : str
        One ``--param`` argument.
    valid : collection of str, optional
        Accepted parameter names.

    Raises
    ------
    ValueError
        No ``=``, an empty name or value list, or a name not in ``valid``.

    Examples
    --------
    >>> from sklearn_crossenc.cli import parse_param
    >>> parse_param("embed_dim=32,64,128")
    ('embed_dim', [32, 64, 128])
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(
            f"--param {text!r} is not of the form NAME=V1,V2,... (e.g. embed_dim=32,64)."
        )
    if valid is not None and name not in valid:
        raise ValueError(
            f"--param {text!r}: unknown parameter {name!r} of CrossSubjectEncoder; "
            f"valid: {', '.join(sorted(valid))}."
        )
    items = [v for v in values.split(",") if v.strip()]
    if not items:
        raise ValueError(f"--param {text!r} gives no values for {name!r}.")
    return name, [parse_value(v) for v in items]


def parse_named_files(texts) -> dict:
    """``--predictions`` arguments to ``{name: path}``: ``NAME=FILE`` or ``FILE`` (named by
    its stem).

    Examples
    --------
    >>> from sklearn_crossenc._cli_values import parse_named_files
    >>> parse_named_files(["sub/my_model.npy", "tribe=out/preds.h5"])
    {'my_model': PosixPath('sub/my_model.npy'), 'tribe': PosixPath('out/preds.h5')}
    """
    named: dict = {}
    for text in texts:
        name, sep, path = text.partition("=")
        if not sep:
            name, path = Path(text).stem, text
        name = name.strip()
        if not name or not path:
            raise ValueError(f"--predictions {text!r} is not FILE or NAME=FILE.")
        if name in named:
            raise ValueError(f"--predictions names the model {name!r} twice; give each "
                             "file its own name with NAME=FILE.")
        named[name] = Path(path)
    return named


def dataset_option(args):
    """``--dataset`` read and checked (:func:`~sklearn_crossenc.data.load_dataset`, metadata;
    the values as the job loads them), or None; refused beside ``--data-dir``."""
    if getattr(args, "dataset", None) is None:
        return None
    if args.data_dir is not None:
        raise ValueError(f"give --data-dir ({args.data_dir}) or --dataset ({args.dataset}), "
                         "not both.")
    from .data import load_dataset

    return load_dataset(args.dataset, check_values=False)

"""The parts every job's ``report.md`` shares: its header, timings, environment, command.

Each job's Markdown (:func:`~sklearn_crossenc.report.report_markdown` for ``compare``,
:func:`~sklearn_crossenc.report.grid_markdown`,
:func:`~sklearn_crossenc.report.new_subject_markdown`) begins with :func:`header` and
ends with :func:`footer`, both read from the common top level of the job's result
(:mod:`sklearn_crossenc.jobs._job`).
"""

from __future__ import annotations

import re

__all__ = ["header", "footer", "fmt_load", "code", "plain", "fenced", "data_source"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _visible(text) -> str:
    """``text`` on one line: control characters (newlines...) written as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def code(text) -> str:
    r"""An inline code span of ``text`` that nothing in it can close (a data folder named with
    backticks, newlines and a code fence once broke out into raw HTML).

    Examples
    --------
    >>> from sklearn_crossenc.report._markdown import code
    >>> code("/data/a`b\n```<img>")
    '```` /data/a`b\\n```<img> ````'
    """
    text = _visible(text)
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs or text[:1] == " " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text) -> str:
    r"""``text`` as running Markdown text: on one line, HTML and Markdown marks escaped.

    Examples
    --------
    >>> from sklearn_crossenc.report._markdown import plain
    >>> plain("no atlas at /x/<img src=y>|*_")
    'no atlas at /x/&lt;img src=y&gt;\\|\\*\\_'
    """
    text = _visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]{}|#!~])", r"\\\1", text)


def fenced(text) -> list[str]:
    """``text`` as a fenced code block whose fence nothing in it can close."""
    runs = [len(r) for r in re.findall(r"`+", str(text))]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [fence, str(text), fence]


def fmt_load(load) -> str:
    """``"0.52, 0.40, 0.31"`` for a list of load averages, ``"?"`` when unknown."""
    return "?" if not load else ", ".join(f"{x:.2f}" for x in load)


def header(title: str, result: dict) -> list[str]:
    """The title and the line saying when, with what and on what the result was made."""
    env = result["environment"]
    return [
        f"# {title}",
        "",
        f"Created {result.get('created_utc', '?')} with sklearn-crossenc "
        f"{env['packages'].get('sklearn-crossenc', '?')} on {env['device']['name']}.",
        "",
    ]


def footer(result: dict) -> list[str]:
    """The timings, the environment and the command, as Markdown lines."""
    t = result.get("timings") or {}
    parts = []
    for key, value in t.items():
        if key == "total_s" or not isinstance(value, (int, float)):
            continue
        parts.append(f"{key.removesuffix('_s').replace('_', ' ')} {value:.1f} s")
    total = t.get("total_s")
    lines = ["## Timings", "", "; ".join(parts + ([f"whole job {total:.1f} s"]
                                                  if total is not None else [])) + ".", ""]
    env = result["environment"]
    dev = env["device"]
    start, end = fmt_load(env.get("load_average_at_start")), fmt_load(env.get("load_average"))
    lines += ["## Environment", "",
              f"- device: {dev['type']} ({dev['name']}), torch threads {env.get('torch_threads')}",
              f"- CPU: {env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores",
              f"- load average (1, 5, 15 min) at the start {start}; at the end {end}",
              f"- Python {env.get('python', '?')} on {env.get('platform', '?')}",
              "- packages: " + ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())]
    if result.get("command"):
        lines += ["", "Command:", ""] + fenced(result["command"])
    return lines


def data_source(cfg: dict) -> str:
    """Where a job's data came from, for its report: the data folder, or the
    ``dataset.toml`` with its name and repetition time."""
    described = (cfg.get("protocol") or {})
    if "dataset" not in described:
        return code(cfg["data_dir"])
    return (f"{code(described['dataset'])} ({plain(described['name'])}, "
            f"TR {described['tr']:g} s)")

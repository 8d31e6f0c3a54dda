"""The sections every job's report shares, read from the common top level of its result
(:mod:`sklearn_crossenc.jobs._job`): the quick run's warning, configuration, timings,
environment, command.

:func:`footer` is their Markdown, the end of each job's ``report.md``; the comparison's
pages (:mod:`._compare_sections`) take the sections themselves.
"""

from __future__ import annotations

from ._markdown import fmt_load
from ._sections import Callout, Code, Fields, Paragraph, Pre, Section, to_markdown

__all__ = ["configuration_section", "command_section", "environment_section", "footer",
           "footer_sections", "quick_section", "quick_note", "timings_section"]


def data_source(cfg: dict) -> tuple:
    """Where a job's data came from, as text fragments: the data folder, or the
    ``dataset.toml`` with its name and repetition time."""
    described = cfg.get("protocol") or {}
    if "dataset" not in described:
        return (Code(cfg["data_dir"]),)
    return (Code(described["dataset"]), f" ({described['name']}, TR {described['tr']:g} s)")


def quick_section(result) -> Section:
    """A warning above everything when the run was a smoke run (``--quick``)."""
    if not (result.get("config") or {}).get("quick"):
        return Section("quick", "")
    return Section("quick", "", (Callout("Quick run", (
        "(", Code("--quick"), "): reduced training, the numbers are a smoke test only.")),))


def quick_note(result) -> list[str]:
    """:func:`quick_section` as Markdown lines (none for a full run)."""
    section = quick_section(result)
    return (to_markdown(section).rstrip("\n") + "\n").splitlines() if section else []


def configuration_section(result) -> Section:
    """The job's configuration, key by key."""
    cfg = result.get("config") or {}
    pairs = tuple((k, Code(v if isinstance(v, str) else repr(v))) for k, v in cfg.items())
    return Section("configuration", "Configuration", (Fields(pairs),) if pairs else (),
                   nav="configuration")


def timings_section(result) -> Section:
    """Each step's time and the whole job's, in one sentence."""
    t = result.get("timings") or {}
    parts = [f"{key.removesuffix('_s').replace('_', ' ')} {value:.1f} s"
             for key, value in t.items()
             if key != "total_s" and isinstance(value, (int, float))]
    total = t.get("total_s")
    parts += [f"whole job {total:.1f} s"] if total is not None else []
    return Section("timings", "Timings", (Paragraph("; ".join(parts) + "."),) if parts else ())


def environment_section(result) -> Section:
    """Device, CPU, load averages, Python and package versions."""
    env = result.get("environment") or {}
    dev = env.get("device") or {}
    start, end = fmt_load(env.get("load_average_at_start")), fmt_load(env.get("load_average"))
    pairs = (
        ("device", f"{dev.get('type', '?')} ({dev.get('name', '?')}), "
                   f"torch threads {env.get('torch_threads')}"),
        ("CPU", f"{env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores"),
        ("load average (1, 5, 15 min)", f"at the start {start}; at the end {end}"),
        ("Python", f"{env.get('python', '?')} on {env.get('platform', '?')}"),
        ("packages", ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())),
    )
    return Section("environment", "Environment", (Fields(pairs),), nav="environment")


def command_section(result) -> Section:
    """The command line that made the result, or that it was run from Python."""
    command = result.get("command")
    block = Pre(command) if command else Paragraph("Run from Python (no command line).")
    return Section("command", "Command", (block,))


def footer_sections(result) -> list[Section]:
    """The timings, the environment and the command."""
    return [timings_section(result), environment_section(result), command_section(result)]


def footer(result: dict) -> list[str]:
    """:func:`footer_sections` as Markdown lines."""
    return [line for s in footer_sections(result) if s
            for line in (to_markdown(s).rstrip("\n") + "\n").splitlines()]

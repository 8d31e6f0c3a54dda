"""The comparison's report as sections (:mod:`._sections`), each said once and rendered for
the terminal (:func:`format_table`), ``report.md`` (:func:`report_markdown`) and
``report.html`` (:func:`._html.report_html`).

Each section is one function of the result (and of the files written beside the report)
returning a :class:`._sections.Section`; :data:`SECTIONS` lists them in the order of both
files, :data:`TERMINAL` names those the terminal prints. A new section is one more function
here, listed in :data:`SECTIONS` (and in :data:`TERMINAL` if the terminal shows it).
"""

from __future__ import annotations

from pathlib import Path

from ._figures import scatter_caption
from ._headroom_section import headroom_section, is_headroom_map
from ._job_sections import configuration_section, data_source, footer_sections, quick_section
from ._markdown import header
from ._sections import (
    IMAGE_TYPES,
    Callout,
    Code,
    Column,
    Fields,
    Figure,
    Items,
    Paragraph,
    Section,
    Table,
    to_markdown,
    to_text,
)
from ._svg import axis, difference_svg, interval_svg
from ._tables import (
    CEILING,
    FRACTION_HEADER,
    NOISE_CEILING,
    ceiling_notes,
    fmt_ci,
    fmt_pct,
    fmt_r,
    pairwise_intro,
    report_title,
    score_rows,
    verdict_lines,
)
from ._tuning_section import interval_note, tuning_items, tuning_notes

__all__ = ["SECTIONS", "TERMINAL", "compare_sections", "format_table", "report_markdown"]

#: The sections the terminal prints, in its order (ids; ``set-*`` every evaluation set).
TERMINAL = ("verdict", "set-*", "headroom", "unequal", "pairwise", "ceilings", "coverage",
            "protocol")

_CAPTIONS = {
    "bars": "Mean Pearson r by subject and model",
    "histogram": "Distribution of per-parcel r (mean over subjects)",
}


def _level(result) -> str:
    return f"{100 * (result.get('evaluation') or {}).get('confidence', 0.95):.0f}%"


def verdict_section(result, figures: dict) -> Section:
    """The verdict: one sentence per evaluation set, then the paired differences' figure
    (a comparison's; the headroom job's answer is its headroom section)."""
    lines = verdict_lines(result)
    if not lines or result.get("job") == "headroom":
        return Section("verdict", "Verdict")
    svg, path = difference_svg(result), figures.get("differences")
    figure = Figure("differences", f"Difference of mean r on the same runs with its "
                    f"{_level(result)} interval (blue: the interval excludes 0); the dashed "
                    "line is no difference.", path, svg)
    return Section("verdict", "Verdict", (Items(tuple(lines), cls="verdict"),)
                   + ((figure,) if svg or path else ()), nav="verdict", brief=(0,))


def data_section(result) -> Section:
    """Data and protocol: the folder, subjects, sets, the score."""
    cfg, data = result["config"], result["data"]
    train = data["sets"]["train"]
    synthetic = " (synthetic: the oracle ceiling is known)" if data.get("synthetic") else ""
    sets = ", ".join(f"{label} ({data['sets'][k]['n_runs']} runs, "
                     f"{data['sets'][k]['n_times']} TRs)"
                     for k, label in result["eval_sets"].items())
    return Section("data", "Data and protocol", (Fields((
        ("data", (*data_source(cfg), synthetic)),
        ("subjects", ", ".join(data["subject_labels"])),
        ("parcels", str(data["n_parcels"])),
        ("training", f"{train['label']} ({train['n_runs']} runs, {train['n_times']} TRs)"),
        ("evaluation", sets),
        ("score", "Pearson r per parcel over the concatenated runs, mean over parcels, then "
                  f"over subjects; {cfg.get('trim', 0)} TRs left out at each end of every "
                  "run"),
        *([("brain maps", cfg["atlas_reason"])] if cfg.get("atlas_reason") else []))),))


def set_section(result, index: int, set_key: str) -> Section:
    """One evaluation set's table: the ceilings, then every model with its interval."""
    label = result["eval_sets"][set_key]
    subjects = result["data"]["subject_labels"]
    info = result["data"]["sets"][set_key]
    level = _level(result)
    rows = score_rows(result, set_key)
    columns = (Column("model", left=True), Column("mean"),
               Column(f"{level} interval", f"{level} CI"), *map(Column, subjects),
               Column(FRACTION_HEADER, "% ceil"), Column("fit (s)"))
    cells, marks, plots = [], [], []
    for name, mean, ci, per_subject, frac, fit_s, note in rows:
        ceiling = name in (CEILING, NOISE_CEILING)
        if mean is None:
            cells.append((name, f"skipped: {note}"))
        else:
            cells.append((name, fmt_r(mean), fmt_ci(ci), *map(fmt_r, per_subject),
                          fmt_pct(frac), "" if fit_s is None else f"{fit_s:.1f}"))
        marks.append("skipped" if mean is None else "ceiling" if ceiling else "model")
        plots.append(interval_svg(mean, ci, axis(rows), ceiling))
    caption = (f"Pearson r per parcel, mean over parcels then subjects: {info['n_runs']} runs, "
               f"{info['n_times']} TRs, {result['data']['n_parcels']} parcels.")
    table = Table(columns, tuple(cells), caption, cls="scores", marks=tuple(marks),
                  plots=tuple(plots), plot_after=2)
    return Section(f"set-{index}", label, (table,), nav=label)


def unequal_section(result) -> Section:
    """A highlighted note wherever the models were not tuned alike (none when they were)."""
    return Section("unequal", "", tuple(Callout("Note:", n, cls="unequal")
                                        for n in tuning_notes(result)))


def pairwise_section(result) -> Section:
    """The reference model against each baseline, every set, or nothing."""
    ev = result.get("evaluation") or {}
    pairwise = ev.get("pairwise") or {}
    if not any(pairwise.values()):
        return Section("pairwise", "")
    level = _level(result)
    columns = (Column("set", left=True), Column("baseline", left=True),
               Column("difference", "diff"), Column(f"{level} interval", f"{level} CI"),
               Column("p"), Column("parcels better", "better"),
               Column("parcels worse", "worse"), Column("parcels tested", "tested"))
    rows = tuple((result["eval_sets"][key], r["b"], f"{r['difference']:+.3f}",
                  fmt_ci((r["low"], r["high"])), f"{r['p_value']:.2g}", str(r["n_better"]),
                  str(r["n_worse"]), str(r.get("n_parcels", result["data"]["n_parcels"])))
                 for key, rs in pairwise.items() for r in rs)
    return Section("pairwise", f"{ev['reference']} against each baseline",
                   (Paragraph(pairwise_intro(result)), Table(columns, rows, cls="pairwise")),
                   nav="pairwise")


def coverage_section(result) -> Section:
    """What the intervals and p-values cover (evaluation runs; repeats when there are some)."""
    note = interval_note(result)
    return Section("coverage", "", (Paragraph(note),) if note else ())


def ceilings_section(result) -> Section:
    """The notes on the ceilings: why a set has none, how each was made."""
    notes = ceiling_notes(result)
    return Section("ceilings", "Noise ceilings",
                   (Items(tuple(notes), cls="notes"),) if notes else (), nav="noise ceilings")


def protocol_section(result) -> Section:
    """How each model chose its settings on the training runs, its details nested."""
    if not any(m.get("tuning") for m in (result.get("models") or {}).values()):
        return Section("protocol", "")
    intro, items = tuning_items(result)
    return Section("protocol", "Protocol: how each model chose its settings",
                   (Paragraph(intro), Items(tuple(items), cls="notes protocol")),
                   nav="protocol")


def _images(figures: dict) -> dict:
    return {k: p for k, p in figures.items() if Path(p).suffix.lower() in IMAGE_TYPES}


def figures_section(result, figures: dict) -> Section:
    """The figures (the differences are the verdict's, the maps have their own section)."""
    plots = {k: p for k, p in _images(figures).items()
             if not k.startswith("brain: ") and k != "differences"}
    return Section("figures", "Figures", tuple(
        Figure(k, _CAPTIONS.get(k) or (scatter_caption(result) if k == "scatter" else k), p)
        for k, p in plots.items()), nav="figures")


def _map_figures(figures: dict, headroom: bool) -> tuple:
    return tuple(Figure(k, k[len("brain: "):], p) for k, p in _images(figures).items()
                 if k.startswith("brain: ") and is_headroom_map(k) == headroom)


def maps_section(figures: dict) -> Section:
    """The brain maps (the headroom's are in its section)."""
    return Section("maps", "Brain maps", _map_figures(figures, False), nav="brain maps")


def files_section(figures: dict) -> Section:
    """The files beside the report that are not images (per-parcel tables, NIfTI maps)."""
    names = [Path(p).name for p in figures.values()
             if Path(p).suffix.lower() not in IMAGE_TYPES]
    if not names:
        return Section("files", "")
    text = ("Also written beside this page: ",)
    for i, name in enumerate(names):
        text += ((", " if i else ""), Code(name))
    return Section("files", "", (Paragraph(text + (".",)),))


def models_section(result) -> Section:
    """Every model's status, times and parameters."""
    rows = []
    for name, m in result["models"].items():
        if m.get("status") != "ok":
            rows.append((name, f"skipped: {m.get('reason', '')}"))
            continue
        params = ", ".join(f"{k}={v!r}" for k, v in (m.get("params") or {}).items())
        rows.append((name, f"{m['fit_s']:.1f}", f"{m['eval_s']:.1f}",
                     Code(params or "(no parameters)")))
    columns = (Column("model", left=True), Column("fit (s)"), Column("evaluation (s)"),
               Column("parameters", left=True))
    return Section("models", "Models", (Table(columns, tuple(rows), cls="models"),),
                   nav="models")


def headroom_first(result, figures) -> Section:
    """The headroom section at the top, for the headroom job (its answer)."""
    if result.get("job") != "headroom":
        return Section("headroom", "")
    return headroom_section(result, _map_figures(figures, True))


def headroom_after(result, figures) -> Section:
    """The headroom section after the paired tests, for a comparison."""
    if result.get("job") == "headroom":
        return Section("headroom", "")
    return headroom_section(result, _map_figures(figures, True))


def set_sections(result, figures) -> list[Section]:
    """One section per evaluation set (:func:`set_section`)."""
    return [set_section(result, i, key) for i, key in enumerate(result["eval_sets"])]


def _result_only(build):
    def section(result, figures):
        return build(result)

    section.__name__ = build.__name__
    return section


#: The builders of the report's sections, in the order of report.md and report.html: each
#: ``f(result, figures) -> Section`` (or a list of sections), ``figures`` the files written
#: beside the report (kind -> path: figures, brain maps, per-parcel tables).
SECTIONS = [
    _result_only(quick_section), headroom_first, verdict_section,
    _result_only(data_section),
    set_sections, _result_only(unequal_section), _result_only(pairwise_section),
    headroom_after, _result_only(coverage_section), _result_only(ceilings_section),
    _result_only(protocol_section), figures_section,
    lambda result, figures: maps_section(figures), lambda result, figures: files_section(figures),
    _result_only(models_section), _result_only(configuration_section),
    _result_only(footer_sections),
]


def compare_sections(result, figures: dict | None = None) -> list[Section]:
    """Every section of the comparison's report (:data:`SECTIONS`), in the order of
    report.md and report.html, empty ones included (the renderers skip them)."""
    out = []
    for build in SECTIONS:
        made = build(result, figures or {})
        out += made if isinstance(made, list) else [made]
    return out


def _terminal(sections) -> list[Section]:
    order = {key: i for i, key in enumerate(TERMINAL)}
    rank = [order.get("set-*" if s.id.startswith("set-") else s.id) for s in sections]
    return [s for r, s in sorted(zip(rank, sections, strict=True), key=lambda p: p[0] or 0)
            if r is not None and s]


def format_table(result) -> str:
    """The comparison for the terminal, 100 columns wide: the verdict, a table per evaluation
    set (ceilings, then each model with its mean Pearson r over parcels then subjects, its
    interval, per-subject means, fraction of the noise ceiling, fit time), the headroom's
    verdicts, notes where the models were tuned unequally, the paired tests, the notes on
    the ceilings, what the intervals cover and the protocol.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.

    Returns
    -------
    table : str
    """
    sections = _terminal(compare_sections(result))
    if result.get("job") == "headroom":  # the job's answer first
        sections = ([s for s in sections if s.id == "headroom"]
                    + [s for s in sections if s.id != "headroom"])
    return "\n\n".join(to_text(s) for s in sections).rstrip() + "\n"


def report_markdown(result, figures: dict | None = None, files: dict | None = None) -> str:
    """The comparison as a Markdown document: the sections of report.html, in its order.

    Parameters
    ----------
    result : dict
        The output of :func:`sklearn_crossenc.jobs.compare.run_comparison`.
    figures : dict of str to path, optional
        Figures written beside the report (kind -> file); linked when given.
    files : dict of str to path, optional
        Other files written beside it (per-parcel tables, NIfTI maps); listed when given.

    Returns
    -------
    text : str
    """
    sections = compare_sections(result, {**(figures or {}), **(files or {})})
    body = [to_markdown(s).rstrip("\n") for s in sections if s]
    return "\n".join(header(report_title(result), result) + ["\n\n".join(body)]) + "\n"

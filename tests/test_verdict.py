"""The verdict first: one sentence per evaluation set in report.html, report.md and the
terminal table (the best model, its difference to the next with its interval and the test
behind its p-value, the parcels), and the plot of the differences with their intervals."""

from __future__ import annotations

import html
import re

from test_report import EVAL_SETS, make_result
from test_report_html import Page

from sklearn_crossenc.report import format_table, report_html, report_markdown
from sklearn_crossenc.report._tables import verdict_lines


def _result(best_is_reference=True):
    """A fake comparison whose pairwise rows are the reference minus each baseline."""
    result = make_result(n_parcels=30)
    models = result["models"]
    means = {"CrossSubjectEncoder": 0.31, "CrossSubjectRidge": 0.27, "MeanOfOthers": 0.20}
    if not best_is_reference:
        means["CrossSubjectEncoder"], means["CrossSubjectRidge"] = 0.27, 0.31
    for name, mean in means.items():
        for k in EVAL_SETS:
            models[name]["scores"][k]["mean"] = mean
    sign = 1 if best_is_reference else -1
    rows = {k: [{"a": "CrossSubjectEncoder", "b": b, "difference": sign * d, "low": sign * lo,
                 "high": sign * hi, "p_value": 3e-4, "n_better": nb, "n_worse": nw, "df": 8.0}
                for b, d, lo, hi, nb, nw in (
                    ("CrossSubjectRidge", 0.04, 0.02, 0.06, 25, 1) if sign > 0 else
                    ("CrossSubjectRidge", 0.04, 0.06, 0.02, 1, 25),
                    ("MeanOfOthers", 0.11, 0.09, 0.13, 30, 0))]
            for k in EVAL_SETS}
    result["evaluation"] = {"confidence": 0.95, "fdr": 0.05, "method": "t-jackknife",
                            "n_resamples": 2000, "reference": "CrossSubjectEncoder",
                            "intervals": {}, "pairwise": rows}
    return result


def test_one_sentence_per_set_with_the_best_model_its_margin_and_the_test():
    lines = verdict_lines(_result())
    assert len(lines) == len(EVAL_SETS)
    for line, label in zip(lines, EVAL_SETS.values(), strict=True):
        assert line.startswith(f"{label}: CrossSubjectEncoder scores best (mean r 0.310), "
                               "0.040 above CrossSubjectRidge (95% interval 0.020 to 0.060; ")
        assert "p = 0.0003, t test on the leave-one-run-out jackknife, 8 degrees of freedom" in line
        assert "better in 25 and worse in 1 of 30 parcels (r averaged over subjects" in line


def test_a_baseline_that_wins_is_named_with_the_row_turned_round():
    """The stored row is the reference minus the baseline; the verdict reads it the other
    way when the baseline is best: its difference, interval and parcel counts swapped."""
    line = verdict_lines(_result(best_is_reference=False))[0]
    assert "CrossSubjectRidge scores best (mean r 0.310), 0.040 above CrossSubjectEncoder" in line
    assert "interval 0.020 to 0.060" in line and "better in 25 and worse in 1 of 30" in line


def test_no_paired_test_between_the_two_best_is_said():
    result = _result()
    for rows in result["evaluation"]["pairwise"].values():
        rows[:] = [r for r in rows if r["b"] != "CrossSubjectRidge"]
    line = verdict_lines(result)[0]
    assert line.endswith("0.040 above CrossSubjectRidge (0.270; the two were not compared by "
                         "a paired test).")


def test_the_verdict_comes_first_everywhere():
    result = _result()
    page = Page(report_html(result))
    assert page.headings[1] == "Verdict"  # after the title, before data and tables
    md_heads = [h for h in report_markdown(result).splitlines() if h.startswith("## ")]
    assert md_heads[0] == "## Verdict"
    assert format_table(result).startswith(
        "Verdict:\n- Friends s6: CrossSubjectEncoder scores best")


def test_the_differences_plot_has_one_interval_per_comparison():
    result = _result()
    text = report_html(result)
    svg = re.search(r'<figure data-kind="differences">(.*?)</figure>', text, re.S).group(1)
    rows = [r for rs in result["evaluation"]["pairwise"].values() for r in rs]
    assert svg.count("<circle") == len(rows)
    for r in rows:
        assert f'{r["difference"]:+.3f} [{r["low"]:+.3f}, {r["high"]:+.3f}]' in svg
    # dots sit on their interval, which lies right of the zero line (all differences > 0)
    zero = float(re.search(r'<line x1="([\d.]+)" y1="4"', svg).group(1))
    for cx in re.findall(r'<circle cx="([\d.]+)"', svg):
        assert float(cx) > zero


# ------------------------------------------------------------ statistics said plainly
def test_p_values_name_their_test_and_counts_what_they_count():
    """The pairwise sections of report.html, report.md and the terminal say which test gave
    the p-values (not the resamples, which did not) and of how many parcels the counts are;
    the fraction-of-ceiling column says what it covers."""
    result = _result()
    for text in (report_html(result), report_markdown(result), format_table(result)):
        flat = " ".join(html.unescape(text).split())
        assert "p-value, from the t test on the leave-one-run-out jackknife, 8 degrees of " \
               "freedom;" in flat
        assert "resamples" not in flat  # the t-jackknife p-value used none
        assert "(each parcel's r averaged over subjects)" in flat
    md = report_markdown(result)
    assert "| parcels better | parcels worse | parcels tested |" in md
    assert r"| Friends s6 | CrossSubjectRidge | +0.040 | \[0.020,0.060\] | 0.0003 | 25 | 1 | 30 |" \
        in md  # Markdown marks of every cell escaped (brackets included)
    assert "% of noise ceiling (repeated clips, reliable parcels)" in md
    assert "% of noise ceiling (repeated clips, reliable parcels)" in report_html(result)


def test_the_scatter_title_counts_subject_by_parcel_points_and_says_it_is_no_test(tmp_path):
    import numpy as np
    import pytest

    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from sklearn_crossenc.report._figures import _fig_scatter

    result = _result()
    result["models"]["CrossSubjectEncoder"]["tuning"] = {"tuned": "epochs"}
    result["models"]["CrossSubjectRidge"]["tuning"] = {"tuned": "alpha"}
    fig = _fig_scatter(result, Figure)
    for ax, key in zip(fig.axes, EVAL_SETS, strict=True):
        enc = result["maps"]["CrossSubjectEncoder"][key]  # (S, C)
        ridge = result["maps"]["CrossSubjectRidge"][key]
        k = int(np.sum(enc > ridge))
        assert ax.get_title().split("\n")[1:] == [
            f"CrossSubjectEncoder higher at {k} of {enc.size} points",
            "(subject x parcel; a count, not a test)"]


def test_the_differences_figure_draws_each_interval_and_is_linked_under_the_verdict(tmp_path):
    import pytest

    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from sklearn_crossenc.report import write_figures
    from sklearn_crossenc.report._figures import _fig_differences

    result = _result()
    fig = _fig_differences(result, Figure)
    rows = [r for rs in result["evaluation"]["pairwise"].values() for r in rs]
    lines = fig.axes[0].get_lines()
    spans = sorted(tuple(ln.get_xdata()) for ln in lines if len(ln.get_xdata()) == 2
                   and ln.get_xdata()[0] != ln.get_xdata()[1])
    assert spans == sorted((r["low"], r["high"]) for r in rows)
    dots = sorted(float(ln.get_xdata()[0]) for ln in lines if ln.get_marker() == "o")
    assert dots == sorted(r["difference"] for r in rows)
    figures = write_figures(result, tmp_path)
    assert figures["differences"].name == "paired_differences.png"
    md = report_markdown(result, figures)
    verdict = md.split("## Verdict")[1].split("\n## ")[0]
    assert re.search(r"!\[Difference of mean r [^]]*\]\(paired_differences.png\)", verdict)
    assert "paired_differences" not in report_html(result, figures)  # inline SVG there


def test_the_two_best_are_compared_when_neither_is_the_reference(synthetic_root):
    """Without the reference model (no encoder), the comparison still pairs the two best
    models of each set, and the verdict gives their interval: the difference is theirs."""
    import pytest

    from sklearn_crossenc.jobs.compare import run_comparison

    result = run_comparison(synthetic_root, models=["ridge", "feature", "mean"], quick=True,
                            device="cpu", n_resamples=200)
    ev = result["evaluation"]
    assert not any(ev["pairwise"].values())  # no reference: no reference-vs-baseline rows
    lines = verdict_lines(result)
    for line, (key, label) in zip(lines, EVAL_SETS.items(), strict=True):
        means = {n: m["scores"][key]["mean"] for n, m in result["models"].items()}
        best, nxt = sorted(means, key=means.get, reverse=True)[:2]
        row = ev["top_pair"][key]
        assert (row["a"], row["b"]) == (best, nxt)
        assert row["difference"] == pytest.approx(means[best] - means[nxt], abs=1e-9)
        assert row["low"] <= row["difference"] <= row["high"]
        assert line.startswith(f"{label}: {best} scores best") and "95% interval" in line
        assert f"{row['difference']:.3f} above {nxt}" in line
    # the differences plot draws the two best models' tests too
    svg = re.search(r'<figure data-kind="differences">(.*?)</figure>', report_html(result),
                    re.S).group(1)
    assert svg.count("<circle") == len(EVAL_SETS)
    for row in ev["top_pair"].values():
        assert f"{row['a']} - {row['b']}" in html.unescape(svg)

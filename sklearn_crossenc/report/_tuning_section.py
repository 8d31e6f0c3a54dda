"""The comparison's protocol section: how each model chose its settings on the training
runs, what it chose and at what cost, and a note wherever the models were tuned unequally
(:mod:`sklearn_crossenc.jobs._tuning`)."""

from __future__ import annotations

__all__ = ["tuning_notes", "tuning_items", "interval_note"]


def _cfg(result) -> dict:
    return result.get("config") or {}


def interval_note(result) -> str | None:
    """What the intervals cover: the evaluation runs, and the repeats when there are any."""
    cfg = _cfg(result)
    repeats = cfg.get("repeats", 1)
    if not result.get("evaluation"):
        return None
    if repeats <= 1:
        return ("The intervals and p-values cover the evaluation runs only (one random state "
                "per model); --repeats K also covers the spread between K trainings.")
    note = (f"The intervals and p-values cover the evaluation runs and the spread between the "
            f"{repeats} random states of each stochastic model (--repeats {repeats}).")
    if repeats == 2:
        note += (" With 2 repeats the paired test is liberal where the random state dominates "
                 "(about 10% false positives at 5% in simulation, docs/evaluation.md); use "
                 "--repeats 3 or more for a claim.")
    return note


def tuning_notes(result) -> list[str]:
    """One sentence per way in which the models were not tuned alike (empty when fair)."""
    cfg = _cfg(result)
    models = result.get("models") or {}
    stochastic = [n for n, m in models.items() if m.get("status") == "ok" and "repeats" in m]
    tuned = [n for n, m in models.items() if m.get("status") == "ok"
             and (m.get("tuning") or {}).get("tuned", "nothing") != "nothing"]
    notes = []
    es = cfg.get("early_stopping", "folds")
    for name in stochastic:
        if es is None:
            others = ", ".join(n for n in tuned if n != name)
            notes.append(
                f"{name}'s training length was NOT tuned: it trained for the notebook's fixed "
                "schedule (--fixed-schedule)"
                + (f", while {others} chose their settings on the training runs; the verdict "
                   "may reflect the schedule, not the models." if others else "."))
        elif es != "folds":
            notes.append(
                f"{name}'s early stopping held out a random {100 * es:.0f}% of the training "
                "runs, not the last of the tuning folds on which the ridges validate their "
                "alphas.")
    if cfg.get("quick"):
        notes.append("--quick: 2 tuning folds, short alpha grids and 2 short epochs: a smoke "
                     "run, not a fair comparison.")
    return notes


def _fmt_curve(values) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _chosen_text(chosen: dict, refit: bool) -> str:
    if "best_epoch" in chosen:
        if chosen["best_epoch"] is None:
            return f"{chosen['n_epochs']} epochs (no early stopping)"
        text = (f"epoch {chosen['best_epoch']} of {chosen['n_epochs']} run (held-out r per "
                f"epoch: {_fmt_curve(chosen.get('valid_pearson', []))})")
        return text + ("; then trained again on every training run for that many epochs"
                       if refit else "")
    if "alphas" in chosen:
        counts = ", ".join(f"{a}: {c}" for a, c in chosen["alphas"].items())
        folds = "" if chosen.get("n_splits") is None else f" over {chosen['n_splits']} folds"
        return (f"alphas per subject and parcel{folds}: {counts} "
                f"(median {chosen['median_alpha']:g})")
    return "nothing to choose"


def _search_lines(search: dict) -> list[str]:
    grid = ", ".join(f"{k} in {v}" for k, v in search["grid"].items())
    lines = [f"grid search ({grid}; {search['n_splits']} folds, {search['seconds']:.1f} s): "
             f"winner {search['best_params']} (CV r {search['best_score']:.3f})"]
    for row in sorted(search["candidates"], key=lambda r: r["rank"]):
        lines.append(f"rank {row['rank']}: {row['params']}  CV r {row['mean']:.3f} "
                     f"+- {row['std']:.3f}")
    return lines


def tuning_items(result) -> tuple[str, list[tuple[str, list[str]]]]:
    """The protocol: a sentence on the tuning folds, then per model what it tuned, on
    which runs, what it chose and the cost, with its details (repeats, grid candidates)."""
    cfg = _cfg(result)
    train = (result.get("data") or {}).get("sets", {}).get("train", {})
    folds = cfg.get("tuning_folds")
    intro = (f"Tuning on the training runs only ({train.get('label', '?')}, "
             f"{train.get('n_runs', '?')} runs; {folds} folds of whole runs, in order):")
    items = []
    for name, m in (result.get("models") or {}).items():
        if m.get("status") != "ok":
            continue
        if m.get("source"):  # predictions made elsewhere (crossenc headroom)
            items.append((f"{name}: predictions read from {m['source']}; not fitted here", []))
            continue
        tuning = m.get("tuning") or {}
        items.append(_model_item(result, name, m, tuning))
        if tuning.get("search"):
            items[-1][1].extend(_search_lines(tuning["search"]))
    return intro, items


def _model_item(result, name, m, tuning) -> tuple[str, list[str]]:
    what = tuning.get("tuned", "nothing")
    cost = f"{m['fit_s']:.1f} s"
    repeats = m.get("repeats") or []
    if len(repeats) > 1:
        epochs = [r["chosen"].get("best_epoch") for r in repeats if r.get("chosen")]
        sub = []
        for key, label in result["eval_sets"].items():
            scores = ", ".join(f"{r['scores'][key]:.3f}" for r in repeats)
            sd = (m.get("spread") or {}).get(key, {}).get("sd")
            sub.append(f"{label} per repeat: {scores}" + ("" if sd is None else f" (SD {sd:.4f})"))
        return (f"{name}: {what}; {len(repeats)} repeats (random states "
                f"{', '.join(str(r['random_state']) for r in repeats)}), chosen epochs "
                f"{epochs}; {cost} in all", sub)
    if what == "nothing":
        return f"{name}: nothing to tune; {cost}", []
    return (f"{name}: {what}; chose "
            f"{_chosen_text(tuning.get('chosen') or {}, tuning.get('refit'))}; {cost}", [])

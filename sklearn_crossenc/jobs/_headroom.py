"""Headroom: how far each stimulus model falls short of the cross-subject ceiling.

The cross-subject encoder's predictions are the ceiling (what the other subjects predict
of a subject is the best-known bound for a stimulus model). For every model put against
it and every evaluation set this step adds, to the comparison's paired tests (which
already give the ceiling minus the model, its interval, p-value and the parcels where
either is significantly better at the FDR):

* ``ratio``: the model's mean score over the ceiling's, with its t-jackknife interval
  over runs (:func:`~sklearn_crossenc.evaluation.ratio_interval`);
* ``partition``: leave-one-run-out variance partitioning between the model and the
  ceiling (:func:`~sklearn_crossenc.evaluation.partition_variance`), means over subjects
  and parcels and the share of parcels whose unique parts came out negative;
* ``challenge``: every model's score under the Algonauts 2025 scoring rule (5 TRs
  dropped per run end, one group per movie; :func:`~sklearn_crossenc.metrics.challenge_score`);
* ``networks``: the per-parcel headroom averaged within each network, with the parcels
  below and above the ceiling, when the parcels' networks are known.

It works on arrays only: the jobs (``headroom`` and ``compare``) pass the targets and the
predictions they hold, and put the returned maps beside their others.
"""

from __future__ import annotations

import numpy as np

from ..data._paths import challenge_group
from ..evaluation import PARTS, partition_variance, ratio_interval
from ..metrics import CHALLENGE_TRIM, challenge_score

__all__ = ["UNIQUE_PREFIX", "parcel_networks", "headroom_step", "challenge_scores",
           "add_challenge_scores", "headroom_fields", "ceiling_predictions", "unique_map_name"]


#: How a model's unique-variance map is named in a result's ``maps``.
UNIQUE_PREFIX = "unique variance of "


def parcel_networks(data: dict) -> list[str] | None:
    """The network of every parcel where the data says it (the synthetic dataset's
    Schaefer-style layout); None for other data (the release ships no label table)."""
    from ..data._networks import parcel_names

    return parcel_names(data["n_parcels"])[1] if data.get("synthetic") else None


def unique_map_name(model: str) -> str:
    """The key of a model's unique-variance map in a result's ``maps``."""
    return UNIQUE_PREFIX + model


def challenge_scores(targets: dict, predictions: dict, runs: dict) -> dict:
    """Model -> set -> its score under the challenge's rule (None where a run is too short
    for the rule's trimming).

    ``targets``: set -> list of ``(S, T_i, C)`` runs; ``predictions``: model -> set -> list
    of runs in the same order; ``runs``: set -> run keys in that order.
    """
    out: dict = {}
    for model, by_set in predictions.items():
        for key, pred in by_set.items():
            groups = [challenge_group(run) for run in runs[key]]
            short = min(t.shape[1] for t in targets[key]) < 2 * CHALLENGE_TRIM + 2
            out.setdefault(model, {})[key] = (
                None if short else challenge_score(targets[key], pred, groups))
    return out


def add_challenge_scores(entries: dict, sets: dict, predictions: dict) -> None:
    """Put each model's challenge score beside its project score: ``entries[model]
    ["scores"][set]["challenge"]`` (models whose predictions were kept)."""
    keys = {k for by_set in predictions.values() for k in by_set}
    scores = challenge_scores({k: list(sets[k].values()) for k in keys}, predictions,
                              {k: list(sets[k]) for k in keys})
    for model, by_set in scores.items():
        for key, value in by_set.items():
            entries[model]["scores"][key]["challenge"] = value


def headroom_fields(headroom: dict | None) -> dict:
    """The result's headroom keys (``headroom``, ``partition``, ``networks``), if any."""
    if headroom is None:
        return {}
    return {k: headroom[k] for k in ("headroom", "partition", "networks")}


def ceiling_predictions(predictions: dict, ref: str | None, data: dict) -> dict | None:
    """The ceiling's evaluation predictions as a submission dict (subject label -> run ->
    ``(T, C)``), for ``crossenc headroom --ceiling``; None when the reference model was not
    fitted once."""
    if ref is None or ref not in predictions:
        return None
    by_set = predictions[ref]
    out: dict = {lab: {} for lab in data["subject_labels"]}
    for key, runs in by_set.items():
        for name, pred in zip(data["sets"][key]["runs"], runs, strict=True):
            for s, lab in enumerate(data["subject_labels"]):
                out[lab][name] = pred[s]  # (T, C)
    return {"model": ref, "runs": out}


def _trimmed(runs: list, trim: int) -> list:
    return [r[:, trim: r.shape[1] - trim] for r in runs] if trim else runs  # (S, T - 2 trim, C)


def _partition_summary(parts: dict) -> tuple[dict, np.ndarray]:
    """Means over subjects and parcels of every piece, the shares of negative unique parts,
    and the unique-to-model map (mean over subjects, (C,))."""
    summary = {k: float(v.mean()) for k, v in parts.items()}
    for piece in ("unique_model", "unique_ceiling"):
        summary[f"{piece}_negative_fraction"] = float((parts[piece].mean(axis=0) < 0).mean())
    return summary, parts["unique_model"].mean(axis=0)


def _network_rows(pair: dict, networks) -> list[dict]:
    """The headroom map's parcels grouped by network (``networks``: name per parcel)."""
    diff = np.asarray(pair["difference"])  # (C,) ceiling - model, mean over subjects
    sig = np.asarray(pair["significant"], dtype=bool)
    rows = []
    for name in dict.fromkeys(networks):
        mask = np.asarray([n == name for n in networks])
        rows.append({"network": name, "n_parcels": int(mask.sum()),
                     "headroom": float(diff[mask].mean()),
                     "parcels_below": int((sig & mask & (diff > 0)).sum()),
                     "parcels_above": int((sig & mask & (diff < 0)).sum())})
    return rows


def headroom_step(targets: dict, predictions: dict, stats: dict, evaluation: dict, maps: dict,
                  *, ceiling: str, models, confidence: float, trim: int = 0,
                  networks=None) -> dict:
    """Headroom, ratio, partition and network rows of ``models`` against ``ceiling``.

    Parameters
    ----------
    targets : dict
        Set -> list of measured ``(S, T_i, C)`` runs (the job's trimming not applied).
    predictions : dict
        Model -> set -> list of predicted runs (``ceiling`` and every one of ``models``).
    stats : dict
        Model -> set -> :class:`~sklearn_crossenc.evaluation.RunStatistics`.
    evaluation : dict
        The comparison's evaluation (``pairwise`` with ``ceiling`` as model A).
    maps : dict
        The result's maps; ``unique_map_name(model)`` -> set -> ``(C,)`` is added.
    ceiling : str
        The ceiling model's name (the cross-subject encoder).
    models : sequence of str
    confidence : float
    trim : int, default=0
        Time points left out at each end of every run in the partitioning (the job's).
    networks : sequence of str, optional
        The network of each parcel.

    Returns
    -------
    dict
        ``headroom`` (model -> set -> ``mean``, ``interval``, ``p``, ``parcels_below``,
        ``parcels_above``, ``n_parcels``, ``ratio``), ``partition`` (model -> set -> the
        means of :data:`~sklearn_crossenc.evaluation.PARTS` and the R² values) and
        ``networks`` (model -> set -> rows; empty without ``networks``).
    """
    out: dict = {"headroom": {}, "partition": {}, "networks": {}, "parts": list(PARTS)}
    for model in models:
        for key, pred in predictions[model].items():
            pair = next(p for p in evaluation["pairwise"][key] if p["b"] == model)
            pair_map = maps[f"{ceiling} - {model}"][key]
            ratio = ratio_interval(stats[model][key], stats[ceiling][key], confidence=confidence)
            out["headroom"].setdefault(model, {})[key] = {
                "mean": pair["difference"], "interval": [pair["low"], pair["high"]],
                "p": pair["p_value"], "parcels_below": pair["n_better"],
                "parcels_above": pair["n_worse"], "n_parcels": pair["n_parcels"],
                "ratio": ratio,
            }
            cut = [_trimmed(runs, trim) for runs in (targets[key], pred, predictions[ceiling][key])]
            summary, unique = _partition_summary(partition_variance(*cut))
            out["partition"].setdefault(model, {})[key] = summary
            maps.setdefault(unique_map_name(model), {})[key] = unique
            if networks is not None:
                out["networks"].setdefault(model, {})[key] = _network_rows(pair_map, networks)
    return out

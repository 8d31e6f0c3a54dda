"""The seed's protocol: which runs train and which evaluate, loaded and summarised.

Training on Friends seasons 1-5; evaluation on Friends season 6 and Movie10 run 1; the
oracle ceiling of each evaluation set when the data is synthetic.
"""

from __future__ import annotations

import time

from ..data import SUBJECTS
from ..metrics import pearson_map
from ._settings import EVAL_SETS

__all__ = ["PROTOCOL", "load_protocol", "load_sets", "oracle_ceiling"]

#: The sets of the protocol, as reported.
PROTOCOL = {
    "train": "Friends seasons 1-5",
    "friends_s6": "Friends season 6",
    "movie10_run1": "Movie10, run 1 of each segment",
}


def load_protocol(root, *, subjects=SUBJECTS, progress: bool = False) -> dict:
    """Load the seed's three sets: Friends s1-5 (train), Friends s6 and Movie10 run 1.

    Returns
    -------
    sets : dict
        ``{"train": dict, "friends_s6": dict, "movie10_run1": dict}``, each a loader
        dict of run name -> float32 array ``(n_subjects, n_times, n_parcels)``.
    """
    from ..data import load_friends, load_movie10

    subjects = tuple(subjects)
    sets = {
        "train": load_friends(root, subjects=subjects, seasons=[1, 2, 3, 4, 5], progress=progress),
        "friends_s6": load_friends(root, subjects=subjects, seasons=[6], progress=progress),
        "movie10_run1": load_movie10(root, subjects=subjects, runs=[1], progress=progress),
    }
    for key, data in sets.items():
        if not data:
            raise ValueError(f"the {key} set is empty in {root}.")
    return sets


def _set_info(label: str, data: dict) -> dict:
    return {
        "label": label,
        "n_runs": len(data),
        "n_times": int(sum(v.shape[1] for v in data.values())),
        "runs": list(data),
    }


def _data_info(root, sets: dict, subjects) -> dict:
    from ..data import is_synthetic

    return {
        "synthetic": bool(is_synthetic(root)),
        "subjects": list(subjects),
        "subject_labels": [f"sub-{s:02d}" for s in subjects],
        "n_parcels": int(next(iter(sets["train"].values())).shape[2]),
        "sets": {
            "train": _set_info("Friends s1-5", sets["train"]),
            **{k: _set_info(EVAL_SETS[k], sets[k]) for k in EVAL_SETS},
        },
    }


def load_sets(root, subjects, progress: bool, log) -> tuple[dict, dict, float]:
    """The protocol's sets, their summary and the seconds loading took."""
    log(f"Loading {root} (train Friends s1-5; evaluate Friends s6, Movie10 run 1) ...")
    t0 = time.perf_counter()
    sets = load_protocol(root, subjects=subjects, progress=progress)
    load_s = time.perf_counter() - t0
    data = _data_info(root, sets, subjects)
    log(
        f"  {data['sets']['train']['n_runs']} training runs, "
        + ", ".join(f"{data['sets'][k]['n_runs']} {EVAL_SETS[k]} runs" for k in EVAL_SETS)
        + f"; {len(data['subject_labels'])} subjects x {data['n_parcels']} parcels "
        f"({load_s:.1f} s)."
    )
    return sets, data, load_s


def oracle_ceiling(root, sets: dict, subjects, trim: int) -> dict:
    """Per-parcel r of the data with its noise-free signal, per evaluation set."""
    from ..data import load_true_signal

    kinds = {"friends_s6": "friends", "movie10_run1": "movie10"}
    out = {}
    for key, kind in kinds.items():
        data = sets[key]
        truth = load_true_signal(root, data, kind, subjects=subjects)
        out[key] = pearson_map(list(data.values()), [truth[k] for k in data], trim=trim)
    return out  # key -> (S, C)

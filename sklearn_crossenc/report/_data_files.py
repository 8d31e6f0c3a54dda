"""Data files a job hands on to the next: the ceiling's predictions (``headroom
--ceiling`` reads them) and an extraction's parcel time series with its ``dataset.toml``.

Each writer writes into a folder of an open output set (:mod:`._files` commits it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_text
from ._markdown import code, header, plain

__all__ = ["write_predictions", "write_extracted", "extract_markdown"]


def write_predictions(runs: dict, path: Path) -> Path:
    """Write predictions (subject label -> run -> ``(T, C)``) as HDF5, one group per
    subject and one float32 dataset per run, atomically: the layout
    :func:`~sklearn_crossenc.data.load_predictions` reads."""
    import h5py

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for subject, by_run in runs.items():
                group = f.create_group(subject)
                for run, values in by_run.items():
                    group.create_dataset(run, data=np.asarray(values, dtype=np.float32))
    return path


def write_extracted(result, folder: Path) -> dict:
    """``sub-<label>.h5`` per subject (one ``(time, parcels)`` float32 dataset per run) and
    ``dataset.toml`` of an extraction, atomically; kind -> path."""
    import h5py

    from ..data._extract import dataset_toml

    outputs = {}
    for subject, by_run in result["series"].items():
        path = folder / result["subjects"][subject]
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for key, values in by_run.items():
                f.create_dataset(key, data=np.asarray(values, dtype=np.float32))
        outputs[f"subject: {subject}"] = path
    outputs["dataset"] = atomic_write_text(folder / "dataset.toml", dataset_toml(
        result["config"]["name"], result["tr"], result["subjects"], result["runs"],
        result["config"]["atlas"], result["extraction"]))
    return outputs


def extract_markdown(result) -> str:
    """``report.md`` of an extraction: what was read, how, what was written."""
    cfg, ext = result["config"], result["extraction"]
    lines = header("Parcel time series from fMRIPrep outputs", result) + [
        f"Derivatives: {code(cfg['derivatives'])}, task {code(cfg['task'])}; atlas "
        f"{code(cfg['atlas'])} "
        f"({result['n_parcels']} labels); TR {result['tr']} s.",
        f"Masker: {ext['masker']} (mean per label"
        f"{', labels resampled to the data' if ext.get('resampling_target') else ''}), confounds "
        f"{code(cfg['confounds'])}: {', '.join(ext['confound_columns']) or 'none regressed'}; "
        f"high-pass {ext['high_pass_hz'] or 'none'}; no standardising, no detrending.",
        "", "| subject | file | runs | TRs |", "|---|---|---|---|"]
    for subject, runs in result["lengths"].items():
        lines.append(f"| sub-{plain(subject)} | {plain(result['subjects'][subject])} | "
                     f"{len(runs)} | "
                     f"{sum(runs.values())} |")
    lines += ["", "Every run is under `train` in `dataset.toml` until you split them into "
              "evaluation sets."]
    return "\n".join(lines) + "\n"

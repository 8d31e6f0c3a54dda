"""Parcel time series from fMRIPrep outputs and an atlas: ``crossenc extract``.

Each preprocessed run of one task (:func:`~._fmriprep.find_runs`) goes through nilearn's
``NiftiLabelsMasker`` with the user's labels image (resampled to the data), with or
without confound regression (:data:`PRESETS`); with a ``*.dlabel.nii`` atlas, each CIFTI
``*_bold.dtseries.nii`` run is averaged within its labels and cleaned the same way
(:mod:`._cifti`). Each is written as one ``(time, parcels)``
float32 dataset per run key into ``sub-<label>.h5`` per subject, beside a
``dataset.toml`` that names the files and puts every run under ``train`` until the user
splits them (written by the report layer; this module only computes). The masker's
settings, the confound columns and the package versions are recorded in
``dataset.toml``'s ``[extraction]`` table. Nothing is downloaded: the atlas is the
user's.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from .._log import noop
from ._cifti import cifti_parcel_means, read_dlabel
from ._fmriprep import MOTION, TISSUE, BoldRun, find_runs

__all__ = ["PRESETS", "extract_parcels", "dataset_toml"]

#: Confound strategies: the fMRIPrep columns regressed out and the high-pass cut-off (Hz).
#: ``none`` is the plain parcel mean: no regression, no filtering, no standardising.
PRESETS = {
    "none": {"columns": (), "high_pass": None},
    "motion": {"columns": MOTION, "high_pass": None},
    "motion-wm-csf": {"columns": MOTION + TISSUE, "high_pass": None},
    "motion-wm-csf-hp": {"columns": MOTION + TISSUE, "high_pass": 0.008},
}


def _read_confounds(run: BoldRun, columns) -> np.ndarray | None:
    """The run's confound columns ``(T, K)``, or None for none; clear errors."""
    if not columns:
        return None
    if not run.confounds.is_file():
        raise FileNotFoundError(f"sub-{run.subject} run {run.key}: confounds file "
                                f"{run.confounds} does not exist (needed by the preset)")
    lines = run.confounds.read_text().splitlines()
    head = lines[0].split("\t")
    missing = [c for c in columns if c not in head]
    if missing:
        raise ValueError(f"{run.confounds} lacks the column(s) {', '.join(missing)}")
    idx = [head.index(c) for c in columns]
    rows = [[line.split("\t")[i] for i in idx] for line in lines[1:] if line.strip()]
    values = np.array([[np.nan if v in ("n/a", "") else float(v) for v in r] for r in rows])
    # fMRIPrep writes n/a in the first row of derivatives: the next row's value stands in.
    bad = ~np.isfinite(values)
    if bad.any():
        values[bad] = np.take(values[1:], np.nonzero(bad)[1], axis=1)[0] if len(values) > 1 \
            else 0.0
    return values  # (T, K)


def _tr_of(img, tr) -> float:
    t = float(img.header.get_zooms()[3]) if tr is None and len(img.shape) == 4 else tr
    if t is None or not math.isfinite(t) or t <= 0:
        raise ValueError(f"the repetition time of {img.get_filename()} is not in its header "
                         f"({t}); give --tr SECONDS")
    return float(t)


def _extract_run(run: BoldRun, atlas, preset: dict, tr) -> tuple[np.ndarray, float, list]:
    """``(series (T, C) float32, TR, labels)`` of one run through the masker."""
    import nibabel as nib
    from nilearn.maskers import NiftiLabelsMasker

    img = nib.load(str(run.bold))
    if len(img.shape) != 4:
        raise ValueError(f"{run.bold} has shape {img.shape}; expected a 4-D BOLD series")
    t_r = _tr_of(img, tr)
    masker = NiftiLabelsMasker(labels_img=str(atlas), standardize=False, detrend=False,
                               high_pass=preset["high_pass"], t_r=t_r,
                               resampling_target="data", strategy="mean")
    conf = _read_confounds(run, preset["columns"])
    if conf is not None and conf.shape[0] != img.shape[3]:
        raise ValueError(f"{run.confounds} has {conf.shape[0]} rows; {run.bold} has "
                         f"{img.shape[3]} volumes")
    with warnings.catch_warnings():  # nilearn >= 0.14 asks for None instead of False
        warnings.filterwarnings("ignore", message=".*'standardize'", category=FutureWarning)
        series = masker.fit_transform(img, confounds=conf)  # (T, C)
    labels = [int(v) for v in np.asarray(masker.labels_, dtype=float) if v != 0] \
        if hasattr(masker, "labels_") else list(range(1, series.shape[1] + 1))
    return np.asarray(series, dtype=np.float32), t_r, labels


def dataset_toml(name: str, tr: float, subjects: dict, runs: list, atlas, extraction: dict,
                 *, evaluate: dict | None = None, repeats: dict | None = None,
                 features: dict | None = None) -> str:
    """The text of a ``dataset.toml`` naming the files written by :func:`extract_parcels`
    (every run under ``train``), or split into ``evaluate`` sets (name -> run keys) with
    ``repeats`` (name -> [first, repeat]); no ``[atlas]`` when ``atlas`` is None, no
    ``[extraction]`` when ``extraction`` is empty, no ``[features]`` (modality -> file)
    when ``features`` is empty."""
    def q(text) -> str:
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def keys(values) -> str:
        return "[" + ", ".join(q(r) for r in values) + "]"

    lines = (["# Written by crossenc extract: every run is under train until you split them",
              "# into [runs.evaluate] sets (see docs/own-data.md)."] if evaluate is None
             else []) + ["[dataset]", f"name = {q(name)}", f"tr = {tr!r}  # seconds", "",
                         "[subjects]"]
    lines += [f"{q(label)} = {q(path)}" for label, path in subjects.items()]
    lines += ["", "[runs]", f"train = {keys(runs)}", "", "[runs.evaluate]"]
    lines += [f"{q(k)} = {keys(v)}" for k, v in (evaluate or {}).items()]
    if repeats:
        lines += ["", "[runs.repeats]"] + [f"{q(k)} = {keys(v)}" for k, v in repeats.items()]
    if atlas is not None:
        lines += ["", "[atlas]", f"labels_img = {q(atlas)}"]
    if features:
        lines += ["", "[features]"] + [f"{k} = {q(v)}" for k, v in features.items()]
    if extraction:
        lines += ["", "[extraction]"]
    for key, value in extraction.items():
        if isinstance(value, (list, tuple)):
            lines.append(f"{key} = {keys(value)}")
        elif value is None:  # TOML has no null: the key is left out
            continue
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value!r}")
        else:
            lines.append(f"{key} = {q(value)}")
    return "\n".join(lines) + "\n"


def extract_parcels(derivatives, atlas, task: str, *, confounds: str = "none",
                    space: str | None = None, tr: float | None = None, log=noop) -> dict:
    """Parcel time series of every run of ``task``: nothing is written.

    Parameters
    ----------
    derivatives : path-like
        fMRIPrep's output folder.
    atlas : path-like
        A labels image (NIfTI, integer labels, 0 = background), resampled to the data; or
        a CIFTI ``*.dlabel.nii`` on the runs' grayordinates, which extracts the
        ``*_bold.dtseries.nii`` runs instead (same presets).
    task : str
    confounds : {"none", "motion", "motion-wm-csf", "motion-wm-csf-hp"}, default="none"
        :data:`PRESETS`.
    space : str, optional
        The ``space`` entity, when runs exist in several.
    tr : float, optional
        Repetition time in seconds; default each image's header.

    Returns
    -------
    extracted : dict
        ``series`` (subject label -> run key -> ``(time, parcels)`` float32), ``runs``
        (keys), ``labels`` (the atlas labels, one per column), ``tr`` and ``extraction``
        (the masker's settings, confound columns and package versions).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_crossenc.data._fmriprep import make_fmriprep_like
    >>> root = pathlib.Path(tempfile.mkdtemp()) / "deriv"
    >>> truth = make_fmriprep_like(root, n_subjects=2, n_runs=1)
    >>> got = extract_parcels(root, truth["atlas"], "movie")
    >>> got["runs"], got["series"]["02"]["task-movie_run-1"].shape
    (['task-movie_run-1'], (80, 6))
    """
    import h5py
    import nibabel
    import nilearn

    if confounds not in PRESETS:
        raise ValueError(f"confounds must be one of {', '.join(PRESETS)}; got {confounds!r}")
    atlas = Path(atlas).expanduser().resolve()
    if not atlas.is_file():
        raise FileNotFoundError(f"atlas {atlas} does not exist or is not a file")
    cifti = atlas.name.endswith(".dlabel.nii")
    runs = find_runs(derivatives, task, space, cifti=cifti)
    preset = PRESETS[confounds]
    for run in runs:  # every confounds file checked before the first extraction
        _read_confounds(run, preset["columns"])
    grayordinates = read_dlabel(atlas) if cifti else None
    series: dict = {}
    trs, labels_seen = set(), None
    for i, run in enumerate(runs):
        if cifti:
            values, t_r = cifti_parcel_means(
                run.bold, grayordinates, confounds=_read_confounds(run, preset["columns"]),
                high_pass=preset["high_pass"], tr=tr)
            labels = grayordinates[1]
        else:
            values, t_r, labels = _extract_run(run, atlas, preset, tr)
        if labels_seen is not None and labels != labels_seen:
            raise ValueError(f"sub-{run.subject} run {run.key} covers other atlas labels than "
                             "the runs before it: the atlas must cover every run alike")
        labels_seen = labels
        trs.add(round(t_r, 6))
        series.setdefault(run.subject, {})[run.key] = values
        log(f"extracted sub-{run.subject} {run.key}: {values.shape[0]} TRs x "
            f"{values.shape[1]} parcels ({i + 1} of {len(runs)})")
    if len(trs) > 1:
        raise ValueError(f"the runs have different repetition times {sorted(trs)}; extract "
                         "each TR separately")
    masker = ("nibabel CIFTI-2 (dtseries.nii within dlabel.nii) + nilearn.signal.clean"
              if cifti else "nilearn.maskers.NiftiLabelsMasker")
    extraction = {"masker": masker, "strategy": "mean",
                  "confounds": confounds, "confound_columns": list(preset["columns"]),
                  "high_pass_hz": preset["high_pass"], "standardize": False, "detrend": False,
                  "resampling_target": None if cifti else "data", "atlas": str(atlas),
                  "derivatives": str(Path(derivatives).expanduser().resolve()),
                  "task": task, "space": space, "nilearn": nilearn.__version__,
                  "nibabel": nibabel.__version__, "h5py": h5py.__version__}
    return {"series": series, "runs": sorted({r.key for r in runs}), "labels": labels_seen,
            "tr": trs.pop(), "extraction": extraction}

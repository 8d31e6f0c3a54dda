"""Prediction files (the challenge's submission dict, .npz, HDF5): read, checked, safe."""

import os
import pickle

import h5py
import numpy as np
import pytest

from sklearn_crossenc.data._predictions import load_predictions, run_key_of
from sklearn_crossenc.data._safe_pickle import UnsafePickleError, read_pickled_npy


def _submission(rng, runs=("s06e01a", "figures01_run-1"), T=12, C=5):
    return {f"sub-0{s}": {r: rng.standard_normal((T, C)).astype("float32") for r in runs}
            for s in (1, 2)}


def test_three_formats_read_the_same_predictions(tmp_path):
    sub = _submission(np.random.default_rng(0))
    np.save(tmp_path / "a.npy", sub)
    np.savez(tmp_path / "b.npz", **{f"{s}/{r}": a for s, runs in sub.items()
                                    for r, a in runs.items()})
    with h5py.File(tmp_path / "c.h5", "w") as f:
        for s, runs in sub.items():
            for r, a in runs.items():
                f[f"{s}/{r}"] = a
    for name in ("a.npy", "b.npz", "c.h5"):
        preds = load_predictions(tmp_path / name)
        assert preds.name == name.split(".")[0]
        assert sorted(preds.runs) == ["sub-01", "sub-02"]
        assert sorted(preds.runs["sub-01"]) == ["figures01", "s06e01a"]  # loader keys
        np.testing.assert_array_equal(preds.runs["sub-02"]["figures01"],
                                      sub["sub-02"]["figures01_run-1"])


class _RunsCode:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "ran"
    evil = {"sub-01": {"s06e01a": _RunsCode(marker)}}
    path = tmp_path / "evil.npy"
    np.save(path, np.array(evil, dtype=object), allow_pickle=True)
    # The payload does run under a plain unpickler (the test's premise holds) ...
    with open(path, "rb") as fp:
        np.lib.format.read_magic(fp)
        np.lib.format.read_array_header_1_0(fp)
        pickle.load(fp)
    assert marker.exists()
    marker.unlink()
    # ... and is refused, naming what it refers to, without running, by the package.
    with pytest.raises(UnsafePickleError, match=r"refused to unpickle: the file refers to "
                                                r"(posix|os)\.system"):
        load_predictions(path)
    assert not marker.exists()


def test_a_pickled_object_of_another_class_is_refused(tmp_path):
    from fractions import Fraction

    path = tmp_path / "obj.npy"
    np.save(path, np.array({"sub-01": {"s06e01a": Fraction(1, 3)}}, dtype=object),
            allow_pickle=True)
    with pytest.raises(UnsafePickleError, match="refers to fractions.Fraction"):
        read_pickled_npy(path)
    # A set: numpy >= 2 pickles it with the pickle machine's own opcodes (read, then refused
    # as no array), numpy 1.x (protocol 3) through builtins.set (refused unread).
    np.save(path, np.array({"sub-01": {"s06e01a": {1, 2}}}, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="run 's06e01a' is not a numeric array|builtins.set"):
        load_predictions(path)


@pytest.mark.parametrize("content, message", [
    (np.zeros((3, 4)), "expected a dict of subject"),
    ({"sub-01": np.zeros((3, 4))}, "'sub-01' maps to ndarray"),
    ({"sub-01": {"s06e01a": np.zeros(3)}}, r"sub-01 run 's06e01a' has shape \(3,\)"),
    ({"sub-01": {"s06e01a": np.array(["a", "b"])}}, "is not a numeric array"),
    ({"sub-01": {"figures01": np.zeros((3, 2)), "figures01_run-1": np.zeros((3, 2))}},
     "names run 'figures01' twice"),
])
def test_malformed_content_is_named(tmp_path, content, message):
    path = tmp_path / "p.npy"
    np.save(path, content, allow_pickle=True)
    with pytest.raises(ValueError, match=message):
        load_predictions(path)


def test_unknown_suffix_missing_file_and_pickled_npz(tmp_path):
    with pytest.raises(ValueError, match=r"got suffix '\.csv'"):
        load_predictions(tmp_path / "p.csv")
    with pytest.raises(FileNotFoundError, match="predictions file .*nope.npy does not exist"):
        load_predictions(tmp_path / "nope.npy")
    np.savez(tmp_path / "p.npz", **{"sub-01/s06e01a": np.array([{}], dtype=object)})
    with pytest.raises(ValueError, match="holds pickled objects"):
        load_predictions(tmp_path / "p.npz")
    np.savez(tmp_path / "q.npz", x=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="key 'x' is not '<subject>/<run>'"):
        load_predictions(tmp_path / "q.npz")


def test_run_keys_of_the_challenge_the_release_and_the_loaders():
    assert run_key_of("s06e01a") == "s06e01a"
    assert run_key_of("figures01_run-1") == "figures01"
    assert run_key_of("figures01_run-2") == "figures01_run-2"
    assert run_key_of("ses-007_task-figures01_run-2") == "figures01_run-2"
    assert run_key_of("bourne01") == "bourne01"


def test_check_lists_every_problem_at_once_and_notes_extra_runs():
    rng = np.random.default_rng(0)
    preds = load_predictions({
        "sub-01": {"s06e01a": rng.standard_normal((10, 4)), "s06e02a": np.full((9, 4), np.nan),
                   "s07e01a": np.zeros((5, 4))},
        "sub-02": {"s06e01a": rng.standard_normal((10, 3))},
        "sub-09": {"s06e01a": np.zeros((10, 4))},
    }, name="mine")
    needed = {"sub-01": {"s06e01a": (10, 10), "s06e02a": (9, 9), "s06e03a": (8, 8)},
              "sub-02": {"s06e01a": (11, 10), "s06e02a": (9, 9)},
              "sub-03": {"s06e01a": (10, 10)}}
    with pytest.raises(ValueError) as err:
        preds.check(needed, n_parcels=4)
    text = str(err.value)
    for part in ["predictions 'mine' (arrays) cannot be scored",
                 "sub-01 lacks 1 run(s): s06e03a", "sub-01 s06e02a has 36 NaN or Inf",
                 "sub-02 lacks 1 run(s): s06e02a", "sub-02 s06e01a has 3 parcels; the data has 4",
                 "sub-02 s06e01a has 10 time points" if False else "subject sub-03 is missing"]:
        assert part in text, part
    ok = load_predictions({"sub-01": {"s06e01a": np.zeros((11, 4)), "s07e01a": np.zeros((3, 4))},
                           "sub-09": {"x": np.zeros((2, 4))}})
    notes = ok.check({"sub-01": {"s06e01a": (11, 10)}}, n_parcels=4)
    assert notes == ["sub-01: 1 run(s) not evaluated: s07e01a",
                     "subject sub-09 is not evaluated (1 runs ignored)"]
    with pytest.raises(ValueError, match=r"has 12 time points; the data's run has 11 \(the "
                                         r"subject's\) or 10 \(all subjects'\)"):
        load_predictions({"sub-01": {"s06e01a": np.zeros((12, 4))}}).check(
            {"sub-01": {"s06e01a": (11, 10)}}, n_parcels=4)


def test_episodes_stack_subjects_in_order_cut_to_the_common_length():
    a, b = np.arange(12.0).reshape(4, 3), -np.arange(9.0).reshape(3, 3)
    preds = load_predictions({"sub-02": {"r": a}, "sub-01": {"r": b}})
    (ep,) = preds.episodes(["r"], subjects=[1, 2], lengths=[3])
    assert ep.shape == (2, 3, 3) and ep.dtype == np.float32
    np.testing.assert_array_equal(ep[0], b)
    np.testing.assert_array_equal(ep[1], a[:3])

"""Progress where a user waits: an early-stopped fit says why its epoch bar stopped short,
a grid search says how many fits are done and about how long is left."""

from __future__ import annotations

import numpy as np

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.encoder import EpochProgressBar

FAST = dict(embed_dim=4, sample_length=16, samples_per_epoch=16, batch_size=8, random_state=0,
            device="cpu", n_threads=1)


def _X():
    return np.random.default_rng(0).standard_normal((4, 3, 24, 5)).astype(np.float32)


def test_an_early_stopped_fit_says_why_its_bar_stopped(capsys):
    """lr=0: the held-out score cannot improve, so the fit stops after epoch 2 of 10
    (patience 1) and keeps epoch 1's weights; the line says so with both scores."""
    enc = CrossSubjectEncoder(lr=0.0, max_epochs=10, validation=0.5,
                              callbacks=[EpochProgressBar(None, "encoder")], **FAST).fit(_X())
    assert len(enc.history_) == 2 and enc.best_epoch_ == 1
    err = capsys.readouterr().err
    v = enc.history_[:, "valid_pearson"]
    assert (f"encoder: early stopping after epoch 2 of 10: the held-out valid_pearson "
            f"({v[1]:.4f}) did not improve on epoch 1's ({v[0]:.4f}) for 1 epoch; epoch 1's "
            "weights are kept.") in err


def test_a_fit_that_runs_every_epoch_says_nothing_more(capsys):
    CrossSubjectEncoder(max_epochs=2, callbacks=[EpochProgressBar(None, "encoder")],
                        **FAST).fit(_X())
    assert "stopping" not in capsys.readouterr().err


def _fits_done(lines):
    import re

    return [re.match(r"grid search: (\d+) of (\d+) fits done \(candidate (\d+) of (\d+), fold "
                     r"(\d+) of (\d+)\); .* so far, about .* left$", s) for s in lines
            if s.startswith("grid search: ")]


def test_a_grid_search_logs_each_fit_done_and_the_time_left(synthetic_root):
    """2 candidates x 2 folds: four lines, candidate by candidate and fold by fold, with
    two metrics too (one line per fit, not per metric); the scores are the scorer's."""
    from sklearn_crossenc.jobs.grid import run_grid_search

    for scoring in (("pearson",), ("pearson", "r2")):
        lines: list[str] = []
        result = run_grid_search(synthetic_root, param_grid={"embed_dim": [4, 8]}, cv=2,
                                 split="kfold", quick=True, device="cpu", n_threads=1,
                                 scoring=scoring, log=lines.append)
        done = _fits_done(lines)
        assert [tuple(int(g) for g in m.groups()) for m in done] == [
            (1, 4, 1, 2, 1, 2), (2, 4, 1, 2, 2, 2), (3, 4, 2, 2, 1, 2), (4, 4, 2, 2, 2, 2)]
        assert done[-1].string.endswith("about 0 s left")
        key = "mean_test_score" if len(scoring) == 1 else "mean_test_pearson"
        assert np.isfinite(result["cv_results"][key]).all()

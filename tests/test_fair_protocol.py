"""Issue 19: the comparison is fair by default. Every model chooses its settings on the
training runs only, on the same folds; --tune, --repeats and the notebook's fixed schedule
are one option away, and the report says how each model was tuned."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_crossenc import CrossSubjectEncoder
from sklearn_crossenc.data import load_friends
from sklearn_crossenc.data._paths import friends_path, movie10_path
from sklearn_crossenc.encoder._holdout import validation_indices
from sklearn_crossenc.jobs._protocol import SEED_PROTOCOL
from sklearn_crossenc.jobs._registry import encoder_params
from sklearn_crossenc.jobs.compare import run_comparison
from sklearn_crossenc.metrics import pearson_scorer
from sklearn_crossenc.report import format_table, report_markdown

QUICK_TUNING_FOLDS = SEED_PROTOCOL.quick_tuning_folds

ENC = "CrossSubjectEncoder"


def test_a_splitter_holds_out_its_last_test_fold():
    train, valid = validation_indices(KFold(5), 10, None)
    assert valid.tolist() == [8, 9] and train.tolist() == list(range(8))
    train, valid = validation_indices(KFold(2), 10, None)
    assert valid.tolist() == [5, 6, 7, 8, 9] and train.tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="cannot split the 3 training episodes"):
        validation_indices(KFold(5), 3, None)
    # the estimator's fit holds out those episodes
    eps = [np.full((2, 20, 3), i, np.float32) + np.random.default_rng(i).standard_normal(
        (2, 20, 3)).astype(np.float32) for i in range(10)]
    enc = CrossSubjectEncoder(embed_dim=2, sample_length=8, samples_per_epoch=8, batch_size=4,
                              max_epochs=1, validation=KFold(5), random_state=0).fit(eps)
    hand = CrossSubjectEncoder(embed_dim=2, sample_length=8, samples_per_epoch=8, batch_size=4,
                               max_epochs=1, validation=eps[8:], random_state=0).fit(eps[:8])
    assert enc.history_[-1]["valid_pearson"] == pytest.approx(hand.history_[-1]["valid_pearson"])


def test_the_default_early_stops_on_the_protocols_last_fold_then_refits(synthetic_root):
    result = run_comparison(synthetic_root, models=["encoder", "ridge"], quick=True,
                            return_estimators=True)
    refitted = result["estimators"][ENC]
    ridge = result["estimators"]["CrossSubjectRidge"]
    assert isinstance(ridge.cv, KFold) and ridge.cv.n_splits == QUICK_TUNING_FOLDS
    tuning = result["models"][ENC]["tuning"]
    assert result["config"]["early_stopping"] == "folds" and tuning["refit"] is True
    # An independent fit on the training runs minus the last fold gives the same curve.
    train = list(load_friends(synthetic_root, seasons=range(1, 6)).values())
    n_val = len(train) - len(train) * (QUICK_TUNING_FOLDS - 1) // QUICK_TUNING_FOLDS
    params = {**refitted.get_params(), "callbacks": None}
    stopped = CrossSubjectEncoder(**{**params, "validation": train[-n_val:],
                                     "max_epochs": 2}).fit(train[:-n_val])
    np.testing.assert_allclose(stopped.history_[:, "valid_pearson"],
                               tuning["chosen"]["valid_pearson"], rtol=1e-6)
    assert tuning["chosen"]["best_epoch"] == stopped.best_epoch_
    # ... and the evaluated model is trained again on every run for that many epochs.
    assert refitted.validation is None and refitted.max_epochs == stopped.best_epoch_
    again = CrossSubjectEncoder(**params).fit(train)
    np.testing.assert_allclose(again.predict(train[:1])[0], refitted.predict(train[:1])[0],
                               rtol=1e-6, atol=1e-7)
    no_refit = run_comparison(synthetic_root, models=["encoder"], quick=True, refit=False,
                              return_estimators=True)
    kept = no_refit["estimators"][ENC]
    assert isinstance(kept.validation, KFold) and kept.validation.n_splits == QUICK_TUNING_FOLDS
    assert kept.best_epoch_ == stopped.best_epoch_
    np.testing.assert_allclose(kept.predict(train[:1])[0], stopped.predict(train[:1])[0],
                               rtol=1e-6, atol=1e-7)


def _scramble_evaluation_runs(root, dest):
    """A copy of the dataset whose Friends s6 and Movie10 runs hold other values."""
    shutil.copytree(root, dest)
    rng = np.random.default_rng(1)
    for s in (1, 2, 3, 5):
        for path, pick in ((friends_path(dest, s), lambda k: k.endswith(tuple("abcd"))
                            and "task-s06" in k), (movie10_path(dest, s), lambda k: True)):
            with h5py.File(path, "r+") as f:
                for key in [k for k in f if pick(k)]:
                    f[key][...] = rng.standard_normal(f[key].shape).astype(np.float32)
    return dest


def test_changing_the_evaluation_runs_changes_no_chosen_setting(synthetic_root, tmp_path):
    other = _scramble_evaluation_runs(synthetic_root, tmp_path / "scrambled")
    kw = dict(models=["encoder", "ridge"], quick=True, return_estimators=True)
    a = run_comparison(synthetic_root, **kw)
    b = run_comparison(other, **kw)
    assert a["models"][ENC]["scores"] != b["models"][ENC]["scores"]  # the runs did change
    for name in (ENC, "CrossSubjectRidge"):
        assert a["models"][name]["tuning"]["chosen"] == b["models"][name]["tuning"]["chosen"]
    np.testing.assert_array_equal(a["estimators"]["CrossSubjectRidge"].best_alphas_,
                                  b["estimators"]["CrossSubjectRidge"].best_alphas_)
    for p, q in zip(a["estimators"][ENC].net_.module_.parameters(),
                    b["estimators"][ENC].net_.module_.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_tune_equals_a_hand_built_grid_search(synthetic_root):
    grid = {"embed_dim": [4, 8]}
    result = run_comparison(synthetic_root, models=["encoder"], quick=True, tune=True,
                            param_grid=grid, refit=False, return_estimators=True)
    search = result["models"][ENC]["tuning"]["search"]
    train = list(load_friends(synthetic_root, seasons=range(1, 6)).values())
    params = encoder_params(quick=True, random_state=0, device="cpu",
                            early_stopping="folds", cv=KFold(QUICK_TUNING_FOLDS),
                            min_train_length=min(x.shape[1] for x in train))
    hand = GridSearchCV(CrossSubjectEncoder(**params), grid, scoring=pearson_scorer,
                        cv=KFold(QUICK_TUNING_FOLDS)).fit(train)
    assert search["best_params"] == hand.best_params_
    got = {r["params"]["embed_dim"]: r["mean"] for r in search["candidates"]}
    want = dict(zip(hand.cv_results_["param_embed_dim"], hand.cv_results_["mean_test_score"],
                    strict=True))
    assert got == pytest.approx(want, abs=1e-12)
    assert result["estimators"][ENC].embed_dim == hand.best_params_["embed_dim"]
    np.testing.assert_allclose(result["estimators"][ENC].predict(train[:2])[0],
                               hand.best_estimator_.predict(train[:2])[0], rtol=1e-6)


def _untimed(obj):
    """``obj`` as report.json holds it (NaN as None), without its timings (keys ending in
    ``_s``, ``seconds``)."""
    from sklearn_crossenc.report import to_jsonable

    obj = to_jsonable(obj)
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items()
                if not (k.endswith("_s") or k == "seconds")}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def test_repeats_1_equals_the_plain_run_and_repeats_train_each_random_state(synthetic_root):
    plain = run_comparison(synthetic_root, models=["encoder", "mean"], quick=True)
    one = run_comparison(synthetic_root, models=["encoder", "mean"], quick=True, repeats=1)
    assert _untimed(one["models"]) == _untimed(plain["models"])
    assert _untimed(one["evaluation"]) == _untimed(plain["evaluation"])
    from sklearn_crossenc.report._files import _flat_maps

    a, b = _flat_maps(one["maps"]), _flat_maps(plain["maps"])
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    three = run_comparison(synthetic_root, models=["encoder"], quick=True, repeats=2,
                           random_state=4, return_estimators=True)
    reps = three["models"][ENC]["repeats"]
    assert [r["random_state"] for r in reps] == [4, 5]
    ests = three["estimators"][ENC]
    assert [e.random_state for e in ests] == [4, 5]
    for key in three["eval_sets"]:
        assert three["models"][ENC]["scores"][key]["mean"] == pytest.approx(
            np.mean([r["scores"][key] for r in reps]), abs=1e-12)
        sd = np.std([r["scores"][key] for r in reps], ddof=1)
        assert three["models"][ENC]["spread"][key]["sd"] == pytest.approx(sd, abs=1e-12)
        ci = three["evaluation"]["intervals"][key][ENC]
        assert ci["n_repeats"] == 2 and ci["covers"] == "evaluation runs and 2 random states"
        assert ci["repeat_scores"] == pytest.approx([r["scores"][key] for r in reps], abs=1e-9)
    text = format_table(three)
    for key, label in three["eval_sets"].items():
        per = ", ".join(f"{r['scores'][key]:.3f}" for r in reps)
        assert f"{label} per repeat: {per}" in text
    assert "evaluation runs and the spread between the 2 random states" in text
    assert "With 2 repeats the paired test is liberal" in text


def test_the_report_says_how_each_model_was_tuned(synthetic_root):
    result = run_comparison(synthetic_root, models=["encoder", "ridge", "mean"], quick=True)
    chosen = result["models"][ENC]["tuning"]["chosen"]
    alphas = result["models"]["CrossSubjectRidge"]["tuning"]["chosen"]["alphas"]
    for text in (format_table(result), report_markdown(result)):
        assert f"epoch {chosen['best_epoch']} of {chosen['n_epochs']}" in text
        assert ", ".join(f"{v:.3f}" for v in chosen["valid_pearson"]) in text
        assert ", ".join(f"{a}: {c}" for a, c in alphas.items()) in text
        assert "MeanOfOthers: nothing to tune" in text
        assert "NOT tuned" not in text
    fixed = run_comparison(synthetic_root, models=["encoder", "ridge"], quick=True,
                           early_stopping=None)
    for text in (format_table(fixed), report_markdown(fixed)):
        assert "CrossSubjectEncoder's training length was NOT tuned" in text

"""The classifier: prediction shape, evidence, verified loading, reproducibility."""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline.classify.model import load_model, predict
from pipeline.errors import ModelError
from pipeline.taxonomy import CATEGORIES


def test_model_predict_columns_and_evidence(default_model):
    texts = [
        "一名执法人员当场收取货车司机500元现金后挥手放行，未开具任何票据。",
        "6月8日，某市召开党史学习教育专题会议。",
    ]
    frame = predict(default_model, texts)
    assert list(frame.columns) == ["labels", "scores", "evidence", "model_version"]
    assert "执法不廉" in frame.loc[0, "labels"]
    assert frame.loc[1, "labels"] == []
    assert set(frame.loc[0, "scores"]) == set(CATEGORIES)
    assert set(frame.loc[0, "evidence"]) == set(frame.loc[0, "labels"])
    for terms in frame.loc[0, "evidence"].values():
        assert terms and all(t in texts[0] for t in terms)
    assert frame.loc[0, "model_version"] == default_model.version


def test_model_evidence_of_a_batch_is_each_passage_own(default_model):
    from pipeline.classify.labeled import load_corpus

    texts = [r.text for r in load_corpus() if r.labels][::97] + ["执法人员公车私用，开着执法车接孩子。"]
    batch = predict(default_model, texts)
    alone = [predict(default_model, [t]).loc[0, "evidence"] for t in texts]
    assert list(batch["evidence"]) == alone
    assert sum(bool(ev) for ev in alone) >= len(texts) // 2  # the check is not vacuous


def test_model_predict_empty_input(default_model):
    assert len(predict(default_model, [])) == 0


def test_model_shipped_default_meets_sidecar_contract(default_model):
    meta = default_model.meta
    for key in ("libraries", "categories", "thresholds", "training", "metrics", "files", "version"):
        assert key in meta
    assert meta["training"]["data_sha256"] and meta["training"]["samples"] >= 1000
    assert meta["model_bytes"] <= 20_000_000
    assert (default_model.path / "MODEL_CARD.md").exists()


def test_model_missing_is_clear(tmp_path):
    with pytest.raises(ModelError, match="expected a model folder with metadata.json.*bulletins train"):
        load_model("nope", tmp_path)


@pytest.mark.parametrize("name", ["model.json", "model.npz"])
def test_model_tampered_file_not_read(trained_models, tmp_path, name):
    copy = tmp_path / "copy"
    shutil.copytree(trained_models / "base", copy)
    with open(copy / name, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match=f"{name} does not match the SHA-256.*will not be read"):
        load_model(copy)


def test_model_old_pickled_format_refused(trained_models, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(trained_models / "base", copy)
    meta = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    del meta["format"]
    meta["model_file"] = "../../elsewhere/x.joblib"  # a sidecar never names the files read
    (copy / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="found an older pickled model.*old pickled models are never loaded"):
        load_model(copy)


def test_model_files_are_plain_data(trained_models):
    import numpy as np

    folder = trained_models / "base"
    assert sorted(p.name for p in folder.iterdir()) == ["MODEL_CARD.md", "metadata.json", "model.json", "model.npz"]
    json.loads((folder / "model.json").read_text(encoding="utf-8"))
    with np.load(folder / "model.npz", allow_pickle=False) as npz:  # raises if any array needs pickle
        assert {"coef", "intercept", "thresholds"} <= set(npz.files)


def test_model_rebuilt_from_files_predicts_what_the_fitted_one_does(small_corpus, tmp_path):
    from pipeline.classify.classifier import BulletinClassifier
    from pipeline.classify.labeled import read_labeled
    from pipeline.classify.model import save_model

    rows = read_labeled(small_corpus / "slice.jsonl")
    fitted = BulletinClassifier(folds=3).fit([r.text for r in rows[:240]], [r.labels for r in rows[:240]])
    saved = save_model(fitted, tmp_path / "m", {})
    loaded = load_model(tmp_path / "m")
    texts = [r.text for r in rows[240:]]
    assert loaded.classifier.predict(texts) == fitted.predict(texts)
    assert (loaded.classifier.scores(texts) == fitted.scores(texts)).all()
    assert saved.version == loaded.version


def test_model_classifier_is_one_object(default_model):
    # What `bulletins predict` does (windows, thresholds, tie-break rules) is predict().
    texts = ["执法人员开着执法车接孩子放学，还在车上收了商户送的两条烟。"]
    assert predict(default_model, texts).loc[0, "labels"] == default_model.classifier.predict(texts)[0]

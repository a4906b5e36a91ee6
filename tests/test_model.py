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


def test_model_predict_empty_input(default_model):
    assert len(predict(default_model, [])) == 0


def test_model_shipped_default_meets_sidecar_contract(default_model):
    meta = default_model.meta
    for key in ("libraries", "categories", "thresholds", "training", "metrics", "model_sha256", "version"):
        assert key in meta
    assert meta["training"]["data_sha256"] and meta["training"]["samples"] >= 1000
    assert meta["model_bytes"] <= 20_000_000
    assert (default_model.path / "MODEL_CARD.md").exists()


def test_model_missing_is_clear(tmp_path):
    with pytest.raises(ModelError, match="expected a model folder with metadata.json.*bulletins train"):
        load_model("nope", tmp_path)


def test_model_tampered_file_not_unpickled(trained_models, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained_models / "base", copy)
    with open(copy / "model.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="does not match the SHA-256.*will not be unpickled"):
        load_model(copy)


def test_model_other_sklearn_version_refused(trained_models, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(trained_models / "base", copy)
    meta = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    meta["libraries"]["scikit-learn"] = "0.24.2"
    (copy / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError, match="trained with scikit-learn 0.24.2.*retrain with `bulletins train`"):
        load_model(copy)


def test_model_pipeline_is_stock_sklearn(trained_models):
    from sklearn.pipeline import Pipeline

    model = load_model("base", trained_models)
    assert isinstance(model.pipeline, Pipeline)
    assert "lambda" not in repr(model.pipeline.get_params())


#: Project functions the shipped model's pickle refers to by import path. Moving or renaming
#: one breaks loading of every saved model: keep them where they are, or retrain and update.
PICKLED_PROJECT_FUNCTIONS = {"pipeline.classify.segment.tokenize", "pipeline.taxonomy.cue_terms"}


def test_model_pickled_project_functions_are_pinned(default_model):
    found = set()

    def walk(obj, depth=0):
        if depth > 20:
            return
        if callable(obj) and getattr(obj, "__module__", "").startswith("pipeline"):
            found.add(f"{obj.__module__}.{obj.__qualname__}")
        if hasattr(obj, "get_params"):
            for value in obj.get_params(deep=False).values():
                walk(value, depth + 1)
        if isinstance(obj, (list, tuple)):
            for value in obj:
                walk(value, depth + 1)

    walk(default_model.pipeline)
    assert found == PICKLED_PROJECT_FUNCTIONS

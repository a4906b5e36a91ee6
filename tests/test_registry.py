"""Model versions: list, promote, refuse a worse one, roll back."""

from __future__ import annotations

import json
import shutil

import pytest

from pipeline.classify.model import load_model
from pipeline.classify.versions import list_models, promote
from pipeline.errors import ModelError


@pytest.fixture
def models(trained_models, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(trained_models / "base", folder / "base")
    return folder


def _clone_with_holdout_f1(models, name, f1):
    """A second version identical to base but recorded as better or worse on the held-out split."""
    shutil.copytree(models / "base", models / name)
    meta_path = models / name / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    base = load_model("base", models)
    meta["comparison"] = {"against": base.version, "default_macro_f1": 0.5, "new_macro_f1": f1}
    meta["created"] = "2099-01-01T00:00:00+00:00"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def test_registry_promote_and_rollback(models):
    promote("base", models)
    _clone_with_holdout_f1(models, "better", 0.6)
    assert promote("better", models)["previous"] == "base"
    assert [r["name"] for r in list_models(models) if r["default"]] == ["better"]
    assert load_model(None, models).path.name == "better"
    promote("base", models, force=True)  # rollback
    assert load_model(None, models).path.name == "base"


def test_registry_refuses_worse_without_force(models):
    promote("base", models)
    _clone_with_holdout_f1(models, "worse", 0.4)
    with pytest.raises(ModelError, match="held-out macro F1 0.400 is below the default base's 0.500.*--force"):
        promote("worse", models)
    assert load_model(None, models).path.name == "base"
    assert promote("worse", models, force=True)["promoted"] == "worse"


def test_registry_list_models_figures(models):
    rows = list_models(models)
    assert [r["name"] for r in rows] == ["base"]
    assert rows[0]["cv_macro_f1"] is not None and rows[0]["version"].startswith("base@")

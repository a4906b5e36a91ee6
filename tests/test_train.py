"""Training: validation first, new folders only, reproducible, compared with the default."""

from __future__ import annotations

import json

import pytest

from pipeline.classify.train import train
from pipeline.errors import LabeledDataError, ModelError


def test_train_writes_versioned_folder_with_metadata(trained_models):
    folder = trained_models / "base"
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert meta["training"]["samples"] + meta["training"]["holdout_samples"] == 360
    assert set(meta["metrics"]) >= {"cv", "baseline_cv", "holdout", "seed"}
    assert meta["metrics"]["cv"]["n"] == meta["training"]["samples"]
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert meta["version"] in card and "macro F1" in card


def test_train_never_overwrites(trained_models, small_corpus):
    with pytest.raises(ModelError, match="exists already"):
        train(name="base", models_dir=trained_models, corpus_dir=small_corpus)


def test_train_reproducible_model_hash(trained_models, small_corpus):
    result = train(name="again", models_dir=trained_models, corpus_dir=small_corpus, compare=False)
    base = json.loads((trained_models / "base" / "metadata.json").read_text(encoding="utf-8"))
    assert result.model.meta["files"] == base["files"]
    assert result.model.meta["training"]["data_sha256"] == base["training"]["data_sha256"]


def test_train_malformed_file_refused_nothing_written(tmp_path, small_corpus):
    bad = tmp_path / "mine.csv"
    bad.write_text("text,labels\n态度粗暴。,作风差\n,作风不优\n", encoding="utf-8")
    models = tmp_path / "models"
    with pytest.raises(LabeledDataError) as info:
        train([bad], name="x", models_dir=models, corpus_dir=small_corpus)
    assert len(info.value.problems) == 2
    assert all(p.startswith(f"{bad}: row ") for p in info.value.problems)
    assert not (models / "x").exists()


def test_train_user_labels_merged_and_compared(trained_models, small_corpus, tmp_path):
    import shutil

    from pipeline.classify.labeled import is_holdout, read_labeled
    from pipeline.classify.versions import promote

    models = tmp_path / "models"
    shutil.copytree(trained_models / "base", models / "base")
    promote("base", models)
    mine = tmp_path / "mine.jsonl"
    first = next(
        r for r in read_labeled(small_corpus / "slice.jsonl") if not is_holdout(r) and r.labels != ("职责不明",)
    )
    mine.write_text(
        json.dumps({"id": first.id, "text": first.text, "labels": ["职责不明"]}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    result = train([mine], name="mine", models_dir=models, corpus_dir=small_corpus)
    assert result.model.meta["training"]["user_samples"] == 1
    base = json.loads((models / "base" / "metadata.json").read_text(encoding="utf-8"))
    assert result.model.meta["training"]["data_sha256"] != base["training"]["data_sha256"]
    assert result.model.meta["training"]["samples"] == base["training"]["samples"]
    assert [r["category"] for r in result.comparison][-1] == "macro"
    assert result.model.meta["comparison"]["against"] == result.default.version


def test_train_model_bytes_identical_across_processes(small_corpus, tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from pipeline.classify.labeled import read_labeled;"
        "from pipeline.classify.classifier import BulletinClassifier; from pipeline.classify.model import save_model;"
        "rows = read_labeled(Path(sys.argv[1]))[:200];"
        "c = BulletinClassifier(folds=2).fit([r.text for r in rows], [r.labels for r in rows]);"
        "print(save_model(c, Path(sys.argv[2]), {}).meta['files'])"
    )
    hashes = set()
    for k, hashseed in enumerate(("1", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(small_corpus / "slice.jsonl"), str(tmp_path / f"m{k}")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        hashes.add(out.stdout.strip().splitlines()[-1])
    assert len(hashes) == 1


def test_train_network_option_saved_and_described(tmp_path, small_corpus):
    from pipeline.classify.classifier import NETWORK_UNITS
    from pipeline.classify.model import load_model

    result = train(name="net", models_dir=tmp_path, corpus_dir=small_corpus, compare=False, network=True)
    loaded = load_model(result.model.path)
    assert loaded.classifier.hidden == NETWORK_UNITS and loaded.classifier.network_ is not None
    assert loaded.classifier.network_[0].shape == (len(loaded.classifier.features_.names), NETWORK_UNITS)
    texts = ["执法人员态度粗暴，辱骂货车司机。", "大队召开例会，部署下周工作。"]
    assert loaded.classifier.predict(texts) == result.model.classifier.predict(texts)
    card = (result.model.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"neural network of one hidden layer ({NETWORK_UNITS} units)" in card
    default = load_model(train(name="plain", models_dir=tmp_path, corpus_dir=small_corpus, compare=False).model.path)
    assert default.classifier.network_ is None and "neural network" not in (default.path / "MODEL_CARD.md").read_text(
        encoding="utf-8"
    )

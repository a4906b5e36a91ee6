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


# --- labeling tools: every export shape, built from the tools' documented formats ----------------

PASSAGES = [
    ("a-1", "执法人员态度生硬，辱骂司机。", ["作风不优"]),
    ("a-2", "收受财物后放行超限车辆。", ["本领不强", "执法不廉"]),
    ("a-3", "召开专题会议部署下一阶段工作。", []),
]


def _predicted_frame():
    """What ``predict`` hands the writers: the passages with a prediction (here, the truth)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "id": [p[0] for p in PASSAGES],
            "text": [p[1] for p in PASSAGES],
            "labels": [p[2] for p in PASSAGES],
            "scores": [{c: (0.9 if c in p[2] else 0.1) for c in CATEGORIES} for p in PASSAGES],
            "evidence": [{} for _ in PASSAGES],
            "model_version": "m@1",
        }
    )


def _label_studio_export(tmp_path, accept=(0, 1, 2)):
    """Our tasks imported into Label Studio, the labeler accepting the pre-annotation of the
    tasks in ``accept`` (the others left unannotated), exported as JSON, JSON-MIN and CSV."""
    import csv

    from pipeline.classify.predict_io import label_studio_tasks

    tasks = label_studio_tasks(_predicted_frame())
    exported, flat = [], []
    for k, task in enumerate(tasks):
        task = {"id": 100 + k, **task, "annotations": []}
        if k in accept:
            result = [{**r, "id": f"r{k}", "origin": "prediction"} for r in task["predictions"][0]["result"]]
            task["annotations"] = [
                {"id": 500 + k, "result": result, "was_cancelled": False, "updated_at": "2021-07-01T10:00:00Z"}
            ]
            choices = result[0]["value"]["choices"]
            flat.append(
                {
                    "id": 100 + k,
                    **task["data"],
                    "category": choices[0] if len(choices) == 1 else {"choices": choices},
                    "annotator": 1,
                    "annotation_id": 500 + k,
                    "created_at": "2021-07-01T10:00:00Z",
                    "updated_at": "2021-07-01T10:00:00Z",
                    "lead_time": 3.5,
                }
            )
        else:
            flat.append({"id": 100 + k, **task["data"]})
        exported.append(task)
    paths = {"json": tmp_path / "ls.json", "json-min": tmp_path / "ls-min.json", "csv": tmp_path / "ls.csv"}
    paths["json"].write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    paths["json-min"].write_text(json.dumps(flat, ensure_ascii=False), encoding="utf-8")
    columns = [
        "text",
        "id",
        "ref_id",
        "annotation_id",
        "annotator",
        "category",
        "created_at",
        "lead_time",
        "updated_at",
    ]
    with open(paths["csv"], "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        for row in flat:
            row = dict(row)
            if isinstance(row.get("category"), dict):
                row["category"] = json.dumps(row["category"], ensure_ascii=False)
            writer.writerow(row)
    return paths


@pytest.mark.parametrize("shape", ["json", "json-min", "csv"])
def test_labeled_label_studio_round_trip(tmp_path, shape, caplog):
    path = _label_studio_export(tmp_path, accept=(0, 1, 2))[shape]
    got = read_labeled(path)
    assert [(r.id, r.text, list(r.labels)) for r in got] == PASSAGES
    assert all(r.source == "label-studio" for r in got)
    skipped = _label_studio_export(tmp_path, accept=(1,))[shape]
    caplog.clear()
    assert [r.id for r in read_labeled(skipped)] == ["a-2"]
    assert "skipped 2 of 3 task(s) nobody annotated" in caplog.text


def test_labeled_label_studio_several_controls_need_from_name(tmp_path):
    from pipeline.errors import UsageError

    task = {
        "id": 1,
        "data": {"text": "推诿扯皮，投诉无人处理。"},
        "annotations": [
            {
                "result": [
                    {"from_name": "category", "to_name": "text", "type": "choices", "value": {"choices": ["担当不力"]}},
                    {"from_name": "quality", "to_name": "text", "type": "choices", "value": {"choices": ["清楚"]}},
                ]
            }
        ],
    }
    path = tmp_path / "two.json"
    path.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(UsageError, match=r"2 choices controls \(category, quality\).*--from-name"):
        read_labeled(path)
    assert [r.labels for r in read_labeled(path, from_name="category")] == [("担当不力",)]
    with pytest.raises(UsageError, match="no choices control named 'ghost'"):
        read_labeled(path, from_name="ghost")


def _doccano_export(tmp_path):
    """Our JSONL imported into doccano (text classification), labeled, exported as JSONL, JSON
    and CSV (labels joined by '#'); one example left unlabeled."""
    import csv

    from pipeline.classify.predict_io import doccano_records

    ours = doccano_records(_predicted_frame())
    examples = [
        {"id": 10 + k, "text": r["text"], "label": r["label"], "ref_id": r["ref_id"], "Comments": []}
        for k, r in enumerate(ours)
    ]
    examples.append({"id": 99, "text": "尚未标注的段落。", "label": [], "ref_id": "a-9", "Comments": []})
    paths = {"jsonl": tmp_path / "d.jsonl", "json": tmp_path / "d.json", "csv": tmp_path / "d.csv"}
    paths["jsonl"].write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples), encoding="utf-8")
    paths["json"].write_text(json.dumps(examples, ensure_ascii=False), encoding="utf-8")
    with open(paths["csv"], "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "label", "ref_id"])
        for e in examples:
            writer.writerow([e["id"], e["text"], "#".join(e["label"]), e["ref_id"]])
    return paths


@pytest.mark.parametrize("shape", ["jsonl", "json", "csv"])
def test_labeled_doccano_round_trip(tmp_path, shape, caplog):
    got = read_labeled(_doccano_export(tmp_path)[shape])
    assert [(r.id, r.text, list(r.labels)) for r in got] == PASSAGES
    assert all(r.source == "doccano" for r in got)
    assert "skipped 1 of 4 task(s) nobody annotated" in caplog.text


def test_labeled_file_without_label_field_refused(tmp_path):
    from pipeline.errors import InputError

    path = tmp_path / "texts.csv"
    path.write_text("id,text\n1,执法人员态度生硬。\n2,开展学习。\n", encoding="utf-8")
    with pytest.raises(InputError, match="no row has a label field") as info:
        read_labeled(path)
    assert str(info.value).startswith(f"{path}: ")
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": 1, "data": {"text": "甲。"}, "annotations": []}]), encoding="utf-8")
    with pytest.raises(InputError, match=str(tasks)):
        read_labeled(tasks)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no rows"):
        read_labeled(empty)


def test_labeled_duplicate_id_with_other_text_refused(tmp_path):
    path = tmp_path / "dup.jsonl"
    rows = [
        {"id": "x1", "text": "执法人员态度生硬。", "labels": ["作风不优"]},
        {"id": "x1", "text": "收受财物。", "labels": ["执法不廉"]},
        {"id": "x1", "text": "执法人员态度生硬。", "labels": ["作风不优"]},  # the same row again: fine
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(LabeledDataError) as info:
        read_labeled(path)
    assert info.value.problems == ["row 2: id x1 is already row 1's, with a different text"]


def test_labeled_user_id_colliding_with_corpus_refused(tmp_path, small_corpus):
    from pipeline.classify.labeled import id_conflicts
    from pipeline.classify.train import train

    corpus = read_labeled(small_corpus / "slice.jsonl")
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        json.dumps({"id": corpus[0].id, "text": "另一段完全不同的文字。", "labels": []}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    assert len(id_conflicts(corpus, read_labeled(mine))) == 1
    with pytest.raises(LabeledDataError, match=f"id {corpus[0].id} is the corpus's id of another passage"):
        train([mine], name="x", models_dir=tmp_path / "models", corpus_dir=small_corpus)
    assert not (tmp_path / "models" / "x").exists()


def test_labeled_review_workbook_headings_and_gb18030_csv(tmp_path):
    import openpyxl

    xlsx = tmp_path / "r.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "段落原文", "类别", "已复核"])
    wb.active.append(["r1", "同案不同罚。", "本领不强", "是"])
    wb.active.append(["r2", "没复核的行。", "作风不优", ""])
    wb.save(xlsx)
    assert [(r.id, r.labels) for r in read_labeled(xlsx)] == [("r1", ("本领不强",))]
    for encoding in ("gb18030", "utf-16"):
        path = tmp_path / f"{encoding}.csv"
        path.write_text("text,labels\n𠮷字不在GBK里，收费放行。,执法不廉\n", encoding=encoding)
        assert [r.labels for r in read_labeled(path)] == [("执法不廉",)]

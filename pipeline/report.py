"""Queries over the results store: category counts and the issue list (问题清单), and their
exports (table, CSV, JSON, Markdown, XLSX).

Both :func:`counts` and :func:`issues` are computed from :func:`pipeline.store.labels_frame`
(one row per passage per predicted category) with the same filters, so they always agree:
the count of a category in a group is the number of issue-list rows of that category in
that group. openpyxl is imported here only, and only for XLSX.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import re
import unicodedata
from pathlib import Path
from typing import Sequence, TextIO

import pandas as pd

from pipeline import config
from pipeline.errors import UsageError
from pipeline.output import write_records
from pipeline.store import labels_frame
from pipeline.taxonomy import CATEGORIES

log = logging.getLogger(__name__)

#: What ``--by`` may name.
BY_FIELDS = ("category", "unit", "region", "month", "bulletin")
COUNT_FORMATS = ("table", "csv", "json")
ISSUE_FORMATS = ("xlsx", "csv", "md", "json")

#: Columns of :func:`issues`, in order (CSV and JSON use these names).
ISSUE_COLUMNS = ("category", "region", "unit", "date", "bulletin", "page", "section", "text", "evidence", "score",
                 "file", "index", "passage_id", "model_version")
#: Their headings in the XLSX and Markdown lists, which are for the office.
HEADINGS = {"category": "类别", "region": "地区", "unit": "单位", "date": "日期", "bulletin": "简报", "page": "页码",
            "section": "栏目", "text": "问题（原文）", "evidence": "依据", "score": "分值", "file": "文件",
            "index": "段落", "passage_id": "段落编号", "model_version": "模型版本"}
#: How an empty unit or region is shown in the office's lists.
UNKNOWN = "（未识别）"
SUMMARY_SHEET = "汇总"
TOTAL = "合计"


# --- filters -------------------------------------------------------------------------------

_BOUND = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_bound(text: str | None, end: bool = False) -> str | None:
    """An inclusive date bound from ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

    Args:
        text: the bound as typed (``None``: no bound).
        end: the bound closes a range, so ``2021-06`` means ``2021-06-30``.

    Returns:
        ``YYYY-MM-DD`` or ``None``.

    Raises:
        UsageError: not a date.
    """
    if text is None or text == "":
        return None
    m = _BOUND.match(str(text).strip())
    try:
        if not m:
            raise ValueError
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is None:
            d = dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        elif day is None:
            month = int(month)
            d = dt.date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        else:
            d = dt.date(year, int(month), int(day))
    except ValueError:
        raise UsageError(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, found {text!r}") from None
    return d.isoformat()


def _categories(category: str | Sequence[str] | None) -> list[str] | None:
    if category is None:
        return None
    wanted = [category] if isinstance(category, str) else list(category)
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise UsageError(f"expected a category among {'、'.join(CATEGORIES)}, found {'、'.join(unknown)}")
    return wanted


def select(db: Path = config.DB_PATH, since: str | None = None, until: str | None = None,
           category: str | Sequence[str] | None = None, region: str | None = None,
           model_version: str | None = None) -> pd.DataFrame:
    """The filtered long frame counts and issues are both made of (one row per passage per
    predicted category); see :func:`pipeline.store.labels_frame` for the model-version rule.

    Args:
        db: the results store.
        since: earliest date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; inclusive).
        until: latest date (same forms; ``2021-06`` includes all of June).
        category: one category or several.
        region: one region, e.g. ``南充市``.
        model_version: use this model version's predictions.

    Returns:
        The frame; ``attrs["model_versions"]`` lists the versions it holds.
    """
    lo, hi = parse_bound(since), parse_bound(until, end=True)
    if lo and hi and lo > hi:
        raise UsageError(f"--since {since} is after --until {until}")
    frame = labels_frame(db, since=lo, until=hi, categories=_categories(category), region=region or None,
                         model_version=model_version)
    store_versions = frame.attrs.get("store_versions", {})
    if model_version is None and len(store_versions) > 1:
        log.warning("the store mixes model versions (%s); each bulletin counts with the model that classified it "
                    "last; classify the whole archive again, or pass --model-version",
                    ", ".join(f"{v}: {n} bulletin(s)" for v, n in store_versions.items()))
    elif model_version is not None and model_version not in store_versions and frame.empty:
        log.warning("no predictions by model version %s in the store (versions: %s)", model_version,
                    ", ".join(store_versions) or "none")
    return frame


# --- counts --------------------------------------------------------------------------------


def counts_from(frame: pd.DataFrame, by: Sequence[str] = ("category",)) -> pd.DataFrame:
    """Counts per group of a :func:`select` frame.

    Args:
        frame: the long frame.
        by: fields among :data:`BY_FIELDS`, in grouping order.

    Returns:
        The ``by`` columns, ``count`` (passage-category pairs: a passage with two
        categories counts once in each) and ``passages`` (distinct passages); sorted by the
        ``by`` columns, categories in canonical order.
    """
    by = _by(by)
    if frame.empty:
        return pd.DataFrame({**{b: pd.Series(dtype=object) for b in by}, "count": pd.Series(dtype="int64"),
                             "passages": pd.Series(dtype="int64")})
    grouped = frame.groupby(by, observed=True, sort=True)
    out = grouped.agg(count=("passage_id", "size"), passages=("passage_id", "nunique")).reset_index()
    if "category" in out:
        out["category"] = out["category"].astype(object)
    return out.astype({"count": "int64", "passages": "int64"})


def counts(db: Path = config.DB_PATH, by: Sequence[str] = ("category",), since: str | None = None,
           until: str | None = None, category: str | Sequence[str] | None = None, region: str | None = None,
           model_version: str | None = None) -> pd.DataFrame:
    """Passages per category (and unit, region, month or bulletin) in the results store.

    Args:
        db: the results store.
        by: fields among :data:`BY_FIELDS`.
        since: earliest date (inclusive).
        until: latest date (inclusive).
        category: keep only this category (or these).
        region: keep only this region.
        model_version: count this model version's predictions (default: each bulletin's
            current version).

    Returns:
        See :func:`counts_from`.

    Raises:
        StoreError: no store at ``db``.
        UsageError: an unknown field, category or date.
    """
    by = _by(by)
    frame = select(db, since, until, category, region, model_version)
    out = counts_from(frame, by)
    out.attrs["model_versions"] = frame.attrs.get("model_versions", [])
    return out


def _by(by: Sequence[str] | str) -> list[str]:
    fields = [by] if isinstance(by, str) else list(by)
    unknown = [b for b in fields if b not in BY_FIELDS]
    if unknown or not fields:
        raise UsageError(f"expected --by among {', '.join(BY_FIELDS)}, found {', '.join(unknown) or 'nothing'}")
    if len(set(fields)) != len(fields):
        raise UsageError(f"--by names a field twice: {' '.join(fields)}")
    return fields


# --- issues --------------------------------------------------------------------------------


def issues_from(frame: pd.DataFrame) -> pd.DataFrame:
    """The issue list of a :func:`select` frame: one row per passage per category."""
    out = frame[list(ISSUE_COLUMNS)].copy()
    out["category"] = out["category"].astype(object)
    return out.reset_index(drop=True)


def issues(db: Path = config.DB_PATH, since: str | None = None, until: str | None = None,
           category: str | Sequence[str] | None = None, region: str | None = None,
           model_version: str | None = None) -> pd.DataFrame:
    """The aggregate issue list (问题清单): each category's passages with unit, region,
    date, bulletin (title and issue), page, evidence and score.

    Args:
        db: the results store.
        since, until, category, region, model_version: as for :func:`counts`.

    Returns:
        One row per passage per predicted category, columns :data:`ISSUE_COLUMNS`, sorted
        by category (canonical order), date, bulletin and passage.
    """
    frame = select(db, since, until, category, region, model_version)
    out = issues_from(frame)
    out.attrs["model_versions"] = frame.attrs.get("model_versions", [])
    return out


# --- writers -------------------------------------------------------------------------------


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
    rows = records(frame)
    if fmt == "json":
        stream.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return len(rows)
    if fmt not in COUNT_FORMATS:
        raise UsageError(f"expected a format among {', '.join(COUNT_FORMATS)}, found {fmt!r}")
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


def write_issues(frame: pd.DataFrame, fmt: str, output: Path | None = None, stream: TextIO | None = None) -> int:
    """Write an issue list.

    Args:
        frame: from :func:`issues`.
        fmt: ``xlsx`` (a summary sheet category × region and one sheet per category),
            ``csv``, ``md`` (printable, one table per category) or ``json`` (a list of
            records, each with ``category``).
        output: the file to write (required for XLSX); otherwise ``stream``.
        stream: a text stream for csv, md and json when there is no ``output``.

    Returns:
        The number of issue rows written.
    """
    fmt = issue_format(fmt, output)
    if fmt == "xlsx":
        write_xlsx(frame, output)
        return len(frame)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8", newline="") as fh:
            return write_issues(frame, fmt, None, fh)
    if stream is None:
        raise UsageError("write_issues needs an output file or a stream")
    rows = records(frame)
    if fmt == "json":
        stream.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
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
    for (cat, region), n in frame.groupby([frame["category"].astype(object),
                                           frame["region"].map(lambda r: r or UNKNOWN)]).size().items():
        table.loc[cat, region] = int(n)
    table[TOTAL] = table.sum(axis=1)
    table.loc[TOTAL] = table.sum(axis=0)
    table.index.name = HEADINGS["category"]
    return table


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_text(column: str, value) -> str | float | int:
    value = _plain(value)
    if value is None:
        return ""
    if column == "evidence":
        return "、".join(value)
    if column in ("unit", "region") and value == "":
        return UNKNOWN
    return value


def write_xlsx(frame: pd.DataFrame, output: Path) -> Path:
    """The issue list as a workbook: ``汇总`` (category × region) and one sheet per category.

    Columns are sized to their content (Chinese characters count double, the passage text
    is capped and wrapped), headers are bold and frozen, and each sheet has a filter.

    Args:
        frame: from :func:`issues`.
        output: the .xlsx file.

    Returns:
        ``output``.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    columns = [c for c in ISSUE_COLUMNS if c != "category"]
    caps = {"text": 80, "section": 30, "bulletin": 40, "evidence": 30, "model_version": 22}
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")

    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY_SHEET
    table = summary_table(frame)
    ws.append([table.index.name] + list(table.columns))
    for cat, row in table.iterrows():
        ws.append([cat] + [int(v) for v in row])
    for cell in ws[1]:
        cell.font = bold
    for cell in ws["A"]:
        cell.font = bold
    widths = [max(_display_width(str(c.value)) for c in col) for col in ws.columns]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, w + 2)
    ws.freeze_panes = "B2"

    for cat in CATEGORIES:
        sheet = wb.create_sheet(cat)
        rows = frame[frame["category"].astype(object) == cat]
        sheet.append([HEADINGS[c] for c in columns])
        for row in rows[columns].itertuples(index=False, name=None):
            sheet.append([_cell_text(c, v) for c, v in zip(columns, row)])
        for j, col in enumerate(columns, start=1):
            letter = get_column_letter(j)
            width = max([_display_width(HEADINGS[col])] + [_display_width(str(c.value)) for c in sheet[letter][1:]])
            sheet.column_dimensions[letter].width = min(width, caps.get(col, 30)) + 2
            for c in sheet[letter][1:]:
                c.alignment = wrap if col in ("text", "evidence", "section", "bulletin") else top
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(1, len(rows) + 1)}"
        sheet.print_title_rows = "1:1"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    wb.save(output)
    return output


def _md_cell(value) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(frame: pd.DataFrame) -> str:
    """The issue list as printable Markdown: a summary line per category, then one table
    per category (categories with no passage are listed with 0 and no table)."""
    versions = frame.attrs.get("model_versions") or sorted(set(frame["model_version"]))
    lines = ["# 问题清单", ""]
    passages = frame["passage_id"].nunique()
    lines.append(f"共 {len(frame)} 条（{passages} 段）；模型：{', '.join(versions) or '无'}")
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

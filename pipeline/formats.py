"""Every tabular read and write: JSON Lines, JSON, CSV/TSV, XLSX and one text a line.

One place decides a file's format (:func:`file_format`: the suffix, then the content), how
its bytes are decoded (:func:`decode_text`: UTF-8 with or without BOM, UTF-16, GBK/GB18030)
and how cells are written safely:

- CSV is written in UTF-8 with a BOM when it goes to a file (Excel and WPS then open it
  without mojibake); standard output gets no BOM (it would break pipes);
- a text cell that starts with ``= + - @``, a tab or a carriage return is a formula to Excel,
  WPS and LibreOffice (CSV injection, OWASP): in CSV it is written with a leading single quote
  (``'=HYPERLINK(…)``), which :func:`read_table` removes again, so a review file read back
  keeps the text exactly; a cell that already starts with quotes before such a character gets
  one more, so the rule is reversible for every text. In XLSX every text cell is written as
  text (``data_type 's'``), never as a formula, and needs no quote.

Suffixes (:data:`SUFFIXES`): ``.jsonl``/``.ndjson`` JSON Lines; ``.json`` one JSON document
(an array of records, a Label Studio or doccano export; a ``.json`` file holding JSON Lines
is read as such); ``.csv``; ``.tsv``; ``.xlsx``/``.xlsm``; ``.txt`` one passage a line. An
XLSX file is recognised by its bytes whatever its suffix.

openpyxl is imported here only.
"""

from __future__ import annotations

import csv
import io
import json
import numbers
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipeline.errors import InputError, UsageError

#: Record formats for standard output (extract, counts, models).
FORMATS = ("jsonl", "csv", "table")

#: The one suffix map: file suffix -> format.
SUFFIXES: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".txt": "lines",
    ".text": "lines",
}
#: Formats a table can be written in.
WRITE_FORMATS = ("jsonl", "json", "csv", "tsv", "xlsx")
#: Formats of the labeling tools that predictions and review queues can be written in
#: (:mod:`pipeline.classify.predict_io`): Label Studio tasks (JSON) and doccano JSON Lines.
TOOL_FORMATS = ("label-studio", "doccano")
#: The Label Studio choices control that categories are written to by default.
LS_FROM_NAME = "category"

#: First characters that make a spreadsheet cell a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTE = re.compile(r"^'*[=+\-@\t\r]")
_QUOTED = re.compile(r"^'+[=+\-@\t\r]")
#: Characters XLSX (XML 1.0) cannot hold; dropped on write.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: Chinese column headings of files made for people (review workbooks), and back.
COLUMN_HEADINGS: dict[str, str] = {
    "id": "编号",
    "text": "段落原文",
    "labels": "类别",
    "reviewed": "已复核",
    "bulletin": "简报",
    "unit": "单位",
    "region": "地区",
    "date": "日期",
    "section": "栏目",
    "page": "页码",
    "file": "文件",
    "margin": "距阈值",
    "competing": "临界类别数",
    "evidence": "依据",
    "model_version": "模型版本",
    "style": "文体",
    "source": "来源",
}
#: Other headings people write for the same columns.
HEADING_ALIASES: dict[str, str] = {
    "原文": "text",
    "文本": "text",
    "段落": "text",
    "内容": "text",
    "标签": "labels",
    "类别（用、分隔）": "labels",
    "复核": "reviewed",
    "是否复核": "reviewed",
    "序号": "id",
}
SCORE_PREFIX = "score_"
SCORE_HEADING = "分值_"


def display_width(text: str) -> int:
    # Chinese characters take two terminal columns.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# --- cells -----------------------------------------------------------------------------------


def escape_formula(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula: text starting with ``= + - @``, tab
    or carriage return (after any quotes) gets a leading ``'``; other values are unchanged."""
    if isinstance(value, str) and _NEEDS_QUOTE.match(value):
        return "'" + value
    return value


def unescape_formula(value: Any) -> Any:
    """The inverse of :func:`escape_formula` (one leading quote removed where it added one)."""
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value


def cell_text(value: Any) -> str:
    """A value as one spreadsheet cell: lists joined with 、, dicts as JSON, None empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def column_name(heading: Any) -> str:
    """A column's name from its heading: Chinese headings of review files mapped back."""
    text = str(heading).strip().lstrip("\ufeff") if heading is not None else ""
    if text in _BY_HEADING:
        return _BY_HEADING[text]
    if text.startswith(SCORE_HEADING):
        return SCORE_PREFIX + text[len(SCORE_HEADING) :]
    return text


def column_heading(name: str) -> str:
    """The Chinese heading of a column in files made for people (the name when none)."""
    if name.startswith(SCORE_PREFIX):
        return SCORE_HEADING + name[len(SCORE_PREFIX) :]
    return COLUMN_HEADINGS.get(name, name)


_BY_HEADING = {**HEADING_ALIASES, **{v: k for k, v in COLUMN_HEADINGS.items()}}


# --- formats and decoding ----------------------------------------------------------------------


def suffix_format(path: Path | str | None, default: str | None = None) -> str | None:
    """The format a path's suffix names (:data:`SUFFIXES`); ``default`` for standard output
    (``None`` or ``-``); ``None`` for an unknown suffix."""
    if path is None or str(path) == "-":
        return default
    return SUFFIXES.get(Path(path).suffix.lower())


def file_format(path: Path, data: bytes | None = None) -> str:
    """A file's format: the suffix, checked and refined by the content.

    XLSX is recognised by its bytes (a ZIP) whatever the suffix; ``.json`` and ``.jsonl``
    files are told apart by content (one JSON document, or one object a line); a file with
    an unknown suffix is read as XLSX or JSON when its bytes say so.

    Returns:
        ``jsonl``, ``json``, ``csv``, ``tsv``, ``xlsx`` or ``lines``.

    Raises:
        InputError: an unknown suffix and no recognisable content.
    """
    path = Path(path)
    if data is None:
        with open(path, "rb") as fh:
            data = fh.read(4096)
    by_suffix = suffix_format(path)
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if by_suffix in ("json", "jsonl") or by_suffix is None:
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] == b"[":
            return "json"
        if head[:1] == b"{":
            if by_suffix == "jsonl":
                return "jsonl"
            return "json" if _one_document(path) else "jsonl"
    if by_suffix is None:
        raise InputError(
            f"expected a file ending in {', '.join(sorted(SUFFIXES))}, found {path.suffix or 'no suffix'}",
            path,
            "convert the file or rename it",
        )
    if by_suffix == "xlsx":
        raise InputError("not a readable XLSX file (not a ZIP archive)", path, "save it again from Excel or WPS")
    return by_suffix


def _one_document(path: Path) -> bool:
    try:
        json.loads(decode_text(Path(path).read_bytes(), path))
    except (json.JSONDecodeError, InputError):
        return False
    return True


def decode_text(data: bytes, path: Path | str | None = None) -> str:
    """Text from bytes: UTF-8 (BOM or not), UTF-16 (BOM, or the zero bytes of CJK-free text),
    else GBK/GB18030 (what Excel and WPS save as "CSV" in Chinese locales).

    Raises:
        InputError: none of them decodes the bytes.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    head = data[:2000]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        odd = head[1::2].count(0)
        even = head[0::2].count(0)
        try:
            return data.decode("utf-16-le" if odd >= even else "utf-16-be")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(
            "not text in UTF-8, UTF-16, GBK or GB18030", path, "save it as CSV UTF-8 from Excel or WPS"
        ) from None


# --- reading -----------------------------------------------------------------------------------


@dataclass
class Table:
    """Rows of a file.

    Attributes:
        format: as :func:`file_format` found it.
        columns: column names in file order (CSV, TSV and XLSX headers; the keys of JSON
            records in order of first appearance).
        rows: ``(row number, record or None, problem)``; the number is the line (JSON Lines,
            one a line), the spreadsheet row (CSV, XLSX: the header is row 1) or the position
            (JSON arrays, from 1); the record is ``None`` for a row that cannot be read, with
            the problem.
    """

    format: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[int, Any, str]] = field(default_factory=list)

    @property
    def records(self) -> list[Any]:
        return [obj for _, obj, _ in self.rows if obj is not None]

    @property
    def problems(self) -> list[str]:
        return [f"row {n}: {problem}" for n, obj, problem in self.rows if obj is None]


def read_table(
    path: Path | str | None, fmt: str | None = None, text_column: str = "text", headings: bool = False
) -> Table:
    """Read a file's rows.

    Args:
        path: the file; ``None`` or ``-`` reads standard input as one text a line.
        fmt: force a format (default: :func:`file_format`).
        text_column: the column name given to each line of a ``lines`` file.
        headings: map Chinese headings of review files back to column names (:func:`column_name`).

    Returns:
        The rows; CSV and XLSX cells are strings (empty for an empty cell) with the quote
        that made a formula safe removed.

    Raises:
        InputError: the file does not exist or cannot be read in its format.
    """
    if path is None or str(path) == "-":
        text = sys.stdin.read()
        return _lines(text, text_column)
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path, "check the path")
    data = path.read_bytes()
    fmt = fmt or file_format(path, data[:4096])
    if fmt == "xlsx":
        table = _read_xlsx(path, data)
    else:
        text = decode_text(data, path)
        if fmt == "lines":
            table = _lines(text, text_column)
        elif fmt == "jsonl":
            table = _read_jsonl(text)
        elif fmt == "json":
            table = _read_json(text)
        elif fmt in ("csv", "tsv"):
            table = _read_csv(text, fmt)
        else:
            raise InputError(f"unknown format {fmt!r}", path)
    if headings and table.format in ("csv", "tsv", "xlsx"):
        mapping = {c: column_name(c) for c in table.columns}
        mapping = {c: n for c, n in mapping.items() if n == c or n not in table.columns}
        table.columns = [mapping.get(c, c) for c in table.columns]
        table.rows = [
            (n, None if obj is None else {mapping.get(k, k): v for k, v in obj.items()}, p) for n, obj, p in table.rows
        ]
    return table


def _lines(text: str, text_column: str) -> Table:
    rows = [(n, {text_column: line.strip()}, "") for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    return Table("lines", [text_column], rows)


def _keys(records: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for obj in records:
        if isinstance(obj, dict):
            seen.update(dict.fromkeys(map(str, obj)))
    return list(seen)


def _read_jsonl(text: str) -> Table:
    rows: list[tuple[int, Any, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((n, None, f"not valid JSON ({exc.msg})"))
            continue
        rows.append((n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object"))
    return Table("jsonl", _keys(o for _, o, _ in rows), rows)


def _read_json(text: str) -> Table:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{"):
            return _read_jsonl(text)  # JSON Lines in a .json file
        return Table("json", [], [(1, None, f"not valid JSON ({exc.msg} at line {exc.lineno})")])
    items = data if isinstance(data, list) else [data]
    rows = [(n, obj, "") if isinstance(obj, dict) else (n, None, "not a JSON object") for n, obj in enumerate(items, 1)]
    return Table("json", _keys(o for _, o, _ in rows), rows)


def _read_csv(text: str, fmt: str) -> Table:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if fmt == "tsv" or ("\t" in first and "," not in first) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return Table(fmt, [], [])
    columns = [str(h).strip().lstrip("\ufeff") for h in header]
    rows: list[tuple[int, Any, str]] = []
    try:
        for values in reader:
            n = reader.line_num
            if not any(v.strip() for v in values):
                continue
            values = values + [""] * (len(columns) - len(values))
            rows.append((n, {c: unescape_formula(v) for c, v in zip(columns, values) if c}, ""))
    except csv.Error as exc:
        rows.append((reader.line_num, None, f"not valid CSV ({exc})"))
    return Table(fmt, [c for c in columns if c], rows)


def _read_xlsx(path: Path, data: bytes) -> Table:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:  # from bytes: openpyxl refuses a workbook whose name does not end in .xlsx
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise InputError(
            f"not a readable XLSX file ({type(exc).__name__})", path, "save it again from Excel or WPS"
        ) from None
    try:
        ws = wb.worksheets[0]
        values = ws.iter_rows(values_only=True)
        header = next(values, None)
        if header is None:
            return Table("xlsx", [], [])
        columns = [cell_text(h).strip() for h in header]
        rows: list[tuple[int, Any, str]] = []
        for n, row in enumerate(values, start=2):
            cells = [cell_text(v) for v in row]
            if not any(c.strip() for c in cells):
                continue
            cells += [""] * (len(columns) - len(cells))
            rows.append((n, {c: v for c, v in zip(columns, cells) if c}, ""))
    finally:
        wb.close()
    return Table("xlsx", [c for c in columns if c], rows)


# --- writing -----------------------------------------------------------------------------------


def write_records(
    records: Iterable[dict],
    fmt: str,
    stream: TextIO,
    fields: Sequence[str] | None = None,
    max_width: int = 40,
    header: bool = True,
) -> int:
    """Write records to a text stream in one of :data:`FORMATS`.

    Args:
        records: dicts (lists are joined with 、 in csv/table).
        fmt: ``jsonl``, ``csv`` or ``table``.
        stream: where to write.
        fields: columns for csv/table (default: the first record's keys).
        max_width: table cells are cut to this many columns.
        header: write the csv/table header (off when appending a later file's rows).

    Returns:
        The number of records written.
    """
    records = list(records)
    if fmt == "jsonl":
        for r in records:
            stream.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        return len(records)
    fields = list(fields or (records[0].keys() if records else []))
    if fmt == "csv":
        write_csv(stream, fields, ([r.get(f) for f in fields] for r in records), header=header)
        return len(records)
    if fmt == "table":
        rows = [[_cut(cell_text(r.get(f)), max_width) for f in fields] for r in records]
        widths = [max([display_width(f)] + [display_width(row[i]) for row in rows]) for i, f in enumerate(fields)]
        lines = [fields] if header else []
        for row in lines + rows:
            stream.write("  ".join(c + " " * (w - display_width(c)) for c, w in zip(row, widths)).rstrip() + "\n")
        return len(records)
    raise ValueError(f"unknown format {fmt!r}")


def write_csv(
    stream: TextIO,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    header: bool = True,
    delimiter: str = ",",
    lineterminator: str = "\n",
) -> None:
    """CSV rows to a text stream, every text cell made formula-safe (:func:`escape_formula`).

    Files are written with ``\r\n`` (RFC 4180, what Excel writes), which also quotes a cell
    holding a lone carriage return so that it reads back as one cell; streams with ``\n``.
    """
    writer = csv.writer(stream, lineterminator=lineterminator, delimiter=delimiter)
    if header:
        writer.writerow([escape_formula(str(c)) for c in columns])
    for row in rows:
        writer.writerow([v if _is_number(v) else escape_formula(cell_text(v)) for v in row])


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool) and value == value


def write_text(text: str, path: Path | str | None, bom: bool = False) -> None:
    """Text to a file (UTF-8, with a BOM if asked) or, for ``None`` or ``-``, to stdout."""
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        fh.write(text)


def write_table(
    path: Path | str | None, columns: Sequence[str], records: Sequence[dict], fmt: str | None = None
) -> str:
    """Write records as a table file.

    Args:
        path: the file; ``None`` or ``-`` writes to standard output (not XLSX).
        columns: the columns, in order (CSV, TSV, XLSX); JSON formats write every key.
        records: dicts; in CSV/TSV/XLSX lists are joined with 、 and dicts written as JSON.
        fmt: one of :data:`WRITE_FORMATS` (default: from the suffix; JSON Lines on stdout).

    Returns:
        The format written.

    Raises:
        UsageError: an unknown format, or XLSX to standard output.
    """
    fmt = fmt or suffix_format(path, "jsonl")
    if fmt not in WRITE_FORMATS:
        raise UsageError(
            f"expected an output ending in {', '.join('.' + f for f in WRITE_FORMATS)}, found {Path(str(path)).suffix}",
            path,
        )
    if fmt == "jsonl":
        write_text("".join(json.dumps(r, ensure_ascii=False, default=_json_default) + "\n" for r in records), path)
    elif fmt == "json":
        write_text(json.dumps(list(records), ensure_ascii=False, indent=1, default=_json_default) + "\n", path)
    elif fmt in ("csv", "tsv"):
        buf = io.StringIO()
        write_csv(
            buf,
            columns,
            ([r.get(c) for c in columns] for r in records),
            delimiter="\t" if fmt == "tsv" else ",",
            lineterminator="\r\n",
        )
        write_text(buf.getvalue(), path, bom=True)
    else:
        if path is None or str(path) == "-":
            raise UsageError("XLSX cannot go to standard output", None, "give --output FILE.xlsx")
        write_workbook(path, [Sheet("Sheet1", list(columns), [[r.get(c) for c in columns] for r in records])])
    return fmt


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# --- workbooks ---------------------------------------------------------------------------------


@dataclass
class Validation:
    """A drop-down list on a column (data validation).

    Attributes:
        column: the column's position (from 0).
        options: the list offered.
        prompt: shown when a cell of the column is selected.
        strict: refuse other values (otherwise warn and let the typed value stand, e.g.
            several categories joined by 、).
    """

    column: int
    options: Sequence[str]
    prompt: str = ""
    strict: bool = False


@dataclass
class Sheet:
    """One worksheet: a header row and rows, with the look of a file made for people.

    Attributes:
        name: the sheet's name.
        header: column headings.
        rows: cell values (text is always written as text, never as a formula).
        widths: column width caps by position (default 30); columns are sized to content.
        min_width: the narrowest a column gets.
        wrap: positions of columns whose text wraps.
        freeze: the cell below and right of the frozen panes (``A2``: the header row).
        autofilter: a filter on the header row.
        bold_first_column: row headings in the first column.
        validations: drop-down lists.
        landscape: print landscape, fit to the page's width, header repeated on each page.
    """

    name: str
    header: list[str]
    rows: list[list[Any]]
    widths: dict[int, float] = field(default_factory=dict)
    min_width: float = 0
    wrap: set[int] = field(default_factory=set)
    freeze: str | None = "A2"
    autofilter: bool = True
    bold_first_column: bool = False
    validations: list[Validation] = field(default_factory=list)
    landscape: bool = False
    default_width: float = 30


def xlsx_value(value: Any) -> Any:
    """A value openpyxl can store: numbers and booleans as they are, anything else as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return None if value != value else value
    if hasattr(value, "item") and not isinstance(value, (str, list, dict, tuple)):
        return xlsx_value(value.item())
    return _XLSX_ILLEGAL.sub("", cell_text(value))


def write_workbook(path: Path | str, sheets: Sequence[Sheet]) -> Path:
    """Write sheets to an XLSX file; every text cell is stored as text (``data_type 's'``),
    so ``=HYPERLINK(…)`` shows as written and never runs."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    wb = Workbook()
    wb.remove(wb.active)
    for spec in sheets:
        ws = wb.create_sheet(spec.name[:31])
        for r, values in enumerate([spec.header, *spec.rows], start=1):
            for c, value in enumerate(values, start=1):
                value = xlsx_value(value)
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula
                if r == 1 or (spec.bold_first_column and c == 1):
                    cell.font = bold
                elif spec.wrap:
                    cell.alignment = wrap if c - 1 in spec.wrap else top
        for j, heading in enumerate(spec.header):
            letter = get_column_letter(j + 1)
            content = [display_width(cell_text(heading))]
            content += [display_width(cell_text(row[j])) for row in spec.rows if j < len(row)]
            width = min(max(content), spec.widths.get(j, spec.default_width))
            ws.column_dimensions[letter].width = max(width, spec.min_width) + 2
        last = get_column_letter(max(1, len(spec.header)))
        if spec.freeze:
            ws.freeze_panes = spec.freeze
        if spec.autofilter and spec.header:
            ws.auto_filter.ref = f"A1:{last}{max(1, len(spec.rows) + 1)}"
        for v in spec.validations:
            options = ",".join(v.options)
            dv = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True)
            dv.showErrorMessage = True
            dv.errorStyle = "stop" if v.strict else "warning"
            dv.error = "请从列表中选择" if v.strict else "不在列表中：多个类别请用“、”分隔"
            if v.prompt:
                dv.promptTitle, dv.prompt, dv.showInputMessage = spec.header[v.column][:32], v.prompt, True
            letter = get_column_letter(v.column + 1)
            dv.add(f"{letter}2:{letter}{max(2, len(spec.rows) + 1)}")
            ws.add_data_validation(dv)
        if spec.landscape:
            ws.print_title_rows = "1:1"
            ws.page_setup.orientation = "landscape"
            ws.page_setup.fitToWidth = 1
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _cut(text: str, limit: int) -> str:
    if display_width(text) <= limit:
        return text
    out, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > limit - 1:
            break
        out, used = out + ch, used + w
    return out + "…"

"""Write records (dicts) to a stream as JSON Lines, CSV or an aligned text table."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TextIO

FORMATS = ("jsonl", "csv", "table")


def display_width(text: str) -> int:
    # Chinese characters take two terminal columns.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_records(
    records: Iterable[dict],
    fmt: str,
    stream: TextIO,
    fields: Sequence[str] | None = None,
    max_width: int = 40,
    header: bool = True,
) -> int:
    """Write records in one of :data:`FORMATS`.

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
            stream.write(json.dumps(r, ensure_ascii=False) + "\n")
        return len(records)
    fields = list(fields or (records[0].keys() if records else []))
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        if header:
            writer.writerow(fields)
        for r in records:
            writer.writerow([_cell(r.get(f)) for f in fields])
        return len(records)
    if fmt == "table":
        rows = [[_cut(_cell(r.get(f)), max_width) for f in fields] for r in records]
        widths = [max([display_width(f)] + [display_width(row[i]) for row in rows]) for i, f in enumerate(fields)]
        lines = [fields] if header else []
        for row in lines + rows:
            stream.write("  ".join(c + " " * (w - display_width(c)) for c, w in zip(row, widths)).rstrip() + "\n")
        return len(records)
    raise ValueError(f"unknown format {fmt!r}")


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

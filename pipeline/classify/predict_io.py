"""Loose passages in and out of ``predict``: JSONL, CSV, XLSX or one passage a line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd

from pipeline.classify.model import Model, predict
from pipeline.errors import InputError, UsageError
from pipeline.taxonomy import CATEGORIES, LABEL_SEP, NONE_LABEL, PREDICTION_COLUMNS

FORMATS = ("jsonl", "csv", "xlsx")


def _format_of(path: Path | None, default: str = "jsonl") -> str:
    if path is None or str(path) == "-":
        return default
    suffix = path.suffix.lower().lstrip(".")
    return {"json": "jsonl", "ndjson": "jsonl", "xlsm": "xlsx", "txt": "lines", "text": "lines"}.get(suffix, suffix)


def read_passages(path: Path | None, text_column: str = "text") -> pd.DataFrame:
    """Read passages to classify.

    Args:
        path: ``.jsonl``, ``.csv``, ``.xlsx`` or ``.txt`` (one passage a line); ``None`` or
            ``-`` reads standard input, one passage a line.
        text_column: the column holding the text.

    Returns:
        The input table (all columns kept).

    Raises:
        InputError: unreadable file or no such column.
    """
    fmt = _format_of(path, "lines")
    try:
        if fmt == "lines":
            text = sys.stdin.read() if path is None or str(path) == "-" else Path(path).read_text(encoding="utf-8-sig")
            df = pd.DataFrame({text_column: [t.strip() for t in text.splitlines() if t.strip()]})
        elif fmt == "jsonl":
            df = pd.read_json(path, lines=True, dtype=False)
        elif fmt == "csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif fmt == "xlsx":
            df = pd.read_excel(path, dtype=str).fillna("")
        else:
            raise InputError(f"expected .jsonl, .csv, .xlsx or .txt, found .{fmt}", path, "convert the file")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as {fmt} ({exc})", path, "check its format") from None
    if text_column not in df.columns:
        raise InputError(
            f"expected a column {text_column!r}, found {', '.join(map(str, df.columns))}",
            path,
            "name the text column with --text-column",
        )
    return df


def predict_frame(df: pd.DataFrame, model: Model, text_column: str = "text") -> pd.DataFrame:
    """Add ``labels``, ``scores``, ``evidence`` and ``model_version`` to a table of passages.

    Args:
        df: input rows (all columns, ``id`` included, are kept).
        model: a loaded model.
        text_column: the column to classify.

    Returns:
        A new table.
    """
    texts = df[text_column].fillna("").astype(str).tolist()
    pred = predict(model, texts)
    out = df.drop(columns=[c for c in PREDICTION_COLUMNS if c in df.columns])
    out = out.reset_index(drop=True)
    for col in PREDICTION_COLUMNS:
        out[col] = pred[col].values
    return out


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Spreadsheet form: labels joined with 、, one score column per category."""
    flat = df.copy()
    flat["labels"] = [LABEL_SEP.join(ls) or NONE_LABEL for ls in df["labels"]]
    for c in CATEGORIES:
        flat[f"score_{c}"] = [s[c] for s in df["scores"]]
    flat["evidence"] = ["；".join(f"{c}：{LABEL_SEP.join(t)}" for c, t in ev.items()) for ev in df["evidence"]]
    return flat.drop(columns=["scores"])


def write_passages(df: pd.DataFrame, path: Path | None = None, fmt: str | None = None) -> None:
    """Write predictions: JSONL keeps lists and dicts; CSV/XLSX flatten them.

    Args:
        df: output of :func:`predict_frame`.
        path: output file; ``None`` writes JSONL (or ``fmt``) to stdout.
        fmt: override the format implied by the suffix.

    Raises:
        UsageError: XLSX asked for on stdout, or an unknown format.
    """
    fmt = fmt or _format_of(path)
    if fmt not in FORMATS:
        raise UsageError(f"expected an output ending in .jsonl, .csv or .xlsx, found .{fmt}", path)
    if fmt == "jsonl":
        buf = io.StringIO()
        for rec in df.to_dict(orient="records"):
            buf.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        _emit(buf.getvalue(), path)
    elif fmt == "csv":
        _emit(_flat(df).to_csv(index=False), path)
    else:
        if path is None:
            raise UsageError("XLSX cannot go to standard output", None, "give --output FILE.xlsx")
        _flat(df).to_excel(path, index=False)


def _emit(text: str, path: Path | None) -> None:
    if path is None or str(path) == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")

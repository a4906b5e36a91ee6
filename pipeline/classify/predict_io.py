"""Loose passages in and out of ``predict``, and review files out of ``review``.

Reading and writing go through :mod:`pipeline.formats` (format by suffix and content; CSV in
UTF-8, UTF-16, GBK or GB18030; CSV written with a BOM and formula-safe cells). Output
formats (:data:`FORMATS`):

- ``jsonl``/``json``: records with ``labels`` (a list), ``scores`` and ``evidence`` (dicts);
- ``csv``/``tsv``/``xlsx``: flat, labels joined by 、 (无 for none), one ``score_<category>``
  column per category; a review file in XLSX is a workbook made for a labeler
  (:func:`review_sheets`);
- ``label-studio``: a JSON array of tasks to import into a Label Studio text-classification
  project, the prediction as a pre-annotation (``predictions``);
- ``doccano``: JSON Lines to import into a doccano text-classification project, the
  prediction in ``label``.

``predict`` keeps every input column and adds its own (``labels``, ``scores``, ``evidence``,
``model_version``); an input that already has one of them is refused unless
``replace=True`` (``--replace-columns``), so a column of the user's is never overwritten
silently.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipeline.errors import InputError, UsageError
from pipeline.formats import (
    LS_FROM_NAME,
    SCORE_PREFIX,
    TOOL_FORMATS,
    WRITE_FORMATS,
    Sheet,
    Validation,
    column_heading,
    read_table,
    suffix_format,
    write_table,
    write_workbook,
)
from pipeline.taxonomy import CATEGORIES, DESCRIPTIONS_ZH, LABEL_SEP, NONE_LABEL, PREDICTION_COLUMNS

if TYPE_CHECKING:
    from pipeline.classify.model import Model

#: Output formats of ``predict`` and ``review``.
FORMATS = (*WRITE_FORMATS, *TOOL_FORMATS)
#: The text's object tag in the Label Studio tasks written (``--from-name``: LS_FROM_NAME).
LS_TO_NAME = "text"
#: Data key of the passage's own id in tasks written for the tools (read back as the id).
REF_ID = "ref_id"
#: Passages classified per call (the progress bar advances by these).
CHUNK = 500
#: The review workbook's sheet of category definitions.
GUIDE_SHEET = "类别说明"


def read_passages(path: Path | None, text_column: str = "text") -> pd.DataFrame:
    """Read passages to classify.

    Args:
        path: JSON Lines, JSON (an array of records), CSV/TSV (UTF-8, UTF-16, GBK or
            GB18030), XLSX or text (one passage a line); ``None`` or ``-`` reads standard
            input, one passage a line.
        text_column: the column holding the text.

    Returns:
        The input table (all columns kept, in order).

    Raises:
        InputError: unreadable file, a bad row, no such column, or no passage at all.
    """
    table = read_table(path, text_column=text_column)
    if table.problems:
        more = f" (+{len(table.problems) - 1} more)" if len(table.problems) > 1 else ""
        raise InputError(f"{table.problems[0]}{more}", path, "fix the file and run again")
    if not table.rows:
        raise InputError("no passages", path if path is not None else "standard input", "give a non-empty input")
    if text_column not in table.columns:
        raise InputError(
            f"expected a column {text_column!r}, found {', '.join(map(str, table.columns))}",
            path,
            "name the text column with --text-column",
        )
    return pd.DataFrame.from_records(table.records, columns=table.columns)


def output_columns(df: pd.DataFrame) -> list[str]:
    """Input columns that ``predict`` would write over: its own columns and their flat
    spreadsheet forms (``score_<category>``)."""
    own = set(PREDICTION_COLUMNS) | {f"{SCORE_PREFIX}{c}" for c in CATEGORIES}
    return [str(c) for c in df.columns if str(c) in own]


def predict_frame(
    df: pd.DataFrame,
    model: Model,
    text_column: str = "text",
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Add ``labels``, ``scores``, ``evidence`` and ``model_version`` to a table of passages.

    Args:
        df: input rows (all columns, ``id`` included, are kept).
        model: a loaded model.
        text_column: the column to classify.
        replace: replace input columns of those names (otherwise refused).
        progress: called with the number of passages classified after each chunk.

    Returns:
        A new table.

    Raises:
        UsageError: the input has columns of the output's names and ``replace`` is false.
    """
    from pipeline.classify.model import predict  # scikit-learn and the model: only when classifying

    clash = output_columns(df)
    if clash and not replace:
        raise UsageError(
            f"the input already has column(s) {', '.join(clash)}, which predict writes",
            None,
            "rename them, or pass --replace-columns to replace them with this model's predictions",
        )
    texts = df[text_column].fillna("").astype(str).tolist()
    parts = []
    for start in range(0, len(texts), CHUNK):
        parts.append(predict(model, texts[start : start + CHUNK]))
        if progress is not None:
            progress(len(texts[start : start + CHUNK]))
    pred = pd.concat(parts, ignore_index=True) if parts else predict(model, [])
    out = df.drop(columns=clash).reset_index(drop=True)
    for col in PREDICTION_COLUMNS:
        out[col] = pred[col].values
    return out


# --- writing ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars unwrapped, NaN to None."""
    if hasattr(value, "item") and not isinstance(value, (str, list, dict, tuple)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(df: pd.DataFrame) -> list[dict]:
    cols = [str(c) for c in df.columns]
    return [{c: _plain(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def _label_cell(labels: Any) -> str:
    if isinstance(labels, (list, tuple)):
        return LABEL_SEP.join(map(str, labels)) or NONE_LABEL
    return "" if labels is None else str(labels)


def _flat(df: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """Spreadsheet form: labels joined with 、, one score column per category, evidence as
    ``category：terms``."""
    records = _records(df)
    columns = [c for c in map(str, df.columns) if c != "scores"]
    if "scores" in df.columns:
        columns += [f"{SCORE_PREFIX}{c}" for c in CATEGORIES]
    for r in records:
        if "labels" in r:
            r["labels"] = _label_cell(r["labels"])
        scores = r.pop("scores", None)
        if isinstance(scores, dict):
            r.update({f"{SCORE_PREFIX}{c}": scores.get(c) for c in CATEGORIES})
        evidence = r.get("evidence")
        if isinstance(evidence, dict):
            r["evidence"] = "；".join(f"{c}：{LABEL_SEP.join(t)}" for c, t in evidence.items())
    return columns, records


def _passage_id(record: dict, text_column: str) -> str:
    pid = record.get("id")
    if pid not in (None, ""):
        return str(pid)
    return "sha-" + hashlib.sha256(str(record.get(text_column) or "").strip().encode()).hexdigest()[:12]


def _confidence(labels: Sequence[str], scores: dict | None) -> float | None:
    """The lowest probability among the decisions taken (a category given: its score; not
    given: one minus it): how sure the model is of the whole label set."""
    if not isinstance(scores, dict):
        return None
    return round(min(float(scores[c]) if c in labels else 1 - float(scores[c]) for c in CATEGORIES), 4)


def label_studio_tasks(
    df: pd.DataFrame, text_column: str = "text", from_name: str = LS_FROM_NAME, to_name: str = LS_TO_NAME
) -> list[dict]:
    """Label Studio tasks: the passage and its other scalar columns in ``data`` (the id as
    :data:`REF_ID`), the prediction in ``predictions`` (``model_version``, ``score``: see
    :func:`_confidence`; a ``choices`` result, 无 for none)."""
    tasks = []
    skip = {*PREDICTION_COLUMNS, "reviewed", "id", text_column}
    for r in _records(df):
        data = {
            "text" if text_column == "text" else text_column: r.get(text_column),
            REF_ID: _passage_id(r, text_column),
        }
        data.update({k: v for k, v in r.items() if k not in skip and not isinstance(v, (list, dict))})
        task: dict[str, Any] = {"data": data}
        labels = r.get("labels")
        if isinstance(labels, (list, tuple)):
            result = {
                "from_name": from_name,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": list(labels) or [NONE_LABEL]},
            }
            prediction: dict[str, Any] = {"model_version": r.get("model_version") or "", "result": [result]}
            score = _confidence(labels, r.get("scores"))
            if score is not None:
                prediction["score"] = score
            task["predictions"] = [prediction]
        tasks.append(task)
    return tasks


def doccano_records(df: pd.DataFrame, text_column: str = "text") -> list[dict]:
    """doccano JSON Lines: ``text``, ``label`` (the prediction, 无 for none), the id as
    :data:`REF_ID` and the other scalar columns (kept by doccano as metadata)."""
    out = []
    skip = {"labels", "scores", "evidence", "reviewed", "id", text_column}
    for r in _records(df):
        rec: dict[str, Any] = {"text": r.get(text_column), REF_ID: _passage_id(r, text_column)}
        labels = r.get("labels")
        if isinstance(labels, (list, tuple)):
            rec["label"] = list(labels) or [NONE_LABEL]
        rec.update({k: v for k, v in r.items() if k not in skip and not isinstance(v, (list, dict))})
        out.append(rec)
    return out


def review_sheets(columns: list[str], records: list[dict]) -> list[Sheet]:
    """The review workbook: the queue with Chinese headings, sized and wrapped columns, a
    frozen header with filters, drop-downs for ``labels`` (the six categories and 无; several
    joined by 、 are allowed) and ``reviewed`` (是/否); then a sheet with each category's
    definition."""
    header = [column_heading(c) for c in columns]
    rows = [[r.get(c) for c in columns] for r in records]
    caps = {"text": 60, "bulletin": 30, "evidence": 30, "section": 20, "labels": 20, "model_version": 22, "file": 20}
    widths: dict[int, float] = {j: caps.get(c, 14) for j, c in enumerate(columns)}
    wrap = {j for j, c in enumerate(columns) if c in ("text", "evidence", "bulletin", "section")}
    validations = []
    if "labels" in columns:
        validations.append(
            Validation(
                columns.index("labels"),
                [*CATEGORIES, NONE_LABEL],
                f"选一个类别；多个类别用“、”分隔，没有问题填“{NONE_LABEL}”",
            )
        )
    if "reviewed" in columns:
        validations.append(
            Validation(columns.index("reviewed"), ["是", "否"], "核对过类别后填“是”：只有这些行用于训练")
        )
    queue = Sheet("复核", header, rows, widths=widths, min_width=6, wrap=wrap, freeze="C2", validations=validations)
    guide = Sheet(
        GUIDE_SHEET,
        ["类别", "说明"],
        [[c, DESCRIPTIONS_ZH[c]] for c in CATEGORIES]
        + [
            [NONE_LABEL, "段落没有反映上述任何一类问题"],
            ["填写方法", "在“类别”列改正类别（多个用“、”分隔），核对后在“已复核”列填“是”；未填“是”的行不用于训练"],
        ],
        widths={0: 10, 1: 70},
        wrap={1},
        autofilter=False,
        bold_first_column=True,
    )
    return [queue, guide]


def write_passages(
    df: pd.DataFrame,
    path: Path | None = None,
    fmt: str | None = None,
    text_column: str = "text",
    from_name: str = LS_FROM_NAME,
) -> None:
    """Write predictions or a review queue.

    Args:
        df: output of :func:`predict_frame` or of the review queue.
        path: output file; ``None`` or ``-`` writes to stdout (JSON Lines unless ``fmt``).
        fmt: one of :data:`FORMATS` (default: from the suffix).
        text_column: the passages' column.
        from_name: the Label Studio choices control the categories go to.

    Raises:
        UsageError: XLSX asked for on stdout, or an unknown format.
    """
    fmt = fmt or suffix_format(path, "jsonl")
    if fmt not in FORMATS:
        found = repr(fmt) if fmt else f"a file ending in {Path(str(path)).suffix or 'nothing'}"
        raise UsageError(
            f"expected an output ending in .jsonl, .json, .csv, .tsv or .xlsx, or --format among "
            f"{', '.join(FORMATS)}; found {found}",
            path,
        )
    if fmt == "label-studio":
        write_table(path, [], label_studio_tasks(df, text_column, from_name), "json")
    elif fmt == "doccano":
        write_table(path, [], doccano_records(df, text_column), "jsonl")
    elif fmt in ("jsonl", "json"):
        write_table(path, [], _records(df), fmt)
    else:
        columns, records = _flat(df)
        if fmt == "xlsx" and "reviewed" in columns:
            if path is None or str(path) == "-":
                raise UsageError("XLSX cannot go to standard output", None, "give --output FILE.xlsx")
            write_workbook(path, review_sheets(columns, records))
        else:
            write_table(path, columns, records, fmt)

"""Labeled passages: read, validate and hash them.

The canonical format is JSON Lines (``id``, ``text``, ``labels`` as a list, ``style``,
``source``). Users' own files may also be CSV or XLSX with ``text`` and ``labels`` columns
(labels joined by 、, empty or 无 for none), Label Studio JSON exports and doccano JSONL
exports. Every problem in a file is collected and reported together, with file and row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline import config
from pipeline.errors import InputError, LabeledDataError
from pipeline.taxonomy import CATEGORIES, LABEL_SEP, NONE_LABEL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labeled:
    """One labeled passage."""

    id: str
    text: str
    labels: tuple[str, ...]
    style: str = ""
    source: str = ""


def _split_labels(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = [str(v).strip() for v in json.loads(text)]
            except json.JSONDecodeError:
                items = [text]
        else:
            for sep in (",", "，", ";", "；", "|", "/"):
                text = text.replace(sep, LABEL_SEP)
            items = [t.strip() for t in text.split(LABEL_SEP)]
    return [i for i in items if i and i != NONE_LABEL]


def _rows_jsonl(path: Path) -> Iterable[tuple[int, dict | None, str]]:
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"not valid JSON ({exc.msg})"
                continue
            yield n, obj if isinstance(obj, dict) else None, "" if isinstance(obj, dict) else "not a JSON object"


def _from_label_studio(task: dict) -> dict:
    """A Label Studio task: text in data, choices in the latest annotation."""
    data = task.get("data", {})
    text = data.get("text") or next((v for v in data.values() if isinstance(v, str)), "")
    labels: list[str] = []
    annotations = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
    if annotations:
        latest = max(annotations, key=lambda a: a.get("updated_at") or a.get("created_at") or "")
        for result in latest.get("result", []):
            labels += result.get("value", {}).get("choices", [])
    return {"id": data.get("id", task.get("id")), "text": text, "labels": labels, "source": "label-studio"}


def _read_raw(path: Path, text_column: str) -> Iterable[tuple[int, dict | None, str]]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        for n, obj, problem in _rows_jsonl(path):
            if obj is not None and "label" in obj and "labels" not in obj:  # doccano text classification
                obj = {**obj, "labels": obj["label"], "source": obj.get("source", "doccano")}
            yield n, obj, problem
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            yield 1, None, f"not valid JSON ({exc.msg})"
            return
        for n, task in enumerate(data if isinstance(data, list) else [data], start=1):
            if isinstance(task, dict) and "data" in task:
                yield n, _from_label_studio(task), ""
            else:
                yield n, task if isinstance(task, dict) else None, "" if isinstance(task, dict) else "not an object"
    elif suffix in (".csv", ".tsv"):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")  # Excel in Chinese locales saves GBK CSV
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        for n, row in enumerate(reader, start=2):
            yield n, dict(row), ""
    elif suffix in (".xlsx", ".xlsm"):
        import pandas as pd

        try:
            sheet = pd.read_excel(path, sheet_name=0, dtype=object)
        except (ValueError, OSError, KeyError) as exc:  # zip/XML damage surfaces as any of these
            yield 1, None, f"not a readable XLSX file ({type(exc).__name__})"
            return
        sheet.columns = [str(c).strip() for c in sheet.columns]
        for n, record in enumerate(sheet.to_dict(orient="records"), start=2):
            values = {k: (None if v != v else v) for k, v in record.items()}  # NaN -> None
            if all(v is None for v in values.values()):
                continue
            yield n, values, ""
    else:
        yield 0, None, f"unsupported suffix {suffix!r} (use .jsonl, .json, .csv, .tsv or .xlsx)"
    return


def read_labeled(path: Path, text_column: str = "text", strict: bool = True) -> list[Labeled]:
    """Read and validate one labeled file.

    Args:
        path: JSONL, Label Studio/doccano JSON(L), CSV/TSV or XLSX.
        text_column: the column holding the passage text.
        strict: raise on any bad row (default); otherwise skip bad rows.

    Returns:
        The passages. Ids missing in the file are derived from the text's hash. In a file
        with a ``reviewed`` column (a review-queue export), only rows marked reviewed
        (anything but empty, 0, no, false, 否) are read.

    Raises:
        InputError: the file does not exist.
        LabeledDataError: listing every bad row (unknown category, empty text, bad JSON,
            the same text with conflicting labels).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path, "check the path")
    problems: list[str] = []
    out: list[Labeled] = []
    seen: dict[str, tuple[int, tuple[str, ...]]] = {}
    skipped = 0
    for n, obj, problem in _read_raw(path, text_column):
        where = f"row {n}"
        if obj is None:
            problems.append(f"{where}: {problem}")
            continue
        if "reviewed" in obj and not _is_yes(obj["reviewed"]):
            # A review-queue file: only rows a person marked reviewed are labels; the rest
            # still hold the model's own prediction.
            skipped += 1
            continue
        text = obj.get(text_column)
        text = "" if text is None else str(text).strip()
        if not text:
            problems.append(f"{where}: empty text")
            continue
        labels = _split_labels(obj.get("labels"))
        unknown = [c for c in labels if c not in CATEGORIES]
        if unknown:
            problems.append(f"{where}: unknown category {'、'.join(unknown)} (expected {'、'.join(CATEGORIES)} or 无)")
            continue
        canon = tuple(c for c in CATEGORIES if c in labels)
        if text in seen and seen[text][1] != canon:
            problems.append(
                f"{where}: same text as row {seen[text][0]} with different labels "
                f"({LABEL_SEP.join(canon) or NONE_LABEL} vs {LABEL_SEP.join(seen[text][1]) or NONE_LABEL})"
            )
            continue
        seen[text] = (n, canon)
        pid = obj.get("id")
        pid = str(pid) if pid not in (None, "") else "sha-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        out.append(Labeled(pid, text, canon, str(obj.get("style") or ""), str(obj.get("source") or path.name)))
    if problems and strict:
        raise LabeledDataError(problems, path)
    if skipped:
        log.info("%s: %d row(s) not marked reviewed were left out", path, skipped)
    return out


_NO = {"", "0", "n", "no", "false", "否", "未", "none", "nan"}


def _is_yes(value) -> bool:
    """Whether a ``reviewed`` cell says yes (anything but empty, 0, no, false, 否)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() not in _NO


def load_corpus(folder: Path = config.LABELED_DIR) -> list[Labeled]:
    """Every labeled passage under ``folder`` (``*.jsonl``), in file then row order."""
    rows: list[Labeled] = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        rows.extend(read_labeled(path))
    return rows


def merge(base: list[Labeled], override: list[Labeled]) -> list[Labeled]:
    """``base`` with ``override`` applied: the same id or identical text is replaced.

    Args:
        base: e.g. the team corpus.
        override: e.g. a user's labeled file (their label wins).

    Returns:
        The merged passages, base order first, new ones at the end.
    """
    by_id = {r.id: r for r in override}
    by_text = {r.text: r for r in override}
    used: set[int] = set()
    out: list[Labeled] = []
    for r in base:
        new = by_id.get(r.id) or by_text.get(r.text)
        if new is not None:
            used.add(id(new))
            out.append(new)
        else:
            out.append(r)
    out += [r for r in override if id(r) not in used]
    return out


def data_hash(rows: Iterable[Labeled]) -> str:
    """SHA-256 over (id, text, labels) in order: identifies a training set."""
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([r.id, r.text, list(r.labels)], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


HOLDOUT_PERCENT = 15


def is_holdout(row: Labeled) -> bool:
    """Whether a passage belongs to the fixed held-out split (by a hash of its text)."""
    return int(hashlib.sha256(row.text.encode()).hexdigest()[:8], 16) % 100 < HOLDOUT_PERCENT


def labeler_agreement(folder: Path = config.AGREEMENT_DIR, corpus_dir: Path = config.LABELED_DIR) -> dict | None:
    """Agreement between the corpus labels as first written and an independent second labeling.

    The first labeling is the corpus with the adjudication's changes undone (the relabel log
    records old labels), so the figure describes two independent passes.

    Args:
        folder: holds ``second_labels.jsonl`` (id, labels) and ``relabel_log.jsonl``.
        corpus_dir: the labeled corpus.

    Returns:
        :func:`metrics` of the second labeling against the first (F1 between labelers), or
        ``None`` when there is no second labeling.
    """
    from pipeline.classify.metrics import metrics

    second_path = Path(folder) / "second_labels.jsonl"
    if not second_path.exists():
        return None
    current = {r.id: r.labels for r in load_corpus(corpus_dir)}
    original = dict(current)
    log_path = Path(folder) / "relabel_log.jsonl"
    if log_path.exists():
        # Undo in reverse order: the first "old" of each id is the first labeling.
        entries = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for e in reversed(entries):
            if e["id"] in original:
                original[e["id"]] = tuple(e["old"])
    second = [json.loads(line) for line in second_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    second = [s for s in second if s["id"] in original]
    return metrics([original[s["id"]] for s in second], [s["labels"] for s in second])

"""Labeled passages: read, validate and hash them.

The canonical format is JSON Lines (``id``, ``text``, ``labels`` as a list, ``style``,
``source``). Users' own files may also be (format by :mod:`pipeline.formats`):

- CSV, TSV or XLSX with ``text`` and ``labels`` columns (labels joined by 、, empty or 无 for
  none), review files of ``bulletins review`` (only rows marked ``reviewed`` are labels; the
  review workbook's Chinese headings are mapped back), JSON Lines or a JSON array of such
  records;
- Label Studio exports: JSON (tasks with ``annotations``), JSON-MIN and CSV (one column per
  control, named after it: a choice as a string, several as ``{"choices": [...]}``);
- doccano exports: JSONL, JSON (a list) and CSV, labels in ``label`` (a list; in CSV joined
  by ``#``).

In the tools' exports a passage nobody annotated (no annotation, a cancelled one, no choice
in the categories' control, an empty ``label``) is skipped and counted, never read as "no
category": choose 无 to say a passage reports none. A file in which no row has a label field
at all is refused, naming the file. Every problem in a file is collected and reported
together, with file and row.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import config
from pipeline.errors import InputError, LabeledDataError, UsageError
from pipeline.formats import Table, read_table
from pipeline.taxonomy import CATEGORIES, LABEL_SEP, NONE_LABEL

log = logging.getLogger(__name__)

#: Keys Label Studio's JSON-MIN and CSV exports add beside the task's data and the controls.
LS_META = frozenset(
    {
        "id",
        "annotator",
        "annotation_id",
        "created_at",
        "updated_at",
        "lead_time",
        "agreement",
        "drafts",
        "predictions",
        "annotations",
        "total_annotations",
        "cancelled_annotations",
        "total_predictions",
        "file_upload",
        "inner_id",
        "comment_count",
        "unresolved_comment_count",
        "last_action",
        "updated_by",
        "completed_by",
        "project",
        "meta",
    }
)
#: Keys that mark a flat row as Label Studio's (JSON-MIN, CSV).
LS_MARKERS = frozenset({"annotator", "annotation_id", "lead_time"})
#: The task data key holding the pipeline's own passage id in files written for the tools.
REF_ID = "ref_id"
#: doccano's CSV joins labels with this.
DOCCANO_SEP = "#"


@dataclass(frozen=True)
class Labeled:
    """One labeled passage."""

    id: str
    text: str
    labels: tuple[str, ...]
    style: str = ""
    source: str = ""


@dataclass(frozen=True)
class _Row:
    """A row normalised from any format: ``labels`` None means "not annotated" (skipped)."""

    n: int
    id: Any
    text: Any
    labels: Any
    style: Any = ""
    source: Any = ""


def _split_labels(value, sep: str | None = None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = [str(v).strip() for v in json.loads(text)]
            except (json.JSONDecodeError, TypeError):
                items = [text]
        elif sep is not None:
            items = [t.strip() for t in text.split(sep)]
        else:
            for s in (",", "，", ";", "；", "|", "/", DOCCANO_SEP):
                text = text.replace(s, LABEL_SEP)
            items = [t.strip() for t in text.split(LABEL_SEP)]
    return [i for i in items if i and i != NONE_LABEL]


def _empty(value) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


# --- shapes ------------------------------------------------------------------------------------


def _shape(table: Table) -> str:
    """Which tool wrote the rows: ``label-studio`` (JSON tasks), ``label-studio-flat``
    (JSON-MIN, CSV), ``doccano`` or ``table`` (this project's own)."""
    records = [r for r in table.records if isinstance(r, dict)]
    if any(isinstance(r.get("data"), dict) and ("annotations" in r or "predictions" in r) for r in records):
        return "label-studio"
    keys = set(table.columns)
    if keys & LS_MARKERS:
        return "label-studio-flat"
    if "label" in keys and "labels" not in keys:
        return "doccano"
    return "table"


def _choices_of(value) -> list[str] | None:
    """A Label Studio choices value (JSON-MIN, CSV, or a result's ``value``) as a list."""
    if isinstance(value, dict):
        got = value.get("choices")
        return [str(c) for c in got] if isinstance(got, list) else None
    if isinstance(value, list):
        return [str(c) for c in value]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith(("{", "[")):
            try:
                return _choices_of(json.loads(text))
            except json.JSONDecodeError:
                return None
        return [text]
    return None


def _ls_controls(tasks: list[dict]) -> list[str]:
    """The ``from_name`` of every choices control in a Label Studio JSON export."""
    names: dict[str, None] = {}
    for task in tasks:
        for ann in task.get("annotations") or []:
            for result in ann.get("result") or []:
                if result.get("type") == "choices" or "choices" in (result.get("value") or {}):
                    names[str(result.get("from_name", ""))] = None
    return list(names)


def _pick_control(controls: list[str], from_name: str | None, path: Path) -> str | None:
    if from_name is not None:
        if from_name not in controls:
            raise UsageError(
                f"no choices control named {from_name!r}; the export has {', '.join(controls) or 'none'}",
                path,
                "pass --from-name with one of them",
            )
        return from_name
    if len(controls) > 1:
        raise UsageError(
            f"the Label Studio project has {len(controls)} choices controls ({', '.join(controls)})",
            path,
            "name the one holding the categories with --from-name",
        )
    return controls[0] if controls else None


def _label_studio(table: Table, text_column: str, from_name: str | None, path: Path) -> Iterable[_Row]:
    tasks = [obj for _, obj, _ in table.rows if isinstance(obj, dict)]
    control = _pick_control(_ls_controls(tasks), from_name, path)
    for n, task, _ in table.rows:
        if not isinstance(task, dict):
            continue
        raw = task.get("data")
        data: dict = raw if isinstance(raw, dict) else {}
        text = data.get(text_column)
        if text is None:
            text = next((v for v in data.values() if isinstance(v, str)), "")
        pid = data.get(REF_ID, task.get("id"))
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        labels = None
        if annotations and control is not None:
            latest = max(annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
            for result in latest.get("result") or []:
                if str(result.get("from_name", "")) == control:
                    got = _choices_of(result.get("value"))
                    labels = (labels or []) + (got if got is not None else ["(unreadable choices)"])
        yield _Row(n, pid, text, labels, data.get("style", ""), "label-studio")


def _flat_controls(table: Table, text_column: str) -> list[str]:
    """Columns of a JSON-MIN or CSV export that hold a choices control's values."""
    out = []
    for column in table.columns:
        if column in LS_META or column in (text_column, REF_ID):
            continue
        values = [obj.get(column) for obj in table.records if isinstance(obj, dict)]
        for v in values:
            got = _choices_of(v)
            if got and (isinstance(v, dict) or str(v).lstrip().startswith("{") or all(c in _KNOWN for c in got)):
                out.append(column)
                break
    return out


_KNOWN = frozenset((*CATEGORIES, NONE_LABEL))


def _label_studio_flat(table: Table, text_column: str, from_name: str | None, path: Path) -> Iterable[_Row]:
    controls = _flat_controls(table, text_column)
    if from_name is not None and from_name in table.columns and from_name not in controls:
        controls.append(from_name)
    control = _pick_control(controls, from_name, path)
    for n, obj, _ in table.rows:
        if not isinstance(obj, dict):
            continue
        labels = None
        value = obj.get(control) if control is not None else None
        if not _empty(value):
            got = _choices_of(value)
            labels = got if got is not None else [str(value)]
        yield _Row(
            n, obj.get(REF_ID) or obj.get("id"), obj.get(text_column), labels, obj.get("style", ""), "label-studio"
        )


def _doccano(table: Table, text_column: str) -> Iterable[_Row]:
    sep = DOCCANO_SEP if table.format in ("csv", "tsv", "xlsx") else None
    for n, obj, _ in table.rows:
        if not isinstance(obj, dict):
            continue
        value = obj.get("label")
        labels = None if _empty(value) else _split_labels(value, sep)
        yield _Row(n, obj.get(REF_ID) or obj.get("id"), obj.get(text_column), labels, obj.get("style", ""), "doccano")


def _own(table: Table, text_column: str, path: Path) -> Iterable[_Row]:
    review = "reviewed" in table.columns
    if review and not any(_is_yes(obj.get("reviewed")) for obj in table.records if isinstance(obj, dict)):
        raise InputError(
            "no row is marked reviewed (a review file: only rows a person marked in `reviewed`/已复核 are labels)",
            path,
            "put 是 in `reviewed` for every row you checked, then run again",
        )
    for n, obj, _ in table.rows:
        if not isinstance(obj, dict):
            continue
        if review and not _is_yes(obj.get("reviewed")):
            # The rest of a review file still holds the model's own prediction.
            continue
        labels = obj.get("labels", _MISSING)
        yield _Row(n, obj.get("id"), obj.get(text_column), labels, obj.get("style", ""), obj.get("source", ""))


_MISSING = object()


def _has_label_field(table: Table, shape: str) -> bool:
    keys = set(table.columns)
    if shape == "label-studio":
        return any(isinstance(t, dict) and t.get("annotations") for t in table.records)
    if shape == "label-studio-flat":
        return True  # the control's column is looked for (and its absence reported) later
    if shape == "doccano":
        return "label" in keys
    return "labels" in keys


# --- reading -----------------------------------------------------------------------------------


def read_labeled(
    path: Path, text_column: str = "text", strict: bool = True, from_name: str | None = None
) -> list[Labeled]:
    """Read and validate one labeled file.

    Args:
        path: JSONL, JSON, CSV/TSV or XLSX: this project's format, a review file, or a Label
            Studio or doccano export.
        text_column: the column (or Label Studio data key) holding the passage text.
        strict: raise on any bad row (default); otherwise skip bad rows.
        from_name: the Label Studio choices control holding the categories (needed when a
            project has several).

    Returns:
        The passages. Ids missing in the file are derived from the text's hash. Rows not
        marked reviewed in a review file, and tasks nobody annotated in a tool's export, are
        left out (the count is logged as a warning).

    Raises:
        InputError: the file does not exist or cannot be read; no row of it has a label
            field; a review file with no row marked reviewed.
        UsageError: a Label Studio export with several choices controls and no (or an
            unknown) ``from_name``.
        LabeledDataError: listing every bad row (unknown category, empty text, bad JSON, the
            same text with conflicting labels, one id for two texts).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path, "check the path")
    table = read_table(path, text_column=text_column, headings=True)
    if not table.rows:
        raise InputError("no rows", path, "an empty file holds no labels; nothing was read")
    shape = _shape(table)
    if table.records and not _has_label_field(table, shape):
        raise InputError(
            "no row has a label field (expected a `labels` column, doccano's `label`, or Label Studio annotations)",
            path,
            "label the passages first; nothing was read",
        )
    if shape == "label-studio":
        rows: Iterable[_Row] = _label_studio(table, text_column, from_name, path)
    elif shape == "label-studio-flat":
        rows = _label_studio_flat(table, text_column, from_name, path)
    elif shape == "doccano":
        rows = _doccano(table, text_column)
    else:
        rows = _own(table, text_column, path)
    problems = [(n, f"row {n}: {problem}") for n, obj, problem in table.rows if obj is None]
    out: list[Labeled] = []
    by_text: dict[str, tuple[int, tuple[str, ...]]] = {}
    by_id: dict[str, tuple[int, str]] = {}
    total = skipped = 0
    for row in rows:
        total += 1
        where = f"row {row.n}"
        if row.labels is None:
            skipped += 1
            continue
        text = "" if row.text is None else str(row.text).strip()
        if not text:
            problems.append((row.n, f"{where}: empty text"))
            continue
        if row.labels is _MISSING:
            problems.append((row.n, f"{where}: no `labels` field (use [] or 无 for no category)"))
            continue
        labels = _split_labels(row.labels)
        unknown = [c for c in labels if c not in CATEGORIES]
        if unknown:
            problems.append(
                (row.n, f"{where}: unknown category {'、'.join(unknown)} (expected {'、'.join(CATEGORIES)} or 无)")
            )
            continue
        canon = tuple(c for c in CATEGORIES if c in labels)
        if text in by_text and by_text[text][1] != canon:
            problems.append(
                (
                    row.n,
                    f"{where}: same text as row {by_text[text][0]} with different labels "
                    f"({LABEL_SEP.join(canon) or NONE_LABEL} vs {LABEL_SEP.join(by_text[text][1]) or NONE_LABEL})",
                )
            )
            continue
        pid = str(row.id).strip() if not _empty(row.id) else "sha-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        if pid in by_id and by_id[pid][1] != text:
            problems.append((row.n, f"{where}: id {pid} is already row {by_id[pid][0]}'s, with a different text"))
            continue
        if text in by_text and by_id.get(pid, (0, ""))[1] == text:
            continue  # the same passage twice: once is enough
        by_text[text] = (row.n, canon)
        by_id[pid] = (row.n, text)
        out.append(Labeled(pid, text, canon, str(row.style or ""), str(row.source or path.name)))
    if problems and strict:
        raise LabeledDataError([p for _, p in sorted(problems, key=lambda x: x[0])], path)
    if shape != "table" and total and skipped == total:
        raise InputError(
            f"none of the {total} task(s) is annotated (choose 无 for a passage reporting no category)",
            path,
            "annotate the passages in the tool and export again; nothing was read",
        )
    if skipped and shape != "table":
        log.warning("%s: skipped %d of %d task(s) nobody annotated", path, skipped, total)
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


def id_conflicts(base: Iterable[Labeled], override: Iterable[Labeled]) -> list[str]:
    """Ids of ``override`` that ``base`` uses for another text, one problem line each (a
    user's id colliding with a corpus id would otherwise replace that passage's text)."""
    texts = {r.id: r.text for r in base}
    return [
        f"{r.source}: id {r.id} is the corpus's id of another passage; give the row another id or remove the id"
        for r in override
        if r.id in texts and texts[r.id] != r.text
    ]


def merge(base: list[Labeled], override: list[Labeled]) -> list[Labeled]:
    """``base`` with ``override`` applied: the same id (with the same text) or identical text
    is replaced.

    Args:
        base: e.g. the team corpus.
        override: e.g. a user's labeled file (their label wins); check :func:`id_conflicts`
            first: an id of ``base`` with another text is not a correction of it.

    Returns:
        The merged passages, base order first, new ones at the end.
    """
    by_id = {r.id: r for r in override}
    by_text = {r.text: r for r in override}
    used: set[int] = set()
    out: list[Labeled] = []
    for r in base:
        new = by_text.get(r.text)
        if new is None and r.id in by_id and by_id[r.id].text == r.text:
            new = by_id[r.id]
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

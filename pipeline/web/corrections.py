"""People's corrections as a review file that ``bulletins train`` reads.

The file has the columns of ``bulletins review`` (:data:`pipeline.reports.review_queue.REVIEW_COLUMNS`),
one row per corrected passage (its latest correction), ``labels`` set to the person's labels
and ``reviewed`` filled, so that ``bulletins train FILE`` learns them exactly as it learns a
reviewed queue file. No Starlette here: the CLI and the web view share it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import config
from pipeline.classify.model_files import all_meta
from pipeline.reports.frames import bulletin_label
from pipeline.reports.review_queue import REVIEW_COLUMNS
from pipeline.store.database import latest_corrections
from pipeline.taxonomy import CATEGORIES

#: What ``reviewed`` holds in an exported correction (``bulletins train`` reads any "yes").
REVIEWED = "是"
#: Formats of the export (``bulletins review``'s).
FORMATS = ("xlsx", "csv", "jsonl")


def review_id(sha256: str, index: int) -> str:
    """The stable passage id of review files: the bulletin's hash prefix and the index."""
    return f"{sha256[:12]}-{int(index):03d}"


def corrections_frame(db: Path = config.DB_PATH, models_dir: Path = config.MODELS_DIR) -> pd.DataFrame:
    """The latest correction of every corrected passage, as review-file rows.

    Scores, evidence and context are the passage's current ones when it is still stored
    (empty when its bulletin is gone; the text and labels are kept in any case); ``margin``
    and ``competing`` are computed as the review queue does.

    Args:
        db: the results store.
        models_dir: where model versions (their thresholds) live.

    Returns:
        :data:`REVIEW_COLUMNS`, newest correction first.
    """
    thresholds = {
        m["version"]: m["thresholds"] for _, m in all_meta(models_dir) if "version" in m and "thresholds" in m
    }
    out = []
    for r in latest_corrections(db):
        stored = r["passage_id"] is not None
        version = r["model_version"] if stored else r["corrected_version"]
        scores = {c: r["scores"].get(c) for c in CATEGORIES} if r["scores"] else dict.fromkeys(CATEGORIES)
        margin = competing = None
        if r["scores"]:
            cuts = thresholds.get(version or "", {})
            gaps = [abs(r["scores"].get(c, 0.0) - cuts.get(c, 0.5)) for c in CATEGORIES]
            margin, competing = round(min(gaps), 4), sum(g < 0.15 for g in gaps)
        out.append(
            {
                "id": review_id(r["sha256"], r["index"]),
                "text": r["text"],
                "labels": list(r["labels"]),
                "reviewed": REVIEWED,
                "bulletin": bulletin_label(r["title"] or "", r["year"], r["issue_no"], r["file"] or "")
                if stored
                else "",
                "unit": r["unit"],
                "region": r["region"],
                "date": r["date"],
                "section": r["section"],
                "page": r["page"],
                "file": r["file"],
                "margin": margin,
                "competing": competing,
                "scores": scores,
                "evidence": {c: r["evidence"][c] for c in CATEGORIES if c in r["evidence"]},
                "model_version": version,
            }
        )
    return pd.DataFrame(out, columns=list(REVIEW_COLUMNS))


def export_format(path: Path) -> str:
    """The export's format from its suffix (xlsx, csv or jsonl)."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        from pipeline.errors import UsageError

        raise UsageError(f"expected an output ending in .xlsx, .csv or .jsonl, found {Path(path).name}")
    return fmt


def write_corrections(
    path: Path, db: Path = config.DB_PATH, models_dir: Path = config.MODELS_DIR, frame: pd.DataFrame | None = None
) -> int:
    """Write the corrections as a review file (XLSX, CSV or JSONL by suffix), the way
    ``bulletins review`` writes its queue.

    Args:
        path: the file to write.
        db: the results store.
        models_dir: where model versions live.
        frame: rows of :func:`corrections_frame` (default: computed from ``db``).

    Returns:
        The number of corrected passages written.
    """
    export_format(path)
    if frame is None:
        frame = corrections_frame(db, models_dir)
    from pipeline.classify.predict_io import write_passages  # review files are written by predict's writer

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_passages(frame, Path(path))
    return len(frame)

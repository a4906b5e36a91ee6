"""The review queue: stored passages for a person to label, most informative first.

The queue works like the model-in-the-loop queues of annotation tools (Prodigy, Label
Studio): passages whose scores sit closest to a category's decision threshold come first,
since a person's label there changes the model most. Each row is pre-filled with the current
prediction; the reviewer corrects ``labels``, marks ``reviewed`` and hands the same file to
``bulletins train``, which uses only rows marked reviewed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import config
from pipeline.classify.model_files import all_meta
from pipeline.reports.frames import bulletin_label, scores_frame
from pipeline.taxonomy import CATEGORIES

#: Columns of the review file, in order (scores and evidence follow, flattened in CSV/XLSX).
REVIEW_COLUMNS = (
    "id",
    "text",
    "labels",
    "reviewed",
    "bulletin",
    "unit",
    "region",
    "date",
    "section",
    "page",
    "file",
    "margin",
    "competing",
    "scores",
    "evidence",
    "model_version",
)


def _thresholds(models_dir: Path) -> dict[str, dict[str, float]]:
    """Thresholds of every model version found under ``models_dir``, by version."""
    return {
        meta["version"]: meta["thresholds"]
        for _, meta in all_meta(models_dir)
        if "version" in meta and "thresholds" in meta
    }


def review_queue(
    db: Path = config.DB_PATH, n: int = 200, models_dir: Path = config.MODELS_DIR, model_version: str | None = None
) -> pd.DataFrame:
    """The ``n`` most informative stored passages, pre-filled with the current prediction.

    Informativeness: the smallest distance between a category's score and its threshold
    (``margin``; thresholds from the model's sidecar, 0.5 when the version's folder is gone);
    ties broken by how many categories sit within 0.15 of their thresholds (``competing``),
    then by the stable id, so the same store gives the same queue.

    Args:
        db: the results store.
        n: how many passages.
        models_dir: where to find each model version's thresholds.
        model_version: review this version's predictions (default: each bulletin's current).

    Returns:
        :data:`REVIEW_COLUMNS`; ``id`` is stable across runs (content hash of the bulletin
        file and the passage's index), ``reviewed`` is empty for the reviewer to mark.
    """
    frame = scores_frame(db, model_version)
    if frame.empty:
        return pd.DataFrame(columns=list(REVIEW_COLUMNS))
    known = _thresholds(models_dir)
    margins, competing = [], []
    for scores, version in zip(frame["scores"], frame["model_version"]):
        cuts = known.get(version, {})
        gaps = [abs(scores[c] - cuts.get(c, 0.5)) for c in CATEGORIES]
        margins.append(round(min(gaps), 4))
        competing.append(sum(g < 0.15 for g in gaps))
    frame["margin"], frame["competing"] = margins, competing
    frame["id"] = [f"{sha[:12]}-{int(i):03d}" for sha, i in zip(frame["sha256"], frame["index"])]
    frame["bulletin"] = [
        bulletin_label(t, y, i, f)
        for t, y, i, f in zip(frame["title"], frame["year"], frame["issue_no"], frame["file"])
    ]
    frame["reviewed"] = ""
    frame = frame.sort_values(["margin", "competing", "id"], ascending=[True, False, True], kind="stable")
    return frame.head(n).reset_index(drop=True)[list(REVIEW_COLUMNS)]

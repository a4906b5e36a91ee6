"""The review queue: stored passages for a person to label, most informative first.

The queue works like the model-in-the-loop queues of annotation tools (Prodigy, Label
Studio): passages whose scores sit closest to a category's decision threshold come first,
since a person's label there changes the model most. Each row is pre-filled with the current
prediction; the reviewer corrects ``labels``, marks ``reviewed`` and hands the same file to
``bulletins train``, which uses only rows marked reviewed (and refuses a file with none).

The ranking (:func:`informativeness`, :func:`queue_order`) is also what
``benchmarks/bench_retrain.py`` simulates review rounds with. The file itself is written by
:func:`pipeline.classify.predict_io.write_passages`: in XLSX a workbook made for a labeler
(Chinese headings, drop-downs, the categories' definitions on a second sheet), in CSV/JSON the
columns below, or tasks for Label Studio and doccano.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    margins, competing = informativeness(list(frame["scores"]), [known.get(v, {}) for v in frame["model_version"]])
    frame["margin"], frame["competing"] = margins, competing
    frame["id"] = [f"{sha[:12]}-{int(i):03d}" for sha, i in zip(frame["sha256"], frame["index"])]
    frame["bulletin"] = [
        bulletin_label(t, y, i, f)
        for t, y, i, f in zip(frame["title"], frame["year"], frame["issue_no"], frame["file"])
    ]
    frame["reviewed"] = ""
    order = queue_order(margins, competing, list(frame["id"]))
    return frame.iloc[order[:n]].reset_index(drop=True)[list(REVIEW_COLUMNS)]


#: A category whose score is within this of its threshold is "competing".
COMPETING_GAP = 0.15


def informativeness(
    scores: Sequence[Mapping[str, float]], cuts: Sequence[Mapping[str, float]]
) -> tuple[list[float], list[int]]:
    """How informative a person's label on each passage is.

    Args:
        scores: per passage, category -> score.
        cuts: per passage, category -> threshold of the model that scored it (0.5 where
            unknown).

    Returns:
        ``margin`` (the smallest distance between a category's score and its threshold,
        rounded to 4 places) and ``competing`` (how many categories sit within
        :data:`COMPETING_GAP` of their thresholds), per passage.
    """
    margins, competing = [], []
    for row, cut in zip(scores, cuts):
        gaps = [abs(float(row[c]) - float(cut.get(c, 0.5))) for c in CATEGORIES]
        margins.append(round(min(gaps), 4))
        competing.append(sum(g < COMPETING_GAP for g in gaps))
    return margins, competing


def queue_order(margins: Sequence[float], competing: Sequence[int], ids: Sequence[str]) -> list[int]:
    """Positions in review order: smallest margin first, then most competing categories,
    then the id (so the same scores always give the same queue)."""
    return sorted(range(len(ids)), key=lambda i: (margins[i], -competing[i], str(ids[i])))

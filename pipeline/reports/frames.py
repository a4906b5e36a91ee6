"""Store rows as DataFrames: what counts, issue lists and review queues are built from.

The store hands back rows; naming bulletins for people, sorting and typing columns is
presentation, and lives here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline import config
from pipeline.store.database import label_rows, score_rows
from pipeline.taxonomy import CATEGORIES

#: Columns of :func:`labels_frame`, in order.
LABEL_COLUMNS = (
    "category",
    "passage_id",
    "bulletin_id",
    "file",
    "path",
    "title",
    "year",
    "issue_no",
    "bulletin_date",
    "bulletin",
    "section",
    "subsection",
    "unit",
    "region",
    "date",
    "month",
    "page",
    "index",
    "text",
    "score",
    "evidence",
    "model_version",
)


def bulletin_label(title: str, year: int | None, issue_no: int | None, file: str) -> str:
    """How a bulletin is named in reports: its title and issue, or the file name."""
    issue = ""
    if issue_no is not None and issue_no == issue_no:
        issue = f"{int(year)}年第{int(issue_no)}期" if year is not None and year == year else f"第{int(issue_no)}期"
    if title:
        return f"{title} {issue}".strip()
    return f"{file} {issue}".strip()


def labels_frame(
    db: Path = config.DB_PATH,
    since: str | None = None,
    until: str | None = None,
    categories: Sequence[str] | None = None,
    region: str | None = None,
    model_version: str | None = None,
) -> pd.DataFrame:
    """One row per passage per predicted category: what counts and issue lists are made of.

    The model-version rule: by default each bulletin contributes the predictions of the
    model that classified it last (``bulletins.model_version``); with ``model_version``
    only predictions of that version count, and bulletins it never classified are left
    out. The versions used are in ``frame.attrs["model_versions"]``.

    A passage's date is its event date, or the bulletin's date when the passage names none;
    ``since``/``until`` (ISO dates, inclusive) filter on it and ``month`` is derived from it.

    Args:
        db: the store.
        since: earliest date, ``YYYY-MM-DD``.
        until: latest date, ``YYYY-MM-DD``.
        categories: keep only these categories.
        region: keep only passages of this region (exact name, e.g. ``南充市``).
        model_version: use this version's predictions instead of each bulletin's current.

    Returns:
        A DataFrame with :data:`LABEL_COLUMNS`, sorted by category (canonical order), date,
        bulletin and passage; ``category`` is an ordered categorical over all categories.

    Raises:
        StoreError: no store at ``db``.
    """
    names, rows, versions = label_rows(db, since=since, until=until, region=region, model_version=model_version)
    frame = pd.DataFrame.from_records(rows, columns=names)
    if categories:
        frame = frame[frame["category"].isin(list(categories))]
    frame = frame.astype({"category": "object"})
    for col in ("title", "section", "subsection", "unit", "region", "text", "file", "path", "model_version"):
        frame[col] = frame[col].fillna("").astype(object)
    frame["date"] = frame["date"].astype(object).where(frame["date"].notna(), None)
    frame["bulletin_date"] = frame["bulletin_date"].astype(object).where(frame["bulletin_date"].notna(), None)
    frame["month"] = [d[:7] if d else "" for d in frame["date"]]
    frame["bulletin"] = [
        bulletin_label(t, y, n, f)
        for t, y, n, f in zip(frame["title"], frame["year"], frame["issue_no"], frame["file"])
    ]
    frame["evidence"] = [json.loads(e) if e else [] for e in frame["evidence"]]
    for col in ("year", "issue_no"):
        frame[col] = [None if v is None or v != v else int(v) for v in frame[col]]
    frame["category"] = pd.Categorical(frame["category"], categories=list(CATEGORIES), ordered=True)
    frame = frame.sort_values(
        ["category", "date", "bulletin", "file", "index"],
        na_position="last",
        key=lambda s: s.fillna("") if s.dtype == object else s,
        kind="stable",
    )
    frame = frame.reset_index(drop=True)[list(LABEL_COLUMNS)]
    used = sorted(set(frame["model_version"])) if model_version is None else [model_version]
    frame.attrs["model_versions"] = used
    frame.attrs["store_versions"] = {k: v for k, v in versions.items() if k}
    return frame


def scores_frame(db: Path = config.DB_PATH, model_version: str | None = None) -> pd.DataFrame:
    """One row per classified passage with every category's score (for review queues).

    Args:
        db: the store.
        model_version: this version's predictions (default: each bulletin's current one).

    Returns:
        Columns ``passage_id, sha256, index, text, title, year, issue_no, file, section, unit,
        region, date, page, model_version``, ``scores`` (category -> score), ``labels``
        (predicted, canonical order) and ``evidence`` (predicted category -> terms).

    Raises:
        StoreError: no store at ``db``.
    """
    names, rows = score_rows(db, model_version)
    long = pd.DataFrame.from_records(rows, columns=names)
    keys = [
        "passage_id",
        "sha256",
        "index",
        "text",
        "title",
        "year",
        "issue_no",
        "file",
        "section",
        "unit",
        "region",
        "date",
        "page",
        "model_version",
    ]
    out = []
    for _, group in long.groupby("passage_id", sort=False):
        first = group.iloc[0]
        scores = dict(zip(group["category"], group["score"].astype(float)))
        predicted = set(group.loc[group["predicted"] == 1, "category"])
        evidence = {
            c: json.loads(e) if e else []
            for c, e, p in zip(group["category"], group["evidence"], group["predicted"])
            if p
        }
        out.append(
            {
                **{k: first[k] for k in keys},
                "scores": {c: scores.get(c, 0.0) for c in CATEGORIES},
                "labels": [c for c in CATEGORIES if c in predicted],
                "evidence": {c: evidence[c] for c in CATEGORIES if c in evidence},
            }
        )
    return pd.DataFrame(out, columns=keys + ["scores", "labels", "evidence"])

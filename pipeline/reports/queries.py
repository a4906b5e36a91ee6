"""Queries over the results store: category counts and the issue list (问题清单), and their
exports (table, CSV, JSON, Markdown, XLSX).

Both :func:`counts` and :func:`issues` are computed from :func:`pipeline.reports.frames.labels_frame`
(one row per passage per predicted category) with the same filters, so they always agree:
the count of a category in a group is the number of issue-list rows of that category in
that group. openpyxl is imported here only, and only for XLSX.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline import config
from pipeline.errors import UsageError
from pipeline.reports.frames import labels_frame
from pipeline.taxonomy import CATEGORIES

log = logging.getLogger(__name__)

#: What ``--by`` may name.
BY_FIELDS = ("category", "unit", "region", "month", "bulletin")

#: Columns of :func:`issues`, in order (CSV and JSON use these names).
ISSUE_COLUMNS = (
    "category",
    "region",
    "unit",
    "date",
    "bulletin",
    "page",
    "section",
    "text",
    "evidence",
    "score",
    "file",
    "index",
    "passage_id",
    "model_version",
)
# --- filters -------------------------------------------------------------------------------

_BOUND = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_bound(text: str | None, end: bool = False) -> str | None:
    """An inclusive date bound from ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

    Args:
        text: the bound as typed (``None``: no bound).
        end: the bound closes a range, so ``2021-06`` means ``2021-06-30``.

    Returns:
        ``YYYY-MM-DD`` or ``None``.

    Raises:
        UsageError: not a date.
    """
    if text is None or text == "":
        return None
    m = _BOUND.match(str(text).strip())
    try:
        if not m:
            raise ValueError
        year, month, day = int(m.group(1)), m.group(2), m.group(3)
        if month is None:
            d = dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        elif day is None:
            month = int(month)
            d = dt.date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        else:
            d = dt.date(year, int(month), int(day))
    except ValueError:
        raise UsageError(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, found {text!r}") from None
    return d.isoformat()


def _categories(category: str | Sequence[str] | None) -> list[str] | None:
    if category is None:
        return None
    wanted = [category] if isinstance(category, str) else list(category)
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise UsageError(f"expected a category among {'、'.join(CATEGORIES)}, found {'、'.join(unknown)}")
    return wanted


def select(
    db: Path = config.DB_PATH,
    since: str | None = None,
    until: str | None = None,
    category: str | Sequence[str] | None = None,
    region: str | None = None,
    model_version: str | None = None,
) -> pd.DataFrame:
    """The filtered long frame counts and issues are both made of (one row per passage per
    predicted category); see :func:`pipeline.reports.frames.labels_frame` for the model-version rule.

    Args:
        db: the results store.
        since: earliest date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; inclusive).
        until: latest date (same forms; ``2021-06`` includes all of June).
        category: one category or several.
        region: one region, e.g. ``南充市``.
        model_version: use this model version's predictions.

    Returns:
        The frame; ``attrs["model_versions"]`` lists the versions it holds.
    """
    lo, hi = parse_bound(since), parse_bound(until, end=True)
    if lo and hi and lo > hi:
        raise UsageError(f"--since {since} is after --until {until}")
    frame = labels_frame(
        db, since=lo, until=hi, categories=_categories(category), region=region or None, model_version=model_version
    )
    store_versions = frame.attrs.get("store_versions", {})
    if model_version is None and len(store_versions) > 1:
        log.warning(
            "the store mixes model versions (%s); each bulletin counts with the model that classified it "
            "last; classify the whole archive again, or pass --model-version",
            ", ".join(f"{v}: {n} bulletin(s)" for v, n in store_versions.items()),
        )
    elif model_version is not None and model_version not in store_versions and frame.empty:
        log.warning(
            "no predictions by model version %s in the store (versions: %s)",
            model_version,
            ", ".join(store_versions) or "none",
        )
    return frame


# --- counts --------------------------------------------------------------------------------


def counts_from(frame: pd.DataFrame, by: Sequence[str] = ("category",)) -> pd.DataFrame:
    """Counts per group of a :func:`select` frame.

    Args:
        frame: the long frame.
        by: fields among :data:`BY_FIELDS`, in grouping order.

    Returns:
        The ``by`` columns, ``count`` (passage-category pairs: a passage with two
        categories counts once in each) and ``passages`` (distinct passages); sorted by the
        ``by`` columns, categories in canonical order.
    """
    by = _by(by)
    if frame.empty:
        return pd.DataFrame(
            {
                **{b: pd.Series(dtype=object) for b in by},
                "count": pd.Series(dtype="int64"),
                "passages": pd.Series(dtype="int64"),
            }
        )
    grouped = frame.groupby(by, observed=True, sort=True)
    out = grouped.agg(count=("passage_id", "size"), passages=("passage_id", "nunique")).reset_index()
    if "category" in out:
        out["category"] = out["category"].astype(object)
    return out.astype({"count": "int64", "passages": "int64"})


def counts(
    db: Path = config.DB_PATH,
    by: Sequence[str] = ("category",),
    since: str | None = None,
    until: str | None = None,
    category: str | Sequence[str] | None = None,
    region: str | None = None,
    model_version: str | None = None,
) -> pd.DataFrame:
    """Passages per category (and unit, region, month or bulletin) in the results store.

    Args:
        db: the results store.
        by: fields among :data:`BY_FIELDS`.
        since: earliest date (inclusive).
        until: latest date (inclusive).
        category: keep only this category (or these).
        region: keep only this region.
        model_version: count this model version's predictions (default: each bulletin's
            current version).

    Returns:
        See :func:`counts_from`.

    Raises:
        StoreError: no store at ``db``.
        UsageError: an unknown field, category or date.
    """
    by = _by(by)
    frame = select(db, since, until, category, region, model_version)
    out = counts_from(frame, by)
    out.attrs["model_versions"] = frame.attrs.get("model_versions", [])
    return out


def _by(by: Sequence[str] | str) -> list[str]:
    fields = [by] if isinstance(by, str) else list(by)
    unknown = [b for b in fields if b not in BY_FIELDS]
    if unknown or not fields:
        raise UsageError(f"expected --by among {', '.join(BY_FIELDS)}, found {', '.join(unknown) or 'nothing'}")
    if len(set(fields)) != len(fields):
        raise UsageError(f"--by names a field twice: {' '.join(fields)}")
    return fields


# --- issues --------------------------------------------------------------------------------


def issues_from(frame: pd.DataFrame) -> pd.DataFrame:
    """The issue list of a :func:`select` frame: one row per passage per category."""
    out = frame[list(ISSUE_COLUMNS)].copy()
    out["category"] = out["category"].astype(object)
    return out.reset_index(drop=True)


def issues(
    db: Path = config.DB_PATH,
    since: str | None = None,
    until: str | None = None,
    category: str | Sequence[str] | None = None,
    region: str | None = None,
    model_version: str | None = None,
) -> pd.DataFrame:
    """The aggregate issue list (问题清单): each category's passages with unit, region,
    date, bulletin (title and issue), page, evidence and score.

    Args:
        db: the results store.
        since, until, category, region, model_version: as for :func:`counts`.

    Returns:
        One row per passage per predicted category, columns :data:`ISSUE_COLUMNS`, sorted
        by category (canonical order), date, bulletin and passage.
    """
    frame = select(db, since, until, category, region, model_version)
    out = issues_from(frame)
    out.attrs["model_versions"] = frame.attrs.get("model_versions", [])
    return out


# --- writers -------------------------------------------------------------------------------

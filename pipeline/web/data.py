"""What the pages show, from the report and store modules, cached until the store changes.

Every figure comes from the functions the CLI uses: :func:`pipeline.reports.queries.select`
(the frame ``counts`` and ``issues`` are both made of), :func:`~pipeline.reports.queries.counts_from`,
:func:`~pipeline.reports.queries.issues_from`, :func:`pipeline.reports.review_queue.review_queue`
and the store's row queries. Results are kept in memory, keyed by the store's change counter
(:class:`pipeline.store.database.ChangeWatch`): any commit, by this server's jobs or by a
``bulletins classify`` in a terminal, empties the cache, so a page never shows stale counts.
Concurrent requests for the same figures compute them once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import pandas as pd

from pipeline.errors import UsageError
from pipeline.reports import queries
from pipeline.store import database
from pipeline.taxonomy import CATEGORIES

T = TypeVar("T")
log = logging.getLogger(__name__)

#: ``month`` or ``region`` cell value meaning "empty" (no date, unrecognised unit) in links.
NONE = "none"


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: exactly the options of ``bulletins counts`` and ``issues``."""

    since: str | None = None
    until: str | None = None
    category: str | None = None
    region: str | None = None
    model_version: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """Filters from a page's query string (empty fields are no filter).

        Raises:
            UsageError: an unknown category.
        """

        def get(name: str) -> str | None:
            value = (params.get(name) or "").strip()
            return value or None

        out = cls(get("since"), get("until"), get("category"), get("region"), get("model_version"))
        if out.category is not None and out.category not in CATEGORIES:
            raise UsageError(f"expected a category among {'、'.join(CATEGORIES)}, found {out.category}")
        return out

    def params(self, **more: str | int | None) -> dict[str, str]:
        """Query parameters (set ones only), with ``more`` added or overriding."""
        merged: dict[str, Any] = {**asdict(self), **more}
        return {k: str(v) for k, v in merged.items() if v not in (None, "")}

    def query(self, **more: str | int | None) -> str:
        """``?a=b&…`` for a link, or ``""`` when nothing is set."""
        params = self.params(**more)
        return "?" + urlencode(params) if params else ""

    def cli(self) -> str:
        """The same filters as ``bulletins`` options."""
        parts = []
        for name, value in asdict(self).items():
            if value:
                shown = value if value.replace("-", "").replace(".", "").replace("@", "").isalnum() else repr(value)
                parts.append(f"--{name.replace('_', '-')} {shown}")
        return " ".join(parts)

    @property
    def active(self) -> bool:
        return any(asdict(self).values())

    def without(self, name: str) -> Filters:
        return replace(self, **{name: None})


class Data:
    """The store's figures for the pages, cached per store version.

    Args:
        db: the results store (must exist).
        models_dir: model versions (the review queue reads their thresholds).
        review_size: passages in the review queue.
        size: most results kept.
    """

    def __init__(self, db: Path, models_dir: Path, review_size: int = 200, size: int = 128) -> None:
        self.db, self.models_dir, self.review_size, self.size = Path(db), Path(models_dir), review_size, size
        self.watch = database.ChangeWatch(self.db)
        self._version: int | None = None
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}
        self._review: tuple[int, pd.DataFrame, int] | None = None  # store version, queue, serial
        self._review_thread: threading.Thread | None = None

    def close(self) -> None:
        self.watch.close()

    def cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()``'s result, computed once per store version and key."""
        version = self.watch.version()
        with self._lock:
            if version != self._version:
                self._cache.clear()
                self._version = version
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:  # others asking for the same key wait for this computation
            with self._lock:
                if self._version == version and key in self._cache:
                    return self._cache[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                if self._version == version:
                    self._cache[key] = value
                    while len(self._cache) > self.size:
                        self._cache.popitem(last=False)
        return value

    # --- figures ----------------------------------------------------------------------------

    def totals(self) -> dict[str, int]:
        return self.cached(("totals",), lambda: database.store_totals(self.db))

    def versions(self) -> list[str]:
        """Model versions with predictions in the store."""
        return self.cached(("versions",), lambda: database.prediction_versions(self.db))

    def store_versions(self) -> dict[str, int]:
        """Each bulletin's current model version, with how many bulletins have it."""
        return dict(self.frame(Filters()).attrs.get("store_versions", {}))

    def frame(self, filters: Filters) -> pd.DataFrame:
        """The long frame of ``bulletins counts``/``issues`` for these filters."""
        return self.cached(
            ("frame", filters),
            lambda: queries.select(
                self.db, filters.since, filters.until, filters.category, filters.region, filters.model_version
            ),
        )

    def counts(self, filters: Filters, by: tuple[str, ...]) -> pd.DataFrame:
        """``bulletins counts --by …`` for these filters."""
        return self.cached(("counts", filters, by), lambda: queries.counts_from(self.frame(filters), by))

    def regions(self) -> list[str]:
        """Regions that have classified passages (for the region filter)."""
        return self.cached(("regions",), lambda: sorted({r for r in self.frame(Filters())["region"] if r}, key=str))

    def issue_rows(self, filters: Filters, month: str | None = None, region_none: bool = False) -> pd.DataFrame:
        """The issue-list rows behind a number: the filters, then a month (``none``: no
        date) and an empty region when asked (the values ``counts --by month region`` groups on)."""

        def compute() -> pd.DataFrame:
            frame = self.frame(filters)
            if month is not None:
                frame = frame[frame["month"] == ("" if month == NONE else month)]
            if region_none:
                frame = frame[frame["region"] == ""]
            return queries.issues_from(frame)

        return self.cached(("issues", filters, month, region_none), compute)

    def review(self, wait: float = 0.0) -> tuple[pd.DataFrame | None, bool, int]:
        """``bulletins review``'s queue, in its order, whether it is current, and its serial
        number (a new one per queue computed).

        Scoring every stored passage takes a while on a large store (about 30 s for 28,000
        passages), so the queue is computed in a background thread, one computation at a
        time; until a new one is ready, the last queue computed is returned (``False``: the
        store has changed since), or ``None`` when there is none yet.

        Args:
            wait: seconds to wait for a computation this call starts or finds running.
        """
        version = self.watch.version()
        with self._lock:
            if self._review is not None and self._review[0] == version:
                return self._review[1], True, self._review[2]
            thread = self._review_thread
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=self._compute_review, args=(version,), name="review", daemon=True)
                self._review_thread = thread
                thread.start()
        if wait:
            thread.join(wait)
        with self._lock:
            if self._review is None:
                return None, False, 0
            return self._review[1], self._review[0] == version, self._review[2]

    def _compute_review(self, version: int) -> None:
        from pipeline.reports.review_queue import review_queue

        try:
            frame = review_queue(self.db, n=self.review_size, models_dir=self.models_dir)
        except Exception:  # shown as "not ready"; the next page view tries again
            log.exception("the review queue could not be computed")
            return
        with self._lock:
            serial = self._review[2] + 1 if self._review is not None else 1
            self._review = (version, frame, serial)

    def passage_ids(self) -> dict[str, int]:
        """Review-file id (``sha256[:12]-index``) -> passage id."""
        from pipeline.web.corrections import review_id

        return self.cached(
            ("passage_ids",), lambda: {review_id(s, i): pid for pid, s, i in database.passage_keys(self.db)}
        )

    def corrections(self) -> list[dict]:
        """The latest correction of each corrected passage, newest first."""
        return self.cached(("corrections",), lambda: database.latest_corrections(self.db))

    def corrected_ids(self) -> set[str]:
        """Review-file ids of corrected passages."""
        from pipeline.web.corrections import review_id

        return self.cached(("corrected",), lambda: {review_id(r["sha256"], r["index"]) for r in self.corrections()})

"""The results store: an SQLite file of bulletins, passages, predictions and errors.

This is the only module that imports :mod:`sqlite3`. The schema (``docs/batch.md``):

* ``meta``: ``key``/``value`` pairs, among them ``schema_version``.
* ``bulletins``: one row per distinct file content (SHA-256), with the path it was last read
  from, its metadata, the engine that read it and ``model_version``, the model whose
  predictions are current for it.
* ``passages``: the structured passages of each bulletin (section, unit, region, date, page,
  character offsets, text).
* ``predictions``: one row per passage, model version and category: the score, whether the
  category was predicted and, if so, the evidence terms. Predictions of earlier model
  versions are kept, so switching back to a model costs nothing.
* ``errors``: the last failure per file path (cleared when the file is read successfully).

Every write of one file happens in one transaction: a crash or Ctrl-C loses at most the file
being written. Counts and issue lists are both computed from :func:`labels_frame`, one row
per passage per predicted category, so they always agree.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import config
from pipeline.documents import Bulletin
from pipeline.errors import StoreError
from pipeline.taxonomy import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 2

#: Statements that bring a store of version N to N + 1, applied in order on open, so that
#: an office's existing store keeps its results across upgrades.
_MIGRATIONS: dict[int, str] = {
    1: "ALTER TABLE bulletins ADD COLUMN reader TEXT NOT NULL DEFAULT '';",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bulletins (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    path          TEXT NOT NULL,
    name          TEXT NOT NULL,
    title         TEXT NOT NULL,
    year          INTEGER,
    issue_no      INTEGER,
    issuer        TEXT NOT NULL,
    date          TEXT,
    toc           TEXT NOT NULL,
    sections      TEXT NOT NULL,
    closing       TEXT NOT NULL,
    warnings      TEXT NOT NULL,
    text          TEXT NOT NULL,
    engine        TEXT NOT NULL,
    reader        TEXT NOT NULL DEFAULT '',
    read_at       TEXT NOT NULL,
    model_version TEXT,
    classified_at TEXT
);
CREATE INDEX IF NOT EXISTS bulletins_path ON bulletins(path);
CREATE TABLE IF NOT EXISTS passages (
    id          INTEGER PRIMARY KEY,
    bulletin_id INTEGER NOT NULL REFERENCES bulletins(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    section     TEXT NOT NULL,
    subsection  TEXT NOT NULL,
    unit        TEXT NOT NULL,
    region      TEXT NOT NULL,
    date        TEXT,
    page        INTEGER NOT NULL,
    char_start  INTEGER NOT NULL,
    char_end    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    UNIQUE (bulletin_id, idx)
);
CREATE TABLE IF NOT EXISTS predictions (
    passage_id    INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    category      TEXT NOT NULL,
    score         REAL NOT NULL,
    predicted     INTEGER NOT NULL,
    evidence      TEXT,
    classified_at TEXT NOT NULL,
    PRIMARY KEY (passage_id, model_version, category)
);
CREATE INDEX IF NOT EXISTS predictions_category ON predictions(model_version, category, predicted);
CREATE TABLE IF NOT EXISTS errors (
    path    TEXT PRIMARY KEY,
    sha256  TEXT,
    error   TEXT NOT NULL,
    message TEXT NOT NULL,
    engine  TEXT NOT NULL,
    at      TEXT NOT NULL
);
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredBulletin:
    """What the store knows about one file content."""

    id: int
    sha256: str
    path: str
    model_version: str | None


@dataclass(frozen=True)
class StoredError:
    """The last failure recorded for a path."""

    path: str
    sha256: str | None
    error: str
    message: str
    engine: str
    at: str


class Store:
    """An open results store. Use :func:`open_store`, as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # --- housekeeping ---------------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: committed on success, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- reads ----------------------------------------------------------------------------

    def find(self, sha256: str) -> StoredBulletin | None:
        """The stored bulletin with this content hash, if any."""
        row = self.conn.execute(
            "SELECT id, sha256, path, model_version FROM bulletins WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return StoredBulletin(*row) if row else None

    def find_issue(self, title: str, year: int | None, issue_no: int | None, path: Path | str) -> str | None:
        """The path of a stored bulletin with the same title, year and issue number read from
        another file (another rendition of the same issue), if any."""
        if not title or year is None or issue_no is None:
            return None
        row = self.conn.execute(
            "SELECT path FROM bulletins WHERE title = ? AND year = ? AND issue_no = ? AND path != ?",
            (title, year, issue_no, str(Path(path).resolve())),
        ).fetchone()
        return row[0] if row else None

    def has_predictions(self, bulletin_id: int, model_version: str) -> bool:
        """Whether every passage of a bulletin has predictions by ``model_version``."""
        missing = self.conn.execute(
            "SELECT COUNT(*) FROM passages p WHERE p.bulletin_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM predictions r WHERE r.passage_id = p.id AND r.model_version = ?)",
            (bulletin_id, model_version),
        ).fetchone()[0]
        return missing == 0

    def passages(self, bulletin_id: int) -> list[tuple[int, str]]:
        """``(passage id, text)`` of a bulletin, in order."""
        return self.conn.execute(
            "SELECT id, text FROM passages WHERE bulletin_id = ? ORDER BY idx", (bulletin_id,)
        ).fetchall()

    def errors(self) -> list[StoredError]:
        """The recorded failures, by path."""
        rows = self.conn.execute("SELECT path, sha256, error, message, engine, at FROM errors ORDER BY path")
        return [StoredError(*r) for r in rows]

    def model_versions(self) -> dict[str, int]:
        """Current model version -> number of bulletins it is current for."""
        rows = self.conn.execute("SELECT COALESCE(model_version, ''), COUNT(*) FROM bulletins GROUP BY 1 ORDER BY 1")
        return dict(rows.fetchall())

    # --- writes (each one transaction) ----------------------------------------------------

    def write_bulletin(
        self, bulletin: Bulletin, predictions: pd.DataFrame | None, model_version: str | None, engine: str
    ) -> int:
        """Store a bulletin, its passages and their predictions, replacing any earlier
        content read from the same path or with the same hash.

        Args:
            bulletin: the structured bulletin.
            predictions: :func:`pipeline.model.predict` output, one row per passage in
                order (``None`` for a bulletin without passages, or to store unclassified).
            model_version: the version that made ``predictions`` (``None``: unclassified).
            engine: the PDF engine asked for (the libraries and versions that actually read
                the file are in ``bulletin.reader``).

        Returns:
            The bulletin's id.
        """
        path = str(Path(bulletin.path).resolve())
        with self.transaction() as c:
            # A file whose content changed replaces its earlier version; --force rereads.
            c.execute("DELETE FROM bulletins WHERE path = ? OR sha256 = ?", (path, bulletin.sha256))
            cur = c.execute(
                "INSERT INTO bulletins (sha256, path, name, title, year, issue_no, issuer, date, toc, sections, "
                "closing, warnings, text, engine, reader, read_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    bulletin.sha256,
                    path,
                    Path(path).name,
                    bulletin.title,
                    bulletin.year,
                    bulletin.issue_no,
                    bulletin.issuer,
                    bulletin.date,
                    _dumps(list(bulletin.toc)),
                    _dumps(list(bulletin.sections)),
                    _dumps([list(x) for x in bulletin.closing]),
                    _dumps(list(bulletin.warnings)),
                    bulletin.text,
                    engine,
                    bulletin.reader,
                    _now(),
                ),
            )
            bid = cur.lastrowid
            assert bid is not None  # an INSERT always sets it
            c.executemany(
                "INSERT INTO passages (bulletin_id, idx, section, subsection, unit, region, date, page, char_start, "
                "char_end, text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (bid, p.index, p.section, p.subsection, p.unit, p.region, p.date, p.page, p.start, p.end, p.text)
                    for p in bulletin.passages
                ],
            )
            c.execute("DELETE FROM errors WHERE path = ?", (path,))
            if model_version is not None:
                ids = [r[0] for r in c.execute("SELECT id FROM passages WHERE bulletin_id = ? ORDER BY idx", (bid,))]
                self._insert_predictions(c, bid, ids, predictions, model_version)
        return bid

    def write_predictions(
        self, bulletin_id: int, passage_ids: Sequence[int], predictions: pd.DataFrame, model_version: str
    ) -> None:
        """Store a new model's predictions for a stored bulletin and make them current."""
        with self.transaction() as c:
            self._insert_predictions(c, bulletin_id, list(passage_ids), predictions, model_version)

    def set_current(self, bulletin_id: int, model_version: str) -> None:
        """Make stored predictions of ``model_version`` current for a bulletin."""
        with self.transaction() as c:
            c.execute(
                "UPDATE bulletins SET model_version = ?, classified_at = ? WHERE id = ?",
                (model_version, _now(), bulletin_id),
            )

    def record_error(self, path: Path | str, error: str, message: str, engine: str, sha256: str | None = None) -> None:
        """Record (or replace) the failure of one file.

        Args:
            path: the file.
            error: the error's class name, e.g. ``CorruptFileError``.
            message: the one-line message.
            engine: the PDF engine used.
            sha256: the file's hash, when it could be read.
        """
        message = " ".join(str(message).split())
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO errors (path, sha256, error, message, engine, at) VALUES (?,?,?,?,?,?)",
                (str(Path(path).resolve()), sha256, error, message, engine, _now()),
            )

    def _insert_predictions(
        self,
        c: sqlite3.Connection,
        bid: int,
        ids: list[int],
        predictions: pd.DataFrame | None,
        model_version: str | None,
    ) -> None:
        n = 0 if predictions is None else len(predictions)
        if len(ids) != n:
            raise ValueError(f"{n} prediction rows for {len(ids)} passages")
        if model_version is None:
            raise ValueError("predictions need a model version")
        now = _now()
        rows = []
        columns = (
            ((), (), ())
            if predictions is None
            else (predictions["labels"], predictions["scores"], predictions["evidence"])
        )
        for pid, labels, scores, evidence in zip(ids, *columns):
            chosen = set(labels)
            for cat in CATEGORIES:
                ev = _dumps(list(evidence.get(cat, []))) if cat in chosen else None
                rows.append((pid, model_version, cat, float(scores.get(cat, 0.0)), int(cat in chosen), ev, now))
        c.executemany(
            "INSERT OR REPLACE INTO predictions (passage_id, model_version, category, score, predicted, "
            "evidence, classified_at) VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        c.execute("UPDATE bulletins SET model_version = ?, classified_at = ? WHERE id = ?", (model_version, now, bid))


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _migrate(conn: sqlite3.Connection, found: int) -> None:
    """Bring a store from schema ``found`` to :data:`SCHEMA_VERSION` in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        (current,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        for v in range(int(current), SCHEMA_VERSION):
            conn.execute(_MIGRATIONS[v])
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_store(db: Path = config.DB_PATH, create: bool = True) -> Store:
    """Open (and if needed create) a results store.

    Args:
        db: the SQLite file.
        create: create the file and schema when missing; otherwise a missing file is an
            error (queries never create an empty store by accident).

    Returns:
        The open store (close it, or use it in a ``with`` block).

    Raises:
        StoreError: missing (with ``create=False``), not a store, or a newer schema.
    """
    db = Path(db)
    if not create and not db.exists():
        raise StoreError("no results store here", db, "run `bulletins classify` first, or pass --db FILE")
    if create:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(db, isolation_level=None, timeout=30)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot be opened ({exc})", db, "check the path and its permissions") from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            if tables:
                raise StoreError(
                    "expected a bulletins results store, found another SQLite database",
                    db,
                    "pass --db with a new or existing store file",
                )
            if not create:
                raise StoreError("the results store is empty", db, "run `bulletins classify` first")
            # One script, one transaction: a concurrent creator sees all of it or none.
            conn.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}INSERT OR IGNORE INTO meta (key, value) VALUES "
                f"('schema_version', '{SCHEMA_VERSION}'), ('created', '{_now()}');COMMIT;"
            )
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is not None and int(version[0]) < SCHEMA_VERSION:
            _migrate(conn, int(version[0]))
            version = (str(SCHEMA_VERSION),)
        if version is None or int(version[0]) != SCHEMA_VERSION:
            found = version[0] if version else "none"
            raise StoreError(
                f"expected store schema version {SCHEMA_VERSION}, found {found}",
                db,
                "use the bulletins version that wrote it, or classify into a new --db",
            )
        if create:
            # Write-ahead log: a commit per file costs no fsync, readers (counts) never wait
            # for the batch, and a crash still loses nothing committed.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(
            f"expected an SQLite results store, found something else ({exc})",
            db,
            "pass --db with a new or existing store file",
        ) from None
    except BaseException:
        conn.close()
        raise
    return Store(conn, db)


# --- queries -------------------------------------------------------------------------------

_LABELS_SQL = """
SELECT r.category, p.id AS passage_id, b.id AS bulletin_id, b.name AS file, b.path, b.title, b.year, b.issue_no,
       b.date AS bulletin_date, p.section, p.subsection, p.unit, p.region, COALESCE(p.date, b.date) AS date,
       p.page, p.idx AS "index", p.text, r.score, r.evidence, r.model_version
FROM predictions r
JOIN passages p ON p.id = r.passage_id
JOIN bulletins b ON b.id = p.bulletin_id
WHERE r.predicted = 1
  AND r.model_version = COALESCE(:version, b.model_version)
  AND (:since IS NULL OR COALESCE(p.date, b.date) >= :since)
  AND (:until IS NULL OR COALESCE(p.date, b.date) <= :until)
  AND (:region IS NULL OR p.region = :region)
"""


def label_rows(
    db: Path,
    since: str | None = None,
    until: str | None = None,
    region: str | None = None,
    model_version: str | None = None,
) -> tuple[list[str], list[tuple], dict[str, int]]:
    """Rows of every predicted (passage, category) under the model-version rule of
    :func:`pipeline.reports.frames.labels_frame`.

    Returns:
        Column names, rows, and the store's model versions with their bulletin counts.

    Raises:
        StoreError: no store at ``db``.
    """
    with open_store(db, create=False) as st:
        cur = st.conn.execute(_LABELS_SQL, {"version": model_version, "since": since, "until": until, "region": region})
        names = [d[0] for d in cur.description]
        return names, cur.fetchall(), st.model_versions()


_SCORES_SQL = """
SELECT p.id AS passage_id, b.sha256 AS sha256, p.idx AS "index", p.text AS text, b.title AS title, b.year AS year,
       b.issue_no AS issue_no, b.name AS file, p.section AS section, p.unit AS unit, p.region AS region,
       COALESCE(p.date, b.date) AS date, p.page AS page, pr.model_version AS model_version,
       pr.category AS category, pr.score AS score, pr.predicted AS predicted, pr.evidence AS evidence
FROM passages p
JOIN bulletins b ON b.id = p.bulletin_id
JOIN predictions pr ON pr.passage_id = p.id AND pr.model_version = COALESCE(:version, b.model_version)
ORDER BY b.sha256, p.idx
"""


def score_rows(db: Path, model_version: str | None = None) -> tuple[list[str], list[tuple]]:
    """Rows of every (passage, category) score of a model version (default: each bulletin's
    current one), ordered by bulletin and passage.

    Raises:
        StoreError: no store at ``db``.
    """
    with open_store(db, create=False) as st:
        cur = st.conn.execute(_SCORES_SQL, {"version": model_version})
        return [d[0] for d in cur.description], cur.fetchall()


def errors(db: Path = config.DB_PATH) -> list[StoredError]:
    """The failures recorded in a store (last one per path)."""
    with open_store(db, create=False) as st:
        return st.errors()

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
* ``corrections``: people's corrections of a passage's labels (with reviewer and time), keyed
  by the bulletin's content hash and the passage's index; the latest per passage counts.

A batch commits each file as soon as it is read, before the model has classified it: the
structured bulletin is *staged* as JSON in ``meta`` (key ``staged:<sha256>:<run>``), so a
bulletin stored in ``bulletins`` is always whole (passages and current predictions). A run
that dies (killed, power loss) leaves its staged reads; the next run that meets the same
file classifies the staged bulletin without reading the file again.

Every write of one file happens in one transaction: a crash or Ctrl-C loses at most the file
being written. Counts and issue lists are both computed from :func:`labels_frame`, one row
per passage per predicted category, so they always agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import config
from pipeline.documents import Bulletin, Passage
from pipeline.errors import StoreError
from pipeline.taxonomy import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 3

#: People's corrections of a passage's labels (the web view's 校正), one row per correction:
#: the latest per passage counts. Keyed by the bulletin's content hash and the passage's index,
#: not by row ids, so that a correction survives the bulletin being read again (``--force``);
#: the text is kept so that corrections stay usable for training even if the bulletin is gone.
_CORRECTIONS = """
CREATE TABLE IF NOT EXISTS corrections (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    text          TEXT NOT NULL,
    labels        TEXT NOT NULL,
    model_version TEXT,
    predicted     TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    at            TEXT NOT NULL
);"""

#: Statements that bring a store of version N to N + 1, applied in order on open, so that
#: an office's existing store keeps its results across upgrades.
_MIGRATIONS: dict[int, str] = {
    1: "ALTER TABLE bulletins ADD COLUMN reader TEXT NOT NULL DEFAULT '';",
    2: _CORRECTIONS,
}

_SCHEMA = f"""
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
{_CORRECTIONS}
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
            (title, year, issue_no, store_path(path)),
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

    def passage_count(self, bulletin_id: int) -> int:
        """How many passages a bulletin has."""
        return self.conn.execute("SELECT COUNT(*) FROM passages WHERE bulletin_id = ?", (bulletin_id,)).fetchone()[0]

    def passage_slice(self, bulletin_id: int, after: int, limit: int) -> list[tuple[int, int, str]]:
        """``(passage id, index, text)`` of up to ``limit`` passages of a bulletin whose index
        is above ``after``, in order: a large bulletin read back a chunk at a time."""
        return self.conn.execute(
            "SELECT id, idx, text FROM passages WHERE bulletin_id = ? AND idx > ? ORDER BY idx LIMIT ?",
            (bulletin_id, after, limit),
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
        self,
        bulletin: Bulletin,
        predictions: pd.DataFrame | None,
        model_version: str | None,
        engine: str,
        *,
        unique_issue: bool = False,
    ) -> int | None:
        """Store a bulletin, its passages and their predictions, replacing any earlier
        content read from the same path or with the same hash.

        Args:
            bulletin: the structured bulletin.
            predictions: :func:`pipeline.model.predict` output, one row per passage in
                order (``None`` for a bulletin without passages, or to store unclassified).
            model_version: the version that made ``predictions`` (``None``: unclassified).
            engine: the PDF engine asked for (the libraries and versions that actually read
                the file are in ``bulletin.reader``).
            unique_issue: store nothing when another file (other path, other content) of
                the same title, year and issue number is stored: it is another rendition of
                the same issue. Checked inside the write's transaction, so that two batches
                running at once cannot both store an issue.

        Returns:
            The bulletin's id; ``None`` when ``unique_issue`` found the issue stored.
        """
        path = store_path(bulletin.path)
        with self.transaction() as c:
            if unique_issue and bulletin.title and bulletin.year is not None and bulletin.issue_no is not None:
                twin = c.execute(
                    "SELECT 1 FROM bulletins WHERE title = ? AND year = ? AND issue_no = ? AND path != ? "
                    "AND sha256 != ? LIMIT 1",
                    (bulletin.title, bulletin.year, bulletin.issue_no, path, bulletin.sha256),
                ).fetchone()
                if twin is not None:
                    c.execute("DELETE FROM meta WHERE key >= ? AND key < ?", _staged_range(bulletin.sha256))
                    return None
            c.execute("DELETE FROM meta WHERE key >= ? AND key < ?", _staged_range(bulletin.sha256))
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
        self,
        bulletin_id: int,
        passage_ids: Sequence[int],
        predictions: pd.DataFrame,
        model_version: str,
        *,
        current: bool = True,
        sha256: str | None = None,
    ) -> bool:
        """Store a model's predictions for (some of) a stored bulletin's passages, and make
        that model current for the bulletin.

        Args:
            bulletin_id: the bulletin.
            passage_ids: its passages the predictions are for, in order.
            predictions: one row per passage.
            model_version: the version that made them.
            current: make ``model_version`` current for the bulletin (the last chunk of a
                bulletin classified in chunks; earlier chunks are stored but not current).
            sha256: the content the passages were stored from; when given, nothing is
                written if the bulletin was replaced meanwhile (another run read it again).

        Returns:
            Whether the predictions were written (``False``: the bulletin or its passages
            are gone, replaced by a concurrent run, which classifies them itself).
        """
        ids = list(passage_ids)
        with self.transaction() as c:
            row = c.execute("SELECT sha256 FROM bulletins WHERE id = ?", (bulletin_id,)).fetchone()
            if row is None or (sha256 is not None and row[0] != sha256):
                return False
            unique = sorted(set(ids))
            mine = 0
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                mine += c.execute(
                    f"SELECT COUNT(*) FROM passages WHERE bulletin_id = ? AND id IN ({','.join('?' * len(part))})",
                    (bulletin_id, *part),
                ).fetchone()[0]
            if mine != len(unique):
                return False
            self._insert_predictions(c, bulletin_id, ids, predictions, model_version, current=current)
        return True

    def set_current(self, bulletin_id: int, model_version: str) -> None:
        """Make stored predictions of ``model_version`` current for a bulletin."""
        with self.transaction() as c:
            c.execute(
                "UPDATE bulletins SET model_version = ?, classified_at = ? WHERE id = ?",
                (model_version, _now(), bulletin_id),
            )

    # --- staged reads: a batch's bulletins read but not yet classified ---------------------

    def stage(self, bulletin: Bulletin, engine: str, run: str) -> None:
        """Commit a bulletin just read, before it is classified (one transaction): kept in
        ``meta`` until :meth:`write_bulletin` stores it whole, so that the reading survives
        the process dying before the model call.

        Args:
            bulletin: the structured bulletin.
            engine: the PDF engine asked for.
            run: the batch run's id (see :meth:`drop_staged`).
        """
        record = {"run": run, "engine": engine, "path": store_path(bulletin.path), "at": _now()}
        # ASCII JSON: a file name's undecodable bytes (lone surrogates) survive the round trip.
        value = json.dumps({**record, "bulletin": _to_json(bulletin)}, ensure_ascii=True)
        low, high = _staged_range(bulletin.sha256)
        with self.transaction() as c:
            c.execute("DELETE FROM meta WHERE key >= ? AND key < ?", (low, high))
            c.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"{low}{run}", value))

    def staged(self, sha256: str, path: Path | str) -> Bulletin | None:
        """A bulletin of this content staged by an earlier run that never stored it, as read
        then (now at ``path``), or ``None``."""
        low, high = _staged_range(sha256)
        row = self.conn.execute("SELECT value FROM meta WHERE key >= ? AND key < ? LIMIT 1", (low, high)).fetchone()
        if row is None:
            return None
        try:
            return dataclasses.replace(_from_json(json.loads(row[0])["bulletin"]), path=Path(path))
        except (ValueError, KeyError, TypeError):  # written by another version: read the file again
            return None

    def drop_staged(self, run: str) -> None:
        """Forget the staged reads of ``run`` that were not stored (after an error the run
        reported, its unclassified files are read again next time, as before staging)."""
        with self.transaction() as c:
            c.execute("DELETE FROM meta WHERE key >= 'staged:' AND key < 'staged;' AND key LIKE ?", (f"%:{run}",))

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
                (store_path(path), sha256, error, message, engine, _now()),
            )

    def record_correction(self, passage_id: int, labels: Sequence[str], reviewer: str) -> int:
        """Record a person's labels for a stored passage (one transaction).

        The passage is kept by its bulletin's content hash and index with its text, so the
        correction survives the bulletin being read again. The model's labels at the time
        (the bulletin's current version) are kept beside it.

        Args:
            passage_id: the passage.
            labels: the correct categories (any order; empty: none of them).
            reviewer: who corrected it.

        Returns:
            The correction's id.

        Raises:
            StoreError: no such passage, an unknown category or no reviewer.
        """
        unknown = [c for c in labels if c not in CATEGORIES]
        if unknown:
            raise StoreError(f"expected categories among {'、'.join(CATEGORIES)}, found {'、'.join(unknown)}")
        reviewer = " ".join(str(reviewer).split())
        if not reviewer:
            raise StoreError("a correction needs the reviewer's name")
        chosen = [c for c in CATEGORIES if c in set(labels)]
        with self.transaction() as c:
            row = c.execute(
                "SELECT b.sha256, p.idx, p.text, b.model_version FROM passages p JOIN bulletins b "
                "ON b.id = p.bulletin_id WHERE p.id = ?",
                (passage_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no passage {passage_id} in the store", self.path, "reload the page")
            sha, idx, text, version = row
            predicted = [
                r[0]
                for r in c.execute(
                    "SELECT category FROM predictions WHERE passage_id = ? AND model_version = ? AND predicted = 1",
                    (passage_id, version),
                )
            ]
            cur = c.execute(
                "INSERT INTO corrections (sha256, idx, text, labels, model_version, predicted, reviewer, at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    sha,
                    idx,
                    text,
                    _dumps(chosen),
                    version,
                    _dumps([c_ for c_ in CATEGORIES if c_ in predicted]),
                    reviewer,
                    _now(),
                ),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def _insert_predictions(
        self,
        c: sqlite3.Connection,
        bid: int,
        ids: list[int],
        predictions: pd.DataFrame | None,
        model_version: str | None,
        current: bool = True,
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
        if current:
            c.execute(
                "UPDATE bulletins SET model_version = ?, classified_at = ? WHERE id = ?", (model_version, now, bid)
            )


def _staged_range(sha256: str) -> tuple[str, str]:
    """Keys ``staged:<sha256>:<run>`` of one content lie in ``[low, high)``."""
    return f"staged:{sha256}:", f"staged:{sha256};"


_PASSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Passage))


def _to_json(bulletin: Bulletin) -> dict:
    out = {f.name: getattr(bulletin, f.name) for f in dataclasses.fields(Bulletin) if f.name != "passages"}
    out["path"] = str(bulletin.path)
    out["passages"] = [[getattr(p, name) for name in _PASSAGE_FIELDS] for p in bulletin.passages]
    return out


def _from_json(data: dict) -> Bulletin:
    data = dict(data)
    passages = tuple(Passage(**dict(zip(_PASSAGE_FIELDS, row))) for row in data.pop("passages"))
    data["closing"] = tuple(tuple(x) for x in data["closing"])
    for name in ("toc", "sections", "warnings"):
        data[name] = tuple(data[name])
    return Bulletin(**{**data, "path": Path(data["path"]), "passages": passages})


def store_path(path: Path | str) -> str:
    """The absolute path the store keeps for a file: symbolic links resolved without ever
    raising (a link loop is kept as written, ``Path.resolve`` would raise), and bytes of the
    name that are not UTF-8 written as ``\\xNN`` escapes (SQLite text must be UTF-8)."""
    real = os.path.realpath(os.fspath(path))
    try:
        real.encode("utf-8")
    except UnicodeEncodeError:
        real = os.fsencode(real).decode("utf-8", "backslashreplace")
    return real


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


# --- the web view: passages, corrections, change detection ---------------------------------


def store_totals(db: Path) -> dict[str, int]:
    """How much the store holds: ``bulletins``, ``passages``, ``errors`` and ``corrections``
    (distinct corrected passages).

    Raises:
        StoreError: no store at ``db``.
    """
    with open_store(db, create=False) as st:
        one = st.conn.execute
        return {
            "bulletins": one("SELECT COUNT(*) FROM bulletins").fetchone()[0],
            "passages": one("SELECT COUNT(*) FROM passages").fetchone()[0],
            "errors": one("SELECT COUNT(*) FROM errors").fetchone()[0],
            "corrections": one("SELECT COUNT(*) FROM (SELECT 1 FROM corrections GROUP BY sha256, idx)").fetchone()[0],
        }


def prediction_versions(db: Path) -> list[str]:
    """Every model version with predictions in the store, by name."""
    with open_store(db, create=False) as st:
        return [r[0] for r in st.conn.execute("SELECT DISTINCT model_version FROM predictions ORDER BY 1")]


def stored_paths(db: Path) -> list[str]:
    """The path each stored bulletin was last read from, in order."""
    with open_store(db, create=False) as st:
        return [r[0] for r in st.conn.execute("SELECT path FROM bulletins ORDER BY path")]


def passage_keys(db: Path) -> list[tuple[int, str, int]]:
    """``(passage id, bulletin sha256, passage index)`` of every stored passage."""
    with open_store(db, create=False) as st:
        return st.conn.execute(
            "SELECT p.id, b.sha256, p.idx FROM passages p JOIN bulletins b ON b.id = p.bulletin_id"
        ).fetchall()


_PASSAGE_SQL = """
SELECT p.id AS passage_id, p.bulletin_id, p.idx AS "index", p.section, p.subsection, p.unit, p.region,
       p.date AS event_date, COALESCE(p.date, b.date) AS date, p.page, p.char_start, p.char_end, p.text,
       b.sha256, b.name AS file, b.path, b.title, b.year, b.issue_no, b.issuer, b.date AS bulletin_date,
       b.model_version, b.classified_at, b.engine, b.reader
FROM passages p JOIN bulletins b ON b.id = p.bulletin_id
WHERE p.id = ?
"""


def passage_detail(db: Path, passage_id: int) -> dict | None:
    """One passage in its bulletin: the passage and bulletin fields, the passages just before
    and after it, its predictions by every model version and its corrections.

    Returns:
        ``None`` when there is no such passage; else the columns of the passage query and
        ``before``/``after`` (``{"passage_id", "index", "section", "text"}`` or ``None``),
        ``predictions`` (model version -> category -> ``{"score", "predicted", "evidence"}``)
        and ``corrections`` (newest first: ``id, labels, predicted, model_version, reviewer, at``).

    Raises:
        StoreError: no store at ``db``.
    """
    with open_store(db, create=False) as st:
        cur = st.conn.execute(_PASSAGE_SQL, (passage_id,))
        row = cur.fetchone()
        if row is None:
            return None
        out = dict(zip([d[0] for d in cur.description], row))
        near_sql = (
            "SELECT id, idx, section, text FROM passages WHERE bulletin_id = ? AND idx {} ? ORDER BY idx {} LIMIT 1"
        )
        for key, sql in (("before", near_sql.format("<", "DESC")), ("after", near_sql.format(">", "ASC"))):
            near = st.conn.execute(sql, (out["bulletin_id"], out["index"])).fetchone()
            out[key] = dict(zip(("passage_id", "index", "section", "text"), near)) if near else None
        predictions: dict[str, dict[str, dict]] = {}
        for version, category, score, predicted, evidence in st.conn.execute(
            "SELECT model_version, category, score, predicted, evidence FROM predictions WHERE passage_id = ? "
            "ORDER BY model_version",
            (passage_id,),
        ):
            predictions.setdefault(version, {})[category] = {
                "score": float(score),
                "predicted": bool(predicted),
                "evidence": json.loads(evidence) if evidence else [],
            }
        out["predictions"] = {v: {c: cats[c] for c in CATEGORIES if c in cats} for v, cats in predictions.items()}
        out["corrections"] = [
            {
                "id": i,
                "labels": json.loads(labels),
                "predicted": json.loads(predicted),
                "model_version": version,
                "reviewer": reviewer,
                "at": at,
            }
            for i, labels, predicted, version, reviewer, at in st.conn.execute(
                "SELECT id, labels, predicted, model_version, reviewer, at FROM corrections "
                "WHERE sha256 = ? AND idx = ? ORDER BY id DESC",
                (out["sha256"], out["index"]),
            )
        ]
        return out


_CORRECTIONS_SQL = """
SELECT c.id, c.sha256, c.idx AS "index", c.text, c.labels, c.predicted, c.model_version AS corrected_version,
       c.reviewer, c.at, p.id AS passage_id, b.title, b.year, b.issue_no, b.name AS file, p.section, p.unit,
       p.region, COALESCE(p.date, b.date) AS date, p.page, b.model_version
FROM corrections c
LEFT JOIN bulletins b ON b.sha256 = c.sha256
LEFT JOIN passages p ON p.bulletin_id = b.id AND p.idx = c.idx
WHERE c.id IN (SELECT MAX(id) FROM corrections GROUP BY sha256, idx)
ORDER BY c.id DESC
"""


def latest_corrections(db: Path) -> list[dict]:
    """The latest correction of each corrected passage, newest first.

    Each record has the correction (``id, sha256, index, text, labels, predicted,
    corrected_version, reviewer, at``), the passage's context when it is still stored
    (``passage_id, title, year, issue_no, file, section, unit, region, date, page`` and
    ``model_version``, the bulletin's current version; ``None`` when gone) and that
    version's ``scores`` (category -> score) and ``evidence`` (predicted category -> terms).

    Raises:
        StoreError: no store at ``db``.
    """
    with open_store(db, create=False) as st:
        cur = st.conn.execute(_CORRECTIONS_SQL)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        by_passage = {r["passage_id"]: r for r in rows if r["passage_id"] is not None}
        for r in rows:
            r["labels"], r["predicted"] = json.loads(r["labels"]), json.loads(r["predicted"])
            r["scores"], r["evidence"] = {}, {}
        ids = list(by_passage)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for pid, category, score, predicted, evidence in st.conn.execute(
                "SELECT r.passage_id, r.category, r.score, r.predicted, r.evidence FROM predictions r "
                "JOIN passages p ON p.id = r.passage_id JOIN bulletins b ON b.id = p.bulletin_id "
                f"WHERE r.model_version = b.model_version AND r.passage_id IN ({marks})",
                chunk,
            ):
                rec = by_passage[pid]
                rec["scores"][category] = float(score)
                if predicted:
                    rec["evidence"][category] = json.loads(evidence) if evidence else []
        return rows


class ChangeWatch:
    """Tells whether anyone changed the store: SQLite's ``PRAGMA data_version`` on a
    connection of its own, which changes whenever another connection commits.

    Cheap (no table is read), and safe to share between threads. The store must exist.

    Args:
        db: the store.
    """

    def __init__(self, db: Path) -> None:
        with open_store(db, create=False):
            pass  # refuse a missing or foreign file (sqlite3.connect would create one)
        self._conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()

    def version(self) -> int:
        """A number that differs after every commit by another connection."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

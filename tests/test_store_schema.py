"""The results store: schema, refusal of foreign files, atomic writes, the model-version rule."""

from __future__ import annotations

import sqlite3

import pytest

from helpers.storekit import CueModel, cue_predict, write_archive
from pipeline.batch import classify
from pipeline.errors import StoreError
from pipeline.ingest import read_bulletin
from pipeline.reports.frames import LABEL_COLUMNS, labels_frame
from pipeline.store.database import SCHEMA_VERSION, Store, open_store
from pipeline.taxonomy import CATEGORIES


@pytest.fixture
def archive(tmp_path):
    return write_archive(tmp_path / "archive")


def run(paths, db, version="cues@1", **kwargs):
    return classify(paths, db=db, jobs=1, model=CueModel(version), predict=cue_predict, quiet=True, **kwargs)


def test_store_schema_created_with_version(tmp_path):
    db = tmp_path / "new" / "results.db"
    with open_store(db) as st:
        tables = {r[0] for r in st.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = st.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert tables == {"meta", "bulletins", "passages", "predictions", "errors", "corrections"}
    assert version == str(SCHEMA_VERSION)
    with open_store(db) as st:  # reopening keeps it
        assert st.model_versions() == {}


def test_store_query_of_missing_store_is_refused(tmp_path):
    with pytest.raises(StoreError, match="missing.db: no results store here; run `bulletins classify` first"):
        labels_frame(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_store_foreign_files_refused(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("not a database at all " * 100, encoding="utf-8")
    with pytest.raises(StoreError, match="notes.db: expected an SQLite results store, found something else"):
        open_store(text)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="other.db: expected a bulletins results store, found another SQLite"):
        open_store(other)


def test_store_newer_schema_refused(tmp_path):
    db = tmp_path / "results.db"
    with open_store(db) as st:
        st.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=f"expected store schema version {SCHEMA_VERSION}, found 99"):
        open_store(db)


def test_store_write_is_atomic(archive, tmp_path, monkeypatch):
    db = tmp_path / "results.db"
    bulletin = read_bulletin(archive[0])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_insert_predictions", broken)
    with open_store(db) as st:
        with pytest.raises(RuntimeError, match="disk full"):
            st.write_bulletin(
                bulletin, cue_predict(CueModel(), [p.text for p in bulletin.passages]), "cues@1", "pdfplumber"
            )
        # Neither the bulletin nor its passages were half-written.
        assert st.conn.execute("SELECT COUNT(*) FROM bulletins").fetchone()[0] == 0
        assert st.conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == 0


def test_store_predictions_one_row_per_category(archive, tmp_path):
    db = tmp_path / "results.db"
    run(archive, db)
    with open_store(db) as st:
        n_passages = st.conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        rows = st.conn.execute("SELECT category, predicted, evidence FROM predictions").fetchall()
    assert n_passages == 8
    assert len(rows) == 8 * len(CATEGORIES)
    assert sum(p for _, p, _ in rows) == 8  # cue labels of the archive
    assert all((ev is not None) == bool(p) for _, p, ev in rows)


def test_store_labels_frame_columns_and_order(archive, tmp_path):
    db = tmp_path / "results.db"
    run(archive, db)
    frame = labels_frame(db)
    assert tuple(frame.columns) == LABEL_COLUMNS
    assert list(frame["category"].astype(str)) == [
        "作风不优",
        "作风不优",
        "本领不强",
        "本领不强",
        "担当不力",
        "执法不廉",
        "执法不廉",
        "职责不明",
    ]
    first = frame.iloc[0]
    assert (first["unit"], first["region"], first["date"], first["month"], first["page"]) == (
        "南充市交通运输综合行政执法支队",
        "南充市",
        "2021-06-08",
        "2021-06",
        1,
    )
    assert first["bulletin"] == "南充市交通运输执法领域突出问题专项整治行动工作简报 2021年第1期"
    assert first["evidence"] == ["粗暴执法", "态度生硬"] and first["score"] == pytest.approx(0.9)
    assert frame.attrs["model_versions"] == ["cues@1"]


def test_store_model_version_rule(archive, tmp_path):
    """Each bulletin counts with the model that classified it last; --model-version pins one."""
    db = tmp_path / "results.db"
    run(archive, db, "cues@1")
    run(archive[:1], db, "cues@2")  # only the first bulletin re-classified
    frame = labels_frame(db)
    by_file = frame.groupby("file")["model_version"].agg(set).to_dict()
    assert by_file == {
        "南充市-2021-01.txt": {"cues@2"},
        "南充市-2021-02.txt": {"cues@1"},
        "绵阳市-2021-03.txt": {"cues@1"},
    }
    assert frame.attrs["store_versions"] == {"cues@1": 2, "cues@2": 1}
    pinned = labels_frame(db, model_version="cues@2")
    assert set(pinned["file"]) == {"南充市-2021-01.txt"}
    assert len(labels_frame(db, model_version="cues@1")) == len(frame)  # old predictions are kept


def test_store_older_schema_migrated_keeping_results(archive, tmp_path):
    db = tmp_path / "v1.db"
    run(archive, db)
    with open_store(db) as st:  # back to version 1: no reader column
        st.conn.execute("ALTER TABLE bulletins DROP COLUMN reader")
        st.conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        before = st.conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    with open_store(db, create=False) as st:
        assert st.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION
        )
        assert st.conn.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == before > 0
        assert {r[0] for r in st.conn.execute("SELECT reader FROM bulletins")} == {""}


def test_store_records_reader_version(archive, tmp_path):
    db = tmp_path / "r.db"
    run(archive, db)
    with open_store(db) as st:
        readers = {r[0] for r in st.conn.execute("SELECT reader FROM bulletins")}
    assert readers == {"text utf-8"}

"""Incremental batches: unchanged files skipped, a new model re-classifies stored passages
without reading files again, --force redoes everything, changed and duplicate files."""

from __future__ import annotations

import shutil

import pytest

import pipeline.batch as batch
import pipeline.ingest as ingest
from helpers.storekit import CueModel, cue_predict, write_archive
from pipeline.batch import classify
from pipeline.reports.frames import labels_frame
from pipeline.store.database import open_store


@pytest.fixture
def archive(tmp_path):
    write_archive(tmp_path / "archive")
    return tmp_path / "archive"


@pytest.fixture
def reads(monkeypatch):
    """Count the files the batch reads (jobs=1 reads in this process)."""
    seen = []
    real = ingest.read_bulletin

    def counting(path, password=None, engine="pdfplumber"):
        seen.append(path.name)
        return real(path, password=password, engine=engine)

    monkeypatch.setattr(ingest, "read_bulletin", counting)
    return seen


def run(paths, db, version="cues@1", predict=cue_predict, **kwargs):
    return classify(
        paths if isinstance(paths, list) else [paths],
        db=db,
        jobs=1,
        model=CueModel(version),
        predict=predict,
        quiet=True,
        **kwargs,
    )


def table(db):
    with open_store(db) as st:
        return {
            name: (version, n)
            for name, version, n in st.conn.execute(
                "SELECT b.name, b.model_version, COUNT(p.id) FROM bulletins b LEFT JOIN passages p "
                "ON p.bulletin_id = b.id GROUP BY b.id ORDER BY b.name"
            )
        }


def test_batch_first_run_reads_everything(archive, tmp_path, reads):
    s = run(archive, tmp_path / "r.db")
    assert (s.total, s.read, s.reclassified, s.unchanged, s.failed, s.passages) == (3, 3, 0, 0, (), 8)
    assert sorted(reads) == ["南充市-2021-01.txt", "南充市-2021-02.txt", "绵阳市-2021-03.txt"]
    assert table(tmp_path / "r.db") == {
        "南充市-2021-01.txt": ("cues@1", 3),
        "南充市-2021-02.txt": ("cues@1", 2),
        "绵阳市-2021-03.txt": ("cues@1", 3),
    }


def test_batch_unchanged_files_skipped(archive, tmp_path, reads):
    db = tmp_path / "r.db"
    run(archive, db)
    reads.clear()
    calls = []
    s = run(archive, db, predict=lambda m, t: calls.append(t) or cue_predict(m, t))
    assert (s.read, s.unchanged, s.passages) == (0, 3, 0)
    assert reads == [] and calls == []


def test_batch_new_model_reclassifies_without_reading(archive, tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    run(archive, db, "cues@1")

    def no_reading(*args, **kwargs):
        raise AssertionError("a stored file was read again")

    monkeypatch.setattr(ingest, "read_bulletin", no_reading)
    s = run(archive, db, "cues@2")
    assert (s.read, s.reclassified, s.unchanged, s.failed, s.passages) == (0, 3, 0, (), 8)
    assert {v for v, _ in table(db).values()} == {"cues@2"}
    assert set(labels_frame(db)["model_version"]) == {"cues@2"}
    # Back to the first model: its predictions are still stored, nothing is classified.
    calls = []
    s = run(archive, db, "cues@1", predict=lambda m, t: calls.append(t) or cue_predict(m, t))
    assert (s.reclassified, s.passages, calls) == (3, 0, [])
    assert set(labels_frame(db)["model_version"]) == {"cues@1"}


def test_batch_force_rereads_and_reclassifies(archive, tmp_path, reads):
    db = tmp_path / "r.db"
    run(archive, db)
    before = labels_frame(db)
    reads.clear()
    s = run(archive, db, force=True)
    assert (s.read, s.unchanged, s.passages) == (3, 0, 8)
    assert len(reads) == 3
    after = labels_frame(db)
    cols = ["category", "file", "index", "text", "evidence"]
    assert after[cols].to_dict("records") == before[cols].to_dict("records")
    assert len(table(db)) == 3  # replaced, not duplicated


def test_batch_changed_file_replaces_its_old_content(archive, tmp_path, reads):
    db = tmp_path / "r.db"
    run(archive, db)
    path = archive / "绵阳市" / "绵阳市-2021-03.txt"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "6月17日，绵阳市交通运输局开展能力提升培训，重点纠正执法不规范问题。\n\n", ""
        ),
        encoding="utf-8",
    )
    reads.clear()
    s = run(archive, db)
    assert (s.read, s.unchanged) == (1, 2) and reads == ["绵阳市-2021-03.txt"]
    assert table(db)["绵阳市-2021-03.txt"] == ("cues@1", 2)
    assert len(table(db)) == 3


def test_batch_duplicate_content_stored_once(archive, tmp_path, reads):
    db = tmp_path / "r.db"
    copy = tmp_path / "copy.txt"
    shutil.copy(archive / "南充市" / "南充市-2021-01.txt", copy)
    s = run([archive, copy], db)
    assert (s.total, s.read, s.duplicates) == (4, 3, 1)
    assert len(reads) == 3 and len(table(db)) == 3
    # Later, under another path only: recognised by content, not read again.
    reads.clear()
    s = run([copy], db)
    assert (s.unchanged, s.read) == (1, 0) and reads == []


@pytest.mark.parametrize("group", [1, 2, 100])
def test_batch_grouped_predictions_land_on_their_passages(archive, tmp_path, monkeypatch, group):
    """Bulletins share model calls (GROUP_FILES); every passage still gets its own labels."""
    from pipeline.taxonomy import cue_baseline

    monkeypatch.setattr(batch, "GROUP_FILES", group)
    calls = []
    db = tmp_path / "r.db"
    run(archive, db, predict=lambda m, t: calls.append(len(t)) or cue_predict(m, t))
    assert calls == {1: [3, 2, 3], 2: [5, 3], 100: [8]}[group]
    with open_store(db) as st:
        rows = st.conn.execute(
            "SELECT p.text, r.category FROM predictions r JOIN passages p ON p.id = r.passage_id WHERE r.predicted = 1"
        ).fetchall()
        texts = [r[0] for r in st.conn.execute("SELECT text FROM passages")]
    got = {t: sorted(c for tt, c in rows if tt == t) for t in texts}
    assert got == {t: sorted(cue_baseline(t)) for t in texts}
    run(archive, db, "cues@2", predict=lambda m, t: calls.append(len(t)) or cue_predict(m, t))
    assert set(labels_frame(db)["model_version"]) == {"cues@2"}


def test_batch_engine_and_password_passed_to_the_reader(archive, tmp_path, monkeypatch):
    seen = []
    real = ingest.read_bulletin

    def spy(path, password=None, engine="pdfplumber"):
        seen.append((password, engine))
        return real(path)  # text files: the engine does not matter

    monkeypatch.setattr(ingest, "read_bulletin", spy)
    db = tmp_path / "r.db"
    run(archive, db, engine="pdfium", password="s3cret")
    assert seen == [("s3cret", "pdfium")] * 3
    with open_store(db) as st:
        assert {r[0] for r in st.conn.execute("SELECT engine FROM bulletins")} == {"pdfium"}


def test_batch_same_issue_in_two_renditions_stored_once(archive, tmp_path):
    original = next(archive.rglob("南充市-2021-01.txt"))
    rendition = original.with_name("南充市-2021-01-副本.txt")
    rendition.write_text(original.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")  # other bytes, same issue
    db = tmp_path / "r.db"
    s = run(archive, db)
    assert (s.read, s.duplicates) == (3, 1)
    assert any("same bulletin (title, year and issue number)" in note for _, note in s.warnings)
    assert len(table(db)) == 3
    s = run(archive, db)  # the next run reads the rendition again and still stores it once
    assert (s.read, s.unchanged, s.duplicates) == (0, 3, 1)

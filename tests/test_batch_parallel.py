"""Parallel reading (loky processes, a Dask LocalCluster), the progress bar, the trained model
end to end, and the import budget of an unchanged rerun."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap

import pytest

import pipeline.batch as batch
from helpers.storekit import BULLETINS, CueModel, cue_predict, write_archive
from helpers.synth import BulletinSpec, render
from pipeline.batch import Progress, classify, peek_version
from pipeline.reports.frames import labels_frame
from pipeline.store.database import open_store
from pipeline.taxonomy import CATEGORIES


@pytest.fixture(scope="module")
def pdf_archive(tmp_path_factory):
    """The stand-in archive as generated PDFs (one page each, furniture and all)."""
    folder = tmp_path_factory.mktemp("pdfs")
    for city, issue, (y, m, d), paragraphs in BULLETINS:
        spec = BulletinSpec(
            title=f"{city}交通运输执法领域突出问题专项整治行动工作简报",
            issue=f"{y}年第{issue}期",
            issuer=(f"{city}交通运输局",),
            date=f"{y}年{m}月{d}日",
            sections=(("一、工作动态", paragraphs),),
            closing=("报：市委、市政府。",),
        )
        render(spec, folder / f"{city}-{y}-{issue:02d}.pdf")
    return folder


def stored(db):
    with open_store(db) as st:
        return st.conn.execute(
            "SELECT b.name, p.idx, p.unit, p.region, p.date, p.text FROM passages p "
            "JOIN bulletins b ON b.id = p.bulletin_id ORDER BY b.name, p.idx"
        ).fetchall()


def test_batch_loky_workers_store_what_one_process_stores(pdf_archive, tmp_path, monkeypatch):
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    monkeypatch.setattr(batch, "WINDOW_PER_WORKER", 1)  # rounds of 2 files: 2 rounds, one worker pool
    s1 = classify([pdf_archive], db=one, jobs=1, model=CueModel(), predict=cue_predict, quiet=True)
    s2 = classify([pdf_archive], db=two, jobs=2, model=CueModel(), predict=cue_predict, quiet=True)
    assert (s1.read, s2.read, s2.failed) == (3, 3, ())
    assert stored(one) == stored(two) and len(stored(one)) == 8
    cols = ["category", "file", "index", "evidence"]
    assert labels_frame(one)[cols].to_dict("records") == labels_frame(two)[cols].to_dict("records")


@pytest.mark.slow
def test_batch_dask_local_cluster(pdf_archive, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(batch, "WINDOW_PER_WORKER", 1)
    db, reference = tmp_path / "dask.db", tmp_path / "ref.db"
    classify([pdf_archive], db=reference, jobs=1, model=CueModel(), predict=cue_predict, quiet=True)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        s = classify(
            [pdf_archive],
            db=db,
            model=CueModel(),
            predict=cue_predict,
            quiet=True,
            backend="dask",
            scheduler=cluster.scheduler_address,
        )
        assert (s.read, s.failed, s.passages) == (3, (), 8)
        again = classify(
            [pdf_archive],
            db=db,
            model=CueModel(),
            predict=cue_predict,
            quiet=True,
            backend="dask",
            scheduler=cluster.scheduler_address,
        )
        assert again.unchanged == 3
    assert stored(db) == stored(reference)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_batch_progress_bar_on_terminal_only(tmp_path):
    write_archive(tmp_path / "a")
    tty = FakeTTY()
    classify([tmp_path / "a"], db=tmp_path / "r.db", jobs=1, model=CueModel(), predict=cue_predict, stream=tty)
    out = tty.getvalue()
    assert out.startswith("\r[") and out.endswith("\n")
    last = out.rstrip("\n").split("\r")[-1]
    assert last.startswith("[" + "#" * 24 + "] 3/3 files ") and " files/s ETA 0:00" in last
    for stream, quiet in ((FakeTTY(), True), (io.StringIO(), False)):
        classify(
            [tmp_path / "a"],
            db=tmp_path / "r.db",
            jobs=1,
            model=CueModel(),
            predict=cue_predict,
            stream=stream,
            quiet=quiet,
            force=True,
        )
        assert stream.getvalue() == ""


def test_batch_progress_line_rate_and_eta():
    bar = Progress(10, FakeTTY(), width=10)
    bar.start -= 4.0
    bar.advance(2)
    assert bar.line(bar.start + 4.0) == "[##........] 2/10 files 0.5 files/s ETA 0:16 "
    bar.advance(3, worked=False)  # skipped files do not inflate the rate
    assert bar.line(bar.start + 4.0) == "[#####.....] 5/10 files 0.5 files/s ETA 0:10 "


def test_batch_unchanged_rerun_never_imports_sklearn(tmp_path):
    models = tmp_path / "models"
    (models / "default").mkdir(parents=True)
    (models / "default" / "metadata.json").write_text(json.dumps({"version": "cues@1"}), encoding="utf-8")
    write_archive(tmp_path / "a")
    db = tmp_path / "r.db"
    classify([tmp_path / "a"], db=db, jobs=1, model=CueModel("cues@1"), predict=cue_predict, quiet=True)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from pipeline.batch import classify
        s = classify([Path({str(tmp_path / "a")!r})], db=Path({str(db)!r}), models_dir=Path({str(models)!r}))
        assert (s.unchanged, s.read) == (3, 0), s
        print(sorted(m for m in ("sklearn", "scipy", "pandas", "jieba") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_batch_trained_model_end_to_end(tmp_path):
    """The real default model (never its exact scores: it may be retrained)."""
    from pipeline.classify.model import load_model

    model = load_model()
    assert peek_version() == model.version
    write_archive(tmp_path / "a")
    db = tmp_path / "r.db"
    s = classify([tmp_path / "a"], db=db, jobs=1, quiet=True)
    assert (s.read, s.passages, s.model_version) == (3, 8, model.version)
    with open_store(db) as st:
        rows = st.conn.execute(
            "SELECT p.text, r.category, r.predicted, r.score, r.evidence FROM predictions r "
            "JOIN passages p ON p.id = r.passage_id WHERE r.model_version = ?",
            (model.version,),
        ).fetchall()
    assert len(rows) == 8 * len(CATEGORIES)
    assert all(0.0 <= score <= 1.0 for *_, score, _ in rows)
    assert all((ev is not None) == bool(pred) for _, _, pred, _, ev in rows)
    labels = {}
    for text, cat, pred, _, _ in rows:
        labels.setdefault(text, [])
        if pred:
            labels[text].append(cat)
    # Unambiguous passages: a bribe, and a routine meeting with no problem in it.
    assert "执法不廉" in labels[BULLETINS[0][3][1]]
    assert labels[BULLETINS[0][3][2]] == []
    frame = labels_frame(db)
    assert set(frame["model_version"]) == {model.version}

"""Failures stay per file: stored errors, a summary, exit codes, and crashes that keep what
was stored and resume on the next run."""

from __future__ import annotations

import pytest

import pipeline.batch as batch
import pipeline.classify.model
import pipeline.ingest as ingest
from helpers.storekit import CueModel, cue_predict, write_archive
from pipeline.batch import classify
from pipeline.cli.main import main
from pipeline.errors import UsageError
from pipeline.store.database import Store, errors, open_store


@pytest.fixture
def archive(tmp_path):
    write_archive(tmp_path / "archive")
    return tmp_path / "archive"


@pytest.fixture
def broken(archive):
    """A damaged PDF among the good files."""
    path = archive / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    return path


@pytest.fixture
def cue_cli(monkeypatch):
    """Make the CLI classify with the cue-word stand-in instead of the trained model."""
    monkeypatch.setattr(batch, "peek_version", lambda model=None, models_dir=None: "cues@1")
    monkeypatch.setattr(pipeline.classify.model, "load_model", lambda name_or_dir=None, models_dir=None: CueModel())
    monkeypatch.setattr(pipeline.classify.model, "predict", cue_predict)


def stored_names(db):
    with open_store(db) as st:
        return [r[0] for r in st.conn.execute("SELECT name FROM bulletins ORDER BY name")]


def run(paths, db, **kwargs):
    kwargs.setdefault("predict", cue_predict)
    return classify(paths, db=db, jobs=1, model=CueModel(), quiet=True, **kwargs)


def test_batch_corrupt_file_stored_as_error_others_stored(archive, broken, tmp_path):
    db = tmp_path / "r.db"
    s = run([archive], db)
    assert (s.total, s.read, s.processed) == (4, 3, 3)
    assert len(s.failed) == 1 and s.failed[0][0] == str(broken)
    assert s.failed[0][1].startswith(f"{broken}: expected a readable PDF, found a damaged or truncated one")
    assert len(stored_names(db)) == 3
    (err,) = errors(db)
    assert (err.path, err.error, err.engine) == (str(broken.resolve()), "CorruptFileError", "pdfplumber")
    assert err.message == s.failed[0][1] and "\n" not in err.message
    assert s.lines()[1] == f"failed: {s.failed[0][1]}"


def test_batch_error_cleared_when_file_is_fixed(archive, broken, tmp_path):
    db = tmp_path / "r.db"
    run([archive], db)
    broken.write_bytes(
        (archive / "南充市" / "南充市-2021-01.txt").read_bytes().replace(b"1\xe6\x9c\x9f", b"9\xe6\x9c\x9f")
    )
    s = run([archive], db)
    assert (s.read, s.unchanged, s.failed) == (1, 3, ())
    assert errors(db) == []


def test_batch_cli_summary_and_exit_codes(archive, broken, tmp_path, cue_cli, capsys):
    db = tmp_path / "r.db"
    assert main(["classify", str(archive), "--db", str(db), "--jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith(
        "bulletins: 4 file(s): 3 read, 0 re-classified, 0 unchanged, 0 duplicate, 1 failed; "
        "8 passage(s) classified with cues@1 in "
    )
    assert lines[1].startswith(f"bulletins: failed: {broken}: expected a readable PDF") and len(lines) == 2
    # Nothing could be processed: exit code 1.
    missing = tmp_path / "missing.pdf"
    assert main(["classify", str(broken), str(missing), "--db", str(db), "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("bulletins: 2 file(s): 0 read") and len(err) == 3
    assert err[2] == f"bulletins: failed: {missing}: no such file; check the path"
    # An unchanged rerun processed everything (nothing new): exit code 0.
    assert main(["classify", str(archive / "南充市"), "--db", str(db)]) == 0


def test_batch_no_files_found_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no bulletin files"):
        run([tmp_path / "empty"], tmp_path / "r.db")
    assert main(["classify", str(tmp_path / "empty"), "--db", str(tmp_path / "r.db")]) == 1
    assert "no bulletin files (.pdf, .txt, .docx) found in" in capsys.readouterr().err


def test_batch_options_that_do_not_fit(tmp_path, archive, capsys):
    with pytest.raises(UsageError, match="--backend dask needs --scheduler"):
        run([archive], tmp_path / "r.db", backend="dask")
    with pytest.raises(UsageError, match="--scheduler only applies with --backend dask"):
        run([archive], tmp_path / "r.db", backend="loky", scheduler="tcp://localhost:8786")
    assert main(["classify", str(archive), "--jobs", "0", "--db", str(tmp_path / "r.db")]) == 1
    assert "expected --jobs 1 or more, found 0" in capsys.readouterr().err


def test_batch_crash_keeps_earlier_files_and_resumes(archive, tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    real_write = Store.write_bulletin
    calls = []

    def crash_on_third(self, *args, **kwargs):
        calls.append(args[0].path.name)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Store, "write_bulletin", crash_on_third)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run([archive], db)
    assert stored_names(db) == ["南充市-2021-01.txt", "南充市-2021-02.txt"]
    monkeypatch.setattr(Store, "write_bulletin", real_write)
    # The next run reads only the file that was not stored.
    reads = []
    real = ingest.read_bulletin
    monkeypatch.setattr(
        ingest,
        "read_bulletin",
        lambda p, password=None, engine="pdfplumber": reads.append(p.name) or real(p, password=password, engine=engine),
    )
    s = run([archive], db)
    assert (s.read, s.unchanged) == (1, 2) and reads == ["绵阳市-2021-03.txt"]
    assert len(stored_names(db)) == 3


def test_batch_ctrl_c_keeps_stored_files(archive, tmp_path, cue_cli, monkeypatch, capsys):
    db = tmp_path / "r.db"
    real_write = Store.write_bulletin
    calls = []

    def interrupt_on_second(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Store, "write_bulletin", interrupt_on_second)
    assert main(["classify", str(archive), "--db", str(db), "--jobs", "1"]) == 130
    assert "interrupted; results stored so far are kept" in capsys.readouterr().err
    assert stored_names(db) == ["南充市-2021-01.txt"]


def test_batch_bulletin_without_passages_is_current(tmp_path):
    path = tmp_path / "front.txt"
    path.write_text("某市交通运输工作简报\n\n2021年第1期\n", encoding="utf-8")
    db = tmp_path / "r.db"
    assert run([path], db).read == 1
    again = run([path], db)
    assert (again.unchanged, again.reclassified) == (1, 0)


def test_batch_extraction_warnings_listed_after_the_summary(tmp_path):
    path = tmp_path / "cid.txt"
    path.write_text("某市工作简报\n\n2021年第1期\n\n一、动态\n\n执法(cid:1234)人员开展检查。\n", encoding="utf-8")
    s = run([path], tmp_path / "r.db")
    assert s.read == 1 and len(s.warnings) == 1
    assert s.lines()[1].startswith(f"warning: {path}: extraction quality: 1 character(s) had no Unicode mapping")

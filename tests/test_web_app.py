"""The web view (`bulletins serve`) over HTTP: every page and action, and every refusal.

Stores are built by the tests with the stand-in cue model (helpers.storekit), so nothing here
depends on the trained model; training is a stand-in too (the real `train` is exercised by
tests/test_train.py), while promotion uses real model folders copied from models/.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

REASON = 'the web view needs its extra: pip install -e ".[web]"'
pytest.importorskip("starlette", reason=REASON)
pytest.importorskip("jinja2", reason=REASON)
pytest.importorskip("python_multipart", reason=REASON)
pytest.importorskip("httpx2", reason=REASON + " (Starlette's TestClient uses httpx2)")

from starlette.testclient import TestClient  # noqa: E402

from helpers.storekit import EXPECTED_BY_CATEGORY, CueModel, bulletin_text, cue_predict, write_archive  # noqa: E402
from pipeline import config  # noqa: E402
from pipeline.batch import classify  # noqa: E402
from pipeline.classify.labeled import read_labeled  # noqa: E402
from pipeline.cli.main import main  # noqa: E402
from pipeline.reports.queries import counts  # noqa: E402
from pipeline.reports.review_queue import review_queue  # noqa: E402
from pipeline.store.database import SCHEMA_VERSION, open_store  # noqa: E402
from pipeline.taxonomy import CATEGORIES  # noqa: E402
from pipeline.web.app import create_app  # noqa: E402
from pipeline.web.settings import WebSettings, check  # noqa: E402

BASE = "http://127.0.0.1"
HTML = {"accept": "text/html"}
XSS = "<img src=x onerror=alert(1)>"


# --- helpers -----------------------------------------------------------------------------------


def build_store(folder: Path, bulletins=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_archive(folder / "archive", *(() if bulletins is None else (bulletins,)))
    db = folder / "r.db"
    classify([folder / "archive"], db=db, jobs=1, model=CueModel(), predict=cue_predict, quiet=True)
    return db


def make_client(tmp_path: Path, db: Path | None = None, **kwargs) -> TestClient:
    if db is None:
        db = build_store(tmp_path / "store")
    kwargs.setdefault("models_dir", config.MODELS_DIR)
    settings = check(
        WebSettings(db=db, model=CueModel(), predict=cue_predict, jobs=1, work_dir=tmp_path / "web", **kwargs)
    )
    return TestClient(create_app(settings), base_url=BASE)


def csrf(client: TestClient, url: str = "/add") -> str:
    page = client.get(url, headers=HTML)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, "no CSRF token on " + url
    return found.group(1)


def wait_jobs(client: TestClient) -> None:
    assert client.app.state.runner.wait(timeout=60), "background jobs did not finish"


def links(text: str, prefix: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(' + re.escape(prefix) + r'[^"]*)"', text)]


def issue_count(page: str) -> int:
    found = re.search(r"(\d+) 条问题（(\d+) 段）", page)
    assert found, page
    return int(found.group(1))


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


# --- dashboard and passages --------------------------------------------------------------------


def test_web_dashboard_counts_match_cli_counts(client):
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    text = page.text
    db = client.app.state.settings.db
    expected = counts(db, by=["category"])
    for category, n in zip(expected["category"], expected["count"]):
        assert re.search(rf"{category}</th><td><a href=\"[^\"]+\">{n}</a>", text), category
    assert dict(zip(expected["category"], expected["count"])) == EXPECTED_BY_CATEGORY
    assert text.count('<svg class="chart"') == 3 and "<rect" in text
    assert "南充市" in text and "绵阳市" in text and "2021-06" in text and "2021-07" in text
    assert "bulletins issues --db" in text


def test_web_every_number_links_to_its_passages(client):
    text = client.get("/", headers=HTML).text
    detail = client.get("/detail", headers=HTML)
    assert detail.status_code == 200 and "南充市 · 2021-07" in detail.text
    cells = re.findall(r'<a href="(/passages[^"]*)">(\d+)</a>', text + detail.text)
    assert len(cells) > 30
    for href, n in cells:
        listing = client.get(html.unescape(href), headers=HTML)
        assert listing.status_code == 200
        assert issue_count(listing.text) == int(n), href


def test_web_dashboard_filters_as_cli_options(client):
    db = client.app.state.settings.db
    page = client.get("/", params={"region": "南充市", "since": "2021-06", "until": "2021-06"}, headers=HTML)
    assert page.status_code == 200
    expected = counts(db, by=["category"], region="南充市", since="2021-06", until="2021-06")
    total = re.search(r"共 <a [^>]+><strong>(\d+)</strong></a> 条问题", page.text)
    assert total and int(total.group(1)) == int(expected["count"].sum()) == 2
    assert "--since 2021-06 --until 2021-06 --region 南充市 --output" in page.text
    pinned = client.get("/", params={"model_version": "cues@1", "category": "作风不优"}, headers=HTML)
    assert re.search(r"共 <a [^>]+><strong>2</strong></a> 条问题", pinned.text)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"since": "June"}, "expected a date as YYYY, YYYY-MM or YYYY-MM-DD"),
        ({"category": "迟到"}, "expected a category among"),
        ({"since": "2021-07", "until": "2021-06"}, "is after"),
    ],
)
def test_web_bad_filters_are_explained(client, params, message):
    page = client.get("/", params=params, headers=HTML)
    assert page.status_code == 400
    assert message in html.unescape(page.text)


def test_web_empty_store_says_how_to_add_bulletins(tmp_path):
    with make_client(tmp_path, db=tmp_path / "new.db") as c:
        page = c.get("/", headers=HTML)
        assert page.status_code == 200
        assert "结果库里还没有简报" in page.text and 'href="/add"' in page.text and "bulletins classify" in page.text
        assert c.get("/review", headers=HTML).status_code == 200
        assert c.get("/passages", headers=HTML).status_code == 200
    assert (tmp_path / "new.db").exists()


def test_web_passages_list_pages_and_month_cells(tmp_path):
    with make_client(tmp_path, page_size=3) as c:
        first = c.get("/passages", headers=HTML)
        assert issue_count(first.text) == 8 and "第 1 / 3 页" in first.text
        assert first.text.count('href="/passage/') == 3
        last = c.get("/passages", params={"page": "3"}, headers=HTML)
        assert last.text.count('href="/passage/') == 2
        july = c.get("/passages", params={"month": "2021-07"}, headers=HTML)
        assert issue_count(july.text) == 3
        assert c.get("/passages", params={"month": "July"}, headers=HTML).status_code == 400
        assert issue_count(c.get("/passages", params={"month": "none"}, headers=HTML).text) == 0


def test_web_passage_in_bulletin_context(client):
    db = client.app.state.settings.db
    with open_store(db) as st:
        (pid,) = st.conn.execute("SELECT id FROM passages WHERE text LIKE '%粗暴执法%'").fetchone()
    page = client.get(f"/passage/{pid}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    for expected in (
        "南充市交通运输执法领域突出问题专项整治行动工作简报",
        "2021年第1期",
        "一、工作动态",
        "南充市交通运输综合行政执法支队",
        "2021-06-08",
        "cues@1",
        "<mark>粗暴执法</mark>",
        "<mark>态度生硬</mark>",
        "0.90",
        "下一段",
    ):
        assert expected in text, expected
    assert client.get("/passage/999999", headers=HTML).status_code == 404
    assert client.get(f"/passage/{pid}", params={"version": "other@1"}, headers=HTML).status_code == 200


def test_web_markup_in_passages_is_escaped(tmp_path):
    hostile = (
        (
            "南充市",
            9,
            (2021, 6, 20),
            (f"6月8日，南充市交通运输局发现粗暴执法问题{XSS}，已整改<script>alert(2)</script>。",),
        ),
    )
    db = build_store(tmp_path / "store", hostile)
    with make_client(tmp_path, db=db) as c:
        with open_store(db) as st:
            (pid,) = st.conn.execute("SELECT id FROM passages").fetchone()
        pages = [
            c.get(f"/passage/{pid}", headers=HTML),
            c.get("/passages", headers=HTML),
            c.get("/review", headers=HTML),
        ]
        for page in pages:
            assert page.status_code == 200
            assert "<img src=x" not in page.text and "<script>alert" not in page.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0].text
        token = csrf(c, f"/passage/{pid}")
        c.post(f"/passage/{pid}/correct", data={"csrf_token": token, "labels": "作风不优", "reviewer": XSS})
        listing = c.get("/corrections", headers=HTML).text
        assert "<img src=x" not in listing and "&lt;img src=x onerror=alert(1)&gt;" in listing


# --- corrections and the review queue ----------------------------------------------------------


def first_passage(client: TestClient) -> int:
    with open_store(client.app.state.settings.db) as st:
        return st.conn.execute("SELECT MIN(id) FROM passages").fetchone()[0]


def test_web_correction_needs_csrf(client, tmp_path):
    pid = first_passage(client)
    url = f"/passage/{pid}/correct"
    form = {"labels": "执法不廉", "reviewer": "王科长"}
    assert client.post(url, data=form, follow_redirects=False).status_code == 403
    assert client.post(url, data={**form, "csrf_token": "0" * 64}, follow_redirects=False).status_code == 403
    with make_client(tmp_path / "other") as other:  # another browser's valid token
        foreign = csrf(other)
    assert client.post(url, data={**form, "csrf_token": foreign}, follow_redirects=False).status_code == 403
    with open_store(client.app.state.settings.db) as st:
        assert st.conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 0

    done = client.post(url, data={**form, "csrf_token": csrf(client)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/passage/{pid}?saved=1"
    with open_store(client.app.state.settings.db) as st:
        rows = st.conn.execute("SELECT labels, predicted, reviewer, at, model_version FROM corrections").fetchall()
    assert len(rows) == 1
    labels, predicted, reviewer, at, version = rows[0]
    assert (json.loads(labels), json.loads(predicted), reviewer, version) == (
        ["执法不廉"],
        ["作风不优"],
        "王科长",
        "cues@1",
    )
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", at)
    page = client.get(f"/passage/{pid}?saved=1", headers=HTML).text
    assert "校正已保存" in page and 'value="王科长"' in page  # the reviewer is remembered
    assert re.search(r'value="执法不廉" checked', page)


@pytest.mark.parametrize(
    "form, status",
    [
        ({"labels": "迟到", "reviewer": "甲"}, 400),
        ({"labels": "作风不优", "reviewer": "  "}, 400),
        ({"labels": "作风不优", "none": "1", "reviewer": "甲"}, 400),
        ({"reviewer": "甲"}, 400),
        ({"none": "1", "reviewer": "甲"}, 303),
    ],
)
def test_web_correction_validation(client, form, status):
    pid = first_passage(client)
    answer = client.post(f"/passage/{pid}/correct", data={**form, "csrf_token": csrf(client)}, follow_redirects=False)
    assert answer.status_code == status
    if status == 400:
        assert "error" in answer.text


def test_web_review_queue_in_cli_order(client):
    settings = client.app.state.settings
    queue = review_queue(settings.db, n=settings.review_size, models_dir=settings.models_dir)
    page = client.get("/review", headers=HTML).text
    shown = [html.unescape(t) for t in re.findall(r'\?from=review">([^<]+)</a>', page)]
    assert len(shown) == len(queue) == 8
    for text, expected in zip(shown, queue["text"]):
        assert expected.startswith(text.rstrip("…"))
    first = client.get("/review/next", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].endswith("?from=review")
    pid = int(re.search(r"/passage/(\d+)", first.headers["location"]).group(1))
    opened = client.get(first.headers["location"], headers=HTML).text
    assert "第 1 / 8 段" in opened and 'name="next" value="review"' in opened
    saved = client.post(
        f"/passage/{pid}/correct",
        data={"csrf_token": csrf(client), "labels": ["作风不优", "本领不强"], "reviewer": "李", "next": "review"},
        follow_redirects=False,
    )
    assert saved.headers["location"] == "/review/next"
    second = client.get("/review/next", follow_redirects=False).headers["location"]
    assert f"/passage/{pid}?" not in second
    assert "还有 <strong>7</strong> 段未复核" in client.get("/review", headers=HTML).text


def test_web_corrections_export_is_a_review_file_train_reads(client, tmp_path):
    pid = first_passage(client)
    token = csrf(client)
    client.post(f"/passage/{pid}/correct", data={"csrf_token": token, "labels": "宗旨不牢", "reviewer": "甲"})
    client.post(f"/passage/{pid}/correct", data={"csrf_token": token, "labels": "执法不廉", "reviewer": "乙"})
    listing = client.get("/corrections", headers=HTML).text
    assert "1 段有人工校正" in listing and "乙" in listing

    exported = client.get("/corrections/export.csv")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    (tmp_path / "c.csv").write_bytes(exported.content)
    review_file = tmp_path / "queue.csv"
    assert main(["review", "--db", str(client.app.state.settings.db), "--output", str(review_file)]) == 0
    header = next(csv.reader(io.StringIO(exported.text)))
    assert header == next(csv.reader(io.StringIO(review_file.read_text(encoding="utf-8"))))  # `review`'s columns
    rows = read_labeled(tmp_path / "c.csv")
    assert [r.labels for r in rows] == [("执法不廉",)]  # the latest correction, marked reviewed
    for fmt in ("xlsx", "jsonl"):
        got = client.get(f"/corrections/export.{fmt}")
        assert got.status_code == 200
        (tmp_path / f"c.{fmt}").write_bytes(got.content)
        assert [r.labels for r in read_labeled(tmp_path / f"c.{fmt}")] == [("执法不廉",)]
    assert client.get("/corrections/export.exe").status_code == 404

    out = tmp_path / "cli.xlsx"
    assert main(["corrections", "--db", str(client.app.state.settings.db), "--output", str(out)]) == 0
    assert [r.labels for r in read_labeled(out)] == [("执法不廉",)]


def test_web_cli_corrections_on_store_without_any(tmp_path, capsys):
    db = build_store(tmp_path)
    assert main(["corrections", "--db", str(db), "--output", str(tmp_path / "c.csv")]) == 1
    assert "no corrections" in capsys.readouterr().err


# --- issue list downloads ------------------------------------------------------------------------


@pytest.mark.parametrize("filters", [{}, {"region": "南充市", "since": "2021-06"}, {"category": "本领不强"}])
def test_web_issue_downloads_identical_to_cli(client, tmp_path, filters):
    import openpyxl

    db = client.app.state.settings.db
    options = [x for k, v in filters.items() for x in (f"--{k}", v)]
    cli_csv, cli_xlsx = tmp_path / "cli.csv", tmp_path / "cli.xlsx"
    assert main(["issues", "--db", str(db), *options, "--format", "csv", "--output", str(cli_csv)]) == 0
    assert main(["issues", "--db", str(db), *options, "--output", str(cli_xlsx)]) == 0

    got = client.get("/issues.csv", params=filters)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.content == cli_csv.read_bytes()

    got = client.get("/issues.xlsx", params=filters)
    assert got.status_code == 200
    assert "filename*=UTF-8''%E9%97%AE%E9%A2%98%E6%B8%85%E5%8D%95.xlsx" in got.headers["content-disposition"]
    web = openpyxl.load_workbook(io.BytesIO(got.content))
    cli = openpyxl.load_workbook(cli_xlsx)
    assert web.sheetnames == cli.sheetnames == ["汇总", *CATEGORIES]
    for name in cli.sheetnames:
        assert [[c.value for c in r] for r in web[name].rows] == [[c.value for c in r] for r in cli[name].rows]
    assert client.get("/issues.pdf").status_code == 404
    assert client.get("/issues.csv", params={"since": "soon"}).status_code == 400


# --- adding bulletins ----------------------------------------------------------------------------


def upload(client: TestClient, files, token: str | None = None, **kwargs):
    data = {} if token is None else {"csrf_token": token}
    return client.post("/add/upload", data=data, files=files, follow_redirects=False, **kwargs)


def test_web_upload_classified_in_background_with_failures_by_file(tmp_path):
    db = tmp_path / "fresh.db"
    with make_client(tmp_path, db=db) as c:
        good = bulletin_text("绵阳市", 7, (2021, 8, 2), ("8月1日，绵阳市交通运输局发现执法人员吃拿卡要问题。",))
        files = [
            ("files", ("../../../etc/绵阳-第7期.txt", good.encode("utf-8"), "text/plain")),
            ("files", ("空白.pdf", b"", "application/pdf")),
            ("files", ("压缩包.docx", _zip_without_word(), "application/zip")),
            ("files", ("坏的.pdf", b"%PDF-1.4 nonsense", "application/pdf")),
        ]
        answer = upload(c, files, csrf(c))
        assert answer.status_code == 303 and answer.headers["location"].startswith("/jobs/")
        wait_jobs(c)
        job_url = answer.headers["location"]
        page = c.get(job_url, headers=HTML).text
        assert "已完成" in page and "新读取并分类：1 个文件" in page
        failures = dict(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", page))
        assert set(failures) == {"空白.pdf", "压缩包.docx", "坏的.pdf"}
        assert "文件为空" in failures["空白.pdf"]
        assert "ZIP" in failures["压缩包.docx"]
        assert str(c.app.state.settings.uploads) not in failures["坏的.pdf"]  # the server's path is not shown
        status = c.get(job_url + "/status").json()
        assert status["state"] == "done" and status["failures"] == 3 and status["percent"] == 100
        stored = sorted(p.name for p in c.app.state.settings.uploads.iterdir())
        assert len(stored) == 2 and all(re.fullmatch(r"[0-9a-f]{32}\.(txt|pdf)", n) for n in stored)
        assert not (tmp_path / "etc").exists()
        assert "吃拿卡要" in c.get("/passages", headers=HTML).text
        assert "执法不廉" in c.get("/", headers=HTML).text
        # the same file again: already stored, not counted twice
        again = upload(c, files[:1], csrf(c))
        wait_jobs(c)
        assert "已在库中、无需重复：1" in c.get(again.headers["location"], headers=HTML).text
        assert "坏的.pdf" not in c.get("/add", headers=HTML).text  # the store records server paths only
        assert c.get("/jobs/999", headers=HTML).status_code == 404
        assert c.get("/jobs/999/status").status_code == 404


def _zip_without_word() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a bulletin")
    return buf.getvalue()


def test_web_upload_refusals(tmp_path):
    with make_client(tmp_path, db=tmp_path / "u.db", max_upload_bytes=2000) as c:
        small = [("files", ("a.txt", "简报".encode(), "text/plain"))]
        assert upload(c, small).status_code == 403  # no CSRF token
        assert upload(c, small, "f" * 64).status_code == 403
        big = [("files", ("big.txt", b"x" * 5000, "text/plain"))]
        too_big = upload(c, big, csrf(c))
        assert too_big.status_code == 413 and "上限" in too_big.text
        chunked = c.post(
            "/add/upload",
            content=iter([b"x" * 1500, b"y" * 1500]),
            headers={"content-type": "multipart/form-data; boundary=zz", "x-csrf-token": csrf(c)},
            follow_redirects=False,
        )
        assert chunked.status_code == 413  # no Content-Length: counted as it arrives
        assert upload(c, [], csrf(c)).status_code == 400
        assert list(c.app.state.settings.uploads.iterdir()) == []
        assert not c.app.state.runner.recent()


def test_web_add_folder_only_inside_allowed_folders(tmp_path):
    allowed = tmp_path / "allowed"
    write_archive(allowed / "archive")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "leak.txt").write_text(bulletin_text("南充市", 5, (2021, 5, 5), ("5月1日，发现脱岗。",)), "utf-8")
    (allowed / "archive" / "link.txt").symlink_to(outside / "leak.txt")
    (allowed / "escape").symlink_to(outside, target_is_directory=True)
    with make_client(tmp_path, db=tmp_path / "f.db", allow_folders=(allowed,)) as c:
        for bad in (str(outside), "../secret", str(allowed / "escape"), "/etc", "no/such/folder", ""):
            refused = c.post("/add/folder", data={"csrf_token": csrf(c), "folder": bad}, follow_redirects=False)
            assert refused.status_code == 400, bad
        assert not c.app.state.runner.recent()
        assert c.post("/add/folder", data={"folder": "archive"}, follow_redirects=False).status_code == 403
        answer = c.post("/add/folder", data={"csrf_token": csrf(c), "folder": "archive"}, follow_redirects=False)
        assert answer.status_code == 303
        wait_jobs(c)
        page = c.get(answer.headers["location"], headers=HTML).text
        assert "新读取并分类：3 个文件" in page
        assert "link.txt" in page and "允许的文件夹之外" in page
        with open_store(c.app.state.settings.db) as st:
            assert st.conn.execute("SELECT COUNT(*) FROM passages WHERE text LIKE '%脱岗。'").fetchone()[0] == 0
    with make_client(tmp_path / "none", db=tmp_path / "g.db") as c:
        assert "--allow-folder" in c.get("/add", headers=HTML).text
        no = c.post("/add/folder", data={"csrf_token": csrf(c), "folder": str(allowed)}, follow_redirects=False)
        assert no.status_code == 403


# --- models ----------------------------------------------------------------------------------------


def write_version(folder: Path, version: str, comparison: dict | None = None, **more) -> None:
    """A model folder's sidecar: all that listing, the review queue and (with the stand-in
    loader below) promotion read."""
    folder.mkdir(parents=True)
    meta = {
        "name": folder.name,
        "version": version,
        "created": "2021-07-01T00:00:00+00:00",
        "thresholds": dict.fromkeys(CATEGORIES, 0.5),
        "training": {"samples": 100},
        "metrics": {"cv": {"macro_f1": 0.85}, "holdout": {"macro_f1": 0.8}},
        **more,
    }
    if comparison:
        meta["comparison"] = comparison
    (folder / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def fake_train(labeled, name, models_dir, corpus_dir):
    """Stands in for pipeline.classify.train.train: validates the labeled files as train
    does, and writes a version folder compared with the default, as train does."""
    from pipeline.classify.model_files import read_meta, resolve_model_dir
    from pipeline.classify.train import read_user_files

    rows = read_user_files(labeled) if labeled else []
    default = resolve_model_dir(None, models_dir)
    against = read_meta(default)["version"]  # the default is reachable from the staging folder
    comparison = {"against": against, "default_macro_f1": 0.8, "new_macro_f1": 0.9, "holdout_samples": 9}
    folder = Path(models_dir) / name
    write_version(folder, f"{name}@0123456789", comparison, user_rows=[[r.text, list(r.labels)] for r in rows])
    model = SimpleNamespace(version=f"{name}@0123456789", meta={"metrics": {"cv": {"macro_f1": 0.85}}}, path=folder)
    rows_ = [{"category": "macro", "default_f1": 0.8, "new_f1": 0.9, "support": 9}]
    return SimpleNamespace(model=model, default=SimpleNamespace(version=against), comparison=rows_)


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder with a ``default`` version; loading a version reads its sidecar only
    (promotion's own rules run as they are, on the stored comparisons)."""
    from pipeline.classify import model
    from pipeline.classify.model_files import read_meta, resolve_model_dir
    from pipeline.errors import ModelError

    def load(name=None, models_dir=config.MODELS_DIR):
        folder = resolve_model_dir(name, models_dir)
        if not (folder / "metadata.json").exists():
            raise ModelError("no such model", folder)
        meta = read_meta(folder)
        return SimpleNamespace(path=folder, version=meta["version"], meta=meta)

    monkeypatch.setattr(model, "load_model", load)
    folder = tmp_path / "models"
    write_version(folder / "default", "default@1111111111")
    return folder


def test_web_train_then_promote_and_roll_back(tmp_path, models):
    with make_client(tmp_path, models_dir=models, train=fake_train) as c:
        pid = first_passage(c)
        c.post(f"/passage/{pid}/correct", data={"csrf_token": csrf(c), "labels": "担当不力", "reviewer": "甲"})
        assert "用库中的 1 段人工校正" in c.get("/models", headers=HTML).text
        assert c.post("/models/train", data={"name": "round1"}, follow_redirects=False).status_code == 403
        bad = c.post("/models/train", data={"csrf_token": csrf(c), "name": "../x"}, follow_redirects=False)
        assert bad.status_code == 400
        taken = c.post("/models/train", data={"csrf_token": csrf(c), "name": "default"}, follow_redirects=False)
        assert taken.status_code == 400

        answer = c.post("/models/train", data={"csrf_token": csrf(c), "name": "round1"}, follow_redirects=False)
        assert answer.status_code == 303
        wait_jobs(c)
        job = c.get(answer.headers["location"], headers=HTML).text
        assert "新版本 round1" in job and "使用 1 段校正" in job and "0.90" in job
        assert (models / "round1" / "metadata.json").exists()
        assert not list(models.glob(".staging-*"))  # moved into place, staging removed
        meta = json.loads((models / "round1" / "metadata.json").read_text(encoding="utf-8"))
        assert meta["user_rows"][0][1] == ["担当不力"]
        listing = c.get("/models", headers=HTML).text
        assert "round1" in listing and "0.90 对 0.80" in listing

        assert c.post("/models/promote", data={"name": "round1"}).status_code == 403
        promoted = c.post("/models/promote", data={"csrf_token": csrf(c), "name": "round1"})
        assert promoted.status_code == 200
        assert "默认模型已改为 <strong>round1</strong>" in promoted.text and "回滚到 default" in promoted.text
        assert (models / "DEFAULT").read_text(encoding="utf-8").strip() == "round1"
        unknown = c.post("/models/promote", data={"csrf_token": csrf(c), "name": "../../etc"})
        assert unknown.status_code == 409 and (models / "DEFAULT").read_text(encoding="utf-8").strip() == "round1"

        # the previous default, measured worse on the held-out split, needs force: refused, then rolled back
        meta = json.loads((models / "default" / "metadata.json").read_text(encoding="utf-8"))
        meta["comparison"] = {"against": "round1@0123456789", "default_macro_f1": 0.9, "new_macro_f1": 0.5}
        (models / "default" / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
        refused = c.post("/models/promote", data={"csrf_token": csrf(c), "name": "default"})
        assert refused.status_code == 409 and "below the default" in refused.text
        back = c.post("/models/promote", data={"csrf_token": csrf(c), "name": "default", "force": "1"})
        assert back.status_code == 200 and (models / "DEFAULT").read_text(encoding="utf-8").strip() == "default"

        again = c.post("/models/reclassify", data={"csrf_token": csrf(c)}, follow_redirects=False)
        wait_jobs(c)
        assert "已在库中、无需重复：3" in c.get(again.headers["location"], headers=HTML).text


# --- access: token, host, origin, headers ----------------------------------------------------------


def test_web_token_needed_for_every_request(tmp_path):
    with make_client(tmp_path, token="s3cret words") as c:
        to_login = c.get("/", headers=HTML, follow_redirects=False)
        assert to_login.status_code == 303 and to_login.headers["location"] == "/login?next=%2F"
        for url in ("/passages", "/issues.csv", "/static/style.css", "/jobs/1/status", "/corrections/export.csv"):
            assert c.get(url).status_code == 401, url
        assert c.post("/add/upload").status_code == 401
        assert c.get("/", headers={"x-bulletins-token": "s3cret words"}).status_code == 200
        assert c.get("/issues.csv", headers={"authorization": "Bearer s3cret words"}).status_code == 200
        assert c.get("/", headers={"x-bulletins-token": "wrong"}).status_code == 401

        login = c.get("/login?next=/review", headers=HTML)
        assert login.status_code == 200 and 'name="token"' in login.text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login.text).group(1)
        assert c.post("/login", data={"token": "s3cret words", "next": "/"}).status_code == 403  # CSRF
        wrong = c.post("/login", data={"csrf_token": token, "token": "guess", "next": "/"}, follow_redirects=False)
        assert wrong.status_code == 401 and "口令不对" in wrong.text
        form = {"csrf_token": token, "token": "s3cret words", "next": "//evil.example/"}
        ok = c.post("/login", data=form, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        assert "s3cret" not in ok.headers["set-cookie"]
        assert c.get("/", headers=HTML).status_code == 200
        assert c.get("/static/app.js").status_code == 200
        out = c.post("/logout", data={"csrf_token": csrf(c, "/")}, follow_redirects=False)
        assert out.status_code == 303
        assert c.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_web_host_origin_and_headers(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    pid = first_passage(client)
    cross = client.post(
        f"/passage/{pid}/correct",
        data={"csrf_token": csrf(client), "labels": "作风不优", "reviewer": "甲"},
        headers={"origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    same = client.post(
        f"/passage/{pid}/correct",
        data={"csrf_token": csrf(client), "labels": "作风不优", "reviewer": "甲"},
        headers={"origin": BASE},
        follow_redirects=False,
    )
    assert same.status_code == 303
    page = client.get("/", headers=HTML)
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
    assert "HttpOnly" in client.get("/", headers={"cookie": ""}).headers.get("set-cookie", "")
    assert client.get("/nowhere", headers=HTML).status_code == 404
    assert client.get("/static/style.css").status_code == 200


# --- the command ---------------------------------------------------------------------------------


def test_web_serve_refuses_public_host_without_token(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "s.db")
    assert main(["serve", "--db", db, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to serve on 0.0.0.0 without --token" in err[0]
    assert main(["serve", "--db", db, "--allow-folder", str(tmp_path / "missing")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["serve", "--db", db, "--port", "70000"]) == 2
    assert main(["serve", "--db", db, "--token", " "]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 2
    assert not (tmp_path / "s.db").exists()

    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    assert main(["serve", "--db", db, "--host", "0.0.0.0", "--token", "s3cret", "--port", "9999"]) == 0
    assert (started["host"], started["port"]) == ("0.0.0.0", 9999)
    assert started["app"].state.settings.token == "s3cret"
    assert "(token required)" in capsys.readouterr().err
    assert main(["serve", "--db", db]) == 0 and started["host"] == "127.0.0.1" and started["port"] == 8765
    assert "(token required)" not in capsys.readouterr().err


def test_web_store_schema_adds_corrections_by_migration(tmp_path):
    db = build_store(tmp_path)
    with open_store(db) as st:
        st.conn.execute("DROP TABLE corrections")
        st.conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with open_store(db, create=False) as st:
        version = st.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == str(SCHEMA_VERSION) == "3"
        st.record_correction(1, ["作风不优"], "甲")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 1
    conn.close()


# --- stopping the server ----------------------------------------------------------------------------

SERVER = """
import sys, time
sys.path.insert(0, {tests!r})
import uvicorn
from helpers.storekit import CueModel, cue_predict
from pipeline.web.app import create_app
from pipeline.web.settings import WebSettings, check

def slow(model, texts):
    time.sleep(0.4)  # a model call that takes a while: the server is stopped in between
    return cue_predict(model, texts)

settings = check(WebSettings(db={db!r}, model=CueModel(), predict=slow, jobs=1, work_dir={work!r},
                             allow_folders=({folder!r},)))
uvicorn.run(create_app(settings), host="127.0.0.1", port={port}, log_level="warning")
"""


def test_web_server_killed_during_classification_loses_nothing_stored(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx2

    folder = tmp_path / "archive"
    many = [
        ("南充市", k, (2021, 6, 1 + k % 28), (f"6月{1 + k % 28}日，南充市第{k}次检查发现粗暴执法问题。",))
        for k in range(40)
    ]
    write_archive(folder, many)
    db = tmp_path / "r.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = SERVER.format(
        tests=str(Path(__file__).parent), db=str(db), work=str(tmp_path / "web"), folder=str(folder), port=port
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    page = http.get("/add", headers=HTML)
                    break
                except httpx2.TransportError:
                    assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read().decode()
                    time.sleep(0.1)
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
            started = http.post("/add/folder", data={"csrf_token": token, "folder": str(folder)})
            assert started.status_code == 303
            while True:  # stop it once some files are stored and others are not
                with open_store(db) as st:
                    stored = st.conn.execute("SELECT COUNT(*) FROM bulletins").fetchone()[0]
                if stored >= 8:
                    break
                assert time.monotonic() < deadline, "nothing was stored"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    with open_store(db) as st:
        assert st.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = st.conn.execute("SELECT COUNT(*) FROM bulletins").fetchone()[0]
        unscored = st.conn.execute(
            "SELECT COUNT(*) FROM passages p JOIN bulletins b ON b.id = p.bulletin_id WHERE NOT EXISTS "
            "(SELECT 1 FROM predictions r WHERE r.passage_id = p.id AND r.model_version = b.model_version)"
        ).fetchone()[0]
    assert 8 <= kept < 40 and unscored == 0  # every stored file is whole
    summary = classify([folder], db=db, jobs=1, model=CueModel(), predict=cue_predict, quiet=True)
    assert (summary.unchanged, summary.read) == (kept, 40 - kept)  # the next run resumes


def test_web_training_stopped_midway_leaves_no_version(tmp_path, models):
    import threading

    from pipeline.classify.versions import list_models

    writing, release = threading.Event(), threading.Event()

    def slow_train(labeled, name, models_dir, corpus_dir):
        folder = Path(models_dir) / name
        folder.mkdir()
        (folder / "metadata.json").write_text('{"version": "half', encoding="utf-8")  # half written
        writing.set()
        assert release.wait(30)
        raise RuntimeError("the server stopped")

    with make_client(tmp_path, models_dir=models, train=slow_train) as c:
        answer = c.post("/models/train", data={"csrf_token": csrf(c), "name": "cut"}, follow_redirects=False)
        assert writing.wait(30)
        # while it trains, the half-written version is nowhere among the versions
        assert [m["name"] for m in list_models(models)] == ["default"]
        assert "cut" not in c.get("/models", headers=HTML).text.split("训练新版本")[0]
        release.set()
        wait_jobs(c)
        assert "失败" in c.get(answer.headers["location"], headers=HTML).text
    assert sorted(p.name for p in models.iterdir()) == ["default"]

"""The web view end to end in a real headless browser: upload the sample bulletin, see the
counts, open a passage, correct a label, download the XLSX issue list.

Chromium is Debian's (`apt-get install chromium`), driven by Playwright's Python package
(never `playwright install`). The server runs in this process on 127.0.0.1 with a free port;
classification uses the stand-in cue model (helpers.storekit) through the settings' test hook,
so the test does not depend on the trained model. The dashboard's screenshot is written to
docs/web-dashboard.png, the picture in the README.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

REASON = 'the web view needs its extra: pip install -e ".[web]"'
pytest.importorskip("starlette", reason=REASON)
pytest.importorskip("uvicorn", reason=REASON)
pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright: pip install playwright")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("the browser test needs Debian's Chromium: apt-get install chromium", allow_module_level=True)

import uvicorn  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from helpers.storekit import CueModel, cue_predict  # noqa: E402
from pipeline import config  # noqa: E402
from pipeline.reports.queries import counts  # noqa: E402
from pipeline.store.database import open_store  # noqa: E402
from pipeline.web.app import create_app  # noqa: E402
from pipeline.web.settings import WebSettings, check  # noqa: E402

#: The README's picture; rewritten only on request (BULLETINS_UPDATE_SCREENSHOT=1), so that a
#: test run never changes a tracked file.
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "web-dashboard.png"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def server(tmp_path):
    """The web view on 127.0.0.1 (a port the system picks), stopped after the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = check(
        WebSettings(
            db=tmp_path / "r.db",
            port=port,
            model=CueModel(),
            predict=cue_predict,
            jobs=1,
            work_dir=tmp_path / "web",
        )
    )
    app = create_app(settings)
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", settings
    srv.should_exit = True
    thread.join(10)
    sock.close()


def test_web_in_a_browser_upload_count_open_correct_download(server, tmp_path):
    import openpyxl

    base, settings = server
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

            page.goto(base + "/")
            expect(page.get_by_text("结果库里还没有简报")).to_be_visible()

            # add the sample bulletin
            page.get_by_role("link", name="添加简报").first.click()
            page.set_input_files("input[name=files]", str(config.SEED_TEXT))
            page.get_by_role("button", name="上传并分类").click()
            page.wait_for_url(re.compile(r"/jobs/\d+$"))
            expect(page.locator("#job-state")).to_have_text("已完成", timeout=60_000)
            expect(page.get_by_text("新读取并分类：1 个文件")).to_be_visible()

            # the counts, as `bulletins counts` gives them
            page.get_by_role("link", name="查看概览").click()
            expected = counts(settings.db, by=["category"])
            assert int(expected["count"].sum()) > 0
            for category, n in zip(expected["category"], expected["count"]):
                row = page.locator("table.compact tbody tr").filter(has_text=category)
                expect(row.locator("td").first).to_have_text(str(n))
            expect(page.locator("section.summary strong").first).to_have_text(str(int(expected["count"].sum())))
            shot = SCREENSHOT if os.environ.get("BULLETINS_UPDATE_SCREENSHOT") == "1" else tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            # the passages behind a number, then one passage in its bulletin
            category, n = str(expected["category"].iloc[0]), int(expected["count"].iloc[0])
            page.locator("table.compact tbody tr").filter(has_text=category).locator("td a").click()
            expect(page.get_by_text(f"{n} 条问题")).to_be_visible()
            page.locator("table.list tbody a").first.click()
            expect(page.locator("blockquote.passage")).to_be_visible()
            expect(page.locator("dl.meta")).to_contain_text("2021年第8期")
            expect(page.locator("blockquote.passage mark").first).to_be_visible()

            # correct its labels
            form = page.locator("#correct-form")
            form.locator("input[name=labels][value=职责不明]").check()
            form.locator("input[name=labels][value=宗旨不牢]").check()
            form.locator("input[name=reviewer]").fill("浏览器测试")
            form.get_by_role("button").click()
            expect(page.get_by_text("校正已保存")).to_be_visible()
            with open_store(settings.db) as st:
                rows = st.conn.execute("SELECT labels, reviewer FROM corrections").fetchall()
            assert len(rows) == 1 and rows[0][1] == "浏览器测试"
            assert {"宗旨不牢", "职责不明"} <= set(__import__("json").loads(rows[0][0]))

            # the issue list as XLSX
            page.get_by_role("link", name="概览").first.click()
            with page.expect_download() as download:
                page.get_by_role("link", name="XLSX").click()
            saved = tmp_path / "问题清单.xlsx"
            download.value.save_as(saved)
            assert download.value.suggested_filename == "问题清单.xlsx"
            book = openpyxl.load_workbook(saved)
            assert book.sheetnames[0] == "汇总"
            summary = list(book["汇总"].values)
            assert summary[-1][-1] == int(expected["count"].sum())  # the grand total
            context.close()
        finally:
            browser.close()
    assert not problems, problems

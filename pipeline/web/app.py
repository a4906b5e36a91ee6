"""The web application: Starlette routes rendering Jinja2 templates (autoescaped).

Pages read through :class:`pipeline.web.data.Data` (the report functions, cached per store
version); writes are the store's own methods and the batch and training jobs. Every POST
checks the CSRF token; :class:`pipeline.web.security.Guard` checks host, token and origin
first. Build the application with :func:`create_app`; ``bulletins serve`` runs it with uvicorn.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Message, Receive

from pipeline import __version__
from pipeline.errors import BulletinsError, InputError, StoreError, UsageError
from pipeline.reports.exports import NO_DATE, NO_UNIT, UNKNOWN
from pipeline.store import database
from pipeline.taxonomy import CATEGORIES, LABEL_SEP, NONE_LABEL
from pipeline.web import charts, intake, training
from pipeline.web.data import NONE, Data, Filters
from pipeline.web.jobs import JobRunner
from pipeline.web.security import AUTH_COOKIE, Guard, auth_cookie_value, check_csrf, safe_next
from pipeline.web.settings import WebSettings

HERE = Path(__file__).parent
REVIEWER_COOKIE = "bulletins_reviewer"
#: Seconds a review page waits for the queue before showing "being computed".
REVIEW_WAIT = 3.0
_MONTH = re.compile(r"^\d{4}-\d{2}$")
#: What each category covers, for reviewers (``pipeline.taxonomy.DESCRIPTIONS`` in Chinese).
HINTS = {
    "宗旨不牢": "为民服务意识不强：逐利执法、以罚代管、把罚款当创收",
    "作风不优": "作风不实：粗暴执法、态度生硬、形式主义、纪律松散",
    "本领不强": "能力不足：程序或文书不规范、证据不足、同案不同罚；业务培训",
    "担当不力": "不担当不作为：推诿扯皮、慢作为、投诉处置不及时",
    "执法不廉": "执法不廉洁：吃拿卡要、收受财物、人情执法、收费放行",
    "职责不明": "职责不清：职责交叉、多头执法、重复检查、缺乏执法依据",
}


class _TooLarge(Exception):
    pass


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that stops a request body past ``limit`` bytes."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message

    return wrapped


def _download(body: bytes, filename: str, media_type: str) -> Response:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(
        body,
        media_type=media_type,
        headers={"content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"},
    )


def highlight(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into ``(piece, is_evidence)`` runs: the template marks the evidence terms
    (longest first, non-overlapping) and escapes every piece."""
    terms = sorted({t for t in terms if t}, key=len, reverse=True)
    if not terms:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(t) for t in terms))
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _issue_label(year: Any, issue_no: Any) -> str:
    if issue_no is None or issue_no != issue_no:
        return ""
    return f"{int(year)}年第{int(issue_no)}期" if year is not None and year == year else f"第{int(issue_no)}期"


def create_app(settings: WebSettings) -> Starlette:
    """The web application over ``settings.db`` (created when missing).

    Args:
        settings: checked settings (:func:`pipeline.web.settings.check`).

    Returns:
        A Starlette application; ``app.state.runner`` runs its background jobs and
        ``app.state.data`` holds its cached figures.
    """
    with database.open_store(settings.db):
        pass  # create (or migrate) the store, so that every page has one to read
    settings.uploads.mkdir(parents=True, exist_ok=True)
    data = Data(settings.db, settings.models_dir, settings.review_size)
    runner = JobRunner()
    secret = secrets.token_bytes(32)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped: passages may contain markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        categories=CATEGORIES,
        descriptions=HINTS,
        colors=charts.COLORS,
        app_version=__version__,
        db_path=str(Path(settings.db).resolve()),
        token_enabled=bool(settings.token),
        UNKNOWN=UNKNOWN,
        NO_UNIT=NO_UNIT,
        NO_DATE=NO_DATE,
        NONE_LABEL=NONE_LABEL,
    )
    env.filters["labels"] = lambda ls: LABEL_SEP.join(ls) if ls else NONE_LABEL
    env.filters["f2"] = lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.2f}"
    env.filters["cut"] = lambda s, n=80: s if len(s or "") <= n else s[: n - 1] + "…"
    templates = Jinja2Templates(env=env)

    def page(request: Request, name: str, context: dict | None = None, status: int = 200) -> Response:
        ctx = {
            "csrf_token": request.state.csrf,
            "nonce": request.state.nonce,
            "nav": "",
            "busy": runner.busy(),
            "static": lambda f: f"/static/{f}?v={__version__}",
        }
        ctx.update(context or {})
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def fragment(key: tuple, name: str, context: Callable[[], dict]) -> Markup:
        """A template rendered once per store version and key: the parts of pages that are
        the same for every visitor (no form token in them). Autoescaped like any template."""
        return data.cached(("html", name, *key), lambda: Markup(env.get_template(name).render(**context())))

    def filters_of(request: Request) -> Filters:
        return Filters.from_query(request.query_params)

    async def form_of(request: Request, max_fields: int = 50) -> FormData:
        try:
            return await request.form(max_files=0, max_fields=max_fields)
        except MultiPartException as exc:
            raise HTTPException(400, f"表单无法读取（{exc.message}）") from None

    # --- dashboard, passages, downloads ----------------------------------------------------

    def dashboard(request: Request) -> Response:
        filters = filters_of(request)
        totals = data.totals()
        context: dict[str, Any] = {"nav": "dashboard", "filters": filters, "totals": totals}
        if totals["bulletins"] == 0:
            return page(request, "dashboard.html", {**context, "empty": True, "errors": database.errors(settings.db)})
        body = fragment(
            (filters,), "_dashboard.html", lambda: {"filters": filters, "totals": totals, **figures(filters)}
        )
        return page(request, "dashboard.html", {**context, "empty": False, "body": body})

    def figures(filters: Filters, detail: bool = False) -> dict[str, Any]:
        """Everything the dashboard shows for these filters (cached until the store changes);
        with ``detail``, the region × month × category table only."""
        frame = data.frame(filters)

        def href(category: str | None, region: str | None, month: str | None) -> str:
            more: dict[str, str | None] = {"category": category}
            if region == "":
                more["region_none"] = "1"
            elif region is not None:
                more["region"] = region
            if month is not None:
                more["month"] = month or NONE
            return "/passages" + filters.query(**more)

        by_cat = data.counts(filters, ("category",))
        by_region = data.counts(filters, ("region", "category"))
        by_month = data.counts(filters, ("month", "category"))
        by_region_month = data.counts(filters, ("region", "month", "category"))

        def table(counts_frame, keys: tuple[str, ...]) -> list[dict]:
            cells: dict[tuple, dict[str, int]] = {}
            for row in counts_frame.itertuples(index=False):
                key = tuple(getattr(row, k) for k in keys)
                cells.setdefault(key, {})[row.category] = int(row.count)
            rows: list[dict[str, Any]] = []
            for key in sorted(cells, key=lambda k: tuple((v == "", v) for v in k)):
                where = dict(zip(keys, key))
                region, month = where.get("region"), where.get("month")
                rows.append(
                    {
                        "region": region,
                        "month": month,
                        "cells": [
                            (cells[key].get(c, 0), href(c, region, month) if cells[key].get(c) else "")
                            for c in CATEGORIES
                        ],
                        "total": (sum(cells[key].values()), href(None, region, month)),
                        "sum": sum(cells[key].values()),
                    }
                )
            if keys == ("region",):  # as in the chart: most problems first
                rows.sort(key=lambda r: (-r["sum"], r["region"] == "", r["region"]))
            return rows

        if detail:
            return {"detail_table": table(data.counts(filters, ("region", "month", "category")), ("region", "month"))}
        cat_counts = {
            str(c): (int(n), int(p)) for c, n, p in zip(by_cat["category"], by_cat["count"], by_cat["passages"])
        }
        return {
            "empty": False,
            "regions": data.regions(),
            "versions": data.versions(),
            "store_versions": data.store_versions(),
            "rows": len(frame),
            "passages": int(frame["passage_id"].nunique()) if len(frame) else 0,
            "cat_counts": [(c, *cat_counts.get(c, (0, 0)), href(c, None, None)) for c in CATEGORIES],
            "all_href": href(None, None, None),
            "category_chart": charts.category_bars(by_cat, href, width=520),
            "month_chart": charts.month_columns(by_month, href, width=520, height=250),
            "region_chart": charts.region_bars(by_region, href, width=1100),
            "region_table": table(by_region, ("region",)),
            "month_table": table(by_month, ("month",)),
            "detail_rows": len(by_region_month.drop_duplicates(["region", "month"])),
            "detail_href": "/detail" + filters.query(),
            "download": filters.query(),
            "cli": filters.cli(),
        }

    def detail_page(request: Request) -> Response:
        filters = filters_of(request)
        body = fragment((filters,), "_detail.html", lambda: {"filters": filters, **figures(filters, detail=True)})
        return page(request, "detail.html", {"nav": "dashboard", "body": body})

    def passages(request: Request) -> Response:
        filters = filters_of(request)
        month = request.query_params.get("month") or None
        if month is not None and month != NONE and not _MONTH.match(month):
            raise UsageError(f"月份应写作 YYYY-MM，收到 {month!r}")
        region_none = request.query_params.get("region_none") == "1"
        try:
            number = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            number = 1

        def listing() -> dict[str, Any]:
            rows = data.issue_rows(filters, month, region_none)
            size = settings.page_size
            pages = max(1, math.ceil(len(rows) / size))
            at = min(number, pages)
            cell = {"month": month, "region_none": "1" if region_none else None}
            return {
                "filters": filters,
                "month": month,
                "region_none": region_none,
                "total": len(rows),
                "distinct": int(rows["passage_id"].nunique()) if len(rows) else 0,
                "rows": rows.iloc[(at - 1) * size : at * size].to_dict(orient="records"),
                "page": at,
                "pages": pages,
                "prev_href": "/passages" + filters.query(**cell, page=at - 1) if at > 1 else "",
                "next_href": "/passages" + filters.query(**cell, page=at + 1) if at < pages else "",
                "back": "/" + filters.query(),
            }

        body = fragment((filters, month, region_none, number), "_passages.html", listing)
        return page(request, "passages.html", {"nav": "dashboard", "body": body})

    def passage(request: Request) -> Response:
        pid = request.path_params["pid"]
        detail = database.passage_detail(settings.db, pid)
        if detail is None:
            raise HTTPException(404, "库中没有这段文字（简报可能已被重新读取）")
        version = request.query_params.get("version") or detail["model_version"] or ""
        preds = detail["predictions"].get(version, {})
        predicted = [c for c in CATEGORIES if preds.get(c, {}).get("predicted")]
        terms = [t for c in predicted for t in preds[c]["evidence"]]
        from pipeline.classify.model_files import all_meta

        cuts: dict[str, float] = next(
            (m.get("thresholds", {}) for _, m in all_meta(settings.models_dir) if m.get("version") == version), {}
        )
        latest = detail["corrections"][0] if detail["corrections"] else None
        checked = latest["labels"] if latest else predicted
        from_review = request.query_params.get("from") == "review"
        position = None
        queue = data.review()[0] if from_review else None
        if queue is not None:
            ids = data.passage_ids()
            order = [ids.get(i) for i in queue["id"]]
            if pid in order:
                position = (order.index(pid) + 1, len(order))
        return page(
            request,
            "passage.html",
            {
                "nav": "review" if from_review else "dashboard",
                "p": detail,
                "issue": _issue_label(detail["year"], detail["issue_no"]),
                "version": version,
                "versions": list(detail["predictions"]),
                "scores": [
                    (
                        c,
                        preds.get(c, {}).get("score"),
                        cuts.get(c),
                        c in predicted,
                        preds.get(c, {}).get("evidence", []),
                    )
                    for c in CATEGORIES
                ],
                "predicted": predicted,
                "segments": highlight(detail["text"], terms),
                "terms": sorted(set(terms)),
                "checked": checked,
                "latest": latest,
                "reviewer": unquote(request.cookies.get(REVIEWER_COOKIE, "")),
                "saved": request.query_params.get("saved") == "1",
                "from_review": from_review,
                "position": position,
            },
        )

    async def correct(request: Request) -> Response:
        pid = request.path_params["pid"]
        form = await form_of(request)
        check_csrf(request, _text(form.get("csrf_token")))
        labels = [str(v) for v in form.getlist("labels")]
        unknown = [v for v in labels if v not in CATEGORIES]
        if unknown:
            raise HTTPException(400, f"未知的类别：{'、'.join(unknown)}")
        if form.get("none") and labels:
            raise HTTPException(400, f"「{NONE_LABEL}」不能与其他类别同时选择")
        if not labels and not form.get("none"):
            raise HTTPException(400, f"请至少选择一个类别，或选择「{NONE_LABEL}」（不属于任何一类）")
        reviewer = " ".join(_text(form.get("reviewer")).split())[:40]
        if not reviewer:
            raise HTTPException(400, "请填写复核人姓名")

        def write() -> None:
            with database.open_store(settings.db, create=False) as st:
                st.record_correction(pid, labels, reviewer)

        await run_in_threadpool(write)
        target = "/review/next" if form.get("next") == "review" else f"/passage/{pid}?saved=1"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(REVIEWER_COOKIE, quote(reviewer), max_age=180 * 86400, httponly=True, samesite="strict")
        return response

    def issues_download(request: Request) -> Response:
        from pipeline.reports.exports import write_issues
        from pipeline.reports.queries import issues

        fmt = request.path_params["fmt"]
        filters = filters_of(request)
        frame = issues(
            settings.db, filters.since, filters.until, filters.category, filters.region, filters.model_version
        )
        if fmt == "csv":
            buf = io.StringIO()
            write_issues(frame, "csv", None, buf)
            return _download(buf.getvalue().encode("utf-8"), "问题清单.csv", "text/csv; charset=utf-8")
        settings.exports.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=settings.exports) as tmp:
            out = Path(tmp) / "issues.xlsx"
            write_issues(frame, "xlsx", out)
            body = out.read_bytes()
        return _download(body, "问题清单.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # --- adding bulletins, jobs --------------------------------------------------------------

    def add_page(request: Request, refused: list | None = None, message: str = "", status: int = 200) -> Response:
        return page(
            request,
            "add.html",
            {
                "nav": "add",
                "folders": [str(f) for f in settings.allow_folders],
                "max_mb": settings.max_upload_bytes / 1048576,
                "max_files": settings.max_files,
                "jobs": runner.recent(None, 10),
                "errors": database.errors(settings.db)[:50],
                "refused": refused or [],
                "message": message,
            },
            status,
        )

    async def upload(request: Request) -> Response:
        limit = settings.max_upload_bytes
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > limit:
            return add_page(request, message=f"上传内容超过上限 {limit / 1048576:.0f} MB，请分批上传", status=413)
        limited = Request(request.scope, _limited(request.receive, limit))
        try:
            form = await limited.form(max_files=settings.max_files, max_fields=20)
        except _TooLarge:
            return add_page(request, message=f"上传内容超过上限 {limit / 1048576:.0f} MB，请分批上传", status=413)
        except MultiPartException as exc:
            return add_page(request, message=f"上传无法读取（{exc.message}）", status=400)
        try:
            check_csrf(request, _text(form.get("csrf_token")))
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
            if not files:
                return add_page(request, message="请选择要上传的简报文件", status=400)
            saved = [
                await run_in_threadpool(intake.save_upload, f.file, f.filename, settings.uploads, limit) for f in files
            ]
        finally:
            await form.close()
        refused = [(s.name, s.reason) for s in saved if s.path is None]
        stored = [s for s in saved if s.path is not None]
        if not stored:
            return add_page(request, refused=refused, message="没有可以读取的文件", status=400)
        names = {str(s.path): s.name for s in stored}
        paths = sorted({s.path for s in stored if s.path is not None})
        job = runner.submit(
            "classify",
            f"上传的 {len(stored)} 个文件",
            lambda job: intake.run_classify(job, settings, paths, names, refused),
            total=len(paths),
        )
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    async def add_folder(request: Request) -> Response:
        form = await form_of(request)
        check_csrf(request, _text(form.get("csrf_token")))
        raw = _text(form.get("folder"))
        try:
            target = intake.resolve_folder(raw, settings.allow_folders)
            files, refused = await run_in_threadpool(intake.files_in, target, settings.allow_folders)
        except InputError as exc:
            status = 400 if settings.allow_folders else 403
            return add_page(request, message=exc.message, status=status)
        if not files:
            return add_page(
                request, refused=refused, message="这个文件夹里没有简报文件（.pdf、.docx、.txt 等）", status=400
            )
        job = runner.submit(
            "classify",
            f"文件夹 {target}",
            lambda job: intake.run_classify(job, settings, files, refused=refused),
            total=len(files),
        )
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    def job_page(request: Request) -> Response:
        job = runner.get(request.path_params["jid"])
        if job is None:
            raise HTTPException(404, "没有这个任务（服务器重启后任务记录会清空，结果已在库中）")
        return page(request, "job.html", {"nav": "models" if job.kind == "train" else "add", "job": job})

    def job_status(request: Request) -> Response:
        job = runner.get(request.path_params["jid"])
        if job is None:
            return JSONResponse({"error": "no such job"}, status_code=404)
        return JSONResponse(job.public())

    # --- review queue and corrections --------------------------------------------------------

    def review_page(request: Request) -> Response:
        queue, current, serial = data.review(wait=REVIEW_WAIT)

        def queue_rows() -> list[dict]:
            ids, corrected = data.passage_ids(), data.corrected_ids()
            return [
                {**r, "rank": k, "passage_id": ids.get(r["id"]), "done": r["id"] in corrected}
                for k, r in enumerate([] if queue is None else queue.to_dict(orient="records"), start=1)
            ]

        rows = data.cached(("review-rows", serial), queue_rows)
        table = fragment((serial,), "_review_table.html", lambda: {"rows": rows})
        return page(
            request,
            "review.html",
            {
                "nav": "review",
                "rows": rows,
                "table": table,
                "ready": queue is not None,
                "current": current,
                "passages": data.totals()["passages"],
                "left": sum(not r["done"] for r in rows),
                "finished": request.query_params.get("done") == "1",
            },
        )

    def review_next(request: Request) -> Response:
        queue, _, _ = data.review(wait=REVIEW_WAIT)
        if queue is None:
            return RedirectResponse("/review", status_code=303)
        ids, corrected = data.passage_ids(), data.corrected_ids()
        for rid in queue["id"]:
            if rid not in corrected and rid in ids:
                return RedirectResponse(f"/passage/{ids[rid]}?from=review", status_code=303)
        return RedirectResponse("/review?done=1", status_code=303)

    def corrections_page(request: Request) -> Response:
        rows = data.corrections()
        return page(
            request,
            "corrections.html",
            {
                "nav": "corrections",
                "rows": [{**r, "issue": _issue_label(r["year"], r["issue_no"])} for r in rows],
            },
        )

    def corrections_export(request: Request) -> Response:
        from pipeline.web.corrections import write_corrections

        fmt = request.path_params["fmt"]
        settings.exports.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=settings.exports) as tmp:
            out = Path(tmp) / f"corrections.{fmt}"
            write_corrections(out, settings.db, settings.models_dir)
            body = out.read_bytes()
        media = {
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "csv": "text/csv; charset=utf-8",
            "jsonl": "application/x-ndjson; charset=utf-8",
        }[fmt]
        return _download(body, f"校正.{fmt}", media)

    # --- models ------------------------------------------------------------------------------

    def models_page(request: Request, result: dict | None = None, error: str = "", status: int = 200) -> Response:
        from pipeline.classify.model_files import all_meta
        from pipeline.classify.versions import default_name, list_models

        rows = list_models(settings.models_dir)
        comparisons = {folder.name: meta.get("comparison") for folder, meta in all_meta(settings.models_dir)}
        return page(
            request,
            "models.html",
            {
                "nav": "models",
                "models": [{**r, "comparison": comparisons.get(r["name"])} for r in reversed(rows)],
                "current": default_name(settings.models_dir),
                "jobs": runner.recent("train", 5) + runner.recent("reclassify", 3),
                "corrections": data.totals()["corrections"],
                "store_versions": data.store_versions(),
                "suggested": training.default_version_name(),
                "result": result,
                "error": error,
            },
            status,
        )

    async def train_action(request: Request) -> Response:
        form = await form_of(request)
        check_csrf(request, _text(form.get("csrf_token")))
        name = _text(form.get("name")).strip() or training.default_version_name()
        try:
            training.check_name(name, settings.models_dir)
        except UsageError as exc:
            return models_page(request, error=exc.message, status=400)
        job = runner.submit("train", f"训练模型版本 {name}", lambda job: training.run_train(job, settings, name))
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    async def promote_action(request: Request) -> Response:
        form = await form_of(request)
        check_csrf(request, _text(form.get("csrf_token")))
        name = _text(form.get("name"))
        force = bool(form.get("force"))
        try:
            result = await run_in_threadpool(training.promote_version, settings, name, force)
        except BulletinsError as exc:
            return models_page(request, error=exc.message + (f"（{exc.hint}）" if exc.hint else ""), status=409)
        return models_page(request, result=result)

    async def reclassify_action(request: Request) -> Response:
        form = await form_of(request)
        check_csrf(request, _text(form.get("csrf_token")))
        job = runner.submit(
            "reclassify", "用默认模型重新分类库中简报", lambda job: training.run_reclassify(job, settings)
        )
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    # --- login ---------------------------------------------------------------------------------

    def login_page(request: Request) -> Response:
        if not settings.token:
            return RedirectResponse("/", status_code=303)
        return page(request, "login.html", {"next": safe_next(request.query_params.get("next")), "failed": False})

    async def login(request: Request) -> Response:
        if not settings.token:
            return RedirectResponse("/", status_code=303)
        form = await form_of(request, max_fields=10)
        check_csrf(request, _text(form.get("csrf_token")))
        given = _text(form.get("token"))
        target = safe_next(_text(form.get("next")))
        import hmac

        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            await asyncio.sleep(0.5)  # slows guessing
            return page(request, "login.html", {"next": target, "failed": True}, status=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(AUTH_COOKIE, auth_cookie_value(settings.token), httponly=True, samesite="lax")
        return response

    async def logout(request: Request) -> Response:
        form = await form_of(request, max_fields=10)
        check_csrf(request, _text(form.get("csrf_token")))
        response = RedirectResponse("/login" if settings.token else "/", status_code=303)
        response.delete_cookie(AUTH_COOKIE)
        return response

    # --- errors --------------------------------------------------------------------------------

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not hasattr(request.state, "csrf"):
            return Response(str(exc.detail), status_code=exc.status_code, media_type="text/plain; charset=utf-8")
        detail = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else "没有这个页面"
        return page(request, "error.html", {"status": exc.status_code, "detail": detail}, exc.status_code)

    def bulletins_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BulletinsError)
        status = 400 if isinstance(exc, (UsageError, InputError)) else 500
        if isinstance(exc, StoreError):
            status = 500
        return page(request, "error.html", {"status": status, "detail": str(exc)}, status)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        runner.stop()
        data.close()

    routes = [
        Route("/", dashboard),
        Route("/detail", detail_page),
        Route("/passages", passages),
        Route("/passage/{pid:int}", passage),
        Route("/passage/{pid:int}/correct", correct, methods=["POST"]),
        Route("/issues.{fmt:str}", _only(issues_download, "fmt", ("xlsx", "csv"))),
        Route("/add", add_page),
        Route("/add/upload", upload, methods=["POST"]),
        Route("/add/folder", add_folder, methods=["POST"]),
        Route("/jobs/{jid:int}", job_page),
        Route("/jobs/{jid:int}/status", job_status),
        Route("/review", review_page),
        Route("/review/next", review_next),
        Route("/corrections", corrections_page),
        Route("/corrections/export.{fmt:str}", _only(corrections_export, "fmt", ("xlsx", "csv", "jsonl"))),
        Route("/models", models_page),
        Route("/models/train", train_action, methods=["POST"]),
        Route("/models/promote", promote_action, methods=["POST"]),
        Route("/models/reclassify", reclassify_action, methods=["POST"]),
        Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, settings=settings, secret=secret)],
        exception_handlers={HTTPException: http_error, BulletinsError: bulletins_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runner = runner
    app.state.data = data
    return app


def _only(endpoint, name: str, allowed: tuple[str, ...]):
    """``endpoint`` for path parameter values in ``allowed``; 404 for others."""

    def guarded(request: Request) -> Response:
        if request.path_params[name] not in allowed:
            raise HTTPException(404, "没有这个页面")
        return endpoint(request)

    return guarded


def _text(value: Any) -> str:
    """A form field as text (a file in a text field is no text)."""
    return value if isinstance(value, str) else ""

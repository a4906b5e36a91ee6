"""Who may use the web view and how: Host check, token, session, CSRF, response headers.

* **Host**: a server bound to a loopback address answers only to ``127.0.0.1``,
  ``localhost`` and ``[::1]`` (a page elsewhere cannot reach it through DNS rebinding).
* **Token** (``--token``): every request needs it, as ``Authorization: Bearer TOKEN``, an
  ``X-Bulletins-Token`` header, or the cookie the login form sets (an HMAC of the token, not
  the token). Only the login form itself is open.
* **CSRF**: every browser gets a random session cookie; every write (POST) must carry the
  HMAC of that session under the server's secret (the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header), else 403. A cross-site ``Origin`` is refused outright.
* **Headers**: a Content Security Policy allowing only this server's scripts and styles (and
  a per-response nonce for the login page's inline style), no framing, no sniffing, no caching
  of pages.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.web.settings import WebSettings

SESSION_COOKIE = "bulletins_session"
AUTH_COOKIE = "bulletins_auth"
TOKEN_HEADER = "x-bulletins-token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Paths open without the token (the login form must be reachable to log in).
OPEN_PATHS = ("/login",)
_SESSION = re.compile(r"^[0-9a-f]{32}$")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def auth_cookie_value(token: str) -> str:
    """What the login cookie holds: an HMAC of the token (the token itself never is stored)."""
    return hmac.new(token.encode(), b"bulletins-web-auth-v1", hashlib.sha256).hexdigest()


def csrf_for(secret: bytes, session: str) -> str:
    """The CSRF token of a session."""
    return hmac.new(secret, session.encode(), hashlib.sha256).hexdigest()


def token_ok(settings: WebSettings, headers: Headers, cookies: dict[str, str]) -> bool:
    """Whether a request carries the server's token (header or login cookie)."""
    token = settings.token
    if not token:
        return True
    given = headers.get(TOKEN_HEADER, "")
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        given = given or auth[7:].strip()
    if given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    cookie = cookies.get(AUTH_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie, auth_cookie_value(token))


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else host
    return host.split(":", 1)[0]


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no cookie
        return {}
    return {k: m.value for k, m in jar.items()}


class Guard:
    """ASGI middleware applying the rules above to every HTTP request.

    Args:
        app: the application.
        settings: the server's settings (host names, token).
        secret: the server's CSRF secret.
    """

    def __init__(self, app: ASGIApp, settings: WebSettings, secret: bytes) -> None:
        self.app, self.settings, self.secret = app, settings, secret
        self.hosts = settings.host_names()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.hosts is not None and _hostname(headers.get("host", "")) not in self.hosts:
            await PlainTextResponse("unexpected Host header", status_code=400)(scope, receive, send)
            return
        cookies = _cookies(headers)
        session = cookies.get(SESSION_COOKIE, "")
        new_session = None
        if not _SESSION.match(session):
            session = new_session = secrets.token_hex(16)
        nonce = secrets.token_urlsafe(16)
        state = scope.setdefault("state", {})
        state.update(session=session, csrf=csrf_for(self.secret, session), nonce=nonce)
        state["authenticated"] = token_ok(self.settings, headers, cookies)
        method = scope["method"]
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.setdefault(
                    "content-security-policy",
                    "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-" + nonce + "'; "
                    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                    "base-uri 'none'",
                )
                out.setdefault("x-content-type-options", "nosniff")
                out.setdefault("x-frame-options", "DENY")
                out.setdefault("referrer-policy", "same-origin")
                if not path.startswith("/static/"):
                    out.setdefault("cache-control", "no-store")
                if new_session is not None:
                    out.append("set-cookie", f"{SESSION_COOKIE}={new_session}; Path=/; HttpOnly; SameSite=Strict")
            await send(message)

        if not state["authenticated"] and path not in OPEN_PATHS:
            response: Response
            if method in _SAFE_METHODS and "text/html" in headers.get("accept", ""):
                target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
                response = RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
            else:
                response = PlainTextResponse("this server needs its token: log in, or send X-Bulletins-Token", 401)
            await response(scope, receive, send_with_headers)
            return
        if method not in _SAFE_METHODS and not self._same_origin(headers):
            await PlainTextResponse("cross-site request refused", status_code=403)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _same_origin(headers: Headers) -> bool:
        origin = headers.get("origin")
        if origin is None or origin == "null":
            # No Origin (older clients, curl): the CSRF token decides. "null" is an opaque
            # origin (a sandboxed frame, a file:// page): never this server's own pages.
            return origin is None
        return (
            _hostname(urlsplit(origin).netloc) == _hostname(headers.get("host", ""))
            and urlsplit(origin).port == urlsplit("//" + headers.get("host", "")).port
        )


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a write without this session's CSRF token.

    Args:
        request: the request (its state holds the expected token).
        submitted: the form field's value (the header is used when it is missing).

    Raises:
        HTTPException: 403.
    """
    given = submitted or request.headers.get(CSRF_HEADER, "")
    expected = request.state.csrf
    if not given or not hmac.compare_digest(str(given), expected):
        raise HTTPException(403, "缺少或错误的表单校验码（CSRF）：请刷新页面后重试")

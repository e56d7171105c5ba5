"""The sign-in gate: every request's user, CSRF checks, and the door to every non-public path.

One ASGI middleware, so no route can forget it: with accounts on, it loads the user behind the
session cookie (from the database, so every worker agrees and sign-outs work at once), refuses
state-changing requests that carry a cookie but not the CSRF token bound to it, and turns away
signed-out visitors from everything except the sign-in pages, static files and the health check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.signin import load_sign_in
from app.auth.tokens import (
    ANON_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    CookieSigner,
    new_token,
)
from app.config import Settings
from app.models import User
from app.services import services_of
from app.web.bodies import read_body, replay

__all__ = [
    "PUBLIC_PATHS",
    "AuthContext",
    "AuthGate",
    "clear_cookie_headers",
    "is_public",
    "session_cookie_headers",
]

# Probes and metrics answer without a sign-in (orchestrators and Prometheus have no account);
# the shipped proxy (deploy/Caddyfile) keeps /metrics and /healthz/ready off the public side.
PUBLIC_PATHS = frozenset({
    "/healthz", "/healthz/live", "/healthz/ready", "/metrics", "/favicon.ico",
    "/login", "/logout", "/api/auth/login", "/api/auth/logout",
})
PUBLIC_PREFIXES = ("/static/", "/setup/", "/reset/")
# Pages with a form for people who are not signed in: they get an anonymous CSRF cookie.
_ANON_FORM_PAGES = ("/login", "/setup/", "/reset/")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What a request knows about who sent it; templates read it as `request.state.auth`."""

    enabled: bool
    user: User | None
    csrf_token: str
    session_token: str | None = None


def is_public(path: str) -> bool:
    """Paths anyone may open with accounts on."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _secure(settings: Settings, scope: Scope) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return scope.get("scheme") == "https"


def _cookie_header(settings: Settings, scope: Scope, name: str, value: str, max_age: int) -> bytes:
    """A Set-Cookie value: HttpOnly, SameSite=Lax, Secure when configured or over https."""
    response = Response()
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(settings, scope),
    )
    return next(v for k, v in response.raw_headers if k == b"set-cookie")


def session_cookie_headers(
    settings: Settings, scope: Scope, signer: CookieSigner, token: str
) -> list[tuple[bytes, bytes]]:
    """Headers that sign a browser in with a session token."""
    value = signer.dumps(token)
    return [(b"set-cookie", _cookie_header(settings, scope, SESSION_COOKIE, value,
                                           settings.session_max_age))]


def clear_cookie_headers(settings: Settings, scope: Scope) -> list[tuple[bytes, bytes]]:
    """Headers that remove the session cookie."""
    return [(b"set-cookie", _cookie_header(settings, scope, SESSION_COOKIE, "", 0))]


def _same_origin(request: Request, settings: Settings) -> bool:
    """False for a state-changing request another site's page sent (Origin or Fetch metadata)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or an old one; the CSRF token still guards it
    ours = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
    if settings.public_url:
        public = urlsplit(settings.public_url)
        ours.add(f"{public.scheme}://{public.netloc}".lower())
    return origin.lower() in ours


async def _form_token(scope: Scope, body: bytes, receive: Receive) -> str | None:
    content_type = Request(scope).headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace"))).get(CSRF_FIELD)
    form = await Request(scope, replay(body, receive)).form()
    try:
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and (
        request.method == "GET" or "text/html" in request.headers.get("accept", "")
    )


class AuthGate:
    """Sets `request.state.auth` on every request and enforces sign-in and CSRF with accounts on."""

    def __init__(self, app: ASGIApp, *, settings: Settings, signer: CookieSigner | None) -> None:
        """`signer`: the app's one cookie signer (app.services), None with accounts off."""
        self.app = app
        self.settings = settings
        self.signer = signer if settings.auth == "on" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        starlette_app = scope["app"]
        if self.signer is None:
            local = services_of(starlette_app).local_user
            state["auth"] = AuthContext(enabled=False, user=local, csrf_token="")
            await self.app(scope, receive, send)
            return
        await self._gate(scope, receive, send, state, starlette_app)

    async def _gate(self, scope, receive, send, state, starlette_app) -> None:
        signer = self.signer
        assert signer is not None
        settings = self.settings
        request = Request(scope)
        path, method = request.url.path, request.method
        cookie = request.cookies.get(SESSION_COOKIE)
        token = signer.loads(cookie, max_age=settings.session_max_age) if cookie else None
        user: User | None = None
        if token and not path.startswith("/static/"):
            shared = services_of(starlette_app)
            user = await shared.database.run(
                load_sign_in, token=token, idle_timeout=settings.session_idle_timeout,
                now=shared.clock(),
            )
            token = token if user is not None else None
        anon = request.cookies.get(ANON_COOKIE)
        anon = anon if anon and 20 <= len(anon) <= 100 else None
        extra_headers: list[tuple[bytes, bytes]] = []
        if cookie and token is None and not path.startswith("/static/"):
            extra_headers += clear_cookie_headers(settings, scope)
        base = token or anon
        if base is None and method == "GET" and path.startswith(_ANON_FORM_PAGES):
            base = new_token()
            extra_headers.append(
                (b"set-cookie", _cookie_header(settings, scope, ANON_COOKIE, base, 3600))
            )
        state["auth"] = AuthContext(
            enabled=True,
            user=user,
            csrf_token=signer.csrf_for(base) if base else "",
            session_token=token,
        )

        if method not in _SAFE_METHODS:
            if not _same_origin(request, settings):
                await self._refuse(scope, receive, send, 403,
                                   "Refused: this request came from another site.")
                return
            if token or anon:
                supplied = request.headers.get(CSRF_HEADER)
                content_type = request.headers.get("content-type", "")
                if supplied is None and content_type.startswith(_FORM_TYPES):
                    body = await read_body(receive)
                    supplied = await _form_token(scope, body, receive)
                    receive = replay(body, receive)
                if not signer.csrf_ok(token or anon or "", supplied):
                    await self._refuse(
                        scope, receive, send, 403,
                        "The form's security token is missing or out of date (CSRF check). "
                        "Reload the page and try again.",
                    )
                    return
        if user is None and not is_public(path):
            await self._sign_in_first(scope, receive, send, request, extra_headers)
            return
        await self.app(scope, receive, _with_headers(send, extra_headers))

    async def _refuse(self, scope, receive, send, status_code: int, detail: str) -> None:
        request = Request(scope, receive)
        render = services_of(scope["app"]).render_error
        if render is not None and _wants_page(request) and "text/html" in request.headers.get(
            "accept", ""
        ):
            response = render(request, status_code, detail)
        else:
            response = JSONResponse({"detail": detail}, status_code=status_code)
        await response(scope, receive, send)

    async def _sign_in_first(self, scope, receive, send, request: Request, headers) -> None:
        if _wants_page(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response: Response = RedirectResponse(
                f"/login?next={quote(target, safe='')}", status_code=303
            )
        else:
            response = JSONResponse(
                {"detail": "Sign in first: POST /api/auth/login with your email and password."},
                status_code=401,
                headers={"WWW-Authenticate": 'Cookie realm="rapport"'},
            )
        await response(scope, receive, _with_headers(send, headers))


def _with_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Callable[..., Awaitable]:
    if not headers:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return sending

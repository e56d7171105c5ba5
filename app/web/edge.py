"""The app's outer layer, one pure-ASGI middleware: request id, body-size limit, headers.

It was three layers (request id and access line outermost, then the body-size cap, then the
security headers); each wrapped `send` and copied the headers again on every request. They do
the same things here in the same order, in one pass:

* the request id (app.logs) is set first and goes on every answer, refusals included, and the
  access line is written last;
* a body over its limit is refused with 413 (app.web.limits) before the app reads it, or as
  soon as a streamed body passes the limit; that refusal carries the request id but, as before,
  not the page headers;
* every answer of the app gets nosniff and a referrer policy, and HTML answers the CSP and
  frame denial (app.web.pages), unless the route set them itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import REQUEST_ID_HEADER, SANE_ID, access_logger, request_id_var
from app.web.limits import TooLarge, WiderLimit, refuse_too_large

__all__ = ["CONTENT_SECURITY_POLICY", "Edge", "content_security_policy"]



def content_security_policy(*, scripts: Sequence[str] = (), styles: Sequence[str] = ()) -> str:
    """The pages' policy; `scripts` and `styles` add hash or nonce sources (never 'unsafe-*')."""
    script_src = " ".join(["'self'", *scripts])
    style_src = " ".join(["'self'", *styles])
    return (
        f"default-src 'self'; script-src {script_src}; style-src {style_src}; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


# No inline script or style anywhere: data reaches app.js through data- attributes. The YAML
# editor's pages alone add their import map's hash and a per-response style nonce
# (app.web.pages.render sets that policy itself, and this layer leaves it).
CONTENT_SECURITY_POLICY = content_security_policy()
_ID_HEADER = REQUEST_ID_HEADER.encode()
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))
_HTML = ((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
         (b"x-frame-options", b"DENY"))


def _with_page_headers(headers: list) -> list:
    """The app's headers plus the security headers it did not set itself."""
    names = {k.lower() for k, _ in headers}
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    extra = _ALWAYS + _HTML if content_type.startswith(b"text/html") else _ALWAYS
    return headers + [(k, v) for k, v in extra if k not in names]


class Edge:
    """Request id and access line, the body-size cap, and the security headers, in one layer.

    `wider` gives some paths their own body limit (file uploads, transcript and roster imports).
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, wider: Sequence[WiderLimit] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.wider = list(wider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(_ID_HEADER, b"").decode("latin-1")
        request_id = given if SANE_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                  (_ID_HEADER, request_id.encode())]}
            await send(message)

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message,
                           "headers": _with_page_headers(list(message.get("headers", [])))}
            await send_with_id(message)

        try:
            path = scope.get("path", "")
            rule = next((w for w in self.wider if w.matches(path)), None)
            limit, hint = (rule.max_bytes, rule.hint) if rule else (self.max_bytes, "")
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await refuse_too_large(send_with_id, limit, hint=hint, headers=headers)
                return
            seen = 0

            async def limited() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise TooLarge(limit, hint)
                return message

            try:
                await self.app(scope, limited, send_answer)
            except TooLarge:
                await refuse_too_large(send_with_id, limit, hint=hint, headers=headers)
        finally:
            access_logger.info(
                "%s %s %s", scope.get("method"), scope.get("path"), status,
                extra={"method": scope.get("method"), "path": scope.get("path"),
                       "status": status,
                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
            request_id_var.reset(token)

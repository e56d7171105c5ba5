"""Signing in and out, first-run setup and set-password links: JSON for tools, forms for people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.audit import actor_of
from app.auth.accounts import AccountError, set_password
from app.auth.gate import AuthContext, clear_cookie_headers, session_cookie_headers
from app.auth.links import pending_reset, redeem_reset, redeem_setup, setup_pending
from app.auth.passwords import MIN_PASSWORD_LENGTH, HashingBusy, PasswordHashing, PasswordTooWeak
from app.auth.signin import (
    InvalidCredentials,
    Limits,
    RateLimited,
    SignIn,
    authenticate,
    end_sign_in,
    start_sign_in,
)
from app.auth.tokens import CookieSigner
from app.cohorts import cohorts_of
from app.models import User
from app.services import services
from app.web.deps import CurrentUser, Database, Db, DbSession, SettingsDep
from app.web.pages import render
from app.web.responses import COMMON, errors

__all__ = ["LoginRequest", "router", "user_public"]

router = APIRouter(responses=COMMON)

WRONG_CREDENTIALS = "That email and password do not match an active account."


class LoginRequest(BaseModel):
    """Body of POST /api/auth/login."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


def user_public(user: User) -> dict:
    """A user as the API shows them: never the password hash."""
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role}


def _auth(request: Request) -> AuthContext:
    return request.state.auth


def _accounts_on(request: Request) -> None:
    if not _auth(request).enabled:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "Accounts are off on this server (single-user mode): there is nothing to sign in "
            "to. Start it with RAPPORT_AUTH=on to use accounts.",
        )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signer(request: Request) -> CookieSigner:
    signer = services(request).cookie_signer
    # Only the sign-in routes ask, and they answer 404 first unless accounts are on.
    assert signer is not None
    return signer


def _signed_in(response: Response, request: Request, settings, token: str) -> Response:
    signer = _signer(request)
    for name, value in session_cookie_headers(settings, request.scope, signer, token):
        response.headers.append(name.decode(), value.decode())
    return response


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or a full URL."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _hashing(request: Request) -> PasswordHashing:
    return services(request).hashing


async def _sign_in(request: Request, settings, db: Database, email: str, password: str) -> SignIn:
    return await authenticate(
        database=db,
        hashing=_hashing(request),
        email=email,
        password=password,
        address=_address(request),
        limits=Limits.of(settings),
        max_age=settings.session_max_age,
        clock=services(request).clock,
    )


def _rate_message(exc: RateLimited) -> str:
    wait = exc.retry_after
    if wait < 90:
        when = f"{wait} second{'s' if wait != 1 else ''}"
    else:
        minutes = round(wait / 60)
        when = f"about {minutes} minute{'s' if minutes != 1 else ''}"
    return f"Too many failed sign-ins for this account or from your address. Try again in {when}."


_BUSY_RETRY = "2"


# ---- JSON -------------------------------------------------------------------------------


@router.post("/api/auth/login", tags=["auth"], responses=errors(429, 503))
async def api_login(
    body: LoginRequest, request: Request, db: Db, settings: SettingsDep
) -> JSONResponse:
    """Sign in with email and password; sets the session cookie and returns the CSRF token."""
    _accounts_on(request)
    try:
        signed = await _sign_in(request, settings, db, body.email, body.password)
    except HashingBusy as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc),
                            headers={"Retry-After": _BUSY_RETRY}) from exc
    except RateLimited as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            _rate_message(exc),
            headers={"Retry-After": str(exc.retry_after)},
        ) from exc
    except InvalidCredentials as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG_CREDENTIALS) from exc
    signer = _signer(request)
    response = JSONResponse(
        {"user": user_public(signed.user), "csrf_token": signer.csrf_for(signed.token)}
    )
    return _signed_in(response, request, settings, signed.token)


@router.post("/api/auth/logout", tags=["auth"])
async def api_logout(request: Request, db: Db, settings: SettingsDep) -> JSONResponse:
    """Sign out: the session ends on the server and the cookie is removed."""
    token = _auth(request).session_token
    if token:
        await db.run(end_sign_in, token=token)
    response = JSONResponse({"status": "signed_out"})
    for name, value in clear_cookie_headers(settings, request.scope):
        response.headers.append(name.decode(), value.decode())
    return response


@router.get("/api/auth/me", tags=["auth"])
async def api_me(request: Request, user: CurrentUser, db: Db) -> dict:
    """Who is signed in, their cohorts, and the CSRF token to send as X-CSRF-Token."""
    cohorts = await db.run(cohorts_of, user_id=user.id or 0)
    return {
        "user": user_public(user),
        "cohorts": [{"id": c.id, "name": c.name} for c in cohorts],
        "csrf_token": _auth(request).csrf_token,
        "accounts": "on" if _auth(request).enabled else "off",
    }


# ---- pages ------------------------------------------------------------------------------


def _login_page(request: Request, *, next_url: str, error: str = "", email: str = "",
                status_code: int = 200) -> HTMLResponse:
    return render(
        request,
        "login.html",
        {"title": "Sign in", "next_url": next_url, "error": error, "email": email},
        status_code=status_code,
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    if not _auth(request).enabled:
        return RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
    if _auth(request).user is not None:
        return RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login", include_in_schema=False)
async def login_form(
    request: Request,
    db: Db,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in from the form and go where the visitor was heading."""
    _accounts_on(request)
    target = _safe_next(next)
    try:
        signed = await _sign_in(request, settings, db, email, password)
    except HashingBusy as exc:
        return _login_page(request, next_url=target, error=str(exc), email=email,
                           status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    except RateLimited as exc:
        return _login_page(request, next_url=target, error=_rate_message(exc), email=email,
                           status_code=status.HTTP_429_TOO_MANY_REQUESTS)
    except InvalidCredentials:
        return _login_page(request, next_url=target, error=WRONG_CREDENTIALS, email=email,
                           status_code=status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return _signed_in(response, request, settings, signed.token)


@router.post("/logout", include_in_schema=False)
def logout_form(request: Request, db: DbSession, settings: SettingsDep) -> Response:
    """Sign out from the header's button."""
    token = _auth(request).session_token
    if token:
        end_sign_in(db=db, token=token)
    response = RedirectResponse("/login" if _auth(request).enabled else "/",
                                status_code=status.HTTP_303_SEE_OTHER)
    for name, value in clear_cookie_headers(settings, request.scope):
        response.headers.append(name.decode(), value.decode())
    return response


def _password_page(request: Request, context: dict, status_code: int = 200) -> HTMLResponse:
    return render(
        request,
        "set_password.html",
        {"min_length": MIN_PASSWORD_LENGTH, "error": "", **context},
        status_code=status_code,
    )


@router.get("/setup/{token}", response_class=HTMLResponse, include_in_schema=False)
def setup_page(token: str, request: Request, db: DbSession) -> HTMLResponse:
    """First run: the form that creates the first admin."""
    _accounts_on(request)
    if not setup_pending(db=db, token=token):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "This setup link has expired or was used.")
    return _password_page(request, {"title": "Create the first admin", "mode": "setup",
                                    "action": f"/setup/{token}", "email": ""})


@router.post("/setup/{token}", include_in_schema=False)
def setup_form(
    token: str,
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Create the first admin and sign them in."""
    _accounts_on(request)
    try:
        user = redeem_setup(db=db, token=token, email=email, name=name, password=password,
                            hash_with=_hashing(request).hash_blocking)
    except (AccountError, PasswordTooWeak, HashingBusy) as exc:
        return _password_page(
            request,
            {"title": "Create the first admin", "mode": "setup", "action": f"/setup/{token}",
             "email": email, "error": str(exc)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return _start_after_password(request, db, settings, user)


def _start_after_password(
    request: Request, db: Session, settings, user: User, target: str = "/"
) -> Response:
    """Sign in afresh after a password was set (setting it ended every earlier sign-in)."""
    token = start_sign_in(db=db, user_id=user.id or 0, max_age=settings.session_max_age)
    db.commit()
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return _signed_in(response, request, settings, token)


@router.get("/reset/{token}", response_class=HTMLResponse, include_in_schema=False)
def reset_page(token: str, request: Request, db: DbSession) -> HTMLResponse:
    """A set-password link: the form for a new password."""
    _accounts_on(request)
    user = pending_reset(db=db, token=token)
    if user is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "This link has expired or was already used; ask an admin for a new one.",
        )
    return _password_page(request, {"title": "Set your password", "mode": "reset",
                                    "action": f"/reset/{token}", "email": user.email})


@router.post("/reset/{token}", include_in_schema=False)
def reset_form(
    token: str,
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Set the new password (the link then stops working) and sign in."""
    _accounts_on(request)
    user = pending_reset(db=db, token=token)
    try:
        user = redeem_reset(db=db, token=token, password=password,
                            hash_with=_hashing(request).hash_blocking)
    except (AccountError, PasswordTooWeak, HashingBusy) as exc:
        return _password_page(
            request,
            {"title": "Set your password", "mode": "reset", "action": f"/reset/{token}",
             "email": user.email if user else "", "error": str(exc)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return _start_after_password(request, db, settings, user)


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, user: CurrentUser, db: DbSession) -> HTMLResponse:
    """Your account: name, role, cohorts, and a form to change your password."""
    return render(
        request,
        "account.html",
        {"title": "Your account", "me": user, "cohorts": cohorts_of(db=db, user_id=user.id or 0),
         "min_length": MIN_PASSWORD_LENGTH, "error": "",
         "done": request.query_params.get("changed") == "1"},
    )


@router.post("/account/password", include_in_schema=False)
def change_password(
    request: Request,
    user: CurrentUser,
    db: DbSession,
    settings: SettingsDep,
    current: Annotated[str, Form(max_length=1024)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change your own password (you stay signed in here, and are signed out elsewhere)."""
    _accounts_on(request)
    stored = db.get(User, user.id)
    assert stored is not None
    error = ""
    hashing = _hashing(request)
    try:
        ok, _ = hashing.verify_blocking(current, stored.password_hash)
        if not ok:
            error = "Your current password is not right."
        else:
            set_password(db=db, user=stored, password=password, actor=actor_of(stored),
                         hash_with=hashing.hash_blocking)
    except (PasswordTooWeak, HashingBusy) as exc:
        error = str(exc)
    if error:
        return render(
            request,
            "account.html",
            {"title": "Your account", "me": user,
             "cohorts": cohorts_of(db=db, user_id=user.id or 0),
             "min_length": MIN_PASSWORD_LENGTH, "error": error, "done": False},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    return _start_after_password(request, db, settings, stored, "/account?changed=1")

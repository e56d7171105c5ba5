"""Administration pages: accounts, cohorts and the audit log."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.audit import actor_of, list_events
from app.auth.accounts import AccountError, create_user, list_users, set_active, set_role
from app.auth.links import RESET_HOURS, issue_reset
from app.auth.passwords import PasswordTooWeak
from app.cohorts import (
    AUTO_GRADE_MODES,
    CohortError,
    add_member,
    cohort_ids_of,
    cohort_session_count,
    create_cohort,
    delete_cohort,
    get_cohort,
    list_cohorts,
    members_of,
    remove_member,
    rename_cohort,
    update_cohort,
)
from app.models import ROLES, Cohort, User
from app.roster import (
    MAX_ROSTER_BYTES,
    TOO_LARGE_HINT,
    RosterError,
    RosterTooLarge,
    import_roster,
    read_roster,
)
from app.services import services
from app.web.deps import AdminUser, DbSession
from app.web.pages import render

__all__ = ["ROSTER_MAX_BODY", "ROSTER_PATH", "ROSTER_TOO_LARGE", "router"]

router = APIRouter(include_in_schema=False)

# The roster form carries a pasted text and an uploaded file, each up to the roster's limit,
# and its fields; the body limit for this one route (app.main) is set to fit them.
ROSTER_PATH = re.compile(r"/admin/cohorts/[^/]+/import")
ROSTER_MAX_BODY = 2 * MAX_ROSTER_BYTES + 64 * 1024
ROSTER_TOO_LARGE = TOO_LARGE_HINT


def _link(request: Request, token: str) -> str:
    settings = services(request).settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/reset/{token}"


def _user_or_404(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No user with id {user_id}.")
    return user


def _users_page(request: Request, db: Session, *, error: str = "", link: str = "",
                link_for: str = "", status_code: int = 200) -> HTMLResponse:
    cohorts = list_cohorts(db=db)
    users = list_users(db=db)
    names = {c.id: c.name for c in cohorts}
    memberships = {u.id: sorted(names[i] for i in cohort_ids_of(db=db, user_id=u.id or 0)
                                if i in names) for u in users}
    return render(
        request,
        "admin_users.html",
        {"title": "Accounts", "users": users, "cohorts": cohorts, "roles": ROLES,
         "memberships": memberships, "error": error, "link": link, "link_for": link_for,
         "reset_hours": RESET_HOURS},
        status_code=status_code,
    )


def _accounts_on(request: Request) -> None:
    if not services(request).settings.auth == "on":
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "Accounts are off (single-user mode); set RAPPORT_AUTH=on first.")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, db: DbSession, user: AdminUser) -> HTMLResponse:
    """Every account, with forms to add one, change roles and cohorts, reset, deactivate."""
    return _users_page(request, db)


@router.post("/admin/users")
def add_user(
    request: Request,
    db: DbSession,
    user: AdminUser,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form()] = "student",
    cohort_id: Annotated[str, Form()] = "",
) -> Response:
    """Create an account and show its one-time set-password link."""
    _accounts_on(request)
    try:
        created = create_user(db=db, email=email, name=name, role=role, password=None,
                              actor=actor_of(user))
    except (AccountError, PasswordTooWeak) as exc:
        return _users_page(request, db, error=str(exc), status_code=422)
    if cohort_id.isdigit() and (cohort := get_cohort(db=db, cohort_id=int(cohort_id))):
        add_member(db=db, cohort=cohort, user=created, actor=actor_of(user))
    token = issue_reset(db=db, user=created, actor=actor_of(user))
    return _users_page(request, db, link=_link(request, token), link_for=created.email)


@router.post("/admin/users/{user_id}/role")
def change_role(
    user_id: int, db: DbSession, user: AdminUser, request: Request,
    role: Annotated[str, Form()] = "",
) -> Response:
    """Change a user's role (they are signed out so the new role takes effect)."""
    target = _user_or_404(db, user_id)
    try:
        set_role(db=db, user=target, role=role, actor=actor_of(user))
    except AccountError as exc:
        return _users_page(request, db, error=str(exc), status_code=422)
    return RedirectResponse("/admin/users", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/users/{user_id}/cohorts")
def change_cohort(
    user_id: int, db: DbSession, user: AdminUser, request: Request,
    cohort_id: Annotated[int, Form()] = 0,
    action: Annotated[str, Form()] = "add",
) -> Response:
    """Add a user to a cohort or take them out."""
    target = _user_or_404(db, user_id)
    cohort = get_cohort(db=db, cohort_id=cohort_id)
    if cohort is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No cohort with id {cohort_id}.")
    if action == "remove":
        remove_member(db=db, cohort=cohort, user=target, actor=actor_of(user))
    else:
        add_member(db=db, cohort=cohort, user=target, actor=actor_of(user))
    return RedirectResponse("/admin/users", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/users/{user_id}/active")
def change_active(
    user_id: int, db: DbSession, user: AdminUser, request: Request,
    active: Annotated[str, Form()] = "",
) -> Response:
    """Deactivate an account (signed out at once) or reactivate it."""
    target = _user_or_404(db, user_id)
    try:
        set_active(db=db, user=target, active=active == "1", actor=actor_of(user))
    except AccountError as exc:
        return _users_page(request, db, error=str(exc), status_code=422)
    return RedirectResponse("/admin/users", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/users/{user_id}/reset")
def reset_password(user_id: int, db: DbSession, user: AdminUser, request: Request) -> Response:
    """Make a one-time set-password link for a user (earlier links stop working)."""
    _accounts_on(request)
    target = _user_or_404(db, user_id)
    token = issue_reset(db=db, user=target, actor=actor_of(user))
    return _users_page(request, db, link=_link(request, token), link_for=target.email)


def _cohorts_page(request: Request, db: Session, *, error: str = "",
                  status_code: int = 200) -> HTMLResponse:
    cohorts = list_cohorts(db=db)
    members = {c.id: members_of(db=db, cohort_id=c.id or 0) for c in cohorts}
    held = {c.id: cohort_session_count(db=db, cohort_id=c.id or 0) for c in cohorts}
    return render(
        request,
        "admin_cohorts.html",
        {"title": "Cohorts", "cohorts": cohorts, "members": members, "modes": AUTO_GRADE_MODES,
         "error": error, "held": held, "done": request.query_params.get("done", "")[:20]},
        status_code=status_code,
    )


@router.get("/admin/cohorts", response_class=HTMLResponse)
def cohorts_page(request: Request, db: DbSession, user: AdminUser) -> HTMLResponse:
    """Cohorts, their members and their marking settings."""
    return _cohorts_page(request, db)


@router.post("/admin/cohorts")
def add_cohort(
    request: Request, db: DbSession, user: AdminUser,
    name: Annotated[str, Form(max_length=200)] = "",
    auto_grades: Annotated[str, Form()] = "immediate",
    second_marking: Annotated[str, Form()] = "",
    coach_mode: Annotated[str, Form()] = "",
) -> Response:
    """Create a cohort."""
    try:
        create_cohort(db=db, name=name, actor=actor_of(user), auto_grades=auto_grades,
                      second_marking=second_marking == "1", coach_mode=coach_mode == "1")
    except CohortError as exc:
        return _cohorts_page(request, db, error=str(exc), status_code=422)
    return RedirectResponse("/admin/cohorts", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/cohorts/{cohort_id}")
def change_cohort_settings(
    cohort_id: int, request: Request, db: DbSession, user: AdminUser,
    auto_grades: Annotated[str, Form()] = "immediate",
    second_marking: Annotated[str, Form()] = "",
    coach_mode: Annotated[str, Form()] = "",
) -> Response:
    """Change when students see auto-grades, blind second marking and coach mode."""
    cohort = get_cohort(db=db, cohort_id=cohort_id)
    if cohort is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No cohort with id {cohort_id}.")
    try:
        update_cohort(db=db, cohort=cohort, auto_grades=auto_grades,
                      second_marking=second_marking == "1", actor=actor_of(user),
                      coach_mode=coach_mode == "1")
    except CohortError as exc:
        return _cohorts_page(request, db, error=str(exc), status_code=422)
    return RedirectResponse("/admin/cohorts", status_code=status.HTTP_303_SEE_OTHER)


def _cohort_or_404(db: Session, cohort_id: int) -> Cohort:
    cohort = get_cohort(db=db, cohort_id=cohort_id)
    if cohort is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No cohort with id {cohort_id}.")
    return cohort


@router.post("/admin/cohorts/{cohort_id}/rename")
def rename_cohort_form(
    cohort_id: int, request: Request, db: DbSession, user: AdminUser,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Give a cohort a new name."""
    cohort = _cohort_or_404(db, cohort_id)
    try:
        rename_cohort(db=db, cohort=cohort, name=name, actor=actor_of(user))
    except CohortError as exc:
        return _cohorts_page(request, db, error=str(exc), status_code=422)
    return RedirectResponse("/admin/cohorts?done=renamed", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/admin/cohorts/{cohort_id}/delete", response_class=HTMLResponse)
def delete_cohort_page(
    cohort_id: int, request: Request, db: DbSession, user: AdminUser
) -> HTMLResponse:
    """Ask before deleting a cohort: who loses the membership, and a way back."""
    cohort = _cohort_or_404(db, cohort_id)
    return render(request, "admin_cohort_delete.html", {
        "title": f"Delete {cohort.name}?", "cohort": cohort,
        "members": members_of(db=db, cohort_id=cohort.id or 0),
        "held": cohort_session_count(db=db, cohort_id=cohort.id or 0)})


@router.post("/admin/cohorts/{cohort_id}/delete")
def delete_cohort_form(
    cohort_id: int, request: Request, db: DbSession, user: AdminUser
) -> Response:
    """Delete a cohort that holds no sessions (refused, with the count, while it does)."""
    cohort = _cohort_or_404(db, cohort_id)
    try:
        delete_cohort(db=db, cohort=cohort, actor=actor_of(user))
    except CohortError as exc:
        return _cohorts_page(request, db, error=str(exc), status_code=409)
    return RedirectResponse("/admin/cohorts?done=deleted", status_code=status.HTTP_303_SEE_OTHER)


def _roster_text(text: str, upload: UploadFile | None) -> str:
    if upload is not None and upload.filename:
        raw = upload.file.read(MAX_ROSTER_BYTES + 1)
        if len(raw) > MAX_ROSTER_BYTES:
            upload.file.seek(0, 2)
            raise RosterTooLarge(upload.file.tell())
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RosterError("The file is not UTF-8 text: save it as CSV UTF-8.") from None
    return text.replace("\r\n", "\n")


def _roster_page(request: Request, cohort: Cohort, *, text: str = "", rows=None, error: str = "",
                 created=None, status_code: int = 200) -> HTMLResponse:
    return render(
        request,
        "admin_roster.html",
        {"title": f"Import people into {cohort.name}", "cohort": cohort, "text": text,
         "rows": rows or [], "error": error, "created": created or [],
         "bad": sum(1 for r in rows or [] if r.problems), "reset_hours": RESET_HOURS},
        status_code=status_code,
    )


@router.get("/admin/cohorts/{cohort_id}/import", response_class=HTMLResponse)
def roster_form(cohort_id: int, request: Request, db: DbSession, user: AdminUser) -> HTMLResponse:
    """The form for a cohort's CSV roster (email, name, role)."""
    return _roster_page(request, _cohort_or_404(db, cohort_id))


@router.post("/admin/cohorts/{cohort_id}/import", response_class=HTMLResponse)
def roster_import(
    cohort_id: int, request: Request, db: DbSession, user: AdminUser,
    text: Annotated[str, Form()] = "",
    upload: Annotated[UploadFile | None, File()] = None,
    action: Annotated[str, Form()] = "preview",
) -> HTMLResponse:
    """Preview a CSV roster with each row's problems; import it only when every row is good."""
    _accounts_on(request)
    cohort = _cohort_or_404(db, cohort_id)
    try:
        text = _roster_text(text, upload)
        rows = read_roster(db=db, text=text)
    except RosterTooLarge as exc:
        # Not shown again: a text this long would only be sent back in the next request.
        return _roster_page(request, cohort, error=str(exc), status_code=413)
    except RosterError as exc:
        return _roster_page(request, cohort, text=text, error=str(exc), status_code=422)
    bad = [r for r in rows if r.problems]
    if action != "import" or bad:
        error = "" if not bad or action != "import" else "Nothing was imported: fix the rows below."
        return _roster_page(request, cohort, text=text, rows=rows, error=error,
                            status_code=422 if bad else 200)
    try:
        created = import_roster(db=db, cohort=cohort, text=text, actor=actor_of(user))
    except RosterError as exc:  # changed since the preview (another admin added someone)
        return _roster_page(request, cohort, text=text, rows=rows, error=str(exc),
                            status_code=409)
    links = [(u, _link(request, issue_reset(db=db, user=u, actor=actor_of(user))))
             for u in created]
    return _roster_page(request, cohort, rows=rows, created=links)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, db: DbSession, user: AdminUser, action: str | None = None
) -> HTMLResponse:
    """The audit log, newest first: overrides, releases, role and account changes."""
    return render(
        request,
        "admin_audit.html",
        {"title": "Audit log", "events": list_events(db=db, action=action or None),
         "action": action or "",
         "kinds": ["review.", "user.", "cohort.", "persona.", "rubric."]},
    )


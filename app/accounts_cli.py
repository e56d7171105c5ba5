"""What the `rapport users` and `rapport admin` commands do, on a database they prepare."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from app.audit import Actor
from app.auth.accounts import AccountError, create_user, find_user, list_users, set_password
from app.auth.links import admin_exists, issue_reset, issue_setup
from app.cohorts import add_member, cohorts_of, create_cohort, find_cohort
from app.config import Settings
from app.db import build_engine, migrate
from app.models import User

__all__ = ["CLI", "account_lines", "bootstrap", "create_account", "database", "erase_account",
           "reset_account"]

CLI = Actor(user_id=None, label="command line")


@contextmanager
def database(settings: Settings) -> Iterator[Session]:
    """A session on the configured (and migrated) database, for one command."""
    with _db(settings) as db:
        yield db


@contextmanager
def _db(settings: Settings) -> Iterator[Session]:
    engine = build_engine(settings)
    migrate(engine)
    try:
        with Session(engine, expire_on_commit=False) as db:
            yield db
    finally:
        engine.dispose()


def create_account(
    *, settings: Settings, email: str, name: str, role: str, cohort: str | None,
    password: str | None,
) -> tuple[User, str | None]:
    """Create a user (and cohort membership); the set-password token when no password."""
    with _db(settings) as db:
        user = create_user(db=db, email=email, name=name, role=role, password=password,
                           actor=CLI)
        if cohort:
            group = find_cohort(db=db, name=cohort) or create_cohort(db=db, name=cohort,
                                                                      actor=CLI)
            add_member(db=db, cohort=group, user=user, actor=CLI)
        token = None if password is not None else issue_reset(db=db, user=user, actor=CLI)
        return user, token


def reset_account(*, settings: Settings, email: str, password: str | None) -> str | None:
    """Set a password, or return a set-password token when none is given."""
    with _db(settings) as db:
        user = find_user(db=db, email=email)
        if user is None:
            raise AccountError(f"No account for {email}.")
        if password is None:
            return issue_reset(db=db, user=user, actor=CLI)
        set_password(db=db, user=user, password=password, actor=CLI)
        return None


def account_lines(*, settings: Settings) -> list[str]:
    """One line per account."""
    with _db(settings) as db:
        return [
            f"{u.email}\t{u.role}\t{'active' if u.is_active else 'inactive'}\t"
            + ",".join(c.name for c in cohorts_of(db=db, user_id=u.id or 0))
            for u in list_users(db=db)
        ]


def bootstrap(
    *, settings: Settings, email: str | None, name: str, password: str | None
) -> tuple[str, str | None, str | None]:
    """Create the first admin: (message, link kind, token); refuse if an admin exists."""
    with _db(settings) as db:
        if admin_exists(db=db):
            raise AccountError("An admin exists already; use `rapport users create`.")
        if email:
            user = create_user(db=db, email=email, name=name, role="admin", password=password,
                               actor=CLI)
            if password is None:
                return f"created admin {user.email}", "reset", issue_reset(
                    db=db, user=user, actor=CLI
                )
            return f"created admin {user.email}", None, None
        token = issue_setup(db=db)
        assert token is not None
        return "no admin yet", "setup", token


def erase_account(*, settings: Settings, email: str, really: bool) -> str:
    """Erase a person's account and data; without `really`, say what would be erased."""
    from sqlmodel import select

    from app.models import PracticeSession
    from app.retention import erase_user

    with _db(settings) as db:
        user = find_user(db=db, email=email)
        if user is None:
            raise ValueError(f"no account with email {email.strip().lower()}")
        sessions = len(db.exec(select(PracticeSession.id).where(
            PracticeSession.owner_id == user.id)).all())
        if not really:
            return (f"would delete {user.email} ({user.role}) and {sessions} session"
                    f"{'s' if sessions != 1 else ''} with their turns, grades and reviews; "
                    "run again with --yes to do it")
        gone = erase_user(db=db, user=user, actor=CLI)
        return (f"erased {email.strip().lower()}: {gone['sessions']} sessions deleted, "
                f"{gone['audit_entries_scrubbed']} audit entries scrubbed")

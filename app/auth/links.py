"""One-time links: set a password (new accounts, admin resets) and first-run admin setup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session, col, select

from app.audit import Actor, record
from app.auth.accounts import AccountError, create_user, set_password
from app.auth.passwords import hash_password
from app.auth.tokens import new_token, token_digest
from app.models import OneTimeToken, User, utcnow

__all__ = [
    "RESET_HOURS",
    "SETUP_HOURS",
    "admin_exists",
    "issue_reset",
    "issue_setup",
    "pending_reset",
    "redeem_reset",
    "redeem_setup",
    "setup_pending",
]

RESET_HOURS = 72
SETUP_HOURS = 24


def admin_exists(*, db: Session) -> bool:
    """Whether an active admin who can sign in exists."""
    found = db.exec(
        select(User.id).where(
            User.role == "admin",
            col(User.is_active).is_(True),
            col(User.password_hash).is_not(None),
        )
    ).first()
    return found is not None


def issue_reset(*, db: Session, user: User, actor: Actor) -> str:
    """A set-password link token for a user; earlier unused links for them stop working."""
    now = utcnow()
    for old in db.exec(
        select(OneTimeToken).where(
            OneTimeToken.user_id == user.id,
            OneTimeToken.purpose == "reset",
            col(OneTimeToken.used_at).is_(None),
        )
    ).all():
        old.used_at = now
        db.add(old)
    token = new_token()
    db.add(
        OneTimeToken(
            id=token_digest(token),
            purpose="reset",
            user_id=user.id,
            created_by=actor.user_id,
            expires_at=now + timedelta(hours=RESET_HOURS),
        )
    )
    record(db=db, actor=actor, action="user.reset_link", target=f"user:{user.id}",
           details={"email": user.email})
    db.commit()
    return token


def _live(db: Session, token: str, purpose: str) -> OneTimeToken | None:
    found = db.get(OneTimeToken, token_digest(token))
    if found is None or found.purpose != purpose or found.used_at is not None:
        return None
    return found if found.expires_at > utcnow() else None


def pending_reset(*, db: Session, token: str) -> User | None:
    """The user a live set-password link is for, or None."""
    found = _live(db, token, "reset")
    return db.get(User, found.user_id) if found and found.user_id else None


def redeem_reset(
    *, db: Session, token: str, password: str, hash_with: Callable[[str], str] = hash_password
) -> User:
    """Use a set-password link (once): the user's new password is set."""
    found = _live(db, token, "reset")
    user = db.get(User, found.user_id) if found and found.user_id else None
    if found is None or user is None:
        raise AccountError("This link has expired or was already used; ask an admin for a new one.")
    found.used_at = utcnow()
    db.add(found)
    return set_password(db=db, user=user, password=password,
                        actor=Actor(user_id=user.id, label=user.email), hash_with=hash_with)


def issue_setup(*, db: Session) -> str | None:
    """A first-run link to create the first admin; None if an admin exists already."""
    if admin_exists(db=db):
        return None
    token = new_token()
    db.add(
        OneTimeToken(
            id=token_digest(token),
            purpose="setup",
            expires_at=utcnow() + timedelta(hours=SETUP_HOURS),
        )
    )
    db.commit()
    return token


def setup_pending(*, db: Session, token: str) -> bool:
    """Whether a first-run link is live (and no admin exists yet)."""
    return _live(db, token, "setup") is not None and not admin_exists(db=db)


def redeem_setup(
    *,
    db: Session,
    token: str,
    email: str,
    name: str,
    password: str,
    hash_with: Callable[[str], str] = hash_password,
) -> User:
    """Create the first admin with a first-run link (once)."""
    found = _live(db, token, "setup")
    if found is None or admin_exists(db=db):
        raise AccountError(
            "This setup link has expired or was already used; run `rapport admin bootstrap`."
        )
    found.used_at = utcnow()
    db.add(found)
    return create_user(db=db, email=email, name=name, role="admin", password=password,
                       actor=Actor(user_id=None, label="first-run setup"), hash_with=hash_with)

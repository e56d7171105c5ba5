"""Signing in and out: rate-limited password checks and server-side sign-in records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from app.auth.passwords import verify
from app.auth.tokens import new_token, token_digest
from app.models import AuthSession, LoginAttempt, User, utcnow

__all__ = [
    "InvalidCredentials",
    "RateLimited",
    "SignIn",
    "attempt_key",
    "authenticate",
    "end_sign_in",
    "load_sign_in",
    "start_sign_in",
]

# How often a sign-in's last-seen time is written: often enough for the idle timeout, rarely
# enough that reading pages does not turn into a write per request.
_TOUCH_EVERY = timedelta(seconds=60)


class InvalidCredentials(Exception):
    """Wrong email or password (which one is never said)."""


class RateLimited(Exception):
    """Too many failed sign-ins for this email from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SignIn:
    """A signed-in user and the token their cookie carries."""

    user: User
    token: str


def attempt_key(email: str, address: str) -> str:
    """The rate-limit key: a hash, so the table holds neither emails nor addresses."""
    return hashlib.sha256(f"{email.strip().lower()}|{address}".encode()).hexdigest()


def _failures_since(db: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    row = db.exec(
        select(func.count(col(LoginAttempt.id)), func.min(col(LoginAttempt.created_at))).where(
            LoginAttempt.key == key,
            col(LoginAttempt.succeeded).is_(False),
            col(LoginAttempt.created_at) >= since,
        )
    ).one()
    return int(row[0] or 0), row[1]


def authenticate(
    *,
    db: Session,
    email: str,
    password: str,
    address: str,
    limit: int,
    window: int,
    max_age: int,
) -> SignIn:
    """Check a password (rate limited per email and address) and start a sign-in."""
    now = utcnow()
    key = attempt_key(email, address)
    failures, oldest = _failures_since(db, key, now - timedelta(seconds=window))
    if failures >= limit:
        assert oldest is not None
        retry = int((oldest + timedelta(seconds=window) - now).total_seconds()) + 1
        raise RateLimited(max(1, retry))
    user = db.exec(select(User).where(User.email == email.strip().lower())).first()
    usable = user is not None and user.is_active and bool(user.password_hash)
    ok, new_hash = verify(password, user.password_hash if usable and user else None)
    if not ok or user is None:
        db.add(LoginAttempt(key=key, succeeded=False))
        # Old rows are pruned as we go, so the table stays the size of one window.
        db.exec(delete(LoginAttempt).where(col(LoginAttempt.created_at) < now - timedelta(days=1)))
        db.commit()
        raise InvalidCredentials
    if new_hash:
        user.password_hash = new_hash
    user.last_login_at = now
    db.add(user)
    db.exec(delete(LoginAttempt).where(LoginAttempt.key == key))
    token = start_sign_in(db=db, user_id=user.id or 0, max_age=max_age)
    db.commit()
    db.refresh(user)
    return SignIn(user=user, token=token)


def start_sign_in(*, db: Session, user_id: int, max_age: int) -> str:
    """Record a sign-in (in the caller's transaction) and return its token for the cookie."""
    token = new_token()
    now = utcnow()
    db.add(
        AuthSession(
            id=token_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    return token


def load_sign_in(*, db: Session, token: str, idle_timeout: int) -> User | None:
    """The active user of a live sign-in, or None (unknown, expired, idle too long, inactive)."""
    now = utcnow()
    found = db.exec(
        select(AuthSession, User)
        .join(User, col(User.id) == AuthSession.user_id)
        .where(AuthSession.id == token_digest(token))
    ).first()
    if found is None:
        return None
    record, user = found
    idle_since = now - timedelta(seconds=idle_timeout)
    if record.expires_at <= now or record.last_seen_at <= idle_since or not user.is_active:
        db.delete(record)
        db.commit()
        return None
    if now - record.last_seen_at >= _TOUCH_EVERY:
        record.last_seen_at = now
        db.add(record)
        db.commit()
    return user


def end_sign_in(*, db: Session, token: str) -> None:
    """Sign out: the token stops working at once, on every worker."""
    db.exec(delete(AuthSession).where(AuthSession.id == token_digest(token)))
    db.commit()

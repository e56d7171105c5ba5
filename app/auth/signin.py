"""Signing in and out: rate-limited password checks and server-side sign-in records."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, text
from sqlmodel import Session, col, delete, select

from app.auth.passwords import PasswordHashing
from app.auth.tokens import new_token, token_digest
from app.config import Settings
from app.models import AuthSession, LoginAttempt, User, utcnow

if TYPE_CHECKING:
    from app.web.deps import Database

__all__ = [
    "Attempt",
    "InvalidCredentials",
    "Limits",
    "RateLimited",
    "SignIn",
    "attempt_key",
    "authenticate",
    "begin_attempt",
    "end_sign_in",
    "finish_attempt",
    "load_sign_in",
    "start_sign_in",
]

# How often a sign-in's last-seen time is written: often enough for the idle timeout, rarely
# enough that reading pages does not turn into a write per request.
_TOUCH_EVERY = timedelta(seconds=60)


class InvalidCredentials(Exception):
    """Wrong email or password (which one is never said)."""


class RateLimited(Exception):
    """Too many failed sign-ins for this account, or from this address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SignIn:
    """A signed-in user and the token their cookie carries."""

    user: User
    token: str


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failed sign-ins are allowed per window, and the window in seconds."""

    pair: int
    account: int
    address: int
    window: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits a server is configured with."""
        return cls(pair=settings.login_rate_limit, account=settings.login_account_limit,
                   address=settings.login_address_limit, window=settings.login_rate_window)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt let through the limits, counted as failed until it succeeds."""

    attempt_id: int
    pair_key: str
    user_id: int | None
    password_hash: str | None


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def attempt_key(email: str, address: str) -> str:
    """The per-email-and-address key: a hash, so the table holds neither emails nor addresses."""
    return _digest(email.strip().lower(), address)


def _keys(email: str, address: str) -> tuple[str, str, str]:
    email = email.strip().lower()
    return attempt_key(email, address), _digest("account", email), _digest("address", address)


def _lock(db: Session, keys: tuple[str, ...]) -> None:
    """Serialise attempts on the same account or address until this transaction ends.

    PostgreSQL: transaction-scoped advisory locks, taken in a fixed order in one statement (so
    two attempts cannot deadlock, and it costs one round trip). SQLite: the INSERT that follows
    takes the database's single write lock first.
    """
    if db.get_bind().dialect.name != "postgresql":
        return
    ids = [int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True) for key in sorted(keys)]
    db.execute(text("SELECT " + ", ".join(f"pg_advisory_xact_lock(:k{i})"
                                          for i in range(len(ids)))),
               {f"k{i}": k for i, k in enumerate(ids)})


# Past the account's cap the wait doubles per guess up to the whole window, so counting more
# than this many guesses beyond the cap changes nothing (2 ** 20 s is over 12 days).
_BACKOFF_STEPS = 21


def _failures(column, key: str, since: datetime):
    """This key's failed attempts in the window, newest first (a query to limit or count)."""
    return (
        select(LoginAttempt.created_at)
        .where(column == key, col(LoginAttempt.succeeded).is_(False),
               col(LoginAttempt.created_at) >= since)
        .order_by(col(LoginAttempt.created_at).desc())
    )


def _nth_newest(column, key: str, since: datetime, n: int):
    """The time of the key's (n+1)-th newest failure in the window (NULL if fewer)."""
    return _failures(column, key, since).limit(1).offset(n).scalar_subquery()


def _window_counts(db: Session, keys: tuple[str, str, str], limits: Limits, since: datetime):
    """What the limits need to know, in one query that reads a bounded number of rows.

    However many failures the window holds (a flood), the answer is four values: the failure
    just past the email-and-address and the address limits (if any), how far past its cap the
    account is (counted no further than the backoff can grow), and the account's failure
    before this one.
    """
    pair, account, address = keys
    over_account = _failures(LoginAttempt.account_key, account, since).offset(
        limits.account).limit(_BACKOFF_STEPS).subquery()
    return db.exec(select(
        _nth_newest(LoginAttempt.key, pair, since, limits.pair),
        _nth_newest(LoginAttempt.address_key, address, since, limits.address),
        select(func.count()).select_from(over_account).scalar_subquery(),
        _nth_newest(LoginAttempt.account_key, account, since, 1),
    )).one()


def _retry_after(now: datetime, since: datetime, window: int) -> int:
    return max(1, int((since + timedelta(seconds=window) - now).total_seconds()) + 1)


def _refusal(db: Session, keys: tuple[str, str, str], limits: Limits, now: datetime) -> int | None:
    """Seconds to wait if these failures (the current attempt's own row included) are too many."""
    pair_edge, address_edge, over, previous = _window_counts(
        db, keys, limits, now - timedelta(seconds=limits.window))
    if pair_edge is not None:
        return _retry_after(now, pair_edge, limits.window)
    if address_edge is not None:
        return _retry_after(now, address_edge, limits.window)
    if over > 0:
        # Past the account's cap every further guess waits twice as long as the one before,
        # from whichever address it comes: 1 s, 2 s, 4 s ... up to the whole window.
        wait = min(float(limits.window), 2.0 ** (over - 1))
        ready = previous + timedelta(seconds=wait)  # from the last failure before this one
        if ready > now:
            return max(1, int((ready - now).total_seconds()) + 1)
    return None


# Old rows are pruned as attempts come in, one attempt in this many, so the table stays about
# the size of one window without a delete on every sign-in.
_PRUNE_EVERY = 64


def begin_attempt(
    *, db: Session, email: str, address: str, limits: Limits, now: datetime
) -> Attempt:
    """Count this attempt against the limits (RateLimited if over) and fetch what to verify.

    The attempt is written before the count, in one transaction serialised per account and
    address, so parallel guesses cannot all pass the same check. Nothing here grows with the
    number of failures in the window: a flood of guesses costs each guess the same few queries.
    """
    keys = _keys(email, address)
    pair, account, address_key = keys
    _lock(db, (account, address_key))
    row = LoginAttempt(key=pair, account_key=account, address_key=address_key, succeeded=False,
                       created_at=now)
    db.add(row)
    db.flush()
    wait = _refusal(db, keys, limits, now)
    if wait is not None:
        db.rollback()  # a refused attempt checks no password, so it is not a failure
        raise RateLimited(wait)
    if (row.id or 0) % _PRUNE_EVERY == 0:
        db.exec(delete(LoginAttempt)
                .where(col(LoginAttempt.created_at) < now - timedelta(days=1))
                .execution_options(synchronize_session=False))
    user = db.exec(
        select(User.id, User.is_active, User.password_hash)
        .where(User.email == email.strip().lower())
    ).first()
    usable = user is not None and user.is_active and bool(user.password_hash)
    attempt = Attempt(attempt_id=row.id or 0, pair_key=pair,
                      user_id=user.id if usable and user else None,
                      password_hash=user.password_hash if usable and user else None)
    db.commit()
    return attempt


def finish_attempt(
    *, db: Session, attempt: Attempt, new_hash: str | None, max_age: int, now: datetime
) -> SignIn:
    """Start the sign-in after a password matched; this email's failures from here are cleared."""
    user = db.get(User, attempt.user_id)
    if user is None or not user.is_active:
        raise InvalidCredentials
    if new_hash:
        user.password_hash = new_hash
    user.last_login_at = now
    db.add(user)
    db.exec(delete(LoginAttempt).where(LoginAttempt.key == attempt.pair_key))
    token = start_sign_in(db=db, user_id=user.id or 0, max_age=max_age, now=now)
    db.commit()
    db.refresh(user)
    return SignIn(user=user, token=token)


async def authenticate(
    *,
    database: Database,
    hashing: PasswordHashing,
    email: str,
    password: str,
    address: str,
    limits: Limits,
    max_age: int,
    clock: Callable[[], datetime] = utcnow,
) -> SignIn:
    """Check a password, rate limited per email and address, account and address, and sign in.

    The database work is two short calls on the sign-in lane, with no connection or
    transaction held between them; the argon2 check runs in between on the hashing pool, never
    on the event loop, and a refused attempt never reaches it.
    """
    attempt = await database.run_sign_in(begin_attempt, email=email, address=address, limits=limits,
                                 now=clock())
    ok, new_hash = await hashing.verify(password, attempt.password_hash)
    if not ok or attempt.user_id is None:
        raise InvalidCredentials
    return await database.run_sign_in(finish_attempt, attempt=attempt, new_hash=new_hash,
                              max_age=max_age, now=clock())


def start_sign_in(
    *, db: Session, user_id: int, max_age: int, now: datetime | None = None
) -> str:
    """Record a sign-in (in the caller's transaction) and return its token for the cookie."""
    token = new_token()
    now = now or utcnow()
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


def load_sign_in(
    *, db: Session, token: str, idle_timeout: int, now: datetime | None = None
) -> User | None:
    """The active user of a live sign-in, or None (unknown, expired, idle too long, inactive).

    The last-seen time is written at most every _TOUCH_EVERY, so requests in between are not
    recorded: a sign-in ends only once it has certainly been idle for `idle_timeout`, that is
    between `idle_timeout` and `idle_timeout + _TOUCH_EVERY` after the last request, never
    early.
    """
    now = now or utcnow()
    found = db.exec(
        select(AuthSession, User)
        .join(User, col(User.id) == AuthSession.user_id)
        .where(AuthSession.id == token_digest(token))
    ).first()
    if found is None:
        return None
    record, user = found
    idle_since = now - timedelta(seconds=idle_timeout) - _TOUCH_EVERY
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

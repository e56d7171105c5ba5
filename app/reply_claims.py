"""Who produces a student turn's reply: one claim per turn, taken in the database.

A new student turn is saved already claimed by the request that saved it. A repeated message,
a Retry, or a second worker must take the claim with a conditional UPDATE before running an
engine, so concurrent requests never ask the model twice for one turn. A claim is released
when its reply fails. While the reply is produced its holder renews the claim every
HEARTBEAT_SECONDS; one not renewed for LEASE_SECONDS belongs to a worker that died (kill -9,
a lost machine), and a Retry may take it over.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from app.models import Turn, utcnow

__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_SECONDS",
    "Claim",
    "claim_reply",
    "new_claim",
    "release_reply",
    "renew_claim",
]

HEARTBEAT_SECONDS = 2.0
# Several missed renewals, so a busy database delaying one write does not hand the claim over.
LEASE_SECONDS = 4 * HEARTBEAT_SECONDS


def new_claim() -> str:
    """A fresh claim token for one request."""
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of trying to claim a reply: ours to produce, already done, or busy."""

    held: bool = False
    reply: Turn | None = None

    @property
    def busy(self) -> bool:
        """Another request is producing the reply right now."""
        return not self.held and self.reply is None


def _reply_to(db: Session, student: Turn) -> Turn | None:
    return db.exec(
        select(Turn).where(Turn.session_id == student.session_id, Turn.index == student.index + 1)
    ).first()


def claim_reply(
    *, db: Session, student: Turn, claim: str, lease: float = LEASE_SECONDS
) -> Claim:
    """Take the claim on `student`'s reply unless it exists or a live claim holds it."""
    reply = _reply_to(db, student)
    if reply is not None:
        return Claim(reply=reply)
    now = utcnow()
    stale = now - timedelta(seconds=lease)
    holder = db.exec(
        select(Turn.reply_claim, Turn.reply_claimed_at).where(
            Turn.session_id == student.session_id, Turn.index == student.index
        )
    ).first()
    if holder is not None and holder[0] not in (None, claim) and holder[1] and holder[1] >= stale:
        return Claim()  # busy: read-only, so a waiting duplicate polls without writing
    taken = db.execute(
        update(Turn)
        .where(
            col(Turn.session_id) == student.session_id,
            col(Turn.index) == student.index,
            or_(
                col(Turn.reply_claim).is_(None),
                col(Turn.reply_claim) == claim,
                col(Turn.reply_claimed_at) < stale,
            ),
        )
        .values(reply_claim=claim, reply_claimed_at=now)
    )
    db.commit()
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return Claim(held=True)
    # The holder may have finished between the two statements.
    return Claim(reply=_reply_to(db, student))


def _update_held(db: Session, student: Turn, claim: str, **values: object) -> None:
    """Change the claim columns, only while `claim` still holds the turn."""
    db.execute(
        update(Turn)
        .where(
            col(Turn.session_id) == student.session_id,
            col(Turn.index) == student.index,
            col(Turn.reply_claim) == claim,
        )
        .values(**values)
    )
    db.commit()


def renew_claim(*, db: Session, student: Turn, claim: str) -> None:
    """The holder's heartbeat: the claim stays live while the reply is being produced."""
    _update_held(db, student, claim, reply_claimed_at=utcnow())


def release_reply(*, db: Session, student: Turn, claim: str) -> None:
    """Give the claim back after a failed reply, so Retry can run at once."""
    _update_held(db, student, claim, reply_claim=None, reply_claimed_at=None)

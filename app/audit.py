"""The audit log: who overrode, released, changed a role or an account, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.models import AuditEvent, User

__all__ = ["Actor", "actor_of", "list_events", "record"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: a signed-in user, or the command line."""

    user_id: int | None
    label: str


def actor_of(user: User) -> Actor:
    """The audit actor for a user."""
    return Actor(user_id=user.id, label=user.email)


def record(
    *, db: Session, actor: Actor, action: str, target: str, details: dict[str, Any]
) -> AuditEvent:
    """Add an event to the caller's transaction (it commits with the change it describes)."""
    event = AuditEvent(
        actor_id=actor.user_id, actor=actor.label, action=action, target=target, details=details
    )
    db.add(event)
    return event


def list_events(
    *,
    db: Session,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[AuditEvent]:
    """The newest events first, optionally of one kind (prefix, e.g. 'review.') or since a time."""
    query = select(AuditEvent)
    if action:
        query = query.where(col(AuditEvent.action).startswith(action))
    if since is not None:
        query = query.where(col(AuditEvent.created_at) >= since)
    query = query.order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
    return list(db.exec(query.limit(limit)).all())

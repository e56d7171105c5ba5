"""Deleting data: one student's everything on request, sessions past a retention period, and
an active session its student abandons.

Each deletes a session with everything hanging off it (turns, grades, self-ratings, reviews
and their marks and notes). A discarded session is deleted, not hidden: nothing else (the
desk, progress, agreement figures, exports, the retention sweep) ever has to know about a
"discarded" state, and a student who throws away a half-finished practice expects its words
to be gone. The audit log keeps that it happened, with no words of it.

Erasing a person also removes their account, cohort memberships, sign-ins and links (failed
sign-ins are kept only as hashes and expire by themselves), and scrubs their name and email
from the audit log, which keeps the fact that an erasure happened (and who asked for it) but
nothing that identifies whom it was about.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from app.audit import Actor, record
from app.grading.records import Grade
from app.models import (
    AuditEvent,
    AuthSession,
    CohortMember,
    LibraryVersion,
    OneTimeToken,
    PracticeSession,
    Review,
    ReviewAmendment,
    ReviewMark,
    Turn,
    TurnNote,
    User,
    utcnow,
)
from app.review.self_rating import SelfRating

__all__ = ["DiscardRefused", "delete_sessions", "discard_session", "erase_user", "prune_sessions"]


class DiscardRefused(ValueError):
    """The session cannot be discarded (it has ended); the message says why."""


def delete_sessions(*, db: Session, session_ids: Iterable[str]) -> int:
    """Delete sessions and everything that hangs off them; the number deleted. Not committed."""
    ids = list(session_ids)
    if not ids:
        return 0
    reviews = select(Review.id).where(col(Review.session_id).in_(ids))
    db.exec(delete(ReviewMark).where(col(ReviewMark.review_id).in_(reviews)))
    db.exec(delete(ReviewAmendment).where(col(ReviewAmendment.review_id).in_(reviews)))
    db.exec(delete(TurnNote).where(col(TurnNote.session_id).in_(ids)))
    db.exec(delete(SelfRating).where(col(SelfRating.session_id).in_(ids)))
    db.exec(delete(Review).where(col(Review.session_id).in_(ids)))
    db.exec(delete(Grade).where(col(Grade.session_id).in_(ids)))
    db.exec(delete(Turn).where(col(Turn.session_id).in_(ids)))
    db.exec(delete(PracticeSession).where(col(PracticeSession.id).in_(ids)))
    return len(ids)


def erase_user(*, db: Session, user: User, actor: Actor) -> dict[str, int]:
    """Delete a person and all their data (their sessions, account, sign-ins); what went."""
    uid = user.id or 0
    # Reviews and notes they wrote as an assessor belong to the students they are about.
    if db.exec(select(Review.id).where(Review.assessor_id == uid)).first() is not None or (
        db.exec(select(TurnNote.id).where(TurnNote.author_id == uid)).first() is not None
    ):
        raise ValueError(
            f"{user.email} has marked other people's sessions: deactivate the account instead, "
            "so that the marking stays attributable"
        )
    sessions = db.exec(select(PracticeSession.id).where(PracticeSession.owner_id == uid)).all()
    gone = {"sessions": delete_sessions(db=db, session_ids=sessions)}
    db.exec(delete(CohortMember).where(col(CohortMember.user_id) == uid))
    db.exec(delete(AuthSession).where(col(AuthSession.user_id) == uid))
    db.exec(delete(OneTimeToken).where(
        or_(col(OneTimeToken.user_id) == uid, col(OneTimeToken.created_by) == uid)))
    # The audit log keeps its rows (what was done, when) but loses who it was about.
    scrubbed = db.exec(
        update(AuditEvent)
        .where(or_(col(AuditEvent.actor_id) == uid, col(AuditEvent.target) == f"user:{uid}"))
        .values(details={"erased": True})
    ).rowcount
    db.exec(update(AuditEvent).where(col(AuditEvent.actor_id) == uid)
            .values(actor_id=None, actor=f"erased user {uid}"))
    # Library versions and amendments they wrote stay (others' work builds on them), unnamed.
    db.exec(update(LibraryVersion).where(col(LibraryVersion.author_id) == uid)
            .values(author_id=None, author=f"erased user {uid}"))
    db.exec(update(ReviewAmendment).where(col(ReviewAmendment.author_id) == uid)
            .values(author_id=None, author=f"erased user {uid}"))
    db.delete(user)
    record(db=db, actor=actor, action="user.erase", target=f"user:{uid}",
           details={"sessions": gone["sessions"], "audit_entries_scrubbed": scrubbed})
    db.commit()
    return {**gone, "audit_entries_scrubbed": scrubbed}


def prune_sessions(*, db: Session, older_than: timedelta, actor: Actor) -> int:
    """Delete sessions whose last activity is older than `older_than`; how many went."""
    cutoff = utcnow() - older_than
    recent = select(Turn.session_id).where(col(Turn.created_at) >= cutoff).distinct()
    old = db.exec(
        select(PracticeSession.id).where(
            col(PracticeSession.created_at) < cutoff, col(PracticeSession.id).not_in(recent)
        )
    ).all()
    count = delete_sessions(db=db, session_ids=old)
    record(db=db, actor=actor, action="retention.prune", target="sessions",
           details={"deleted": count, "older_than_days": older_than.days})
    db.commit()
    return count


def discard_session(*, db: Session, session_id: str, actor: Actor) -> int:
    """Delete an active session (abandoned by its student) with its turns; audited; committed.

    Refused (DiscardRefused) once the session has ended: an ended session may be graded,
    marked and counted, and is kept. The number of turns deleted is returned. The caller has
    already checked that `actor` owns the session.
    """
    session = db.get(PracticeSession, session_id)
    # A conditional UPDATE first: a concurrent End either finishes before it (and this is
    # refused) or finds the row already claimed.
    claimed = db.exec(  # type: ignore[call-overload]
        update(PracticeSession)
        .where(col(PracticeSession.id) == session_id, col(PracticeSession.status) == "active")
        .values(status="discarded")
        .execution_options(synchronize_session=False)
    ).rowcount
    if session is None or not claimed:
        db.rollback()
        raise DiscardRefused("This session has ended, so it is kept: only a session still in "
                             "progress can be discarded.")
    turns = db.exec(select(func.count(col(Turn.id))).where(Turn.session_id == session_id)).one()
    details = {"persona": session.persona_id, "turns": int(turns),
               "started_at": session.created_at.isoformat()}
    delete_sessions(db=db, session_ids=[session_id])
    record(db=db, actor=actor, action="session.discard", target=f"session:{session_id}",
           details=details)
    db.commit()
    return int(turns)

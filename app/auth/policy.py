"""Who may do what to a practice session; every route asks here, so the rules live in one place.

A student (or anyone) is told 404 for a session they may not see, exactly as for one that does
not exist, so session ids cannot be probed.
"""

from __future__ import annotations

from typing import Literal

from fastapi import HTTPException, status
from sqlmodel import Session, col, select

from app.cohorts import cohort_ids_of
from app.models import Cohort, PracticeSession, Review, User

__all__ = [
    "REVIEWER_ROLES",
    "SessionAction",
    "auto_grades_visible",
    "can_review",
    "released_review",
    "reviewable_cohort_ids",
    "visible_session",
]

SessionAction = Literal["practice", "read", "grades", "review"]
REVIEWER_ROLES = ("assessor", "admin")


def reviewable_cohort_ids(*, db: Session, user: User) -> set[int] | None:
    """The cohorts whose sessions a user may mark: None means all (admin), empty means none."""
    if user.role == "admin":
        return None
    if user.role != "assessor":
        return set()
    return cohort_ids_of(db=db, user_id=user.id or 0)


def can_review(*, db: Session, user: User, session: PracticeSession) -> bool:
    """Admins review everything; assessors the sessions of students in their cohorts."""
    cohorts = reviewable_cohort_ids(db=db, user=user)
    if cohorts is None:
        return True
    return bool(cohorts & cohort_ids_of(db=db, user_id=session.owner_id))


def released_review(*, db: Session, session_id: str) -> Review | None:
    """The released review of a session, if there is one."""
    return db.exec(
        select(Review).where(Review.session_id == session_id, Review.status == "released")
    ).first()


def auto_grades_visible(*, db: Session, session: PracticeSession) -> bool:
    """Whether the owner may see the auto-grade: at once, unless a cohort holds it for release."""
    cohort_ids = cohort_ids_of(db=db, user_id=session.owner_id)
    if not cohort_ids:
        return True
    modes = set(db.exec(select(Cohort.auto_grades).where(col(Cohort.id).in_(cohort_ids))))
    if modes <= {"immediate"}:
        return True
    return released_review(db=db, session_id=session.id) is not None


def visible_session(
    *, db: Session, user: User, session_id: str, action: SessionAction
) -> PracticeSession:
    """The session if `user` may do `action` with it; else 404 (or 403 for a held grade)."""
    session = db.get(PracticeSession, session_id)
    if session is not None:
        owner = session.owner_id == user.id
        if action == "practice" and owner:
            return session
        if action in ("read", "grades", "review") and can_review(db=db, user=user, session=session):
            return session
        if action == "read" and owner:
            return session
        if action == "grades" and owner:
            if auto_grades_visible(db=db, session=session):
                return session
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "Your cohort's grades are released by an assessor; this session's feedback "
                "appears on your progress page once it is released.",
            )
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"No session with id '{session_id}'.")

"""Who may do what to a practice session; every route asks here, so the rules live in one place.

A student (or anyone) is told 404 for a session they may not see, exactly as for one that does
not exist, so session ids cannot be probed.

A student in a cohort whose grades appear only after release sees, until an assessor releases
the marking, the words of their sessions and nothing the analysis made of them: no scores or
feedback, and no skill codes, empathy levels, trust figures or curve, disclosure, boundary or
risk events, or engine accounting (the grade is built from exactly these, so they would give
it away). `analysis_visible` is the one test every page, API answer and export asks.
"""

from __future__ import annotations

from typing import Literal

from fastapi import HTTPException, status
from sqlmodel import Session, col, select

from app.cohorts import cohort_ids_of
from app.models import Cohort, PracticeSession, Review, User

__all__ = [
    "HELD_MESSAGE",
    "REVIEWER_ROLES",
    "SessionAction",
    "analysis_visible",
    "auto_grades_visible",
    "can_review",
    "grades_shown_at_once",
    "released_review",
    "reviewable_cohort_ids",
    "visible_session",
]

SessionAction = Literal["practice", "read", "grades", "review"]
REVIEWER_ROLES = ("assessor", "admin")
HELD_MESSAGE = (
    "Your cohort's feedback is released by an assessor: this session's scores and feedback "
    "appear on your progress page once it is released."
)


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


def grades_shown_at_once(modes: set[str]) -> bool:
    """Whether cohorts with these `auto_grades` modes let a student see grades at once."""
    return modes <= {"immediate"}


def auto_grades_visible(*, db: Session, session: PracticeSession) -> bool:
    """Whether the owner may see the auto-grade: at once, unless a cohort holds it for release."""
    cohort_ids = cohort_ids_of(db=db, user_id=session.owner_id)
    if not cohort_ids:
        return True
    modes = set(db.exec(select(Cohort.auto_grades).where(col(Cohort.id).in_(cohort_ids))))
    if grades_shown_at_once(modes):
        return True
    return released_review(db=db, session_id=session.id) is not None


def analysis_visible(*, db: Session, user: User, session: PracticeSession) -> bool:
    """Whether `user` may see what the analysis and the grader made of a session they can read.

    Reviewers always; staff test-driving their own sessions always (release gates marking for
    students, not the trainers who write the personas); a student once their cohort shows
    auto-grades at once or the session's review is released.
    """
    if session.owner_id != user.id:
        return can_review(db=db, user=user, session=session)
    if user.role != "student" or can_review(db=db, user=user, session=session):
        return True
    return auto_grades_visible(db=db, session=session)


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
            if analysis_visible(db=db, user=user, session=session):
                return session
            raise HTTPException(status.HTTP_403_FORBIDDEN, HELD_MESSAGE)
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"No session with id '{session_id}'.")

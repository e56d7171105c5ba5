"""The desk's queue: ended sessions of the assessor's cohorts, what needs marking first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, select

from app.auth.policy import reviewable_cohort_ids
from app.grading.records import Grade
from app.models import Cohort, CohortMember, PracticeSession, Review, User

__all__ = ["QUEUE_STATUSES", "QueueFilters", "QueueRow", "desk_queue"]

# In the order the queue shows them: what needs the viewer's marking first.
QUEUE_STATUSES = ("to_mark", "second_mark", "in_progress", "to_release", "released")
_LABELS = {
    "to_mark": "Needs marking",
    "second_mark": "Needs second marking",
    "in_progress": "Marking in progress",
    "to_release": "Ready to release",
    "released": "Released",
}


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """What the queue can be narrowed to (all optional)."""

    cohort_id: int | None = None
    persona_id: str | None = None
    student: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One session in the queue."""

    session: PracticeSession
    student: User
    cohorts: list[str]
    grade: Grade | None
    status: str
    markers: list[str]

    @property
    def status_label(self) -> str:
        """The status in words."""
        return _LABELS[self.status]

    @property
    def finished_at(self) -> datetime:
        """When the session ended (or started, if it never did)."""
        return self.session.ended_at or self.session.created_at


def _status(reviews: list[Review], viewer: User, second_marking: bool) -> str:
    if not reviews:
        return "to_mark"
    first = reviews[0]
    if first.status == "released":
        return "released"
    mine = next((r for r in reviews if r.assessor_id == viewer.id), None)
    if second_marking and len(reviews) == 1 and mine is None and first.status != "draft":
        return "second_mark"
    if all(r.status != "draft" for r in reviews) and (not second_marking or len(reviews) == 2):
        return "to_release"
    return "in_progress"


def desk_queue(*, db: Session, viewer: User, filters: QueueFilters) -> list[QueueRow]:
    """Ended sessions the viewer may mark, filtered, most urgent first (oldest waiting first)."""
    allowed = reviewable_cohort_ids(db=db, user=viewer)
    cohort_ids = allowed if allowed is not None else {c for c in db.exec(select(Cohort.id))}
    if filters.cohort_id is not None:
        cohort_ids = cohort_ids & {filters.cohort_id}
    cohorts = {c.id: c for c in db.exec(select(Cohort)).all()}
    members = db.exec(
        select(CohortMember.user_id, CohortMember.cohort_id).where(
            col(CohortMember.cohort_id).in_(cohort_ids)
        )
    ).all()
    student_cohorts: dict[int, list[int]] = {}
    for user_id, cohort_id in members:
        student_cohorts.setdefault(user_id, []).append(cohort_id)
    query = (
        select(PracticeSession, User)
        .join(User, col(User.id) == PracticeSession.owner_id)
        .where(PracticeSession.status == "ended", col(User.role) == "student")
    )
    if allowed is not None or filters.cohort_id is not None:
        query = query.where(col(PracticeSession.owner_id).in_(list(student_cohorts)))
    if filters.persona_id:
        query = query.where(PracticeSession.persona_id == filters.persona_id)
    if filters.student:
        needle = f"%{filters.student.strip().lower()}%"
        query = query.where(col(User.email).ilike(needle) | col(User.name).ilike(needle))
    if filters.date_from:
        start = datetime(filters.date_from.year, filters.date_from.month, filters.date_from.day,
                         tzinfo=UTC)
        query = query.where(col(PracticeSession.created_at) >= start)
    if filters.date_to:
        end = datetime(filters.date_to.year, filters.date_to.month, filters.date_to.day,
                       tzinfo=UTC) + timedelta(days=1)
        query = query.where(col(PracticeSession.created_at) < end)
    found = db.exec(query).all()
    ids = [s.id for s, _ in found]
    grades: dict[str, Grade] = {}
    for grade in db.exec(
        select(Grade)
        .where(col(Grade.session_id).in_(ids), Grade.status != "failed")
        .order_by(col(Grade.created_at), col(Grade.id))
    ).all():
        grades[grade.session_id] = grade  # the newest wins
    reviews: dict[str, list[Review]] = {}
    for review in db.exec(
        select(Review).where(col(Review.session_id).in_(ids)).order_by(col(Review.id))
    ).all():
        reviews.setdefault(review.session_id, []).append(review)
    markers = {r.assessor_id for rs in reviews.values() for r in rs}
    names = {u.id: u.name for u in db.exec(select(User).where(col(User.id).in_(markers)))}
    rows: list[QueueRow] = []
    for session, student in found:
        own = [cohorts[c] for c in student_cohorts.get(student.id or 0, []) if c in cohorts]
        second = any(c.second_marking for c in own)
        session_reviews = reviews.get(session.id, [])
        graded = grades.get(session.id)
        if session_reviews:
            graded = db.get(Grade, session_reviews[0].grade_id) or graded
        status = _status(session_reviews, viewer, second)
        if filters.status and status != filters.status:
            continue
        rows.append(
            QueueRow(
                session=session,
                student=student,
                cohorts=sorted(c.name for c in own),
                grade=graded,
                status=status,
                markers=[names.get(r.assessor_id, "?") for r in session_reviews],
            )
        )
    waiting = [r for r in rows if r.status != "released"]
    done = [r for r in rows if r.status == "released"]
    waiting.sort(key=lambda r: (QUEUE_STATUSES.index(r.status), r.finished_at))
    done.sort(key=lambda r: r.finished_at, reverse=True)
    return waiting + done


"""Gather what an export shows, filtered by who asks (the same rules as the pages)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.auth.policy import analysis_visible, can_review
from app.exports.cohort_csv import CsvRow
from app.exports.pdf import PdfCriterion, PdfReport, PdfTurn
from app.grading.records import Grade, latest_grade
from app.models import CohortMember, PracticeSession, User
from app.persona import Persona
from app.practice import session_turns
from app.review.marking import ReviewView, released_view, review_view, session_reviews
from app.rubric import Rubric

__all__ = ["cohort_rows", "session_report"]


def _date(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _review_for(db: Session, session: PracticeSession, viewer: User) -> ReviewView | None:
    if can_review(db=db, user=viewer, session=session):
        reviews = session_reviews(db=db, session_id=session.id)
        return review_view(db, reviews[0]) if reviews else None
    return released_view(db=db, session_id=session.id)


def session_report(
    *,
    db: Session,
    session: PracticeSession,
    viewer: User,
    personas: dict[str, Persona],
    rubrics: dict[str, Rubric],
) -> PdfReport:
    """The PDF's content for `viewer`: auto-grade only where they may see it."""
    persona = personas.get(session.persona_id)
    owner = db.get(User, session.owner_id)
    auto_ok = analysis_visible(db=db, user=viewer, session=session)
    review = _review_for(db, session, viewer)
    grade = db.get(Grade, review.review.grade_id) if review else None
    grade = grade or latest_grade(db=db, session_id=session.id)
    rubric = rubrics.get(grade.rubric_id) if grade else None
    client = persona.client.name if persona else "Client"
    student = owner.name if owner else "Counsellor"
    meta = [
        ("Student", f"{student} ({owner.email})" if owner else student),
        ("Client", persona.title if persona else session.persona_id),
        ("Started", _date(session.created_at)),
        ("Ended", _date(session.ended_at) or "not ended"),
        ("Session", session.id),
    ]
    criteria: list[PdfCriterion] = []
    notice = ""
    if grade is not None and (auto_ok or review is not None):
        for c in grade.criteria:
            mark = review.marks.get(c["id"]) if review else None
            criteria.append(
                PdfCriterion(
                    title=c.get("title") or c["id"],
                    auto=c.get("score") if auto_ok else None,
                    final=mark.score if mark else None,
                    decision=mark.decision if mark else "",
                    reason=mark.reason if mark else "",
                    feedback=c.get("feedback", "") if auto_ok else "",
                )
            )
    elif grade is not None:
        notice = "Your cohort's grades are released by an assessor; none has been released yet."
    notes: dict[int, list[str]] = {}
    for note in review.notes if review else []:
        notes.setdefault(note.turn_index, []).append(note.text)
    turns = [
        PdfTurn(
            number=t.index,
            speaker=(f"{student} (counsellor)" if t.speaker == "counsellor"
                     else f"{client} (client)"),
            text=t.text,
            notes=notes.get(t.index, []),
        )
        for t in session_turns(db=db, session_id=session.id)
    ]
    status = ""
    if review is not None:
        status = "released" if review.review.status == "released" else f"{review.review.status}"
    heading = (
        f"Grade: {rubric.title if rubric else grade.rubric_id} (version {grade.rubric_version})"
        + (f", review {status}" if status else "")
        if grade
        else "Grade"
    )
    return PdfReport(
        title=f"Session report: {persona.title if persona else session.persona_id}",
        meta=meta,
        grade_heading=heading,
        overall_auto=grade.overall if grade and auto_ok else None,
        overall_final=review.overall if review else None,
        criteria=criteria,
        comment=review.review.comment if review else "",
        notice=notice,
        turns=turns,
    )


def cohort_rows(*, db: Session, cohort_id: int) -> tuple[list[CsvRow], list[str]]:
    """A cohort's ended sessions with auto and released scores, and the criteria seen."""
    students = select(CohortMember.user_id).where(CohortMember.cohort_id == cohort_id)
    found = db.exec(
        select(PracticeSession, User)
        .join(User, col(User.id) == PracticeSession.owner_id)
        .where(col(PracticeSession.owner_id).in_(students), PracticeSession.status == "ended",
               User.role == "student")
        .order_by(col(User.name), col(PracticeSession.created_at))
    ).all()
    rows: list[CsvRow] = []
    criteria: list[str] = []
    for session, student in found:
        reviews = session_reviews(db=db, session_id=session.id)
        released = released_view(db=db, session_id=session.id)
        grade = db.get(Grade, reviews[0].grade_id) if reviews else latest_grade(
            db=db, session_id=session.id
        )
        auto = {c["id"]: c.get("score") for c in grade.criteria} if grade else {}
        for c in auto:
            if c not in criteria:
                criteria.append(c)
        rows.append(
            CsvRow(
                session_id=session.id,
                student_name=student.name,
                student_email=student.email,
                persona_id=session.persona_id,
                started=_date(session.created_at),
                ended=_date(session.ended_at),
                rubric_id=grade.rubric_id if grade else "",
                status=("released" if released else reviews[0].status if reviews
                        else "graded" if grade else "ungraded"),
                auto_overall=grade.overall if grade else None,
                auto=auto,
                released_overall=released.overall if released else None,
                released={k: m.score for k, m in released.marks.items()} if released else {},
                released_at=_date(released.review.released_at) if released else "",
                assessor=released.assessor.name if released and released.assessor else "",
            )
        )
    return rows, criteria

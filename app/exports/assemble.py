"""Gather what an export shows, filtered by who asks (the same rules as the pages)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.auth.policy import analysis_visible, can_review
from app.exports.cohort_csv import CsvRow
from app.exports.pdf import (
    PdfCriterion,
    PdfEvidence,
    PdfReport,
    PdfSuggestion,
    PdfTrustPoint,
    PdfTurn,
)
from app.grading.records import Grade, latest_grade
from app.grading.report import ECHO_NOTE, is_echo, parroted_turns
from app.library import session_persona
from app.models import LOCAL_USER_EMAIL, CohortMember, PracticeSession, Turn, User
from app.numbering import TurnNumbers
from app.persona import Persona
from app.practice import session_turns
from app.review.marking import ReviewView, released_view, session_reviews, visible_reviews
from app.rubric import Rubric

__all__ = ["cohort_rows", "session_report"]


def _date(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _review_for(db: Session, session: PracticeSession, viewer: User) -> ReviewView | None:
    """The marking `viewer` may see, by the desk's rules: their own, else one not hidden from
    them (the released one first), else nothing; students only a released review."""
    if not can_review(db=db, user=viewer, session=session):
        return released_view(db=db, session_id=session.id)
    seen = visible_reviews(db=db, session=session, viewer=viewer)
    if seen.mine is not None:
        return seen.mine
    released = [v for v in seen.others if v.review.status == "released"]
    return (released or seen.others or [None])[0]


def _criterion(c: dict, mark, numbers: TurnNumbers, *, auto_ok: bool,
               parroted: set[int]) -> PdfCriterion:
    """One criterion as the PDF shows it; the auto-grade's parts only where they may be seen."""
    return PdfCriterion(
        title=c.get("title") or c["id"],
        auto=c.get("score") if auto_ok else None,
        final=mark.score if mark else None,
        decision=mark.decision if mark else "",
        reason=mark.reason if mark else "",
        feedback=numbers.rewrite(c.get("feedback", "")) if auto_ok else "",
        went_well=[numbers.rewrite(line) for line in c.get("went_well", [])] if auto_ok else [],
        suggestions=[
            PdfSuggestion(turn=numbers.label(s["turn"]), said=s["said"],
                          alternative=s["alternative"], why=s.get("why", ""))
            for s in c.get("suggestions", [])
        ] if auto_ok else [],
        evidence=[
            PdfEvidence(turn=numbers.label(e["turn"]), effect=e["effect"],
                        skill=e["code"].replace("_", " ") + (
                            f" ({ECHO_NOTE})"
                            if is_echo(e["turn"], e["code"], e["effect"], parroted) else ""),
                        quote=e["quote"])
            for e in c.get("evidence", [])
        ] if auto_ok else [],
    )


def _trust(turns: list[Turn], persona: Persona | None) -> tuple[float | None, list[PdfTrustPoint]]:
    """Trust at the start and after each student turn, with the layer each reply opened."""
    opening = next((t for t in turns if t.speaker == "client"), None)
    start = opening.trust_after if opening and opening.trust_after is not None else (
        persona.trust.initial if persona else None)
    points: list[PdfTrustPoint] = []
    trust = start
    for position, turn in enumerate(turns):
        if turn.speaker != "counsellor":
            continue
        reply = turns[position + 1] if position + 1 < len(turns) else None
        after = turn.trust_after if turn.trust_after is not None else (
            reply.trust_after if reply is not None and reply.speaker == "client" else None)
        trust = after if after is not None else trust
        if trust is None:
            continue
        opened = reply.disclosed if reply is not None and reply.speaker == "client" else None
        points.append(PdfTrustPoint(turn=len(points) + 1, trust=trust,
                                    opened=(opened or "").replace("-", " ")))
    return start, points


def session_report(
    *,
    db: Session,
    session: PracticeSession,
    viewer: User,
    personas: dict[str, Persona],
    rubrics: dict[str, Rubric],
) -> PdfReport:
    """The PDF's content for `viewer`: auto-grade only where they may see it."""
    persona = session_persona(personas, session)
    owner = db.get(User, session.owner_id)
    auto_ok = analysis_visible(db=db, user=viewer, session=session)
    review = _review_for(db, session, viewer)
    grade = db.get(Grade, review.review.grade_id) if review else None
    grade = grade or latest_grade(db=db, session_id=session.id)
    rubric = rubrics.get(grade.rubric_id) if grade else None
    client = persona.client.name if persona else "Client"
    single_user = owner is None or owner.email == LOCAL_USER_EMAIL
    student = "You" if single_user else owner.name
    meta = [
        *([] if single_user else [("Student", f"{owner.name} ({owner.email})")]),
        ("Client", persona.title if persona else session.persona_id),
        ("Started", _date(session.created_at)),
        ("Ended", _date(session.ended_at) or "not ended"),
        ("Session", session.id),
    ]
    stored = session_turns(db=db, session_id=session.id)
    numbers = TurnNumbers.of(stored)
    criteria: list[PdfCriterion] = []
    notice = ""
    if grade is not None and (auto_ok or review is not None):
        parroted = parroted_turns(stored)
        criteria = [
            _criterion(c, review.marks.get(c["id"]) if review else None, numbers,
                       auto_ok=auto_ok, parroted=parroted)
            for c in grade.criteria
        ]
    elif grade is not None:
        notice = "Your cohort's grades are released by an assessor; none has been released yet."
    notes: dict[int, list[str]] = {}
    for note in review.notes if review else []:
        notes.setdefault(note.turn_index, []).append(note.text)
    turns = [
        PdfTurn(
            label=("Turn " + str(numbers.number(t.index)) if t.speaker == "counsellor"
                   else "Opening" if numbers.number(t.index) == 0 else ""),
            speaker=(f"{student} (counsellor)" if t.speaker == "counsellor"
                     else f"{client} (client)"),
            text=t.text,
            student=t.speaker == "counsellor",
            notes=notes.get(t.index, []),
        )
        for t in stored
    ]
    start_trust, trust = _trust(stored, persona) if auto_ok else (None, [])
    status = review.review.status if review is not None else ""
    heading = (
        f"Grade: {rubric.title if rubric else grade.rubric_id} (version {grade.rubric_version})"
        + (f", review {status}" if status else "")
        if grade
        else "Grade"
    )
    return PdfReport(
        title=persona.title if persona else session.persona_id,
        meta=meta,
        grade_heading=heading,
        scale=(rubric.scale.min, rubric.scale.max) if rubric else (1, 5),
        overall_auto=grade.overall if grade and auto_ok else None,
        overall_final=review.overall if review else None,
        criteria=criteria,
        comment=review.review.comment if review else "",
        notice=notice,
        start_trust=start_trust,
        trust=trust,
        turns=turns,
        final_released=status == "released",
    )


def _csv_status(db: Session, session: PracticeSession, viewer: User, graded: bool) -> str:
    """The marking status `viewer` may know of: never the progress of a review hidden from them."""
    seen = visible_reviews(db=db, session=session, viewer=viewer)
    if any(v.review.status == "released" for v in seen.all):
        return "released"
    shown = seen.mine or (seen.others[0] if seen.others else None)
    if shown is not None:
        return shown.review.status
    if seen.blind:
        return "marking"
    return "graded" if graded else "ungraded"


def cohort_rows(
    *, db: Session, cohort_id: int, viewer: User
) -> tuple[list[CsvRow], list[str]]:
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
        released = released_view(db=db, session_id=session.id)
        reviews = session_reviews(db=db, session_id=session.id)
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
                status=_csv_status(db, session, viewer, grade is not None),
                auto_overall=grade.overall if grade else None,
                auto=auto,
                released_overall=released.overall if released else None,
                released={k: m.score for k, m in released.marks.items()} if released else {},
                released_at=_date(released.review.released_at) if released else "",
                assessor=released.assessor.name if released and released.assessor else "",
            )
        )
    return rows, criteria

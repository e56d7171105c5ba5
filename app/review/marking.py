"""Marking a graded session: accept or override each criterion, notes on turns, release.

A session has at most two reviews: the first marker's (the one released to the student) and,
when the student's cohort asks for it, a blind second marker's. Each marker sees only their own
work until both have submitted; then both see the other's and the criteria they disagree on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.audit import Actor, record
from app.cohorts import cohort_ids_of
from app.grading.records import Grade, latest_grade
from app.grading.service import default_rubric, grade_session
from app.models import (
    Cohort,
    PracticeSession,
    Review,
    ReviewAmendment,
    ReviewMark,
    TurnNote,
    User,
    utcnow,
)
from app.persona import Persona
from app.practice import session_turns
from app.review.schemas import AmendIn, MarkIn, ReviewIn
from app.rubric import Rubric

__all__ = [
    "DISAGREEMENT_THRESHOLD",
    "DeskView",
    "Disagreement",
    "MarkingError",
    "ReviewView",
    "VisibleReviews",
    "add_note",
    "amend_review",
    "amendments",
    "desk_view",
    "disagreements",
    "final_overall",
    "release_review",
    "released_view",
    "review_grade",
    "review_view",
    "save_review",
    "second_marking_on",
    "session_reviews",
    "visible_reviews",
]

# Scores this far apart (or one scored and one not) are listed as a disagreement.
DISAGREEMENT_THRESHOLD = 1.0
_DONE = ("submitted", "released")


class MarkingError(ValueError):
    """A marking request that cannot be done now; `status_code` says how to answer it."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class ReviewView:
    """One review with its marks, notes and the overall of its final scores."""

    review: Review
    assessor: User | None
    marks: dict[str, ReviewMark]
    notes: list[TurnNote]
    overall: float | None
    # Changes after release, oldest first; the marks above are the latest version.
    amendments: list[ReviewAmendment] = field(default_factory=list)

    @property
    def version(self) -> int:
        """The marking version: 1 as released, one more for each amendment."""
        return 1 + len(self.amendments)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A criterion the two markers scored differently."""

    criterion: str
    first: float | None
    second: float | None


@dataclass(slots=True)
class DeskView:
    """What one assessor may see of a session's marking."""

    grade: Grade | None
    mine: ReviewView | None
    others: list[ReviewView] = field(default_factory=list)
    can_mark: bool = False
    can_release: bool = False
    can_amend: bool = False
    blind: bool = False
    second_marking: bool = False
    disagreements: list[Disagreement] = field(default_factory=list)
    waiting_for: str = ""


def session_reviews(*, db: Session, session_id: str) -> list[Review]:
    """A session's reviews, first marker first."""
    return list(
        db.exec(
            select(Review).where(Review.session_id == session_id).order_by(col(Review.id))
        ).all()
    )


def second_marking_on(*, db: Session, session: PracticeSession) -> bool:
    """Whether the student's cohort asks for blind second marking."""
    ids = cohort_ids_of(db=db, user_id=session.owner_id)
    if not ids:
        return False
    found = db.exec(
        select(Cohort.id).where(col(Cohort.id).in_(ids), col(Cohort.second_marking).is_(True))
    ).first()
    return found is not None


def review_grade(
    *,
    db: Session,
    session: PracticeSession,
    persona: Persona | None,
    rubrics: dict[str, Rubric],
) -> Grade | None:
    """The auto-grade under review: the first marker's, else the newest; graded now if none."""
    reviews = session_reviews(db=db, session_id=session.id)
    if reviews:
        return db.get(Grade, reviews[0].grade_id)
    grade = latest_grade(db=db, session_id=session.id)
    if grade is None and session.status == "ended" and rubrics:
        # Ended before grading ran (or its grade failed): grade it offline now, as the report does.
        grade = grade_session(db=db, session=session, persona=persona,
                              rubric=default_rubric(rubrics))
    return grade


def _marks(db: Session, review_id: int) -> dict[str, ReviewMark]:
    rows = db.exec(select(ReviewMark).where(ReviewMark.review_id == review_id)).all()
    return {m.criterion_id: m for m in rows}


def _notes(db: Session, review_id: int) -> list[TurnNote]:
    return list(
        db.exec(
            select(TurnNote)
            .where(TurnNote.review_id == review_id)
            .order_by(col(TurnNote.turn_index), col(TurnNote.id))
        ).all()
    )


def amendments(db: Session, review_id: int) -> list[ReviewAmendment]:
    """A review's amendments after release, oldest first."""
    return list(db.exec(
        select(ReviewAmendment).where(ReviewAmendment.review_id == review_id)
        .order_by(col(ReviewAmendment.number))
    ).all())


def final_overall(marks: dict[str, ReviewMark]) -> float | None:
    """The mean of the final criterion scores, one decimal (as the grader's overall)."""
    scores = [m.score for m in marks.values() if m.score is not None]
    return round(sum(scores) / len(scores), 1) if scores else None


def review_view(db: Session, review: Review) -> ReviewView:
    """A review with its marks and notes."""
    marks = _marks(db, review.id or 0)
    return ReviewView(
        review=review,
        assessor=db.get(User, review.assessor_id),
        marks=marks,
        notes=_notes(db, review.id or 0),
        overall=final_overall(marks),
        amendments=amendments(db, review.id or 0) if review.status == "released" else [],
    )


def _complete(grade: Grade, marks: dict[str, ReviewMark]) -> list[str]:
    """The criteria of the grade that have no decision yet."""
    return [c["id"] for c in grade.criteria if c["id"] not in marks]


def _my_review(
    db: Session, session: PracticeSession, grade: Grade, assessor: User, *, create: bool
) -> Review | None:
    reviews = session_reviews(db=db, session_id=session.id)
    mine = next((r for r in reviews if r.assessor_id == assessor.id), None)
    if mine is not None or not create:
        return mine
    if not reviews:
        kind = "first"
    elif second_marking_on(db=db, session=session) and len(reviews) == 1:
        kind = "second"
    else:
        marker = db.get(User, reviews[0].assessor_id)
        raise MarkingError(
            f"This session is being marked by {marker.name if marker else 'another assessor'}."
        )
    review = Review(session_id=session.id, grade_id=grade.id or 0, assessor_id=assessor.id or 0,
                    kind=kind)
    db.add(review)
    db.flush()
    return review


def _validated(marks: list[MarkIn], grade: Grade, rubric: Rubric | None) -> None:
    low, high = (rubric.scale.min, rubric.scale.max) if rubric else (1, 5)
    known = {c["id"] for c in grade.criteria}
    problems: list[str] = []
    for mark in marks:
        if mark.criterion not in known:
            problems.append(f"{mark.criterion}: not a criterion of this grade")
        elif mark.decision == "override":
            if mark.score is None or not low <= mark.score <= high:
                problems.append(f"{mark.criterion}: an override needs a score from {low} to {high}")
            if not mark.reason.strip():
                problems.append(f"{mark.criterion}: an override needs a reason")
    if problems:
        raise MarkingError("; ".join(problems), status_code=422)


def save_review(
    *,
    db: Session,
    session: PracticeSession,
    grade: Grade,
    rubric: Rubric | None,
    assessor: User,
    body: ReviewIn,
    actor: Actor,
) -> Review:
    """Save an assessor's decisions and comment (a draft, or submitted when complete)."""
    _validated(body.marks, grade, rubric)
    review = _my_review(db, session, grade, assessor, create=True)
    assert review is not None
    if review.status == "released":
        raise MarkingError("This review has been released to the student and cannot change.")
    autos = {c["id"]: c.get("score") for c in grade.criteria}
    existing = _marks(db, review.id or 0)
    for mark in body.marks:
        score = autos[mark.criterion] if mark.decision == "accept" else round(mark.score or 0, 1)
        reason = mark.reason.strip()
        old = existing.get(mark.criterion)
        if old is not None and (old.decision, old.score, old.reason) == (
            mark.decision, score, reason
        ):
            continue
        row = old or ReviewMark(review_id=review.id or 0, criterion_id=mark.criterion,
                                decision=mark.decision)
        row.decision, row.auto_score, row.score, row.reason = (
            mark.decision, autos[mark.criterion], score, reason
        )
        db.add(row)
        existing[mark.criterion] = row
        if mark.decision == "override" or (old is not None and old.decision == "override"):
            record(db=db, actor=actor,
                   action="review.override" if mark.decision == "override" else "review.accept",
                   target=f"session:{session.id}",
                   details={"criterion": mark.criterion, "auto": autos[mark.criterion],
                            "score": score, "reason": reason, "marker": review.kind})
    review.comment = body.comment.strip()
    review.updated_at = utcnow()
    if body.submit:
        missing = _complete(grade, existing)
        if missing:
            # Keep what was decided so far: a refused submit must not lose the assessor's work.
            db.add(review)
            db.commit()
            raise MarkingError(
                "Saved as a draft. Decide every criterion before submitting: "
                + ", ".join(missing)
                + ".",
                status_code=422,
            )
        if review.status == "draft":
            review.status = "submitted"
            review.submitted_at = utcnow()
    db.add(review)
    db.commit()
    db.refresh(review)
    return review


def add_note(
    *,
    db: Session,
    session: PracticeSession,
    grade: Grade,
    assessor: User,
    turn: int,
    text: str,
) -> TurnNote:
    """A note on one turn, kept with the assessor's review (shown to the student on release)."""
    text = text.strip()
    if not text:
        raise MarkingError("The note is empty.", status_code=422)
    indexes = {t.index for t in session_turns(db=db, session_id=session.id)}
    if turn not in indexes:
        raise MarkingError(f"turn: this session has no turn {turn}.", status_code=422)
    review = _my_review(db, session, grade, assessor, create=True)
    assert review is not None
    if review.status == "released":
        raise MarkingError("This review has been released to the student and cannot change.")
    note = TurnNote(session_id=session.id, review_id=review.id or 0, turn_index=turn,
                    author_id=assessor.id or 0, text=text[:2000])
    db.add(note)
    review.updated_at = utcnow()
    db.add(review)
    db.commit()
    db.refresh(note)
    return note


def disagreements(first: ReviewView, second: ReviewView) -> list[Disagreement]:
    """Criteria where the two markers' final scores differ by the threshold or more."""
    found: list[Disagreement] = []
    for criterion in sorted(set(first.marks) | set(second.marks)):
        a = first.marks.get(criterion)
        b = second.marks.get(criterion)
        sa, sb = (a.score if a else None), (b.score if b else None)
        if (sa is None) != (sb is None) or (
            sa is not None and sb is not None and abs(sa - sb) >= DISAGREEMENT_THRESHOLD
        ):
            found.append(Disagreement(criterion=criterion, first=sa, second=sb))
    return found


def release_review(
    *, db: Session, session: PracticeSession, grade: Grade, releaser: User, actor: Actor
) -> Review:
    """Release the first marker's review to the student (final: it cannot change afterwards)."""
    reviews = session_reviews(db=db, session_id=session.id)
    if not reviews:
        raise MarkingError("Mark the session before releasing it.")
    first = reviews[0]
    if first.status == "released":
        return first
    if releaser.role != "admin" and first.assessor_id != releaser.id:
        raise MarkingError("Only the first marker (or an admin) releases this session.",
                           status_code=403)
    marks = _marks(db, first.id or 0)
    missing = _complete(grade, marks)
    if missing:
        raise MarkingError(f"Decide every criterion before releasing: {', '.join(missing)}.",
                           status_code=422)
    if second_marking_on(db=db, session=session) and (
        len(reviews) < 2 or reviews[1].status not in _DONE
    ):
        raise MarkingError("This cohort is second-marked: wait for the second marker to submit.")
    now = utcnow()
    first.status = "released"
    first.submitted_at = first.submitted_at or now
    first.released_at = now
    first.updated_at = now
    db.add(first)
    record(db=db, actor=actor, action="review.release", target=f"session:{session.id}",
           details={"student_id": session.owner_id, "overall": final_overall(marks),
                    "scores": {k: m.score for k, m in marks.items()},
                    "overrides": sorted(k for k, m in marks.items() if m.decision == "override")})
    db.commit()
    db.refresh(first)
    return first


def amend_review(
    *,
    db: Session,
    session: PracticeSession,
    grade: Grade,
    rubric: Rubric | None,
    assessor: User,
    body: AmendIn,
    actor: Actor,
) -> ReviewAmendment:
    """Change a released review: a new marking version with a required reason; audited.

    Only its marker (or an admin) amends it. The student sees the change and the reason.
    """
    reason = " ".join(body.reason.split())
    if not reason:
        raise MarkingError("reason: say why the marking changes (the student will read it).",
                           status_code=422)
    first = next((r for r in session_reviews(db=db, session_id=session.id)
                  if r.status == "released"), None)
    if first is None:
        raise MarkingError("Only a released marking is amended; change the draft instead.")
    if assessor.role != "admin" and first.assessor_id != assessor.id:
        raise MarkingError("Only the assessor who released this marking (or an admin) amends it.",
                           status_code=403)
    _validated(body.marks, grade, rubric)
    autos = {c["id"]: c.get("score") for c in grade.criteria}
    existing = _marks(db, first.id or 0)
    changes: list[dict] = []
    for mark in body.marks:
        score = autos[mark.criterion] if mark.decision == "accept" else round(mark.score or 0, 1)
        why = mark.reason.strip() if mark.decision == "override" else ""
        old = existing.get(mark.criterion)
        if old is not None and (old.decision, old.score, old.reason) == (mark.decision, score, why):
            continue
        changes.append({"criterion": mark.criterion, "before": old.score if old else None,
                        "after": score, "decision": mark.decision, "reason": why})
        row = old or ReviewMark(review_id=first.id or 0, criterion_id=mark.criterion,
                                decision=mark.decision)
        row.decision, row.auto_score, row.score, row.reason = (
            mark.decision, autos[mark.criterion], score, why)
        db.add(row)
    comment_before = first.comment
    comment = first.comment if body.comment is None else body.comment.strip()
    if not changes and comment == comment_before:
        raise MarkingError("Nothing changed: amend a score or the comment.", status_code=422)
    number = 2 + len(amendments(db, first.id or 0))
    amendment = ReviewAmendment(
        review_id=first.id or 0, number=number, author_id=assessor.id, author=assessor.name,
        reason=reason[:2000], changes=changes, comment_before=comment_before,
        comment_after=comment)
    first.comment = comment
    first.updated_at = utcnow()
    db.add(first)
    db.add(amendment)
    record(db=db, actor=actor, action="review.amend", target=f"session:{session.id}",
           details={"version": number, "reason": reason, "changes": changes,
                    "comment_changed": comment != comment_before})
    db.commit()
    db.refresh(amendment)
    return amendment


@dataclass(frozen=True, slots=True)
class VisibleReviews:
    """The reviews of a session one viewer may read: their own, the others', and what is hidden."""

    all: list[ReviewView]
    mine: ReviewView | None
    others: list[ReviewView]
    blind: bool
    second_marking: bool


def visible_reviews(*, db: Session, session: PracticeSession, viewer: User) -> VisibleReviews:
    """The one rule for every view of a session's marking (desk, API, PDF, CSV).

    A marker sees their own review; another marker's only once it is released, when the cohort
    is not second-marked, or when both have submitted (blind second marking). Admins see all.
    Anyone who may not review the session sees only a released review (`released_view`).
    """
    second = second_marking_on(db=db, session=session)
    reviews = [review_view(db, r) for r in session_reviews(db=db, session_id=session.id)]
    mine = next((v for v in reviews if v.review.assessor_id == viewer.id), None)
    mine_done = mine is not None and mine.review.status in _DONE
    others: list[ReviewView] = []
    blind = False
    for other in reviews:
        if other is mine:
            continue
        if (
            viewer.role == "admin"
            or other.review.status == "released"
            or not second
            or (mine_done and other.review.status in _DONE)
        ):
            others.append(other)
        else:
            blind = True
    return VisibleReviews(all=reviews, mine=mine, others=others, blind=blind,
                          second_marking=second)


def desk_view(
    *, db: Session, session: PracticeSession, grade: Grade | None, viewer: User
) -> DeskView:
    """The marking of a session as `viewer` may see it (blind until both markers submit)."""
    seen = visible_reviews(db=db, session=session, viewer=viewer)
    reviews, mine, second = seen.all, seen.mine, seen.second_marking
    view = DeskView(grade=grade, mine=mine, others=seen.others, blind=seen.blind,
                    second_marking=second)
    released = any(v.review.status == "released" for v in reviews)
    if mine is not None:
        view.can_mark = not released
    else:
        view.can_mark = not released and (not reviews or (second and len(reviews) == 1))
    first = reviews[0] if reviews else None
    view.can_amend = first is not None and first.review.status == "released" and (
        viewer.role == "admin" or first.review.assessor_id == viewer.id)
    if first is not None and not released:
        is_releaser = viewer.role == "admin" or first.review.assessor_id == viewer.id
        view.can_release = is_releaser
        if second and (len(reviews) < 2 or reviews[1].review.status not in _DONE):
            view.waiting_for = "the second marker"
    if len(reviews) == 2 and all(v.review.status in _DONE for v in reviews) and (
        viewer.role == "admin" or mine is not None
    ):
        view.disagreements = disagreements(reviews[0], reviews[1])
    return view


def released_view(*, db: Session, session_id: str) -> ReviewView | None:
    """The released review of a session, as its student sees it."""
    review = db.exec(
        select(Review).where(Review.session_id == session_id, Review.status == "released")
    ).first()
    return review_view(db, review) if review else None

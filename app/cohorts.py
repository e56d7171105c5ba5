"""Cohorts: who belongs where, and each cohort's marking settings."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from app.audit import Actor, record
from app.models import Cohort, CohortMember, PracticeSession, User

__all__ = [
    "AUTO_GRADE_MODES",
    "CohortError",
    "add_member",
    "cohort_ids_of",
    "cohort_session_count",
    "cohorts_of",
    "create_cohort",
    "delete_cohort",
    "find_cohort",
    "get_cohort",
    "list_cohorts",
    "members_of",
    "remove_member",
    "rename_cohort",
    "shares_cohort",
    "update_cohort",
]

AUTO_GRADE_MODES = ("immediate", "after_release")


class CohortError(ValueError):
    """A cohort change that cannot be made; the message says why."""


def list_cohorts(*, db: Session, ids: Iterable[int] | None = None) -> list[Cohort]:
    """Cohorts by name (all, or the given ids)."""
    query = select(Cohort).order_by(col(Cohort.name))
    if ids is not None:
        query = query.where(col(Cohort.id).in_(list(ids)))
    return list(db.exec(query).all())


def get_cohort(*, db: Session, cohort_id: int) -> Cohort | None:
    """One cohort by id."""
    return db.get(Cohort, cohort_id)


def find_cohort(*, db: Session, name: str) -> Cohort | None:
    """One cohort by name."""
    return db.exec(select(Cohort).where(Cohort.name == name.strip())).first()


def create_cohort(
    *,
    db: Session,
    name: str,
    actor: Actor,
    auto_grades: str = "immediate",
    second_marking: bool = False,
    coach_mode: bool = False,
) -> Cohort:
    """A new cohort."""
    name = name.strip()
    if not name:
        raise CohortError("A cohort needs a name.")
    if auto_grades not in AUTO_GRADE_MODES:
        raise CohortError(f"auto_grades must be one of {', '.join(AUTO_GRADE_MODES)}.")
    cohort = Cohort(name=name[:200], auto_grades=auto_grades, second_marking=second_marking,
                    coach_mode=coach_mode)
    db.add(cohort)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise CohortError(f"There is already a cohort called '{name}'.") from exc
    record(db=db, actor=actor, action="cohort.create", target=f"cohort:{cohort.id}",
           details={"name": name, "auto_grades": auto_grades, "second_marking": second_marking,
                    "coach_mode": coach_mode})
    db.commit()
    db.refresh(cohort)
    return cohort


def update_cohort(
    *, db: Session, cohort: Cohort, auto_grades: str, second_marking: bool, actor: Actor,
    coach_mode: bool | None = None,
) -> Cohort:
    """Change when students see auto-grades, second marking and coach mode (None: keep it)."""
    coach_mode = cohort.coach_mode if coach_mode is None else coach_mode
    if auto_grades not in AUTO_GRADE_MODES:
        raise CohortError(f"auto_grades must be one of {', '.join(AUTO_GRADE_MODES)}.")
    before = {"auto_grades": cohort.auto_grades, "second_marking": cohort.second_marking,
              "coach_mode": cohort.coach_mode}
    after = {"auto_grades": auto_grades, "second_marking": second_marking,
             "coach_mode": coach_mode}
    if before == after:
        return cohort
    cohort.auto_grades = auto_grades
    cohort.second_marking = second_marking
    cohort.coach_mode = coach_mode
    db.add(cohort)
    record(db=db, actor=actor, action="cohort.settings", target=f"cohort:{cohort.id}",
           details={"name": cohort.name, "from": before, "to": after})
    db.commit()
    db.refresh(cohort)
    return cohort


def rename_cohort(*, db: Session, cohort: Cohort, name: str, actor: Actor) -> Cohort:
    """Give a cohort a new (unique) name; audited."""
    name = name.strip()[:200]
    if not name:
        raise CohortError("A cohort needs a name.")
    if name == cohort.name:
        return cohort
    before = cohort.name
    cohort.name = name
    db.add(cohort)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise CohortError(f"There is already a cohort called '{name}'.") from exc
    record(db=db, actor=actor, action="cohort.rename", target=f"cohort:{cohort.id}",
           details={"from": before, "to": name})
    db.commit()
    db.refresh(cohort)
    return cohort


def cohort_session_count(*, db: Session, cohort_id: int) -> int:
    """How many practice sessions the cohort's students hold."""
    members = select(CohortMember.user_id).where(CohortMember.cohort_id == cohort_id)
    query = select(func.count(col(PracticeSession.id))).where(
        col(PracticeSession.owner_id).in_(members))
    return int(db.exec(query).one())


def delete_cohort(*, db: Session, cohort: Cohort, actor: Actor) -> None:
    """Delete an empty-of-sessions cohort and its memberships (the accounts stay); audited."""
    held = cohort_session_count(db=db, cohort_id=cohort.id or 0)
    if held:
        raise CohortError(
            f"'{cohort.name}' cannot be deleted: its students hold {held} "
            f"session{'s' if held != 1 else ''}, and their marking depends on the cohort. "
            "Rename it instead (for example, add the year).")
    db.exec(delete(CohortMember).where(col(CohortMember.cohort_id) == cohort.id))
    record(db=db, actor=actor, action="cohort.delete", target=f"cohort:{cohort.id}",
           details={"name": cohort.name})
    db.delete(cohort)
    db.commit()


def add_member(*, db: Session, cohort: Cohort, user: User, actor: Actor) -> None:
    """Put a user in a cohort (idempotent)."""
    if cohort.id in cohort_ids_of(db=db, user_id=user.id or 0):
        return
    db.add(CohortMember(cohort_id=cohort.id or 0, user_id=user.id or 0))
    record(db=db, actor=actor, action="cohort.member_add", target=f"user:{user.id}",
           details={"email": user.email, "cohort": cohort.name, "role": user.role})
    try:
        db.commit()
    except IntegrityError:
        db.rollback()  # added by a concurrent request: the outcome is the same


def remove_member(*, db: Session, cohort: Cohort, user: User, actor: Actor) -> None:
    """Take a user out of a cohort (idempotent)."""
    db.exec(
        delete(CohortMember).where(
            col(CohortMember.cohort_id) == cohort.id, col(CohortMember.user_id) == user.id
        )
    )
    record(db=db, actor=actor, action="cohort.member_remove", target=f"user:{user.id}",
           details={"email": user.email, "cohort": cohort.name, "role": user.role})
    db.commit()


def cohort_ids_of(*, db: Session, user_id: int) -> set[int]:
    """The ids of the cohorts a user belongs to."""
    return set(db.exec(select(CohortMember.cohort_id).where(CohortMember.user_id == user_id)))


def cohorts_of(*, db: Session, user_id: int) -> list[Cohort]:
    """The cohorts a user belongs to, by name."""
    return list_cohorts(db=db, ids=cohort_ids_of(db=db, user_id=user_id))


def members_of(*, db: Session, cohort_id: int, role: str | None = None) -> list[User]:
    """A cohort's members (optionally of one role), by name."""
    query = (
        select(User)
        .join(CohortMember, col(CohortMember.user_id) == User.id)
        .where(CohortMember.cohort_id == cohort_id)
        .order_by(col(User.name))
    )
    if role:
        query = query.where(User.role == role)
    return list(db.exec(query).all())


def shares_cohort(*, db: Session, user_id: int, other_id: int) -> bool:
    """Whether two users have a cohort in common."""
    return bool(cohort_ids_of(db=db, user_id=user_id) & cohort_ids_of(db=db, user_id=other_id))

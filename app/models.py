"""Database tables and, separately, the API schemas built from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.analysis.stored import EVENTS_KEY as ANALYSIS_KEY

__all__ = [
    "LOCAL_USER_EMAIL",
    "ROLES",
    "AuditEvent",
    "AuthSession",
    "CoachToggle",
    "Cohort",
    "CohortMember",
    "LibraryVersion",
    "LoginAttempt",
    "NextSessionCreate",
    "OneTimeToken",
    "PracticeSession",
    "Review",
    "ReviewAmendment",
    "ReviewMark",
    "SessionCreate",
    "SessionPublic",
    "SessionState",
    "SessionSummary",
    "TestDrive",
    "Turn",
    "TurnCreate",
    "TurnNote",
    "TurnPublic",
    "TurnResult",
    "User",
    "utcnow",
]

# student: practises; trainer: writes personas and rubrics; assessor: marks a cohort's sessions;
# admin: everything, including accounts.
ROLES = ("student", "trainer", "assessor", "admin")
# The one user of single-user mode (accounts off); `.invalid` so it can never receive mail.
LOCAL_USER_EMAIL = "local@rapport.invalid"


def utcnow() -> datetime:
    """Timezone-aware now, stored as UTC."""
    return datetime.now(UTC)


# The engine a session or client turn came from, as the API reports it: a client engine
# (app.client.engines), or "imported" for a transcript held elsewhere (app.exports.interchange).
SessionEngine = Literal["scripted", "llm", "local", "imported"]


# ---- tables -------------------------------------------------------------------------------


class User(SQLModel, table=True):
    """A person who uses Rapport; with accounts off, one local user owns everything."""

    __tablename__ = "users"

    id: int | None = SQLField(default=None, primary_key=True)
    email: str = SQLField(index=True, unique=True, max_length=320)
    name: str = SQLField(max_length=200)
    role: str = SQLField(default="student", max_length=20)
    created_at: datetime = SQLField(default_factory=utcnow)
    # An argon2 hash from pwdlib; None for the local user, who never signs in.
    password_hash: str | None = SQLField(default=None, max_length=255)
    is_active: bool = True
    last_login_at: datetime | None = None


class PracticeSession(SQLModel, table=True):
    """One practice conversation between a student and a simulated client."""

    __tablename__ = "practice_sessions"

    id: str = SQLField(primary_key=True, max_length=32)
    owner_id: int = SQLField(foreign_key="users.id", index=True)
    persona_id: str = SQLField(max_length=100, index=True)
    persona_version: int = 1
    # The library version (LibraryVersion.id) the session started with; None: the shipped file.
    persona_revision: int | None = SQLField(default=None, foreign_key="library_versions.id")
    engine: str = SQLField(max_length=20)
    status: str = SQLField(default="active", max_length=20)
    seed: int = 0
    created_at: datetime = SQLField(default_factory=utcnow)
    ended_at: datetime | None = None
    # The student stepped out of a distressing scenario (with support information shown).
    stepped_out_at: datetime | None = None
    stepped_out_note: str | None = SQLField(default=None, max_length=500)
    # A course of sessions with one client (app/course.py): the first session's id, this
    # session's number in it, and the session it follows on from.
    course_id: str | None = SQLField(default=None, max_length=32, index=True)
    session_number: int = 1
    previous_id: str | None = SQLField(default=None, max_length=32)
    # Coach mode: a short note beside the chat after each student turn (app/coach.py).
    coach: bool = False


class Turn(SQLModel, table=True):
    """One utterance; student turns carry analysis, client turns carry the state they left."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("session_id", "index", name="uq_turn_index"),
        UniqueConstraint("session_id", "client_message_id", name="uq_turn_message"),
    )

    id: int | None = SQLField(default=None, primary_key=True)
    session_id: str = SQLField(foreign_key="practice_sessions.id", max_length=32)
    index: int
    speaker: str = SQLField(max_length=20)
    text: str
    codes: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    empathy: dict[str, int] | None = SQLField(default=None, sa_column=Column(JSON))
    trust_before: float | None = None
    trust_after: float | None = None
    disclosed: str | None = SQLField(default=None, max_length=100)
    events: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON))
    state: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON))
    client_message_id: str | None = SQLField(default=None, max_length=64)
    engine: str | None = SQLField(default=None, max_length=20)
    model: str | None = SQLField(default=None, max_length=200)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    guard_events: list[dict[str, Any]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = SQLField(default_factory=utcnow, index=True)
    # On a student turn: which request is producing its reply, and since when. Taken with a
    # conditional UPDATE, so duplicates and concurrent retries never run the engine twice.
    reply_claim: str | None = SQLField(default=None, max_length=32)
    reply_claimed_at: datetime | None = None


class Cohort(SQLModel, table=True):
    """A group of students and the assessors and trainers assigned to them."""

    __tablename__ = "cohorts"

    id: int | None = SQLField(default=None, primary_key=True)
    name: str = SQLField(max_length=200, unique=True)
    # "immediate": students see auto-grades at once; "after_release": only after an assessor
    # releases the session's review.
    auto_grades: str = SQLField(default="immediate", max_length=20)
    second_marking: bool = False
    # Coach mode for every session of the cohort's students (they cannot turn it off).
    coach_mode: bool = False
    created_at: datetime = SQLField(default_factory=utcnow)


class CohortMember(SQLModel, table=True):
    """A user's place in a cohort (their role is the user's own)."""

    __tablename__ = "cohort_members"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id", name="uq_cohort_member"),)

    id: int | None = SQLField(default=None, primary_key=True)
    cohort_id: int = SQLField(foreign_key="cohorts.id", index=True)
    user_id: int = SQLField(foreign_key="users.id", index=True)
    created_at: datetime = SQLField(default_factory=utcnow)


class AuthSession(SQLModel, table=True):
    """A sign-in: the cookie holds the token, the table its SHA-256 (a leak signs no one in)."""

    __tablename__ = "auth_sessions"

    id: str = SQLField(primary_key=True, max_length=64)
    user_id: int = SQLField(foreign_key="users.id", index=True)
    created_at: datetime = SQLField(default_factory=utcnow)
    expires_at: datetime
    last_seen_at: datetime = SQLField(default_factory=utcnow)


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, keyed by hashes of email and address (shared by all workers)."""

    __tablename__ = "login_attempts"

    id: int | None = SQLField(default=None, primary_key=True)
    # Three counters: the email from this address, the account from anywhere, the address.
    key: str = SQLField(max_length=64, index=True)
    account_key: str | None = SQLField(default=None, max_length=64, index=True)
    address_key: str | None = SQLField(default=None, max_length=64, index=True)
    succeeded: bool = False
    created_at: datetime = SQLField(default_factory=utcnow, index=True)


class OneTimeToken(SQLModel, table=True):
    """A password-reset or first-run setup link; stored as its SHA-256, usable once."""

    __tablename__ = "one_time_tokens"

    id: str = SQLField(primary_key=True, max_length=64)
    purpose: str = SQLField(max_length=20)
    user_id: int | None = SQLField(default=None, foreign_key="users.id", index=True)
    created_by: int | None = SQLField(default=None, foreign_key="users.id")
    created_at: datetime = SQLField(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class Review(SQLModel, table=True):
    """An assessor's marking of one session's auto-grade: first or (blind) second marker."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("session_id", "assessor_id", name="uq_review_assessor"),)

    id: int | None = SQLField(default=None, primary_key=True)
    session_id: str = SQLField(foreign_key="practice_sessions.id", max_length=32, index=True)
    grade_id: int = SQLField(foreign_key="grades.id")
    assessor_id: int = SQLField(foreign_key="users.id", index=True)
    kind: str = SQLField(default="first", max_length=10)
    status: str = SQLField(default="draft", max_length=20)
    comment: str = ""
    created_at: datetime = SQLField(default_factory=utcnow)
    updated_at: datetime = SQLField(default_factory=utcnow)
    submitted_at: datetime | None = None
    released_at: datetime | None = None


class ReviewMark(SQLModel, table=True):
    """One criterion of a review: the auto score accepted, or overridden with a reason."""

    __tablename__ = "review_marks"
    __table_args__ = (UniqueConstraint("review_id", "criterion_id", name="uq_review_mark"),)

    id: int | None = SQLField(default=None, primary_key=True)
    review_id: int = SQLField(foreign_key="reviews.id", index=True)
    criterion_id: str = SQLField(max_length=100)
    decision: str = SQLField(max_length=10)
    auto_score: float | None = None
    score: float | None = None
    reason: str = ""


class ReviewAmendment(SQLModel, table=True):
    """A change to a released review: the marking's next version, with the assessor's reason.

    The review's marks and comment always hold the latest version (so every figure built on
    them, agreement above all, uses it); each amendment keeps what it changed from and to.
    """

    __tablename__ = "review_amendments"
    __table_args__ = (UniqueConstraint("review_id", "number", name="uq_amendment_number"),)

    id: int | None = SQLField(default=None, primary_key=True)
    review_id: int = SQLField(foreign_key="reviews.id", index=True)
    # The marking version this amendment made: 2 for the first amendment (1 is the release).
    number: int
    author_id: int | None = SQLField(default=None, foreign_key="users.id")
    author: str = SQLField(max_length=200)
    reason: str = SQLField(max_length=2000)
    # [{"criterion", "before", "after", "reason"}] and the comment before and after.
    changes: list[dict[str, Any]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False))
    comment_before: str = ""
    comment_after: str = ""
    created_at: datetime = SQLField(default_factory=utcnow)


class TurnNote(SQLModel, table=True):
    """An assessor's note on one turn; the student sees it when its review is released."""

    __tablename__ = "turn_notes"

    id: int | None = SQLField(default=None, primary_key=True)
    session_id: str = SQLField(foreign_key="practice_sessions.id", max_length=32, index=True)
    review_id: int = SQLField(foreign_key="reviews.id", index=True)
    turn_index: int
    author_id: int = SQLField(foreign_key="users.id")
    text: str
    created_at: datetime = SQLField(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who changed what: overrides, releases, roles, accounts and cohort settings."""

    __tablename__ = "audit_events"

    id: int | None = SQLField(default=None, primary_key=True)
    created_at: datetime = SQLField(default_factory=utcnow, index=True)
    actor_id: int | None = SQLField(default=None, foreign_key="users.id")
    actor: str = SQLField(max_length=320)
    action: str = SQLField(max_length=50, index=True)
    target: str = SQLField(max_length=200)
    details: dict[str, Any] = SQLField(default_factory=dict, sa_column=Column(JSON, nullable=False))


class LibraryVersion(SQLModel, table=True):
    """One stored text of a persona or rubric: a trainer's draft, or a step in its history.

    A draft (`number` None) is seen only by trainers. Each published step gets the next
    `number` for its item; the highest numbered step is what the library serves ("retire"
    hides the item but keeps the text, so its sessions still load). The shipped YAML file is
    the base: an item with no published step is served from its file.
    """

    __tablename__ = "library_versions"
    __table_args__ = (UniqueConstraint("kind", "item_id", "number", name="uq_library_number"),)

    id: int | None = SQLField(default=None, primary_key=True)
    kind: str = SQLField(max_length=10)
    item_id: str = SQLField(max_length=100, index=True)
    # None for a draft; 1, 2, ... for published steps of this item.
    number: int | None = None
    # draft | publish | rollback | retire | restore
    action: str = SQLField(default="draft", max_length=10)
    text: str
    yaml_version: int = 1
    title: str = SQLField(default="", max_length=300)
    note: str = SQLField(default="", max_length=500)
    author_id: int | None = SQLField(default=None, foreign_key="users.id")
    author: str = SQLField(max_length=320)
    created_at: datetime = SQLField(default_factory=utcnow)
    published_at: datetime | None = None


class TestDrive(SQLModel, table=True):
    """An ended test-drive of a persona text, kept briefly so its grade has a page to reload.

    Only what is needed to replay it: the text and the trainer's messages (the replies and the
    grade are worked out again, exactly, on each view). Rows older than a day are purged when a
    new one is kept (app.web.trainer); students never see them.
    """

    __tablename__ = "test_drives"
    __test__ = False  # not a pytest test class, despite its name

    id: str = SQLField(primary_key=True, max_length=32)
    # No foreign key: erasing an account must not wait on a day-old test-drive.
    author_id: int | None = None
    text: str
    said: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(default_factory=utcnow, index=True)


# ---- API schemas --------------------------------------------------------------------------


class SessionCreate(BaseModel):
    """Body of POST /api/sessions."""

    model_config = ConfigDict(extra="forbid")

    persona_id: str = Field(min_length=1, max_length=100)
    engine: Literal["scripted", "llm", "local"] | None = Field(
        default=None, description="The client engine; default: the persona's, else the server's."
    )
    coach: bool = Field(
        default=False, description="Coach mode: a short note beside the chat after each turn."
    )


class NextSessionCreate(BaseModel):
    """Body of POST /api/sessions/{id}/next: the tasks the student ticked or wrote."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=3,
        description="What the student and client agreed the client would try before next time.",
    )


class CoachToggle(BaseModel):
    """Body of POST /api/sessions/{id}/coach."""

    model_config = ConfigDict(extra="forbid")

    on: bool


class TurnCreate(BaseModel):
    """Body of POST /api/sessions/{id}/turns; length limits are checked against settings."""

    model_config = ConfigDict(extra="forbid")

    text: str
    client_message_id: str | None = Field(default=None, min_length=1, max_length=64)


class TurnPublic(BaseModel):
    """A turn as the API shows it."""

    index: int
    speaker: str
    text: str
    codes: list[str] = []
    empathy: dict[str, int] | None = None
    trust_before: float | None = None
    trust_after: float | None = None
    disclosed: str | None = None
    events: dict[str, Any] | None = None
    engine: SessionEngine | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    guard_events: list[dict[str, Any]] = []
    created_at: datetime

    @field_validator("events")
    @classmethod
    def _without_analysis_record(cls, events: dict[str, Any] | None) -> dict[str, Any] | None:
        # The analysis record (app.analysis.stored) is the grader's working copy: its quotes
        # repeat the turn's own words, and no client has a use for it.
        if events and ANALYSIS_KEY in events:
            return {k: v for k, v in events.items() if k != ANALYSIS_KEY}
        return events


class SessionState(BaseModel):
    """The client's state as the student may see it (trust is null while grades are held)."""

    trust: float | None
    unlocked: list[str]
    turn: int


class SessionSummary(BaseModel):
    """A session in a list."""

    id: str
    persona_id: str
    persona_title: str | None = None
    status: str
    engine: SessionEngine
    created_at: datetime
    ended_at: datetime | None = None
    turn_count: int = 0


class SessionPublic(BaseModel):
    """A session with its turns."""

    id: str
    persona_id: str
    persona_version: int
    status: str
    engine: SessionEngine
    created_at: datetime
    ended_at: datetime | None = None
    stepped_out_at: datetime | None = None
    turns: list[TurnPublic]
    state: SessionState
    awaiting_reply: bool = False
    course_id: str | None = None
    session_number: int = 1
    previous_id: str | None = None
    coach: bool = False


class TurnResult(BaseModel):
    """Answer to POST /api/sessions/{id}/turns."""

    student_turn: TurnPublic
    client_turn: TurnPublic
    state: SessionState
    coach: dict[str, Any] | None = Field(
        default=None, description="Coach mode's note on the student turn (null when off)."
    )

"""Accounts: create users, set passwords and roles, deactivate; every change is audited."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from app.audit import Actor, record
from app.auth.passwords import check_password, hash_password
from app.models import LOCAL_USER_EMAIL, ROLES, AuthSession, User

__all__ = [
    "AccountError",
    "create_user",
    "find_user",
    "list_users",
    "normalise_email",
    "revoke_sessions",
    "set_active",
    "set_password",
    "set_role",
]


class AccountError(ValueError):
    """A request about an account that cannot be done; the message says why."""


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively; stored lower-case and trimmed."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"'{email}' is not an email address.")
    return email


def _role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"Unknown role '{role}' (use one of: {', '.join(ROLES)}).")
    return role


def find_user(*, db: Session, email: str) -> User | None:
    """The user with this email, if any."""
    return db.exec(select(User).where(User.email == email.strip().lower())).first()


def list_users(*, db: Session) -> list[User]:
    """Every account, by email; never the single-user mode's local user, who cannot sign in."""
    query = select(User).where(User.email != LOCAL_USER_EMAIL).order_by(col(User.email))
    return list(db.exec(query).all())


def create_user(
    *,
    db: Session,
    email: str,
    name: str,
    role: str,
    password: str | None,
    actor: Actor,
    hash_with: Callable[[str], str] = hash_password,
) -> User:
    """A new account; without a password it cannot sign in until a set-password link is used.

    `hash_with` computes the hash; the web app passes its bounded hashing pool.
    """
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise AccountError("A name is required.")
    user = User(email=email, name=name[:200], role=_role(role))
    if password is not None:
        user.password_hash = hash_with(check_password(password, email=email))
    db.add(user)
    try:
        db.flush()
    except IntegrityError as exc:
        db.rollback()
        raise AccountError(f"There is already an account for {email}.") from exc
    record(db=db, actor=actor, action="user.create", target=f"user:{user.id}",
           details={"email": email, "role": role})
    db.commit()
    db.refresh(user)
    return user


def revoke_sessions(*, db: Session, user_id: int) -> None:
    """Sign a user out everywhere (after a password or role change, or deactivation)."""
    db.exec(delete(AuthSession).where(col(AuthSession.user_id) == user_id))


def set_password(
    *,
    db: Session,
    user: User,
    password: str,
    actor: Actor,
    hash_with: Callable[[str], str] = hash_password,
) -> User:
    """Set a new password and end every sign-in the user had."""
    user.password_hash = hash_with(check_password(password, email=user.email))
    db.add(user)
    revoke_sessions(db=db, user_id=user.id or 0)
    record(db=db, actor=actor, action="user.password", target=f"user:{user.id}",
           details={"email": user.email})
    db.commit()
    db.refresh(user)
    return user


def set_role(*, db: Session, user: User, role: str, actor: Actor) -> User:
    """Change a user's role; they sign in again so every page shows the new role."""
    old = user.role
    if old == role:
        return user
    if old == "admin" and not _other_admins(db=db, user_id=user.id or 0):
        raise AccountError("This is the last active admin; make another admin first.")
    user.role = _role(role)
    db.add(user)
    revoke_sessions(db=db, user_id=user.id or 0)
    record(db=db, actor=actor, action="user.role", target=f"user:{user.id}",
           details={"email": user.email, "from": old, "to": role})
    db.commit()
    db.refresh(user)
    return user


def set_active(*, db: Session, user: User, active: bool, actor: Actor) -> User:
    """Deactivate (signed out, cannot sign in) or reactivate an account."""
    if user.is_active == active:
        return user
    if not active and user.role == "admin" and not _other_admins(db=db, user_id=user.id or 0):
        raise AccountError("This is the last active admin; make another admin first.")
    user.is_active = active
    db.add(user)
    if not active:
        revoke_sessions(db=db, user_id=user.id or 0)
    record(db=db, actor=actor, action="user.activate" if active else "user.deactivate",
           target=f"user:{user.id}", details={"email": user.email})
    db.commit()
    db.refresh(user)
    return user


def _other_admins(*, db: Session, user_id: int) -> bool:
    return (
        db.exec(
            select(User.id).where(
                User.role == "admin", col(User.is_active).is_(True), User.id != user_id
            )
        ).first()
        is not None
    )

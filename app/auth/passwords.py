"""Password hashing (argon2 through pwdlib) and the rules a new password must meet."""

from __future__ import annotations

from pwdlib import PasswordHash

__all__ = ["MIN_PASSWORD_LENGTH", "PasswordTooWeak", "check_password", "hash_password", "verify"]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHash.recommended()
# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("rapport-timing-equaliser")


class PasswordTooWeak(ValueError):
    """A new password that breaks the rules; the message says which."""


def check_password(password: str, *, email: str | None = None) -> str:
    """The password if it may be used, else PasswordTooWeak naming the rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if email and password.strip().lower() == email.strip().lower():
        raise PasswordTooWeak("The password must not be your email address.")
    return password


def hash_password(password: str) -> str:
    """An argon2 hash of the password (salted; the clear text is never stored)."""
    return _hasher.hash(password)


def verify(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, a fresh hash if the stored one uses outdated parameters)."""
    if not password_hash:
        _hasher.verify(password, _DUMMY_HASH)
        return False, None
    return _hasher.verify_and_update(password, password_hash)

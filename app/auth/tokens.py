"""The signed session cookie and the CSRF tokens derived from it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

__all__ = [
    "ANON_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "CookieSigner",
    "new_token",
    "token_digest",
]

SESSION_COOKIE = "rapport_session"
# Carries a random value on the sign-in and set-password pages, so their forms have a CSRF
# token before anyone is signed in.
ANON_COOKIE = "rapport_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def new_token() -> str:
    """A fresh unguessable token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class CookieSigner:
    """Signs session tokens into cookie values and derives CSRF tokens with the secret key."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._serializer = URLSafeTimedSerializer(secret, salt="rapport.session")

    def dumps(self, token: str) -> str:
        """The cookie value for a session token (signed and timestamped)."""
        return self._serializer.dumps(token)

    def loads(self, value: str, *, max_age: int) -> str | None:
        """The session token in a cookie value, or None if forged, mangled or too old."""
        try:
            token = self._serializer.loads(value, max_age=max_age)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        return token if isinstance(token, str) else None

    def csrf_for(self, base: str) -> str:
        """The CSRF token bound to a session (or anonymous) token."""
        return hmac.new(self._secret, b"csrf:" + base.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, base: str, supplied: str | None) -> bool:
        """Whether a supplied CSRF token is the one bound to `base` (constant time)."""
        return bool(supplied) and hmac.compare_digest(self.csrf_for(base), supplied or "")

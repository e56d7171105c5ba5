"""Password hashing (argon2id through pwdlib), run off the event loop a few at a time.

Hashing threads run at a lower CPU priority and rest as long as they work, so a flood of wrong
passwords takes at most half of one core, and students' turns get the CPU first.

The parameters are OWASP's recommended argon2id minimum (19 MiB, 2 passes, 1 lane): one lane
keeps a hash on one core, so sign-ins cannot take the CPU from students mid-session. Hashes
made with older parameters are upgraded at the next successful sign-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "HashingBusy",
    "PasswordHashing",
    "PasswordTooWeak",
    "check_password",
    "hash_password",
    "verify",
]

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHash((Argon2Hasher(memory_cost=19_456, time_cost=2, parallelism=1),))
# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("rapport-timing-equaliser")

T = TypeVar("T")


class PasswordTooWeak(ValueError):
    """A new password that breaks the rules; the message says which."""


class HashingBusy(RuntimeError):
    """Too many password checks are waiting already; the caller should try again shortly."""


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


# How much lower than the server's own threads hashing runs (Linux `nice` steps): when the
# cores are busy, the threads serving turns get them first and sign-ins wait a little. Not the
# idle class, nor nice 19: under those a busy machine held a lone sign-in back for over a second.
_HASH_NICENESS = 10

# A hashing thread rests this many times as long as its last hash took before it starts the
# next one: back-to-back hashes (a flood of guesses) use at most half of one core, while a
# lone sign-in starts at once. On 2 cores the other half is what students' turns, the
# database and the web server's own work need under a flood.
_REST_PER_WORK = 1.0

_thread = threading.local()


def _yield_to_students() -> None:
    """Lower this hashing thread's CPU priority (Linux threads have their own)."""
    # Not Linux, or not permitted: hashing still runs off the event loop, paced, at normal
    # priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _HASH_NICENESS)


def _paced(fn: Callable[..., T], *args: object) -> T:
    """Run `fn` on this hashing thread after its rest from the last hash, then set the next."""
    wait = getattr(_thread, "rest_until", 0.0) - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    started = time.monotonic()
    try:
        return fn(*args)
    finally:
        ended = time.monotonic()
        _thread.rest_until = ended + (ended - started) * _REST_PER_WORK


class PasswordHashing:
    """Runs argon2 on a small pool of its own threads, never on the event loop.

    At most `threads` hashes run at once (argon2 releases the GIL, so they use other cores
    while the loop serves turns), each thread niced and paced to half a core;
    at most `max_waiting` more wait, and beyond that a caller is told HashingBusy instead of
    queueing without end.
    """

    def __init__(self, *, threads: int, max_waiting: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2",
                                        initializer=_yield_to_students)
        self._slots = threading.BoundedSemaphore(threads + max_waiting)

    def _submit(self, fn: Callable[..., T], *args: object):
        if not self._slots.acquire(blocking=False):
            raise HashingBusy("Too many sign-ins at once; try again in a few seconds.")
        future = self._pool.submit(_paced, fn, *args)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """`verify` on the pool, awaited from the event loop."""
        return await asyncio.wrap_future(self._submit(verify, password, password_hash))

    def verify_blocking(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """`verify` on the pool, from a worker thread (a sync route)."""
        return self._submit(verify, password, password_hash).result()

    def hash_blocking(self, password: str) -> str:
        """`hash_password` on the pool, from a worker thread (a sync route)."""
        return self._submit(hash_password, password).result()

    def close(self) -> None:
        """Stop the threads (at app shutdown)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

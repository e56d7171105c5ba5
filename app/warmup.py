"""Warm the analyzer before the first turn, off the event loop.

The analyzer's model, the word-embedding table and each persona's matchable topics load on
first use: left to the first student turn, that turn would hold the event loop (and every
other student) for most of a second. A served worker starts loading them in a thread as soon
as it is up, so /healthz answers at once and the first turn finds them ready.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Iterable

from app.persona import Persona

__all__ = ["release_free_heap", "warm_analysis"]

logger = logging.getLogger("rapport")


def warm_analysis(personas: Iterable[Persona]) -> float:
    """Load the analyzer's model and embeddings and every persona's topics; seconds taken."""
    from app.analysis.learned import load_model
    from app.analysis.semantics import embedder
    from app.client.listen import persona_topics

    started = time.perf_counter()
    try:
        load_model()
        embedder()
        for persona in personas:
            persona_topics(persona)
    except Exception:
        # Not fatal here: the first turn loads them again and reports the problem itself.
        logger.exception("could not warm the analyzer at start-up")
    release_free_heap()
    return time.perf_counter() - started


def release_free_heap() -> bool:
    """Give the C heap's free pages back to the system (glibc only); whether it could.

    Loading the tokenizer parses a 2 MB JSON file in Rust and the model parses its header in
    Python: what they free afterwards stays in the heap, counted in every worker's RSS (about
    13 MB), until malloc_trim returns it.
    """
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        trim = None
    if trim is None:
        return False
    trim(0)
    return True

"""Meaning-level relatedness of two texts from a small static embedding that ships on PyPI.

The vectors are WordLlama's 256-dimension token embeddings (the `wordllama` wheel carries them,
16 MB, with their tokenizer); a text's vector is the normalised mean of its tokens' vectors.
That is crude but fast (tens of microseconds), deterministic and offline, and it is enough to
tell a reflection about what the client said from fluent talk about something else, and to
match a student's question to the topic of a persona's fact when no alias matches.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["Embedder", "embedder", "similarity"]

_WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"
_TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
_BLOCK = 2048  # token rows normalised at a time


class Embedder:
    """Token embeddings and their tokenizer, loaded once per process."""

    def __init__(self, root: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        table = load_file(str(root / _WEIGHTS))["embedding.weight"].astype(np.float16,
                                                                          copy=False)
        # Normalise each token row once, in place and a block at a time: whole-table float32
        # temporaries would leave ~40 MB of heap behind in every worker. Half precision keeps
        # the table at 16 MB.
        for start in range(0, len(table), _BLOCK):
            block = table[start:start + _BLOCK].astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True) + 1e-6
            table[start:start + _BLOCK] = block
        self._table = table
        self._tokenizer = Tokenizer.from_file(str(root / _TOKENIZER))
        self._cache: dict[str, np.ndarray] = {}
        self._words: dict[str, np.ndarray] = {}

    def vector(self, text: str) -> np.ndarray | None:
        """The unit vector of a text, or None when it has no tokens."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return None
        mean = self._table[ids].astype(np.float32).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            return None
        vector = mean / norm
        if len(self._cache) > 4096:  # client turns recur across a session's analyses
            self._cache.clear()
        self._cache[text] = vector
        return vector

    def word_vector(self, word: str) -> np.ndarray:
        """The unit vector of one word: the mean of its own tokens, with no leading-space token
        (" wedding" would add the space token every word shares, and flatten all contrasts)."""
        cached = self._words.get(word)
        if cached is None:
            ids = self._tokenizer.encode(word, add_special_tokens=False).ids
            mean = self._table[ids].astype(np.float32).mean(axis=0)
            cached = mean / (float(np.linalg.norm(mean)) + 1e-6)
            if len(self._words) > 16384:
                self._words.clear()
            self._words[word] = cached
        return cached

    def mean_vector(self, words: Sequence[str]) -> np.ndarray:
        """The unit vector of the mean of some words' vectors (words non-empty)."""
        mean = np.mean([self.word_vector(w) for w in words], axis=0)
        return mean / (float(np.linalg.norm(mean)) + 1e-6)

    def nearest(self, words: Sequence[str], others: Sequence[str]) -> list[float]:
        """For each word, its highest cosine similarity to any of `others` (others non-empty)."""
        table = np.stack([self.word_vector(w) for w in others])
        return [float((table @ self.word_vector(w)).max()) for w in words]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts' vectors (0.0 when either is empty)."""
        va, vb = self.vector(a), self.vector(b)
        if va is None or vb is None:
            return 0.0
        return float(va @ vb)


@lru_cache(maxsize=1)
def embedder() -> Embedder:
    """The process-wide embedder (the wordllama package's files, found without importing it)."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the analyzer needs the 'wordllama' package: pip install wordllama")
    return Embedder(Path(next(iter(spec.submodule_search_locations))))


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts with the shared embedder."""
    return embedder().similarity(a, b)

"""Meaning-level relatedness of two texts from a small static embedding that ships on PyPI.

The vectors are WordLlama's 256-dimension token embeddings (the `wordllama` wheel carries them,
16 MB, with their tokenizer); a text's vector is the normalised mean of its tokens' vectors.
That is crude but fast (tens of microseconds), deterministic and offline, and it is enough to
tell a reflection about what the client said from fluent talk about something else, and to
match a student's question to the topic of a persona's fact when no alias matches.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["Embedder", "embedder", "similarity"]

_WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"
_TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"


class Embedder:
    """Token embeddings and their tokenizer, loaded once per process."""

    def __init__(self, root: Path) -> None:
        from tokenizers import Tokenizer

        self._root = root
        self._table = _TokenRows(root / _WEIGHTS)
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
        mean = self._table.take(ids).mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0.0:
            return None
        vector = mean / norm
        _remember(self._cache, text, vector, _TEXTS_KEPT)
        return vector

    def word_vector(self, word: str) -> np.ndarray:
        """The unit vector of one word: the mean of its own tokens, with no leading-space token
        (" wedding" would add the space token every word shares, and flatten all contrasts)."""
        cached = self._words.get(word)
        if cached is None:
            ids = self._tokenizer.encode(word, add_special_tokens=False).ids
            mean = self._table.take(ids).mean(axis=0)
            cached = mean / (float(np.linalg.norm(mean)) + 1e-6)
            _remember(self._words, word, cached, _WORDS_KEPT)
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


# Vectors kept per worker (1 KB each): a session's recent client turns are embedded again at
# every student turn, and the same words recur; the oldest go first.
_TEXTS_KEPT = 2048
_WORDS_KEPT = 4096


def _remember(cache: dict[str, np.ndarray], key: str, vector: np.ndarray, limit: int) -> None:
    if len(cache) >= limit:
        # Another thread may change the dict meanwhile: then this one simply skips a turn.
        with contextlib.suppress(RuntimeError, StopIteration, KeyError):
            del cache[next(iter(cache))]
    cache[key] = vector


class _TokenRows:
    """The token table's unit rows, read from the file the first time each token is met.

    A worker keeps only the rows of tokens it has seen (a few thousand of 32,000): the whole
    table would be 16 MB of every worker's memory, and a memory map of it is no better, because
    the kernel maps 64 KB around every page touched. Each row is normalised in float32 and kept
    in float16, the precision the file stores.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            spec = json.loads(handle.read(size))["embedding.weight"]
        if spec["dtype"] != "F16":
            raise ValueError(f"{path.name}: expected a float16 table, found {spec['dtype']}")
        rows, self._width = spec["shape"]
        self._start = 8 + size + spec["data_offsets"][0]
        self._row_bytes = self._width * 2
        if path.stat().st_size < self._start + rows * self._row_bytes:
            raise ValueError(f"{path.name}: the table is shorter than its header says")
        self._fd = os.open(path, os.O_RDONLY)
        self._slot = np.full(rows, -1, dtype=np.int32)  # token id -> row of _kept
        self._kept = np.empty((0, self._width), dtype=np.float16)
        self._used = 0
        # Grading threads and the warm-up share the embedder with the event loop.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._used

    def take(self, ids: Sequence[int]) -> np.ndarray:
        """The unit rows of some token ids, as float32 (ids non-empty, within the table)."""
        with self._lock:
            slots = self._slot[ids]
            if (slots < 0).any():
                self._read(np.unique(np.asarray(ids)[slots < 0]))
                slots = self._slot[ids]
            return self._kept[slots].astype(np.float32)

    def _read(self, ids: np.ndarray) -> None:
        raw = b"".join(os.pread(self._fd, self._row_bytes, self._start + int(i) * self._row_bytes)
                       for i in ids)
        block = np.frombuffer(raw, dtype=np.float16).reshape(len(ids), self._width)
        block = block.astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True) + 1e-6
        end = self._used + len(ids)
        if end > len(self._kept):  # grow by half again, so appends stay cheap
            grown = np.empty((max(end, len(self._kept) * 3 // 2, 1024), self._width),
                             dtype=np.float16)
            grown[:self._used] = self._kept[:self._used]
            self._kept = grown
        self._kept[self._used:end] = block
        self._slot[ids] = np.arange(self._used, end, dtype=np.int32)
        self._used = end


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

"""What keeps a worker small must not change a result: token rows read on demand equal the whole
normalised table, phrases matched without a pattern each match as the patterns did, and the
model's hashed feature index finds exactly the names it holds."""

from __future__ import annotations

import random
import re

import numpy as np
from safetensors.numpy import load_file

from app.analysis.semantics import _WEIGHTS, Embedder, embedder
from app.client.listen import _said_whole
from app.warmup import release_free_heap


def _whole_table(root) -> np.ndarray:
    """Every row normalised at once, from safetensors' own reader (the old way)."""
    table = load_file(str(root / _WEIGHTS))["embedding.weight"].astype(np.float32)
    table /= np.linalg.norm(table, axis=1, keepdims=True) + 1e-6
    return table.astype(np.float16).astype(np.float32)


def test_rows_read_on_demand_equal_the_whole_normalised_table() -> None:
    shared = embedder()
    root = shared._root
    fresh = Embedder(root)
    expected = _whole_table(root)
    rng = np.random.default_rng(7)
    for ids in ([3, 3, 9], rng.integers(0, len(expected), 300).tolist(), [0, len(expected) - 1]):
        assert np.array_equal(fresh._table.take(ids), expected[ids])
    # Only what was asked for is kept.
    assert len(fresh._table) <= 305


def test_a_texts_vector_is_the_mean_of_its_tokens_rows() -> None:
    fresh = Embedder(embedder()._root)
    expected = _whole_table(embedder()._root)
    text = "It sounds like the wedding has been weighing on you"
    ids = fresh._tokenizer.encode(text, add_special_tokens=False).ids
    mean = expected[ids].mean(axis=0)
    assert np.array_equal(fresh.vector(text), mean / np.linalg.norm(mean))


def test_whole_word_matching_agrees_with_a_word_boundary_pattern() -> None:
    rng = random.Random(3)
    letters = "ab c'-"
    for _ in range(20000):
        phrase = "".join(rng.choice(letters) for _ in range(rng.randint(1, 3)))
        said = "".join(rng.choice(letters) for _ in range(rng.randint(0, 12)))
        pattern = re.compile(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])")
        assert _said_whole(phrase, said) == bool(pattern.search(said)), (phrase, said)
    assert _said_whole("my dad", "so my dad left")
    assert not _said_whole("dad", "my daddy")


def test_free_heap_is_given_back_on_glibc() -> None:
    assert release_free_heap() is True


def test_the_hashed_feature_index_finds_known_names_and_only_them() -> None:
    from app.analysis.learned import FeatureIndex

    names = [f"b:word{i} next" for i in range(5000)]
    index = FeatureIndex(names)
    assert index.rows(names, len(names)).tolist() == list(range(len(names)))
    assert index.rows(["b:unknown", names[17], ""], 3).tolist() == [-1, 17, -1]
    assert index.get(names[4999]) == 4999 and index.get("nope") == -1
    assert FeatureIndex([]).rows(["a"], 1).tolist() == [-1]

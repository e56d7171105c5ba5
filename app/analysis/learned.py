"""The learned part of the analyzer: linear softmax heads over string features, loaded once.

The model file (``app/analysis/data/analyzer.model``) is written by ``rapport analyzer train``
from the team corpus. Its format is a gzip stream (no timestamp, so the same training gives
the same bytes) holding one JSON header line and then, per head, a little-endian int16 weight
matrix (features × classes) that the header's ``scale`` turns back into floats.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "MODEL_FORMAT", "FeatureIndex", "Head", "LearnedModel", "load_model", "read_model",
    "write_model",
]

MODEL_FORMAT = "rapport-analyzer/2"
MODEL_RESOURCE = "analyzer.model"


class FeatureIndex:
    """Feature name -> row, held as sorted 64-bit string hashes instead of a dict of names.

    A dict of the model's 35,000 names, with its keys and values, was 4 MB of every worker's
    memory; the hashes are 0.4 MB. Python's string hash is salted per process, so the table is
    built at load and never stored. Two known names with one hash are refused at load (the
    caller then keeps a dict); an unknown name taking a known name's hash has a chance of
    about 35,000 in 2**64 per lookup, which is none in practice.
    """

    __slots__ = ("_hashes", "_rows")

    def __init__(self, names: Sequence[str]) -> None:
        hashes = np.fromiter(map(hash, names), dtype=np.int64, count=len(names))
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        self._rows = order.astype(np.int32)
        if len(self._hashes) > 1 and not (np.diff(self._hashes) > 0).all():
            raise ValueError("two feature names share a hash")

    def __len__(self) -> int:
        return len(self._hashes)

    def rows(self, names: Iterable[str], count: int) -> np.ndarray:
        """The row of each name, -1 where the model has none."""
        if not len(self._hashes):
            return np.full(count, -1, dtype=np.int64)
        wanted = np.fromiter(map(hash, names), dtype=np.int64, count=count)
        at = np.minimum(np.searchsorted(self._hashes, wanted), len(self._hashes) - 1)
        return np.where(self._hashes[at] == wanted, self._rows[at], -1).astype(np.int64)

    def get(self, name: str, default: int = -1) -> int:
        """One name's row, or `default`."""
        row = int(self.rows((name,), 1)[0])
        return default if row < 0 else row


@dataclass(frozen=True, slots=True)
class Head:
    """One classifier: classes, the feature index, weights and biases."""

    classes: tuple[str, ...]
    index: Mapping[str, int] | FeatureIndex
    weights: np.ndarray  # float32, (features, classes)
    bias: np.ndarray  # float32, (classes,)
    # With an index shared by every head of a model: its position -> this head's weight row
    # (-1 where this head has none). None when `index` is this head's own.
    local: np.ndarray | None = None

    def rows(self, features: Mapping[str, float]) -> np.ndarray:
        """Each feature's position in the index (-1 if unknown): heads sharing one index can
        look a feature dict up once and pass the result to `probabilities`."""
        if isinstance(self.index, FeatureIndex):
            return self.index.rows(features, len(features))
        get = self.index.get
        return np.fromiter((get(name, -1) for name in features), dtype=np.int64,
                           count=len(features))

    def probabilities(
        self, features: Mapping[str, float], *, rows: np.ndarray | None = None
    ) -> dict[str, float]:
        """Softmax probability of each class for one feature dict (`rows`: its `rows()`)."""
        logits = self.bias.copy()
        if features:
            count = len(features)
            picked = self.rows(features) if rows is None else rows
            values = np.fromiter(features.values(), dtype=np.float32, count=count)
            if self.local is not None:
                picked = np.where(picked >= 0, self.local[picked], -1)
            known = picked >= 0
            if known.any():
                logits += values[known] @ self.weights[picked[known]]
        logits -= logits.max()
        exp = np.exp(logits)
        exp /= exp.sum()
        return dict(zip(self.classes, exp.tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class LearnedModel:
    """Every head of the analyzer's model plus what training recorded about it."""

    heads: Mapping[str, Head]
    meta: Mapping[str, object]
    vocabulary: frozenset[str] = frozenset()  # every word of the training corpus


def write_model(
    path: Path, *, heads: Mapping[str, dict], meta: Mapping[str, object],
    vocabulary: frozenset[str] = frozenset(),
) -> None:
    """Write heads ({classes, features, weights (F×C floats), bias}) to `path`, reproducibly."""
    header: dict[str, object] = {
        "format": MODEL_FORMAT, "meta": dict(meta), "heads": {}, "vocabulary": sorted(vocabulary)
    }
    blobs: list[bytes] = []
    offset = 0
    # In name order, the order the sorted JSON header lists them; each head records where its
    # matrix starts, so reading never depends on the order.
    for name, head in sorted(heads.items()):
        weights = np.asarray(head["weights"], dtype=np.float64)
        peak = float(np.abs(weights).max()) or 1.0
        scale = peak / 32767.0
        quantised = np.round(weights / scale).astype("<i2")
        blobs.append(quantised.tobytes(order="C"))
        header["heads"][name] = {  # type: ignore[index]
            "classes": list(head["classes"]),
            "features": list(head["features"]),
            "bias": [round(float(b), 6) for b in head["bias"]],
            "scale": scale,
            "shape": list(quantised.shape),
            "offset": offset,
        }
        offset += len(blobs[-1])
    payload = json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                              compresslevel=9, filename="") as out:
        out.write(payload)
        for blob in blobs:
            out.write(blob)


def read_model(data: bytes) -> LearnedModel:
    """Parse a model file's bytes."""
    raw = gzip.decompress(data)
    newline = raw.index(b"\n")
    header = json.loads(raw[:newline])
    if header.get("format") != MODEL_FORMAT:
        raise ValueError(f"not a {MODEL_FORMAT} model file (format {header.get('format')!r})")
    start = newline + 1
    # One feature index for all heads: the empathy heads share most of their features with
    # each other and with the behaviour head, and a dict entry per feature per head was
    # several MB of every worker's memory.
    position: dict[str, int] = {}
    for spec in header["heads"].values():
        for feature in spec["features"]:
            position.setdefault(feature, len(position))
    try:
        shared: Mapping[str, int] | FeatureIndex = FeatureIndex(list(position))
    except ValueError:  # two names, one hash (this process's salt): a dict then
        shared = position
    heads: dict[str, Head] = {}
    for name, spec in header["heads"].items():
        rows, cols = spec["shape"]
        matrix = np.frombuffer(raw, dtype="<i2", count=rows * cols, offset=start + spec["offset"])
        local = np.full(len(position), -1, dtype=np.int32)
        local[[position[f] for f in spec["features"]]] = np.arange(rows, dtype=np.int32)
        heads[name] = Head(
            classes=tuple(spec["classes"]),
            index=shared,
            weights=(matrix.reshape(rows, cols).astype(np.float32) * np.float32(spec["scale"])),
            bias=np.asarray(spec["bias"], dtype=np.float32),
            local=local,
        )
    return LearnedModel(
        heads=heads, meta=header["meta"], vocabulary=frozenset(header.get("vocabulary", ()))
    )


@lru_cache(maxsize=1)
def load_model() -> LearnedModel:
    """The shipped model, read from the installed package once per process."""
    from app.analysis.features import FEATURES_VERSION

    data = resources.files("app.analysis").joinpath("data", MODEL_RESOURCE).read_bytes()
    model = read_model(data)
    trained = model.meta.get("features_version")
    if trained != FEATURES_VERSION:
        raise ValueError(
            f"the analyzer model was trained on features version {trained}, but this code "
            f"extracts version {FEATURES_VERSION}: rebuild it with `rapport analyzer train`"
        )
    return model

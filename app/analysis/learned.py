"""The learned part of the analyzer: linear softmax heads over string features, loaded once.

The model file (``app/analysis/data/analyzer.model``) is written by ``rapport analyzer train``
from the team corpus. Its format is a gzip stream (no timestamp, so the same training gives
the same bytes) holding one JSON header line and then, per head, a little-endian int16 weight
matrix (features × classes) that the header's ``scale`` turns back into floats.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["MODEL_FORMAT", "Head", "LearnedModel", "load_model", "read_model", "write_model"]

MODEL_FORMAT = "rapport-analyzer/2"
MODEL_RESOURCE = "analyzer.model"


@dataclass(frozen=True, slots=True)
class Head:
    """One classifier: classes, the feature index, weights and biases."""

    classes: tuple[str, ...]
    index: Mapping[str, int]
    weights: np.ndarray  # float32, (features, classes)
    bias: np.ndarray  # float32, (classes,)
    # With an index shared by every head of a model: its position -> this head's weight row
    # (-1 where this head has none). None when `index` is this head's own.
    local: np.ndarray | None = None

    def probabilities(self, features: Mapping[str, float]) -> dict[str, float]:
        """Softmax probability of each class for one feature dict."""
        get = self.index.get
        rows = [get(name, -1) for name in features]
        logits = self.bias.copy()
        if rows:
            picked = np.fromiter(rows, dtype=np.int64, count=len(rows))
            values = np.fromiter(features.values(), dtype=np.float32, count=len(rows))
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
    shared: dict[str, int] = {}
    for spec in header["heads"].values():
        for feature in spec["features"]:
            shared.setdefault(feature, len(shared))
    heads: dict[str, Head] = {}
    for name, spec in header["heads"].items():
        rows, cols = spec["shape"]
        matrix = np.frombuffer(raw, dtype="<i2", count=rows * cols, offset=start + spec["offset"])
        local = np.full(len(shared), -1, dtype=np.int32)
        local[[shared[f] for f in spec["features"]]] = np.arange(rows, dtype=np.int32)
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

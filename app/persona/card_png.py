"""Character cards inside PNG images, the way role-play tools usually pass them around.

A card PNG is an ordinary picture with the card's JSON, base64-encoded, in a `tEXt` chunk:
keyword `ccv3` for a V3 card, `chara` for the older V2 one (a V3 tool writes both). Only the
chunk structure is read here; the picture itself is never decoded, so a hostile image costs
one pass over its bytes and nothing more.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

__all__ = ["PNG_SIGNATURE", "card_json_from_png", "is_png", "png_with_card"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The V3 keyword first: a file that carries both holds the newer card under it.
_KEYWORDS = (b"ccv3", b"chara")
_MAX_CHUNKS = 10_000


def is_png(raw: bytes) -> bool:
    """Whether the bytes start as a PNG file does."""
    return raw.startswith(PNG_SIGNATURE)


def _chunks(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = len(PNG_SIGNATURE)
    for _ in range(_MAX_CHUNKS):
        if offset + 8 > len(raw):
            raise ValueError("the PNG file ends in the middle of a chunk")
        length, kind = struct.unpack(">I4s", raw[offset:offset + 8])
        end = offset + 8 + length
        if end + 4 > len(raw):
            raise ValueError("the PNG file ends in the middle of a chunk")
        yield kind, raw[offset + 8:end]
        if kind == b"IEND":
            return
        offset = end + 4  # the CRC is not checked: a wrong one spoils the picture, not the card
    raise ValueError("the PNG file has too many chunks")


def card_json_from_png(raw: bytes) -> bytes:
    """The card JSON a PNG carries; ValueError naming the problem when it carries none."""
    if not is_png(raw):
        raise ValueError("not a PNG file")
    found: dict[bytes, bytes] = {}
    for kind, data in _chunks(raw):
        if kind != b"tEXt" or b"\0" not in data:
            continue
        keyword, _, text = data.partition(b"\0")
        if keyword.lower() in _KEYWORDS:
            found.setdefault(keyword.lower(), text)
    for keyword in _KEYWORDS:
        if keyword in found:
            try:
                return base64.b64decode(found[keyword], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"the PNG's '{keyword.decode()}' text is not base64") from None
    raise ValueError("the PNG image carries no character card (no 'ccv3' or 'chara' text)")


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _encoded(card: dict[str, Any]) -> bytes:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8"))


def png_with_card(card: dict[str, Any], *, width: int = 400, height: int = 600,
                  colour: tuple[int, int, int] = (0x2F, 0x5D, 0x62)) -> bytes:
    """A plain one-colour PNG carrying a V3 card under `ccv3` and, for older tools, the same
    data as a V2 card under `chara` (as V3 tools write it)."""
    row = b"\0" + bytes(colour) * width  # filter byte 0, then RGB pixels
    pixels = zlib.compress(row * height, 9)
    older = {**card, "spec": "chara_card_v2", "spec_version": "2.0"}
    return b"".join([
        PNG_SIGNATURE,
        _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        _chunk(b"tEXt", b"chara\0" + _encoded(older)),
        _chunk(b"tEXt", b"ccv3\0" + _encoded(card)),
        _chunk(b"IDAT", pixels),
        _chunk(b"IEND", b""),
    ])

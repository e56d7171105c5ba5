"""Quote verification: a quote counts only if it is (nearly) verbatim in the turn it names.

Models and people retype quotes with straightened or curled quote marks, collapsed spaces and
a trailing "..."; those differences are forgiven. Anything else (a paraphrase, a word changed)
is not. A verified quote is always returned as the exact span of the turn, so what we store is
a verbatim substring even when the model's copy was not.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["find_quote", "first_sentence", "sentence_around", "sentence_containing"]

# Every variant of a quote mark or apostrophe maps to its plain ASCII form.
_QUOTE_MARKS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
# Wrapping a model may add around a quote: quote marks, ellipses, spaces.
_WRAPPING = " \t\r\n\"'…"
_ELLIPSIS = re.compile(r"^(?:\.\.\.|…)\s*|\s*(?:\.\.\.|…)$")
_SENTENCE = re.compile(r"[^.!?…]+(?:[.!?…]+[\"'\u201d\u2019)]*|$)")
MAX_QUOTE_CHARS = 240


@lru_cache(maxsize=2048)
def _normalise(text: str) -> tuple[str, tuple[int, ...]]:
    """Normalised text and, for each of its characters, the index it came from in `text`.

    Cached: a grade looks for many quotes in the same few turns.
    """
    out: list[str] = []
    index: list[int] = []
    previous_space = True  # drops leading whitespace
    for i, char in enumerate(text.translate(_QUOTE_MARKS)):
        if char.isspace():
            if previous_space:
                continue
            out.append(" ")
            index.append(i)
            previous_space = True
        else:
            out.append(char)
            index.append(i)
            previous_space = False
    if out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), tuple(index)


def _clean_quote(quote: str) -> str:
    """Strip what models wrap around quotes: marks, spaces and a leading/trailing ellipsis."""
    previous = None
    cleaned = quote
    while cleaned != previous:
        previous = cleaned
        cleaned = _ELLIPSIS.sub("", cleaned.strip(_WRAPPING).translate(_QUOTE_MARKS))
        cleaned = cleaned.strip(_WRAPPING)
    return cleaned


def find_quote(quote: str, turn_text: str) -> str | None:
    """The verbatim span of `turn_text` that `quote` copies, or None if it is not there.

    Matching forgives differences in whitespace and quote marks only; case and wording must
    match. Very short quotes (under 3 characters) never verify: they prove nothing.
    """
    wanted, _ = _normalise(_clean_quote(quote))
    haystack, index = _normalise(turn_text)
    at = haystack.find(wanted) if len(wanted) >= 3 else -1
    if at < 0:
        # A model often ends a quote with a full stop the speaker never typed.
        wanted = wanted.rstrip(".,;:!? ")
        at = haystack.find(wanted) if len(wanted) >= 3 else -1
    if at < 0:
        return None
    start = index[at]
    end = index[at + len(wanted) - 1] + 1
    return turn_text[start:end]


def _sentences(text: str) -> list[str]:
    return [m.group(0).strip() for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def _clip(span: str) -> str:
    """Shorten a long span at a word boundary; the result stays a verbatim prefix."""
    if len(span) <= MAX_QUOTE_CHARS:
        return span
    cut = span[:MAX_QUOTE_CHARS]
    space = cut.rfind(" ")
    return cut[:space] if space > MAX_QUOTE_CHARS // 2 else cut


def first_sentence(text: str) -> str:
    """The first sentence of a turn, verbatim (clipped if very long)."""
    sentences = _sentences(text)
    return _clip(sentences[0] if sentences else text.strip())


def sentence_containing(text: str, *patterns: re.Pattern[str]) -> str | None:
    """The first sentence of `text` whose lower-cased words match one of `patterns`
    (verbatim, clipped), or None."""
    for sentence in _sentences(text):
        lowered = sentence.lower()
        if any(pattern.search(lowered) for pattern in patterns):
            return _clip(sentence)
    return None


def sentence_around(text: str, span: str) -> str:
    """The sentence of `text` that contains `span` (both verbatim); `span` if none does."""
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if span in sentence:
            return _clip(sentence)
    return span

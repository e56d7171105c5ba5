"""The `llm` engine: any OpenAI-compatible chat server voices the client, inside the state's limits.

One reply is: build the messages (``prompt.py``; locked layers are never in them), stream the
model's tokens to the student as deltas, then run the role guard (``guard.py``) on the whole
reply. A rejected reply is regenerated once with a correction and, if that fails too, replaced
by the scripted engine's line for the same plan; either way one ``replace`` event swaps the
shown text. Every failure becomes an `EngineError` with a message a student can act on; the
engine only yields, so a half reply is never committed (the caller commits on ``done``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import httpx2
import openai

from app.client.engine import EngineError, ReplyEvent, ReplyRequest, setup_error
from app.client.guard import GuardEvent, check_reply, clean_reply, correction_for
from app.client.prompt import HISTORY_CHARS, HISTORY_TURNS, build_messages
from app.client.scripted import ScriptedEngine
from app.config import Settings

__all__ = ["OPENAI_BASE_URL", "LLMEngine"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Stands in for a key when a self-hosted server (llama.cpp, Ollama, vLLM) needs none; the SDK
# refuses to build a client without one.
_NO_KEY = "no-key-needed"
_CHECK_TIMEOUT = 5.0
# Everything up to the last sentence end (allowing a closing quote or bracket after it).
_COMPLETE = re.compile(r"^.*[.!?…][\"'\u201d)]?", re.DOTALL)


@dataclass(slots=True)
class _Attempt:
    """What one streamed completion produced."""

    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    first_token_at: float | None = None
    parts: list[str] = field(default_factory=list)


class LLMEngine:
    """Client engine over an OpenAI-compatible chat-completions server."""

    name = "llm"

    def __init__(
        self,
        *,
        settings: Settings,
        http_client: httpx2.AsyncClient | None = None,
        name: str = "llm",
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        demo_quality: bool = False,
        history_window: int = HISTORY_TURNS,
        history_chars: int = HISTORY_CHARS,
    ) -> None:
        self.name = name
        self.model = model or settings.llm_model
        self.demo_quality = demo_quality
        self._settings = settings
        self._history_window = history_window
        self.history_turns = history_window + 2
        self._history_chars = history_chars
        self.base_url = base_url or settings.llm_base_url or OPENAI_BASE_URL
        key = api_key or (settings.llm_api_key.get_secret_value() if settings.llm_api_key else None)
        # Only OpenAI itself certainly needs a key; self-hosted servers usually take any.
        self._missing_key = key is None and self.base_url == OPENAI_BASE_URL
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=key or _NO_KEY,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_retries,
            http_client=http_client,
        )
        # Flipped off when a server rejects `stream_options`; usage is then reported as None.
        self._ask_usage = True

    async def aclose(self) -> None:
        """Release the HTTP connection pool."""
        await self._client.close()

    async def check(self) -> str | None:
        """A start-up check: None when the server answers, else what is wrong and how to fix it."""
        if self._missing_key:
            return _missing_key_message()
        probe = self._client.with_options(timeout=_CHECK_TIMEOUT, max_retries=0)
        try:
            await probe.models.list()
        except openai.AuthenticationError:
            return (
                f"The model server at {self.base_url} refused the API key: set "
                "RAPPORT_LLM_API_KEY (or OPENAI_API_KEY) to a valid key."
            )
        except openai.NotFoundError:
            return None  # some servers have no /models; chat may still work
        except openai.APIConnectionError:
            return (
                f"Cannot reach the model server at {self.base_url}: start it, or set "
                "RAPPORT_LLM_BASE_URL (or OPENAI_BASE_URL) to where it listens."
            )
        except openai.APIStatusError as exc:
            return f"The model server at {self.base_url} answered {exc.status_code}: {_brief(exc)}"
        return None

    async def reply(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """Stream the model's reply, guard it, and end with `done` carrying the accounting."""
        if self._missing_key:
            raise setup_error(_missing_key_message())
        started = time.perf_counter()
        messages = self._messages(request)
        first = _Attempt()
        async for piece in self._stream(messages, first):
            yield ReplyEvent(kind="delta", text=piece)
        attempts = [first]

        text = _tidy(first, request)
        guard_events: list[dict[str, str]] = []
        events = check_reply(text, persona=request.persona, state=request.state, plan=request.plan)
        outcome = "model"
        if events:
            guard_events += [e.as_meta(action="regenerate") for e in events]
            text, outcome = await self._second_try(request, events, attempts, guard_events)
        if text != first.text.strip():
            yield ReplyEvent(kind="replace", text=text)

        ended = time.perf_counter()
        first_at = first.first_token_at or ended
        yield ReplyEvent(
            kind="done",
            text=text,
            meta={
                "engine": self.name,
                "model": self.model,
                "ttft_ms": round((first_at - started) * 1000, 3),
                "total_ms": round((ended - started) * 1000, 3),
                "prompt_tokens": _total(a.prompt_tokens for a in attempts),
                "completion_tokens": _total(a.completion_tokens for a in attempts),
                "guard_events": guard_events,
                "attempts": len(attempts),
                "outcome": outcome,
                "finish_reason": attempts[-1].finish_reason,
            },
        )

    def _messages(self, request: ReplyRequest, correction: str | None = None) -> list[dict]:
        return build_messages(
            request,
            history_window=self._history_window,
            history_chars=self._history_chars,
            correction=correction,
        )

    async def _second_try(
        self,
        request: ReplyRequest,
        events: list[GuardEvent],
        attempts: list[_Attempt],
        guard_events: list[dict[str, str]],
    ) -> tuple[str, str]:
        """Regenerate once with a correction; fall back to the scripted line if that fails."""
        correction = correction_for(events, persona=request.persona)
        retry = _Attempt()
        attempts.append(retry)
        try:
            async for _ in self._stream(self._messages(request, correction), retry):
                pass  # the student already saw a stream; the replacement arrives whole
        except EngineError as exc:
            # The first reply was unusable and the model is now failing: the persona's own
            # words keep the session going rather than losing the turn.
            guard_events.append(
                {"kind": "regenerate_failed", "detail": exc.operator, "action": "fallback"}
            )
            return await _fallback(request), "fallback"
        text = _tidy(retry, request)
        again = check_reply(text, persona=request.persona, state=request.state, plan=request.plan)
        if not again:
            return text, "regenerated"
        guard_events += [e.as_meta(action="fallback") for e in again]
        return await _fallback(request), "fallback"

    async def _stream(self, messages: list[dict], out: _Attempt) -> AsyncIterator[str]:
        """Yield content pieces of one streamed completion; fill `out`; raise EngineError."""
        try:
            stream = await self._open(messages)
            async with stream:
                async for chunk in stream:
                    for piece in _read_chunk(chunk, out):
                        if out.first_token_at is None:
                            out.first_token_at = time.perf_counter()
                        out.parts.append(piece)
                        yield piece
        except openai.APIError as exc:
            raise _engine_error(
                exc, base_url=self.base_url, model=self.model, partial=bool(out.parts)
            ) from exc
        except (json.JSONDecodeError, _MalformedChunk) as exc:
            raise EngineError(
                "The model server sent a reply Rapport could not read. Retry; if it keeps "
                "happening, check that the server speaks the OpenAI chat API.",
                retryable=True,
            ) from exc
        out.text = "".join(out.parts)
        if out.finish_reason is None:
            raise EngineError(
                "The model server stopped partway through the reply. Retry to ask again.",
                retryable=True,
            )

    async def _open(self, messages: list[dict]) -> openai.AsyncStream:
        """Start a streamed completion, asking for usage where the server allows it."""
        params: dict = {
            "model": self.model,
            "messages": messages,
            "temperature": self._settings.llm_temperature,
            "max_tokens": self._settings.llm_max_tokens,
            "stream": True,
        }
        if self._ask_usage:
            try:
                return await self._post({**params, "stream_options": {"include_usage": True}})
            except openai.BadRequestError as exc:
                if "stream_options" not in str(exc):
                    raise
                self._ask_usage = False  # an older server; ask without, report usage as None
        return await self._post(params)

    async def _post(self, body: dict) -> openai.AsyncStream:
        """POST /chat/completions with `body` as it is, streamed.

        `chat.completions.create` first walks the whole body against the SDK's typed
        parameters, a few milliseconds for a long history, before it sends anything, and all
        of it in front of the first token; the body here is already plain JSON, so it is sent
        as it is, through the same client (its retries, timeout and error mapping). Chunks
        come back as the plain JSON objects the server sent: building the SDK's typed chunk
        for each of a reply's tens of tokens was most of a turn's CPU.
        """
        return await self._client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )


class _MalformedChunk(ValueError):
    """A streamed chunk without the shape of an OpenAI chat-completion chunk."""


def _read_chunk(chunk: object, out: _Attempt) -> list[str]:
    """Content pieces of one chunk (a JSON object); records usage and the finish reason."""
    if not isinstance(chunk, dict):
        raise _MalformedChunk("chunk is not a JSON object")
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.prompt_tokens = _count(usage.get("prompt_tokens"))
        out.completion_tokens = _count(usage.get("completion_tokens"))
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        raise _MalformedChunk("chunk without a choices list")
    pieces: list[str] = []
    for choice in choices:
        if not isinstance(choice, dict):
            raise _MalformedChunk("a choice is not a JSON object")
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if content:
            if not isinstance(content, str):
                raise _MalformedChunk("chunk content is not text")
            pieces.append(content)
        if finish := choice.get("finish_reason"):
            out.finish_reason = str(finish)
    return pieces


def _count(value: object) -> int | None:
    """A token count as reported, or None for anything but a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tidy(attempt: _Attempt, request: ReplyRequest) -> str:
    """The attempt's text without labels or wrapping quotes, and without a sentence cut short.

    A reply stopped by max_tokens ends mid-word; keeping its complete sentences reads better
    than the fragment, and the guard then judges what would actually be committed.
    """
    text = clean_reply(attempt.text, persona=request.persona)
    if attempt.finish_reason == "length":
        whole = _COMPLETE.match(text)
        if whole:
            text = whole.group(0).strip()
    return text


async def _fallback(request: ReplyRequest) -> str:
    """The scripted engine's line for this plan: exactly what it would have said instead."""
    async for event in ScriptedEngine().reply(request):
        if event.kind == "done" and event.text.strip():
            return event.text
    return request.persona.reactions.heard[0]


def _total(values: Iterable[int | None]) -> int | None:
    """Sum of token counts, or None if any attempt went unreported (never an estimate)."""
    numbers = list(values)
    if not numbers or any(v is None for v in numbers):
        return None
    return sum(numbers)


def _missing_key_message() -> str:
    return (
        "No API key for the model server: set RAPPORT_LLM_API_KEY (or OPENAI_API_KEY), or "
        "point RAPPORT_LLM_BASE_URL at a self-hosted server."
    )


def _brief(exc: openai.APIStatusError) -> str:
    """The server's own error message, kept short."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or exc.message)[:200]


def _engine_error(exc: openai.APIError, *, base_url: str, model: str, partial: bool) -> EngineError:
    """A student-facing EngineError for an SDK error."""
    if isinstance(exc, openai.APITimeoutError):
        return EngineError(
            "The model server took too long to answer. Retry in a moment.", retryable=True
        )
    if isinstance(exc, openai.APIConnectionError):
        if partial:
            return EngineError(
                "The connection to the model server dropped partway through the reply. "
                "Retry to ask again.",
                retryable=True,
            )
        return EngineError(
            "The server that voices the client is not answering. Retry in a moment; if it "
            "keeps happening, tell your course team.",
            retryable=True,
            operator=f"Cannot reach the model server at {base_url}: check that it is running "
            "and that RAPPORT_LLM_BASE_URL points at it.",
        )
    if isinstance(exc, openai.AuthenticationError):
        return setup_error(
            f"The model server at {base_url} refused the API key: set RAPPORT_LLM_API_KEY "
            "(or OPENAI_API_KEY) to a valid key."
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return setup_error(
            f"The model server denied access to model {model!r}: check the key's permissions."
        )
    if isinstance(exc, openai.NotFoundError):
        return setup_error(
            f"The model server has no model {model!r}: set RAPPORT_LLM_MODEL to one it serves."
        )
    if isinstance(exc, openai.RateLimitError):
        return EngineError(
            "The model server is busy (rate limited). Wait a few seconds, then retry.",
            retryable=True,
        )
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return EngineError(
                f"The model server had an internal error ({exc.status_code}). Retry in a moment.",
                retryable=True,
            )
        return setup_error(
            f"The model server rejected the request ({exc.status_code}): {_brief(exc)}"
        )
    # An error event inside the stream (no HTTP status): the server gave up mid-reply.
    return EngineError(
        f"The model server reported an error mid-reply: {str(exc.message)[:200]}. Retry.",
        retryable=True,
    )

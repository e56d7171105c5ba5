"""A fake OpenAI-compatible chat server speaking real HTTP/1.1 on 127.0.0.1, for tests and benches.

It runs its own asyncio loop in a thread, so the code under test uses the real `openai` client
over a real socket. Replies are queued per test (`enqueue`); failures are scripted the same way
(401, 429, 5xx, a slow answer, a stream cut halfway, a malformed chunk, a stream that just stops).
Every request body is recorded so tests can inspect exactly what a model would have been sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FakeOpenAI",
    "Recorded",
    "Script",
    "cut",
    "failure",
    "free_port",
    "malformed",
    "no_finish",
    "odd_chunk",
    "reply",
]

Kind = Literal["reply", "status", "cut", "malformed", "odd", "no_finish"]
_TOKEN = re.compile(r"\s*\S+")


@dataclass(frozen=True, slots=True)
class Script:
    """What the server does with the next chat request."""

    kind: Kind = "reply"
    text: str = ""
    status: int = 200
    message: str = ""
    delay: float = 0.0
    usage: bool = True
    retry_after_ms: int | None = None
    finish: str = "stop"


def reply(text: str, *, delay: float = 0.0, usage: bool = True, finish: str = "stop") -> Script:
    """A normal reply (streamed word by word when the request streams)."""
    return Script(text=text, delay=delay, usage=usage, finish=finish)


def failure(status: int, message: str = "", *, retry_after_ms: int | None = 5) -> Script:
    """An HTTP error with an OpenAI-style JSON error body."""
    return Script(
        kind="status",
        status=status,
        message=message or f"fake error {status}",
        retry_after_ms=retry_after_ms,
    )


def cut(text: str) -> Script:
    """Stream the first half of `text`, then drop the connection mid-body."""
    return Script(kind="cut", text=text)


def malformed(text: str) -> Script:
    """Stream the first half of `text`, then a chunk that is not JSON."""
    return Script(kind="malformed", text=text)


def odd_chunk(text: str) -> Script:
    """Stream the first half of `text`, then valid JSON that is not a chat chunk."""
    return Script(kind="odd", text=text)


def no_finish(text: str) -> Script:
    """Stream all of `text` but end the body cleanly with no finish_reason and no [DONE]."""
    return Script(kind="no_finish", text=text)


@dataclass(slots=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict = field(default_factory=dict)


def free_port() -> int:
    """A port nobody listens on right now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeOpenAI:
    """The server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        default_reply: str = "I dunno. It's been a lot.",
        first_token_delay: float = 0.0,
        token_interval: float = 0.0,
        api_key: str | None = None,
        model: str = "fake-model",
    ) -> None:
        self.default_reply = default_reply
        self.first_token_delay = first_token_delay
        self.token_interval = token_interval
        self.api_key = api_key
        self.model = model
        self.requests: list[Recorded] = []
        self._queue: deque[Script] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # -- control, from the test's thread -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, with /v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_bodies(self) -> list[dict]:
        """Every chat-completions request body received so far."""
        return [r.body for r in list(self.requests) if r.path.endswith("/chat/completions")]

    def enqueue(self, *items: Script | str) -> None:
        """Queue what the next chat requests get, in order; plain strings are replies."""
        with self._lock:
            self._queue.extend(reply(i) if isinstance(i, str) else i for i in items)

    def start(self, *, port: int = 0) -> FakeOpenAI:
        """Start serving (on `port`, or a free one); returns once the socket listens."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", port, reuse_address=True)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)
        loop.close()
        self._loop = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving, on the server's loop ---------------------------------------------------------

    def _next(self) -> Script:
        with self._lock:
            return self._queue.popleft() if self._queue else reply(self.default_reply)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request_line = await reader.readline()
                if not request_line.strip():
                    break
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                raw = await reader.readexactly(length) if length else b""
                body = json.loads(raw) if raw else {}
                path = target.split("?", 1)[0]
                self.requests.append(Recorded(method, path, headers, body))
                if not await self._dispatch(method, path, headers, body, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away (e.g. after a timeout); nothing to answer
        except asyncio.CancelledError:
            # stop() cancels open connections; ending quietly spares Python 3.11's stream
            # callback from logging the cancellation as an error.
            pass
        finally:
            writer.close()

    async def _dispatch(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request; False means close the connection."""
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            await self._json(writer, 401, _error("Incorrect API key provided.", "invalid_api_key"))
            return True
        if method == "GET" and path.endswith("/models"):
            data = [{"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}]
            await self._json(writer, 200, {"object": "list", "data": data})
            return True
        if method == "POST" and path.endswith("/chat/completions"):
            return await self._chat(body, writer)
        await self._json(writer, 404, _error(f"no route {method} {path}", "not_found"))
        return True

    async def _chat(self, body: dict, writer: asyncio.StreamWriter) -> bool:
        script = self._next()
        if script.delay:
            await asyncio.sleep(script.delay)
        if script.kind == "status":
            extra = {}
            if script.retry_after_ms is not None:
                extra["retry-after-ms"] = str(script.retry_after_ms)
            await self._json(writer, script.status, _error(script.message, "fake"), extra)
            return True
        tokens = _TOKEN.findall(script.text)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": script.text}
            await self._json(
                writer,
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": self.model,
                    "choices": [{"index": 0, "message": message, "finish_reason": script.finish}],
                    "usage": usage if script.usage else None,
                },
            )
            return True
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
        )
        await writer.drain()
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        half = len(tokens) // 2 if script.kind in ("cut", "malformed", "odd") else len(tokens)
        for i, token in enumerate(tokens[:half]):
            if i and self.token_interval:
                await asyncio.sleep(self.token_interval)
            await _event(writer, self._chunk({"role": "assistant", "content": token}, None))
        if script.kind == "cut":
            writer.transport.abort()
            return False
        if script.kind == "malformed":
            await _send(writer, b'data: {"choices": [{"delta": {"content": "oops\n\n')
        if script.kind == "odd":
            await _send(writer, b'data: {"unexpected": true}\n\n')
        if script.kind == "no_finish":
            await _send(writer, b"")
            return True
        await _event(writer, self._chunk({}, script.finish))
        include_usage = (body.get("stream_options") or {}).get("include_usage")
        if include_usage and script.usage:
            await _event(writer, {**self._chunk({}, None), "choices": [], "usage": usage})
        await _send(writer, b"data: [DONE]\n\n")
        await _send(writer, b"")
        return True

    def _chunk(self, delta: dict, finish: str | None) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    async def _json(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: dict,
        extra: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "content-type: application/json",
            f"content-length: {len(data)}",
        ]
        head.extend(f"{k}: {v}" for k, v in (extra or {}).items())
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _error(message: str, code: str) -> dict:
    return {"error": {"message": message, "type": "fake_error", "code": code, "param": None}}


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    """Write one HTTP chunk (an empty one ends the body)."""
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _event(writer: asyncio.StreamWriter, payload: dict) -> None:
    await _send(writer, f"data: {json.dumps(payload)}\n\n".encode())

"""Baseline for bench/turns.py: a bare FastAPI `async def` echo, served the same way as Rapport.

`/echo` answers JSON; `/echo/sse` answers the same text as a few Server-Sent Events, the
shape of Rapport's streamed reply (student, one delta per word, done).
"""

import json

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

app = FastAPI()


class Message(BaseModel):
    text: str


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness probe, like Rapport's."""
    return {"status": "ok"}


@app.post("/echo")
async def echo(message: Message) -> dict[str, str]:
    """Answer with the text it was sent."""
    return {"text": message.text}


@app.post("/echo/sse")
async def echo_sse(message: Message) -> StreamingResponse:
    """Answer with the text it was sent, as events: student, one delta a word, done."""

    async def events():
        yield f"event: student\ndata: {json.dumps({'text': message.text})}\n\n".encode()
        for word in message.text.split():
            yield f"event: delta\ndata: {json.dumps({'text': word + ' '})}\n\n".encode()
        yield f"event: done\ndata: {json.dumps({'text': message.text})}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream")

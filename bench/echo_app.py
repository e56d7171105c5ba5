"""Baseline for bench/turns.py: a bare FastAPI JSON echo, served the same way as Rapport."""

from fastapi import FastAPI
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

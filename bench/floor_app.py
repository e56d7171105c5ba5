"""The durable-write floor for bench/turns.py: the least a turn can cost on SQLite.

One bare FastAPI `async def` route per turn does what a turn must: two reads (the session, its
last turns) and two committed inserts (the student's turn, then the client's reply) in a WAL
database with Rapport's own pragmas. No ORM, no analysis, no middleware: whatever Rapport
spends above this is overhead a faster path could remove. The database lives in
BENCH_FLOOR_DB (default: floor.db in the working folder).
"""

import json
import os
import sqlite3

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

app = FastAPI()
_db = sqlite3.connect(os.environ.get("BENCH_FLOOR_DB", "floor.db"), check_same_thread=False)
_db.execute("PRAGMA journal_mode=WAL")
_db.execute("PRAGMA synchronous=NORMAL")
_db.executescript(
    """
    CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, persona TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS turns (
        id INTEGER PRIMARY KEY, session_id TEXT NOT NULL, idx INTEGER NOT NULL,
        speaker TEXT NOT NULL, text TEXT NOT NULL, state TEXT,
        UNIQUE (session_id, idx));
    """
)


class Message(BaseModel):
    text: str


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness probe, like Rapport's."""
    return {"status": "ok"}


@app.post("/sessions/{session_id}")
async def open_session(session_id: str) -> dict[str, str]:
    """Create a session with its opening turn (not timed by the benchmark)."""
    _db.execute("INSERT OR IGNORE INTO sessions VALUES (?, 'bench')", (session_id,))
    _db.execute("INSERT OR IGNORE INTO turns (session_id, idx, speaker, text) "
                "VALUES (?, 0, 'client', 'Hello.')", (session_id,))
    _db.commit()
    return {"id": session_id}


def _turn(session_id: str, text: str) -> dict:
    """Two reads and two committed inserts, as a turn needs at the least."""
    _db.execute("SELECT id, persona FROM sessions WHERE id = ?", (session_id,)).fetchone()
    last = _db.execute(
        "SELECT idx, speaker, text, state FROM turns WHERE session_id = ? "
        "ORDER BY idx DESC LIMIT 30", (session_id,)
    ).fetchall()
    index = last[0][0] + 1 if last else 0
    _db.execute("INSERT INTO turns (session_id, idx, speaker, text) VALUES (?, ?, 'counsellor', ?)",
                (session_id, index, text))
    _db.commit()
    reply = "I hear you."
    _db.execute("INSERT INTO turns (session_id, idx, speaker, text, state) "
                "VALUES (?, ?, 'client', ?, ?)",
                (session_id, index + 1, reply, json.dumps({"trust": 0.5})))
    _db.commit()
    return {"index": index, "reply": reply}


@app.post("/sessions/{session_id}/turns")
async def turn(session_id: str, message: Message) -> dict:
    """One turn answered as JSON."""
    return _turn(session_id, message.text)


@app.post("/sessions/{session_id}/turns/sse")
async def turn_sse(session_id: str, message: Message) -> StreamingResponse:
    """One turn answered as events: student, one delta a word, done."""
    result = _turn(session_id, message.text)

    async def events():
        yield f"event: student\ndata: {json.dumps({'text': message.text})}\n\n".encode()
        for word in result["reply"].split():
            yield f"event: delta\ndata: {json.dumps({'text': word + ' '})}\n\n".encode()
        yield f"event: done\ndata: {json.dumps(result)}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream")

"""Time Rapport's llm engine adds in front of the model, through the HTTP API a student uses.

A fake OpenAI-compatible server (bench/fake_model_server.py, in its own process) streams every
reply with a fixed first-token delay and token rate. Rapport runs as shipped (`rapport serve`,
the llm engine, SQLite), in its own process. Request by request, alternately, the bench times

* (a) a direct call to the fake with ready-made messages, three ways: a plain httpx stream
  reading the SSE lines itself, the `openai` client's own `post` (the call Rapport makes), and
  `chat.completions.create` (which first walks the body against the SDK's typed parameters,
  milliseconds for a long history); the fastest of the three (by median) is the baseline, so
  no client-side cost Rapport could avoid is counted in its favour, and
* (b) a student's message POSTed to Rapport's API as Server-Sent Events, to the first `delta`
  event: the HTTP request, the session read, the analysis and plan, the student turn's
  commit, prompt building and the engine's streaming, all of it;

so the added time to first token is (b) - (a), as medians and paired with the baseline.
Rapport's CPU per turn is read from /proc/<pid>/stat beside it. Last, every shipped persona
holds a short scripted session and the fake's recorded requests give the share of each prompt
that is a byte-identical prefix of the previous turn's prompt (what an upstream prefix cache
can reuse). The machine is shared: expect 10-30 % noise.

    python -m bench.llm_overhead [--requests 60] [--first-token-ms 40] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import tree_cpu_seconds  # noqa: E402
from bench.turns import LINES  # noqa: E402
from tests.support import ServerProcess, free_port  # noqa: E402

Timed = tuple[float, float]  # (time to first token, total), seconds


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _body(messages: list[dict]) -> dict:
    return {"model": "fake-model", "messages": messages, "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": 200, "temperature": 0.7}


async def _sdk_create(client: openai.AsyncOpenAI, messages: list[dict]) -> Timed:
    """The SDK as most callers use it: `create` walks the body against its typed parameters."""
    started = time.perf_counter()
    return await _read_sdk(await client.chat.completions.create(**_body(messages)), started)


async def _sdk_post(client: openai.AsyncOpenAI, messages: list[dict]) -> Timed:
    """The SDK's own `post` with the plain body, as app.client.llm sends it."""
    started = time.perf_counter()
    stream = await client.post(
        "/chat/completions", body=_body(messages), cast_to=ChatCompletion, stream=True,
        stream_cls=openai.AsyncStream[ChatCompletionChunk],
    )
    return await _read_sdk(stream, started)


async def _read_sdk(stream: openai.AsyncStream[ChatCompletionChunk], started: float) -> Timed:
    """Read an SDK stream to its end, noting when the first content arrived."""
    first = None
    async with stream:
        async for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter()
    ended = time.perf_counter()
    return (first or ended) - started, ended - started


async def _plain(http: httpx.AsyncClient, messages: list[dict]) -> Timed:
    """No SDK at all: POST the body, read the SSE lines, parse each chunk's JSON."""
    started = time.perf_counter()
    first = None
    async with http.stream("POST", "/v1/chat/completions", json=_body(messages)) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices") or []
                if choices and choices[0].get("delta", {}).get("content"):
                    first = time.perf_counter()
    ended = time.perf_counter()
    return (first or ended) - started, ended - started


async def _http_first_delta(http: httpx.AsyncClient, session_id: str, text: str) -> Timed:
    """POST a message as SSE; time to the first delta and to the end of the stream."""
    started = time.perf_counter()
    first = None
    async with http.stream(
        "POST", f"/api/sessions/{session_id}/turns", json={"text": text},
        headers={"Accept": "text/event-stream"},
    ) as response:
        async for line in response.aiter_lines():
            if first is None and line.startswith("event: delta"):
                first = time.perf_counter()
    ended = time.perf_counter()
    return (first or ended) - started, ended - started


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def prompt_text(body: dict) -> str:
    """A chat request's messages as the characters a server tokenises, in order."""
    return "".join(f"<{m['role']}>{m['content']}" for m in body["messages"])


async def prefix_shares(http: httpx.AsyncClient, fake_url: str, turns: int) -> dict[str, float]:
    """Per shipped persona: the smallest prefix share over turns 3.. of a scripted session."""
    personas = [p["id"] for p in (await http.get("/api/personas")).json()]
    shares: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=fake_url, timeout=30) as fake:
        for persona in personas:
            await fake.delete("/_recorded")
            created = await http.post("/api/sessions", json={"persona_id": persona,
                                                             "engine": "llm"})
            sid = created.json()["id"]
            for i in range(turns):
                await _http_first_delta(http, sid, LINES[i % len(LINES)])
            bodies = (await fake.get("/_recorded")).json()
            # The guard may regenerate a reply: keep the first request of each turn.
            firsts = [prompt_text(b) for b in bodies
                      if "## Correction" not in json.dumps(b["messages"])]
            per_turn = [common_prefix(firsts[k - 1], firsts[k]) / len(firsts[k])
                        for k in range(2, len(firsts))]
            shares[persona] = min(per_turn) if per_turn else float("nan")
    return shares


async def measure(args: argparse.Namespace, rapport: ServerProcess, fake_url: str) -> dict:
    sdk = openai.AsyncOpenAI(base_url=f"{fake_url}/v1", api_key="bench", max_retries=0)
    plain_http = httpx.AsyncClient(base_url=fake_url, timeout=30)
    ways = {
        "plain httpx": lambda m: _plain(plain_http, m),
        "SDK post": lambda m: _sdk_post(sdk, m),
        "SDK create": lambda m: _sdk_create(sdk, m),
    }
    async with httpx.AsyncClient(base_url=rapport.url, timeout=30) as http:
        sessions = []
        for _ in range(max(2, args.requests // 10)):
            created = await http.post("/api/sessions", json={"persona_id": "sam-work-stress"})
            sessions.append(created.json()["id"])
        # Ready-made messages of the same size as Rapport's: one of its own recorded prompts.
        async with httpx.AsyncClient(base_url=fake_url) as fake:
            await fake.delete("/_recorded")
            for sid in sessions[:2]:  # warm up both paths
                await _http_first_delta(http, sid, "What brings you in today?")
            messages = (await fake.get("/_recorded")).json()[-1]["messages"]
        for way in ways.values():
            for _ in range(3):
                await way(messages)
        direct: dict[str, list[Timed]] = {name: [] for name in ways}
        ours: list[Timed] = []
        cpu = 0.0
        pid = rapport.proc.pid  # type: ignore[union-attr]
        for i in range(args.requests):
            for name, way in ways.items():
                direct[name].append(await way(messages))
            sid = sessions[i % len(sessions)]
            before = tree_cpu_seconds(pid)
            ours.append(await _http_first_delta(http, sid, LINES[i % len(LINES)]))
            cpu += tree_cpu_seconds(pid) - before
        shares = await prefix_shares(http, fake_url, args.prefix_turns)
    await sdk.close()
    await plain_http.aclose()
    medians = {name: _pct([t for t, _ in timed], 0.5) * 1000 for name, timed in direct.items()}
    baseline = min(medians, key=medians.__getitem__)
    d_ttft = [t for t, _ in direct[baseline]]
    h_ttft = [t for t, _ in ours]
    return {
        "baseline": baseline,
        "direct_medians": medians,
        "direct_p50": _pct(d_ttft, 0.5) * 1000,
        "http_p50": _pct(h_ttft, 0.5) * 1000,
        "http_p99": _pct(h_ttft, 0.99) * 1000,
        "added_p50": (_pct(h_ttft, 0.5) - _pct(d_ttft, 0.5)) * 1000,
        "added_paired": statistics.median(h - d for h, d in zip(h_ttft, d_ttft, strict=True))
        * 1000,
        "cpu_ms": cpu / args.requests * 1000,
        "shares": shares,
    }


def main() -> None:
    """Parse arguments, start the fake and Rapport, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--first-token-ms", type=float, default=40.0)
    parser.add_argument("--token-ms", type=float, default=2.0)
    parser.add_argument("--prefix-turns", type=int, default=8,
                        help="turns per persona for the prefix share")
    parser.add_argument("--quick", action="store_true", help="20 requests, 5 turns a persona")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.prefix_turns = 20, 5
    if args.prefix_turns < 3:
        parser.error("--prefix-turns must be at least 3: the share is read from turn 3 on")
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_model_server", "--port", str(port),
         "--first-token-ms", str(args.first_token_ms), "--token-ms", str(args.token_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert fake.stdout is not None
    fake.stdout.readline()  # "ready"
    fake_url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.pop("RAPPORT_DATABASE_URL", None)
            rapport = ServerProcess(cli=True, env={
                "RAPPORT_DATA_DIR": tmp,
                "RAPPORT_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "RAPPORT_ENGINE": "llm",
                "RAPPORT_LLM_BASE_URL": f"{fake_url}/v1",
                "RAPPORT_LLM_API_KEY": "bench",
                "RAPPORT_LLM_MODEL": "fake-model",
                "RAPPORT_LLM_RETRIES": "0",
            }).start()
            try:
                figures = asyncio.run(measure(args, rapport, fake_url))
            finally:
                rapport.stop()
    finally:
        fake.terminate()
        fake.wait(10)
    shares = figures["shares"]
    worst = min(shares.values())
    print(
        f"fake model server in its own process: first token after {args.first_token_ms:g} ms, "
        f"then one every {args.token_ms:g} ms; Rapport via `rapport serve`, llm engine, SQLite; "
        f"{args.requests} requests each way, alternating (shared 2-core machine: expect "
        "10-30 % noise)"
    )
    print("direct p50 by client: " + ", ".join(
        f"{name} {ms:.1f} ms" for name, ms in figures["direct_medians"].items())
        + f"; baseline: {figures['baseline']} (the fastest)")
    print(f"time to first token: direct p50 {figures['direct_p50']:.1f} ms; through the HTTP API "
          f"(SSE) p50 {figures['http_p50']:.1f} ms, p99 {figures['http_p99']:.1f} ms")
    print(f"added by Rapport: p50 {figures['added_p50']:+.1f} ms (paired median "
          f"{figures['added_paired']:+.1f} ms); Rapport CPU {figures['cpu_ms']:.2f} ms a turn")
    print(f"byte-identical prefix of the previous turn's prompt, turns 3..{args.prefix_turns}, "
          f"worst turn per persona: min {worst:.0%}, median "
          f"{statistics.median(shares.values()):.0%}")
    print("  " + ", ".join(f"{k} {v:.0%}" for k, v in sorted(shares.items())))
    print("goals (issue 14):")
    print(f"  added TTFT <= 5 ms p50: {figures['added_p50']:+.1f} ms -> "
          f"{'met' if figures['added_p50'] <= 5 else 'NOT met'}")
    print(f"  prefix >= 90 % from turn 3 on, every persona: {worst:.0%} -> "
          f"{'met' if worst >= 0.9 else 'NOT met'}")


if __name__ == "__main__":
    main()

"""The fake OpenAI-compatible server (tests/fake_openai.py) in a process of its own, for benches.

Run in its own process so its CPU is not the bench client's nor Rapport's. `GET /_recorded`
answers every chat request body received since the last `DELETE /_recorded`.

    python -m bench.fake_model_server --port 8099 [--first-token-ms 40] [--token-ms 2]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI  # noqa: E402

REPLY = (
    "I dunno. Work's been a lot lately, and I'm not sleeping much. "
    "I lie awake going over emails in my head, and by the morning I'm wrecked."
)


class RecordingFake(FakeOpenAI):
    """The fake, with its recorded requests readable (and clearable) over HTTP."""

    async def _dispatch(self, method, path, headers, body, writer) -> bool:
        if path == "/_recorded":
            if method == "DELETE":
                self.requests.clear()
            payload = json.dumps(self.chat_bodies).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
            await writer.drain()
            return True
        return await super()._dispatch(method, path, headers, body, writer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-token-ms", type=float, default=40.0)
    parser.add_argument("--token-ms", type=float, default=2.0)
    args = parser.parse_args()
    fake = RecordingFake(default_reply=REPLY, first_token_delay=args.first_token_ms / 1000,
                         token_interval=args.token_ms / 1000).start(port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    fake.stop()


if __name__ == "__main__":
    main()

"""The ASGI entry point for uvicorn: `app.asgi:app`."""

import sys

from app.config import SettingsError, load_settings
from app.main import create_app

try:
    settings = load_settings()
except SettingsError as exc:
    # A worker started straight by uvicorn (as the container image does) says what to fix in
    # one line, as `rapport serve` does, instead of a page of validation traceback.
    sys.stderr.write(f"error: {exc}\n")
    sys.stderr.flush()
    raise SystemExit(2) from None

# A served worker warms the analyzer at start-up, so no student's first turn waits for it.
app = create_app(settings, warm=True)

"""Settings for the `rapport` commands: a bad setting is one line and its fix, no traceback."""

from __future__ import annotations

import typer

from app.config import Settings, SettingsError, load_settings

__all__ = ["settings_or_exit"]


def settings_or_exit() -> Settings:
    """The settings, or `error: ...` naming the bad setting and its fix, and exit 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

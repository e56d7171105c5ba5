"""The README documents every setting, and the commands it promises exist."""

from __future__ import annotations

import re
from pathlib import Path

from app.cli import app as cli_app
from app.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _variables(name: str, field) -> list[str]:
    """The environment variables a setting is read from (its aliases, else RAPPORT_<NAME>)."""
    alias = field.validation_alias
    choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
    return [str(c) for c in choices] or [f"RAPPORT_{name.upper()}"]


def test_every_setting_is_documented() -> None:
    missing = [
        _variables(name, field)[0]
        for name, field in Settings.model_fields.items()
        if not any(variable in README for variable in _variables(name, field))
    ]
    assert not missing, f"settings missing from README.md: {missing}"


def test_readme_names_the_two_commands() -> None:
    assert "make run" in README
    assert "make test" in README


def test_documented_cli_commands_exist() -> None:
    names = {
        command.name or command.callback.__name__.replace("_", "-")
        for command in cli_app.registered_commands
    }
    names |= {group.name for group in cli_app.registered_groups}
    for command in set(re.findall(r"`rapport ([a-z]+)", README)):
        assert command in names, f"README mentions `rapport {command}`, which does not exist"

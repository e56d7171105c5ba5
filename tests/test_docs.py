"""The README documents every setting, and the commands it promises exist."""

from __future__ import annotations

import re
from pathlib import Path

from app.cli import app as cli_app
from app.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"RAPPORT_{name.upper()}"
        for name in Settings.model_fields
        if f"RAPPORT_{name.upper()}" not in README
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

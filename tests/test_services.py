"""The app's shared parts live on one typed object (app.services), and start-up fills it in."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services import Services, services_of
from tests.accounts import auth_settings

# The fields that may be None on a started app, and when each is.
_OPTIONAL = {"cookie_signer": "accounts off", "local_user": "accounts on"}


def _unset(shared: Services) -> list[str]:
    """The fields a started app should have set but has not (or has set to None)."""
    missing = []
    for f in fields(shared):
        # A start-up field that was never assigned raises AttributeError (slots, no default).
        value = getattr(shared, f.name, None)
        if value is None and f.name not in _OPTIONAL:
            missing.append(f.name)
    return missing


@pytest.mark.parametrize("auth", ["off", "on"])
def test_a_started_app_keeps_every_part_on_its_services(
    tmp_path: Path, db_url: str, auth: str
) -> None:
    settings = (auth_settings(tmp_path, db_url) if auth == "on"
                else Settings(data_dir=tmp_path, database_url=db_url, stream_delay=0.0))
    app = create_app(settings)
    with TestClient(app) as client:
        # Nothing else on the untyped bag: every reader goes through the typed object.
        assert set(vars(app.state)["_state"]) == {"services"}
        shared = services_of(app)
        assert isinstance(shared, Services)
        assert _unset(shared) == []
        assert shared.settings is settings
        assert shared.library.engine is shared.db_engine
        assert shared.database.engine is shared.db_engine
        assert "scripted" in shared.engines
        assert shared.installed == {"grading", "desk"}
        # Exactly one of the two optional parts, by whether accounts are on.
        assert (shared.cookie_signer is not None) == (auth == "on")
        assert (shared.local_user is None) == (auth == "on")
        assert client.get("/healthz/ready").status_code == 200


def test_installing_the_desk_again_adds_no_routes(settings: Settings) -> None:
    from app.web.desk import install_desk

    app = create_app(settings)
    routes = len(app.router.routes)
    install_desk(app)
    assert len(app.router.routes) == routes

"""The parts of the app that routes and middleware share, in one typed object.

`create_app` builds it and stores it as `app.state.services`, the only attribute on the app's
state; the installers and the start-up add what is theirs. Routes ask `services(request)`,
middleware `services_of(scope["app"])`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # Only for the annotations: the modules below import this one at run time.
    import jinja2
    from sqlalchemy.engine import Engine
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from app.auth.passwords import PasswordHashing
    from app.auth.tokens import CookieSigner
    from app.client.engine import ClientEngine
    from app.config import Settings
    from app.library import Library
    from app.models import User
    from app.web.deps import Database
    from app.web.health import ModelCheck

__all__ = ["ErrorRenderer", "Feature", "Services", "services", "services_of"]

# An HTML error page for a request: (request, status code, detail) -> response.
ErrorRenderer = Callable[["Request", int, str], "Response"]
# Route groups that more than one installer may ask for (install_desk installs grading too).
Feature = Literal["grading", "desk"]


@dataclass(slots=True, kw_only=True)
class Services:
    """Everything the app's routes and middleware share, stored once as `app.state.services`."""

    settings: Settings
    clock: Callable[[], datetime]
    library: Library
    """What the app is built with: its settings, what "now" means, the library shelves."""

    page_templates: jinja2.Environment = field(init=False)
    render_error: ErrorRenderer | None = None
    """The pages (set by install_pages); without them, error answers are JSON only."""

    cookie_signer: CookieSigner | None = None
    """Signs session cookies and CSRF tokens: set by install_auth with accounts on only."""

    health_cache: dict[str, ModelCheck] = field(default_factory=dict)
    installed: set[Feature] = field(default_factory=set)
    """The readiness probe's recent model-server checks; the route groups already added."""

    db_engine: Engine = field(init=False)
    database: Database = field(init=False)
    hashing: PasswordHashing = field(init=False)
    engines: dict[str, ClientEngine] = field(init=False)
    local_user: User | None = None
    """Set at start-up; the local user owns everything with accounts off (None with them on)."""


def services_of(app: Starlette) -> Services:
    """The app's services, for middleware (`scope["app"]`) and the installers."""
    return app.state.services


def services(request: Request) -> Services:
    """The app's services, for a route or a dependency."""
    return services_of(request.app)

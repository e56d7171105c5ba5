"""The persona and rubric libraries as a running worker holds them, kept in step with disk.

Each library is a folder of YAML files. A `Shelf` loads one folder and, when asked for it,
looks at the folder's files (names, sizes, modification times) at most once a second: if they
changed, it loads the folder again. So a file saved by a trainer through one worker reaches
every other worker within about a second, without a restart or any shared memory. A folder that
no longer loads (a broken file copied in by hand) keeps the last good library in service, and
the problems are logged, one `file:line: field: message` line each.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlmodel import Session

from app.persona import Persona, PersonaLibraryError, load_library
from app.persona.loader import PERSONAS
from app.rubric import Rubric, RubricLibraryError, load_rubrics
from app.rubric.loader import RUBRICS
from app.services import services, services_of

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from sqlalchemy.engine import Engine

    from app.models import LibraryVersion, PracticeSession

__all__ = [
    "CHECK_INTERVAL",
    "Book",
    "Library",
    "Shelf",
    "library_of",
    "persona_shelf",
    "rubric_shelf",
    "rubrics_of",
    "session_persona",
]

logger = logging.getLogger("rapport.library")

# How often (seconds) a worker looks at a library folder for changes, at most.
CHECK_INTERVAL = 1.0

T = TypeVar("T")
Stamp = tuple[tuple[str, int, int, int], ...]


def folder_stamp(folder: Path) -> Stamp:
    """What changes when any library file in the folder is added, removed, replaced or edited."""
    entries = []
    try:
        with os.scandir(folder) as found:
            for entry in found:
                if not entry.name.endswith((".yaml", ".yml")):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # removed while we looked
                    continue
                # The inode changes on an atomic replace even when size and mtime tick agree.
                entries.append((entry.name, st.st_mtime_ns, st.st_size, st.st_ino))
    except FileNotFoundError:
        return ()
    return tuple(sorted(entries))


class Shelf(Generic[T]):
    """One library folder, loaded now and reloaded when its files change."""

    def __init__(
        self,
        folder: Path,
        load: Callable[[Path], dict[str, T]],
        *,
        errors: tuple[type[Exception], ...],
        noun: str,
        interval: float = CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = Path(folder)
        self.noun = noun
        self.interval = interval
        self.clock = clock
        self._load = load
        self._errors = errors
        self._lock = threading.Lock()
        # The problems of the last failed reload (empty while the folder loads cleanly).
        self.problems: list[object] = []
        # The first load raises: a worker must not start with a broken library.
        self._stamp = folder_stamp(self.folder)
        self._items = load(self.folder)
        self._checked = clock()

    def get(self) -> dict[str, T]:
        """The library, reloaded first if the folder changed since the last look."""
        if self.clock() - self._checked >= self.interval:
            self._refresh(force=False)
        return self._items

    def reload(self) -> dict[str, T]:
        """Load the folder now (after this worker wrote to it); keep the old one if it fails."""
        self._refresh(force=True)
        return self._items

    def path_of(self, item_id: str) -> Path | None:
        """The file an id was loaded from (`<id>.yaml` or `<id>.yml`), if it is on the shelf."""
        if item_id not in self.get():
            return None
        for suffix in (".yaml", ".yml"):
            path = self.folder / f"{item_id}{suffix}"
            if path.is_file():
                return path
        return None

    def _refresh(self, *, force: bool) -> None:
        with self._lock:
            now = self.clock()
            if not force and now - self._checked < self.interval:
                return  # another request looked while this one waited
            self._checked = now
            stamp = folder_stamp(self.folder)
            if stamp == self._stamp and not force:
                return
            # Remember the stamp even when loading fails, so a broken file is logged once,
            # not every second; the next change to the folder tries again.
            self._stamp = stamp
            try:
                items = self._load(self.folder)
            except self._errors as exc:
                problems = list(getattr(exc, "problems", None) or [exc])
                self.problems = problems
                logger.error(
                    "%s library in %s did not reload; keeping the last good one (%d %s):",
                    self.noun, self.folder, len(self._items),
                    f"{self.noun}s" if len(self._items) != 1 else self.noun,
                )
                for problem in problems:
                    logger.error("  %s", problem)
                return
            added = sorted(set(items) - set(self._items))
            removed = sorted(set(self._items) - set(items))
            logger.info("%s library reloaded from %s: %d (added %s, removed %s)",
                        self.noun, self.folder, len(items), added or "none", removed or "none")
            self._items = items
            self.problems = []


def persona_shelf(folder: Path, **options: object) -> Shelf[Persona]:
    """The persona library folder (ordered by difficulty and title, like `load_library`)."""
    return Shelf(folder, load_library, errors=(PersonaLibraryError, OSError), noun="persona",
                 **options)  # type: ignore[arg-type]


def rubric_shelf(folder: Path, **options: object) -> Shelf[Rubric]:
    """The rubric library folder."""
    return Shelf(folder, load_rubrics, errors=(RubricLibraryError, OSError), noun="rubric",
                 **options)  # type: ignore[arg-type]


class Book(dict):
    """The library as served (id -> item, in library order), and the versions sessions hold.

    Iterating it lists what students may pick now: published versions over the shipped files,
    without drafts or retired items. `of(session)` is the version a session started with,
    even if it has been replaced or retired since.
    """

    def __init__(self, items: dict, *, library: Library, kind: str,
                 revisions: dict[str, int]) -> None:
        super().__init__(items)
        self._library = library
        self._kind = kind
        self.revisions = revisions

    def revision_of(self, item_id: str) -> int | None:
        """The stored version (LibraryVersion.id) served for an id; None: its shipped file."""
        return self.revisions.get(item_id)

    def of(self, session: PracticeSession) -> Persona | None:
        """The persona version a session started with (None if it can no longer be found)."""
        return self._library.of_session(session, served=self)


def session_persona(personas: dict | Library, session: PracticeSession) -> Persona | None:
    """The persona of a session from the library, a served book or a plain dict of personas."""
    if isinstance(personas, Library):
        return personas.of_session(session)
    if isinstance(personas, Book):
        return personas.of(session)
    return personas.get(session.persona_id)


class Library:
    """The worker's persona and rubric shelves (`Services.library`)."""

    def __init__(self, personas: Shelf[Persona], rubrics: Shelf[Rubric] | None = None) -> None:
        self.persona_shelf = personas
        self.rubric_shelf = rubrics
        # The database holding drafts and published versions (app.library_versions); set at
        # start-up. Without it the library is the folders alone.
        self.engine: Engine | None = None
        self._served: dict[str, tuple[object, int, Book]] = {}
        # Stored versions never change once numbered: parsed once per worker, by row id.
        self._parsed: dict[int, Persona | Rubric | None] = {}

    def personas(self) -> Book:
        """Persona id -> persona, ordered by difficulty and title; fresh on every request."""
        return self._book("persona")

    def rubrics(self) -> Book:
        """Rubric id -> rubric; fresh on every request."""
        if self.rubric_shelf is None:
            raise RuntimeError("the rubric library is not loaded (install_grading does it)")
        return self._book("rubric")

    def of_session(self, session: PracticeSession, *, served: dict | None = None
                   ) -> Persona | None:
        """The persona version a session started with (None if it can no longer be found).

        Without asking the database what is served now (`personas()` does, every call): a
        session's turns need only the version it holds, stored or shipped.
        """
        if session.persona_revision is not None:
            found = self.stored(session.persona_revision)
            if found is not None:
                return found  # type: ignore[return-value]
        base = self.shelf("persona").get().get(session.persona_id)
        if base is not None:
            return base
        return (self.personas() if served is None else served).get(session.persona_id)

    def stored(self, version_id: int) -> Persona | Rubric | None:
        """A stored version by its id, parsed (None if it is missing or no longer parses)."""
        if version_id in self._parsed:
            return self._parsed[version_id]
        if self.engine is None:
            return None
        from app.models import LibraryVersion
        with Session(self.engine) as db:
            row = db.get(LibraryVersion, version_id)
        return self._parse(row) if row is not None else None

    def _parse(self, row: LibraryVersion) -> Persona | Rubric | None:
        from app.library_versions import check_text

        assert row.id is not None
        if row.id not in self._parsed:
            item, problems = check_text(row.kind, row.text)  # type: ignore[arg-type]
            if problems:
                logger.error("stored %s %s (version %s) does not load: %s",
                             row.kind, row.item_id, row.number, "; ".join(problems))
            if row.number is None:
                return item  # a draft may still change: never cached
            self._parsed[row.id] = item
        return self._parsed[row.id]

    def _book(self, kind: str) -> Book:
        from app.library_versions import GENERATION_SQL, latest_steps

        base = self.shelf(kind).get()
        if self.engine is None:
            return Book(base, library=self, kind=kind, revisions={})
        # Asked on every request: one plain statement, not an ORM session (app.turn_store).
        with self.engine.connect() as conn:
            count = int(conn.exec_driver_sql(GENERATION_SQL).scalar_one())
        cached = self._served.get(kind)
        if cached is not None and cached[0] is base and cached[1] == count:
            return cached[2]
        with Session(self.engine) as db:
            steps = latest_steps(db=db, kind=kind)  # type: ignore[arg-type]
        items = dict(base)
        revisions: dict[str, int] = {}
        for item_id, row in steps.items():
            if row.action == "retire":
                items.pop(item_id, None)
                continue
            parsed = self._parse(row)
            if parsed is not None:
                items[item_id] = parsed
                assert row.id is not None
                revisions[item_id] = row.id
        order = (PERSONAS if kind == "persona" else RUBRICS).order
        ordered = dict(sorted(items.items(), key=lambda pair: order(pair[1])))
        book = Book(ordered, library=self, kind=kind, revisions=revisions)
        self._served[kind] = (base, count, book)
        return book

    def shelf(self, kind: str) -> Shelf:
        """The shelf for "persona" or "rubric"."""
        shelf = self.persona_shelf if kind == "persona" else self.rubric_shelf
        if shelf is None:
            raise RuntimeError(f"the {kind} library is not loaded")
        return shelf


def library_of(app: FastAPI) -> Library:
    """The app's library holder."""
    return services_of(app).library


def rubrics_of(request: Request) -> dict[str, Rubric]:
    """The current rubric library, for a route."""
    return services(request).library.rubrics()

"""Admins import a cohort from CSV (preview with per-row problems; all rows or none), rename
and delete cohorts (refused while their students hold sessions)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.cohorts import members_of
from app.main import create_app
from app.models import AuditEvent, Cohort, User
from app.services import services_of
from tests.accounts import add_cohort, add_user, auth_settings, hold_session, sign_in

HTML = {"Accept": "text/html"}
GOOD = "email,name,role\nana@example.org,Ana Lima,\nmo@example.org,Mo Reid,assessor\n"
BAD = GOOD + "not-an-email,Someone,student\nzoe@example.org,,student\nana@example.org,Ana,\n"


@pytest.fixture
def world(tmp_path: Path, db_url: str):
    app = create_app(auth_settings(tmp_path, db_url))
    with TestClient(app):
        cohort = add_cohort(app, "Evening 2026")
        add_user(app, "root@example.org", role="admin")
        yield app, sign_in(app, "root@example.org"), cohort


def _post(admin: TestClient, cohort: Cohort, text: str, action: str = "preview", **kw):
    return admin.post(f"/admin/cohorts/{cohort.id}/import", data={"text": text, "action": action},
                      headers=HTML, **kw)


def _emails(app) -> set[str]:
    with Session(services_of(app).db_engine) as db:
        return set(db.exec(select(User.email)).all())


def _audit(app, action: str) -> list[AuditEvent]:
    with Session(services_of(app).db_engine) as db:
        return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_one_bad_row_imports_nothing_and_each_problem_names_its_line(world) -> None:
    app, admin, cohort = world
    before = _emails(app)
    preview = _post(admin, cohort, BAD)
    assert preview.status_code == 422
    page = html.unescape(preview.text)
    assert "3 to fix" in page and 'value="import"' not in page
    assert "line 4: 'not-an-email' is not an email address." in page
    assert "line 5: the name is missing." in page
    assert "line 6: the same email as line 2." in page
    assert '<tr data-line="2">' in page  # good rows are listed too, without a problem
    forced = _post(admin, cohort, BAD, action="import")
    assert forced.status_code == 422 and "Nothing was imported" in forced.text
    assert _emails(app) == before and not _audit(app, "cohort.import")


def test_a_good_file_imports_every_row_in_one_go_with_links(world) -> None:
    app, admin, cohort = world
    add_user(app, "mo@example.org", role="assessor")  # already has an account
    preview = _post(admin, cohort, GOOD)
    assert preview.status_code == 200
    assert "has an account: added to the cohort" in preview.text
    assert 'value="import"' in preview.text
    done = _post(admin, cohort, GOOD, action="import")
    assert done.status_code == 200, done.text
    links = re.findall(r'data-testid="one-time-link">([^<]+)<', done.text)
    assert len(links) == 1 and "/reset/" in links[0]  # only the new account needs one
    with Session(services_of(app).db_engine) as db:
        assert {u.email for u in members_of(db=db, cohort_id=cohort.id)} == {
            "ana@example.org", "mo@example.org"}
        ana = db.exec(select(User).where(User.email == "ana@example.org")).one()
        assert ana.role == "student" and ana.name == "Ana Lima"
    event = _audit(app, "cohort.import")[0]
    assert event.details == {"name": "Evening 2026", "rows": 2, "created": 1, "added": 2}
    assert event.actor == "root@example.org"
    # The link sets Ana's password.
    path = links[0].split("127.0.0.1", 1)[-1].split("testserver", 1)[-1]
    assert admin.get(path, headers=HTML).status_code == 200


def test_an_uploaded_csv_is_read_like_a_pasted_one(world) -> None:
    _, admin, cohort = world
    answer = admin.post(f"/admin/cohorts/{cohort.id}/import", data={"action": "preview"},
                        files={"upload": ("people.csv", ("\ufeff" + GOOD).encode(), "text/csv")},
                        headers=HTML)
    assert answer.status_code == 200 and "ana@example.org" in answer.text
    missing = _post(admin, cohort, "mail,who\nx@example.org,X\n")
    assert missing.status_code == 422 and "missing: email, name" in missing.text


def test_rename_and_delete_a_cohort_refused_while_it_holds_sessions(world) -> None:
    app, admin, cohort = world
    other = add_cohort(app, "Spare")
    assert admin.post(f"/admin/cohorts/{cohort.id}/rename", data={"name": "Spare"},
                      headers=HTML).status_code == 422
    renamed = admin.post(f"/admin/cohorts/{cohort.id}/rename", data={"name": "Evening 2026/27"},
                         headers=HTML, follow_redirects=False)
    assert renamed.status_code == 303
    assert _audit(app, "cohort.rename")[0].details == {"from": "Evening 2026",
                                                        "to": "Evening 2026/27"}
    add_user(app, "ana@example.org", cohorts=(cohort,))
    hold_session(sign_in(app, "ana@example.org"))
    # The confirmation page of a cohort with sessions says why and offers no Delete button.
    held = admin.get(f"/admin/cohorts/{cohort.id}/delete", headers=HTML)
    assert held.status_code == 200 and "hold 1 session, so it cannot be deleted" in held.text
    assert "Delete the cohort" not in held.text
    # Asking does not delete: the empty cohort is still there after its confirmation page.
    ask = admin.get(f"/admin/cohorts/{other.id}/delete", headers=HTML)
    assert ask.status_code == 200 and "Delete the cohort" in ask.text
    assert f'action="/admin/cohorts/{other.id}/delete"' in ask.text
    with Session(services_of(app).db_engine) as db:
        assert db.get(Cohort, other.id) is not None
    refused = admin.post(f"/admin/cohorts/{cohort.id}/delete", headers=HTML)
    assert refused.status_code == 409
    assert "its students hold 1 session," in html.unescape(refused.text)
    deleted = admin.post(f"/admin/cohorts/{other.id}/delete", headers=HTML,
                         follow_redirects=False)
    assert deleted.status_code == 303
    with Session(services_of(app).db_engine) as db:
        assert db.get(Cohort, other.id) is None and db.get(Cohort, cohort.id) is not None
    assert _audit(app, "cohort.delete")[0].details == {"name": "Spare"}
    page = admin.get("/admin/cohorts", headers=HTML).text
    assert "hold 1 session, so it cannot be deleted" in page


def _roster(rows: int) -> str:
    """A roster of `rows` people with realistically long addresses and names."""
    return "email,name,role\n" + "".join(
        f"student.{i:04d}.with-a-long-address@university.example.ac.uk,"
        f"Firstname Middlename Surname-Doubled {i},student\n" for i in range(rows))


def test_a_full_roster_of_2000_people_fits_the_roster_limit(world) -> None:
    app, admin, cohort = world
    text = _roster(2000)
    assert len(text.encode()) > 3 * 64_000  # over the 64 KB limit every other form has
    pasted = _post(admin, cohort, text)
    assert pasted.status_code == 200, pasted.text[:300]
    assert "Preview: 2000 rows" in pasted.text and 'value="import"' in pasted.text
    uploaded = admin.post(f"/admin/cohorts/{cohort.id}/import", data={"action": "import"},
                          files={"upload": ("people.csv", text.encode(), "text/csv")},
                          headers=HTML)
    assert uploaded.status_code == 200, uploaded.text[:300]
    assert len(re.findall(r'data-testid="one-time-link"', uploaded.text)) == 2000
    with Session(services_of(app).db_engine) as db:
        assert len(members_of(db=db, cohort_id=cohort.id)) == 2000
    # Other forms keep the small limit.
    assert admin.post("/admin/cohorts", data={"name": "x" * 70_000},
                      headers=HTML).status_code == 413


def test_a_roster_over_the_limit_is_a_413_that_says_what_to_do(world) -> None:
    app, admin, cohort = world
    before = _emails(app)
    # Over the roster's own limit but within the route's body limit: the import page says so.
    big = _roster(2000) + _roster(3000).split("\n", 1)[1]
    assert 512 * 1024 < len(big.encode()) < 1_000_000
    for answer in (
        _post(admin, cohort, big),
        admin.post(f"/admin/cohorts/{cohort.id}/import", data={"action": "preview"},
                   files={"upload": ("people.csv", big.encode(), "text/csv")}, headers=HTML),
    ):
        assert answer.status_code == 413
        page = html.unescape(answer.text)
        assert "The file is too large" in page and "at most 512 KiB and 2,000 people" in page
        assert "split the file" in page and 'id="roster-upload"' in page  # the form is there
    # Over the route's body limit: refused before it is read, with the same advice.
    huge = (big * 3).encode()
    for accept, kind in (("text/html", "text/html"), ("application/json", "application/json")):
        answer = admin.post(f"/admin/cohorts/{cohort.id}/import", data={"action": "preview"},
                            files={"upload": ("people.csv", huge, "text/csv")},
                            headers={"Accept": accept})
        assert answer.status_code == 413 and answer.headers["content-type"].startswith(kind)
        said = html.unescape(answer.text)
        assert "the limit is 1,114,112 bytes" in said and "split the file" in said
    assert _emails(app) == before

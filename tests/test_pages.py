"""Server-rendered pages: content, escaping, error pages and the trust curve."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session

from app import practice
from app.persona import Persona
from app.services import services_of
from app.web.pages import CONTENT_SECURITY_POLICY, trust_curve

HTML = {"Accept": "text/html,application/xhtml+xml"}
SCRIPT = "<script>alert(1)</script>"
GOOD_TURNS = [
    "It sounds like you've been carrying a lot on your own lately.",
    "What has it been like for you, lying awake at night?",
    "You feel worn out, and part of you wonders whether this is even worth talking about.",
]


def _personas(client: TestClient) -> dict[str, Persona]:
    return services_of(client.app).library.personas()


def _first_persona(client: TestClient) -> Persona:
    return next(iter(_personas(client).values()))


def _start(client: TestClient, persona_id: str | None = None) -> str:
    persona_id = persona_id or _first_persona(client).id
    response = client.post("/api/sessions", json={"persona_id": persona_id})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _say(client: TestClient, session_id: str, text: str) -> dict:
    response = client.post(f"/api/sessions/{session_id}/turns", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def _page(client: TestClient, path: str, status: int = 200) -> str:
    response = client.get(path, headers=HTML)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def _e(text: str) -> str:
    return str(escape(text))


def test_library_lists_every_persona_with_its_card(client: TestClient) -> None:
    html = _page(client, "/")
    personas = _personas(client)
    assert personas, "the shipped library should not be empty"
    for persona in personas.values():
        assert f'data-persona-id="{persona.id}"' in html
        assert _e(persona.title) in html
        assert _e(persona.client.name) in html
        assert f"Difficulty {persona.difficulty} of 5" in html
        assert _e(persona.brief) in html
        for warning in persona.content_warnings:
            assert _e(warning) in html
        for objective in persona.learning_objectives:
            assert _e(objective) in html
        for tag in persona.tags:
            assert f'<li class="tag">{_e(tag)}</li>' in html
    assert html.count('action="/sessions"') == len(personas)
    # Disclosures are what the student earns: never on the library card.
    for persona in personas.values():
        for layer in persona.disclosures:
            assert _e(layer.says) not in html


def test_content_warnings_are_visible_not_hidden_behind_a_click(client: TestClient) -> None:
    html = _page(client, "/")
    persona = next(p for p in _personas(client).values() if p.content_warnings)
    card = html.split(f'data-persona-id="{persona.id}"', 1)[1].split("</article>", 1)[0]
    before, warnings = card.split('class="warnings"', 1)
    warnings = warnings.split("</div>", 1)[0]
    assert "<details" not in before
    assert not re.search(r"\shidden[\s>=]", warnings)
    assert _e(persona.content_warnings[0]) in warnings


def test_pages_send_security_headers_and_no_inline_script(client: TestClient) -> None:
    session_id = _start(client)
    for path in ("/", "/history", f"/sessions/{session_id}", f"/sessions/{session_id}/transcript"):
        response = client.get(path, headers=HTML)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        for tag in re.findall(r"<script\b[^>]*>", response.text):
            assert 'src="/static/' in tag, f"inline script on {path}: {tag}"
        assert " style=" not in response.text
        assert "onclick" not in response.text
        assert "http://" not in response.text and "https://" not in response.text


def test_static_files_are_served_locally(client: TestClient) -> None:
    html = _page(client, "/")
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', html)
    assert css, "the stylesheet link carries a content hash"
    response = client.get(css.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"
    js = client.get("/static/app.js")
    assert js.status_code == 200
    assert ".innerHTML" not in js.text and "insertAdjacentHTML" not in js.text


def test_start_form_redirects_to_a_session_showing_the_opening_line(client: TestClient) -> None:
    persona = _first_persona(client)
    response = client.post("/sessions", data={"persona_id": persona.id}, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/sessions/[A-Za-z0-9_-]+", location)
    html = _page(client, location)
    assert _e(persona.style.opening_line) in html
    assert 'aria-live="polite"' in html
    assert f"{_e(persona.client.name)} is typing…" in html
    assert 'id="message"' in html and 'for="message"' in html
    assert 'data-awaiting-reply="false"' in html
    # The API sees the same session: the form used the same data function.
    api = client.get(f"/api/sessions{location.removeprefix('/sessions')}").json()
    assert api["persona_id"] == persona.id
    assert api["turns"][0]["text"] == persona.style.opening_line


def test_start_form_with_unknown_persona_is_a_404_page(client: TestClient) -> None:
    response = client.post("/sessions", data={"persona_id": "nobody"}, headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "No persona with id &#39;nobody&#39;." in response.text
    response = client.post("/sessions", data={}, headers=HTML)
    assert response.status_code == 422
    assert "Choose a persona to start." in response.text


def test_script_in_a_message_is_escaped_on_every_page(client: TestClient) -> None:
    session_id = _start(client)
    _say(client, session_id, f"You said {SCRIPT} earlier")
    stored = client.get(f"/api/sessions/{session_id}").json()["turns"]
    assert stored[1]["text"] == f"You said {SCRIPT} earlier"
    for path in (f"/sessions/{session_id}", f"/sessions/{session_id}/transcript"):
        html = _page(client, path)
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_session_is_an_html_page_for_browsers_and_json_for_the_api(
    client: TestClient,
) -> None:
    for path in ("/sessions/missing", "/sessions/missing/transcript"):
        html = _page(client, path, status=404)
        assert "<h1>Not found</h1>" in html
        assert "No session with id &#39;missing&#39;." in html
        assert 'href="/"' in html
    api = client.get("/api/sessions/missing", headers=HTML)
    assert api.status_code == 404
    assert api.json() == {"detail": "No session with id 'missing'."}


def test_unknown_path_and_escaped_ids_on_error_pages(client: TestClient) -> None:
    html = _page(client, "/no-such-page", status=404)
    assert "<h1>Not found</h1>" in html
    html = _page(client, "/sessions/%3Cb%3Ex", status=404)
    assert "<b>x" not in html
    assert "No session with id &#39;&lt;b&gt;x&#39;." in html


def test_history_lists_sessions_newest_first(client: TestClient) -> None:
    assert "No sessions yet" in _page(client, "/history")
    personas = list(_personas(client).values())
    older = _start(client, personas[0].id)
    newer = _start(client, personas[-1].id)
    _say(client, newer, GOOD_TURNS[0])
    client.post(f"/api/sessions/{older}/end")
    html = _page(client, "/history")
    assert html.index(f'data-session-id="{newer}"') < html.index(f'data-session-id="{older}"')
    assert _e(personas[0].title) in html and _e(personas[-1].title) in html
    newer_row = html.split(f'data-session-id="{newer}"', 1)[1].split("</tr>", 1)[0]
    assert '<td data-label="Turns">3</td>' in newer_row
    assert f'href="/sessions/{newer}"' in newer_row
    older_row = html.split(f'data-session-id="{older}"', 1)[1].split("</tr>", 1)[0]
    assert "status--ended" in older_row
    assert f'href="/sessions/{older}/transcript"' in older_row
    assert f'href="/sessions/{older}"' not in older_row


def test_transcript_draws_one_point_per_student_turn(client: TestClient) -> None:
    session_id = _start(client)
    replies = [_say(client, session_id, text) for text in GOOD_TURNS]
    html = _page(client, f"/sessions/{session_id}/transcript")
    svg = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert svg, "the trust curve is inline SVG"
    points = re.findall(r'<circle class="trust-point[^"]*"[^>]*data-turn="(\d+)"', svg.group(0))
    assert points == ["1", "2", "3"]
    assert svg.group(0).count("<title>Turn ") == 3
    assert "Student turn" in svg.group(0) and "Trust (0–10)" in svg.group(0)
    final = replies[-1]["client_turn"]["trust_after"]
    assert f"to {final:.1f} over 3 turns" in html
    # Speaker labels and analyzer codes for counsellor turns.
    assert html.count("Counsellor (you)") == 3
    codes = replies[0]["student_turn"]["codes"]
    assert codes
    for code in codes:
        assert f'class="code code--{code}"' in html
    assert html.count("Details for trainers") == 3
    for text in GOOD_TURNS:
        assert _e(text) in html


def test_transcript_marks_disclosures_on_client_turns(client: TestClient) -> None:
    session_id = _start(client)
    disclosed = None
    for text in GOOD_TURNS * 2:
        reply = _say(client, session_id, text)["client_turn"]
        disclosed = disclosed or reply["disclosed"]
    assert disclosed, "a good counsellor opens at least the first layer in six turns"
    layer = next(d for d in _first_persona(client).disclosures if d.id == disclosed)
    html = _page(client, f"/sessions/{session_id}/transcript")
    # Students see the layer's human title, never its id.
    title = str(escape(layer.label))
    assert f"Opened up: {title}" in html
    assert f"layers opened: \u201c{title}\u201d at turn" in html
    assert "trust-point--disclosed" in html


def test_ended_session_page_replaces_the_form_with_a_notice(client: TestClient) -> None:
    session_id = _start(client)
    response = client.post(f"/sessions/{session_id}/end", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/sessions/{session_id}/report"
    # Ending made the offline grade at once.
    grades = client.get(f"/api/sessions/{session_id}/grades").json()
    assert len(grades) == 1 and grades[0]["engine"] == "analytic"
    html = _page(client, f"/sessions/{session_id}")
    assert "This session has ended." in html
    assert 'id="composer"' not in html
    assert f'href="/sessions/{session_id}/transcript"' in html
    assert f'href="/sessions/{session_id}/report"' in html


def test_session_awaiting_a_reply_shows_retry_on_load(client: TestClient) -> None:
    session_id = _start(client)
    app = client.app
    with Session(services_of(app).db_engine) as db:
        session = practice.get_session(db=db, session_id=session_id, owner_id=None)
        persona = services_of(app).library.personas()[session.persona_id]
        # The student's turn is committed before any engine runs; here no engine ever does.
        practice.add_student_turn(
            db=db, session=session, persona=persona, text=GOOD_TURNS[0], client_message_id="m1"
        )
    html = _page(client, f"/sessions/{session_id}")
    assert 'data-awaiting-reply="true"' in html
    retry = re.search(r'<button id="retry"[^>]*>', html).group(0)
    assert "hidden" not in retry
    assert _e(GOOD_TURNS[0]) in html
    transcript = _page(client, f"/sessions/{session_id}/transcript")
    assert "No reply was saved for this message." in transcript


def test_trust_curve_geometry(client: TestClient) -> None:
    session_id = _start(client)
    for text in GOOD_TURNS:
        _say(client, session_id, text)
    with Session(services_of(client.app).db_engine) as db:
        turns = practice.session_turns(db=db, session_id=session_id)
    persona = _first_persona(client)
    curve = trust_curve(turns, persona)
    assert [p.turn for p in curve.points] == [1, 2, 3]
    for point in curve.points:
        assert curve.left <= point.x <= curve.left + curve.plot_width
        assert curve.top <= point.y <= curve.top + curve.plot_height
    assert curve.points[-1].x == curve.left + curve.plot_width
    assert len(curve.polyline.split()) == 4  # the start, then one vertex per turn
    empty = trust_curve(turns[:1], persona)
    assert empty.points == []
    assert empty.summary.startswith("No student turns yet")

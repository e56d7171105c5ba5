"""From one session to the next with the same client: what the client carries into the room.

Trust starts where the last session ended, slipping back towards the persona's initial level
by its `trust.drift`. Layers already told stay told (the client may refer back, but never
discloses them again as news), boundary and risk outcomes are remembered, and a risk told last
session is marked for the student to follow up. The client's first words come from the
persona's `sessions:` entry (or the style's default), then what happened since, a reference
back to last time, and what the two agreed the client would try.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.analysis.vocabulary import STOPWORDS
from app.client import voice
from app.client.state import ClientState, held_layers, line_hash
from app.grading.evidence import first_sentence
from app.persona import Disclosure, Persona
from app.persona.sessions import DEFAULT_RETURN_LINES, plan_for

__all__ = ["MAX_TASKS", "carried_state", "clean_task", "opening_for", "recalled_layer"]

MAX_TASKS = 3
# Everyday first words that lose their capital after "Like I told you last time,".
_EVERYDAY = frozenset({"work", "school", "home", "mum", "dad", "things", "everything",
                       "nothing", "since", "sometimes", "honestly", "look", "well"})
_TASK_CHARS = 160


def clean_task(text: str) -> str:
    """A task as the client can quote it: one line, no closing punctuation, bounded."""
    words = " ".join(text.split()).strip(" .!?;:,")[:_TASK_CHARS].strip()
    return words[:1].lower() + words[1:] if words[:2] != "I " else words


def carried_state(
    *, persona: Persona, last: ClientState, number: int, tasks: Sequence[str] = ()
) -> ClientState:
    """The client's state at the start of session `number`, given how the last one ended."""
    initial = persona.trust.initial
    trust = round(last.trust + (initial - last.trust) * persona.trust.drift, 2)
    layers = {d.id: d for d in persona.disclosures}
    told = [i for i in last.unlocked if i in layers]
    new_last_time = [i for i in told if i not in last.earlier]
    # A risk told last session, or one an earlier session told and the last did not follow up.
    follow_up = next((i for i in new_last_time if layers[i].risk), None)
    told_in = number - 1
    if follow_up is None and last.follow_up in layers:
        follow_up, told_in = last.follow_up, last.follow_up_from or number - 2
    # What was said of each told layer stays said; everything else (reactions, facts) may be
    # said again in a new week.
    kept = [k for k in last.used if k.split(":", 1)[0] in ("l", "m")]
    lines = [_line_of(layers, key) for key in kept]
    recalled = recalled_layer(persona, told)
    return ClientState(
        trust=max(0.0, min(10.0, trust)),
        unlocked=told,
        said=dict(last.said),
        boundary={k: ("unaddressed" if v == "pending" else v) for k, v in last.boundary.items()},
        risk={k: ("missed" if v == "pending" else v) for k, v in last.risk.items()},
        used=kept,
        said_lines=[line_hash(x) for x in lines if x],
        thread=recalled.id if recalled else None,
        # An open door for the follow-up: the client answers a check-in with its safety lines.
        safety=follow_up,
        contracted=last.contracted,
        session_number=number,
        earlier=told,
        held=[i for i in held_layers(persona, number) if i not in told],
        tasks=[t for t in (clean_task(x) for x in tasks) if t][:MAX_TASKS],
        follow_up=follow_up,
        follow_up_from=told_in if follow_up else None,
    )


def _line_of(layers: dict[str, Disclosure], key: str) -> str | None:
    kind, _, rest = key.partition(":")
    if kind == "l":
        layer = layers.get(rest)
        return layer.says if layer else None
    layer_id, _, n = rest.rpartition(":")
    layer = layers.get(layer_id)
    if layer is None or not n.isdigit() or int(n) >= len(layer.elaborations):
        return None
    return layer.elaborations[int(n)].says


def recalled_layer(persona: Persona, told: Sequence[str]) -> Disclosure | None:
    """The layer the client refers back to: the deepest one told that is not a risk."""
    safe = [d for d in persona.disclosures if d.id in told and not d.risk]
    return safe[-1] if safe else None


def opening_for(*, persona: Persona, state: ClientState) -> str:
    """The client's first words of a later session (session 1 is style.opening_line)."""
    plan = plan_for(persona.sessions, state.session_number)
    style = persona.style.conversational_style
    if state.session_number <= 1:
        return plan.opening_line or persona.style.opening_line
    third = style == "interpreted"
    parts = [plan.opening_line or DEFAULT_RETURN_LINES.get(style, DEFAULT_RETURN_LINES["plain"])]
    if plan.events:
        parts.append(plan.events[0])
    recalled = _layer(persona, state.thread)
    if plan.recall:
        parts.append(plan.recall)
    elif recalled is not None:
        parts.append(_recall(recalled, third=third))
    if state.tasks:
        task = state.tasks[0]
        tried = state.trust >= persona.trust.initial
        if third:
            parts.append(f"{{They}} {{say}} {{they}} tried what you agreed: {task}." if tried
                         else f"{{They}} {{say}} {{they}} did not manage what you agreed: {task}.")
        else:
            parts.append(f"And I did try what we said I'd do: {task}." if tried
                         else f"I didn't really manage what we said I'd do: {task}.")
    return " ".join(voice.speak_of(p, persona.client.pronouns) for p in parts)


def _recall(layer: Disclosure, *, third: bool) -> str:
    """A reference back to a told layer in the client's own words, as something said before."""
    said = first_sentence(layer.says).rstrip()
    first = said.split(" ", 1)[0].lower().strip(",.").split("'")[0]
    if first != "i" and (first in STOPWORDS or first in _EVERYDAY):
        said = said[:1].lower() + said[1:]
    return f"Like last time, {said}" if third else f"Like I told you last time, {said}"


def _layer(persona: Persona, layer_id: str | None) -> Disclosure | None:
    return next((d for d in persona.disclosures if d.id == layer_id), None)

"""What a model-played client remembers of earlier sessions: only what was said in them.

The summary names the layers already told (their released lines are in the prompt's "already
told" list in every later session), what the two agreed the client would try, how earlier
boundary tests went and that a risk was spoken about. It is built from the session's carried
state, so a layer still locked can never appear in it.
"""

from __future__ import annotations

from app.client.state import ClientState
from app.persona import Persona

__all__ = ["memory_summary"]


def memory_summary(persona: Persona, state: ClientState) -> str | None:
    """A short memory of earlier sessions for the prompt; None in a first session."""
    if state.session_number <= 1:
        return None
    layers = {d.id: d for d in persona.disclosures}
    told = [layers[i] for i in state.earlier if i in layers and i in state.unlocked]
    lines = [f"\n## Earlier sessions\nThis is session {state.session_number} with this "
             "counsellor. You remember the earlier ones; refer back to them naturally, and "
             "never tell what you already said as if it were news."]
    if told:
        lines.append("In earlier sessions you talked about: "
                     + "; ".join((d.title or d.id) for d in told) + ".")
    if state.tasks:
        lines.append("Last time you agreed to try: " + "; ".join(state.tasks) + ".")
    crossed = [t.title or t.id for t in persona.boundary_tests
               if state.boundary.get(t.id) == "crossed"]
    if crossed:
        lines.append("Earlier the counsellor went along with something outside their role ("
                     + "; ".join(crossed) + "); you remember it.")
    risky = layers.get(state.follow_up or "")
    if risky is not None:
        lines.append(f"Last session you told the counsellor about {risky.title or risky.id}; "
                     "if they ask how that has been since, answer honestly.")
    return "\n".join(lines)

"""Persona self-test: drive the team's counsellor scripts through the real engine and judge.

Each script (app/client/scripts/*.yaml) is a 25-turn counsellor, good, poor or mixed, spoken or
written. Placeholders make the good ones listen: `{reflect}` gives back a word of the client's
last reply, `{summary}` gathers the last few, `{ask:work}` asks a factual question. Boundary
tests and risk disclosures get the script's own answers. The self-test reports, per persona,
the trust curves, when each layer opened, repeated replies, factual questions the file could
answer but did not, and a verdict.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from app.analysis.sentences import normalise
from app.analysis.vocabulary import STOPWORDS
from app.client.listen import family_of
from app.client.state import ClientState, ReplyPlan
from app.client.turn import Session, run_session
from app.persona import Persona

__all__ = [
    "QUESTIONS",
    "PersonaReport",
    "Script",
    "ScriptCounsellor",
    "ScriptRun",
    "auroc",
    "format_report",
    "load_scripts",
    "selftest",
]

TURNS = 25
PIN_BEFORE = 15  # no session may reach trust 10 before this turn
MAX_REPEATS = 0.01

# Factual questions a practice script asks, by the common fact topics of the persona guide.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "work": ("What do you do for work?", "What sort of work do you do?"),
    "home": ("Who's at home with you?", "What's your living situation, who do you live with?"),
    "sleep": ("How are you sleeping at the moment?", "How's your sleep been?"),
    "family": ("Tell me a bit about your family.", "Who's in your family?"),
    "friends": ("Who are the friends you see?", "Have you got friends around you?"),
    "hobbies": ("What do you do for fun, when you get the chance?", "Any hobbies?"),
    "age": ("How old are you, if you don't mind me asking?",),
    "partner": ("Are you with anyone at the moment, a partner?",),
    "children": ("Do you have children?",),
    "pets": ("Do you have any pets?",),
    "drinking": ("How much do you drink in a week, roughly?",),
    "health": ("How's your health been?",),
}

_WORD = re.compile(r"[a-z][a-z'-]+")
_SKIP = STOPWORDS | frozenset(
    """just really very even still much many lot lots thing things stuff time times day days
    week weeks year years yeah okay yes don't didn't can't won't it's that's there's i've
    i'm i'd i'll kind sort maybe probably honestly actually literally everything nothing
    something anything someone anyone everyone people said says tell told know think
    thought feel felt going gone getting got want wanted make made good bad""".split()
)
_REFLECT = (
    "So {the_kw} has been weighing on you.",
    "It sounds like {the_kw} is a big part of this.",
    "You're carrying a lot, with {the_kw} on top of everything.",
    "{The_kw} keeps coming back for you.",
    "Part of you is worn down by {the_kw}.",
    "What I'm hearing is that {the_kw} really matters here.",
    "Sounds like {the_kw} has been hard going.",
    "You've been living with {the_kw} for a while now.",
    "Mm, so {the_kw} is what's sitting heaviest right now.",
    "And {the_kw}, that's been hard to talk about.",
)
_REFLECT_FEELING = (
    "You sound really {feeling} about it.",
    "It sounds like you're feeling {feeling}, underneath it all.",
    "There's a lot of {feeling} in that.",
    "Feeling {feeling}, and on your own with it.",
)
_REFLECT_NO_FEELING = (
    "That sounds exhausting, {the_kw} on top of everything else.",
    "It sounds like {the_kw} leaves you pretty worn out.",
    "You seem weighed down, with {the_kw}.",
    "That's a lot to hold, {the_kw}.",
)


@dataclass(frozen=True, slots=True)
class Script:
    """A team-written counsellor for the self-test."""

    id: str
    quality: str  # good | poor | mixed
    register: str  # spoken | written
    lines: tuple[str, ...]
    boundary: dict[str, str]
    risk: tuple[str, ...]


def load_scripts(folder: Path | None = None) -> list[Script]:
    """The shipped scripts (package data), or those of a folder, in name order."""
    if folder is None:
        root = resources.files("app.client").joinpath("scripts")
        files = sorted((f for f in root.iterdir() if f.name.endswith(".yaml")),
                       key=lambda f: f.name)
        texts = [f.read_text(encoding="utf-8") for f in files]
    else:
        texts = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))]
    scripts = []
    for text in texts:
        data = yaml.safe_load(text)
        scripts.append(Script(
            id=data["id"], quality=data["quality"], register=data["register"],
            lines=tuple(data["lines"]), boundary=dict(data["responses"]["boundary"]),
            risk=tuple(data["responses"]["risk"]),
        ))
    return scripts


def _keywords(text: str) -> list[str]:
    """Content words of a client line, most telling last (nouns rather than adverbs)."""
    words = [w.strip("'-") for w in _WORD.findall(normalise(text))]
    return [w for w in words if len(w) >= 4 and w not in _SKIP and not w.endswith("ly")
            and "'" not in w]


def _the(topic: str) -> str:
    """A topic as a noun phrase: "my boss" -> "your boss", "sleep" -> "the sleep"."""
    words = topic.split()
    if words and words[0] in ("my", "mine"):
        return " ".join(["your", *words[1:]])
    if words and words[0] in ("the", "a", "an", "your", "his", "her", "their", "our"):
        return topic
    return f"the {topic}"


def _kw_forms(topic: str) -> dict[str, str]:
    phrase = _the(topic)
    return {"the_kw": phrase, "The_kw": phrase[:1].upper() + phrase[1:]}


def _alias_in(persona: Persona, topic: str, question: str) -> bool:
    """Whether one of a fact's aliases appears word for word in the question."""
    fact = next((f for f in persona.facts if f.topic == topic), None)
    asked = f" {normalise(question)} "
    return fact is not None and any(
        f" {normalise(alias)} " in asked or f" {normalise(alias)}?" in asked
        for alias in fact.aliases
    )


def _crisis_line(persona: Persona) -> str:
    services = persona.jurisdiction.services if persona.jurisdiction else []
    for service in services:
        if re.search(r"lifeline|samaritans|988|crisis|suicide|1737", f"{service.name} "
                     f"{service.contact}", re.I):
            return f"{service.name} on {service.contact}"
    if services:
        return f"{services[0].name} on {services[0].contact}"
    return "a crisis line"


class ScriptCounsellor:
    """Says a script's lines to a persona, filling placeholders from what the client said."""

    def __init__(self, script: Script, persona: Persona, *, seed: int) -> None:
        self.script = script
        self.persona = persona
        self.rng = random.Random(f"{seed}:{script.id}")
        self.position = 0
        self.risk_position = 0
        self.client_lines: list[str] = []
        self.asked: list[tuple[int, str]] = []  # (student turn, fact topic)
        self.used: set[str] = set()
        self.tests = {t.id: t.kind for t in persona.boundary_tests}
        self.last_topics: list[str] = []
        self.used_topics: set[str] = set()

    def _fresh(self, templates: Sequence[str]) -> str:
        options = [t for t in templates if t not in self.used] or list(templates)
        choice = self.rng.choice(options)
        self.used.add(choice)
        return choice

    def _kw(self) -> str:
        """What the client's last reply was about: a topic of the line said, else a word."""
        for topic in self.last_topics:
            if topic not in self.used_topics:
                self.used_topics.add(topic)
                return topic
        for line in reversed(self.client_lines):
            words = _keywords(line)
            if words:
                return words[-1]
        return "situation"

    def _topics_of(self, plan: ReplyPlan | None) -> list[str]:
        """The topics of the lines the client just said (a good listener picks them up)."""
        if plan is None:
            return []
        persona = self.persona
        topics: list[str] = []
        for key in plan.keys:
            kind, _, rest = key.partition(":")
            if kind == "f":
                fact = next((f for f in persona.facts if f.topic == rest.split(":")[0]), None)
                if fact:
                    topics += [a for a in fact.aliases if len(a.split()) <= 3][:3]
            elif kind in ("l", "m"):
                layer_id = rest.split(":")[0]
                layer = next((d for d in persona.disclosures if d.id == layer_id), None)
                if layer is None:
                    continue
                if kind == "m":
                    topics += layer.elaborations[int(rest.split(":")[1])].topics
                topics += layer.topics
        return [t.lower() for t in topics if not t.lower().startswith(("i ", "i'"))]

    def _fill(self, line: str, turn: int) -> str:
        last = self.client_lines[-1] if self.client_lines else ""
        if "{ask:" in line:
            topic = line.strip()[5:-1]
            self.asked.append((turn, topic))
            return self.rng.choice(QUESTIONS[topic])
        if line == "{parrot}":
            sentence = re.split(r"(?<=[.!?])\s+", last.strip())[0] if last else "that"
            return "So " + sentence[:1].lower() + sentence[1:]
        if line == "{reflect}":
            return self._fresh(_REFLECT).format(**_kw_forms(self._kw()))
        if line == "{reflect_feeling}":
            feeling = next((w for w in _WORD.findall(normalise(last)) if family_of(w)), None)
            if feeling:
                return self._fresh(_REFLECT_FEELING).format(feeling=feeling)
            return self._fresh(_REFLECT_NO_FEELING).format(**_kw_forms(self._kw()))
        if "{summary}" in line or "{summary_inner}" in line:
            picks: list[str] = []
            for text in reversed(self.client_lines[-4:]):
                for word in reversed(_keywords(text)):
                    if word not in picks:
                        picks.append(word)
                        break
            picks = picks[:3] or ["what's been happening"]
            joined = ", ".join(picks[:-1]) + (" and " if len(picks) > 1 else "") + picks[-1]
            inner = f"you've talked about {joined}, and how much it's all been weighing on you."
            return line.replace("{summary_inner}", inner).replace(
                "{summary}", f"So far you've told me about {joined}, and it sounds like it's "
                "all been piling up on you.")
        return line.replace("{crisis_line}", _crisis_line(self.persona))

    def __call__(self, last_client: str, state: ClientState, plan: ReplyPlan | None) -> str:
        """The script's next turn, given the client's last words and the client's state."""
        self.client_lines.append(last_client)
        self.last_topics = self._topics_of(plan)
        turn = state.turn + 1
        if plan is not None and plan.boundary_fire:
            kind = self.tests[plan.boundary_fire]
            return self.script.boundary.get(kind, self.script.boundary["other"])
        risky = state.safety is not None or "pending" in state.risk.values()
        if risky and self.risk_position < len(self.script.risk):
            line = self.script.risk[self.risk_position]
            self.risk_position += 1
            return line.replace("{crisis_line}", _crisis_line(self.persona))
        line = self.script.lines[min(self.position, len(self.script.lines) - 1)]
        self.position += 1
        return self._fill(line, turn)


@dataclass(slots=True)
class ScriptRun:
    """One script played against one persona, with what it showed."""

    script: Script
    session: Session
    asked: list[tuple[int, str]]

    @property
    def final(self) -> float:
        """Trust after the last turn."""
        return self.session.trust[-1]

    @property
    def pinned_at(self) -> int | None:
        """The first student turn at which trust reached 10."""
        return next((i + 1 for i, t in enumerate(self.session.trust) if t >= 10), None)

    @property
    def unlocks(self) -> dict[str, int]:
        """Layer id -> the student turn it opened on."""
        return {e.step.plan.disclose: i + 1 for i, e in enumerate(self.session.exchanges)
                if e.step.plan.disclose}

    @property
    def repeats(self) -> int:
        """Replies said word for word earlier in the session."""
        seen: set[str] = set()
        count = 0
        for reply in self.session.replies:
            key = reply.strip().lower()
            count += key in seen
            seen.add(key)
        return count

    def unanswered(self) -> list[tuple[int, str]]:
        """Factual questions about a fact in the file whose reply did not give it."""
        persona = self.session.persona
        missing = []
        for turn, topic in self.asked:
            fact = next((f for f in persona.facts if f.topic == topic
                         or topic in (a.lower() for a in f.aliases)), None)
            if fact is None:
                continue
            exchange = self.session.exchanges[turn - 1]
            plan = exchange.step.plan
            if plan.kind in ("boundary", "safety", "risk_missed") or plan.boundary_outcome:
                continue  # another moment took the turn
            reply = exchange.reply
            said = fact.says[:40].lower() in reply.lower() or (
                fact.guarded is not None and fact.guarded[:40].lower() in reply.lower()
            )
            # A layer the question invites answers it too (a deeper answer about the same).
            deeper = plan.kind in ("disclosure", "elaboration") and bool(
                plan.topic and plan.topic.startswith("layer:")
            )
            # Or another fact whose author gave it these very words as an alias ("who's at
            # home" filed under family): the file routes the question there on purpose.
            routed = plan.fact is not None and _alias_in(persona, plan.fact, exchange.student)
            if not said and plan.fact != fact.topic and not deeper and not routed:
                missing.append((turn, topic))
        return missing


@dataclass(slots=True)
class PersonaReport:
    """The self-test of one persona."""

    persona: Persona
    runs: list[ScriptRun]
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No problems found."""
        return not self.problems


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    if not positive or not negative:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def selftest(persona: Persona, scripts: Sequence[Script] | None = None, *, seed: int = 7,
             turns: int = TURNS) -> PersonaReport:
    """Play every script against the persona and judge the result."""
    runs = []
    for script in scripts if scripts is not None else load_scripts():
        counsellor = ScriptCounsellor(script, persona, seed=seed)
        session = run_session(persona, counsellor, turns=turns, seed=seed)
        runs.append(ScriptRun(script=script, session=session, asked=counsellor.asked))
    report = PersonaReport(persona=persona, runs=runs)
    good = [r for r in runs if r.script.quality == "good"]
    poor = [r for r in runs if r.script.quality == "poor"]
    problems = report.problems
    if good and poor and min(r.final for r in good) <= max(r.final for r in poor):
        problems.append(
            f"a poor script ends with trust {max(r.final for r in poor):.1f}, not below every "
            f"good one ({min(r.final for r in good):.1f})"
        )
    deepest = persona.disclosures[-1].id
    if good and not any(deepest in r.unlocks for r in good):
        problems.append(f"no good script reaches the deepest layer '{deepest}'")
    first = persona.disclosures[0].id
    for run in poor:
        beyond = [layer for layer in run.unlocks if layer != first]
        if beyond:
            problems.append(
                f"{run.script.id} gets past the first layer (opens {', '.join(beyond)})"
            )
    for run in runs:
        if run.pinned_at is not None and run.pinned_at < PIN_BEFORE:
            problems.append(f"{run.script.id} pins trust at 10 on turn {run.pinned_at}")
        for turn, topic in run.unanswered():
            problems.append(f"{run.script.id} turn {turn}: the '{topic}' question was not "
                            "answered from the file's fact")
    replies = sum(len(r.session.replies) for r in runs)
    repeated = sum(r.repeats for r in runs)
    if replies and repeated / replies > MAX_REPEATS:
        problems.append(f"{repeated} of {replies} replies repeat an earlier one word for word")
    return report


def _sparkline(values: Sequence[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    return "".join(bars[min(7, int(v / 10 * 8))] for v in values)


def format_report(report: PersonaReport) -> list[str]:
    """Printable lines for one persona's self-test."""
    persona = report.persona
    lines = [f"{persona.id} (difficulty {persona.difficulty}): "
             f"{'PASS' if report.passed else 'FAIL'}"]
    for run in report.runs:
        unlocks = " ".join(f"{layer}@{turn}" for layer, turn in run.unlocks.items()) or "-"
        lines.append(
            f"  {run.script.id:<16} {run.session.trust[0]:>4.1f} → {run.final:>4.1f} "
            f"{_sparkline(run.session.trust)}  unlocks {unlocks}  repeats {run.repeats}  "
            f"facts {len(run.asked) - len(run.unanswered())}/{len(run.asked)} asked"
        )
    lines.extend(f"  problem: {p}" for p in report.problems)
    return lines

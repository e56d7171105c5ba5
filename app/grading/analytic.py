"""The analytic grader: offline, deterministic rubric scores from analyzer codes and events.

Scores are rates, not counts, so a longer session earns nothing for being long:

* `turns` criteria (empathy, respect, ...): every counsellor turn is a chance to show the
  criterion. Each turn contributes its strongest helpful indicator and its strongest harmful one
  (max, not sum, so piling behaviours into one long turn does not add up). The net rate per turn,
  as a share of the criterion's top weight, is placed on the scale between the rubric's
  `scoring.bottom_at` and `scoring.top_at`. A counsellor who reflects on most turns and rarely
  advises reaches the top; one who mostly asks closed questions and advises sits near the bottom.
* `moments` criteria (boundaries): only the moments that test the criterion count; each
  scores from -1 (harmed) to +1 (handled as well as the top indicator) and their mean is
  placed on the scale.

Too little counsellor talk, or too few moments showing a criterion, gives "not enough
evidence" (score null) rather than a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.analysis import MECHANISMS, TurnAnalysis
from app.analysis.grounding import UNGROUNDED_RULES
from app.client.listen import parroting, stock_key
from app.grading.events import event_sentence, text_events
from app.grading.evidence import find_quote, first_sentence, sentence_around
from app.grading.feedback import (
    alternative_for,
    describe,
    has_feeling,
    quote_for_feedback,
    reflect,
    request_words,
)
from app.grading.model import (
    CriterionResult,
    EvidenceItem,
    GradeResult,
    GradingInput,
    GradingTurn,
    Suggestion,
    overall_of,
)
from app.grading.safety import assess_safety
from app.grading.uptake import CONFUSED_CREDIT, CORRECTED_CREDIT, uptake
from app.rubric import Criterion, Indicator, Rubric

__all__ = ["MAX_EVIDENCE", "grade_analytic"]

# Per criterion: enough quotes to show the pattern without burying the student.
MAX_EVIDENCE = 12
_PER_SIDE = MAX_EVIDENCE // 2

# Where to find a quote for a mechanism or an event: the codes that usually carry it.
_RELATED: dict[str, tuple[str, ...]] = {
    "interpretations": ("reflection_complex", "summary", "reflection_simple", "validation"),
    "emotional_reactions": ("validation", "affirmation", "reflection_complex", "safety_response"),
    "explorations": ("question_open", "question_closed", "risk_inquiry"),
    "boundary_held": ("boundary_holding",),
    "boundary_crossed": ("boundary_crossing", "self_disclosure"),
    "risk_answered": ("safety_response", "risk_inquiry"),
    "layer_unlocked": (
        "reflection_complex",
        "summary",
        "validation",
        "reflection_simple",
        "affirmation",
        "question_open",
    ),
    "withdrawal": (
        "judgement",
        "boundary_crossing",
        "minimising",
        "advice_without_permission",
        "reassurance",
        "question_closed",
        "self_disclosure",
    ),
}


# Not frozen: hundreds are made per grade, and a frozen dataclass pays a call per field set.
@dataclass(slots=True)
class _Hit:
    """One indicator seen in one counsellor turn (never changed once made)."""

    turn: int
    indicator: Indicator
    strength: float  # 1 for codes and events; 0.5 or 1 for a weak or strong mechanism
    detail: str | None
    # Stored, not derived on each read: ranking hits reads them hundreds of times a grade.
    value: float  # abs(indicator.weight) * strength
    positive: bool  # indicator.weight > 0


@dataclass(slots=True)  # not frozen, like _Hit: cheaper to build, and never changed once made
class _TurnSignals:
    turn: GradingTurn
    analysis: TurnAnalysis
    codes: frozenset[str]
    events: dict[str, str | None]
    # Worked out once per grade rather than once per criterion (see _signals).
    confidence: dict[str, float]  # analysis.confidence
    key: str  # stock_key of the turn's wording
    # A turn a rubric can weigh: a skill code, an event, or a reflection of nothing the client
    # said (an attempt that missed is an opportunity, not a backchannel).
    substantive: bool
    damp: float = 1.0  # credit kept when the same wording was used before (0.5 per repeat)
    parrot: bool = False  # the turn mostly repeats the client's own words
    heard: float = 1.0  # reflection credit kept after the client's answer (see grading.uptake)
    # How surely the turn's reflection is one of the client's words (its code's confidence,
    # which grounding cuts for a reflection of things never said); 1.0 with no reflection.
    grounded: float = 1.0
    quotes: dict[str, str] = field(default_factory=dict)  # _quote's answers, by key


_REFLECTIVE = frozenset({"reflection_simple", "reflection_complex", "summary"})
PARROT_AT = 0.6
PARROT_CREDIT = 0.25
# What a parroted turn earns at PARROT_CREDIT (_hits): its reflections and every mechanism.
PARROT_DISCOUNTED = _REFLECTIVE | frozenset(MECHANISMS)
_HEARD = {"taken": 1.0, "corrected": CORRECTED_CREDIT, "confused": CONFUSED_CREDIT}


def _signals(inp: GradingInput) -> list[_TurnSignals]:
    events: dict[int, dict[str, str | None]] = {}
    empty = TurnAnalysis(codes=(), empathy={}, evidence=())
    codes = {i: a.codes for i, a in inp.analyses.items()}
    for event in [*inp.events, *text_events(inp.turns, codes=codes)]:
        events.setdefault(event.turn, {})[event.name] = event.detail
    # The latest client turn among inp.turns[:p], for every p: what inp.client_before(p)
    # answers, in one pass rather than a walk back from every counsellor turn.
    last_client: list[GradingTurn | None] = [None]
    for turn in inp.turns:
        last_client.append(turn if turn.speaker == "client" else last_client[-1])
    said: dict[str, int] = {}
    out = []
    for t in inp.counsellor_turns():
        key = stock_key(t.text)
        repeats = said.get(key, 0) if key else 0
        if key:
            said[key] = repeats + 1
        client = last_client[min(t.index, len(inp.turns))]
        analysis = inp.analyses.get(t.index, empty)
        heard = grounded = 1.0
        reflective = _REFLECTIVE & set(analysis.codes)
        # A parrot only discounts reflections and empathy (_hits): asked only of turns with
        # one, since the comparison is a good part of a grade's cost.
        parrot = (client is not None
                  and bool(reflective or any(v > 0 for v in analysis.empathy.values()))
                  and parroting(t.text, client.text) >= PARROT_AT)
        confidence = analysis.confidence  # a property worked out on each read: read it once
        if reflective:
            answer = inp.client_after(t.index)
            heard = _HEARD[uptake(answer.text if answer else None)]
            grounded = max(confidence[code] for code in reflective)
        codes_ = frozenset(analysis.codes)
        turn_events = events.get(t.index, {})
        substantive = bool(codes_ - {"other"} or turn_events
                           or any(e.source in UNGROUNDED_RULES for e in analysis.evidence))
        out.append(_TurnSignals(turn=t, analysis=analysis, codes=codes_, events=turn_events,
                                confidence=confidence, key=key,
                                substantive=substantive, damp=0.5 ** repeats, parrot=parrot,
                                heard=heard, grounded=grounded))
    return out


# An indicator's fields as _hits reads them: (indicator, code, event, mechanism, helpful,
# abs(weight)). Read off the rubric once per criterion per grade, not once per turn.
_Plan = tuple[tuple[Indicator, str | None, str | None, str | None, bool, float], ...]


def _plan(criterion: Criterion) -> _Plan:
    return tuple((i, i.code, i.event, i.mechanism, i.weight > 0, abs(i.weight))
                 for i in criterion.indicators)


def _hits(plan: _Plan, signals: _TurnSignals, *, credit: bool = True) -> list[_Hit]:
    """The indicators one turn shows, each weighed by the analyzer's confidence; the same
    wording said again, the client's words parroted back, or a reflection the client did not
    recognise, earns less."""
    found: list[_Hit] = []
    confidence = signals.confidence
    codes, events = signals.codes, signals.events
    index = signals.turn.index
    for indicator, code, event, mechanism, helpful, size in plan:
        strength = 0.0
        detail = None
        if code is not None and code in codes:
            strength = confidence.get(code, 1.0)
            if helpful and code in _REFLECTIVE:
                strength *= signals.heard * (PARROT_CREDIT if signals.parrot else 1.0)
        elif event is not None and event in events:
            strength, detail = 1.0, events[event]
        elif mechanism is not None:
            level = signals.analysis.empathy.get(mechanism, 0)
            strength = min(level, 2) / 2 * signals.heard
            if mechanism == "interpretations":
                # Understanding shown by a reflection is worth what the reflection is: one of
                # things the client never said shows no understanding of them.
                strength *= signals.grounded
            if signals.parrot:
                strength *= PARROT_CREDIT
        if strength <= 0:
            continue
        if helpful:
            if not credit:
                continue  # a turn that sided with harm earns nothing for this criterion
            strength *= signals.damp
        found.append(_Hit(index, indicator, strength, detail, size * strength, helpful))
    return found


def _strongest(hits: list[_Hit], *, positive: bool) -> _Hit | None:
    best = None
    for h in hits:
        # Strictly greater: the first of equal hits wins, as max() would pick it.
        if h.positive == positive and (best is None or h.value > best.value):
            best = h
    return best


@dataclass(frozen=True, slots=True)
class _Ranked:
    """One criterion's hits per counsellor turn, with each turn's strongest helpful and
    harmful hit found once (the scores, the evidence and the feedback all read them)."""

    per_turn: list[list[_Hit]]
    best: list[_Hit | None]
    worst: list[_Hit | None]
    worst_at: dict[int, _Hit | None]  # by turn index, for turns with any hit


def _ranked(per_turn: list[list[_Hit]]) -> _Ranked:
    best = [_strongest(hits, positive=True) for hits in per_turn]
    worst = [_strongest(hits, positive=False) for hits in per_turn]
    worst_at = {hits[0].turn: w for hits, w in zip(per_turn, worst, strict=True) if hits}
    return _Ranked(per_turn, best, worst, worst_at)


def _quote(signals: _TurnSignals, key: str) -> str:
    """A verbatim quote from the turn for this code, mechanism or event (kept per turn)."""
    quote = signals.quotes.get(key)
    if quote is None:
        quote = signals.quotes[key] = _find_quote(signals, key)
    return quote


def _find_quote(signals: _TurnSignals, key: str) -> str:
    text = signals.turn.text
    wanted = (key, *_RELATED.get(key, ()))
    for code in wanted:
        for item in signals.analysis.evidence:
            if item.code == code:
                span = find_quote(item.quote, text)
                if span:
                    # "Yes" proves little to a student reading it back: give its sentence.
                    return span if len(span.split()) >= 3 else sentence_around(text, span)
    # An event read from the words (asking what the client wants to work on, a contract):
    # the sentence that said it, not the greeting before it.
    return event_sentence(key, text) or first_sentence(text)


def _scale(rubric: Rubric, share: float) -> float:
    low, high = rubric.scale.min, rubric.scale.max
    return round(low + (high - low) * max(0.0, min(1.0, share)), 1)


def _score_turns(
    rubric: Rubric, criterion: Criterion, ranked: _Ranked, opportunities: int
) -> float:
    """Net rate of helpful over harmful behaviour per substantive turn, placed on the scale."""
    top = criterion.top_weight()
    helpful = harmful = 0.0
    for best, worst in zip(ranked.best, ranked.worst, strict=True):
        helpful += best.value if best else 0.0
        harmful += worst.value if worst else 0.0
    net = (helpful - harmful) / (top * max(1, opportunities))
    low, high = rubric.scoring.bottom_at, rubric.scoring.top_at
    return _scale(rubric, (net - low) / (high - low))


def _score_moments(rubric: Rubric, criterion: Criterion, ranked: _Ranked) -> float:
    """How well the testing moments were handled, on average, placed on the scale.

    Each moment scores from -1 (harm as bad as the top weight, or worse) to +1 (handled as
    well as the criterion's top indicator), so quietly not crossing a boundary earns less
    than holding it kindly and explicitly.
    """
    top = criterion.top_weight()
    total = 0.0
    moments = 0
    for hits, best, worst in zip(ranked.per_turn, ranked.best, ranked.worst, strict=True):
        if not hits:
            continue
        moments += 1
        net = ((best.value if best else 0.0) - (worst.value if worst else 0.0)) / top
        total += max(-1.0, min(1.0, net))
    return _scale(rubric, (total / moments + 1) / 2)


def _evidence(chosen: list[_Hit], by_turn: dict[int, _TurnSignals]) -> list[EvidenceItem]:
    items = [
        EvidenceItem(
            turn=h.turn,
            quote=_quote(by_turn[h.turn], h.indicator.key),
            code=h.indicator.key,
            effect="+" if h.positive else "-",
            confidence=(round(by_turn[h.turn].confidence.get(h.indicator.code, 1.0), 2)
                        if h.indicator.code else None),
        )
        for h in chosen
    ]
    return sorted(items, key=lambda e: (e.turn, e.effect))


def _select(ranked: _Ranked) -> tuple[list[_Hit], list[_Hit]]:
    """The strongest helpful and harmful hit of each turn, most telling first."""
    good = [h for h in ranked.best if h]
    bad = [h for h in ranked.worst if h]
    good.sort(key=lambda h: (-h.value, h.turn))
    bad.sort(key=lambda h: (-h.value, h.turn))
    return good, bad


def _capped(good: list[_Hit], bad: list[_Hit]) -> list[_Hit]:
    """At most MAX_EVIDENCE items, balanced between helpful and harmful moments."""
    keep_bad = bad[: max(_PER_SIDE, MAX_EVIDENCE - len(good))]
    keep_good = good[: MAX_EVIDENCE - len(keep_bad)]
    return keep_good + keep_bad


# Keys whose moments are about a boundary request or a risk disclosure: the client's words worth
# quoting back are the request or the disclosure itself, not their most emotional sentence.
_REQUEST_KEYS = frozenset(
    {
        "boundary_crossing",
        "boundary_crossed",
        "boundary_held",
        "boundary_holding",
        "boundary_unaddressed",
        "self_disclosure",
    }
)


def _praiseworthy(hit: _Hit, worst: _Hit | None, top: float) -> bool:
    """A strength worth naming: strong for this criterion, in a turn that did no harm to it."""
    return hit.value >= top / 2 and (worst is None or worst.value < hit.value)


def _to_work_on(
    criterion: Criterion, bad: list[_Hit], good: list[_Hit], worst_at: dict[int, _Hit | None]
) -> list[_Hit]:
    """The weakest moments: harmful ones first, then (for moments criteria) weak handling.

    A boundary test that was merely not crossed ("held" by the state machine, but with no kind
    explanation of the limit) is a moment to learn from, not one to praise.
    """
    weak = []
    if criterion.basis == "moments":
        top = criterion.top_weight()
        weak = [
            h
            for h in good
            if h.value < top / 2 and not worst_at[h.turn]
        ]
    return bad + sorted(weak, key=lambda h: h.turn)


def _suggestion(inp: GradingInput, hit: _Hit, signals: _TurnSignals) -> Suggestion:
    key = hit.indicator.key
    if key == "withdrawal":
        # The client pulled back from something in this turn: answer what caused it.
        key = next((c for c in _RELATED["withdrawal"] if c in signals.codes), key)
    asked = _test_words(inp, hit.detail) if key in _REQUEST_KEYS else None
    client = _client_words(inp, hit.turn, request=key in _REQUEST_KEYS, asked=asked)
    client_text = client.text if client else None
    alternative, why = alternative_for(
        key, client_text=client_text, persona=inp.persona, detail=hit.detail
    )
    quoted = None
    if client_text:
        quoted = request_words(client_text, asked=asked) if key in _REQUEST_KEYS else None
        quoted = quoted or quote_for_feedback(client_text)
    return Suggestion(
        turn=hit.turn,
        said=_quote(signals, key),
        client_turn=client.index if client else None,
        client_said=quoted,
        alternative=alternative,
        why=why,
    )


def _feedback(
    inp: GradingInput,
    criterion: Criterion,
    rubric: Rubric,
    score: float,
    ranked: _Ranked,
    selected: tuple[list[_Hit], list[_Hit]],
    session: _Session,
) -> tuple[str, list[str], list[Suggestion]]:
    by_turn = session.by_turn
    good, bad = selected
    top = criterion.top_weight()
    parts: list[str] = []
    praise: list[str] = []
    strengths = [h for h in good if _praiseworthy(h, ranked.worst_at[h.turn], top)]
    # Two strengths, of different kinds where the session has them: more useful than the
    # same skill praised twice.
    chosen = strengths[:1]
    if chosen:
        other = [h for h in strengths[1:] if h.indicator.key != chosen[0].indicator.key]
        chosen += (other or strengths[1:])[:1]
    for hit in chosen:
        quote = _quote(by_turn[hit.turn], hit.indicator.key)
        praise.append(
            f'At turn {hit.turn} you {describe(hit.indicator.key)}: "{quote}" {hit.indicator.note}'
        )
        parts.append(f"Went well: {praise[-1][:1].lower()}{praise[-1][1:]}")
    suggestions: list[Suggestion] = []
    for hit in _to_work_on(criterion, bad, good, ranked.worst_at):
        if len(suggestions) == 2:
            break
        if any(s.turn == hit.turn for s in suggestions):
            continue
        # Several criteria often pick the same weak moment: phrase its alternative once.
        made = (hit.turn, hit.indicator.key, hit.detail)
        if made not in session.suggested:
            session.suggested[made] = _suggestion(inp, hit, by_turn[hit.turn])
        suggestion = session.suggested[made].model_copy()
        suggestions.append(suggestion)
        context = ""
        if suggestion.client_said:
            just_before = suggestion.client_turn == hit.turn - 1
            verb = "after the client said" if just_before else "when the client had said"
            context = f' {verb} "{suggestion.client_said}"'

        action = describe(hit.indicator.key)
        if hit.positive:  # a weak moment, e.g. a boundary test let pass without a word
            action = "let the request pass without naming the limit"
        parts.append(
            f"To work on: at turn {hit.turn}{context}, you {action} "
            f'("{suggestion.said}"). {hit.indicator.note} You could try: '
            f'"{suggestion.alternative}" {suggestion.why}'
        )
    level = int(score + 0.5)
    if not suggestions and level < rubric.scale.max:
        parts.append(f"To reach the next level: {criterion.levels[level + 1]}")
    return " ".join(parts), praise, suggestions


def _test_words(inp: GradingInput, test_id: str | None) -> str | None:
    """The persona's words for a boundary test (what the client asked), when known."""
    if inp.persona is None or not test_id:
        return None
    return next((t.says for t in inp.persona.boundary_tests if t.id == test_id), None)


def _client_words(inp: GradingInput, turn: int, *, request: bool = False,
                  asked: str | None = None) -> GradingTurn | None:
    """What the client had said: the latest of their last few turns with words to use.

    A one-word answer ("Yes.") gives nothing to build an alternative from, so look back a
    little further, to what the counsellor's last moves were really responding to. For a
    boundary moment, the turn holding the client's request is the one that matters.
    """
    recent = inp.client_before(turn, back=3)
    if request:
        # The turn that made the persona's request, when known, then any turn asking one.
        opening = first_sentence(asked) if asked else None
        for client in recent:
            if opening and opening in client.text:
                return client
        for client in recent:
            if request_words(client.text):
                return client
    for client in recent:
        if has_feeling(client.text):
            return client
    for client in recent:
        if reflect(client.text):
            return client
    return recent[0] if recent else None


def _insufficient(criterion: Criterion, reason: str) -> CriterionResult:
    best = max(criterion.indicators, key=lambda i: i.weight)
    feedback = f"Not enough evidence: {reason}. To show this next time: {best.note}"
    return CriterionResult(
        id=criterion.id,
        title=criterion.title,
        score=None,
        status="insufficient_evidence",
        feedback=feedback,
    )


# A turn's best helpful evidence at this strength or more counts as a whole turn of evidence for
# the level caps; weaker evidence (a doubtful reflection) counts in proportion.
CLEAR_STRENGTH = 0.6
# The fewest turns that can show a criterion at each level: a level that claims consistency
# ("consistently accurate, deep reflections") needs the turns to be consistent across.
EVIDENCE_FOR_LEVEL = {5: 8, 4: 5, 3: 3}
# ...except that the middle needs only a third of the session's turns when that is fewer: a
# five-turn session that showed a skill clearly twice is adequate, not poor, while fourteen
# turns that showed it once are poor. (Three turns whatever the length graded brief skilled
# sessions under long unskilled ones: on the team's session corpus the shortest length
# tertile's AUROC was 0.935 that way.)
MIDDLE_SHARE = 1 / 3


def _turns_worth(shown: float) -> str:
    """'3 turns' or 'about 2.4 turns' worth of evidence, for the capped note."""
    if abs(shown - round(shown)) < 0.05:
        count = round(shown)
        return f"{count} turn{'s' if count != 1 else ''}"
    return f"about {shown:.1f} turns' worth"


def _evidence_cap(rubric: Rubric, moments: float, opportunities: int) -> float:
    """The highest score a criterion can reach on `moments` turns of evidence out of
    `opportunities` substantive turns."""
    top = rubric.scale.max
    middle = (rubric.scale.min + top) // 2 - rubric.scale.min + 1
    for level in range(top, rubric.scale.min, -1):
        rank = level - rubric.scale.min + 1
        need = EVIDENCE_FOR_LEVEL.get(rank, 0)
        if rank == middle:
            need = min(need, max(1, math.ceil(opportunities * MIDDLE_SHARE)))
        if moments >= need:
            return float(level)
    return float(rubric.scale.min + 1)


def measures(signals: list[_TurnSignals]) -> dict[str, float]:
    """Session-wide behaviour counts of the MITI kind: reflections per question, the share of
    reflections that are complex, and how varied the helpful turns are."""
    reflections = sum(bool(s.codes & _REFLECTIVE) for s in signals)
    complex_ = sum(bool(s.codes & {"reflection_complex", "summary"}) for s in signals)
    questions = sum(bool(s.codes & {"question_open", "question_closed"}) for s in signals)
    helpful = [s for s in signals if s.codes - {"other"}]
    distinct = len({s.key for s in helpful})
    return {
        "reflection_to_question": reflections / questions if questions else float(reflections),
        "complex_share": complex_ / reflections if reflections else 0.0,
        "variety": distinct / len(helpful) if helpful else 1.0,
    }


def _score_session(rubric: Rubric, criterion: Criterion, per_turn: list[list[_Hit]]) -> float:
    """Which of the criterion's indicators the session shows at all, placed on the scale."""
    shown = {h.indicator.key for hits in per_turn for h in hits}
    helpful = [i for i in criterion.indicators if i.weight > 0]
    harmful = [i for i in criterion.indicators if i.weight < 0]
    share = sum(i.weight for i in helpful if i.key in shown) / sum(i.weight for i in helpful)
    if harmful:
        share -= sum(-i.weight for i in harmful if i.key in shown) / sum(i.weight for i in helpful)
    return _scale(rubric, share)


def _assessor_rated(criterion: Criterion, ranked: _Ranked,
                    by_turn: dict[int, _TurnSignals]) -> CriterionResult:
    """A criterion only a person can judge: the analyzer's evidence as hints, no score."""
    good, bad = _select(ranked)
    hints = [f"turn {h.turn}: {describe(h.indicator.key)}" for h in (good[:2] + bad[:2])]
    feedback = ("Rated by your assessor: only a person can judge this. "
                + ("What the analyzer noticed: " + "; ".join(hints) + "." if hints else
                   "The analyzer noticed nothing either way."))
    return CriterionResult(id=criterion.id, title=criterion.title, score=None,
                           status="assessor_rated",
                           evidence=_evidence(_capped(good, bad), by_turn), feedback=feedback)


def _grade_criterion(
    inp: GradingInput, rubric: Rubric, criterion: Criterion, session: _Session,
    *, no_credit: frozenset[int] = frozenset(),
) -> CriterionResult:
    signals, by_turn = session.signals, session.by_turn
    plan = _plan(criterion)
    per_turn = [_hits(plan, s, credit=s.turn.index not in no_credit) for s in signals]
    ranked = _ranked(per_turn)
    moments = [hits for hits in per_turn if hits]
    if criterion.rated_by == "assessor":
        return _assessor_rated(criterion, ranked, by_turn)
    # Backchannels ("Mm-hmm.", "Okay.") keep the client talking but are not behaviours a rubric
    # can weigh (MITI leaves them uncoded too): only turns with a skill code are opportunities.
    # Counting them would make long, attentive sessions look thin.
    substantive = session.substantive
    if criterion.basis in ("turns", "session") and substantive < rubric.min_turns:
        return _insufficient(
            criterion,
            f"only {substantive} counsellor turn{'s' if substantive != 1 else ''} with a "
            f"recognisable skill; this rubric needs at least {rubric.min_turns}",
        )
    if criterion.basis != "session" and len(moments) < criterion.min_evidence:
        if criterion.basis == "moments" and not moments:
            reason = "nothing in the session tested this (no boundary test or risk disclosure)"
        elif criterion.basis == "moments":
            reason = f"only {len(moments)} moment tested this (needs {criterion.min_evidence})"
        else:
            shown = len(moments)
            reason = (
                f"{'none' if not shown else f'only {shown}'} of your {substantive} turns with "
                f"a recognisable skill showed or undermined it (needs {criterion.min_evidence})"
            )
        return _insufficient(criterion, reason)
    capped = None
    if criterion.basis == "turns":
        score = _score_turns(rubric, criterion, ranked, substantive)
        # Each turn counts by how sure its best helpful evidence is: three doubtful
        # reflections (confidence 0.3) are one turn's worth of showing it, not three.
        shown = sum(min(1.0, best.strength / CLEAR_STRENGTH) for best in ranked.best if best)
        limit = _evidence_cap(rubric, shown, substantive)
        if score > limit:
            score, capped = limit, (f"held at {limit:g}: {_turns_worth(shown)} showed this "
                                    "clearly, and a higher level needs it shown across more of "
                                    "the session")
        counts = session.measures()
        for cap in criterion.caps:
            if counts[cap.measure] < cap.below and score > cap.cap:
                score, capped = cap.cap, f"held at {cap.cap:g}: {cap.note}"
    elif criterion.basis == "session":
        score = _score_session(rubric, criterion, per_turn)
    else:
        score = _score_moments(rubric, criterion, ranked)
    good, bad = _select(ranked)
    feedback, praise, suggestions = _feedback(inp, criterion, rubric, score, ranked, (good, bad),
                                              session)
    if capped:
        feedback = f"{feedback} (Score {capped}.)".strip()
    return CriterionResult(
        id=criterion.id,
        title=criterion.title,
        score=score,
        evidence=_evidence(_capped(good, bad), by_turn),
        feedback=feedback,
        went_well=praise,
        suggestions=suggestions,
        capped=capped,
    )


@dataclass(slots=True)
class _Session:
    """What every criterion reads about the session, worked out once per grade."""

    signals: list[_TurnSignals]
    by_turn: dict[int, _TurnSignals]
    substantive: int  # counsellor turns a rubric can weigh
    counts: dict[str, float] | None = None  # measures(signals), when a criterion asks
    # _suggestion's answers by (turn, indicator key, detail): all it depends on in one grade.
    suggested: dict[tuple[int, str, str | None], Suggestion] = field(default_factory=dict)

    def measures(self) -> dict[str, float]:
        if self.counts is None:
            self.counts = measures(self.signals)
        return self.counts


def _session(signals: list[_TurnSignals]) -> _Session:
    return _Session(signals=signals, by_turn={s.turn.index: s for s in signals},
                    substantive=sum(1 for s in signals if s.substantive))


# With the safety assessment not finished, the overall score can be no higher than this.
NOT_YET_CAP = 3.0


def grade_analytic(inp: GradingInput, rubric: Rubric) -> GradeResult:
    """Grade one transcript against a rubric, offline and deterministically."""
    session = _session(_signals(inp))
    safety = assess_safety(inp)
    colluded = frozenset(e.turn for e in safety.evidence if e.code == "collusion")
    criteria = [_grade_criterion(inp, rubric, c, session, no_credit=colluded)
                for c in rubric.criteria]
    overall = overall_of(criteria)
    status = "ok" if overall is not None else "insufficient_evidence"
    if safety.status == "unsafe":
        # A missed or colluded-with risk is not averaged away: no overall score until an
        # assessor has looked at the session.
        overall, status = None, "blocked"
    elif safety.status == "not_yet" and overall is not None:
        overall = min(overall, NOT_YET_CAP)
    return GradeResult(
        transcript_id=inp.transcript_id,
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        engine="analytic",
        status=status,
        overall=overall,
        criteria=criteria,
        safety=safety,
    )

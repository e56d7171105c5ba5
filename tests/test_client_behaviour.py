"""The listening client across the shipped library, through the app's own turn step.

Sessions are played with the self-test's team-written scripts (app/client/scripts) and the
scripted voice, exactly as `rapport personas selftest` and the web app play them.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest

from app.analysis import ContextTurn
from app.client.scripted import compose
from app.client.selftest import PIN_BEFORE, PersonaReport, auroc, load_scripts, selftest
from app.client.state import ReplyPlan, initial_state
from app.client.turn import run_session, take_turn
from app.persona import Persona, load_library
from tests.fresh import in_fresh_process

LIBRARY = load_library(Path(__file__).resolve().parent.parent / "personas")
PERSONAS = list(LIBRARY.values())
IDS = [p.id for p in PERSONAS]


@cache
def report(persona_id: str) -> PersonaReport:
    return selftest(LIBRARY[persona_id])


def _runs(quality: str) -> list:
    return [r for p in PERSONAS for r in report(p.id).runs if r.script.quality == quality]


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_selftest_passes(persona: Persona) -> None:
    result = report(persona.id)
    assert result.passed, result.problems


def test_final_trust_separates_good_from_poor_at_equal_turns_and_early() -> None:
    good, poor = _runs("good"), _runs("poor")
    assert len(good) == len(poor) == 3 * len(PERSONAS)
    assert auroc([r.session.trust[-1] for r in good], [r.session.trust[-1] for r in poor]) >= 0.95
    assert auroc([r.session.trust[4] for r in good], [r.session.trust[4] for r in poor]) >= 0.85


def test_mixed_sessions_land_between_good_and_poor() -> None:
    mean = {q: sum(r.final for r in _runs(q)) / len(_runs(q)) for q in ("good", "mixed", "poor")}
    assert mean["poor"] < mean["mixed"] < mean["good"]


def test_no_session_is_pinned_at_ten_before_turn_15() -> None:
    pinned = [(r.session.persona.id, r.script.id, r.pinned_at)
              for q in ("good", "mixed", "poor") for r in _runs(q)
              if r.pinned_at is not None and r.pinned_at < PIN_BEFORE]
    assert not pinned


def test_verbatim_repeats_are_at_most_one_percent_of_replies() -> None:
    runs = [r for q in ("good", "mixed", "poor") for r in _runs(q)]
    replies = sum(len(r.session.replies) for r in runs)
    assert replies >= 25 * 9 * len(PERSONAS)
    assert sum(r.repeats for r in runs) / replies <= 0.01


def test_every_scripted_factual_question_about_a_fact_is_answered_with_it() -> None:
    asked = answered = 0
    for persona in PERSONAS:
        for run in report(persona.id).runs:
            facts = {f.topic for f in persona.facts}
            relevant = [(t, topic) for t, topic in run.asked if topic in facts]
            asked += len(relevant)
            missing = run.unanswered()
            assert not missing, (persona.id, run.script.id, missing)
            answered += len(relevant)
    assert asked >= 2 * len(PERSONAS)  # the check must actually have checked something


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_a_question_about_each_fact_gets_that_fact(persona: Persona) -> None:
    """Asked with its own first alias, every fact is told (or, below its gate, guarded)."""
    opening = [ContextTurn("client", persona.style.opening_line)]
    for fact in persona.facts:
        state = initial_state(persona).model_copy(update={"trust": 10.0})
        alias = next((a for a in fact.aliases if len(a.split()) <= 3), fact.topic)
        step = take_turn(persona=persona, state=state, history=opening,
                         student_text=f"Could you tell me about {alias}?", seed=1)
        plan = step.plan
        # The fact, or a layer the same words invite (a deeper answer to the same question).
        layer = next((d for d in persona.disclosures if d.id == plan.disclose), None)
        # A question about suicide or harm always gets the risk answer first, by design.
        risk_first = "risk_inquiry" in step.analysis.codes and plan.kind == "risk_screen"
        assert plan.fact == fact.topic or risk_first or (
            layer is not None and alias.lower() in (t.lower() for t in layer.topics)
        ), (fact.topic, alias, plan.kind, plan.lines)


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_good_reaches_the_deepest_layer_and_poor_stays_at_the_first(persona: Persona) -> None:
    runs = report(persona.id).runs
    deepest = persona.disclosures[-1].id
    assert any(deepest in r.unlocks for r in runs if r.script.quality == "good")
    for run in runs:
        if run.script.quality == "poor":
            assert set(run.unlocks) <= {persona.disclosures[0].id}, (run.script.id, run.unlocks)


@pytest.mark.parametrize("persona", PERSONAS, ids=IDS)
def test_no_layer_is_said_before_its_trust_and_turn(persona: Persona) -> None:
    gates = {layer.id: layer for layer in persona.disclosures}
    opened = 0
    for run in report(persona.id).runs:
        for turn, exchange in enumerate(run.session.exchanges, start=1):
            layer_id = exchange.step.plan.disclose
            if layer_id is None:
                continue
            layer = gates[layer_id]
            opened += 1
            # The layer's own words are in the reply the turn it opens...
            assert layer.says in exchange.reply
            # ...and its gates were open: the turn gate, and trust (a direct risk question
            # may open a risk layer up to two points early).
            slack = 2.0 if layer.risk else 0.0
            assert exchange.step.state.trust >= layer.min_trust - slack, (layer_id, turn)
            assert turn >= layer.min_turn - (3 if layer.risk else 0), (layer_id, turn)
    assert opened >= 3


def test_a_disclosure_needs_an_invitation_not_only_trust() -> None:
    persona = LIBRARY["sam-work-stress"]
    state = initial_state(persona).model_copy(update={"trust": 9.5, "turn": 12,
                                                      "unlocked": ["surface"]})
    history = [ContextTurn("client", "Work's been a lot lately. I'm not sleeping much.")]
    for text in ("You should try a sleep app.", "Do you drink coffee?", "Right. Okay."):
        step = take_turn(persona=persona, state=state, history=history, student_text=text,
                         seed=3)
        assert step.plan.disclose is None, (text, step.plan.lines)
    invited = take_turn(persona=persona, state=state, history=history,
                        student_text="What else is weighing on you at the moment?", seed=3)
    assert invited.plan.disclose is not None


def test_a_reflection_gets_the_elaboration_that_fits_its_words() -> None:
    persona = LIBRARY["sam-work-stress"]
    layer = persona.disclosures[0]
    target = next(e for e in layer.elaborations if e.topics)
    state = initial_state(persona).model_copy(update={"trust": 3.0, "turn": 3,
                                                      "unlocked": [layer.id], "thread": layer.id})
    history = [ContextTurn("client", layer.says)]
    step = take_turn(persona=persona, state=state, history=history,
                     student_text=f"So {target.topics[0]} has been really getting to you.",
                     seed=5)
    assert step.plan.lines and target.says in step.plan.lines, (target.topics, step.plan.lines)


def test_a_misnamed_feeling_is_corrected() -> None:
    persona = LIBRARY["sam-work-stress"]
    layer = next(d for d in persona.disclosures if d.feelings)
    state = initial_state(persona).model_copy(update={"trust": 4.0, "turn": 4,
                                                      "unlocked": [layer.id], "thread": layer.id})
    history = [ContextTurn("client", layer.says)]
    step = take_turn(persona=persona, state=state, history=history,
                     student_text="You sound really angry about all of it.", seed=5)
    assert step.plan.corrected == "angry"
    assert "angry" in step.plan.lines[0].lower()


def test_a_backchannel_lets_the_client_carry_on_with_the_thread() -> None:
    persona = LIBRARY["sam-work-stress"]
    layer = persona.disclosures[0]
    state = initial_state(persona).model_copy(update={"trust": 3.0, "turn": 2,
                                                      "unlocked": [layer.id], "thread": layer.id})
    step = take_turn(persona=persona, state=state,
                     history=[ContextTurn("client", layer.says)], student_text="Mm-hmm.", seed=2)
    assert step.plan.elaborate == layer.id


def test_fluent_but_unrelated_reflections_earn_nothing_and_confuse_the_client() -> None:
    persona = LIBRARY["mick-drinking"]
    nonsense = iter([
        "It sounds like you feel purple about the spaceship.",
        "So you're worried about the giraffe's birthday party.",
        "You're feeling quite seaweed about the telescope.",
        "It sounds like the lighthouse makes you feel triangular.",
        "So the submarine has you feeling sideways.",
        "You feel orange about the volcano.",
    ])
    session = run_session(persona, lambda *_: next(nonsense), turns=6)
    assert session.trust[-1] <= persona.trust.initial
    assert not session.disclosed[1:]
    for exchange in session.exchanges:
        assert not {"reflection_simple", "reflection_complex"} & set(exchange.step.analysis.codes)
    confused = [e for e in session.exchanges if e.step.plan.kind == "confused"]
    assert len(confused) >= 4  # the client says it does not follow, in its own words


def test_a_stock_phrase_repeated_earns_less_each_time() -> None:
    persona = LIBRARY["shane-mandated"]
    session = run_session(persona, lambda *_: "That makes sense.", turns=14)
    deltas = [e.step.plan.trust_after - e.step.plan.trust_before for e in session.exchanges]
    assert deltas[0] > 0 and max(deltas[3:]) < deltas[0] / 2
    assert persona.disclosures[-1].id not in session.disclosed


def test_a_rupture_withdraws_and_an_apology_repairs() -> None:
    persona = LIBRARY["sam-work-stress"]
    lines = iter(["What's brought you in today?", "So work has been a lot lately.",
                  "Honestly, you need to pull yourself together.",
                  "I'm sorry, that came out wrong. It sounds like you've been carrying a lot."])
    session = run_session(persona, lambda *_: next(lines), turns=4)
    judged, apology = session.exchanges[2].step, session.exchanges[3].step
    assert judged.plan.withdrawn and judged.state.rupture > 0
    assert apology.plan.reaction == "repaired" and apology.state.rupture == 0
    assert apology.plan.trust_after > apology.plan.trust_before


def seeded_replies(seed: int = 3) -> list[str]:
    """A skilled session's replies under one seed (called here and in a fresh process)."""
    persona = PERSONAS[0]
    from app.client.selftest import ScriptCounsellor

    script = next(s for s in load_scripts() if s.quality == "good")
    session = run_session(persona, ScriptCounsellor(script, persona, seed=seed), turns=12,
                          seed=seed)
    return session.replies


def test_same_seed_same_session_in_any_process() -> None:
    here = seeded_replies()
    assert in_fresh_process("tests.test_client_behaviour:seeded_replies") == here
    assert seeded_replies(seed=4) != here  # the seed matters: the check is not trivially true
    assert initial_state(PERSONAS[0]).trust == PERSONAS[0].trust.initial


def test_trust_moves_at_most_max_step_per_turn() -> None:
    for persona in PERSONAS:
        for run in report(persona.id).runs:
            for exchange in run.session.exchanges:
                plan = exchange.step.plan
                assert abs(plan.trust_after - plan.trust_before) <= persona.trust.max_step + 1e-9
                assert 0 <= plan.trust_after <= 10


def test_a_short_answer_said_back_is_parroting() -> None:
    from app.client.listen import parroting

    assert parroting("So maybe.", "Maybe.") == 1.0
    assert parroting("So, sometimes.", "Sometimes.") == 1.0
    assert parroting("What makes it a maybe?", "Maybe.") == 0.0
    assert parroting("It sounds like work has been heavy.", "Yeah.") == 0.0


def test_the_first_words_of_a_longer_answer_said_back_are_parroting() -> None:
    from app.client.listen import parroting

    # Too short for a run of three of the client's words, and still nothing of the student's.
    assert parroting("So sort of.", "Sort of. Work's been a lot lately.") == 1.0
    assert parroting("So i dunno.", "I dunno. Okay.") == 1.0
    assert parroting("So not nothing.", "Not nothing. Tired, more like.") == 1.0
    # Said back in the student's own voice, or in another order, it is a reflection.
    assert parroting("You're not sure.", "I'm not sure. It's hard to say.") == 0.0
    assert parroting("So nothing, not quite.", "Not nothing. Tired, more like.") == 0.0


def test_the_clients_own_words_said_back_are_not_answered_as_being_understood() -> None:
    persona = LIBRARY["sam-work-stress"]

    def echo(last: str, *_: object) -> str:
        return "So " + last.split(". ")[0].rstrip(".").lower() + "."

    understood = set(persona.reactions.heard)
    replies = [x.reply for seed in range(12)
               for x in run_session(persona, echo, turns=12, seed=seed).exchanges]
    assert not [r for r in replies if any(line in r for line in understood)], understood


def test_the_fuzzy_prefilter_keeps_every_phrase_rapidfuzz_would_match() -> None:
    """Skipping phrases with no piece in the turn (listen._pieces) loses no fuzzy match."""
    import random

    import numpy as np
    from rapidfuzz import fuzz, process

    from app.analysis.sentences import normalise
    from app.client import listen

    rng = random.Random(5)

    def typo(text: str, edits: int) -> str:
        chars = list(text)
        for _ in range(edits):
            at = rng.randrange(len(chars))
            kind = rng.randrange(3)
            if kind == 0:
                chars[at] = rng.choice("abcdefghijklmnopqrstuvwxyz ")
            elif kind == 1 and len(chars) > 1:
                del chars[at]
            else:
                chars.insert(at, rng.choice("abcdefghijklmnopqrstuvwxyz"))
        return "".join(chars)

    checked = matched = 0
    for persona in PERSONAS:
        pool = listen._pool(listen.persona_topics(persona))
        for phrase in rng.sample(pool.fuzzy, min(25, len(pool.fuzzy))):
            edits = rng.randrange(0, max(1, len(phrase) // 5) + 2)
            for turn in (typo(phrase, edits), f"and what about {typo(phrase, edits)} then",
                         typo(phrase, edits)[: max(3, len(phrase) // 2)]):
                norm = normalise(turn)
                scores = process.cdist(pool.fuzzy, [norm], scorer=fuzz.partial_ratio,
                                       score_cutoff=90)
                expected = {pool.fuzzy_owner[i] for i in np.flatnonzero(scores[:, 0] >= 90)}
                assert listen._fuzzy_near(pool, norm) == expected, turn
                checked += 1
                matched += len(expected)
    assert checked > 500 and matched > checked  # the typos reach the threshold, often


def _tom_so_far() -> tuple[Persona, list[ContextTurn]]:
    """Tom a few turns in, as in the browser: why he came, two short answers, the firm's end."""
    persona = LIBRARY["tom-acute-suicidal"]
    return persona, [
        ContextTurn("client", persona.style.opening_line),
        ContextTurn("counsellor", "What would you like to talk about today?"),
        ContextTurn("client", "Becky. She heard me on the phone and made me promise. I don't "
                    "break promises to Becky."),
        ContextTurn("counsellor", "Becky booked it, and you came anyway. What's been happening?"),
        ContextTurn("client", persona.disclosures[0].says),
        ContextTurn("counsellor", "Are you sleeping any better?"),
        ContextTurn("client", "No."),
        ContextTurn("counsellor", "Is Becky around much?"),
        ContextTurn("client", "Not really."),
        ContextTurn("counsellor", "Tell me a bit about the business."),
        ContextTurn("client", "Twenty-two years I ran that firm. The main contractor went bust "
                    "owing us eighty-six grand, and that was that. I had to stand in the yard "
                    "and tell nine men they'd no jobs on the Monday."),
    ]


def test_a_reflection_that_points_back_at_the_clients_story_is_not_met_with_confusion() -> None:
    """Seen in the browser: "Losing it has hit you hard." after Tom's story of the firm shares
    none of his words, was taken for a reflection of something he never said, and drew "I
    didn't say that."; one that brings in a marriage he has not mentioned still does."""
    persona, history = _tom_so_far()
    state = initial_state(persona).model_copy(update={"trust": 3.0, "turn": 5,
                                                      "unlocked": [persona.disclosures[0].id]})
    kept = take_turn(persona=persona, state=state, history=history,
                     student_text="Losing it has hit you hard.", seed=4)
    assert {"reflection_simple", "reflection_complex"} & set(kept.analysis.codes)
    assert kept.plan.kind != "confused" and kept.plan.reaction != "confused"
    missed = take_turn(persona=persona, state=state, history=history,
                       student_text="You're worried your marriage is falling apart.", seed=4)
    assert missed.analysis.codes == ("other",)
    assert missed.plan.kind == "confused"


def test_normalising_before_a_risk_question_is_part_of_asking_not_reassurance() -> None:
    """Seen in the browser: "When it's this heavy, some people think about ending their
    life." before "Is that something you've thought about?" was coded reassurance, and Tom
    withdrew from the skilled way of asking."""
    persona, history = _tom_so_far()
    state = initial_state(persona).model_copy(update={"trust": 3.0, "turn": 5,
                                                      "unlocked": [persona.disclosures[0].id]})
    text = ("When it's this heavy, some people think about ending their life. Is that "
            "something you've thought about?")
    for seed in range(6):
        step = take_turn(persona=persona, state=state, history=history, student_text=text,
                         seed=seed)
        assert step.analysis.codes == ("risk_inquiry",), step.analysis.codes
        assert not step.plan.withdrawn and step.plan.reaction != "reassured"


@pytest.mark.parametrize("question, answer", [
    ("How often does it happen?", "three times a week"),
    ("Have you had any thoughts of ending your life?", "It's not about dying"),
])
def test_a_safety_question_gets_the_line_that_answers_it(question: str, answer: str) -> None:
    """Seen in the browser: Jess's two ideation lines came in random order, so "How often?"
    got "It's not about dying..." and the question about ending her life got "three times a
    week"."""
    persona = LIBRARY["jess-self-harm"]
    layer = next(d for d in persona.disclosures if d.risk)
    history = [ContextTurn("client", persona.style.opening_line)]
    for seed in range(8):
        state = initial_state(persona).model_copy(update={
            "trust": 8.0, "turn": 9, "unlocked": [d.id for d in persona.disclosures
                                                  if not d.risk]})
        asked = take_turn(persona=persona, state=state, history=history, seed=seed,
                          student_text="When things get this hard, some young people hurt "
                                       "themselves to cope. Is that something you've done?")
        assert asked.plan.disclose == layer.id, seed
        then = take_turn(persona=persona, state=asked.state, seed=seed,
                         history=[*history, ContextTurn("client", layer.says)],
                         student_text=question)
        assert any(answer in line for line in then.plan.lines), (seed, then.plan.lines)


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p.style.conversational_style
                                     in ("reserved", "upset") and p.facts], ids=lambda p: p.id)
def test_a_fact_is_not_led_by_a_habit_that_reads_as_yes_or_no(persona: Persona) -> None:
    """Seen in the browser: "And at home, does your mum know?" got "I guess. Mum's a nurse at
    the hospital..." from Jess, whose mum knows nothing: her habit "I guess" led the fact and
    read as the answer."""
    fact = persona.facts[0]
    plan = ReplyPlan(turn=5, reaction="questioned_closed", trust_before=5.0, trust_after=5.0,
                     lines=[fact.says], kind="fact", fact=fact.topic)
    for seed in range(40):
        reply = compose(persona, plan, rng=random.Random(seed))
        before = reply[:reply.index(fact.says[:20])] if fact.says[:20] in reply else reply
        assert before == "" or before.rstrip().endswith("…"), (seed, reply)


def test_a_feeling_word_inside_a_verb_is_not_a_named_feeling() -> None:
    """Seen in the browser: "It sounds like you've been let down before." drew Priya's "I'm not
    down. I'm angry. Get it right.": "down" in "let down" was read as the feeling."""
    persona = LIBRARY["priya-angry-at-counsellor"]
    layer = persona.disclosures[1]
    state = initial_state(persona).model_copy(update={
        "trust": 3.0, "turn": 3, "unlocked": [persona.disclosures[0].id, layer.id],
        "thread": layer.id})
    history = [ContextTurn("client", layer.says)]
    for text in ("It sounds like you've been let down before.",
                 "You've had to calm down and sit through it.",
                 "So you lost your afternoon and your patience."):
        step = take_turn(persona=persona, state=state, history=history, student_text=text,
                         seed=2)
        assert step.plan.corrected is None, (text, step.plan.lines)
    # The feeling itself is still heard, and corrected where it is not the client's.
    named = take_turn(persona=persona, state=state, history=history, seed=2,
                      student_text="It sounds like you've been feeling really down about it.")
    assert named.plan.corrected == "down"


def test_an_apology_that_validates_repairs_priyas_trust() -> None:
    """Seen in the browser: after "Calm down, it's not that bad.", Priya heard "I'm sorry, that
    came out wrong. You have every right to be upset." and her trust fell: the validation
    that starts with "You" was coded a judgement."""
    persona = LIBRARY["priya-angry-at-counsellor"]
    lines = iter(["You were kept waiting and nobody explained. I'm sorry. That's not okay.",
                  "Calm down, it's not that bad.",
                  "I'm sorry, that came out wrong. You have every right to be upset."])
    session = run_session(persona, lambda *_: next(lines), turns=3)
    dismissed, apology = session.exchanges[1].step, session.exchanges[2].step
    assert dismissed.plan.withdrawn
    assert "judgement" not in apology.analysis.codes
    assert apology.plan.reaction == "repaired"
    assert apology.plan.trust_after > apology.plan.trust_before

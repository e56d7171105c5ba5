"""The analyzer v2: the shipped model on the team corpus's held-back fold, its rules, its output.

The held-back fold (one client turn in ten, chosen by a hash) is never trained on, so these
floors measure the shipped model on utterances it has not seen.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import pytest

from app.analysis import CODES, MECHANISMS, ContextTurn, analyze_turn
from app.analysis.analyzer import analyze_transcript, code_units
from app.analysis.behaviours import main_behaviour, main_behaviour_of
from app.analysis.corpus import label_counts, load_corpus
from app.analysis.features import TurnView, view_turn
from app.analysis.grounding import points_back
from app.analysis.learned import load_model
from app.analysis.rules import RULES, model_code
from app.analysis.sentences import make_sentence
from app.analysis.training import (
    Tally,
    cohen_kappa,
    corpus_digest,
    is_held_back,
    prepare,
    split_holdout,
)
from app.client.state import initial_state
from app.client.turn import take_turn
from app.persona import load_library
from tests.fresh import in_fresh_process

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "analyzer"
ROWS = load_corpus([CORPUS])
MAIN = ("reflection_simple", "reflection_complex", "question_open", "question_closed",
        "information", "advice_with_permission", "advice_without_permission", "affirmation",
        "validation", "reassurance", "minimising", "judgement", "summary", "self_disclosure")


def test_corpus_covers_every_code_and_level_in_both_registers_and_three_varieties() -> None:
    counts = label_counts(ROWS)
    assert len(ROWS) >= 3000
    for code in CODES:
        if code != "other":
            assert counts["code"][code] >= 100, code
    assert counts["code"]["other"] >= 300
    for mechanism in MECHANISMS:
        assert min(counts[mechanism][level] for level in (0, 1, 2)) >= 300, mechanism
    assert counts["register"]["spoken"] >= 1000 and counts["register"]["written"] >= 1000
    assert min(counts["variety"].values()) >= 1000


def test_shipped_model_was_trained_on_exactly_this_corpus() -> None:
    # Editing the corpus without `rapport analyzer train` makes this fail.
    files = sorted(CORPUS.glob("*.jsonl"))
    assert load_model().meta["corpus_sha256"] == corpus_digest(files)


@cache
def held_back() -> dict:
    """The shipped analyzer on every held-back row: sentence and utterance tallies."""
    _, held = split_holdout(ROWS)
    data = prepare(held)
    sentences, turns = Tally(), Tally()
    empathy = {m: Tally() for m in MECHANISMS}
    gold_b, pred_b = [], []
    for row, labels in zip(data.rows, data.labels, strict=True):
        units, levels = code_units(row.text, context=row.context)
        for unit, label in zip(units, labels, strict=True):
            sentences.add(label, unit.code)
        predicted = {u.code for u in units} - ({"other"} if len(units) > 1 else set())
        gold = set(row.codes) - ({"other"} if len(row.codes) > 1 else set())
        turns.add(gold or {"other"}, predicted or {"other"})
        gold_b.append(main_behaviour_of((s.code, s.text) for s in row.segments))
        pred_b.append(main_behaviour_of((u.code, u.text) for u in units))
        for mechanism in MECHANISMS:
            empathy[mechanism].add(str(row.empathy[mechanism]), str(levels[mechanism]))
    return {"rows": len(held), "sentences": sentences, "turns": turns, "empathy": empathy,
            "kappa": cohen_kappa(gold_b, pred_b)}


def test_the_held_back_fold_is_big_and_never_trained_on() -> None:
    figures = held_back()
    assert figures["rows"] >= 600
    assert load_model().meta["held_back_rows"] == figures["rows"]
    assert not any(is_held_back(r) for r in split_holdout(ROWS)[0])


# Floors on unseen rows; v1 (rules only) scored far under these on the same rows.
FLOORS = {
    "reflection_simple": 0.45, "reflection_complex": 0.55, "question_open": 0.75,
    "question_closed": 0.65, "information": 0.55, "advice_with_permission": 0.55,
    "advice_without_permission": 0.5, "affirmation": 0.5, "validation": 0.5,
    "reassurance": 0.45, "minimising": 0.45, "judgement": 0.5, "summary": 0.45,
    "self_disclosure": 0.5, "risk_inquiry": 0.6, "safety_response": 0.5,
    "boundary_holding": 0.5, "boundary_crossing": 0.5,
}


@pytest.mark.parametrize("code", list(FLOORS))
def test_per_code_f1_on_the_held_back_fold(code: str) -> None:
    tally = held_back()["turns"]
    assert tally.support(code) >= 5, code
    assert tally.f1(code) >= FLOORS[code], (code, round(tally.f1(code), 3))


def test_main_behaviour_kappa_and_empathy_on_the_held_back_fold() -> None:
    figures = held_back()
    assert figures["kappa"] >= 0.65
    assert figures["turns"].macro_f1(MAIN) >= 0.6
    for mechanism in MECHANISMS:
        assert figures["empathy"][mechanism].macro_f1(("0", "1", "2")) >= 0.55, mechanism


CLIENT = [ContextTurn("client", "I have a few beers after work, same as every bloke on site. "
                      "It's the missus making a big thing of it.")]


@pytest.mark.parametrize("text", ["You're in denial, Mick.",
                                  "Drinking every night is really irresponsible."])
def test_judgements_dressed_as_reflections_read_as_judgements(text: str) -> None:
    analysis = analyze_turn(text, context=CLIENT)
    assert "judgement" in analysis.codes
    assert not {"reflection_simple", "reflection_complex"} & set(analysis.codes)
    persona = load_library(ROOT / "personas")["mick-drinking"]
    state = initial_state(persona)
    step = take_turn(persona=persona, state=state, history=CLIENT, student_text=text, seed=1)
    assert step.plan.trust_after < state.trust and step.plan.reaction == "judged"


@pytest.mark.parametrize("text", [
    "It sounds like you feel purple about the spaceship.",
    "So you're worried about the giraffe's birthday party.",
    "You feel orange about the volcano.",
])
def test_a_fluent_but_unrelated_reflection_gets_no_reflection_code(text: str) -> None:
    units, _ = code_units(text, context=CLIENT)
    assert [u.code for u in units] == ["other"]
    assert units[0].source == "ungrounded_reflection"


def test_a_real_paraphrase_with_new_words_is_still_a_reflection() -> None:
    analysis = analyze_turn("You reckon it's her making a mountain out of it.", context=CLIENT)
    assert {"reflection_simple", "reflection_complex"} & set(analysis.codes)


def test_a_reflection_two_sentences_long_is_grounded_as_one() -> None:
    # The second sentence goes beyond the words, as a complex reflection does; said alone it
    # shares nothing with the client, but it continues a reflection that does.
    client = [ContextTurn("client", "My brother stopped talking to me after Dad's funeral. We "
                          "had a row about the house and now it's been two years of nothing.")]
    continuation = "And underneath it, part of you still misses him terribly."
    alone, _ = code_units(continuation, context=client)
    turn, _ = code_units("Two years of silence since the row about the house. " + continuation,
                         context=client)
    assert alone[0].confidence < 0.5
    assert turn[1].code == "reflection_complex" and turn[1].confidence >= 0.6


def test_every_code_says_what_decided_it_and_how_sure() -> None:
    analysis = analyze_turn(
        "Thanks for telling me. Are you having thoughts of ending your life? You should try "
        "to get some sleep.",
        context=[ContextTurn("client", "Some nights I think everyone would be better off.")],
    )
    assert "risk_inquiry" in analysis.codes and "advice_without_permission" in analysis.codes
    for item in analysis.evidence:
        assert item.source == "model" or item.source in RULES
        assert 0 < item.confidence <= 1
        assert item.quote in "Thanks for telling me. Are you having thoughts of ending your " \
            "life? You should try to get some sleep."
    assert next(e for e in analysis.evidence if e.code == "risk_inquiry").source == \
        "risk_question"
    assert set(analysis.confidence) == set(analysis.codes)


def test_every_rule_has_a_name_a_code_and_a_reason() -> None:
    for name, rule in RULES.items():
        assert rule.name == name and len(rule.reason) > 20
        # A rule gives a code; a veto gives none and names the codes it withholds.
        assert (rule.code in CODES) if not rule.vetoes else (
            rule.code == "" and rule.vetoes <= set(CODES))


_NO_RISK = [ContextTurn("client", "I'll try, but honestly the week's been flat out with work.")]
_RISK = [ContextTurn("client", "Some nights I think everyone would be better off without me.")]


def _view(text: str, context: list[ContextTurn]) -> TurnView:
    return view_turn(text, context)


def test_the_model_may_not_code_a_referral_as_a_safety_response_when_no_risk_was_raised() -> None:
    probs = dict.fromkeys(CODES, 0.01) | {"safety_response": 0.6, "information": 0.3}
    text = "If anything comes up before then, you can call us here at the pharmacy any time."
    assert model_code(_view(text, _NO_RISK), 0, probs)[::2] == ("information", "risk_not_raised")
    # With risk in the conversation the model's reading stands.
    assert model_code(_view(text, _RISK), 0, probs) == ("safety_response", 0.6, None)
    _, confidence, _ = model_code(_view(text, _NO_RISK), 0, probs)
    assert confidence == pytest.approx(0.3 / (sum(probs.values()) - 0.6 - 0.01))


def test_a_sentence_with_no_first_person_of_that_kind_is_not_self_disclosure() -> None:
    probs = dict.fromkeys(CODES, 0.01) | {"self_disclosure": 0.5, "safety_response": 0.3,
                                          "advice_without_permission": 0.2}
    # Vetoed twice: not the counsellor's life, and no risk for a safety response either.
    text = "Come back in two weeks and we'll see how you're feeling, I bet you'll notice a change."
    assert model_code(_view(text, _NO_RISK), 0, probs)[::2] == (
        "advice_without_permission", "no_self_in_it")
    own = "When I quit smoking myself, the first week was the worst."
    assert model_code(_view(own, _NO_RISK), 0, probs)[0] == "self_disclosure"


@pytest.mark.parametrize("text", [
    "Come back in two weeks and we'll see how you're feeling, I bet you'll notice a difference.",
    "I'm not trying to pile on, I know it's hard.",
    "If anything comes up before you see her, you can call us here at the pharmacy anytime.",
    "And there's the free parenting helpline, they're great.",
])
def test_everyday_session_talk_is_neither_a_risk_code_nor_self_disclosure(text: str) -> None:
    codes = set(analyze_turn(text, context=_NO_RISK).codes)
    assert not codes & {"self_disclosure", "safety_response", "risk_inquiry"}


def test_a_helpline_is_a_safety_response_once_risk_is_in_the_air() -> None:
    text = "Samaritans are there day or night on 116 123."
    assert "safety_response" in analyze_turn(text, context=_RISK).codes
    assert "safety_response" not in analyze_turn(text, context=_NO_RISK).codes


def test_rule_confidences_are_measured_precisions() -> None:
    precision = load_model().meta["rule_precision"]
    assert set(precision) <= set(RULES)
    assert all(0 < p <= 1 for p in precision.values())


def test_advice_after_the_client_agreed_is_advice_with_permission() -> None:
    advice = "One thing that helps some people is a wind-down hour with no screens."
    alone = analyze_turn(advice, context=[ContextTurn("client", "I just can't sleep.")])
    asked = analyze_turn(advice, context=[
        ContextTurn("counsellor", "Would it be okay if I shared a couple of ideas?"),
        ContextTurn("client", "Yeah, go on."),
    ])
    assert "advice_with_permission" in asked.codes
    assert "advice_with_permission" not in alone.codes


@pytest.mark.parametrize("asked", [
    "my flatmate moved out and i'm on my own now. what do i even do",
    "how do you make friends as an adult? genuinely asking",
    "tried melatonin, tried white noise. anyone have anything that actually works",
    "she won't talk to me. how do i help her?",
])
def test_advice_the_client_asked_for_in_their_own_words_is_permitted(asked: str) -> None:
    advice = "Join something weekly, like a class or a club, where you see the same faces."
    analysis = analyze_turn(advice, context=[ContextTurn("client", asked)])
    assert "advice_with_permission" in analysis.codes
    assert "advice_without_permission" not in analysis.codes


@pytest.mark.parametrize("text,expected", [
    ("Have you tried exercising more?", "advice_without_permission"),
    ("Have you considered keeping a sleep diary?", "advice_without_permission"),
    ("Have you tried quitting before?", "question_closed"),
    ("Have you thought about what you'd want to tell them?", "question_closed"),
])
def test_a_suggestion_dressed_as_a_question_is_advice(text: str, expected: str) -> None:
    analysis = analyze_turn(text, context=[ContextTurn("client", "I can't sleep. Work is a lot.")])
    assert expected in analysis.codes, analysis.evidence


def test_saying_you_are_stuck_is_not_asking_for_advice() -> None:
    stuck = analyze_turn("You should join something weekly, like a class or a club.",
                         context=[ContextTurn("client", "I don't know what to do any more.")])
    assert "advice_without_permission" in stuck.codes


def test_take_whatever_time_you_need_is_not_advice() -> None:
    analysis = analyze_turn("Take whatever time you need.",
                            context=[ContextTurn("client", "Sorry. I just need a minute.")])
    assert "advice_without_permission" not in analysis.codes


def test_main_behaviour_groups_codes_as_experts_do() -> None:
    assert main_behaviour(analyze_turn("What brings you here today?")) == "question"
    assert main_behaviour(analyze_turn("Mm-hmm.")) == "other"


def test_the_model_ships_in_the_wheel_and_loads_from_the_installed_package(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("rapport-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "app/analysis/data/analyzer.model" in archive.namelist()
        archive.extractall(tmp_path / "site")
    probe = (
        "import app.analysis.learned as l, json; m = l.load_model(); "
        "print(json.dumps({'file': l.__file__, 'heads': sorted(m.heads)}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    loaded = json.loads(out.stdout)
    assert loaded["file"].startswith(str(tmp_path / "site"))
    assert loaded["heads"] == ["behaviour", *sorted(MECHANISMS)]


def test_training_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    """The same rows and seed give the same file (on a slice of the corpus, to stay quick)."""
    from app.analysis.training import train_to_file

    rows = [r for r in ROWS if r.source in ("b4.jsonl",)][:600]
    files = [CORPUS / "b4.jsonl"]
    first, second = tmp_path / "a.model", tmp_path / "b.model"
    train_to_file(rows, first, files=files)
    train_to_file(rows, second, files=files)
    assert first.read_bytes() == second.read_bytes()


def test_a_model_file_reads_back_every_head_as_written(tmp_path: Path) -> None:
    import numpy as np

    from app.analysis.learned import read_model, write_model

    rng = np.random.default_rng(0)
    heads = {
        name: {"classes": classes, "features": [f"{name}:{i}" for i in range(rows)],
               "weights": rng.normal(size=(rows, len(classes))),
               "bias": rng.normal(size=len(classes))}
        for name, classes, rows in (("zeta", ("a", "b"), 7), ("alpha", ("x", "y", "z"), 5),
                                    ("mid", ("p", "q", "r", "s"), 3))
    }
    path = tmp_path / "m.model"
    write_model(path, heads=heads, meta={"features_version": 2}, vocabulary=frozenset({"w"}))
    model = read_model(path.read_bytes())
    for name, spec in heads.items():
        head = model.heads[name]
        assert head.classes == tuple(spec["classes"])
        assert np.allclose(head.weights, spec["weights"], atol=np.abs(spec["weights"]).max() / 3e4)
        features = {spec["features"][1]: 1.0}
        logits = spec["bias"] + spec["weights"][1]
        expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        assert np.allclose(list(head.probabilities(features).values()), expected, atol=1e-3)
    assert model.vocabulary == {"w"}


MICK_SAID = [
    "G'day. Leanne's got it in her head I've got a drinking problem, so here I am.",
    "I reckon I drink about the same as every other bloke I know. Few beers after work, bit "
    "more on the weekend.",
    "Eight, nine hours on the tools in the heat, you get home, crack a cold one.",
    "Go onto any job site on a Friday arvo and there's an esky out by three.",
    "Leanne's dad was a teetotaller. She's got a different idea of normal, that's all.",
]


UNRELATED = [
    "So planning the wedding has become a source of conflict.",
    "You feel overlooked at school, as if nobody notices how hard you try.",
    "So the move overseas left you feeling cut off from your friends.",
    "It sounds like your knee injury has taken away the thing you loved.",
    "You're worried about money since the car broke down.",
    "So moving house has been really stressful for you.",
]


def test_a_reflection_of_something_the_client_never_said_is_not_a_reflection() -> None:
    context = [ContextTurn("client", text) for text in MICK_SAID[-3:]]
    caught = [analyze_turn(text, context=context, client_said=MICK_SAID) for text in UNRELATED]
    # The meaning check is a crude embedding: most, not all, fluent non-reflections are caught.
    assert sum(a.codes == ("other",) for a in caught) >= 4
    assert all(e.source in ("not_taken_up", "ungrounded_reflection")
               for a in caught if a.codes == ("other",) for e in a.evidence)
    # With only one client turn in view there is too little client talk to judge.
    assert analyze_turn(UNRELATED[-1], context=context[-1:],
                        client_said=MICK_SAID[-1:]).codes != ("other",)
    grounded = analyze_turn("So Leanne sees the beers after work differently from how you do.",
                            context=context, client_said=MICK_SAID)
    assert {"reflection_simple", "reflection_complex"} & set(grounded.codes)


def test_word_vectors_relate_near_words_and_keep_far_ones_apart() -> None:
    from app.analysis.grounding import WORD_NEAR
    from app.analysis.semantics import embedder

    space = embedder()
    near = [("house", "home"), ("father", "dad"), ("heating", "heat")]
    far = [("wedding", "drink"), ("landlord", "beers"), ("gardening", "alcoholic")]
    for a, b in near:
        assert float(space.word_vector(a) @ space.word_vector(b)) >= WORD_NEAR, (a, b)
    for a, b in far:
        assert float(space.word_vector(a) @ space.word_vector(b)) < 0.3, (a, b)


def test_a_reflection_in_foreign_words_weighs_less_than_one_in_the_clients() -> None:
    from app.analysis.grounding import read_grounding
    from app.analysis.sentences import make_sentence

    said = MICK_SAID[:2]  # too little talk for the not-taken-up rule: only the weight applies
    context = [ContextTurn("client", text) for text in said]
    own = analyze_turn("So a few beers after work is what every bloke does.",
                       context=context, client_said=said)
    foreign = analyze_turn("So the landlord fixing the heating has become a real worry.",
                           context=context, client_said=said)
    mine = {"reflection_simple", "reflection_complex"}
    assert mine & set(own.codes) and mine & set(foreign.codes)
    own_weight, foreign_weight = (max(e.confidence for e in a.evidence if e.code in mine)
                                  for a in (own, foreign))
    assert foreign_weight < own_weight * 0.6
    # Numbers: the client's own number said back is a word taken up; "won't" is no topic.
    reading = read_grounding(make_sentence("So since the merger you're doing two jobs."),
                             ["They merged two teams in January and half took redundancy."])
    assert reading is not None and reading.taken_up >= 1
    negation = read_grounding(make_sentence("Your mind won't switch off at night."),
                              ["I lie awake at night going over emails."])
    assert negation is not None and "won" not in negation.topic


def test_heads_share_one_feature_index_and_score_as_with_their_own() -> None:
    """The loaded heads share one feature dict (memory); each scores as with its own index,
    the feature list the model file stores for it."""
    import gzip
    from importlib import resources

    from app.analysis.learned import Head, LearnedModel

    model = load_model()
    assert len({id(head.index) for head in model.heads.values()}) == 1
    raw = gzip.decompress(
        resources.files("app.analysis").joinpath("data", "analyzer.model").read_bytes())
    header = json.loads(raw[:raw.index(b"\n")])
    own = {
        name: Head(classes=head.classes,
                   index={f: i for i, f in enumerate(header["heads"][name]["features"])},
                   weights=head.weights, bias=head.bias)
        for name, head in model.heads.items()
    }
    alone = LearnedModel(heads=own, meta=model.meta, vocabulary=model.vocabulary)
    for row in ROWS[:300]:
        shared = code_units(row.text, context=row.context, model=model)
        separate = code_units(row.text, context=row.context, model=alone)
        assert shared[1] == separate[1], row.id
        assert [u.probabilities for u in shared[0]] == [u.probabilities for u in separate[0]]


RISK_RAISED = [
    ContextTurn("counsellor", "When you say you can't see the point, are you having thoughts "
                "of ending your life?"),
    ContextTurn("client", "I'm not going to do anything daft, if that's what you're asking. "
                "Not today, anyway."),
]


@pytest.mark.parametrize("text", [
    "Thank you for telling me that. Have you thought about how you would do it?",
    "What has kept you going so far?",
    "Do you have access to tablets at home?",
])
def test_assessing_a_risk_already_raised_is_a_risk_inquiry(text: str) -> None:
    """The codebook's plan, means and protective questions are risk inquiries, not safety
    responses (seen in the browser: the plan question was coded a safety response, and the
    client answered it "Aye. That's about it." as if thanked)."""
    analysis = analyze_turn(text, context=RISK_RAISED)
    assert "risk_inquiry" in analysis.codes
    assert "safety_response" not in analysis.codes


def test_the_same_words_with_no_risk_in_the_conversation_are_plain_questions() -> None:
    context = [ContextTurn("client", "I've been training for the half marathon since March. "
                           "Some mornings it's brutal.")]
    for text in ("What's kept you going with the training?", "Do you have a plan for race day?"):
        assert "risk_inquiry" not in analyze_turn(text, context=context).codes, text


# Eight turns about other things: the risk question is outside the six turns read closely.
_SINCE = [
    ContextTurn("counsellor", "Tell me a bit about work."),
    ContextTurn("client", "Work's fine, I suppose. It's the same every day."),
    ContextTurn("counsellor", "The same grind, day after day."),
    ContextTurn("client", "Yeah. And the flat's quiet since she left."),
    ContextTurn("counsellor", "It's quiet without her."),
    ContextTurn("client", "It is. I sit there with the telly on most nights."),
    ContextTurn("counsellor", "Evenings on your own."),
    ContextTurn("client", "Pretty much. My brother rings sometimes."),
]


@pytest.mark.parametrize("text, code", [
    ("Who could you be with this evening?", "safety_response"),
    ("What has kept you going so far?", "risk_inquiry"),
])
def test_risk_raised_early_in_the_session_is_still_in_the_conversation(
    text: str, code: str
) -> None:
    """Seen in the browser: the risk question at turn 3 had left the analyzer's window by turn
    8, so a safety-plan question was coded a plain question."""
    session = [*RISK_RAISED, *_SINCE]
    assert code in analyze_turn(text, context=session).codes
    assert code in analyze_transcript([*session, ContextTurn("counsellor", text)])[-1][1].codes
    # The same eight turns without the risk question before them: plain questions.
    assert code not in analyze_turn(text, context=_SINCE).codes


@pytest.mark.parametrize("text, back", [
    ("Losing it has hit you hard.", True),
    ("You've noticed them drifting away.", True),
    ("It sounds like the divorce settlement is weighing on you.", False),  # a frame's "it"
    ("You're frustrated that the landlord still hasn't fixed the heating.", False),
    ("It's hard when the house is so quiet.", False),
    ("You'd built that up over a long time.", True),  # "that" standing for the firm
    ("You feel that nobody at work listens.", False),  # "that" as a conjunction
    ("So this new job has been stressful.", False),  # "this" before a new thing
])
def test_a_pronoun_points_back_but_a_frames_it_does_not(text: str, back: bool) -> None:
    assert points_back(make_sentence(text)) is back


def test_a_sentence_that_starts_with_you_is_read_by_what_it_says() -> None:
    """Seen in the browser: "You have every right to be upset." was coded a judgement (the
    model had learnt "You..." statements from verdicts), and "You're overreacting, it was
    only twenty minutes." a reflection (it repeats the client's words)."""
    client = [ContextTurn("client", "I was kept waiting twenty minutes and nobody even said "
                          "sorry.")]
    expected = {
        "You have every right to be upset.": "validation",
        "You're allowed to feel angry about that.": "validation",
        "You're overreacting.": "judgement",
        "You're overreacting, it was only twenty minutes.": "judgement",
    }
    got = {text: analyze_turn(text, context=client).codes for text in expected}
    assert got == {text: (code,) for text, code in expected.items()}


def multi_sentence_probabilities() -> list[list[float]]:
    """The behaviour probabilities, to the last bit, of corpus turns of several sentences."""
    rows = [r for r in ROWS if len(r.segments) >= 2][:150]
    return [[p for u in code_units(r.text, context=r.context)[0]
             for p in u.probabilities.values()] for r in rows]


def test_the_same_turn_gets_the_same_probabilities_in_any_process() -> None:
    """Features were added in a set's order (the turn's other sentences' words), so the float
    sums behind a probability, and so the empathy heads trained on them, changed with the
    process's hash seed: `rapport analyzer train` gave a different file each run."""
    here = multi_sentence_probabilities()
    assert in_fresh_process("tests.test_analyzer:multi_sentence_probabilities",
                            hash_seed=1) == here
    assert in_fresh_process("tests.test_analyzer:multi_sentence_probabilities",
                            hash_seed=2) == here

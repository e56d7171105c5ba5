"""Lexicons the rules and features draw on: feeling words, judgement adjectives, risk terms.

Every list here is written from counselling practice and general English; none is taken from
an annotated data set.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of text."""
    return frozenset(text.split())


STOPWORDS: frozenset[str] = words(
    """a about above after again against all almost also am an and any anything are aren't
    as at be because been before being below between both but by can can't cannot could
    couldn't did didn't do does doesn't doing don't down during each even ever every few
    for from further get gets getting go going gone got had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it'd it'll it's its itself just
    kind know let's like lot lots me maybe mean might more most much must mustn't my
    myself need no nor not now of off oh ok okay on once one only or other ought our
    ours ourselves out over own pretty quite rather really right said same say says see
    she she'd she'll she's should shouldn't so some something sort still such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've thing things think this those though through to too um uh under
    until up us very was wasn't way we we'd we'll we're we've well were weren't what
    what's when when's where where's which while who who's whom why why's will with
    won't would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself
    yourselves gonna wanna gotta bit little also actually sounds sound seems seem feel
    feeling felt"""
)

# Feeling and state words (adjectives, nouns and participles a reflection would name).
FEELINGS: frozenset[str] = words(
    """afraid alone angry anger annoyed anxious anxiety ashamed awkward betrayed bitter
    blamed broken burdened burnt calm cheated confused conflicted crushed defeated
    dejected depressed depression desperate despair devastated disappointed
    disappointment discouraged disgusted distressed down drained dread dreading
    embarrassed empty envious exhausted exhaustion excited fear fearful frightened
    frustrated frustration furious grief grieving guilty guilt heartbroken helpless
    hopeful hopeless hopelessness humiliated hurt hurting ignored inadequate insecure
    irritated isolated jealous lonely loneliness lost low miserable misunderstood
    nervous numb overwhelmed overwhelming panic panicky panicked powerless pressured
    pressure proud rejected relieved relief resentful resentment restless sad sadness
    scared shame shocked stressed stress stuck tense terrified tired torn trapped uneasy
    unhappy unloved unsafe unsure upset useless vulnerable weary worn worried worry
    worthless unwanted unsupported invisible unheard judged abandoned let-down neglected
    regret guilt-ridden ambivalent uncertain hesitant reluctant shaky fragile raw
    grateful glad happy content safe hopeful"""
)

# Words naming how hard something is; "that must be exhausting" interprets an experience.
DIFFICULTY: frozenset[str] = words(
    """hard difficult tough painful awful horrible terrible scary frightening frustrating
    exhausting overwhelming lonely isolating confusing upsetting heartbreaking
    devastating stressful draining distressing unbearable rough brutal hurtful crushing
    tiring demoralising demoralizing discouraging unsettling worrying"""
)


# Evaluative adjectives that, said about the client or their actions, pass judgement.
JUDGEMENT_ADJECTIVES: frozenset[str] = words(
    """selfish irresponsible stupid lazy childish immature pathetic silly foolish reckless
    careless dramatic hysterical irrational unreasonable ungrateful weak naive dumb
    idiotic shameful unacceptable inexcusable hypocritical dishonest manipulative
    spoiled spoilt petty stubborn over-the-top attention-seeking self-centred
    self-centered self-absorbed entitled overreacting overreacted overreact paranoid
    oversensitive hypersensitive melodramatic whinging whining"""
)



# Verbs of a concrete action, used to tell directive advice from reflections of obligation.
ACTION_VERBS: frozenset[str] = words(
    """try stop start go get take make tell talk speak call ring ask cut quit drink eat
    exercise write keep avoid join find leave set put give use see visit book sign apply
    contact text email message phone walk run sleep rest relax breathe meditate focus
    change move confront report switch limit reduce drop cancel throw delete block let
    forgive apologise apologize look read listen sit plan schedule practise practice
    accept ignore remove break spend save pay buy sell stand push say do think consider"""
)

# Stems of client requests that test a professional boundary, by kind.
INVITATION_KINDS: dict[str, str] = {
    "meet": r"\b(?:coffee|a drink|drinks|a beer|lunch|dinner|a meal|meet up|meet you|hang out|"
    r"pub|quiz|gig|night out|come along|join us|you should come|come with (?:me|us)|"
    r"catch up|go out|grab (?:a|some)|get together|come (?:to|round|over)|party|wedding|"
    r"date|see you outside|outside (?:of )?(?:here|these sessions|our sessions|the sessions))\b",
    "social": r"\b(?:be friends|friends with|friend request|facebook|instagram|snapchat|"
    r"whatsapp|tiktok|twitter|linkedin|follow you|add you)\b",
    "contact": r"\b(?:your (?:personal |mobile |home |own )?(?:number|phone|mobile|email|address)|"
    r"text you|call you|message you|contact you)\b",
    "gift": r"\b(?:gift|present|got you (?:a|something)|brought (?:you|it|this|them|these|some)|"
    r"baked|for you to keep|little something|tin|cake|biscuits|cookies|flowers|chocolates)\b",
    "secret": r"\b(?:secret|promise (?:not to|you won't|me you won't)|between us|"
    r"(?:don't|not|won't|never) tell (?:anyone|anybody|my|the)|"
    r"keep (?:this|it|that) to yourself)\b",
    "touch": r"\b(?:a hug|hug you|hold my hand)\b",
    "favour": r"\b(?:lend me|borrow|a lift|give me a ride|money|write (?:me )?(?:a|the) (?:letter|"
    r"note|report|reference|sick note)|sign (?:the|a|my|this|that) (?:\w+ )?(?:form|letter|sheet|"
    r"paper)|(?:ring|call|email|text|contact) (?:my|her|him|them)|tell (?:her|him|them|my))\b",
    "frame": r"\b(?:finish early|stop early|end early|cut (?:it|this) short|leave early|"
    r"go home early|skip (?:the|next|a) session|over the phone|on the phone|phone (?:call|session)|"
    r"at night|after hours|at the weekend|on weekends|join (?:our|my) (?:server|game|group|team|"
    r"club|party|church))\b",
}

# First-person risk talk in a client turn (suicide, self-harm, not wanting to live).
CLIENT_RISK = (
    r"\b(?:suicid\w*|kill(?:ing)? myself|end(?:ing)? (?:it all|my life|it)\b|"
    r"tak(?:e|ing) my (?:own )?life|hurt(?:ing)? myself|harm(?:ing)? myself|self[- ]?harm\w*|"
    r"cut(?:ting)? myself|overdos\w*|better off (?:dead|without me)|"
    r"(?:don't|do not|didn't) want to (?:be here|be alive|live|wake up|exist|go on|be around)|"
    r"(?:wish|wished) i (?:was|were|wasn't|weren't) (?:dead|here|never born|born|alive)|"
    r"want(?:ed)? to die|no (?:point|reason) (?:in )?(?:living|going on|to live|being here)|"
    r"can't (?:go on|do this anymore|take (?:it|this) anymore)|disappear (?:forever|for good)|"
    r"not (?:be|being) (?:here|around|alive) anymore|jump (?:off|in front)|"
    r"stockpil\w*|pills? (?:saved|stashed))"
)

# Second-person or generic risk terms a counsellor might name when asking about safety.
RISK_TERMS = (
    r"(?:suicid\w*|kill(?:ing)? (?:yourself|themselves|himself|herself)|"
    r"end(?:ing)? (?:your|their|his|her|my) (?:own )?life|end(?:ing)? it all|"
    r"tak(?:e|ing) (?:your|their) (?:own )?life|hurt(?:ing)? (?:yourself|themselves)|"
    r"harm(?:ing)? (?:yourself|themselves)|self[- ]?harm\w*|cut(?:ting)? (?:yourself|themselves)|"
    r"overdos\w*|better off dead|(?:not )?want(?:ing)? to (?:die|be dead)|"
    r"not (?:wanting|want) to (?:be (?:here|alive|around)|live|wake up|go on)|"
    r"life (?:isn't|is not|wasn't) worth living|no longer (?:be )?(?:here|alive)|"
    r"not (?:being|be) (?:here|around|alive)|thoughts of (?:death|dying))"
)

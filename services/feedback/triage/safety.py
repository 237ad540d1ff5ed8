"""What a hazard model cannot know from one embedding: negation scope, hypotheticals and
second-hand reports the customer's own experience contradicts.

`screen_spans(text)` keeps the sentences that report an event of the customer's own, dropping

- negated ones: every hazard word of the sentence (`HAZARDS`, e.g. fire, smoke, sparks, shock,
  burns, cuts, choking, falls) has a negator ("no", "not", "never", "without", "n't"...)
  among the four words before it in its clause, counted again from each "or" ("no burns, the
  handle stays cool", "not a single spark or burnt smell");
- hypothetical ones: a question that asks what could happen ("Could the case melt if ...?"),
  or a worry or a condition about what might ("I worry it could overheat", "if a child
  climbed it, it might tip");
- contradicted hearsay: what others say ("reviews say", "I read", "a friend said") when the
  text answers it with the customer's own experience ("mine has been fine", "not my
  experience");
- harm the customer says the product did not cause: a sentence that denies the product's part
  ("not the leash's fault", "nothing to do with the seat", "my own fault", "pure clumsiness"),
  and the sentence before it when the denial stands alone ("I tripped on the stairs. Not the
  gate's fault."): the negation of a cause rather than of a harm word;
- every sentence of a text that says nobody was there ("nobody was in the kitchen", "empty at
  the time"): what failed harmed, or nearly harmed, no person. "Nobody was hurt" says no such
  thing: a fire nobody was hurt by is still a near miss.

The hazard classifier (`hazard`) reads what is left. `HAZARDS` also names a hazard's topic
(`topic`), and `negated` serves the failure cues of `rules`.
"""

from __future__ import annotations

import re

_PERSON = r"(?:me|him|her|us|them|you|yourself|myself|my|his|their|our|your)"
HAZARDS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "fire": r"\b(?:caught|catch(?:es|ing)?|set|on) fire\b|\bfire (?:hazard|risk)\b"
        r"|\b(?:a|the) fire\b|\bflames?\b",
        "smoke": r"\bsmok(?:e|ed|es|ing)\b",
        "spark": r"\bspark(?:s|ed|ing)?\b",
        "shock": r"\belectric(?:al)?\s+shocks?\b|\belectrocut\w*|\bzapped\b"
        rf"|\bshock(?:ed|s)? {_PERSON}\b"
        r"|\b(?:got|get|gets|gave|give|gives|giving|getting) (?:\w+ )?an? (?:\w+ )?shock\b",
        "burn": rf"\bburn(?:ed|t|s|ing)? {_PERSON}\b|\b(?:a|the|my|his|her) burns?\b"
        r"|\bburn (?:marks?|injur\w*|blisters?)\b|\bburn(?:ing|t) (?:smell|plastic|rubber)\b"
        r"|\bsmel(?:l|ls|led|lt|ling) (?:of |like )?burn\w*",
        "scald": r"\bscald\w*",
        # The thing that melts is named: melted chocolate or ice is no hazard.
        "melt": r"\b(?:plastic|case|casing|cable|cord|wires?|base|handle|jar|lid|back|plug"
        r"|socket|charger|port|bottom|housing|seal|gasket|insulation|it)\b"
        r"(?: \w+){0,3} melt(?:ed|s|ing)?\b"
        r"|\bmelt(?:ed|ing)? (?:plastic|a hole|through)\b|\bmolten\b",
        "explosion": r"\bexplo(?:de|ded|des|ding|sion)\b",
        "overheat": r"\boverheat\w*",
        "battery": r"\b(?:swelled|swollen|swelling|bulging) (?:up|battery)\b"
        r"|\bbattery (?:is |was |has |had )?(?:swell\w*|swollen|bulg\w*)",
        "cut": r"\bcut (?:me|myself|him|her|us|them)\b"
        r"|\bcut (?:\w+ )?(?:\w+ )?(?:fingers?|thumbs?|hands?|heels?|feet|foot|arms?|legs?"
        r"|palms?|skin|lips?|face|knees?)\b|\bsliced (?:my|his|her)\b|\blacerat\w*|\bshards?\b",
        "choking": r"\bchok(?:e|ed|es|ing)\b|\bswallowed\b",
        "fall": r"\b(?:i|he|she|we|they|colleague|son|daughter|kid|child|wife|husband|mum|mom"
        r"|dad) (?:fell|tripped)\b(?! in love| for)|\btook a (?:\w+ )?fall\b|\bwent down hard\b"
        r"|\bcollapsed (?:under|beneath) (?:me|him|her|us|them)\b|\bhit (?:my|his|her) head\b",
        "injury": r"\binjur(?:y|ies|ed|ing)\b|\bhospital\b|\bfractur\w*|\bsprain\w*"
        r"|\b(?:needed|got|needing|\d+) stitches\b|\bstitches in (?:my|his|her|their)\b"
        r"|\b(?:i|he|she|was|were|started|kept|finger|thumb|hand|heel|foot) (?:\w+ )?bleeding\b"
        r"|\b(?:i|he|she|finger|thumb|hand|heel|foot) bled\b|\bbruis\w+ (?:my|his|her|their)\b"
        r"|\b(?:a|big|bad|nasty) bruise\b|\bconcussion\b"
        r"|\bemergency room\b|\bhurt (?:my|his|her|their|our)\b",
    }.items()
}

_NEGATORS = frozenset(
    {"no", "not", "never", "without", "none", "zero", "nothing", "nor", "cannot", "neither", "free"}
)
# Words that end a clause: a negator before them does not reach a hazard after them.
_CLAUSE_BREAKS = frozenset(
    {"but", "and", "then", "until", "when", "though", "although", "however", "yet"}
)
_NEGATION_WINDOW = 4
_HYPOTHETICAL = re.compile(r"\b(?:could|might|would|will|can|may|if|safe)\b")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_SPLIT = re.compile(r"\s*[,;:]\s+|\s+[-\u2013\u2014]\s+")
# Harm words a negation can deny besides `HAZARDS`' ("no burns", "never tipped", "nothing
# came loose"): only used to drop a sentence whose every harm word is denied.
_HARM_WORDS = re.compile(
    r"\b(?:burns?|burnt|hot|heat|sparks?|shocks?|cuts?|sharp|edges?|tip(?:s|ped|ping)?"
    r"|wobbl\w*|falls?|fell|loose|small parts?|swallow\w*|chok\w*|pinch\w*|trap\w*|smell)\b"
)
# A fear about what could happen, not an event ("I worry it could overheat").
_WORRY = re.compile(
    r"\b(?:worr(?:y|ied|ies)|afraid|fear|concerned|scared|imagine|seems? like|i think|nervous)\b"
)
# ...unless the sentence also tells what did happen ("I was scared when it caught fire").
_EVENT = re.compile(r"\b(?:when|after|then|nearly|almost|happened|was|were|did)\b")
# A sentence that only sets a condition: "If a child climbed it, it might tip."
_CONDITION = re.compile(r"^(?:if|in case|what if|suppose|imagine)\b.*\b(?:could|might|would|may)\b")
_HEARSAY = re.compile(
    r"\b(?:reviews?|people|someone|somebody|others|a friend|my (?:neighbou?r|friend|sister"
    r"|brother|colleague)|forums?|online|rumou?rs?|apparently|reportedly|(?:i )?(?:read|heard)"
    r"|saw a video|warned)\b"
)
# The customer's own experience, answering what others say.
_OWN_EXPERIENCE = re.compile(
    r"\b(?:mine|ours|my own|for me|for us|not my experience|never (?:has|had|did)"
    r"|has(?:n't| not| been fine| been perfect)|have(?:n't| not))\b"
)
# The customer denies that the product caused the harm told beside it: the product's (or its)
# fault is denied, or the customer owns it ("my own fault"). "Not my fault" blames the product.
_NOT_CAUSED = re.compile(
    r"(?:\bnot|n't) (?:the |this |that |its |it's |it was )?(?:\w+'s )?fault\b"
    r"|\bno fault of (?:the|this|its)\b|\b(?:nothing|not anything) to do with (?:the|this|it)\b"
    r"|\bunrelated to (?:the|this|it)\b|\bnot (?:caused by|because of|due to) (?:the|this|it)\b"
    r"|(?<!not )(?<!n't )\b(?:my|his|her|our|their) (?:own )?(?:fault|doing)\b|\bclumsiness\b"
    r"|\bthat's on me\b"
)
# Nobody was there when the product failed.
_NOBODY_THERE = re.compile(
    r"\b(?:nobody|no one|no-one)(?: was| were| is| sleeps| sat| sitting| standing)?"
    r" (?:in|on|near|nearby|around|there|home|at home|using it|in the room)\b"
    r"|\b(?:it|which|they) (?:was|were) empty\b|\bempty at the time\b"
    r"|\bnothing (?:in|on) (?:there|it) but\b|\bnever (?:even )?got near (?:him|her|them|anyone)\b"
)
_WORD = re.compile(r"[a-z']+|[,;:()\-]")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character spans of a text's sentences (a line break also ends one)."""
    spans = []
    start = 0
    for gap in [*_SENTENCES.finditer(text), None]:
        end = gap.start() if gap else len(text)
        if text[start:end].strip():
            spans.append((start, end))
        start = gap.end() if gap else end
    return spans


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence, split at commas, semicolons, colons and spaced dashes; none
    when it has only one."""
    parts = [part for part in _CLAUSE_SPLIT.split(sentence) if part.strip()]
    return parts if len(parts) > 1 else []


def screen_spans(text: str, *, causes: bool = True) -> list[tuple[int, int]]:
    """The spans of the sentences that report something of the customer's own: without the
    negated, hypothetical and contradicted second-hand ones, nor harm the product did not
    cause; none when nobody was there (see the module docstring).

    With `causes=False` only negation, hypotheticals and hearsay are screened: what chooses
    the safe sentences the hazard classifier is fitted on, so that the two screens of cause
    and presence change how a text is read but not the fitted parameters (MODEL.md, "Eleventh
    round")."""
    lowered = text.lower()
    if causes and _NOBODY_THERE.search(lowered):
        return []
    contradicted = bool(_OWN_EXPERIENCE.search(lowered))
    spans = sentence_spans(text)
    sentences = [text[start:end].lower() for start, end in spans]
    not_caused = [causes and bool(_NOT_CAUSED.search(sentence)) for sentence in sentences]
    # A denial with no harm of its own ("Not the gate's fault.") is about the sentence before.
    denied_before = [
        k + 1 < len(sentences) and not_caused[k + 1] and not _harm_cues(sentences[k + 1])
        for k in range(len(sentences))
    ]
    return [
        span
        for span, sentence, denied, denied_next in zip(
            spans, sentences, not_caused, denied_before, strict=True
        )
        if not (denied or denied_next or _dropped(sentence, contradicted=contradicted))
    ]


def _harm_cues(sentence: str) -> list[re.Match[str]]:
    return [
        match
        for pattern in (*HAZARDS.values(), _HARM_WORDS)
        for match in pattern.finditer(sentence)
    ]


def _dropped(sentence: str, *, contradicted: bool) -> bool:
    if contradicted and _HEARSAY.search(sentence):
        return True
    if sentence.rstrip().endswith("?") and _HYPOTHETICAL.search(sentence):
        return True
    if _WORRY.search(sentence) and _HYPOTHETICAL.search(sentence) and not _EVENT.search(sentence):
        return True
    if _CONDITION.match(sentence.strip()):
        return True
    cues = _harm_cues(sentence)
    return bool(cues) and all(negated(sentence[: match.start()]) for match in cues)


def negated(before: str) -> bool:
    """Whether the last words of `before` (lower case), in their clause, negate what follows."""
    budget = _NEGATION_WINDOW
    for token in reversed(_WORD.findall(before)):
        if not token[0].isalpha() or token in _CLAUSE_BREAKS or budget == 0:
            return False
        if token in _NEGATORS or token.endswith("n't"):
            return True
        # "not a single spark or burnt smell": a disjunction carries the negation on.
        budget = _NEGATION_WINDOW if token in ("or", "nor") else budget - 1
    return False

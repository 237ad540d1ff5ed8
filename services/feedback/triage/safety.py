"""Safety hazards read from the text: fire, smoke, sparks, shock, burns, scalds, melting,
explosions, overheating, swollen batteries, cuts, choking, falls and injuries.

A hazard is a match of one of `HAZARDS` (word-boundary regexes, phrased so that "shocked at
how quiet", "cuts out", "fire sound" or "burn out" do not count) that is neither

- negated: a negator ("no", "not", "never", "without", "n't"...) among the four words before
  it in the same clause ("no smoke at all", "not a hint of smoke", "they never overheat"),
  counted again from each "or" ("not a single spark or burnt smell"), nor
- hypothetical: inside a question that asks what could happen ("Could the case melt if ...?").

A hazard makes an item CRITICAL whatever its rating (issue 4). The rules lean towards
reporting: a worry stated as a fact ("afraid it will catch fire") still counts.
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
_WORD = re.compile(r"[a-z']+|[,;:()\-]")


def hazards(text: str) -> list[str]:
    """The hazards a text reports, by name, in order of appearance, without repeats."""
    found: list[str] = []
    for sentence in _SENTENCES.split(text.lower()):
        if sentence.rstrip().endswith("?") and _HYPOTHETICAL.search(sentence):
            continue
        hits = sorted(
            (match.start(), name)
            for name, pattern in HAZARDS.items()
            for match in pattern.finditer(sentence)
            if not negated(sentence[: match.start()])
        )
        found.extend(name for _, name in hits if name not in found)
    return list(dict.fromkeys(found))


def is_hazard(text: str) -> bool:
    """Whether a text reports a safety hazard (see the module docstring)."""
    return bool(hazards(text))


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

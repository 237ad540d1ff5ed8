"""A short key phrase for an item, for display and user stories: "lid burn", "base leak".

A search miss's topic is its query. Otherwise the first problem term of the text, normalised
("burned" -> "burn", "leaking" -> "leak"), follows a content word: one that is not a problem
term, not a stop word and carries no sentiment (VADER's lexicon), so
"The lid gets so hot that it burned my fingers" reads "lid burn". The content word is the
nearest one before the problem term in its sentence, else the first one after it. Without a
problem term the topic is the first few content words ("kettle black" for "Does this kettle
come in black?"), or the first few words when there are none.
"""

from __future__ import annotations

import re
from functools import cache

from services.feedback.triage.safety import HAZARDS, negated
from services.feedback.triage.sentiment import sentiment_words

MAX_WORDS = 3
MAX_QUERY_WORDS = 5

# Canonical name -> pattern; hazards come first so "burned" reads "burn", not "break".
PROBLEMS: dict[str, re.Pattern[str]] = {
    **{("battery swelling" if name == "battery" else name): p for name, p in HAZARDS.items()},
    **{
        name: re.compile(pattern)
        for name, pattern in {
            "leak": r"\bleak\w*|\bpuddle\b|\bseeps?\b|\bdrips?\b",
            "crack": r"\bcrack(?:ed|s|ing)?\b|\bshatter\w*",
            "break": r"\bbroke(?:n)?\b|\bsnapp?ed\b|\bbent\b",
            "failure": r"\bstopped (?:working|heating|charging|playing)\b|\bfail\w*"
            r"|\bdead\b(?! (?:simple|easy|quiet|silent|comfy|comfortable|on|good|set))"
            r"|\bwon't (?:turn on|start)\b",
            "peeling": r"\bpeel\w*|\bdetach\w*|\bseparat\w*|\bcom(?:ing|e) apart\b",
            "sinking": r"\bsink\w*",
            "wobble": r"\bwobbl\w*|\bloose\b|\brattl\w*",
            "noise": r"\bsqueak\w*|\bcreak\w*|\bnois\w*|\bloud\b|\bhiss\w*",
            "taste": r"\btast\w*|\baftertaste\b",
            "smell": r"\bsmell\w*|\bodou?r\b",
            "yellowing": r"\byellow\w*",
            "disconnect": r"\bdisconnect\w*|\b(?:connection|signal|bluetooth) drops\b"
            r"|\bdrops? out\b|\bcut(?:s|ting)? out\b|\bpair\w*",
            "battery life": r"\bdrains?\b|\bdies\b|\bbattery (?:life|lasts)\b",
            "fit": r"\btoo (?:small|tight|big|large|narrow)\b|\bruns? (?:small|large|big)\b"
            r"|\bsiz(?:e|ing) (?:is )?(?:off|wrong)\b|\bdoesn't fit\b",
            "slip": r"\bslipp\w*|\bno grip\b|\bzero grip\b",
            "stiff": r"\bstiff\b|\bhard to (?:press|push)\b",
        }.items()
    },
}

# Function words, plus words that say little about what an item is about.
_STOP_TEXT = """
    a about above after again against all also am an and any anyone are aren't around as at
    back be because been before being below between both but by can can't come comes came
    could couldn't day days did didn't do does doesn't doing don't down during each even
    ever every few for from further get gets getting got had hadn't has hasn't have haven't
    having he her here hers herself him himself his how i i'd i'll i'm i've if in into is
    isn't it it's its itself just keep keeps kept let like lot made make makes many me might
    more most much must my myself need needs never no nor not now of off on once one only or
    other our ours ourselves out over own please put really right same say says see seems
    she should shouldn't since so some still such take than that that's the their theirs
    them themselves then there there's these they they're this those though through time
    times to too two under until up upon us use used using very via was wasn't way we we're
    were weren't what what's when where which while who whom why will with within without
    won't would wouldn't yet you you're your yours yourself three four five week weeks month
    months year years hour hours minute minutes thing things something anything everything
    item product arrived bought ordered started another absolutely slight slightly hot touch
    extremely fully exactly ago looking offer version quick quickly
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[a-z][a-z'\-]*")


@cache
def _sentiment_words() -> frozenset[str]:
    return sentiment_words()


def topic(text: str, *, kind: str | None = None) -> str:
    """A lower-case key phrase of at most a few words (empty for a text without content)."""
    lowered = " ".join(text.lower().split())
    if kind == "search_miss":
        return " ".join(lowered.split()[:MAX_QUERY_WORDS])
    problem, at, spans = _first_problem(lowered)
    words = [
        (match.start(), _singular(word))
        for match in _WORD.finditer(lowered)
        if not any(start <= match.start() < end for start, end in spans)
        and _is_content(word := _bare(match.group()))
    ]
    if problem is None:
        # A text of stop words only ("Bought two by mistake") keeps its own first words.
        chosen = [word for _, word in words[:MAX_WORDS]] or _WORD.findall(lowered)[:MAX_WORDS]
        return " ".join(dict.fromkeys(chosen))
    sentence_start = max(lowered.rfind(mark, 0, at) for mark in ".!?\n") + 1
    before = [word for position, word in words if sentence_start <= position < at]
    after = [word for position, word in words if position > at]
    part = before[-1] if before else (after[0] if after else None)
    return f"{part} {problem}" if part else problem


def _first_problem(text: str) -> tuple[str | None, int, list[tuple[int, int]]]:
    """The earliest non-negated problem term, where it starts, and the spans of all terms."""
    spans: list[tuple[int, int]] = []
    first: tuple[int, str] | None = None
    for name, pattern in PROBLEMS.items():
        for match in pattern.finditer(text):
            spans.append(match.span())
            if not negated(text[: match.start()]) and (first is None or match.start() < first[0]):
                first = (match.start(), name)
    if first is None:
        return None, -1, spans
    return first[1], first[0], spans


def _bare(word: str) -> str:
    word = word.strip("'-")
    return word[:-2] if word.endswith("'s") else word


def _is_content(word: str) -> bool:
    return len(word) >= 3 and word not in STOP_WORDS and word not in _sentiment_words()


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        return word[:-1]
    return word

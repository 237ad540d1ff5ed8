"""Pure rules of customer requirements and new-product recommendations.

- A requirement is identified by its normalised key (`requirement_key`) and its target (a
  product, a product type, or nothing). Reports of the same requirement merge into one tally.
- A recommendation (a product idea) groups the requirements with the same key across targets;
  its id is derived from the key, so it is stable.
- Demand is recency-weighted: each occurrence counts 2^(-age / half-life). It is kept as a log2
  weight relative to a fixed epoch, so adding a report never rewrites the past and ranking by
  the stored weight is ranking by today's score (every idea's score shares the same factor).
- An idea is met when an active product meets its key (every key term is among the product's
  terms) or when it was adopted as a product that is now active; a requirement is also met when
  the product it is about is active. Only unmet demand counts towards the score.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from shared import text as shared_text
from shared.errors import Conflict

HALF_LIFE_DAYS = 30.0
# Changing the half-life or the epoch invalidates stored weights: recompute them if you do.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
MAX_TEXT = 500
MAX_QUOTE = 500
MAX_QUOTES = 5
MAX_FEEDBACK_REFS = 10
# A "word" longer than this is noise; cutting it keeps every term indexable.
MAX_TERM = 100
_SECONDS_PER_DAY = 86_400.0


class Kind(StrEnum):
    """What the customer signal was: a search that found nothing, or a stated need."""

    SEARCH_MISS = "search_miss"
    REQUIREMENT = "requirement"


class Origin(StrEnum):
    """Who recorded the requirement first."""

    PERSON = "person"
    FEEDBACK = "feedback"


class Status(StrEnum):
    """Where a product manager stands on a recommendation."""

    OPEN = "open"
    DISMISSED = "dismissed"
    ADOPTED = "adopted"


# --- normalisation -----------------------------------------------------------------------------

# Function words only. Negations ("no", "not", "without") stay: "kettle without plastic" is
# not "kettle with plastic".
_STOP_WORDS = """
    a an the and or of for to in on at by from with into onto as is are was were be been it its
    this that these those there here i me my we our us you your he she they them their want
    wants wanted need needs needed would like please can could should will shall may might must
    have has had do does did some any very really just also so too which who what where when how
    than then
"""


def clean_text(text: str) -> str:
    """The text with runs of whitespace collapsed and the ends stripped."""
    return " ".join(text.split())


def stem(word: str) -> str:
    """A light English plural stemmer: kettles -> kettle, batteries -> battery, boxes -> box."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# Compared after stemming, so stemmed: "does" -> "doe" must be a stop word too.
STOP_WORDS: frozenset[str] = frozenset(stem(word) for word in _STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    """Every word of the text, lowercased and stemmed, in order (stop words included)."""
    # The words feedback clusters search misses by (`shared.text`), so both agree on none.
    return [stem(word)[:MAX_TERM] for word in shared_text.words(text)]


def key_terms(text: str) -> tuple[str, ...]:
    """The distinct meaningful words of a requirement, sorted.

    Stop words are dropped unless nothing else is left ("the who" stays "the who").
    """
    words = set(tokens(text))
    meaningful = words - STOP_WORDS
    return tuple(sorted(meaningful or words))


def requirement_key(text: str) -> str:
    """The normalised key: "Kettles with Temperature-Control!" -> "control kettle temperature".

    Empty when the text has no letters or digits at all.
    """
    return " ".join(key_terms(text))


def target_of(product_id: str | None, product_type: str | None) -> str:
    """What a requirement is about: a product wins over a product type; else nothing."""
    if product_id:
        return f"product:{product_id}"
    if product_type:
        return f"type:{product_type}"
    return "any"


# A fixed namespace: the same key gives the same recommendation id in every database.
_RECOMMENDATION_NAMESPACE = uuid.UUID("5b0c3a7e-2f43-4c1e-9d56-6a1f0e8b9c21")


def recommendation_id(key: str) -> str:
    """The stable id of the product idea behind a key (a UUIDv5 of the key)."""
    return str(uuid.uuid5(_RECOMMENDATION_NAMESPACE, key))


# --- recency weighting -------------------------------------------------------------------------


def occurrence_weight(
    occurrences: int, at: datetime, *, half_life_days: float = HALF_LIFE_DAYS
) -> float:
    """log2 of `occurrences` seen at `at`, weighted relative to EPOCH."""
    if occurrences < 1:
        raise ValueError("occurrences must be at least 1")
    age_days = (at - EPOCH).total_seconds() / _SECONDS_PER_DAY
    return math.log2(occurrences) + age_days / half_life_days


def log2_add(a: float | None, b: float | None) -> float | None:
    """log2(2^a + 2^b) without overflow; None stands for no weight at all."""
    if a is None:
        return b
    if b is None:
        return a
    high, low = max(a, b), min(a, b)
    return high + math.log2(1.0 + 2.0 ** (low - high))


def score(
    weight_log2: float | None, now: datetime, *, half_life_days: float = HALF_LIFE_DAYS
) -> float:
    """The recency-weighted count at `now`: each occurrence counts 2^(-age / half-life)."""
    if weight_log2 is None:
        return 0.0
    now_days = (now - EPOCH).total_seconds() / _SECONDS_PER_DAY
    return 2.0 ** (weight_log2 - now_days / half_life_days)


# --- merging reports of one requirement --------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One report of a requirement: from a person, or a feedback event standing for many."""

    kind: Kind
    occurrences: int
    occurred_at: datetime
    quote: str | None = None
    feedback_ref: str | None = None

    def seen_at(self, now: datetime) -> datetime:
        # A clock ahead of ours must not push demand into the future (it would never decay).
        return min(self.occurred_at, now)


@dataclass(frozen=True)
class Tally:
    """What the reports of one requirement add up to."""

    count: int
    search_miss_count: int
    first_seen: datetime
    last_seen: datetime
    quotes: tuple[str, ...]
    feedback_refs: tuple[str, ...]
    weight_log2: float

    @property
    def kind(self) -> Kind:
        """A search miss until someone states it as a requirement."""
        return Kind.SEARCH_MISS if self.search_miss_count == self.count else Kind.REQUIREMENT


def _same_quote(a: str, b: str) -> bool:
    return clean_text(a).casefold() == clean_text(b).casefold()


def add_quote(quotes: tuple[str, ...], quote: str | None) -> tuple[str, ...]:
    """Keep the first MAX_QUOTES distinct quotes (case and spacing do not make one distinct)."""
    if quote is None or not clean_text(quote) or len(quotes) >= MAX_QUOTES:
        return quotes
    if any(_same_quote(kept, quote) for kept in quotes):
        return quotes
    return (*quotes, clean_text(quote))


def _add_ref(refs: tuple[str, ...], ref: str | None) -> tuple[str, ...]:
    if ref is None or ref in refs or len(refs) >= MAX_FEEDBACK_REFS:
        return refs
    return (*refs, ref)


def new_tally(report: Report, *, now: datetime) -> Tally:
    """The tally of a requirement's first report."""
    seen = report.seen_at(now)
    return Tally(
        count=report.occurrences,
        search_miss_count=report.occurrences if report.kind is Kind.SEARCH_MISS else 0,
        first_seen=seen,
        last_seen=seen,
        quotes=add_quote((), report.quote),
        feedback_refs=_add_ref((), report.feedback_ref),
        weight_log2=occurrence_weight(report.occurrences, seen),
    )


def merge(tally: Tally, report: Report, *, now: datetime) -> Tally:
    """Add a report: count grows, first/last seen widen, quotes and refs fill up to their cap."""
    seen = report.seen_at(now)
    weight = log2_add(tally.weight_log2, occurrence_weight(report.occurrences, seen))
    assert weight is not None
    return Tally(
        count=tally.count + report.occurrences,
        search_miss_count=tally.search_miss_count
        + (report.occurrences if report.kind is Kind.SEARCH_MISS else 0),
        # Reports may arrive out of order: min and max, not first and last received.
        first_seen=min(tally.first_seen, seen),
        last_seen=max(tally.last_seen, seen),
        quotes=add_quote(tally.quotes, report.quote),
        feedback_refs=_add_ref(tally.feedback_refs, report.feedback_ref),
        weight_log2=weight,
    )


# --- matching active products ------------------------------------------------------------------


def _present(value: object) -> bool:
    # Identity for False: 0 == False, and 0 is a real value.
    return not (value is None or value is False or value == "" or value == [] or value == {})


def _words_of_value(value: object) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str | int | float):
        return tokens(str(value))
    if isinstance(value, list | tuple):
        return [word for item in value for word in _words_of_value(item)]
    return []


def product_terms(
    *, name: str, product_type: str, attributes: Mapping[str, object]
) -> frozenset[str]:
    """The words an active product answers to: its name, its type code, and its attributes.

    An attribute contributes its name when it has a value (`temperature_control: true` answers
    "temperature control", `false` does not) and the words of string, number or list values.
    """
    words = tokens(name) + tokens(product_type)
    for attribute, value in attributes.items():
        if _present(value):
            words += tokens(attribute) + _words_of_value(value)
    return frozenset(words)


# --- demand of a product idea ------------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    """What a product idea's requirements add up to; only unmet ones carry weight."""

    count: int
    unmet_count: int
    search_miss_count: int
    requirement_count: int
    weight_log2: float | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Part:
    """One requirement behind an idea, as the idea's demand sees it."""

    tally: Tally
    met_by_product: bool


def summarise(parts: Iterable[Part], *, matched: bool) -> Demand | None:
    """The idea's demand from all of its requirements (None when it has none)."""
    demand: Demand | None = None
    for part in parts:
        unmet = not matched and not part.met_by_product
        tally = part.tally
        if demand is None:
            demand = Demand(
                count=tally.count,
                unmet_count=tally.count if unmet else 0,
                search_miss_count=tally.search_miss_count,
                requirement_count=1,
                weight_log2=tally.weight_log2 if unmet else None,
                first_seen=tally.first_seen,
                last_seen=tally.last_seen,
            )
            continue
        demand = Demand(
            count=demand.count + tally.count,
            unmet_count=demand.unmet_count + (tally.count if unmet else 0),
            search_miss_count=demand.search_miss_count + tally.search_miss_count,
            requirement_count=demand.requirement_count + 1,
            weight_log2=log2_add(demand.weight_log2, tally.weight_log2 if unmet else None),
            first_seen=min(demand.first_seen, tally.first_seen),
            last_seen=max(demand.last_seen, tally.last_seen),
        )
    return demand


def add_report(
    demand: Demand | None, report: Report, *, now: datetime, unmet: bool, new_requirement: bool
) -> Demand:
    """The idea's demand after one more report of one of its requirements (None: the first)."""
    seen = report.seen_at(now)
    occurrences = report.occurrences
    weight = occurrence_weight(occurrences, seen) if unmet else None
    if demand is None:
        demand = Demand(0, 0, 0, 0, None, first_seen=seen, last_seen=seen)
    return replace(
        demand,
        count=demand.count + occurrences,
        unmet_count=demand.unmet_count + (occurrences if unmet else 0),
        search_miss_count=demand.search_miss_count
        + (occurrences if report.kind is Kind.SEARCH_MISS else 0),
        requirement_count=demand.requirement_count + (1 if new_requirement else 0),
        weight_log2=log2_add(demand.weight_log2, weight),
        first_seen=min(demand.first_seen, seen),
        last_seen=max(demand.last_seen, seen),
    )


def sample_quotes(quote_lists: Iterable[Iterable[str]]) -> list[str]:
    """Up to MAX_QUOTES distinct quotes, taken in the order given (strongest evidence first)."""
    kept: tuple[str, ...] = ()
    for quotes in quote_lists:
        for quote in quotes:
            kept = add_quote(kept, quote)
    return list(kept)


# --- a product manager's decision on an idea ---------------------------------------------------


def dismiss(status: Status) -> Status:
    """Only an open idea can be dismissed."""
    status = Status(status)
    if status is not Status.OPEN:
        raise Conflict(
            f"this recommendation is {status.value}; only an open one can be dismissed",
            current_status=status.value,
        )
    return Status.DISMISSED


def adopt(status: Status) -> Status:
    """An open or dismissed idea can be adopted as a product, once."""
    status = Status(status)
    if status is Status.ADOPTED:
        raise Conflict(
            "this recommendation was already adopted as a product", current_status=status.value
        )
    return Status.ADOPTED

"""A finding written up as a user story: templates over its kind, topic, product and items.
Deterministic (no language model): the same finding always gives the same story. No I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.feedback.findings.domain import quote_of
from services.feedback.triage import Category, Severity, rank

MAX_CRITERIA = 5
_QUOTE = 200

_PERSONA_BY_KIND = {
    "review": "{type} owner",
    "return": "customer who returned a {type}",
    "support_ticket": "{type} owner who asked support for help",
    "question": "shopper considering a {type}",
}

_WANT = {
    Category.DEFECT: "the {product} to work without problems with {topic}",
    Category.MODIFICATION_REQUEST: "a change to the {product}'s {topic}",
    Category.REQUIREMENT: "the {product} to offer {topic}",
    Category.QUESTION: "clear information about {topic} before I buy the {product}",
    Category.PRAISE: "the {product}'s {topic} kept as it is",
    Category.OTHER: "my feedback about {topic} on the {product} looked into",
}

_BENEFIT = {
    Category.DEFECT: "I can rely on it every day",
    Category.MODIFICATION_REQUEST: "it fits the way I actually use it",
    Category.REQUIREMENT: "it meets my needs and I need not look elsewhere",
    Category.QUESTION: "I can decide with confidence",
    Category.PRAISE: "I keep getting what I chose it for",
    Category.OTHER: "my experience with it improves",
}

_CRITERION = {
    Category.DEFECT: "The problem reported as “{quote}” no longer occurs",
    Category.MODIFICATION_REQUEST: "The change asked for in “{quote}” is made",
    Category.REQUIREMENT: "The need in “{quote}” is met",
    Category.QUESTION: "The product page answers “{quote}”",
    Category.PRAISE: "What customers value in “{quote}” still holds",
    Category.OTHER: "The feedback “{quote}” has been answered",
}


@dataclass(frozen=True)
class StoryItem:
    """One item of the finding as the story needs it."""

    kind: str
    quote: str
    severity: str


@dataclass(frozen=True)
class UserStory:
    title: str
    persona: str
    want: str
    benefit: str
    story: str
    acceptance_criteria: list[str]


def user_story(
    *,
    kind: str,
    topic: str,
    severity: str,
    product_name: str | None,
    product_type: str | None,
    items: Sequence[StoryItem],
) -> UserStory:
    """ "As a <persona>, I want <goal>, so that <benefit>", with acceptance criteria quoting
    the finding's distinct items, most severe first."""
    category = Category(kind)
    product = product_name or (f"{product_type}" if product_type else "product")
    type_label = (product_type or "product").replace("_", " ")
    persona = _persona(items, type_label)
    want = _WANT[category].format(product=product, topic=topic)
    benefit = _BENEFIT[category]
    critical = Severity(severity) is Severity.CRITICAL
    if category is Category.DEFECT and critical:
        want = f"the {product} to be safe to use, without {topic} problems"
        benefit = "I can use it without risk of injury or damage"
    criteria = [_CRITERION[category].format(quote=quote) for quote in _distinct_quotes(items)]
    if category is Category.DEFECT:
        criteria.append(f"No new reports about {topic} arrive after the fix is released")
    return UserStory(
        title=f"{category.value.replace('_', ' ').capitalize()}: {topic} ({product})",
        persona=persona,
        want=want,
        benefit=benefit,
        story=f"As a {persona}, I want {want}, so that {benefit}.",
        acceptance_criteria=criteria,
    )


def _persona(items: Sequence[StoryItem], type_label: str) -> str:
    kinds = Counter(item.kind for item in items if item.kind in _PERSONA_BY_KIND)
    if not kinds:
        return f"customer interested in a {type_label}"
    # Most common kind; ties go to the order of _PERSONA_BY_KIND, so the result is stable.
    order = list(_PERSONA_BY_KIND)
    dominant = max(kinds, key=lambda k: (kinds[k], -order.index(k)))
    return _PERSONA_BY_KIND[dominant].format(type=type_label)


def _distinct_quotes(items: Sequence[StoryItem]) -> list[str]:
    ranked = sorted(items, key=lambda item: -rank(item.severity))
    seen: set[str] = set()
    quotes = []
    for item in ranked:
        text = quote_of(item.quote, limit=_QUOTE)
        key = "".join(ch for ch in text.casefold() if ch.isalnum())
        if not key or key in seen:
            continue
        seen.add(key)
        quotes.append(text)
        if len(quotes) == MAX_CRITERIA:
            break
    return quotes

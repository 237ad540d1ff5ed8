"""Pure rules for cases for and against a product, and the decision taken on them.

A decision is kept as a history; the latest one is the product's current decision.

Rules:
- `adopt` and `reject` need at least one case on the product (a decision is argued, not
  guessed). `defer` needs none: "we do not know enough yet" is exactly the decision to take
  when nobody has made a case, and forcing a placeholder case would only fake the evidence.
- A product whose current decision is `reject` cannot move to `active` (nor can its
  variants); a later `adopt` or `defer` lifts that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from services.catalog.domain import Lifecycle
from shared.errors import Conflict, Invalid

MAX_EVIDENCE = 20
MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 200


class Stance(StrEnum):
    """Which way a case argues."""

    FOR = "for"
    AGAINST = "against"


class Outcome(StrEnum):
    """What the product manager decided."""

    ADOPT = "adopt"
    REJECT = "reject"
    DEFER = "defer"


@dataclass(frozen=True)
class Evidence:
    """A link backing a case, with an optional title."""

    url: str
    title: str | None = None


@dataclass(frozen=True)
class Decision:
    """A recorded decision, as the rules need to see it."""

    outcome: Outcome
    rationale: str
    decided_by: str
    decided_by_name: str
    decided_at: datetime

    def as_problem(self) -> dict[str, Any]:
        """The decision as a JSON object for a problem body."""
        return {
            "outcome": self.outcome.value,
            "rationale": self.rationale,
            "decided_by": {"subject": self.decided_by, "name": self.decided_by_name},
            "decided_at": self.decided_at.isoformat().replace("+00:00", "Z"),
        }


def validate_evidence_url(url: str) -> str:
    """Return the stripped URL if it is an absolute http(s) URL with a host, else raise."""
    value = url.strip() if isinstance(url, str) else ""
    if not value:
        raise Invalid("an evidence URL cannot be empty", field="evidence")
    if len(value) > MAX_URL_LENGTH:
        raise Invalid(f"an evidence URL has at most {MAX_URL_LENGTH} characters", field="evidence")
    # Whitespace or control characters inside a URL are never meant: reject, do not encode.
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise Invalid(f"invalid evidence URL {value!r}: it contains spaces", field="evidence")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise Invalid(f"invalid evidence URL {value!r}: {exc}", field="evidence") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise Invalid(
            f"invalid evidence URL {value!r}: only http and https links are accepted",
            field="evidence",
        )
    if not hostname:
        raise Invalid(f"invalid evidence URL {value!r}: it has no host", field="evidence")
    return value


def normalize_evidence(items: Sequence[Evidence]) -> tuple[Evidence, ...]:
    """Validate each link, strip titles (blank means none) and reject repeated URLs."""
    if len(items) > MAX_EVIDENCE:
        raise Invalid(f"a case has at most {MAX_EVIDENCE} evidence links", field="evidence")
    result: list[Evidence] = []
    seen: set[str] = set()
    for item in items:
        url = validate_evidence_url(item.url)
        if url in seen:
            raise Invalid(f"evidence URL {url!r} is listed twice", field="evidence")
        seen.add(url)
        title = item.title.strip() if item.title else None
        if title and len(title) > MAX_TITLE_LENGTH:
            raise Invalid(
                f"an evidence title has at most {MAX_TITLE_LENGTH} characters", field="evidence"
            )
        result.append(Evidence(url=url, title=title or None))
    return tuple(result)


class NoCases(Conflict):
    """An adopt or reject decision on a product nobody has argued for or against."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(
            f"cannot {outcome.value} a product without a case: add one with "
            "POST /v1/products/{id}/cases (stance for or against) first, "
            "or record a defer decision",
            outcome=outcome.value,
            cases_for=0,
            cases_against=0,
        )


def check_decision(outcome: Outcome, *, cases_for: int, cases_against: int) -> None:
    """Raise NoCases unless the outcome may be recorded with these case counts."""
    outcome = Outcome(outcome)
    if outcome is not Outcome.DEFER and cases_for + cases_against == 0:
        raise NoCases(outcome)


class ProductRejected(Conflict):
    """A move to active refused because the product's current decision is reject."""

    def __init__(self, decision: Decision, *, what: str = "product") -> None:
        super().__init__(
            f"cannot make the {what} active: the product was rejected by "
            f"{decision.decided_by_name or decision.decided_by} on "
            f"{decision.decided_at.date().isoformat()} ({decision.rationale!r}); "
            "record a new decision (adopt) first",
            decision=decision.as_problem(),
        )
        self.decision = decision


def check_lifecycle(current: Decision | None, to: Lifecycle, *, what: str = "product") -> None:
    """Raise ProductRejected for a move to active under a current reject decision."""
    if (
        Lifecycle(to) is Lifecycle.ACTIVE
        and current is not None
        and current.outcome is Outcome.REJECT
    ):
        raise ProductRejected(current, what=what)


def count_stances(stances: Mapping[str, int]) -> tuple[int, int]:
    """(cases for, cases against) from a stance -> count mapping."""
    return stances.get(Stance.FOR.value, 0), stances.get(Stance.AGAINST.value, 0)

"""Storefront customer events: one pydantic model per kind, and the per-event validation of a
batch. Pure: no I/O.

A batch is validated straight from its JSON bytes in one call of a `TypeAdapter` (the common
case: every event is good), with the field rules (patterns, lengths, RFC 3339 times) checked
inside pydantic-core rather than by Python callbacks. Only when some events fail are they
split out by index and the rest validated again, so each event stands or falls on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from services.feedback.surveys.domain import MAX_ANSWERS, MAX_FREE_TEXT, MAX_OPTIONS
from shared import accounts, product_ids
from shared.clock import utc_now
from shared.money import MoneyInMinorUnits
from shared.settings import Settings
from shared.unstorable import NUL_MESSAGE

MAX_EVENTS = 1000
MAX_TEXT = 5000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
KINDS = (
    "review",
    "return",
    "support_ticket",
    "question",
    "search_miss",
    "purchase",
    "survey_response",
)
# What pricing counts as sales: only keys with `SALES_SCOPE` may send them (security issue
# 12, finding 5).
SALES_KINDS = frozenset({"purchase", "return"})
SALES_SCOPE = "feedback:ingest-sales"

# C0 controls but TAB, LF and CR (HTML forms send line breaks as CRLF), DEL, C1 controls.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Free text: no control character, and at least one character that is not a space.
_TEXT = rf"^[^{_CONTROL}]*[^{_CONTROL}\s][^{_CONTROL}]*$"
_EVENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
# The catalog's SKU rule (services/catalog/domain.py), so a resolvable sku looks the same.
_SKU = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

# What a pattern mismatch means, by field (pydantic would only quote the pattern).
_PATTERN_MESSAGES = {
    "event_id": "must be 1-128 of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
    "product_id": product_ids.RULE,
    "account": accounts.RULE,
    "sku": "must be an SKU: 1-64 of A-Z, a-z, 0-9, '.', '_' or '-'",
    "survey_id": "must be a survey's id (as POST /v1/surveys gave it)",
    "answers": "a question key is 1-32 of a-z, 0-9 or '_', starting with a letter",
}
_ANSWER = (
    f"an answer is a whole number, a text of at most {MAX_FREE_TEXT} characters or a list "
    f"of at most {MAX_OPTIONS} option texts (each at most 100 characters, none blank)"
)
_TIME_ERRORS = {"datetime_type", "datetime_parsing", "timezone_aware", "datetime_from_date_parsing"}
_RFC3339 = "must be an RFC 3339 date-time with a zone, e.g. 2025-05-01T09:30:00Z"


_FreeText = Annotated[str, Strict(), StringConstraints(pattern=_TEXT)]
Text = Annotated[_FreeText, StringConstraints(max_length=MAX_TEXT)]
Subject = Annotated[_FreeText, StringConstraints(max_length=200)]
Reason = Annotated[_FreeText, StringConstraints(max_length=500)]
Query = Annotated[_FreeText, StringConstraints(max_length=500)]
CustomerRef = Annotated[_FreeText, StringConstraints(max_length=128)]
EventId = Annotated[str, Strict(), StringConstraints(pattern=_EVENT_ID)]
# The catalog's rule (`shared.product_ids`): an id it could not store is refused here, not
# dead-lettered there.
ProductId = product_ids.ProductId
Sku = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, pattern=_SKU)]
# Strict JSON datetimes are RFC 3339 strings (a number or a date alone is refused); the
# window (not future, not before 2000) is checked once per batch in `check_batch`.
OccurredAt = Annotated[AwareDatetime, Strict()]
# Strict: a rating of "5" or 4.5 is the client's bug, not ours to guess.
Rating = Annotated[int, Strict(), Field(ge=1, le=5)]
Quantity = Annotated[int, Strict(), Field(ge=1, le=1_000_000)]
# The B2B customer or customer group behind a sale (issue 14 part 3). Only the sales kinds
# carry it: they are what pricing attributes to accounts, and only keys allowed to send
# sales may say whose they are; on the other kinds it is refused as an unknown field.
Account = accounts.Account
# A survey's id (the UUIDs `POST /v1/surveys` issues; the survey itself is checked later).
SurveyId = Annotated[str, Strict(), StringConstraints(pattern=r"^[A-Za-z0-9-]{1,36}$")]
Segment = Annotated[_FreeText, StringConstraints(max_length=64)]
AnswerKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# An answer's shape only (a number, a text, a list of options); whether it fits its question
# is checked against the survey (`surveys.domain.check_answers`).
Answer = (
    Annotated[int, Strict()]
    | Annotated[_FreeText, StringConstraints(max_length=MAX_FREE_TEXT)]
    | Annotated[
        list[Annotated[_FreeText, StringConstraints(max_length=100)]],
        Field(max_length=MAX_OPTIONS),
    ]
)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    occurred_at: OccurredAt
    product_id: ProductId | None = None
    sku: Sku | None = None
    customer_ref: CustomerRef

    needs_product: ClassVar[bool] = True

    @model_validator(mode="after")
    def _product(self) -> _Event:
        if self.product_id is None and self.sku is None and self.needs_product:
            raise PydanticCustomError(
                "product_missing", "name the product: give product_id or sku (or both)"
            )
        return self


class Review(_Event):
    kind: Literal["review"]
    rating: Rating
    text: Text | None = None


class Return(_Event):
    kind: Literal["return"]
    reason: Reason
    # The units that came back; one when not named.
    quantity: Quantity | None = None
    account: Account | None = None
    text: Text | None = None


class SupportTicket(_Event):
    kind: Literal["support_ticket"]
    subject: Subject
    text: Text
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class Question(_Event):
    kind: Literal["question"]
    text: Text


class SearchMiss(_Event):
    """A search that found nothing: it is about a product the store lacks, so naming one
    (where the search happened) is optional."""

    kind: Literal["search_miss"]
    query: Query
    # Strict: `false` is not a count of results.
    results: Annotated[int, Strict(), Field(ge=0, le=0)] = 0

    needs_product: ClassVar[bool] = False


class Purchase(_Event):
    kind: Literal["purchase"]
    quantity: Quantity
    unit_price: MoneyInMinorUnits
    account: Account | None = None


class SurveyResponse(_Event):
    """A response to a survey of the target market (`survey_id`), or a free-standing one.

    It may name no product: a survey about a product lends it its product; one about a
    product type, or none, leaves the response without one (its free text is then read by
    triage but joins no finding: findings are per product). It may carry `text` and
    `rating` like a review."""

    kind: Literal["survey_response"]
    survey_id: SurveyId | None = None
    segment: Segment | None = None
    answers: Annotated[dict[AnswerKey, Answer], Field(max_length=MAX_ANSWERS)] = Field(
        default_factory=dict
    )
    text: Text | None = None
    rating: Rating | None = None

    needs_product: ClassVar[bool] = False


CustomerEvent = Annotated[
    Review | Return | SupportTicket | Question | SearchMiss | Purchase | SurveyResponse,
    Field(discriminator="kind"),
]
_BATCH: TypeAdapter[list[CustomerEvent]] = TypeAdapter(list[CustomerEvent])


class _Body(TypedDict):
    events: list[CustomerEvent]


# The request body as sent: validating it spares serialising the events list again.
_BODY: TypeAdapter[_Body] = TypeAdapter(_Body)
EVENT_SCHEMA = TypeAdapter(CustomerEvent).json_schema()


@dataclass(frozen=True)
class Limits:
    """What a customer event may claim (`PRODUCTOPS_INGEST_*`): a storefront's key must not
    write a million units, a price no product has, or a sale from years ago into pricing's
    figures. Storefront clocks drift, so an event a little ahead of ours is still believed."""

    max_quantity: int = 1000
    max_unit_price: Decimal = Decimal("100000")
    max_age: timedelta = timedelta(days=90)
    clock_skew: timedelta = timedelta(minutes=5)

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_quantity=settings.ingest_max_quantity,
            max_unit_price=settings.ingest_max_unit_price,
            max_age=timedelta(days=settings.ingest_max_age_days),
            clock_skew=timedelta(seconds=settings.ingest_clock_skew_s),
        )


@dataclass(frozen=True)
class Rejected:
    """An event that failed validation: its index in the batch and why."""

    index: int
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class Checked:
    """A batch after validation: the good events with their indexes, and the rejected ones."""

    valid: list[tuple[int, Any]]
    rejected: list[Rejected]


def check_batch(
    events: Sequence[Any],
    *,
    body: bytes | None = None,
    now: datetime | None = None,
    limits: Limits = Limits(),
) -> Checked:
    """Validate each event on its own; every bad one is reported by index with reasons.

    `body` is the request's JSON, `{"events": events}`, when the caller has it: the first
    (usually only) pass then validates it as it came. `now`: the runtime's clock (the
    production clock by default), which an event's time may not be far ahead of nor far
    behind; `limits` bound what an event may claim.
    """
    indexes = list(range(len(events)))
    rejected: list[Rejected] = []
    text = body if body is not None else orjson.dumps(list(events))
    adapter: TypeAdapter[Any] = _BODY if body is not None else _BATCH
    # Each round drops at least one event, so this ends; normally it runs once.
    while indexes:
        try:
            parsed = adapter.validate_json(text)
            if adapter is _BODY:
                parsed = parsed["events"]
        except ValidationError as exc:
            failures = _errors_by_position(exc, events, indexes, nested=adapter is _BODY)
            adapter = _BATCH
            rejected.extend(Rejected(indexes[pos], errs) for pos, errs in failures.items())
            indexes = [i for pos, i in enumerate(indexes) if pos not in failures]
            text = orjson.dumps([events[i] for i in indexes])
            continue
        valid = []
        moment = now or utc_now()
        # The window's ends once a batch, not per event.
        bounds = (max(EARLIEST, moment - limits.max_age), moment + limits.clock_skew)
        for index, event in zip(indexes, parsed, strict=True):
            if problems := _out_of_bounds(event, moment, limits, bounds):
                rejected.append(Rejected(index, problems))
            else:
                valid.append((index, event))
        rejected.sort(key=lambda r: r.index)
        return Checked(valid=valid, rejected=rejected)
    rejected.sort(key=lambda r: r.index)
    return Checked(valid=[], rejected=rejected)


def _out_of_bounds(
    event: Any, now: datetime, limits: Limits, bounds: tuple[datetime, datetime]
) -> list[dict[str, Any]]:
    """What a valid event claims beyond `limits`, each as `{loc, msg}` naming the field.
    `bounds`: the earliest and latest time `_outside_window` lets pass at `now`."""
    problems = []
    moment = event.occurred_at
    # Per event: two comparisons decide; only a time outside is told why.
    if not bounds[0] <= moment <= bounds[1]:
        problem = _outside_window(moment, now, limits)
        assert problem is not None, "bounds are _outside_window's own"
        problems.append({"loc": ["occurred_at"], "msg": problem})
    # Only purchases and returns claim a quantity, and only purchases a price. (Not
    # `getattr(event, "quantity", None)`: on a pydantic model lacking the field that raises
    # and catches, a tenth of `prepare`.)
    if not isinstance(event, Purchase | Return):
        return problems
    if event.quantity is not None and event.quantity > limits.max_quantity:
        problems.append({"loc": ["quantity"], "msg": f"must be at most {limits.max_quantity}"})
    if not isinstance(event, Purchase):
        return problems
    if event.unit_price.amount > limits.max_unit_price:
        problems.append(
            {"loc": ["unit_price", "amount"], "msg": f"must be at most {limits.max_unit_price}"}
        )
    return problems


def _outside_window(moment: datetime, now: datetime, limits: Limits) -> str | None:
    """Why a customer event's time cannot be right, if it cannot."""
    if moment > now + limits.clock_skew:
        ahead = _span(limits.clock_skew)
        return f"is in the future (more than {ahead} ahead of the server's clock)"
    # Compared as instants: 0001-01-01T00:00+01:00 has no UTC form but is still too early.
    if moment < EARLIEST:
        return "is before 2000-01-01"
    if moment < now - limits.max_age:
        return f"is more than {_span(limits.max_age)} old"
    return None


def _span(span: timedelta) -> str:
    """A duration in the largest whole unit: "5 minutes", "90 days", "30 seconds"."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _errors_by_position(
    exc: ValidationError, events: Sequence[Any], indexes: list[int], *, nested: bool
) -> dict[int, list[dict[str, Any]]]:
    failures: dict[int, list[dict[str, Any]]] = {}
    for error in exc.errors(include_url=False, include_context=False):
        # The caller checked the body's shape: every error is inside one event.
        position, *loc = error["loc"][1:] if nested else error["loc"]
        assert isinstance(position, int)
        found = _event_error(error, loc, events[indexes[position]])
        # An answer fails each shape of its union: say so once.
        if found not in (known := failures.setdefault(position, [])):
            known.append(found)
    return failures


def _event_error(error: Any, loc: list[Any], event: Any) -> dict[str, Any]:
    """Pydantic's error as `{loc, msg}` within the event (the union's tag left out), in
    words a storefront developer can act on."""
    kind = error["type"]
    if kind in {"union_tag_not_found", "union_tag_invalid"}:
        return {"loc": ["kind"], "msg": f"kind must be one of: {', '.join(KINDS)}"}
    if not loc and kind in {"model_attributes_type", "model_type", "dict_type"}:
        return {"loc": [], "msg": "an event must be a JSON object"}
    if kind == "product_missing":
        return {"loc": ["product_id"], "msg": str(error["msg"])}
    if loc and isinstance(event, dict) and loc[0] == event.get("kind"):
        loc = loc[1:]
    if len(loc) >= 2 and loc[0] == "answers":
        if loc[-1] == "[key]":
            return {"loc": ["answers", str(loc[1])], "msg": _PATTERN_MESSAGES["answers"]}
        if len(loc) >= 3 or (kind == "too_long" and len(loc) == 2):
            return {"loc": ["answers", str(loc[1])], "msg": _ANSWER}
    field = str(loc[-1]) if loc else ""
    msg = str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        msg = "unknown field for this kind of event"
    elif kind == "string_pattern_mismatch":
        msg = _PATTERN_MESSAGES.get(field) or _text_problem(error.get("input"))
    elif field == "occurred_at" and kind in _TIME_ERRORS:
        msg = f"{_RFC3339} ({msg.removeprefix('Input should be a valid datetime, ')})"
    elif field == "results" and kind in {"less_than_equal", "greater_than_equal"}:
        msg = "a search miss is a search with 0 results"
    return {"loc": [str(part) for part in loc], "msg": msg}


_CONTROL_CHARACTER = re.compile(f"[{_CONTROL}]")


def _text_problem(value: object) -> str:
    text = value if isinstance(value, str) else ""
    if "\x00" in text:
        return NUL_MESSAGE
    if _CONTROL_CHARACTER.search(text):
        return "must not contain control characters (tab and line breaks are fine)"
    return "must not be blank"

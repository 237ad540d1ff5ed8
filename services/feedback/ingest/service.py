"""Ingestion of storefront customer events, and the product directory that resolves skus.

A batch is validated and turned into rows and events first, outside any transaction; then
one short transaction inserts the new events in one multi-row insert (a replayed `event_id`
inserts nothing and counts as a duplicate) and publishes them with `uow.publish_many` (one
more, into the outbox), so 202 means durable and a broker outage loses nothing.

An event is a fact other services act on (pricing counts purchases as sales), so it is
published only once the catalog has named its product (security issue 12, finding 5): an
event naming a product id or sku the directory does not know is `held` in the table,
published when a catalog event names the product, and `expired` (never published) after
`PRODUCTOPS_INGEST_HOLD_DAYS`. `event_id` is unique per source, the owner of the key.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, and_, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.feedback.events import CUSTOMER_EVENTS_TOPIC, customer_events_accepted
from services.feedback.ingest.intake import MAX_TEXT, Limits, Rejected, check_batch
from services.feedback.surveys.domain import Survey, check_answers, free_text_of
from services.feedback.tables import customer_event, product
from services.feedback.triage.domain import TriageState, states_before
from shared.auth import Principal
from shared.db import one_of, rows_affected
from shared.errors import NotFound
from shared.events import EncodedEvent
from shared.inserts import dialect_insert, insert_rows
from shared.uow import UnitOfWork

# Kinds whose text the model reads; search misses are clustered without it.
TRIAGED_KINDS = frozenset(
    {"review", "return", "support_ticket", "question", "search_miss", "survey_response"}
)
# Kinds whose text is optional: without one there is nothing to triage.
_TEXT_OPTIONAL = frozenset({"review", "survey_response"})
_OPTIONAL = ("text", "rating", "reason", "subject", "priority", "query", "quantity", "account")


class EventStatus(StrEnum):
    """Whether a stored customer event has been published as a fact."""

    HELD = "held"  # its product is not known to the catalog (yet)
    ACCEPTED = "accepted"  # published, or names no product (a search miss) to publish for
    EXPIRED = "expired"  # held past the hold period: never published


# The stored values, looked up once: an enum member's `.value` is a descriptor call, paid per
# event otherwise.
_ACCEPTED = EventStatus.ACCEPTED.value
_QUEUED = TriageState.QUEUED.value
_SKIPPED = TriageState.SKIPPED.value


@dataclass(frozen=True)
class Prepared:
    """A validated batch, ready to store: its rows by event id (the first of each), and the
    events announcing those whose product is already named."""

    rows: dict[str, dict[str, Any]]
    events: dict[str, EncodedEvent]
    valid: int
    rejected: list[Rejected]
    at: datetime


@dataclass(frozen=True)
class Ingested:
    accepted: int
    duplicates: int
    rejected: list[Rejected]


@dataclass(frozen=True)
class KnownTypes:
    """The product types the directory knows, by product id and by sku."""

    by_id: Mapping[str, str | None] = field(default_factory=dict)
    by_sku: Mapping[str, str | None] = field(default_factory=dict)

    def mismatch(self, event: Any, product_type: str) -> dict[str, Any] | None:
        """Why `event` cannot answer a survey of `product_type`: it names a product the
        directory knows to be of another type. A product the catalog has not named yet
        (its events are held) or whose type it did not give passes."""
        if event.product_id is not None:
            loc, found = "product_id", self.by_id.get(event.product_id)
        elif event.sku is not None:
            loc, found = "sku", self.by_sku.get(event.sku)
        else:
            return None
        if found is None or found == product_type:
            return None
        msg = f"the survey is about products of type {product_type}; this one is of type {found}"
        return {"loc": [loc], "msg": msg}


async def known_types(
    *, session: AsyncSession, product_ids: Collection[str], skus: Collection[str]
) -> KnownTypes:
    """The types of the products among `product_ids` and `skus` the directory knows."""
    if not product_ids and not skus:
        return KnownTypes()
    rows = await session.execute(
        select(product.c.product_id, product.c.sku, product.c.product_type).where(
            or_(product.c.product_id.in_(list(product_ids)), product.c.sku.in_(list(skus)))
        )
    )
    entries = rows.all()
    return KnownTypes(
        by_id={entry.product_id: entry.product_type for entry in entries},
        by_sku={entry.sku: entry.product_type for entry in entries},
    )


def prepare(
    *,
    events: Sequence[Any],
    principal: Principal,
    now: datetime,
    limits: Limits = Limits(),
    body: bytes | None = None,
    surveys: Mapping[str, Survey] | None = None,
    known: KnownTypes | None = None,
) -> Prepared:
    """Validate a batch and build its rows and events: the CPU work, done before the
    transaction so SQLite's single writer is held only for the inserts. `now`: the runtime's
    clock; `limits`: what an event may claim (the settings' defaults unless given); `body`
    is the request's JSON (`{"events": events}`), validated as it came when given;
    `surveys`: those the batch's survey responses name, by id (`surveys_named`); `known`:
    the directory's types of the products their responses to product-type surveys name
    (`known_types`)."""
    checked = check_batch(events, body=body, now=now, limits=limits)
    valid, rejected = _check_responses(checked.valid, surveys or {}, known or KnownTypes())
    rows: dict[str, dict[str, Any]] = {}
    for _, event in valid:
        # A repeat inside the batch is a duplicate like a replay of an earlier batch.
        if event.event_id not in rows:
            survey = _survey_of(event, surveys) if surveys else None
            rows[event.event_id] = _row(event, now, principal, survey)
    # Events naming only one of product id and sku may gain the other from the directory:
    # theirs are built once it has been read.
    named = [row for row in rows.values() if row["product_id"] and row["sku"]]
    announced = customer_events_accepted(named, now=now)
    return Prepared(
        rows=rows,
        events={row["event_id"]: event for row, event in zip(named, announced, strict=True)},
        valid=len(valid),
        rejected=sorted([*checked.rejected, *rejected], key=lambda r: r.index),
        at=now,
    )


def _check_responses(
    valid: list[tuple[int, Any]], surveys: Mapping[str, Survey], known: KnownTypes
) -> tuple[list[tuple[int, Any]], list[Rejected]]:
    """Survey responses checked against the surveys they name, each on its own: an unknown
    or closed survey, answers that do not fit it, or a product other than the survey's (of
    another type than a product-type survey's, as the directory knows it) reject that event
    only."""
    # Hot path: a model's missing attribute is slow to ask for, so the kind is looked at
    # first, and a batch without survey responses is passed through as it is.
    if not any(event.kind == "survey_response" for _, event in valid):
        return valid, []
    kept: list[tuple[int, Any]] = []
    rejected: list[Rejected] = []
    for index, event in valid:
        if event.kind != "survey_response" or event.survey_id is None:
            kept.append((index, event))
            continue
        survey = surveys.get(event.survey_id)
        if survey is None:
            errors = [{"loc": ["survey_id"], "msg": "no survey with this id"}]
        else:
            errors = check_answers(survey, event.answers)
            if survey.product_id and event.product_id not in {None, survey.product_id}:
                msg = f"the survey is about product {survey.product_id}"
                errors.append({"loc": ["product_id"], "msg": msg})
            if survey.product_type and (mismatch := known.mismatch(event, survey.product_type)):
                errors.append(mismatch)
        if errors:
            rejected.append(Rejected(index, errors))
        else:
            kept.append((index, event))
    return kept, rejected


async def store(*, uow: UnitOfWork, batches: Sequence[Prepared]) -> list[Ingested]:
    """Insert the batches' new events and publish those whose product the catalog named;
    the others are held. Replayed ids change nothing: an id two of the batches share is the
    first one's. Several batches go in one transaction on SQLite (`IngestWriter`), with one
    directory read and one insert for all of them."""
    rows = [row for batch in batches for row in batch.rows.values()]
    if not rows:
        return [_ingested(batch, 0) for batch in batches]
    await _fill_from_directory(uow, rows)
    new = iter(await _inserted(uow, rows))
    stored = []
    for batch in batches:
        inserted = [row for row in batch.rows.values() if next(new)]
        published = [
            row
            for row in inserted
            if row["status"] == EventStatus.ACCEPTED and row["product_id"] is not None
        ]
        late = [row for row in published if row["event_id"] not in batch.events]
        events = dict(batch.events)
        for row, event in zip(late, customer_events_accepted(late, now=batch.at), strict=True):
            events[row["event_id"]] = event
        uow.publish_many(
            (events[row["event_id"]] for row in published), topic=CUSTOMER_EVENTS_TOPIC
        )
        stored.append(_ingested(batch, len(inserted)))
    return stored


def _ingested(batch: Prepared, inserted: int) -> Ingested:
    return Ingested(accepted=inserted, duplicates=batch.valid - inserted, rejected=batch.rejected)


def _survey_of(event: Any, surveys: Mapping[str, Survey]) -> Survey | None:
    if event.kind != "survey_response" or event.survey_id is None:
        return None
    return surveys.get(event.survey_id)


def _row(event: Any, now: datetime, principal: Principal, survey: Survey | None) -> dict[str, Any]:
    values = event.__dict__
    product_id = event.product_id
    if product_id is None and event.sku is None and survey is not None:
        # A response to a survey about one product is about that product.
        product_id = survey.product_id
    row = {
        "source": principal.owner,
        "event_id": event.event_id,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "product_id": product_id,
        "sku": event.sku,
        "customer_ref": event.customer_ref,
        "unit_price_amount": None,
        "unit_price_currency": None,
        "ingested_at": now,
        "ingested_by": principal.subject,
        "status": _ACCEPTED,  # until the directory is read (`store`)
    }
    for name in _OPTIONAL:
        row[name] = values.get(name)
    if event.kind == "purchase":
        row["unit_price_amount"] = event.unit_price.amount
        row["unit_price_currency"] = event.unit_price.currency
    row["survey_id"] = row["segment"] = row["answers"] = None
    if event.kind == "survey_response":
        row["survey_id"], row["segment"] = event.survey_id, event.segment
        row["answers"] = event.answers or None
        # What triage reads: the response's own text, else its free-text answers.
        if row["text"] is None and (answered := free_text_of(survey, event.answers)):
            row["text"] = answered[:MAX_TEXT]
    # A search miss with results is refused by validation; results are not kept.
    needs_triage = event.kind in TRIAGED_KINDS and (event.kind not in _TEXT_OPTIONAL or row["text"])
    row["triage"] = _QUEUED if needs_triage else _SKIPPED
    return row


async def _fill_from_directory(uow: UnitOfWork, rows: Iterable[dict[str, Any]]) -> None:
    """Resolve skus the directory knows, add the sku to events that named a product id, and
    hold every event whose product the directory does not know; one whose sku is unknown
    also waits (`triage` `wait`) for the catalog to name it."""
    rows = list(rows)
    ids = {row["product_id"] for row in rows if row["product_id"] is not None}
    skus = {row["sku"] for row in rows if row["product_id"] is None and row["sku"] is not None}
    id_of: dict[str, str] = {}
    sku_of: dict[str, str] = {}
    if ids or skus:
        known = (
            await uow.session.execute(
                select(product.c.product_id, product.c.sku).where(
                    or_(
                        one_of(product.c.sku, skus, dialect=uow.dialect),
                        one_of(product.c.product_id, ids, dialect=uow.dialect),
                    )
                )
            )
        ).all()
        id_of = {entry.sku: entry.product_id for entry in known}
        sku_of = {entry.product_id: entry.sku for entry in known}
    for row in rows:
        if row["product_id"] is None and row["sku"] is not None:
            row["product_id"] = id_of.get(row["sku"])
            # A search miss with no product at all needs no resolving.
            if row["product_id"] is None and row["triage"] == TriageState.QUEUED:
                row["triage"] = TriageState.WAIT.value
        elif row["product_id"] is not None and row["sku"] is None:
            row["sku"] = sku_of.get(row["product_id"])
        names_one = row["product_id"] is not None or row["sku"] is not None
        if names_one and row["product_id"] not in sku_of:
            row["status"] = EventStatus.HELD.value


async def _inserted(uow: UnitOfWork, rows: list[dict[str, Any]]) -> list[bool]:
    """Insert the events not stored yet, in one statement; whether each row was, in order.
    A row whose (source, event_id) is stored already, or came earlier in `rows`, was not."""
    if uow.dialect == "sqlite":
        # One statement, replays skipped, and no read of the rows' ids first: nearly every
        # batch is all new, and this transaction holds SQLite's one writer.
        count = await insert_rows(
            uow.session, customer_event, rows, skip_conflicts_on=("source", "event_id")
        )
        if count in (0, len(rows)):
            return [bool(count)] * len(rows)
        # Some were replays. SQLite gives a new row the seq after the largest, and this
        # transaction (BEGIN IMMEDIATE: the only writer) inserted no other event: the new
        # rows are the last `count` by seq.
        keys = select(customer_event.c.source, customer_event.c.event_id)
        new = await uow.session.execute(keys.order_by(customer_event.c.seq.desc()).limit(count))
    else:
        stmt = (
            dialect_insert(uow.dialect, customer_event)
            .on_conflict_do_nothing(index_elements=["source", "event_id"])
            .returning(customer_event.c.source, customer_event.c.event_id)
        )
        # Each row's unique key is locked as it is inserted, until the commit. In key order,
        # two batches sharing ids (a storefront's retry racing the first try) wait for each
        # other; in batch order, each could hold an id the other needs next: a deadlock.
        by_key = sorted(rows, key=lambda row: (row["source"], row["event_id"]))
        new = await uow.session.execute(stmt, by_key)
    unclaimed = {(key.source, key.event_id) for key in new}
    inserted = []
    for row in rows:
        key = (row["source"], row["event_id"])
        inserted.append(key in unclaimed)
        # The first row with a key inserted it; a later one with the same key is a replay.
        unclaimed.discard(key)
    return inserted


async def get_customer_event(*, session: AsyncSession, source: str, event_id: str) -> Row[Any]:
    """One accepted customer event of `source`; 404 if it sent none with that id."""
    row = (
        await session.execute(
            select(customer_event).where(
                customer_event.c.source == source, customer_event.c.event_id == event_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"no customer event with event_id {event_id!r} from source {source!r}")
    return row


async def status_counts(*, session: AsyncSession) -> dict[str, int]:
    """How many stored events are held and how many expired (each a partial index)."""
    counts = {}
    for status in (EventStatus.HELD, EventStatus.EXPIRED):
        counts[status.value] = (
            await session.scalar(select(func.count()).where(customer_event.c.status == status))
        ) or 0
    return counts


async def expire_held(*, uow: UnitOfWork, hold: timedelta) -> int:
    """Mark events held longer than `hold` expired: they will never be published."""
    result = await uow.session.execute(
        update(customer_event)
        .where(customer_event.c.status == EventStatus.HELD.value)
        .where(customer_event.c.ingested_at < uow.clock() - hold)
        .values(status=EventStatus.EXPIRED.value)
    )
    return rows_affected(result)


# --- the product directory ---------------------------------------------------------------------


async def ingested_per_minute(
    *, session: AsyncSession, minutes: int, now: datetime
) -> list[tuple[datetime, int]]:
    """Customer events stored in each of the last `minutes` minutes (windows of 60 s ending
    at `now`, oldest first), counted in one query over the ingestion-time index."""
    starts = [now - timedelta(minutes=minutes - n) for n in range(minutes)]
    at = customer_event.c.ingested_at
    counts = [
        func.sum(case(((at >= start) & (at < start + timedelta(minutes=1)), 1), else_=0))
        for start in starts
    ]
    row = (await session.execute(select(*counts).where(at >= starts[0], at < now))).one()
    return [(start, int(count or 0)) for start, count in zip(starts, row, strict=True)]


async def product_types(*, session: AsyncSession, product_ids: set[str]) -> dict[str, str | None]:
    """The product type of each product the directory knows."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(product.c.product_id, product.c.product_type).where(
            product.c.product_id.in_(product_ids)
        )
    )
    return {row.product_id: row.product_type for row in rows.all()}


async def remember_product(
    *, uow: UnitOfWork, product_id: str, sku: str, changes: Mapping[str, Any]
) -> int:
    """Record what a catalog event says about a product, then publish the events that waited
    for its sku; returns how many were resolved."""
    now = uow.clock()
    # An sku is immutable in the catalog; a different holder here is a deleted product's.
    await uow.session.execute(
        delete(product).where(product.c.sku == sku).where(product.c.product_id != product_id)
    )
    values = {"sku": sku, "updated_at": now, **changes}
    stmt = dialect_insert(uow.dialect, product).values(product_id=product_id, **values)
    await uow.session.execute(
        stmt.on_conflict_do_update(index_elements=["product_id"], set_=values)
    )
    return await _resolve(uow, product_id=product_id, sku=sku, now=now)


async def resolve_known(*, uow: UnitOfWork, limit: int = 100) -> int:
    """Resolve held events whose product the directory already knows. On PostgreSQL an
    ingest can read the directory just before a catalog event fills it and commit just after
    the handler resolved; this sweep (run by the triage worker) picks such events up."""
    known = (
        await uow.session.execute(
            select(product.c.product_id, product.c.sku)
            .join(customer_event, _names(product.c.product_id, product.c.sku))
            .where(customer_event.c.status == EventStatus.HELD.value)
            .distinct()
            .limit(limit)
        )
    ).all()
    now = uow.clock()
    resolved = 0
    for entry in known:
        resolved += await _resolve(uow, product_id=entry.product_id, sku=entry.sku, now=now)
    return resolved


_CHUNK = 1000


def _names(product_id: Any, sku: Any) -> ColumnElement[bool]:
    """A customer event names this product: by its id, or by its sku alone."""
    return or_(
        customer_event.c.product_id == product_id,
        and_(customer_event.c.product_id.is_(None), customer_event.c.sku == sku),
    )


async def _resolve(uow: UnitOfWork, *, product_id: str, sku: str, now: datetime) -> int:
    """Publish the held events naming this product, now that the catalog named it."""
    waiting = (
        (
            await uow.session.execute(
                select(customer_event)
                .where(customer_event.c.status == EventStatus.HELD.value)
                .where(_names(product_id, sku))
                .order_by(customer_event.c.seq)
                .with_for_update()
            )
        )
        .mappings()
        .all()
    )
    # By the rows read (and locked), not by sku again: a row committed in between is left
    # for `resolve_known` rather than resolved without its outbox row.
    for start in range(0, len(waiting), _CHUNK):
        chunk = waiting[start : start + _CHUNK]
        await uow.session.execute(
            update(customer_event)
            .where(customer_event.c.seq.in_([row["seq"] for row in chunk]))
            .values(
                product_id=product_id,
                sku=func.coalesce(customer_event.c.sku, sku),
                status=EventStatus.ACCEPTED.value,
                triage=case(
                    (
                        customer_event.c.triage.in_(states_before(TriageState.QUEUED)),
                        TriageState.QUEUED.value,
                    ),
                    else_=customer_event.c.triage,
                ),
            )
        )
        named = [{**row, "product_id": product_id, "sku": row["sku"] or sku} for row in chunk]
        uow.publish_many(customer_events_accepted(named, now=now), topic=CUSTOMER_EVENTS_TOPIC)
    return len(waiting)

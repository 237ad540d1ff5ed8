"""The triage use case: a batch of model results becomes items, findings, search-miss
clusters, escalations and their events, in one transaction.

On SQLite the batch is read without locks (the model runs outside any transaction, so its
single writer is never held for it). On PostgreSQL the worker reads its batch in the
transaction that applies it, `FOR UPDATE SKIP LOCKED`, so the rows stay locked while the model
reads them and a second worker on the database takes the next batch instead. Either way the
write transaction only applies events it moves from `queued` to `done`, so no event is
applied twice.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.feedback.events import (
    EscalationCreated,
    FindingOpened,
    FindingUpdated,
    RequirementIdentified,
    feedback_event,
    requirement_event,
)
from services.feedback.findings.domain import (
    Finding,
    Item,
    Similarity,
    Source,
    Status,
    finding_snapshot,
    place,
    quote_of,
    sources_of,
    stored_sources,
)
from services.feedback.findings.escalations import (
    AWAITING_VALUES,
    Escalation,
    Rule,
    Slas,
    escalations_for_item,
    needs_critical_escalation,
    open_escalation,
)
from services.feedback.ingest.search_misses import cluster_search_misses
from services.feedback.ingest.service import product_types
from services.feedback.suggestions.domain import target_of
from services.feedback.surveys.service import record_readings
from services.feedback.tables import (
    customer_event,
    escalation,
    feedback_item,
    finding,
)
from services.feedback.triage import Category, Severity, TriageInput, TriageResult
from services.feedback.triage.domain import (
    RetryPolicy,
    TriageState,
    after_failure,
    states_before,
)
from shared.db import rows_affected
from shared.uow import UnitOfWork

# `seq` identifies an event here: an `event_id` is unique only within its source.
_PENDING_COLUMNS = (
    customer_event.c.seq,
    customer_event.c.event_id,
    customer_event.c.kind,
    customer_event.c.product_id,
    customer_event.c.occurred_at,
    customer_event.c.text,
    customer_event.c.rating,
    customer_event.c.reason,
    customer_event.c.subject,
    customer_event.c.priority,
    customer_event.c.query,
    customer_event.c.triage_attempts,
    customer_event.c.origin,
)


# The two-key advisory lock space of a product's findings (one-key locks are the relay's).
_FINDINGS_LOCK_SPACE = 0x46494E


def pack(vector: Sequence[float]) -> bytes:
    """An embedding sum as stored: float32, the model's own precision, 4 bytes a value."""
    return array("f", vector).tobytes()


def unpack(stored: bytes) -> list[float]:
    vector = array("f")
    vector.frombytes(stored)
    return vector.tolist()


async def next_batch(
    *, session: AsyncSession, size: int, now: datetime, after: int | None = None
) -> list[Any]:
    """The oldest events waiting for triage (after the event `seq` `after`, when given),
    leaving out those whose retry is not due at `now` (and those another worker holds:
    `lease_batch`)."""
    return list((await session.execute(_waiting(size=size, now=now, after=after))).all())


async def lease_batch(
    *, session: AsyncSession, size: int, now: datetime, until: datetime, after: int | None = None
) -> list[Any]:
    """Take the oldest waiting events for one worker until `until` (PostgreSQL), in seq
    order: `next_attempt_at` is moved to `until`, so other workers pass over them while this
    one's model reads them, with no transaction held open, and read them again if it dies
    without applying them. The rows are locked `SKIP LOCKED` only while being taken, so two
    workers taking at once get different events. Commit the session's transaction at once."""
    taken = _waiting(size=size, now=now, after=after).with_only_columns(customer_event.c.seq)
    result = await session.execute(
        update(customer_event)
        .where(customer_event.c.seq.in_(taken.with_for_update(skip_locked=True).scalar_subquery()))
        .values(next_attempt_at=until)
        .returning(*_PENDING_COLUMNS)
    )
    return sorted(result.all(), key=lambda row: row.seq)


def _waiting(*, size: int, now: datetime, after: int | None) -> Select[Any]:
    query = (
        select(*_PENDING_COLUMNS)
        .where(customer_event.c.triage == TriageState.QUEUED.value)
        .where(
            or_(customer_event.c.next_attempt_at.is_(None), customer_event.c.next_attempt_at <= now)
        )
    )
    if after is not None:
        query = query.where(customer_event.c.seq > after)
    return query.order_by(customer_event.c.seq).limit(size)


def triage_input(row: Any) -> TriageInput:
    """What the model reads of an event: its text (a return's reason when it has none)."""
    return TriageInput(
        kind=row.kind,
        text=row.text or row.reason or "",
        rating=row.rating,
        subject=row.subject,
        reason=row.reason,
        priority=row.priority,
    )


@dataclass(frozen=True)
class Matcher:
    """How items are compared to findings: the model's similarity and its threshold; and
    the confidence below which an item waits for a person (`review_below`)."""

    similarity: Similarity
    threshold: float
    review_below: float = 0.0


@dataclass
class Applied:
    items: int = 0
    search_misses: int = 0


async def apply(
    *,
    uow: UnitOfWork,
    rows: Sequence[Any],
    results: dict[int, TriageResult],
    matcher: Matcher,
    slas: Slas,
) -> Applied:
    """Apply the model's results (by the event's `seq`) and cluster the batch's search
    misses."""
    claimed = await _claim(uow, [row.seq for row in rows])
    rows = [row for row in rows if row.seq in claimed]
    now = uow.clock()
    applied = Applied()
    texts = [row for row in rows if row.seq in results and row.product_id is not None]
    # Survey responses about no product: findings are per product, so only read.
    unplaced = [row for row in rows if row.seq in results and row.product_id is None]
    misses = [row for row in rows if row.kind == "search_miss"]
    if texts:
        await _apply_texts(uow, texts, results, matcher, slas, now, applied)
    if unplaced:
        await record_readings(uow=uow, rows=unplaced, results=results, now=now)
        applied.items += len(unplaced)
    if misses:
        await cluster_search_misses(uow=uow, rows=misses)
        applied.search_misses = len(misses)
    return applied


@dataclass(frozen=True)
class Failures:
    """How a batch's failed readings ended: queued for a retry, or given up."""

    retried: int
    gave_up: int


async def record_failures(
    *, uow: UnitOfWork, rows: Sequence[Any], policy: RetryPolicy, now: datetime
) -> Failures:
    """Events (batch rows) the model failed on: queued again after a backoff, or `failed`
    once they have had their tries. Kept, counted, never lost."""
    by_attempts: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        by_attempts[row.triage_attempts].append(row.seq)
    moved = {TriageState.QUEUED: 0, TriageState.FAILED: 0}
    for attempts, seqs in by_attempts.items():
        outcome = after_failure(attempts=attempts, policy=policy, now=now)
        result = await uow.session.execute(
            update(customer_event)
            .where(customer_event.c.seq.in_(seqs))
            # As read: a failure another worker recorded meanwhile is not counted twice.
            .where(customer_event.c.triage == TriageState.QUEUED.value)
            .where(customer_event.c.triage_attempts == attempts)
            .values(
                triage=outcome.state.value,
                triage_attempts=outcome.attempts,
                next_attempt_at=outcome.next_attempt_at,
            )
        )
        moved[outcome.state] += rows_affected(result)
    return Failures(retried=moved[TriageState.QUEUED], gave_up=moved[TriageState.FAILED])


async def requeue_failed(*, uow: UnitOfWork, event_ids: Sequence[str] | None) -> int:
    """Put events triage gave up on (all, or those of `event_ids`) back in its queue with
    their tries afresh; returns how many."""
    # Only `failed` ones: `wait` may become `queued` too, but only when the catalog names its
    # sku (see `ingest.service`).
    stmt = update(customer_event).where(customer_event.c.triage == TriageState.FAILED.value)
    if event_ids is not None:
        stmt = stmt.where(customer_event.c.event_id.in_(event_ids))
    result = await uow.session.execute(
        stmt.values(triage=TriageState.QUEUED.value, triage_attempts=0, next_attempt_at=None)
    )
    return rows_affected(result)


async def _claim(uow: UnitOfWork, seqs: list[int]) -> set[int]:
    result = await uow.session.execute(
        update(customer_event)
        .where(customer_event.c.seq.in_(seqs))
        .where(customer_event.c.triage.in_(states_before(TriageState.DONE)))
        .values(triage=TriageState.DONE.value)
        .returning(customer_event.c.seq)
    )
    return set(result.scalars())


async def _apply_texts(
    uow: UnitOfWork,
    rows: list[Any],
    results: dict[int, TriageResult],
    matcher: Matcher,
    slas: Slas,
    now: datetime,
    applied: Applied,
) -> None:
    session = uow.session
    products = {row.product_id for row in rows}
    if uow.dialect == "postgresql":
        await _lock_findings_of(session, products)
    findings = await load_findings(session, products)
    placed: dict[str, Finding] = {}
    item_rows = []
    raised: list[tuple[Escalation, EscalationCreated]] = []
    for row in rows:
        result = results[row.seq]
        text = row.text or row.reason or ""
        item = Item(
            event_id=row.event_id,
            product_id=row.product_id,
            kind=row.kind,
            quote=quote_of(text),
            occurred_at=row.occurred_at,
            result=result,
            source=Source(row.origin),
        )
        target = place(
            item,
            findings,
            similarity=matcher.similarity,
            threshold=matcher.threshold,
            new_id=lambda: str(uuid7()),
        )
        placed[target.id] = target
        item_rows.append(
            _item_row(item, row.seq, target.id, now, review_below=matcher.review_below)
        )
        if item.source is not Source.CUSTOMER:
            # The product team's idea has no customer waiting for a reply.
            continue
        for draft in escalations_for_item(
            kind=row.kind,
            category=result.category,
            text=text,
            subject=row.subject,
            priority=row.priority,
            slas=slas,
        ):
            raised.append(
                open_escalation(
                    draft,
                    escalation_id=str(uuid7()),
                    product_id=row.product_id,
                    finding_id=target.id,
                    event_seq=row.seq,
                    event_id=row.event_id,
                    now=now,
                )
            )
    touched = list(placed.values())
    await save_findings(session, touched, now)
    await session.execute(insert(feedback_item), item_rows)
    raised.extend(await critical_escalations(session, touched, slas, now))
    if raised:
        await session.execute(insert(escalation), [opened.row() for opened, _ in raised])
    await publish_finding_events(uow, session, touched)
    for opened, created in raised:
        uow.publish(feedback_event(created, subject=opened.product_id))
    applied.items += len(item_rows)


async def _lock_findings_of(session: AsyncSession, products: set[str]) -> None:
    """Hold the products' findings until the commit, those not created yet included: two
    workers with a new problem of one product would each open a finding for it otherwise,
    since FOR UPDATE locks only rows that exist. In one order (of the lock keys), so two
    workers never wait for each other."""
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(:space, key) FROM"
            " (SELECT DISTINCT hashtext(id) AS key FROM unnest(CAST(:ids AS text[])) AS id)"
            " AS keys ORDER BY key"
        ),
        {"space": _FINDINGS_LOCK_SPACE, "ids": sorted(products)},
    )


async def load_findings(session: AsyncSession, products: set[str]) -> list[Finding]:
    # FOR UPDATE: two workers on PostgreSQL must not both add to one finding's count.
    stmt = select(finding).where(finding.c.product_id.in_(products)).with_for_update()
    return [
        Finding(
            id=row.id,
            product_id=row.product_id,
            kind=Category(row.kind),
            severity=Severity(row.severity),
            status=Status(row.status),
            item_count=row.item_count,
            safety_hazard=row.safety_hazard,
            topic=row.topic,
            representative_quote=row.representative_quote,
            representative_event_id=row.representative_event_id,
            representative_score=row.representative_score,
            embedding_sum=unpack(row.embedding_sum),
            regression=row.regression,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            version=row.version,
            sources=set(sources_of(row.sources)),
        )
        for row in (await session.execute(stmt)).all()
    ]


def _finding_values(f: Finding) -> dict[str, Any]:
    return {
        "severity": f.severity.value,
        "status": f.status.value,
        "item_count": f.item_count,
        "topic": f.topic,
        "representative_quote": f.representative_quote,
        "representative_event_id": f.representative_event_id,
        "representative_score": f.representative_score,
        "embedding_sum": pack(f.embedding_sum),
        "regression": f.regression,
        "first_seen": f.first_seen,
        "last_seen": f.last_seen,
        "version": f.version,
        "sources": stored_sources(f.sources),
    }


async def save_findings(session: AsyncSession, touched: list[Finding], now: datetime) -> None:
    new = [f for f in touched if f.is_new]
    if new:
        await session.execute(
            insert(finding),
            [
                {
                    "id": f.id,
                    "product_id": f.product_id,
                    "kind": f.kind.value,
                    "safety_hazard": f.safety_hazard,
                    **_finding_values(f),
                    "created_at": now,
                    "updated_at": now,
                }
                for f in new
            ],
        )
    for f in touched:
        if f.is_new:
            continue
        f.version += 1
        await session.execute(
            update(finding).where(finding.c.id == f.id).values(**_finding_values(f), updated_at=now)
        )


def _item_row(
    item: Item, event_seq: int, finding_id: str, now: datetime, *, review_below: float
) -> dict[str, Any]:
    result = item.result
    confidence = max(0.0, min(1.0, float(result.confidence)))
    return {
        "id": str(uuid7()),
        "event_seq": event_seq,
        "event_id": item.event_id,
        "product_id": item.product_id,
        "kind": item.kind,
        "category": Category(result.category).value,
        "severity": Severity(result.severity).value,
        "sentiment": max(-1.0, min(1.0, float(result.sentiment))),
        "safety_hazard": bool(result.safety_hazard),
        "topic": result.topic[:200],
        "quote": item.quote,
        "finding_id": finding_id,
        "occurred_at": item.occurred_at,
        "triaged_at": now,
        "confidence": confidence,
        "needs_review": confidence < review_below,
        "embedding": pack(result.embedding),
        "source": Source(item.source).value,
    }


async def critical_escalations(
    session: AsyncSession, touched: list[Finding], slas: Slas, now: datetime
) -> list[tuple[Escalation, EscalationCreated]]:
    """The product manager's escalations of the critical defects among the touched findings
    that have none open."""
    ids = [f.id for f in touched]
    open_for = set(
        (
            await session.execute(
                select(escalation.c.finding_id)
                .where(escalation.c.finding_id.in_(ids))
                .where(escalation.c.rule == Rule.CRITICAL_DEFECT.value)
                .where(escalation.c.status.in_(AWAITING_VALUES))
            )
        ).scalars()
    )
    raised = []
    for f in touched:
        draft = needs_critical_escalation(f, has_open=f.id in open_for, slas=slas)
        if draft is not None:
            raised.append(
                open_escalation(
                    draft,
                    escalation_id=str(uuid7()),
                    product_id=f.product_id,
                    finding_id=f.id,
                    event_seq=None,
                    event_id=None,
                    now=now,
                )
            )
    return raised


async def publish_finding_events(
    uow: UnitOfWork, session: AsyncSession, touched: list[Finding]
) -> None:
    types = await product_types(session=session, product_ids={f.product_id for f in touched})
    for f in touched:
        snapshot = finding_snapshot(f)
        if f.is_new:
            uow.publish(feedback_event(FindingOpened(**snapshot), subject=f.product_id))
        else:
            changed = sorted(f.changed)
            uow.publish(
                feedback_event(FindingUpdated(**snapshot, changed=changed), subject=f.product_id)
            )
        if f.kind is Category.REQUIREMENT:
            # A suggestion about a product type (or none) is the type's requirement.
            target = target_of(f.product_id)
            requirement = RequirementIdentified(
                requirement_id=f.id,
                product_id=target.product_id,
                product_type=target.product_type or types.get(f.product_id),
                kind="requirement",
                text=f.topic,
                quote=f.representative_quote,
                occurrences=f.new_items,
                occurred_at=f.last_seen,
            )
            uow.publish(requirement_event(requirement))

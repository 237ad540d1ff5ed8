"""A person's correction of one triaged item (issue 15): kept as training data, applied to
the item, and the item moved to the finding its new label belongs in, in one transaction.

The item leaves its finding (whose count, centroid and severity are recomputed without it)
and is placed as the worker places a new item: in the most similar finding of its product,
new category and hazard flag, or a new one. A finding left with no item is resolved. The
label, with the text it was read from, is a `triage_label` row that the next refit
(`python -m services.feedback.triage.refit`) fits on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from uuid6 import uuid7

from services.feedback.events import feedback_event
from services.feedback.findings.domain import Finding, Item, Source, Status, place
from services.feedback.findings.escalations import Slas
from services.feedback.tables import (
    customer_event,
    escalation,
    feedback_item,
    finding,
    triage_label,
)
from services.feedback.triage import Category, Severity, TriageResult, worst
from services.feedback.triage.service import (
    Matcher,
    critical_escalations,
    load_findings,
    pack,
    publish_finding_events,
    save_findings,
    unpack,
)
from shared.auth import Principal
from shared.errors import NotFound
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class Label:
    """What a person says an item is."""

    category: Category
    severity: Severity
    hazard: bool


async def label_item(
    *, uow: UnitOfWork, item_id: str, label: Label, actor: Principal, matcher: Matcher, slas: Slas
) -> Any:
    """Keep `label` for the item, apply it and move the item; returns the item's row."""
    session = uow.session
    product_id = (await _item(session, item_id)).product_id
    # Items move between findings only under their product's findings lock (triage's apply
    # and labelling alike), so the item is read once it is held: two labels of one item at
    # once both moved it out of the finding it had left already, and the counts drifted
    # from the items on PostgreSQL. The findings themselves are read after, so that one a
    # label before this one made is among them.
    await session.execute(
        select(finding.c.id).where(finding.c.product_id == product_id).with_for_update()
    )
    row = await _item(session, item_id)
    now = uow.clock()
    event = (
        await session.execute(select(customer_event).where(customer_event.c.seq == row.event_seq))
    ).one_or_none()
    await session.execute(
        insert(triage_label).values(
            id=str(uuid7()),
            item_id=row.id,
            kind=row.kind,
            text=(event.text or event.reason or "") if event is not None else row.quote,
            rating=event.rating if event is not None else None,
            subject=event.subject if event is not None else None,
            reason=event.reason if event is not None else None,
            priority=event.priority if event is not None else None,
            category=label.category.value,
            severity=label.severity.value,
            hazard=label.hazard,
            labelled_by=actor.subject,
            labelled_at=now,
        )
    )
    findings = await load_findings(session, {row.product_id})
    old = next(f for f in findings if f.id == row.finding_id)
    # Items triaged before embeddings were kept stand at their finding's centre.
    embedding = unpack(row.embedding) if row.embedding is not None else list(old.centroid)
    remaining = await _other_severities(session, old.id, row.id)
    if label.category == old.kind and label.hazard == old.safety_hazard:
        # Its finding is still the right one: only the severity may change.
        target = old
        _set_severity(old, worst([*remaining, label.severity]))
    else:
        _leave(old, embedding, remaining)
        await _sources_left(session, old, row.id)
        # An event id is unique only within its source, and the finding keeps its
        # representative's id and quote: both must be this item's for it to be the one.
        speaks = (old.representative_event_id, old.representative_quote)
        if speaks == (row.event_id, row.quote):
            await _new_representative(session, old, row.id)
        item = Item(
            event_id=row.event_id,
            product_id=row.product_id,
            kind=row.kind,
            quote=row.quote,
            occurred_at=row.occurred_at,
            source=Source(row.source),
            result=TriageResult(
                category=label.category,
                severity=label.severity,
                sentiment=row.sentiment,
                safety_hazard=label.hazard,
                embedding=tuple(embedding),
                topic=row.topic,
            ),
        )
        target = place(
            item,
            [f for f in findings if f.id != old.id],
            similarity=matcher.similarity,
            threshold=matcher.threshold,
            new_id=lambda: str(uuid7()),
        )
    touched = [old] if target is old else [old, target]
    await save_findings(session, touched, now)
    await session.execute(
        update(feedback_item)
        .where(feedback_item.c.id == row.id)
        .values(
            category=label.category.value,
            severity=label.severity.value,
            safety_hazard=label.hazard,
            finding_id=target.id,
            needs_review=False,
            embedding=pack(embedding),
            labelled_by=actor.subject,
            labelled_at=now,
        )
    )
    raised = await critical_escalations(session, [target], slas, now)
    if raised:
        await session.execute(insert(escalation), [opened.row() for opened, _ in raised])
        for opened, created in raised:
            uow.publish(feedback_event(created, subject=opened.product_id))
    await publish_finding_events(uow, session, touched)
    return (await session.execute(select(feedback_item).where(feedback_item.c.id == row.id))).one()


async def _item(session: Any, item_id: str) -> Any:
    row = (
        await session.execute(select(feedback_item).where(feedback_item.c.id == item_id))
    ).one_or_none()
    if row is None:
        raise NotFound(f"no feedback item with id {item_id!r}")
    return row


async def _other_severities(session: Any, finding_id: str, item_id: str) -> list[Severity]:
    """The severities of a finding's other items."""
    rows = await session.execute(
        select(feedback_item.c.severity)
        .where(feedback_item.c.finding_id == finding_id)
        .where(feedback_item.c.id != item_id)
    )
    return [Severity(severity) for severity in rows.scalars()]


async def _sources_left(session: Any, finding: Finding, item_id: str) -> None:
    """The finding's sources without the item that left (unchanged if it is now empty)."""
    left = set(
        (
            await session.execute(
                select(feedback_item.c.source)
                .where(feedback_item.c.finding_id == finding.id)
                .where(feedback_item.c.id != item_id)
                .distinct()
            )
        ).scalars()
    )
    if left and left != finding.sources:
        finding.sources = left
        finding.changed.add("sources")


async def _new_representative(session: Any, finding: Finding, item_id: str) -> None:
    """The most recent of the finding's other items speaks for it (when there is one)."""
    other = (
        await session.execute(
            select(feedback_item.c.quote, feedback_item.c.event_id)
            .where(feedback_item.c.finding_id == finding.id)
            .where(feedback_item.c.id != item_id)
            .order_by(feedback_item.c.occurred_at.desc(), feedback_item.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if other is not None:
        finding.representative_quote = other.quote
        finding.representative_event_id = other.event_id
        finding.representative_score = 0.0  # the next item near the centre takes over


def _set_severity(finding: Finding, severity: Severity) -> None:
    if severity != finding.severity:
        finding.severity = severity
        finding.changed.add("severity")


def _leave(finding: Finding, embedding: list[float], remaining: list[Severity]) -> None:
    """Take the item out of its finding: count, centroid and severity without it."""
    finding.item_count = max(finding.item_count - 1, 0)
    finding.embedding_sum = [a - b for a, b in zip(finding.embedding_sum, embedding, strict=True)]
    finding.changed.add("item_count")
    _set_severity(finding, worst(remaining))
    if finding.item_count == 0 and finding.status is not Status.RESOLVED:
        # Nothing is left to act on: every item of it was about something else.
        finding.status = Status.RESOLVED
        finding.changed.add("status")

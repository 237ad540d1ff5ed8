"""Findings use cases behind the read API and the people's actions: triaged items, findings
(trend, status, user story) and escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.answers.domain import SourceKind
from services.feedback.events import FindingResolved, FindingUpdated, feedback_event
from services.feedback.findings.domain import (
    Source,
    Status,
    Trend,
    finding_snapshot,
    sources_of,
    transition,
    trend,
)
from services.feedback.findings.escalations import (
    AWAITING_VALUES,
    Escalation,
    EscalationStatus,
    Rule,
)
from services.feedback.findings.stories import StoryItem, UserStory, user_story
from services.feedback.tables import (
    answer,
    escalation,
    feedback_item,
    finding,
    finding_status_change,
    product,
)
from services.feedback.triage import Category, Severity
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import NotFound
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

FEEDBACK = Keyset(feedback_item.c.id)
FINDINGS = Keyset(finding.c.id)
ESCALATIONS = Keyset(escalation.c.id)
_STORY_ITEMS = 200


# --- triaged items -----------------------------------------------------------------------------


async def list_feedback(
    *,
    session: AsyncSession,
    product_id: str | None,
    category: str | None,
    finding_id: str | None,
    limit: int,
    cursor: str | None,
    needs_review: bool | None = None,
    source: str | None = None,
) -> Page[Row[Any]]:
    """Triaged items in triage order, filtered, one keyset page."""
    stmt = select(*[c for c in feedback_item.c if c.name != "embedding"])
    if needs_review is not None:
        # As the partial index ix_feedback_item_needs_review states it.
        review = feedback_item.c.needs_review
        stmt = stmt.where(review if needs_review else ~review)
    for column, value in (
        (feedback_item.c.product_id, product_id),
        (feedback_item.c.category, category),
        (feedback_item.c.finding_id, finding_id),
        (feedback_item.c.source, source),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await FEEDBACK.page(session, stmt, limit=limit, cursor=cursor)


# --- findings ----------------------------------------------------------------------------------


async def list_findings(
    *,
    session: AsyncSession,
    product_id: str | None,
    kind: str | None,
    status: str | None,
    severity: str | None,
    limit: int,
    cursor: str | None,
    source: str | None = None,
) -> Page[Row[Any]]:
    """Findings in the order they were opened, filtered (`source`: those with an item from
    it), one keyset page."""
    stmt = select(finding)
    if source is not None:
        # The names are distinct words, none inside another: a substring match is exact.
        stmt = stmt.where(finding.c.sources.contains(Source(source).value))
    for column, value in (
        (finding.c.product_id, product_id),
        (finding.c.kind, kind),
        (finding.c.status, status),
        (finding.c.severity, severity),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await FINDINGS.page(session, stmt, limit=limit, cursor=cursor)


@dataclass(frozen=True)
class FindingStats:
    """Counts for dashboards; "unresolved" findings are open or acknowledged."""

    by_status: dict[str, int]
    unresolved_by_category: dict[str, int]
    unresolved_by_severity: dict[str, int]
    unresolved_by_source: dict[str, int]
    overdue_escalations: int
    feedback_items: int
    sentiment: float | None
    # Findings opened on each day of the window, oldest first, by severity (zeros included).
    opened_per_day: list[tuple[date, dict[str, int]]]


async def finding_stats(
    *, session: AsyncSession, product_id: str | None, now: datetime, days: int
) -> FindingStats:
    """Findings counted by status, and the unresolved ones by category and severity; open
    escalations past their due time; the triaged items and their mean sentiment; the
    findings opened on each of the last `days` days. All of them, or one product's.
    Counted in the database: no table is read row by row."""
    grouped = select(
        finding.c.status, finding.c.kind, finding.c.severity, finding.c.sources, func.count()
    )
    overdue = select(func.count()).where(
        escalation.c.status.in_(AWAITING_VALUES), escalation.c.due_at < now
    )
    items = select(func.count(), func.avg(feedback_item.c.sentiment))
    if product_id is not None:
        grouped = grouped.where(finding.c.product_id == product_id)
        overdue = overdue.where(escalation.c.product_id == product_id)
        items = items.where(feedback_item.c.product_id == product_id)
    rows = (
        await session.execute(
            grouped.group_by(
                finding.c.status, finding.c.kind, finding.c.severity, finding.c.sources
            )
        )
    ).all()
    by_status = dict.fromkeys((s.value for s in Status), 0)
    by_category = dict.fromkeys((c.value for c in Category), 0)
    by_severity = dict.fromkeys((s.value for s in Severity), 0)
    by_source = dict.fromkeys((s.value for s in Source), 0)
    for status, kind, severity, sources, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if status != Status.RESOLVED.value:
            by_category[kind] = by_category.get(kind, 0) + count
            by_severity[severity] = by_severity.get(severity, 0) + count
            for source in sources_of(sources):
                by_source[source] += count
    item_count, mean = (await session.execute(items)).one()
    return FindingStats(
        by_status=by_status,
        unresolved_by_category=by_category,
        unresolved_by_severity=by_severity,
        unresolved_by_source=by_source,
        overdue_escalations=int(await session.scalar(overdue) or 0),
        feedback_items=int(item_count or 0),
        sentiment=round(float(mean), 3) if mean is not None else None,
        opened_per_day=await _opened_per_day(
            session=session, product_id=product_id, now=now, days=days
        ),
    )


async def _opened_per_day(
    *, session: AsyncSession, product_id: str | None, now: datetime, days: int
) -> list[tuple[date, dict[str, int]]]:
    """Findings opened (created) on each of the last `days` UTC days, today included, by
    severity: one query, a sum per day grouped by severity (no dialect's date functions)."""
    today = now.astimezone(UTC).date()
    first = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)
    starts = [first + timedelta(days=n) for n in range(days)]
    at = finding.c.created_at
    per_day = [
        func.sum(case(((at >= start) & (at < start + timedelta(days=1)), 1), else_=0))
        for start in starts
    ]
    stmt = (
        select(finding.c.severity, *per_day)
        .where(at >= first, at < first + timedelta(days=days))
        .group_by(finding.c.severity)
    )
    if product_id is not None:
        stmt = stmt.where(finding.c.product_id == product_id)
    counted = [dict.fromkeys((s.value for s in Severity), 0) for _ in starts]
    for severity, *counts in (await session.execute(stmt)).all():
        for by_severity, count in zip(counted, counts, strict=True):
            by_severity[severity] = by_severity.get(severity, 0) + int(count or 0)
    return [(start.date(), by_severity) for start, by_severity in zip(starts, counted, strict=True)]


async def get_finding(*, session: AsyncSession, finding_id: str) -> Row[Any]:
    """One finding; 404 if unknown."""
    row = (await session.execute(select(finding).where(finding.c.id == finding_id))).first()
    if row is None:
        raise NotFound(f"no finding with id {finding_id!r}")
    return row


async def trends(
    *, session: AsyncSession, finding_ids: list[str], now: datetime
) -> dict[str, Trend]:
    """Each finding's items in the last 24 h against the daily average of the 7 days before,
    by when the customers wrote them."""
    day_ago, window_start = now - timedelta(days=1), now - timedelta(days=8)
    at = feedback_item.c.occurred_at
    rows = (
        await session.execute(
            select(
                feedback_item.c.finding_id,
                func.sum(case((at >= day_ago, 1), else_=0)),
                func.sum(case((at < day_ago, 1), else_=0)),
            )
            .where(feedback_item.c.finding_id.in_(finding_ids))
            .where(at >= window_start)
            .group_by(feedback_item.c.finding_id)
        )
    ).all()
    counts = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows}
    return {
        fid: trend(last_24h=counts.get(fid, (0, 0))[0], prior_7d=counts.get(fid, (0, 0))[1])
        for fid in finding_ids
    }


async def change_finding_status(
    *,
    uow: UnitOfWork,
    finding_id: str,
    to: Status,
    note: str | None,
    expected_version: int | None,
    actor: Principal,
) -> Row[Any]:
    """Acknowledge or resolve a finding; 409 for a move the rules forbid, 412 if stale."""
    row = (
        await uow.session.execute(
            select(finding).where(finding.c.id == finding_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"no finding with id {finding_id!r}")
    check_version(expected_version, row.version)
    current = Status(row.status)
    target = transition(current, to)
    now = uow.clock()
    row = (
        await uow.session.execute(
            update(finding)
            .where(finding.c.id == finding_id)
            .values(status=target.value, status_note=note, version=row.version + 1, updated_at=now)
            .returning(*finding.c)
        )
    ).one()
    await uow.session.execute(
        insert(finding_status_change).values(
            finding_id=finding_id,
            from_status=current.value,
            to_status=target.value,
            note=note,
            changed_by=actor.subject,
            changed_at=now,
        )
    )
    if target is Status.RESOLVED:
        # The product manager's critical-defect escalation is answered by the resolution;
        # a customer's own (sales, urgent ticket) stays until someone has answered them.
        await uow.session.execute(
            update(escalation)
            .where(escalation.c.finding_id == finding_id)
            .where(escalation.c.rule == Rule.CRITICAL_DEFECT.value)
            .where(escalation.c.status.in_(AWAITING_VALUES))
            .values(status=EscalationStatus.DONE.value, note="finding resolved", done_at=now)
        )
    snapshot = finding_snapshot(row)
    if target is Status.RESOLVED:
        event = feedback_event(FindingResolved(**snapshot, note=note), subject=row.product_id)
    else:
        event = feedback_event(
            FindingUpdated(**snapshot, changed=["status"]), subject=row.product_id
        )
    uow.publish(event)
    return row


async def finding_user_story(*, session: AsyncSession, finding_id: str) -> UserStory:
    """The finding written up as a user story from its kind, topic, product and items."""
    row = await get_finding(session=session, finding_id=finding_id)
    known = (
        await session.execute(
            select(product.c.name, product.c.product_type).where(
                product.c.product_id == row.product_id
            )
        )
    ).first()
    items = (
        await session.execute(
            select(feedback_item.c.kind, feedback_item.c.quote, feedback_item.c.severity)
            .where(feedback_item.c.finding_id == finding_id)
            .order_by(feedback_item.c.id)
            .limit(_STORY_ITEMS)
        )
    ).all()
    return user_story(
        kind=row.kind,
        topic=row.topic,
        severity=row.severity,
        product_name=known.name if known else None,
        product_type=known.product_type if known else None,
        items=[StoryItem(kind=i.kind, quote=i.quote, severity=i.severity) for i in items],
    )


# --- escalations -------------------------------------------------------------------------------


async def list_escalations(
    *,
    session: AsyncSession,
    route: str | None,
    status: str | None,
    product_id: str | None,
    finding_id: str | None,
    overdue: bool | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> Page[Row[Any]]:
    """Escalations in the order they were raised, filtered, one keyset page; each with its
    current answer, if it has one."""
    current = (
        (answer.c.source_kind == SourceKind.ESCALATION.value)
        & (answer.c.source_id == escalation.c.id)
        & answer.c.superseded_at.is_(None)
    )
    stmt = select(
        escalation, answer.c.answer, answer.c.answered_by, answer.c.answered_at
    ).outerjoin(answer, current)
    for column, value in (
        (escalation.c.route, route),
        (escalation.c.status, status),
        (escalation.c.product_id, product_id),
        (escalation.c.finding_id, finding_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    late = escalation.c.status.in_(AWAITING_VALUES) & (escalation.c.due_at < now)
    if overdue is True:
        stmt = stmt.where(late)
    elif overdue is False:
        stmt = stmt.where(~late)
    return await ESCALATIONS.page(session, stmt, limit=limit, cursor=cursor)


async def locked_escalation(*, uow: UnitOfWork, escalation_id: str) -> Escalation:
    """An escalation, locked for this transaction; 404 if unknown."""
    row = (
        await uow.session.execute(
            select(escalation).where(escalation.c.id == escalation_id).with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"no escalation with id {escalation_id!r}")
    return Escalation.from_row(row)


async def save_escalation(*, uow: UnitOfWork, changed: Escalation) -> Row[Any]:
    """Write an escalation's new state; its row as stored."""
    values = changed.row()
    del values["id"]
    return (
        await uow.session.execute(
            update(escalation)
            .where(escalation.c.id == changed.id)
            .values(**values)
            .returning(*escalation.c)
        )
    ).one()


async def mark_escalation_done(
    *, uow: UnitOfWork, escalation_id: str, note: str | None
) -> Row[Any]:
    """Close an escalation; 409 if it is already answered or done."""
    current = await locked_escalation(uow=uow, escalation_id=escalation_id)
    return await save_escalation(uow=uow, changed=current.close(note=note, now=uow.clock()))


async def forward_escalation(
    *, uow: UnitOfWork, escalation_id: str, note: str | None, actor: Principal
) -> Row[Any]:
    """Hand an open escalation to sales; 409 unless it is open."""
    current = await locked_escalation(uow=uow, escalation_id=escalation_id)
    forwarded, event = current.forward(by=actor.owner, note=note, now=uow.clock())
    row = await save_escalation(uow=uow, changed=forwarded)
    uow.publish(feedback_event(event, subject=forwarded.product_id))
    return row

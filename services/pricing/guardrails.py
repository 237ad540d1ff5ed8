"""Guardrail changes: who asked and why, at once when they tighten the list, by a second
person when they loosen it (security issue 12, finding 3). Each use case runs in the
caller's unit of work and adds its event to the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from uuid6 import uuid7

from services.pricing import domain
from services.pricing.domain import GuardrailChangeFacts, GuardrailChangeStatus
from services.pricing.events import guardrail_change_event
from services.pricing.schemas import GuardrailChangeCreate
from services.pricing.service import (
    guardrail_values,
    guardrails_from_row,
    guardrails_of,
    locked_price_list,
)
from services.pricing.tables import guardrail_change, price_list
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import NotFound, field_error
from shared.uow import UnitOfWork


async def request_change(
    *,
    uow: UnitOfWork,
    code: str,
    data: GuardrailChangeCreate,
    actor: Principal,
    expected_version: int | None,
    now: datetime,
) -> Row[Any]:
    """Record a change of the list's guardrails; a tightening is applied at once, a
    loosening waits (`pending`) for a second person. 412 if `expected_version` is stale,
    422 when nothing would change."""
    plist = await locked_price_list(uow, code)
    check_version(expected_version, plist.version)
    previous = guardrails_from_row(plist)
    wanted = guardrails_of(data.guardrails, plist.currency)
    if wanted == previous:
        raise field_error("guardrails", "these are the list's guardrails already")
    loosens = domain.loosened(previous, wanted)
    status = GuardrailChangeStatus.PENDING if loosens else GuardrailChangeStatus.APPLIED
    values = {
        "id": str(uuid7()),
        "price_list": code,
        "status": status.value,
        "reason": data.reason,
        "previous": previous.as_text(),
        "guardrails": wanted.as_text(),
        "loosens": list(loosens),
        "base_version": plist.version,
        "requested_by": actor.subject,
        "requested_by_name": actor.name,
        "requested_by_owner": actor.owner,
        "requested_at": now,
        "version": 1,
    }
    stmt = insert(guardrail_change).values(values).returning(*guardrail_change.c)
    row = (await uow.session.execute(stmt)).one()
    if status is GuardrailChangeStatus.APPLIED:
        await _apply(uow, row, now=now)
    uow.publish(guardrail_change_event(row))
    return row


async def approve_change(
    *, uow: UnitOfWork, code: str, change_id: str, actor: Principal, now: datetime
) -> Row[Any]:
    """A second person (another owner than whoever asked) applies a pending loosening; 409
    if it is no longer pending or the list's guardrails changed since it was asked for."""
    plist = await locked_price_list(uow, code)
    row = await _locked_change(uow, code, change_id)
    domain.approve_guardrail_change(_facts(row), approver=actor.owner, list_version=plist.version)
    saved = await _decide(uow, row, actor, GuardrailChangeStatus.APPLIED, now=now)
    await _apply(uow, saved, now=now)
    uow.publish(guardrail_change_event(saved))
    return saved


async def reject_change(
    *,
    uow: UnitOfWork,
    code: str,
    change_id: str,
    actor: Principal,
    reason: str,
    now: datetime,
) -> Row[Any]:
    """Turn a pending loosening down; the list keeps its guardrails."""
    row = await _locked_change(uow, code, change_id)
    domain.reject_guardrail_change(_facts(row))
    saved = await _decide(
        uow, row, actor, GuardrailChangeStatus.REJECTED, now=now, rejection_reason=reason
    )
    uow.publish(guardrail_change_event(saved))
    return saved


async def _apply(uow: UnitOfWork, change: Any, *, now: datetime) -> None:
    """The list takes the change's guardrails; its version moves on, so any other pending
    change asked against the old ones can no longer be approved. Open proposals keep the
    violations they were proposed with."""
    limits = domain.Guardrails.from_text(change.guardrails)
    values = {
        **guardrail_values(limits),
        "version": change.base_version + 1,
        "updated_at": now,
    }
    await uow.session.execute(
        update(price_list).where(price_list.c.code == change.price_list).values(values)
    )


async def _decide(
    uow: UnitOfWork,
    row: Any,
    actor: Principal,
    status: GuardrailChangeStatus,
    *,
    now: datetime,
    rejection_reason: str | None = None,
) -> Row[Any]:
    values = {
        "status": status.value,
        "decided_by": actor.subject,
        "decided_by_name": actor.name,
        "decided_by_owner": actor.owner,
        "decided_at": now,
        "rejection_reason": rejection_reason,
        "version": row.version + 1,
    }
    stmt = (
        update(guardrail_change)
        .where(guardrail_change.c.id == row.id)
        .values(values)
        .returning(*guardrail_change.c)
    )
    return (await uow.session.execute(stmt)).one()


async def _locked_change(uow: UnitOfWork, code: str, change_id: str) -> Any:
    stmt = (
        select(guardrail_change)
        .where(guardrail_change.c.id == change_id, guardrail_change.c.price_list == code)
        .with_for_update()
    )
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no guardrail change {change_id!r} on price list {code!r}")
    return row


def _facts(row: Any) -> GuardrailChangeFacts:
    return GuardrailChangeFacts(
        status=GuardrailChangeStatus(row.status),
        requested_by=row.requested_by,
        requested_by_owner=row.requested_by_owner,
        base_version=row.base_version,
    )

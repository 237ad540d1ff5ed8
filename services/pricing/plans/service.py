"""Plan use cases that change state, and the recording of returns: each works in the
caller's unit of work and adds its events to the outbox there."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from uuid6 import uuid7

from services.pricing.contracts import Launched, Return
from services.pricing.plans import domain
from services.pricing.plans.domain import PlanKind, PlanSource, Target
from services.pricing.plans.events import plan_event
from services.pricing.plans.queries import targets_of
from services.pricing.plans.schemas import PlanCreate, TargetsChange
from services.pricing.tables import financial_plan, plan_target, product, purchase, sale_return
from shared import accounts
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import NotFound, field_error
from shared.inserts import dialect_insert
from shared.uow import UnitOfWork

# Who a plan made from a launch's goals is by.
LAUNCH_ACTOR = "launch"


async def create_plan(
    *, uow: UnitOfWork, data: PlanCreate, actor: Principal, now: datetime
) -> tuple[Any, list[Target]]:
    """A plan with its first targets; 409 when the product or account has one already."""
    targets = domain.check_targets([t.target() for t in data.targets], data.currency)
    if data.kind is PlanKind.ACCOUNT and not re.fullmatch(accounts.PATTERN, data.subject):
        raise field_error("subject", f"an account {accounts.RULE}")
    if data.kind is PlanKind.PRODUCT:
        known = await uow.session.scalar(select(product.c.id).where(product.c.id == data.subject))
        if known is None:
            raise field_error(
                "subject",
                f"unknown product {data.subject!r}: pricing has not heard of it from the catalog",
            )
    row = await _insert_plan(
        uow,
        kind=data.kind,
        subject=data.subject,
        currency=data.currency,
        source=PlanSource.MANUAL,
        launch_id=None,
        by=actor.subject,
        targets=targets,
        now=now,
    )
    if row is None:
        raise domain.already_planned(data.kind, data.subject)
    return row, targets


async def plan_from_launch(*, uow: UnitOfWork, launched: Launched, now: datetime) -> Any | None:
    """The product's plan from its launch goals, unless it has a plan (or the launch set no
    goals); a plan made so is edited like any other afterwards."""
    goals = launched.goals
    if goals is None:
        return None
    existing = await uow.session.scalar(
        select(financial_plan.c.id).where(
            financial_plan.c.kind == PlanKind.PRODUCT.value,
            financial_plan.c.subject == launched.product_id,
        )
    )
    if existing is not None:
        return None
    targets = domain.launch_targets(
        launched_at=launched.launched_at,
        units=goals.units,
        revenue=goals.revenue.amount,
        margin_pct=goals.margin_pct,
        currency=goals.revenue.currency,
    )
    return await _insert_plan(
        uow,
        kind=PlanKind.PRODUCT,
        subject=launched.product_id,
        currency=goals.revenue.currency,
        source=PlanSource.LAUNCH,
        launch_id=launched.launch_id,
        by=LAUNCH_ACTOR,
        targets=targets,
        now=now,
    )


async def change_targets(
    *,
    uow: UnitOfWork,
    plan_id: str,
    data: TargetsChange,
    expected_version: int | None,
    actor: Principal,
    now: datetime,
) -> tuple[Any, list[Target]]:
    """Set the given months' targets (others stay); 412 when `If-Match` is stale."""
    stmt = select(financial_plan).where(financial_plan.c.id == plan_id).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no plan with id {plan_id!r}")
    check_version(expected_version, row.version)
    changes = domain.check_targets([t.target() for t in data.targets], row.currency)
    current = await targets_of(uow.session, plan_id)
    targets = domain.change_targets(current, changes, row.currency)
    for target in changes:
        await uow.session.execute(
            plan_target.delete().where(
                plan_target.c.plan_id == plan_id, plan_target.c.month == target.month
            )
        )
        await uow.session.execute(insert(plan_target).values(_target_values(plan_id, target)))
    saved = (
        await uow.session.execute(
            update(financial_plan)
            .where(financial_plan.c.id == plan_id)
            .values(version=row.version + 1, updated_by=actor.subject, updated_at=now)
            .returning(*financial_plan.c)
        )
    ).one()
    uow.publish(plan_event(saved, targets, by=actor.subject, changed=changes))
    return saved, targets


async def record_return(*, uow: UnitOfWork, data: Return, now: datetime) -> None:
    """Record a return once, valued at the last earlier sale price of the product (see
    `tables.sale_return`); a return arriving twice changes nothing."""
    earlier = (
        select(purchase.c.unit_price, purchase.c.currency)
        .where(
            purchase.c.product_id == data.product_id,
            purchase.c.occurred_at <= data.occurred_at,
        )
        .order_by(purchase.c.occurred_at.desc(), purchase.c.event_id.desc())
        .limit(1)
    )
    last = None
    if data.account is not None:
        # The price this account paid, where it bought the product before.
        stmt = earlier.where(purchase.c.account == data.account)
        last = (await uow.session.execute(stmt)).first()
    if last is None:
        last = (await uow.session.execute(earlier)).first()
    await uow.session.execute(
        dialect_insert(uow.dialect, sale_return)
        .values(
            event_id=data.key,
            product_id=data.product_id,
            account=data.account,
            occurred_at=data.occurred_at,
            quantity=data.quantity,
            unit_value=last.unit_price if last else None,
            currency=last.currency if last else None,
            received_at=now,
        )
        .on_conflict_do_nothing()
    )


async def _insert_plan(
    uow: UnitOfWork,
    *,
    kind: PlanKind,
    subject: str,
    currency: str,
    source: PlanSource,
    launch_id: str | None,
    by: str,
    targets: list[Target],
    now: datetime,
) -> Any | None:
    """The new plan's row, or None when the subject has a plan already (a concurrent
    create included: the unique constraint decides, in a savepoint)."""
    values = {
        "id": str(uuid7()),
        "kind": kind.value,
        "subject": subject,
        "currency": currency,
        "source": source.value,
        "launch_id": launch_id,
        "version": 1,
        "created_by": by,
        "created_at": now,
        "updated_by": by,
        "updated_at": now,
    }
    try:
        async with uow.session.begin_nested():
            row = (
                await uow.session.execute(
                    insert(financial_plan).values(values).returning(*financial_plan.c)
                )
            ).one()
    except IntegrityError:
        return None
    await uow.session.execute(
        insert(plan_target), [_target_values(row.id, target) for target in targets]
    )
    uow.publish(plan_event(row, targets, by=by))
    return row


def _target_values(plan_id: str, target: Target) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "month": target.month,
        "units": target.units,
        "revenue": target.revenue,
        "margin": target.margin,
    }

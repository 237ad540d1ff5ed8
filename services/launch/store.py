"""A plan's persistence: the `LaunchPlan` aggregate to and from its row, the history of its
changes, and its events numbered per product.

Every change goes through `save_plan` in the caller's unit of work: the row (guarded by
the version it was loaded at), a history entry and the events, in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import insert, select, update

from services.launch.domain import next_wakeup
from services.launch.events import PlanEvent, launch_event
from services.launch.plan import LaunchPlan, Outcome
from services.launch.tables import event_sequence, launch_plan, plan_history
from shared.db import rows_affected
from shared.errors import Conflict, NotFound
from shared.inserts import dialect_insert
from shared.uow import UnitOfWork

_CODEC = TypeAdapter(LaunchPlan)


def _plain(value: Any) -> Any:
    # Reasons keep their data read-only (MappingProxyType), which pydantic does not know.
    if isinstance(value, MappingProxyType):
        return dict(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def plan_state(plan: LaunchPlan) -> dict[str, Any]:
    """The aggregate as JSON-ready data (the `state` column)."""
    return _CODEC.dump_python(plan, mode="json", fallback=_plain, warnings=False)


def plan_of(state: Mapping[str, Any]) -> LaunchPlan:
    """The aggregate from its `state` column."""
    return _CODEC.validate_python(state)


@dataclass(frozen=True)
class StoredPlan:
    """A plan as loaded: the aggregate and its row's bookkeeping."""

    plan: LaunchPlan
    version: int
    updated_at: datetime
    wake_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> StoredPlan:
        return cls(plan_of(row.state), row.version, row.updated_at, row.wake_at)


@dataclass(frozen=True)
class Change:
    """What a history entry says: what was done, by whom (None: launch itself), why."""

    action: str
    by: str | None = None
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def _columns(plan: LaunchPlan, now: datetime) -> dict[str, Any]:
    return {
        "product_id": plan.product_id,
        "price_list": plan.price_list,
        "owner": plan.owner,
        "product_type": plan.product_type,
        "target_date": plan.target_date,
        "status": plan.status.value,
        "readiness": plan.readiness.value,
        "at_risk": plan.at_risk,
        "monitored_until": plan.monitored_until,
        "wake_at": next_wakeup(plan, now),
        "state": plan_state(plan),
        "updated_at": now,
    }


async def load_plan(uow: UnitOfWork, launch_id: str) -> StoredPlan:
    """The plan, locked for the rest of the transaction; 404 if unknown."""
    # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers.
    stmt = select(launch_plan).where(launch_plan.c.id == launch_id).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no launch plan with id {launch_id!r}", launch_id=launch_id)
    return StoredPlan.of(row)


async def insert_plan(uow: UnitOfWork, outcome: Outcome, *, change: Change) -> StoredPlan:
    """Save a new plan with its first history entry and events. The caller catches the
    IntegrityError of a second open plan of the product on the list."""
    now = uow.clock()
    plan = outcome.plan
    async with uow.session.begin_nested():
        values = {"id": plan.id, **_columns(plan, now), "version": 1, "created_at": now}
        await uow.session.execute(insert(launch_plan).values(values))
    await _record(uow, plan, outcome.events, change=change, version=1, now=now)
    return StoredPlan(plan, 1, now, values["wake_at"])


async def save_plan(
    uow: UnitOfWork, stored: StoredPlan, outcome: Outcome, *, change: Change | None
) -> StoredPlan:
    """Save a changed plan, its history entry (`change`; None records nothing) and events.

    A change that alters nothing, records nothing and moves no due time writes nothing.
    """
    now = uow.clock()
    plan = outcome.plan
    values = _columns(plan, now)
    if (
        change is None
        and not outcome.events
        and plan == stored.plan
        and values["wake_at"] == stored.wake_at
    ):
        return stored
    version = stored.version + 1
    result = await uow.session.execute(
        update(launch_plan)
        .where(launch_plan.c.id == plan.id, launch_plan.c.version == stored.version)
        .values({**values, "version": version})
    )
    if rows_affected(result) != 1:
        # Loaded FOR UPDATE, so only a bug can get here; never overwrite a newer plan.
        raise Conflict("the plan changed meanwhile; retry", launch_id=plan.id)
    if change is not None:
        await _record(uow, plan, outcome.events, change=change, version=version, now=now)
    else:
        await publish(uow, outcome.events)
    return StoredPlan(plan, version, now, values["wake_at"])


async def _record(
    uow: UnitOfWork,
    plan: LaunchPlan,
    events: Sequence[PlanEvent],
    *,
    change: Change,
    version: int,
    now: datetime,
) -> None:
    await uow.session.execute(
        insert(plan_history).values(
            launch_id=plan.id,
            changed_at=now,
            changed_by=change.by,
            action=change.action,
            reason=change.reason,
            data=dict(change.data),
            events=[type(event).event_type for event in events],  # type: ignore[attr-defined]
            version=version,
        )
    )
    await publish(uow, events)


async def publish(uow: UnitOfWork, events: Sequence[PlanEvent]) -> None:
    """Add the events to the outbox, each numbered by its product's launch-event counter,
    which moves on in this transaction (one statement per product)."""
    by_product: dict[str, list[PlanEvent]] = {}
    for event in events:
        by_product.setdefault(event.product_id, []).append(event)
    now = uow.clock()
    for product_id, group in by_product.items():
        count = len(group)
        stmt = (
            dialect_insert(uow.dialect, event_sequence)
            .values(product_id=product_id, last=count)
            .on_conflict_do_update(
                index_elements=[event_sequence.c.product_id],
                set_={"last": event_sequence.c.last + count},
            )
            .returning(event_sequence.c.last)
        )
        first = (await uow.session.execute(stmt)).scalar_one() - count + 1
        uow.publish_many(
            launch_event(event, sequence=first + offset, time=now)
            for offset, event in enumerate(group)
        )

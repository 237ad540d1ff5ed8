"""The catalog's snapshots for consumers catching up (issue 10): one
`catalog.product.snapshot.v1` per product, written by `productops republish catalog`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.events import DecisionData, catalog_event, product_snapshot
from services.catalog.tables import product
from shared.events import CloudEvent
from shared.republish import SnapshotSource
from shared.uow import UnitOfWork


class CurrentDecisions(Protocol):
    """The current decision of each of `product_ids` that has one."""

    async def __call__(
        self, *, session: AsyncSession, product_ids: Sequence[str]
    ) -> Mapping[str, DecisionData]: ...


def product_snapshots(*, decisions: CurrentDecisions) -> SnapshotSource:
    """Every product, keyed and sequenced like its own events (subject the product id,
    `sequence` its version). Decisions come from the decisions sub-domain through
    `decisions`, wired at app assembly: the core does not import its sub-domains."""

    async def events(uow: UnitOfWork, rows: Sequence[Row[Any]]) -> list[CloudEvent]:
        current = await decisions(session=uow.session, product_ids=[row.id for row in rows])
        return [
            catalog_event(
                product_snapshot(row, current.get(row.id)), subject=row.id, sequence=row.version
            )
            for row in rows
        ]

    return SnapshotSource(rows=select(product), key=product.c.id, events=events)

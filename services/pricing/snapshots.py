"""Pricing's snapshots for consumers catching up (issue 10): one `pricing.price.snapshot.v1`
per price that can still change, written by `productops republish pricing`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from services.pricing.domain import OPEN_STATUSES
from services.pricing.events import price_snapshot
from services.pricing.service import price_events
from services.pricing.tables import price
from shared.events import EncodedEvent
from shared.republish import SnapshotSource
from shared.uow import UnitOfWork


async def _events(uow: UnitOfWork, rows: Sequence[Row[Any]]) -> list[EncodedEvent]:
    # Numbered like every pricing event, by the product's counter: a product has several
    # prices, so the snapshots of one run need a sequence each, newer than what came before.
    return await price_events(uow, rows, payload=price_snapshot)


price_snapshots = SnapshotSource(
    rows=select(price).where(price.c.status.in_([status.value for status in OPEN_STATUSES])),
    key=price.c.id,
    events=_events,
)

"""Filing a suggestion: stored as a customer event of kind `suggestion` and origin
`internal`, queued for the same triage as customers' texts, and never published on
`storefront.customer-events` (it is not a storefront fact other services count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from uuid6 import uuid7

from services.feedback.findings.domain import Source
from services.feedback.ingest.service import EventStatus
from services.feedback.suggestions.domain import scope_of
from services.feedback.tables import customer_event
from services.feedback.triage.domain import TriageState
from shared.auth import Principal
from shared.uow import UnitOfWork

KIND = "suggestion"
# The `customer_event.customer_ref` column's length.
_REF_LIMIT = 128


@dataclass(frozen=True)
class Filed:
    event_id: str
    scope: str
    at: datetime


async def file_suggestion(
    *,
    uow: UnitOfWork,
    text: str,
    title: str | None,
    product_id: str | None,
    product_type: str | None,
    actor: Principal,
) -> Filed:
    """Store a suggestion for triage; where its item and finding will be kept."""
    now = uow.clock()
    event_id = f"{KIND}-{uuid7()}"
    scope = scope_of(product_id=product_id, product_type=product_type)
    await uow.session.execute(
        insert(customer_event).values(
            source=actor.owner,
            event_id=event_id,
            kind=KIND,
            occurred_at=now,
            product_id=scope,
            customer_ref=actor.owner[:_REF_LIMIT],
            text=text,
            subject=title,
            ingested_at=now,
            ingested_by=actor.subject,
            triage=TriageState.QUEUED.value,
            status=EventStatus.ACCEPTED.value,
            origin=Source.INTERNAL.value,
        )
    )
    return Filed(event_id=event_id, scope=scope, at=now)

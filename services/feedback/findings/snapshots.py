"""Feedback's snapshots for consumers catching up (issue 10): one
`feedback.finding.snapshot.v1` per finding, written by `productops republish feedback`.

Like the finding events, a snapshot has the product as subject and no `sequence` (a product
has many findings): a consumer compares the finding's `version` in `data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from services.feedback.events import FindingSnapshot, feedback_event
from services.feedback.tables import finding
from services.feedback.triage.service import finding_snapshot
from shared.events import CloudEvent
from shared.republish import SnapshotSource
from shared.uow import UnitOfWork

# What `finding_snapshot` reads: not the embedding sum, which is most of a row's bytes.
_COLUMNS = [
    finding.c[name]
    for name in (
        "id",
        "product_id",
        "kind",
        "severity",
        "status",
        "item_count",
        "safety_hazard",
        "regression",
        "topic",
        "representative_quote",
        "first_seen",
        "last_seen",
        "version",
        "sources",
    )
]


async def _events(_uow: UnitOfWork, rows: Sequence[Row[Any]]) -> list[CloudEvent]:
    return [
        feedback_event(FindingSnapshot(**finding_snapshot(row)), subject=row.product_id)
        for row in rows
    ]


finding_snapshots = SnapshotSource(rows=select(*_COLUMNS), key=finding.c.id, events=_events)

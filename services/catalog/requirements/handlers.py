"""The catalog's consumer of feedback's requirement events (contract: `events.py`)."""

from __future__ import annotations

from datetime import UTC

from pydantic import ValidationError

from services.catalog.requirements.domain import Origin, Report, requirement_key
from services.catalog.requirements.events import RequirementIdentified
from services.catalog.requirements.service import Subject, record_report
from shared.events import CloudEvent
from shared.faults import InvalidEvent
from shared.uow import UnitOfWork


async def handle_requirement_identified(event: CloudEvent, uow: UnitOfWork) -> None:
    """Merge a `feedback.requirement.identified.v1` into its requirement and idea.

    Every write goes through `uow`, the transaction in which the kernel records the event in
    the inbox: a redelivered event is a no-op. An unreadable event raises `InvalidEvent`, and
    the consumer sends it to `dlq.catalog` at once, without retries.
    """
    try:
        data = RequirementIdentified.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidEvent(f"unreadable {event.type} {event.id}: {exc}") from exc
    key = requirement_key(data.text)
    if not key:
        raise InvalidEvent(f"{event.type} {event.id} has no words in its text")
    report = Report(
        kind=data.kind,
        occurrences=data.occurrences,
        occurred_at=data.occurred_at.astimezone(UTC),
        quote=data.quote,
        feedback_ref=data.requirement_id,
    )
    await record_report(
        uow=uow,
        text=data.text,
        key=key,
        # Looked up only if the requirement is new: most reports merge into a known one.
        subject=Subject(data.product_id, data.product_type),
        report=report,
        origin=Origin.FEEDBACK,
        actor=None,
        now=uow.clock(),
    )

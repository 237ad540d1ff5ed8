"""A tiny real service built on the kernel, used to test the kernel itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Integer, Row, String, Table, select, update

from shared.app import RuntimeDep, ServiceSpec, create_service_app
from shared.auth import Principal, require
from shared.consumer import Handler
from shared.db import new_metadata
from shared.events import CloudEvent, new_event
from shared.republish import SnapshotSource
from shared.settings import Settings
from shared.uow import UnitOfWork

metadata = new_metadata()
note = Table(
    "note",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("text", String(200), nullable=False),
    Column("version", Integer, nullable=False),
)
seen = Table(
    "seen",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_text", String(200), nullable=False),
)

router = APIRouter(prefix="/v1")
Writer = Annotated[Principal, Depends(require("catalog:write"))]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    text: str


@router.post("/notes", status_code=201)
async def create_note(body: NoteIn, runtime: RuntimeDep, _: Writer) -> dict:
    async with runtime.uow() as uow:
        await uow.session.execute(note.insert().values(id=body.id, text=body.text, version=1))
        uow.publish(
            new_event(
                source="/sample",
                type="sample.note.created.v1",
                subject=body.id,
                data={"text": body.text},
                sequence=1,
            )
        )
    return {"id": body.id}


async def count_note(event: CloudEvent, uow: UnitOfWork) -> None:
    """Counts every event per subject: a redelivery that got through would double it."""
    if event.data.get("fail"):
        raise RuntimeError("told to fail")
    current = await uow.session.scalar(select(seen.c.count).where(seen.c.subject == event.subject))
    text = str(event.data.get("text", ""))
    if current is None:
        await uow.session.execute(
            seen.insert().values(subject=event.subject, count=1, last_text=text)
        )
    else:
        await uow.session.execute(
            update(seen)
            .where(seen.c.subject == event.subject)
            .values(count=current + 1, last_text=text)
        )


NOTE_SNAPSHOT = "sample.note.snapshot.v1"


async def note_snapshots(_uow: UnitOfWork, rows: Sequence[Row[Any]]) -> list[CloudEvent]:
    """A note as it is, sequenced by its version like its own events."""
    return [
        new_event(
            source="/sample",
            type=NOTE_SNAPSHOT,
            subject=row.id,
            data={"text": row.text},
            sequence=row.version,
        )
        for row in rows
    ]


def create_app(
    settings: Settings,
    *,
    consumes: list[str] | None = None,
    handlers: dict[str, Handler] | None = None,
):
    handlers = handlers if handlers is not None else {"sample.note.created.v1": count_note}
    topics = consumes or ["sample.events"]
    spec = ServiceSpec(
        name="sample",
        title="Sample",
        metadata=metadata,
        routers=[router],
        handlers=handlers,
        consumes=topics,
        # Each test reads its own topic: the sample's events come from there.
        event_topics={event_type: topics[0] for event_type in handlers},
        snapshots=SnapshotSource(rows=select(note), key=note.c.id, events=note_snapshots),
    )
    return create_service_app(spec, settings)

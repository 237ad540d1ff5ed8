"""The kernel's own tables, created in every service's database beside its domain tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import JSON

from shared.db import new_metadata
from shared.types import UtcDateTime

metadata = new_metadata()

# SQLite only auto-increments an INTEGER PRIMARY KEY.
SeqType = BigInteger().with_variant(Integer(), "sqlite")
JsonType = JSON().with_variant(JSONB(), "postgresql")

# Columns follow Debezium's outbox layout, so change-data capture can replace the relay later.
outbox = Table(
    "outbox",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("key", String(255), nullable=True),
    Column("type", String(255), nullable=False),
    Column("payload", Text, nullable=False),
    Column("headers", JsonType, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    # A row the broker can never take (too large, refused) is set aside, not retried
    # forever; an admin re-queues it or discards it with a reason.
    Column("parked_at", UtcDateTime, nullable=True),
    Column("discarded_at", UtcDateTime, nullable=True),
    Column("discard_reason", Text, nullable=True),
)
Index(
    "ix_outbox_unpublished",
    outbox.c.seq,
    sqlite_where=outbox.c.published_at.is_(None),
    postgresql_where=outbox.c.published_at.is_(None),
)
Index("ix_outbox_published_at", outbox.c.published_at)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("type", String(255), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("processed_at", UtcDateTime, nullable=False),
)
# Pruning finds old rows by age.
Index("ix_inbox_processed_at", inbox.c.processed_at)

# What a consumer could not apply, kept beside its inbox; `dlq.<group>` gets a copy.
dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("consumer", String(255), nullable=False),
    # The CloudEvent id; for a value that is no event, a hash of the value.
    Column("event_id", String(255), nullable=False),
    Column("type", String(255), nullable=True),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("key", Text, nullable=True),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JsonType, nullable=False),
    Column("error_type", String(255), nullable=False),
    Column("error_message", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(255), nullable=True),
    Column("reason", Text, nullable=True),
    # A redelivered event is never dead-lettered twice.
    UniqueConstraint("consumer", "event_id"),
)

# The highest `sequence` applied per (consumer, source, subject): older events are stale.
subject_position = Table(
    "subject_position",
    metadata,
    Column("consumer", String(255), primary_key=True),
    Column("source", String(255), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
)

idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("principal", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# API keys the gateway revoked (`gateway.api_key.revoked.v1`): their tokens are refused.
revoked_api_key = Table(
    "revoked_api_key",
    metadata,
    Column("key_id", String(255), primary_key=True),
    Column("revoked_at", UtcDateTime, nullable=False),
)

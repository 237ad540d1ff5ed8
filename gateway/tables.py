"""The gateway's own tables, in its own database (`settings.database_url("gateway")`)."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from shared.db import new_metadata
from shared.tables import JsonType
from shared.types import UtcDateTime

metadata = new_metadata()

# Only the SHA-256 of a key's secret is kept; the full key is shown once, at creation.
api_key = Table(
    "api_key",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    # The person or system behind the key: four-eyes rules compare owners, not keys.
    Column("owner", String(100), nullable=False),
    Column("scopes", JsonType, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)
# Keyset pagination walks keys in creation order.
Index("ix_api_key_created_at_id", api_key.c.created_at, api_key.c.id)

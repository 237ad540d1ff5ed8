"""Competitor case studies, one row each."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from services.catalog.tables import metadata, product_type
from shared.tables import JsonType
from shared.types import UtcDateTime

# `id` is a UUIDv7 string, so ordering by id is creation order (keyset pagination).
case_study = Table(
    "case_study",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_type", String(64), ForeignKey(product_type.c.code), nullable=False),
    Column("competitor", String(100), nullable=False),
    Column("competitor_product", String(200), nullable=False),
    Column("strengths", Text, nullable=True),
    Column("weaknesses", Text, nullable=True),
    # [{"url": ... | null, "text": ... | null}], at most 20.
    Column("sources", JsonType, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("author", String(255), nullable=False),
    Column("author_name", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("updated_by_name", String(255), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# A type's studies of one status in creation order: the list and the knowledge sheet.
Index(
    "ix_case_study_product_type_status_id",
    case_study.c.product_type,
    case_study.c.status,
    case_study.c.id,
)

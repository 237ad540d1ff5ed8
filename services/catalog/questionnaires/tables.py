"""Questionnaire tables: templates (questions as JSON) and vendor responses per product."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from services.catalog.tables import metadata, product, product_type
from shared.tables import JsonType
from shared.types import UtcDateTime

# Templates never change once created, so a response is always read against the questions
# it was validated with; a new version of a questionnaire is a new template.
questionnaire = Table(
    "questionnaire",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("product_type", String(64), ForeignKey(product_type.c.code), nullable=True),
    Column("questions", JsonType, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_by_name", String(255), nullable=False),
)
Index("ix_questionnaire_product_type_id", questionnaire.c.product_type, questionnaire.c.id)

# One response per vendor and product for a questionnaire; `answers` maps question keys to
# answers in their stored form (see questionnaires.domain).
questionnaire_response = Table(
    "questionnaire_response",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("questionnaire_id", String(36), ForeignKey(questionnaire.c.id), nullable=False),
    Column("vendor", String(200), nullable=False),
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=False),
    Column("status", String(16), nullable=False),
    Column("answers", JsonType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("created_by", String(255), nullable=False),
    Column("created_by_name", String(255), nullable=False),
    UniqueConstraint("questionnaire_id", "vendor", "product_id"),
)
Index(
    "ix_questionnaire_response_questionnaire_id_id",
    questionnaire_response.c.questionnaire_id,
    questionnaire_response.c.id,
)
Index(
    "ix_questionnaire_response_product_id_id",
    questionnaire_response.c.product_id,
    questionnaire_response.c.id,
)

"""The feedback service's own tables: customer events, the product directory, triaged items,
findings, search-miss clusters and escalations."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from services.feedback.triage.domain import TriageState
from shared.db import new_metadata
from shared.tables import JsonType, SeqType
from shared.types import Amount, UtcDateTime

metadata = new_metadata()

# What the catalog's events told us about each product: enough to resolve an sku, name a
# product in a user story and give a requirement its product type.
product = Table(
    "product",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("sku", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=True),
    Column("product_type", String(64), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One row per accepted storefront event. `event_id` (the client's) is unique per source, the
# owner of the key that sent it (security issue 12, finding 5): a replay through a rotated
# key of the same owner is still a duplicate, and one storefront cannot squat another's ids.
# `seq` is arrival order.
customer_event = Table(
    "customer_event",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("source", String(255), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    # NULL while only an sku is known that the catalog has not named yet.
    Column("product_id", String(64), nullable=True),
    Column("sku", String(64), nullable=True),
    Column("customer_ref", String(128), nullable=False),
    Column("text", Text, nullable=True),
    Column("rating", SmallInteger, nullable=True),
    Column("reason", String(500), nullable=True),
    Column("subject", String(200), nullable=True),
    Column("priority", String(8), nullable=True),
    Column("query", String(500), nullable=True),
    Column("quantity", Integer, nullable=True),
    Column("unit_price_amount", Amount, nullable=True),
    Column("unit_price_currency", String(3), nullable=True),
    # The B2B customer or customer group of a purchase or return (`shared.accounts`).
    Column("account", String(128), nullable=True),
    Column("ingested_at", UtcDateTime, nullable=False),
    Column("ingested_by", String(255), nullable=False),
    # A `TriageState`.
    Column("triage", String(8), nullable=False),
    # Failed model readings of the event, and when a queued one may be read again (NULL: at
    # once); see `triage.domain.after_failure`. Server defaults: ingestion does not set them.
    Column("triage_attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    # An `EventStatus`: `held` while the catalog has not named its product (it is not
    # published), `accepted` once it is (or when it names none), `expired` when it was held
    # past `PRODUCTOPS_INGEST_HOLD_DAYS`.
    Column("status", String(8), nullable=False, server_default="accepted"),
    # A survey response's survey (NULL: free-standing), segment and `{question_key: value}`.
    Column("survey_id", String(36), nullable=True),
    Column("segment", String(64), nullable=True),
    Column("answers", JsonType, nullable=True),
    # Who wrote it, a `findings.domain.Source` (`source` above is the key's owner): storefront
    # events are customers', suggestions (`POST /v1/suggestions`) the product team's.
    Column("origin", String(16), nullable=False, server_default="customer"),
    UniqueConstraint("source", "event_id"),
)
# The triage worker's queue, oldest first; partial, so done events cost the index nothing.
Index(
    "ix_customer_event_queued",
    customer_event.c.seq,
    sqlite_where=customer_event.c.triage == TriageState.QUEUED.value,
    postgresql_where=customer_event.c.triage == TriageState.QUEUED.value,
)
# Events waiting for the catalog to name their sku.
Index(
    "ix_customer_event_unresolved_sku",
    customer_event.c.sku,
    sqlite_where=customer_event.c.product_id.is_(None),
    postgresql_where=customer_event.c.product_id.is_(None),
)
# Held events, by the product id they name (resolved, or expired oldest first).
Index(
    "ix_customer_event_held",
    customer_event.c.product_id,
    customer_event.c.ingested_at,
    sqlite_where=customer_event.c.status == "held",
    postgresql_where=customer_event.c.status == "held",
)
# Expired events, counted on `/v1/customer-events/stats`.
Index(
    "ix_customer_event_expired",
    customer_event.c.seq,
    sqlite_where=customer_event.c.status == "expired",
    postgresql_where=customer_event.c.status == "expired",
)
# Events stored per minute, for the dashboard's ingestion rate (`/v1/customer-events/stats`).
Index("ix_customer_event_ingested_at", customer_event.c.ingested_at)
# A survey's responses, for its results; partial: other events cost the index nothing.
Index(
    "ix_customer_event_survey_id",
    customer_event.c.survey_id,
    customer_event.c.seq,
    sqlite_where=customer_event.c.survey_id.is_not(None),
    postgresql_where=customer_event.c.survey_id.is_not(None),
)
# Events triage gave up on, counted in /readyz and re-queued by an admin.
Index(
    "ix_customer_event_failed",
    customer_event.c.seq,
    sqlite_where=customer_event.c.triage == TriageState.FAILED.value,
    postgresql_where=customer_event.c.triage == TriageState.FAILED.value,
)

finding = Table(
    "finding",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("item_count", Integer, nullable=False),
    # Opened by a safety hazard: hazards and other reports never share a finding.
    Column("safety_hazard", Boolean, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("representative_quote", Text, nullable=False),
    Column("representative_event_id", String(128), nullable=False),
    # Similarity of the representative to the centroid when it was chosen.
    Column("representative_score", Float, nullable=False),
    # Sum of the items' (unit) embeddings, packed float32: the centroid is its direction.
    Column("embedding_sum", LargeBinary, nullable=False),
    Column("regression", Boolean, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("status_note", String(1000), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Who wrote its items, comma-separated in `Source` order (`customer,internal`).
    Column("sources", String(64), nullable=False, server_default="customer"),
)
Index("ix_finding_product_id_kind", finding.c.product_id, finding.c.kind)
Index("ix_finding_status_id", finding.c.status, finding.c.id)

feedback_item = Table(
    "feedback_item",
    metadata,
    Column("id", String(36), primary_key=True),
    # The customer event read (its `seq`: an `event_id` is unique only within its source),
    # and that event's id, as its storefront named it.
    Column("event_seq", SeqType, nullable=False, unique=True),
    Column("event_id", String(128), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("sentiment", Float, nullable=False),
    Column("safety_hazard", Boolean, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("quote", Text, nullable=False),
    Column("finding_id", String(36), ForeignKey(finding.c.id), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("triaged_at", UtcDateTime, nullable=False),
    # The model's confidence (0-1; NULL before it had one), and whether it was below
    # `PRODUCTOPS_FEEDBACK_REVIEW_BELOW` and no person has labelled the item since.
    Column("confidence", Float, nullable=True),
    Column("needs_review", Boolean, nullable=False, server_default=false()),
    # The item's embedding, packed float32 (NULL before it was kept): a person's label moves
    # the item to another finding, whose centroid it joins.
    Column("embedding", LargeBinary, nullable=True),
    Column("labelled_by", String(255), nullable=True),
    Column("labelled_at", UtcDateTime, nullable=True),
    # Who wrote it: a `findings.domain.Source`.
    Column("source", String(16), nullable=False, server_default="customer"),
)
Index("ix_feedback_item_product_id_id", feedback_item.c.product_id, feedback_item.c.id)
# Items waiting for a person, in triage order.
Index(
    "ix_feedback_item_needs_review",
    feedback_item.c.id,
    sqlite_where=feedback_item.c.needs_review,
    postgresql_where=feedback_item.c.needs_review,
)
Index("ix_feedback_item_category_id", feedback_item.c.category, feedback_item.c.id)
Index(
    "ix_feedback_item_finding_id_occurred_at",
    feedback_item.c.finding_id,
    feedback_item.c.occurred_at,
)

# A person's correction of an item's triage, with the text it was read from: training data for
# the next refit (`python -m services.feedback.triage.refit`). The latest label of an item wins.
triage_label = Table(
    "triage_label",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("item_id", String(36), ForeignKey(feedback_item.c.id), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("rating", SmallInteger, nullable=True),
    Column("subject", String(200), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("priority", String(8), nullable=True),
    Column("category", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("hazard", Boolean, nullable=False),
    Column("labelled_by", String(255), nullable=False),
    Column("labelled_at", UtcDateTime, nullable=False),
)
Index("ix_triage_label_item_id", triage_label.c.item_id)

finding_status_change = Table(
    "finding_status_change",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("finding_id", String(36), ForeignKey(finding.c.id), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("note", String(1000), nullable=True),
    Column("changed_by", String(255), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)
Index("ix_finding_status_change_finding_id", finding_status_change.c.finding_id)

# Search misses grouped by their normalised query (no model needed).
search_miss_cluster = Table(
    "search_miss_cluster",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("normalized_query", String(500), nullable=False, unique=True),
    Column("sample_query", String(500), nullable=False),
    Column("product_id", String(64), nullable=True),
    Column("occurrences", Integer, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
)

escalation = Table(
    "escalation",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("route", String(8), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("product_id", String(64), nullable=True),
    Column("finding_id", String(36), ForeignKey(finding.c.id), nullable=True),
    # The customer event that raised it (its `seq`, and its id as its storefront named it);
    # none for a critical defect's, which its finding raised.
    Column("event_seq", SeqType, nullable=True),
    Column("event_id", String(128), nullable=True),
    Column("due_at", UtcDateTime, nullable=False),
    # An `EscalationStatus`: open, forwarded (to sales), answered, done.
    Column("status", String(16), nullable=False),
    Column("note", String(1000), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # When it was answered or done.
    Column("done_at", UtcDateTime, nullable=True),
    Column("forwarded_at", UtcDateTime, nullable=True),
    Column("forwarded_by", String(255), nullable=True),
    Column("forward_note", String(1000), nullable=True),
    # One escalation per event and rule: a re-run of triage cannot double it.
    UniqueConstraint("event_seq", "rule"),
)
Index("ix_escalation_status_due_at", escalation.c.status, escalation.c.due_at)
Index("ix_escalation_finding_id", escalation.c.finding_id)

# Answers to customers' questions (an escalation, or a question finding): the product's known
# questions and answers. A re-answer supersedes the current answer of its source, which stays
# as history (`superseded_at`); at most one answer per source is current.
answer = Table(
    "answer",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_id", String(64), nullable=True),
    # A `SourceKind`: escalation or finding; `source_id` is its id.
    Column("source_kind", String(16), nullable=False),
    Column("source_id", String(36), nullable=False),
    Column("question", String(500), nullable=False),
    Column("answer", Text, nullable=False),
    Column("answered_by", String(255), nullable=False),
    Column("answered_at", UtcDateTime, nullable=False),
    # The answer this one superseded.
    Column("replaces", String(36), nullable=True),
    Column("superseded_at", UtcDateTime, nullable=True),
)
# A product's current answers, newest first (the known Q&A list's keyset).
Index(
    "ix_answer_current_product",
    answer.c.product_id,
    answer.c.answered_at,
    answer.c.id,
    sqlite_where=answer.c.superseded_at.is_(None),
    postgresql_where=answer.c.superseded_at.is_(None),
)
# One current answer per source: a re-answer supersedes it in the same transaction.
Index(
    "ix_answer_current_source",
    answer.c.source_kind,
    answer.c.source_id,
    unique=True,
    sqlite_where=answer.c.superseded_at.is_(None),
    postgresql_where=answer.c.superseded_at.is_(None),
)

# A survey of the target market about a product or a product type (issue 14): its questions
# as `surveys.domain.Question.as_dict` writes them; responses are customer events.
survey = Table(
    "survey",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("product_id", String(64), nullable=True),
    Column("product_type", String(64), nullable=True),
    Column("questions", JsonType, nullable=False),
    # A `SurveyStatus`.
    Column("status", String(8), nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_by", String(255), nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
)

# How triage read a survey response that names no product (a product-type survey, or a
# free-standing response): findings are per product, so it joins none; its reading is kept
# here for the survey's results. Responses about a product become `feedback_item`s.
survey_reading = Table(
    "survey_reading",
    metadata,
    # The response read: its customer event's `seq`.
    Column("event_seq", SeqType, primary_key=True, autoincrement=False),
    Column("category", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("sentiment", Float, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("triaged_at", UtcDateTime, nullable=False),
)

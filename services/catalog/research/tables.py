"""Research tables: criteria per product type, benchmarks, and one score row per criterion."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text

from services.catalog.tables import metadata, product, product_type
from shared.types import UtcDateTime

# The version of a product type's criteria set, for If-Match on PUT and the event sequence.
research_criteria_set = Table(
    "research_criteria_set",
    metadata,
    Column("product_type", String(64), ForeignKey(product_type.c.code), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("updated_by_name", String(255), nullable=False),
)

research_criterion = Table(
    "research_criterion",
    metadata,
    Column("product_type", String(64), ForeignKey(product_type.c.code), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("weight", Float, nullable=False),
    Column("description", Text, nullable=True),
)

# `id` is a UUIDv7 string: ordering by id is recording order (keyset pagination).
benchmark = Table(
    "benchmark",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product_type", String(64), ForeignKey(product_type.c.code), nullable=False),
    Column("brand", String(100), nullable=False),
    Column("product_id", String(36), ForeignKey(product.c.id), nullable=True),
    Column("competitor_ref", String(200), nullable=True),
    Column("source", String(500), nullable=False),
    Column("notes", Text, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(255), nullable=False),
    Column("recorded_by_name", String(255), nullable=False),
)
Index("ix_benchmark_product_type_id", benchmark.c.product_type, benchmark.c.id)
Index("ix_benchmark_product_type_brand", benchmark.c.product_type, benchmark.c.brand)
Index("ix_benchmark_product_id", benchmark.c.product_id)

# One row per (benchmark, criterion), so the ranking is a GROUP BY over an index. Benchmarks
# never change after they are recorded, so copying type, brand and product here is safe, and
# it makes the indexes below covering: the ranking never touches the benchmark table's rows.
benchmark_score = Table(
    "benchmark_score",
    metadata,
    Column("benchmark_id", String(36), ForeignKey(benchmark.c.id), primary_key=True),
    Column("criterion", String(64), primary_key=True),
    Column("product_type", String(64), nullable=False),
    Column("brand", String(100), nullable=False),
    Column("product_id", String(36), nullable=True),
    Column("score", Float, nullable=False),
)
Index(
    "ix_benchmark_score_type_brand_criterion",
    benchmark_score.c.product_type,
    benchmark_score.c.brand,
    benchmark_score.c.criterion,
    benchmark_score.c.score,
)
Index(
    "ix_benchmark_score_type_product_criterion",
    benchmark_score.c.product_type,
    benchmark_score.c.product_id,
    benchmark_score.c.criterion,
    benchmark_score.c.score,
    sqlite_where=benchmark_score.c.product_id.is_not(None),
    postgresql_where=benchmark_score.c.product_id.is_not(None),
)

# The ranking's aggregates, kept in step by `record_benchmark` in the benchmark's own
# transaction: per product type, per brand (`scope` "brand") or product of ours ("product"),
# per criterion, the sum and count of scores. The row with criterion "" counts the key's
# benchmarks (criterion names start with a letter, so "" is never one). Reading a few hundred
# of these rows replaced a GROUP BY over every score row (one per benchmark and criterion),
# whose cost grew with the benchmarks: 10,000 of them took 20-60 ms to aggregate.
BENCHMARK_COUNT = ""
benchmark_tally = Table(
    "benchmark_tally",
    metadata,
    Column("product_type", String(64), ForeignKey(product_type.c.code), primary_key=True),
    Column("scope", String(8), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("criterion", String(64), primary_key=True),
    Column("total", Float, nullable=False),
    Column("count", Integer, nullable=False),
)

"""Research use cases: criteria per product type, benchmarks, and the brand ranking.

The ranking reads `benchmark_tally` (the sum and count of scores per brand or product and
criterion, kept in step by `record_benchmark` in the benchmark's own transaction) and weights
the means in Python by `research.domain`, so its cost grows with brands x criteria, not with
the number of benchmarks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog.research.domain import (
    Contender,
    Criterion,
    CriterionStat,
    OurProduct,
    Ranked,
    check_scores,
    check_subject,
    rank_contenders,
    standing,
    validate_criteria,
)
from services.catalog.research.events import (
    BenchmarkRecorded,
    CriteriaChanged,
    CriterionData,
    research_event,
)
from services.catalog.research.schemas import BenchmarkCreate
from services.catalog.research.tables import (
    BENCHMARK_COUNT,
    benchmark,
    benchmark_score,
    benchmark_tally,
    research_criteria_set,
    research_criterion,
)
from services.catalog.service import get_product_type, unknown_product_type
from services.catalog.tables import product, product_type
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import NotFound, invalid_input
from shared.inserts import dialect_insert
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

BENCHMARKS = Keyset(benchmark.c.id)
# `benchmark_tally.scope`: whose sums a row holds.
BRAND, PRODUCT = "brand", "product"
# Per scope: benchmarks per key, and per key and criterion the mean score and its count.
Tally = tuple[dict[str, int], dict[str, dict[str, CriterionStat]]]


# --- criteria ----------------------------------------------------------------------------------


async def get_criteria(
    *, session: AsyncSession, code: str
) -> tuple[Row[*tuple[Any, ...]] | None, list[Criterion]]:
    """A product type's criteria set (None if never defined) and its criteria; 404 if unknown.

    One statement, not one each for the type, the set and the criteria: the ranking starts
    with it, and every statement on a read session is several hops to the driver and back.
    """
    rows = (
        await session.execute(
            select(
                research_criteria_set.c.version,
                research_criteria_set.c.updated_at,
                research_criteria_set.c.updated_by,
                research_criteria_set.c.updated_by_name,
                research_criterion.c.name,
                research_criterion.c.weight,
                research_criterion.c.description,
            )
            .select_from(product_type)
            .outerjoin(
                research_criteria_set,
                research_criteria_set.c.product_type == product_type.c.code,
            )
            .outerjoin(research_criterion, research_criterion.c.product_type == product_type.c.code)
            .where(product_type.c.code == code)
            .order_by(research_criterion.c.position)
        )
    ).all()
    if not rows:
        raise unknown_product_type(code)
    header = rows[0] if rows[0].version is not None else None
    criteria = [
        Criterion(name=r.name, weight=r.weight, description=r.description)
        for r in rows
        if r.name is not None
    ]
    return header, criteria


async def replace_criteria(
    *,
    uow: UnitOfWork,
    code: str,
    criteria: Sequence[Criterion],
    expected_version: int | None,
    actor: Principal,
) -> tuple[Row[Any] | None, list[Criterion]]:
    """Replace a product type's criteria; 412 if stale. The same list again changes nothing."""
    wanted = list(validate_criteria(criteria))
    # FOR NO KEY UPDATE on PostgreSQL: serialises criteria changes of one type without
    # blocking the FOR KEY SHARE locks that inserts of its products and benchmarks take.
    locked = await uow.session.scalar(
        select(product_type.c.code)
        .where(product_type.c.code == code)
        .with_for_update(key_share=True)
    )
    if locked is None:
        raise unknown_product_type(code)
    header, current = await get_criteria(session=uow.session, code=code)
    check_version(expected_version, header.version if header else 0)
    if header is not None and current == wanted:
        return header, current
    now = uow.clock()
    values = {
        "version": (header.version if header else 0) + 1,
        "updated_at": now,
        "updated_by": actor.subject,
        "updated_by_name": actor.name,
    }
    if header is None:
        stmt: Any = insert(research_criteria_set).values(product_type=code, **values)
    else:
        stmt = (
            update(research_criteria_set)
            .where(research_criteria_set.c.product_type == code)
            .values(values)
        )
    header = (await uow.session.execute(stmt.returning(*research_criteria_set.c))).one()
    await uow.session.execute(
        delete(research_criterion).where(research_criterion.c.product_type == code)
    )
    await uow.session.execute(
        insert(research_criterion),
        [
            {
                "product_type": code,
                "name": criterion.name,
                "position": position,
                "weight": criterion.weight,
                "description": criterion.description,
            }
            for position, criterion in enumerate(wanted)
        ],
    )
    before, after = {c.name for c in current}, {c.name for c in wanted}
    payload = CriteriaChanged(
        product_type=code,
        version=header.version,
        criteria=[
            CriterionData(name=c.name, weight=c.weight, description=c.description) for c in wanted
        ],
        added=sorted(after - before),
        removed=sorted(before - after),
        changed_at=now,
    )
    uow.publish(research_event(payload, subject=code))
    return header, wanted


# --- benchmarks --------------------------------------------------------------------------------


async def record_benchmark(
    *, uow: UnitOfWork, code: str, data: BenchmarkCreate, actor: Principal
) -> tuple[Row[Any], dict[str, float]]:
    """Record a benchmark of a brand; 404 for an unknown type, 422 for what it names or scores."""
    _, current = await get_criteria(session=uow.session, code=code)
    criteria = {c.name for c in current}
    ours = None
    if data.product_id is not None:
        found = (
            await uow.session.execute(
                select(product.c.id, product.c.brand, product.c.product_type).where(
                    product.c.id == data.product_id
                )
            )
        ).first()
        ours = None if found is None else OurProduct(found.id, found.brand, found.product_type)
    brand, errors = check_subject(
        product_type=code,
        brand=data.brand,
        product_id=data.product_id,
        competitor_ref=data.competitor_ref,
        product=ours,
    )
    errors += check_scores(data.scores, criteria)
    if errors or brand is None:
        raise invalid_input(errors, what="benchmark")
    values = {
        "id": str(uuid7()),
        "product_type": code,
        "brand": brand,
        "product_id": data.product_id,
        "competitor_ref": data.competitor_ref,
        "source": data.source,
        "notes": data.notes,
        "recorded_at": uow.clock(),
        "recorded_by": actor.subject,
        "recorded_by_name": actor.name,
    }
    row = (
        await uow.session.execute(insert(benchmark).values(values).returning(*benchmark.c))
    ).one()
    scores = {name: float(score) for name, score in data.scores.items()}
    await uow.session.execute(
        insert(benchmark_score),
        [
            {
                "benchmark_id": row.id,
                "criterion": name,
                "product_type": code,
                "brand": brand,
                "product_id": row.product_id,
                "score": score,
            }
            for name, score in scores.items()
        ],
    )
    await _tally(uow, code, brand, row.product_id, scores)
    payload = BenchmarkRecorded(
        benchmark_id=row.id,
        product_type=code,
        brand=brand,
        product_id=row.product_id,
        competitor_ref=row.competitor_ref,
        scores=scores,
        source=row.source,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
    )
    uow.publish(research_event(payload, subject=row.product_id or code))
    return row, scores


async def _tally(
    uow: UnitOfWork, code: str, brand: str, product_id: str | None, scores: Mapping[str, float]
) -> None:
    """Add one benchmark to the ranking's sums and counts, its brand's and its product's."""
    keys = [(BRAND, brand)] + ([(PRODUCT, product_id)] if product_id is not None else [])
    rows = [
        {"product_type": code, "scope": scope, "key": key, "criterion": criterion, **added}
        for scope, key in keys
        for criterion, added in [
            (BENCHMARK_COUNT, {"total": 0.0, "count": 1}),
            *((name, {"total": score, "count": 1}) for name, score in scores.items()),
        ]
    ]
    stmt = dialect_insert(uow.dialect, benchmark_tally)
    # An upsert adds to the row in place: concurrent benchmarks of one brand never lose one.
    stmt = stmt.on_conflict_do_update(
        index_elements=list(benchmark_tally.primary_key.columns),
        set_={
            "total": benchmark_tally.c.total + stmt.excluded.total,
            "count": benchmark_tally.c.count + stmt.excluded.count,
        },
    )
    await uow.session.execute(stmt, rows)


async def get_benchmark(
    *, session: AsyncSession, benchmark_id: str
) -> tuple[Row[Any], dict[str, float]]:
    """One benchmark with its scores; 404 if unknown."""
    row = (await session.execute(select(benchmark).where(benchmark.c.id == benchmark_id))).first()
    if row is None:
        raise NotFound(f"no benchmark with id {benchmark_id!r}")
    return row, (await _scores_of(session, [row.id]))[row.id]


async def list_benchmarks(
    *,
    session: AsyncSession,
    code: str,
    brand: str | None,
    product_id: str | None,
    limit: int,
    cursor: str | None,
) -> Page[tuple[Row[Any], dict[str, float]]]:
    """A product type's benchmarks in recording order, filtered, one keyset page, each with
    its scores."""
    await get_product_type(session=session, code=code)
    stmt = select(benchmark).where(benchmark.c.product_type == code)
    if brand is not None:
        stmt = stmt.where(benchmark.c.brand == brand)
    if product_id is not None:
        stmt = stmt.where(benchmark.c.product_id == product_id)
    page = await BENCHMARKS.page(session, stmt, limit=limit, cursor=cursor)
    scores = await _scores_of(session, [row.id for row in page.items])
    return page.map(lambda row: (row, scores[row.id]))


async def _scores_of(session: AsyncSession, ids: list[str]) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {benchmark_id: {} for benchmark_id in ids}
    if not ids:
        return result
    rows = await session.execute(
        select(benchmark_score.c.benchmark_id, benchmark_score.c.criterion, benchmark_score.c.score)
        .where(benchmark_score.c.benchmark_id.in_(ids))
        .order_by(benchmark_score.c.benchmark_id, benchmark_score.c.criterion)
    )
    for benchmark_id, criterion, score in rows:
        result[benchmark_id][criterion] = score
    return result


# --- ranking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    """The ranking of one product type, ready to be shaped into the API's answer.

    `products` holds, per product of ours with benchmarks, its entry placed among the
    brands (`rank`), its product row (None if it vanished) and its brand's rank.
    """

    code: str
    criteria: list[Criterion]
    criteria_version: int
    benchmark_count: int
    brands: list[Ranked]
    products: list[tuple[Ranked, Row[*tuple[Any, ...]] | None, int | None]]


async def ranking(*, session: AsyncSession, code: str, min_coverage: float) -> Ranking:
    """Brands best first by weighted score, and our benchmarked products' standing."""
    header, criteria = await get_criteria(session=session, code=code)
    tallies = await _tallies(session, code, {c.name for c in criteria})
    brand_counts, brand_stats = tallies[BRAND]
    brands = rank_contenders(
        criteria,
        (
            Contender(key=brand, benchmarks=count, stats=brand_stats.get(brand, {}))
            for brand, count in brand_counts.items()
        ),
        min_coverage=min_coverage,
    )
    product_counts, product_stats = tallies[PRODUCT]
    details = {
        row.id: row
        for row in (
            await session.execute(
                select(product.c.id, product.c.sku, product.c.name, product.c.brand).where(
                    product.c.id.in_(list(product_counts))
                )
            )
        )
    }
    brand_rank = {r.contender.key: r.rank for r in brands}
    products = []
    # Our products are placed among the brands, not ranked against each other.
    for entry in rank_contenders(
        criteria,
        (
            Contender(key=product_id, benchmarks=count, stats=product_stats.get(product_id, {}))
            for product_id, count in product_counts.items()
        ),
    ):
        row = details.get(entry.contender.key)
        placed = Ranked(entry.contender, entry.result, standing(entry.result.score, brands))
        products.append((placed, row, brand_rank.get(row.brand) if row else None))
    return Ranking(
        code=code,
        criteria=criteria,
        criteria_version=header.version if header else 0,
        benchmark_count=sum(brand_counts.values()),
        brands=brands,
        products=products,
    )


async def _tallies(session: AsyncSession, code: str, current: set[str]) -> dict[str, Tally]:
    """Per scope (brand, product): benchmarks per key, and the mean score and count per key
    and criterion, for current criteria only (dropped ones keep their rows, unread)."""
    result: dict[str, Tally] = {scope: ({}, defaultdict(dict)) for scope in (BRAND, PRODUCT)}
    stmt = select(
        benchmark_tally.c.scope,
        benchmark_tally.c.key,
        benchmark_tally.c.criterion,
        benchmark_tally.c.total,
        benchmark_tally.c.count,
    ).where(benchmark_tally.c.product_type == code)
    for scope, key, criterion, total, count in await session.execute(stmt):
        counts, stats = result[scope]
        if criterion == BENCHMARK_COUNT:
            counts[key] = count
        elif criterion in current:
            stats[key][criterion] = CriterionStat(total / count, count)
    return result

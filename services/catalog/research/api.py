"""Brand research routes: criteria of a product type, benchmarks, and the brand ranking."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Query, Response, status

from services.catalog.research import service
from services.catalog.research.domain import MAX_CRITERIA, SCORE_DECIMALS, Criterion
from services.catalog.research.schemas import (
    BenchmarkCreate,
    BenchmarkPublic,
    CriteriaPublic,
    CriterionIn,
    CriterionPublic,
    RankingPublic,
    actor_of,
)
from shared.app import RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import MISSING
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/v1", tags=["research"])

Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]
Filter = Annotated[str | None, Query(max_length=200)]
CriteriaBody = Annotated[list[CriterionIn], Body(max_length=MAX_CRITERIA * 2)]


@router.get("/product-types/{code}/criteria", responses=MISSING, response_model=CriteriaPublic)
async def get_criteria(
    code: str, runtime: RuntimeDep, _: Reader, response: Response
) -> CriteriaPublic:
    """The criteria benchmarks of this product type are scored on, with their weights."""
    async with runtime.db.reader() as session:
        header, criteria = await service.get_criteria(session=session, code=code)
    return _criteria_public(response, code, header, criteria)


@router.put("/product-types/{code}/criteria", responses=MISSING, response_model=CriteriaPublic)
async def replace_criteria(
    code: str,
    body: CriteriaBody,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> CriteriaPublic:
    """Replace the criteria: `[{name, weight > 0, description?}]`; weights are relative.

    Names are lowercase snake_case and unique. Scores already recorded for a criterion that
    is dropped stay on their benchmarks but no longer count in the ranking. `If-Match` takes
    the criteria `version` (0 before the first PUT); 412 when stale.
    """
    async with runtime.uow() as uow:
        header, criteria = await service.replace_criteria(
            uow=uow,
            code=code,
            criteria=[item.to_domain() for item in body],
            expected_version=if_match,
            actor=actor,
        )
    return _criteria_public(response, code, header, criteria)


@router.post(
    "/product-types/{code}/benchmarks",
    responses=MISSING,
    status_code=status.HTTP_201_CREATED,
    response_model=BenchmarkPublic,
)
async def record_benchmark(
    code: str,
    body: BenchmarkCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | BenchmarkPublic:
    """Record a benchmark of a brand: scores 0..10 per criterion, a source and notes.

    Name one of our products with `product_id` (it must be of this type; its brand is the
    default) or a competitor's product with `competitor_ref`. Unknown criteria and scores
    out of range are refused with their location (`body.scores.<criterion>`).
    """
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row, scores = await service.record_benchmark(uow=uow, code=code, data=body, actor=actor)
        created = _benchmark_public(row, scores)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/benchmarks/{created.id}"
    return created


@router.get(
    "/product-types/{code}/benchmarks", responses=MISSING, response_model=Page[BenchmarkPublic]
)
async def list_benchmarks(
    code: str,
    runtime: RuntimeDep,
    _: Reader,
    brand: Filter = None,
    product_id: Filter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[BenchmarkPublic]:
    """A product type's benchmarks in recording order, optionally of one brand or product."""
    async with runtime.db.reader() as session:
        page = await service.list_benchmarks(
            session=session,
            code=code,
            brand=brand,
            product_id=product_id,
            limit=limit,
            cursor=cursor,
        )
    return page.map(lambda item: _benchmark_public(*item))


@router.get("/benchmarks/{benchmark_id}", responses=MISSING, response_model=BenchmarkPublic)
async def get_benchmark(benchmark_id: str, runtime: RuntimeDep, _: Reader) -> BenchmarkPublic:
    """One benchmark with its scores."""
    async with runtime.db.reader() as session:
        row, scores = await service.get_benchmark(session=session, benchmark_id=benchmark_id)
    return _benchmark_public(row, scores)


@router.get("/product-types/{code}/ranking", responses=MISSING, response_model=RankingPublic)
async def ranking(
    code: str,
    runtime: RuntimeDep,
    _: Reader,
    min_coverage: Annotated[
        float,
        Query(
            ge=0,
            le=1,
            allow_inf_nan=False,
            description="leave brands whose score rests "
            "on less than this share of the total weight unranked",
        ),
    ] = 0.0,
) -> Response:
    """Which brand makes the best version of this product type, best first.

    A brand's score is the weighted mean, over the criteria, of its mean score per criterion
    across its benchmarks. Criteria it was never scored on are left out and the weights
    renormalised over the rest; `coverage` is the share of the total weight behind the score
    and `missing_criteria` names the rest. Scores are rounded to 4 decimals; equal scores
    share a rank (1, 2, 2, 4). `our_products` places each of our benchmarked products among
    the brands by its own benchmarks. The whole ranking is one answer, not a paged list.
    """
    async with runtime.db.reader() as session:
        result = await service.ranking(session=session, code=code, min_coverage=min_coverage)
    # Written as plain JSON, not built as models: with 200 brands the answer is some 1,500
    # small models, and building and validating them twice (here and as FastAPI's
    # response_model) cost several times the query. The keys and types are RankingPublic's,
    # which the route still declares; the research API tests read this answer.
    answer = {
        "product_type": result.code,
        "criteria": [_criterion_public(c).model_dump() for c in result.criteria],
        "criteria_version": result.criteria_version,
        "min_coverage": min_coverage,
        "benchmark_count": result.benchmark_count,
        "brands": [
            {
                "rank": entry.rank,
                "brand": entry.contender.key,
                "score": entry.result.score,
                "coverage": entry.result.coverage,
                "benchmark_count": entry.contender.benchmarks,
                "criteria": _means(result.criteria, entry),
                "missing_criteria": entry.result.missing,
            }
            for entry in result.brands
        ],
        "our_products": [
            {
                "product_id": entry.contender.key,
                "sku": row.sku if row else None,
                "name": row.name if row else None,
                "brand": row.brand if row else None,
                "score": entry.result.score,
                "coverage": entry.result.coverage,
                "benchmark_count": entry.contender.benchmarks,
                "rank": entry.rank,
                "brand_rank": brand_rank,
                "criteria": _means(result.criteria, entry),
                "missing_criteria": entry.result.missing,
            }
            for entry, row, brand_rank in result.products
        ],
    }
    return Response(orjson.dumps(answer), media_type="application/json")


def _means(criteria: list[Criterion], entry: Any) -> list[dict[str, Any]]:
    """CriterionMean's fields, per criterion the entry was scored on."""
    stats = entry.contender.stats
    return [
        {"name": c.name, "mean": round(stat.mean, SCORE_DECIMALS), "count": stat.count}
        for c in criteria
        if (stat := stats.get(c.name)) is not None
    ]


def _criterion_public(criterion: Criterion) -> CriterionPublic:
    return CriterionPublic(
        name=criterion.name, weight=criterion.weight, description=criterion.description
    )


def _criteria_public(
    response: Response, code: str, header: Any, criteria: list[Criterion]
) -> CriteriaPublic:
    version = header.version if header else 0
    response.headers["ETag"] = etag(version)
    return CriteriaPublic(
        product_type=code,
        version=version,
        criteria=[_criterion_public(c) for c in criteria],
        updated_at=header.updated_at if header else None,
        updated_by=actor_of(header.updated_by, header.updated_by_name) if header else None,
    )


def _benchmark_public(row: Any, scores: dict[str, float]) -> BenchmarkPublic:
    return BenchmarkPublic(
        id=row.id,
        product_type=row.product_type,
        brand=row.brand,
        product_id=row.product_id,
        competitor_ref=row.competitor_ref,
        scores=scores,
        source=row.source,
        notes=row.notes,
        recorded_at=row.recorded_at,
        recorded_by=actor_of(row.recorded_by, row.recorded_by_name),
    )

"""Requirement and recommendation use cases: each runs in the caller's unit of work (writes)
or read-only session (reads). A report updates its requirement and its idea in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog import service as catalog_service
from services.catalog.domain import Lifecycle
from services.catalog.events import catalog_event
from services.catalog.notices import CoreNotices
from services.catalog.requirements import matching
from services.catalog.requirements.domain import (
    Demand,
    Kind,
    Origin,
    Report,
    Status,
    Tally,
    add_report,
    adopt,
    clean_text,
    dismiss,
    key_terms,
    merge,
    new_tally,
    recommendation_id,
    requirement_key,
    target_of,
)
from services.catalog.requirements.events import (
    RecommendationAdopted,
    RecommendationDismissed,
    RequirementMerged,
    RequirementRecorded,
    requirement_event,
)
from services.catalog.requirements.schemas import (
    RecommendationAdopt,
    RequirementCreate,
    RequirementSort,
)
from services.catalog.requirements.tables import recommendation, requirement
from services.catalog.tables import product, product_type
from shared.auth import Principal
from shared.concurrency import check_version
from shared.db import rows_affected
from shared.errors import NotFound, field_error
from shared.inserts import dialect_insert
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

# Both orders end with the id: it breaks ties, so a page boundary falls between two rows.
REQUIREMENTS_BY = {
    RequirementSort.COUNT: Keyset(requirement.c.count.desc(), requirement.c.id.desc()),
    RequirementSort.LAST_SEEN: Keyset(requirement.c.last_seen.desc(), requirement.c.id.desc()),
}
# The stored weight orders ideas as today's score does (see domain), so the order is a
# backward scan of (weight_log2, id); fully met ideas have no weight and never show.
RECOMMENDATIONS = Keyset(recommendation.c.weight_log2.desc(), recommendation.c.id.desc())
LIST_EVIDENCE = 5
DETAIL_EVIDENCE = 20


@dataclass(frozen=True)
class Subject:
    """What a report is about; `product_active` None until looked up in the catalog."""

    product_id: str | None
    product_type: str | None
    product_active: bool | None = None


# --- recording reports -------------------------------------------------------------------------


async def create_requirement(
    *, uow: UnitOfWork, data: RequirementCreate, actor: Principal
) -> tuple[Row[Any], bool]:
    """Record what a person heard (True if new, else +1); 422 for unknown targets or no words."""
    key = _key_or_invalid(data.text)
    subject = await _subject_for_person(uow.session, data.product_id, data.product_type)
    now = uow.clock()
    report = Report(kind=Kind.REQUIREMENT, occurrences=1, occurred_at=now, quote=data.quote)
    return await record_report(
        uow=uow,
        text=data.text,
        key=key,
        subject=subject,
        report=report,
        origin=Origin.PERSON,
        actor=actor,
        now=now,
    )


async def record_report(
    *,
    uow: UnitOfWork,
    text: str,
    key: str,
    subject: Subject,
    report: Report,
    origin: Origin,
    actor: Principal | None,
    now: datetime,
) -> tuple[Row[Any], bool]:
    """Add a report to its requirement (new: recorded event, else merged) and its idea."""
    session = uow.session
    target = target_of(subject.product_id, subject.product_type)
    idea_id = recommendation_id(key)
    row = await _locked_requirement(uow, key, target)
    created = False
    if row is None:
        if subject.product_active is None:
            # Only a new requirement needs the product: a known one keeps its type and
            # `met_by_product` is kept up to date by `matching.product_changed`.
            subject = await _resolve(session, subject)
        await _ensure_idea(uow, idea_id=idea_id, key=key, title=text, now=now)
        row = await _insert_requirement(
            uow,
            values={
                "id": str(uuid7()),
                "key": key,
                "target": target,
                "recommendation_id": idea_id,
                "product_id": subject.product_id,
                "product_type": subject.product_type,
                "text": clean_text(text),
                "met_by_product": bool(subject.product_active),
                "origin": origin.value,
                "created_by": actor.subject if actor else None,
                "created_by_name": actor.name if actor else None,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                **_tally_values(new_tally(report, now=now)),
            },
        )
        created = row is not None
        if row is None:  # a concurrent report made it first: merge into theirs
            row = await _locked_requirement(uow, key, target)
            assert row is not None
    if not created:
        tally = merge(matching.tally_of(row), report, now=now)
        stmt = (
            update(requirement)
            .where(requirement.c.id == row.id)
            .values(**_tally_values(tally), version=row.version + 1, updated_at=now)
            .returning(*requirement.c)
        )
        row = (await session.execute(stmt)).one()

    idea = (
        await session.execute(
            select(recommendation).where(recommendation.c.id == idea_id).with_for_update()
        )
    ).one()
    unmet = idea.matched_product_id is None and not row.met_by_product
    demand = add_report(_demand_of(idea), report, now=now, unmet=unmet, new_requirement=created)
    await session.execute(
        update(recommendation)
        .where(recommendation.c.id == idea_id)
        .values(**_demand_values(demand), updated_at=now)
    )

    payload: RequirementRecorded | RequirementMerged
    if created:
        payload = RequirementRecorded(
            requirement_id=row.id,
            recommendation_id=idea_id,
            key=key,
            text=row.text,
            kind=Kind(row.kind),
            product_id=row.product_id,
            product_type=row.product_type,
            count=row._mapping["count"],
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            origin=Origin(row.origin),
            version=row.version,
        )
    else:
        payload = RequirementMerged(
            requirement_id=row.id,
            recommendation_id=idea_id,
            kind=Kind(row.kind),
            product_id=row.product_id,
            product_type=row.product_type,
            added=report.occurrences,
            count=row._mapping["count"],
            last_seen=row.last_seen,
            version=row.version,
        )
    uow.publish(requirement_event(payload, version=row.version))
    return row, created


async def _resolve(session: AsyncSession, subject: Subject) -> Subject:
    """A known product lends the report its type and its activeness."""
    if subject.product_id:
        found = (
            await session.execute(
                select(product.c.product_type, product.c.lifecycle).where(
                    product.c.id == subject.product_id
                )
            )
        ).first()
        if found is not None:
            active = found.lifecycle == Lifecycle.ACTIVE.value
            return Subject(subject.product_id, found.product_type, active)
    return Subject(subject.product_id or None, subject.product_type or None, False)


# --- reading requirements ----------------------------------------------------------------------


def _requirement_select() -> Select[Any]:
    # `idea_matched`: whether the idea behind the requirement is met by an active product.
    return select(
        requirement, recommendation.c.matched_product_id.label("idea_matched_product_id")
    ).join(recommendation, recommendation.c.id == requirement.c.recommendation_id)


async def get_requirement(*, session: AsyncSession, requirement_id: str) -> Row[Any]:
    """One requirement; 404 if unknown."""
    stmt = _requirement_select().where(requirement.c.id == requirement_id)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no requirement with id {requirement_id!r}")
    return row


async def list_requirements(
    *,
    session: AsyncSession,
    product_id: str | None = None,
    product_type: str | None = None,
    kind: Kind | None = None,
    q: str | None = None,
    recommendation_id: str | None = None,
    sort: RequirementSort = RequirementSort.COUNT,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """Requirements, most reported (or most recently seen) first, one keyset page."""
    stmt = _requirement_select()
    if product_id is not None:
        stmt = stmt.where(requirement.c.product_id == product_id)
    if product_type is not None:
        stmt = stmt.where(requirement.c.product_type == product_type)
    if kind is not None:
        stmt = stmt.where(requirement.c.kind == kind.value)
    if recommendation_id is not None:
        stmt = stmt.where(requirement.c.recommendation_id == recommendation_id)
    if q and q.strip():
        stmt = stmt.where(requirement.c.text.icontains(q.strip(), autoescape=True))
    return await REQUIREMENTS_BY[sort].page(session, stmt, limit=limit, cursor=cursor)


async def list_product_requirements(
    *,
    session: AsyncSession,
    product_id: str,
    sort: RequirementSort,
    limit: int,
    cursor: str | None,
) -> Page[Row[Any]]:
    """A product's requirements and those of the ideas adopted as it; 404 if unknown."""
    await catalog_service.get_product(session=session, product_id=product_id)
    adopted = select(recommendation.c.id).where(recommendation.c.product_id == product_id)
    stmt = _requirement_select().where(
        (requirement.c.product_id == product_id)
        | requirement.c.recommendation_id.in_(adopted.scalar_subquery())
    )
    return await REQUIREMENTS_BY[sort].page(session, stmt, limit=limit, cursor=cursor)


# --- recommendations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IdeaView:
    """A recommendation row and the strongest requirements behind it."""

    row: Row[Any]
    evidence: list[Row[Any]]


async def list_recommendations(
    *,
    session: AsyncSession,
    include_dismissed: bool,
    include_adopted: bool,
    limit: int,
    cursor: str | None,
) -> Page[IdeaView]:
    """Ideas with unmet demand, highest score first, one keyset page, with their evidence."""
    statuses = [Status.OPEN.value]
    if include_dismissed:
        statuses.append(Status.DISMISSED.value)
    if include_adopted:
        statuses.append(Status.ADOPTED.value)
    stmt = (
        select(recommendation)
        .where(recommendation.c.weight_log2.is_not(None))
        .where(recommendation.c.status.in_(statuses))
    )
    page = await RECOMMENDATIONS.page(session, stmt, limit=limit, cursor=cursor)
    evidence = await _evidence(session, [row.id for row in page.items], LIST_EVIDENCE)
    return page.map(lambda row: IdeaView(row, evidence.get(row.id, [])))


async def get_recommendation(*, session: AsyncSession, recommendation_id: str) -> IdeaView:
    """One idea with its strongest requirements; 404 if unknown."""
    row = (
        await session.execute(
            select(recommendation).where(recommendation.c.id == recommendation_id)
        )
    ).first()
    if row is None:
        raise _recommendation_not_found(recommendation_id)
    evidence = await _evidence(session, [row.id], DETAIL_EVIDENCE)
    return IdeaView(row, evidence.get(row.id, []))


async def dismiss_recommendation(
    *,
    uow: UnitOfWork,
    recommendation_id: str,
    reason: str,
    expected_version: int | None,
    actor: Principal,
) -> Row[Any]:
    """Dismiss an open idea: it leaves the default list. 409 unless open, 412 if stale."""
    row = await _locked_recommendation(uow, recommendation_id)
    check_version(expected_version, row.version)
    status = dismiss(Status(row.status))
    now = uow.clock()
    row = await _save_recommendation(
        uow,
        row.id,
        {
            "status": status.value,
            "dismiss_reason": reason,
            **_decided(actor, now),
            "version": row.version + 1,
            "updated_at": now,
        },
    )
    payload = RecommendationDismissed(
        recommendation_id=row.id,
        key=row.key,
        title=row.title,
        reason=reason,
        dismissed_by=actor.subject,
        version=row.version,
    )
    uow.publish(catalog_event(payload, subject=row.id, sequence=row.version))
    return row


async def adopt_recommendation(
    *,
    uow: UnitOfWork,
    recommendation_id: str,
    data: RecommendationAdopt,
    expected_version: int | None,
    actor: Principal,
    notices: CoreNotices,
) -> tuple[Row[Any], Row[Any]]:
    """Make a draft product of an idea and link the two; 409 if adopted or the SKU is taken."""
    row = await _locked_recommendation(uow, recommendation_id)
    check_version(expected_version, row.version)
    status = adopt(Status(row.status))
    created = await catalog_service.create_product(uow=uow, data=data, actor=actor, notices=notices)
    now = uow.clock()
    row = await _save_recommendation(
        uow,
        row.id,
        {
            "status": status.value,
            "product_id": created.id,
            **_decided(actor, now),
            "version": row.version + 1,
            "updated_at": now,
        },
    )
    payload = RecommendationAdopted(
        recommendation_id=row.id,
        key=row.key,
        title=row.title,
        product_id=created.id,
        sku=created.sku,
        requirement_count=row.requirement_count,
        count=row._mapping["count"],
        adopted_by=actor.subject,
        version=row.version,
    )
    # Keyed by the new product, so it follows catalog.product.created.v1 in its partition.
    uow.publish(catalog_event(payload, subject=created.id, sequence=None))
    return row, created


# --- helpers -----------------------------------------------------------------------------------


def _key_or_invalid(text: str) -> str:
    key = requirement_key(text)
    if not key:
        raise field_error("text", "no words", detail="the requirement text has no words in it")
    return key


async def _subject_for_person(
    session: AsyncSession, product_id: str | None, type_code: str | None
) -> Subject:
    if product_id is not None:
        found = (
            await session.execute(
                select(product.c.product_type, product.c.lifecycle).where(
                    product.c.id == product_id
                )
            )
        ).first()
        if found is None:
            raise field_error(
                "product_id", "unknown product", detail=f"unknown product {product_id!r}"
            )
        if type_code is not None and type_code != found.product_type:
            raise field_error(
                "product_type",
                "not the product's type",
                detail=f"the product is a {found.product_type!r}, not a {type_code!r}",
            )
        return Subject(product_id, found.product_type, found.lifecycle == Lifecycle.ACTIVE.value)
    if type_code is not None:
        exists = await session.scalar(
            select(product_type.c.code).where(product_type.c.code == type_code)
        )
        if exists is None:
            raise field_error(
                "product_type", "unknown product type", detail=f"unknown product type {type_code!r}"
            )
    return Subject(None, type_code, False)


async def _locked_requirement(uow: UnitOfWork, key: str, target: str) -> Row[Any] | None:
    # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers.
    stmt = (
        select(requirement)
        .where(requirement.c.key == key, requirement.c.target == target)
        .with_for_update()
    )
    return (await uow.session.execute(stmt)).first()


async def _insert_requirement(uow: UnitOfWork, *, values: dict[str, Any]) -> Row[Any] | None:
    stmt = (
        dialect_insert(uow.dialect, requirement)
        .on_conflict_do_nothing()
        .values(values)
        .returning(*requirement.c)
    )
    return (await uow.session.execute(stmt)).first()


async def _ensure_idea(
    uow: UnitOfWork, *, idea_id: str, key: str, title: str, now: datetime
) -> None:
    """Create the idea behind a key, with no demand yet, unless it exists."""
    session = uow.session
    if await session.scalar(select(recommendation.c.id).where(recommendation.c.id == idea_id)):
        return
    matched = await matching.find_match(session, key=key, adopted_product_id=None)
    result = await session.execute(
        dialect_insert(uow.dialect, recommendation)
        .on_conflict_do_nothing()
        .values(
            id=idea_id,
            key=key,
            title=clean_text(title),
            term_count=len(key_terms(key)),
            status=Status.OPEN.value,
            count=0,
            unmet_count=0,
            search_miss_count=0,
            requirement_count=0,
            weight_log2=None,
            first_seen=now,
            last_seen=now,
            matched_product_id=matched,
            version=1,
            created_at=now,
            updated_at=now,
        )
    )
    if rows_affected(result) == 1:
        await matching.index_idea(session, recommendation_id=idea_id, key=key)


def _tally_values(tally: Tally) -> dict[str, Any]:
    return {
        "kind": tally.kind.value,
        "count": tally.count,
        "search_miss_count": tally.search_miss_count,
        "first_seen": tally.first_seen,
        "last_seen": tally.last_seen,
        "quotes": list(tally.quotes),
        "feedback_refs": list(tally.feedback_refs),
        "weight_log2": tally.weight_log2,
    }


def _demand_of(idea: Any) -> Demand | None:
    if idea.requirement_count == 0:
        return None  # a new idea: its placeholder times must not widen the first report's
    return Demand(
        count=idea.count,
        unmet_count=idea.unmet_count,
        search_miss_count=idea.search_miss_count,
        requirement_count=idea.requirement_count,
        weight_log2=idea.weight_log2,
        first_seen=idea.first_seen,
        last_seen=idea.last_seen,
    )


def _demand_values(demand: Demand) -> dict[str, Any]:
    return {
        "count": demand.count,
        "unmet_count": demand.unmet_count,
        "search_miss_count": demand.search_miss_count,
        "requirement_count": demand.requirement_count,
        "weight_log2": demand.weight_log2,
        "first_seen": demand.first_seen,
        "last_seen": demand.last_seen,
    }


async def _evidence(
    session: AsyncSession, idea_ids: list[str], per_idea: int
) -> dict[str, list[Row[Any]]]:
    """The `per_idea` most reported requirements of each idea, in one query."""
    if not idea_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=requirement.c.recommendation_id,
            order_by=(requirement.c.count.desc(), requirement.c.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        _requirement_select().add_columns(rank).where(requirement.c.recommendation_id.in_(idea_ids))
    ).subquery()
    stmt = (
        select(ranked)
        .where(ranked.c.rank <= per_idea)
        .order_by(ranked.c.recommendation_id, ranked.c.rank)
    )
    grouped: dict[str, list[Row[Any]]] = {}
    for row in (await session.execute(stmt)).all():
        grouped.setdefault(row.recommendation_id, []).append(row)
    return grouped


async def _locked_recommendation(uow: UnitOfWork, recommendation_id: str) -> Row[Any]:
    stmt = select(recommendation).where(recommendation.c.id == recommendation_id).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise _recommendation_not_found(recommendation_id)
    return row


async def _save_recommendation(
    uow: UnitOfWork, recommendation_id: str, values: dict[str, Any]
) -> Row[Any]:
    stmt = (
        update(recommendation)
        .where(recommendation.c.id == recommendation_id)
        .values(values)
        .returning(*recommendation.c)
    )
    return (await uow.session.execute(stmt)).one()


def _decided(actor: Principal, at: datetime) -> dict[str, Any]:
    return {"decided_by": actor.subject, "decided_by_name": actor.name, "decided_at": at}


def _recommendation_not_found(recommendation_id: str) -> NotFound:
    return NotFound(f"no recommendation with id {recommendation_id!r}")

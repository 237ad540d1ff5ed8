"""Search misses, clustered by their normalised query (no model needed): each triage batch
adds its occurrences to the clusters and emits one `feedback.requirement.identified.v1` per
cluster it touched, with the new occurrences, for the catalog's requirements; the clusters
are listed most frequent first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.events import RequirementIdentified, cluster_id, requirement_event
from services.feedback.ingest.service import product_types
from services.feedback.tables import search_miss_cluster
from shared.inserts import dialect_insert
from shared.pagination import Keyset, Page
from shared.text import normalize_text
from shared.uow import UnitOfWork

SEARCH_MISSES = Keyset(search_miss_cluster.c.occurrences.desc(), search_miss_cluster.c.id)


def normalize_query(query: str) -> str:
    """Case, compatibility forms, punctuation and spacing do not make a new search: `Blue
    Kettle!` and `blue kettle` are one cluster. The words are the catalog's (`shared.text`):
    a query with none ("___") makes no cluster and no requirement event."""
    return normalize_text(query)[:500]


async def cluster_search_misses(*, uow: UnitOfWork, rows: Sequence[Any]) -> None:
    """Count a batch's search misses into their clusters and emit their requirements."""
    session = uow.session
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        groups[normalize_query(row.query or "")].append(row)
    groups.pop("", None)
    if not groups:
        return
    existing = {
        row.normalized_query: row
        for row in (
            await session.execute(
                select(search_miss_cluster)
                .where(search_miss_cluster.c.normalized_query.in_(list(groups)))
                .with_for_update()
            )
        ).all()
    }
    types = await product_types(
        session=session, product_ids={row.product_id for row in rows if row.product_id}
    )
    for normalized, members in groups.items():
        first = min(m.occurred_at for m in members)
        last = max(m.occurred_at for m in members)
        latest = max(members, key=lambda m: m.occurred_at)
        cluster = existing.get(normalized)
        requirement_id = cluster.id if cluster is not None else cluster_id(normalized)
        if cluster is None:
            await session.execute(
                dialect_insert(uow.dialect, search_miss_cluster)
                .values(
                    id=requirement_id,
                    normalized_query=normalized,
                    sample_query=latest.query,
                    product_id=latest.product_id,
                    occurrences=len(members),
                    first_seen=first,
                    last_seen=last,
                )
                .on_conflict_do_update(
                    index_elements=["normalized_query"],
                    set_={"occurrences": search_miss_cluster.c.occurrences + len(members)},
                )
            )
        else:
            await session.execute(
                update(search_miss_cluster)
                .where(search_miss_cluster.c.id == requirement_id)
                .values(
                    occurrences=search_miss_cluster.c.occurrences + len(members),
                    first_seen=min(cluster.first_seen, first),
                    last_seen=max(cluster.last_seen, last),
                    sample_query=latest.query,
                )
            )
        product_id = latest.product_id
        requirement = RequirementIdentified(
            requirement_id=requirement_id,
            product_id=product_id,
            product_type=types.get(product_id) if product_id else None,
            kind="search_miss",
            text=normalized,
            quote=latest.query,
            occurrences=len(members),
            occurred_at=last,
        )
        uow.publish(requirement_event(requirement))


async def list_search_misses(
    *, session: AsyncSession, limit: int, cursor: str | None
) -> Page[Row[Any]]:
    """Search-miss clusters, most frequent first."""
    return await SEARCH_MISSES.page(
        session, select(search_miss_cluster), limit=limit, cursor=cursor
    )

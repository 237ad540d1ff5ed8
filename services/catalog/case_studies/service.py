"""Use cases of competitor case studies; writes add their events to the caller's unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.catalog.case_studies.domain import Author, CaseStudy, StudyStatus
from services.catalog.case_studies.events import study_created, study_updated
from services.catalog.case_studies.tables import case_study
from services.catalog.service import get_product_type
from shared.auth import Principal
from shared.concurrency import check_version
from shared.errors import NotFound
from shared.pagination import Keyset, Page
from shared.uow import UnitOfWork

STUDIES = Keyset(case_study.c.id)


async def record_study(
    *, uow: UnitOfWork, code: str, fields: dict[str, Any], actor: Principal
) -> CaseStudy:
    """Record a case study on a product type; 404 for an unknown type, 422 for its fields."""
    await get_product_type(session=uow.session, code=code)
    study = CaseStudy.new(
        id=str(uuid7()), product_type=code, fields=fields, author=_author(actor), at=uow.clock()
    )
    await uow.session.execute(insert(case_study).values(study.row()))
    uow.publish(study_created(study))
    return study


async def get_study(*, session: AsyncSession, study_id: str) -> CaseStudy:
    """One case study; 404 if unknown."""
    row = (await session.execute(select(case_study).where(case_study.c.id == study_id))).first()
    if row is None:
        raise _not_found(study_id)
    return CaseStudy.from_row(row)


async def list_studies(
    *,
    session: AsyncSession,
    code: str,
    status: StudyStatus,
    competitor: str | None,
    limit: int,
    cursor: str | None,
) -> Page[CaseStudy]:
    """A product type's studies of one status, oldest first; 404 for an unknown type."""
    await get_product_type(session=session, code=code)
    stmt = select(case_study).where(
        case_study.c.product_type == code, case_study.c.status == status.value
    )
    if competitor is not None:
        stmt = stmt.where(case_study.c.competitor == competitor)
    page = await STUDIES.page(session, stmt, limit=limit, cursor=cursor)
    return page.map(CaseStudy.from_row)


async def edit_study(
    *,
    uow: UnitOfWork,
    study_id: str,
    changes: dict[str, Any],
    expected_version: int | None,
    actor: Principal,
) -> CaseStudy:
    """Change a study's fields; 412 if stale, 409 if archived, nothing new if nothing changed."""
    current = await _locked(uow, study_id, expected_version)
    study, changed = current.edited(changes, by=_author(actor), at=uow.clock())
    return await _save(uow, study, changed)


async def archive_study(
    *, uow: UnitOfWork, study_id: str, expected_version: int | None, actor: Principal
) -> CaseStudy:
    """Archive a study (it leaves the list and the knowledge sheet); 412 if stale."""
    current = await _locked(uow, study_id, expected_version)
    study, changed = current.archived(by=_author(actor), at=uow.clock())
    return await _save(uow, study, changed)


async def _locked(uow: UnitOfWork, study_id: str, expected_version: int | None) -> CaseStudy:
    stmt = select(case_study).where(case_study.c.id == study_id).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise _not_found(study_id)
    check_version(expected_version, row.version)
    return CaseStudy.from_row(row)


async def _save(uow: UnitOfWork, study: CaseStudy, changed: list[str]) -> CaseStudy:
    if not changed:
        return study
    values = study.row()
    del values["id"]
    await uow.session.execute(update(case_study).where(case_study.c.id == study.id).values(values))
    uow.publish(study_updated(study, changed))
    return study


def _author(actor: Principal) -> Author:
    return Author(subject=actor.subject, name=actor.name)


def _not_found(study_id: str) -> NotFound:
    return NotFound(f"no case study with id {study_id!r}")

"""The pricing HTTP routes: parse, call a use case, shape the response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.pricing import guardrails, queries, service
from services.pricing.domain import GuardrailChangeStatus, PriceKind, PriceStatus
from services.pricing.publishing import Scheduler
from services.pricing.schemas import (
    Approval,
    EffectivePricePublic,
    GuardrailChangeCreate,
    GuardrailChangePublic,
    HistoryEntryPublic,
    MetricsPublic,
    PriceCreate,
    PriceListCreate,
    PriceListPublic,
    PriceListUpdate,
    PricePublic,
    PriceStatsPublic,
    ProjectionPublic,
    Rejection,
    Withdrawal,
    effective_public,
    figures_public,
    guardrail_change_public,
    history_public,
    price_list_public,
    price_public,
    projection_public,
)
from shared import accounts
from shared.app import Runtime, RuntimeDep
from shared.auth import Principal, require
from shared.concurrency import IfMatch, etag
from shared.idempotency import IdempotencyDep
from shared.openapi import CONFLICT, MISSING, MISSING_OR_CONFLICT
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from shared.types import IsoDate, Rfc3339

router = APIRouter(prefix="/v1", tags=["pricing"])

Reader = Annotated[Principal, Depends(require("pricing:read"))]
Writer = Annotated[Principal, Depends(require("pricing:write"))]
Approver = Annotated[Principal, Depends(require("pricing:approve"))]
Reference = Annotated[str, Query(min_length=1, max_length=64)]
AccountQuery = Annotated[
    str | None,
    Query(
        pattern=accounts.PATTERN,
        description=f"the B2B customer or customer group asking ({accounts.RULE})",
    ),
]
# Costs and margins are shown only to holders of this scope (security issue 12, finding 9).
FINANCE = "pricing:finance"


@dataclass(frozen=True)
class Pricing:
    """What the routes need besides the kernel's runtime: the scheduler."""

    scheduler: Scheduler


def _pricing(request: Request) -> Pricing:
    return request.app.state.pricing


PricingDep = Annotated[Pricing, Depends(_pricing)]


# --- price lists --------------------------------------------------------------------------------


@router.post(
    "/price-lists",
    responses=CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=PriceListPublic,
)
async def create_price_list(
    body: PriceListCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | PriceListPublic:
    """Create a price list: its currency (ISO 4217), channel, guardrails and, for a list of
    one account's prices, the account (one list per account and currency)."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row = await service.create_price_list(uow=uow, data=body, actor=actor, now=runtime.clock())
        created = price_list_public(row)
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/price-lists/{created.code}"
    response.headers["ETag"] = etag(created.version)
    return created


@router.get("/price-lists", response_model=Page[PriceListPublic])
async def list_price_lists(
    runtime: RuntimeDep,
    _: Reader,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PriceListPublic]:
    """List price lists by code, optionally of one channel."""
    async with runtime.db.reader() as session:
        page = await queries.list_price_lists(
            session=session, channel=channel, limit=limit, cursor=cursor
        )
    return page.map(price_list_public)


@router.get("/price-lists/{code}", responses=MISSING, response_model=PriceListPublic)
async def get_price_list(
    code: str, runtime: RuntimeDep, _: Reader, response: Response
) -> PriceListPublic:
    """One price list; the ETag is its version, for `If-Match` on updates."""
    async with runtime.db.reader() as session:
        row = await queries.get_price_list(session=session, code=code)
    response.headers["ETag"] = etag(row.version)
    return price_list_public(row)


@router.patch("/price-lists/{code}", responses=MISSING_OR_CONFLICT, response_model=PriceListPublic)
async def update_price_list(
    code: str,
    body: PriceListUpdate,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> PriceListPublic:
    """Change the channel or the account the list is scoped to (null: everyone); 412 when
    `If-Match` is stale, 409 when the account already has a list in this currency.
    Guardrails change through `POST /price-lists/{code}/guardrail-changes`."""
    async with runtime.uow() as uow:
        row = await service.update_price_list(
            uow=uow,
            code=code,
            data=body,
            actor=actor,
            expected_version=if_match,
            now=runtime.clock(),
        )
    response.headers["ETag"] = etag(row.version)
    return price_list_public(row)


# --- guardrail changes --------------------------------------------------------------------------


@router.post(
    "/price-lists/{code}/guardrail-changes",
    responses=MISSING_OR_CONFLICT,
    status_code=status.HTTP_201_CREATED,
    response_model=GuardrailChangePublic,
)
async def request_guardrail_change(
    code: str,
    body: GuardrailChangeCreate,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
) -> GuardrailChangePublic:
    """Replace the list's guardrails, saying why. A tightening (a limit added, a higher
    floor or minimum margin, a lower ceiling or allowed change) applies at once
    (`applied`); anything looser waits (`pending`) for another person's approval. Open
    proposals keep the violations they were proposed with. `If-Match`: the list's version.
    """
    async with runtime.uow() as uow:
        row = await guardrails.request_change(
            uow=uow,
            code=code,
            data=body,
            actor=actor,
            expected_version=if_match,
            now=runtime.clock(),
        )
    response.headers["Location"] = f"/v1/price-lists/{code}/guardrail-changes/{row.id}"
    return await _change_public(runtime, row)


@router.get(
    "/price-lists/{code}/guardrail-changes",
    responses=MISSING,
    response_model=Page[GuardrailChangePublic],
)
async def list_guardrail_changes(
    code: str,
    runtime: RuntimeDep,
    _: Reader,
    status: GuardrailChangeStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[GuardrailChangePublic]:
    """The list's guardrail changes, latest first: who asked, why, and who decided."""
    async with runtime.db.reader() as session:
        plist = await queries.get_price_list(session=session, code=code)
        page = await queries.list_guardrail_changes(
            session=session, code=code, status=status, limit=limit, cursor=cursor
        )
    return page.map(lambda row: guardrail_change_public(row, plist.currency))


@router.get(
    "/price-lists/{code}/guardrail-changes/{change_id}",
    responses=MISSING,
    response_model=GuardrailChangePublic,
)
async def get_guardrail_change(
    code: str, change_id: str, runtime: RuntimeDep, _: Reader
) -> GuardrailChangePublic:
    """One guardrail change."""
    async with runtime.db.reader() as session:
        row = await queries.get_guardrail_change(session=session, code=code, change_id=change_id)
    return await _change_public(runtime, row)


@router.post(
    "/price-lists/{code}/guardrail-changes/{change_id}/approve",
    responses=MISSING_OR_CONFLICT,
    response_model=GuardrailChangePublic,
)
async def approve_guardrail_change(
    code: str, change_id: str, runtime: RuntimeDep, actor: Approver
) -> GuardrailChangePublic:
    """Apply a pending loosening: not one you asked for (four eyes, by key owner); 409 once
    it is decided, or when the list's guardrails changed since it was asked for."""
    async with runtime.uow() as uow:
        row = await guardrails.approve_change(
            uow=uow, code=code, change_id=change_id, actor=actor, now=runtime.clock()
        )
    return await _change_public(runtime, row)


@router.post(
    "/price-lists/{code}/guardrail-changes/{change_id}/reject",
    responses=MISSING_OR_CONFLICT,
    response_model=GuardrailChangePublic,
)
async def reject_guardrail_change(
    code: str, change_id: str, body: Rejection, runtime: RuntimeDep, actor: Approver
) -> GuardrailChangePublic:
    """Turn a pending loosening down, with a reason; the list keeps its guardrails."""
    async with runtime.uow() as uow:
        row = await guardrails.reject_change(
            uow=uow,
            code=code,
            change_id=change_id,
            actor=actor,
            reason=body.reason,
            now=runtime.clock(),
        )
    return await _change_public(runtime, row)


async def _change_public(runtime: Runtime, row: Any) -> GuardrailChangePublic:
    async with runtime.db.reader() as session:
        plist = await queries.get_price_list(session=session, code=row.price_list)
    return guardrail_change_public(row, plist.currency)


# --- prices -------------------------------------------------------------------------------------


@router.post(
    "/prices", responses=CONFLICT, status_code=status.HTTP_201_CREATED, response_model=PricePublic
)
async def propose_price(
    body: PriceCreate,
    runtime: RuntimeDep,
    idem: IdempotencyDep,
    actor: Writer,
    response: Response,
) -> Response | PricePublic:
    """Propose a price; guardrail violations are computed and listed on it."""
    async with runtime.uow() as uow:
        if (replayed := await idem.replay(uow, body)) is not None:
            return replayed
        row = await service.propose_price(uow=uow, data=body, actor=actor, now=runtime.clock())
        created = price_public(row, finance=actor.has(FINANCE))
        await idem.remember(uow, status.HTTP_201_CREATED, created)
    response.headers["Location"] = f"/v1/prices/{created.id}"
    response.headers["ETag"] = etag(created.version)
    return created


@router.get("/prices", response_model=Page[PricePublic])
async def list_prices(
    runtime: RuntimeDep,
    reader: Reader,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    price_list: Annotated[str | None, Query(max_length=64)] = None,
    status: PriceStatus | None = None,
    kind: PriceKind | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[PricePublic]:
    """List prices in proposal order, filtered by product, list, status or kind."""
    async with runtime.db.reader() as session:
        page = await queries.list_prices(
            session=session,
            product_id=product_id,
            price_list_code=price_list,
            status=status,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )
    return page.map(lambda row: price_public(row, finance=reader.has(FINANCE)))


# Before `/prices/{price_id}`, which would take "stats" for an id.
@router.get("/prices/stats", response_model=PriceStatsPublic)
async def price_stats(runtime: RuntimeDep, _: Reader) -> PriceStatsPublic:
    """How many prices are in each status; `waiting_for_approval` counts the proposals."""
    async with runtime.db.reader() as session:
        by_status = await queries.price_stats(session=session)
    return PriceStatsPublic(
        by_status=by_status, waiting_for_approval=by_status[PriceStatus.PROPOSED.value]
    )


@router.get("/prices/{price_id}", responses=MISSING, response_model=PricePublic)
async def get_price(
    price_id: str, runtime: RuntimeDep, reader: Reader, response: Response
) -> PricePublic:
    """One price; the ETag is its version, for `If-Match` on a decision."""
    async with runtime.db.reader() as session:
        row = await queries.get_price(session=session, price_id=price_id)
    response.headers["ETag"] = etag(row.version)
    return price_public(row, finance=reader.has(FINANCE))


@router.get("/prices/{price_id}/projection", responses=MISSING, response_model=ProjectionPublic)
async def price_projection(price_id: str, runtime: RuntimeDep, reader: Reader) -> ProjectionPublic:
    """An estimate of units, revenue and margin over the next 30 days at this price: the
    product's run rate over the last 30 days, adjusted by a price elasticity fitted on its
    sales history where that holds enough distinct prices (else unchanged demand). Never a
    gate on a decision; the margin only with pricing:finance."""
    async with runtime.db.reader() as session:
        found = await queries.price_projection(
            session=session, price_id=price_id, now=runtime.clock()
        )
    return projection_public(found.row, found.projection, finance=reader.has(FINANCE))


@router.post(
    "/prices/{price_id}/approve", responses=MISSING_OR_CONFLICT, response_model=PricePublic
)
async def approve_price(
    price_id: str,
    runtime: RuntimeDep,
    pricing: PricingDep,
    actor: Approver,
    if_match: IfMatch,
    response: Response,
    body: Approval | None = None,
) -> PricePublic:
    """Approve a proposal: not your own (four eyes: the key owners differ, so another of
    the proposer's keys is refused too); guardrail violations need an `override_reason`.
    It is published when its valid_from comes."""
    async with runtime.uow() as uow:
        row = await service.approve_price(
            uow=uow,
            price_id=price_id,
            actor=actor,
            override_reason=body.override_reason if body else None,
            expected_version=if_match,
            now=runtime.clock(),
        )
    pricing.scheduler.notify()
    response.headers["ETag"] = etag(row.version)
    return price_public(row, finance=actor.has(FINANCE))


@router.post("/prices/{price_id}/reject", responses=MISSING_OR_CONFLICT, response_model=PricePublic)
async def reject_price(
    price_id: str,
    body: Rejection,
    runtime: RuntimeDep,
    actor: Approver,
    if_match: IfMatch,
    response: Response,
) -> PricePublic:
    """Reject a proposal (not your own), with a reason."""
    async with runtime.uow() as uow:
        row = await service.reject_price(
            uow=uow,
            price_id=price_id,
            actor=actor,
            reason=body.reason,
            expected_version=if_match,
            now=runtime.clock(),
        )
    response.headers["ETag"] = etag(row.version)
    return price_public(row, finance=actor.has(FINANCE))


@router.post(
    "/prices/{price_id}/withdraw", responses=MISSING_OR_CONFLICT, response_model=PricePublic
)
async def withdraw_price(
    price_id: str,
    runtime: RuntimeDep,
    actor: Writer,
    if_match: IfMatch,
    response: Response,
    body: Withdrawal | None = None,
) -> PricePublic:
    """Withdraw your own proposal, or your approved price before it takes effect."""
    async with runtime.uow() as uow:
        row = await service.withdraw_price(
            uow=uow,
            price_id=price_id,
            actor=actor,
            reason=body.reason if body else None,
            expected_version=if_match,
            now=runtime.clock(),
        )
    response.headers["ETag"] = etag(row.version)
    return price_public(row, finance=actor.has(FINANCE))


# --- per product --------------------------------------------------------------------------------


@router.get("/products/{product_id}/price", responses=MISSING, response_model=EffectivePricePublic)
async def effective_price(
    product_id: str,
    price_list: Reference,
    runtime: RuntimeDep,
    _: Reader,
    at: Annotated[Rfc3339 | None, Query(description="RFC 3339; default now")] = None,
    account: AccountQuery = None,
) -> EffectivePricePublic:
    """The price in effect: a promotion beats the base price, the latest start wins; a
    promotion carries `prior_price`, the lowest price of the 30 days before it. With
    `account`, the account's own list in the same currency answers when it has a price in
    effect, else `price_list` does; `source` says which."""
    moment = at or runtime.clock()
    async with runtime.db.reader() as session:
        found = await queries.effective_price(
            session=session,
            product_id=product_id,
            price_list_code=price_list,
            at=moment,
            account=account,
        )
    return _effective(found, moment)


def _effective(found: queries.Effective, at: datetime) -> EffectivePricePublic:
    return effective_public(
        found.row, prior=found.prior_price, at=at, account=found.account, source=found.source
    )


@router.get("/products/{product_id}/effective-prices", response_model=Page[EffectivePricePublic])
async def effective_prices(
    product_id: str,
    runtime: RuntimeDep,
    _: Reader,
    at: Annotated[Rfc3339 | None, Query(description="RFC 3339; default now")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[EffectivePricePublic]:
    """The price in effect on each price list the product has prices on, by list code; a
    list where none is in effect at `at` is left out (so a page may hold fewer items)."""
    moment = at or runtime.clock()
    async with runtime.db.reader() as session:
        page = await queries.effective_prices(
            session=session, product_id=product_id, at=moment, limit=limit, cursor=cursor
        )
    return page.map(lambda found: _effective(found, moment))


@router.get(
    "/products/{product_id}/price-history",
    responses=MISSING,
    response_model=Page[HistoryEntryPublic],
)
async def price_history(
    product_id: str,
    runtime: RuntimeDep,
    reader: Reader,
    price_list: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[HistoryEntryPublic]:
    """Every published price, latest first: who proposed and approved it, why, any
    guardrail override, and the price it replaced."""
    async with runtime.db.reader() as session:
        page = await queries.price_history(
            session=session,
            product_id=product_id,
            price_list_code=price_list,
            limit=limit,
            cursor=cursor,
        )
    finance = reader.has(FINANCE)
    return page.map(lambda entry: history_public(entry.row, entry.replaced, finance=finance))


@router.get("/products/{product_id}/metrics", responses=MISSING, response_model=MetricsPublic)
async def product_metrics(
    product_id: str,
    runtime: RuntimeDep,
    reader: Reader,
    from_: Annotated[IsoDate | None, Query(alias="from", description="YYYY-MM-DD, UTC")] = None,
    to: Annotated[IsoDate | None, Query(description="YYYY-MM-DD, inclusive")] = None,
) -> MetricsPublic:
    """Units, revenue and margin per day from purchases, at the price paid and the cost
    valid at each sale (default: the last 30 days)."""
    async with runtime.db.reader() as session:
        found = await queries.metrics(
            session=session,
            product_id=product_id,
            start=from_,
            end=to,
            today=runtime.clock().date(),
        )
    finance = reader.has(FINANCE)
    return MetricsPublic(
        product_id=product_id,
        from_=found.start,
        to=found.end,
        days=[figures_public(f, finance=finance) for f in found.days],
        totals=[figures_public(f, finance=finance) for f in found.totals],
    )

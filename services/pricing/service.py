"""Pricing use cases that change state: each loads, applies the domain rules, saves and adds
its events to the outbox in the caller's unit of work. Reads live in `queries.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.pricing import domain
from services.pricing.domain import (
    Guardrails,
    Money,
    PriceFacts,
    PriceKind,
    PriceStatus,
    Violation,
    ViolationCode,
)
from services.pricing.events import (
    PriceEvent,
    encode_price_events,
    price_list_account_event,
    price_payload,
)
from services.pricing.schemas import GuardrailsIn, PriceCreate, PriceListCreate, PriceListUpdate
from services.pricing.tables import price, price_list, product
from services.pricing.timeline import PriceWindow, resolve
from shared.auth import Principal
from shared.concurrency import check_version
from shared.db import one_of
from shared.errors import Conflict, NotFound, field_error
from shared.events import EncodedEvent
from shared.money import check_scale, format_amount
from shared.uow import UnitOfWork

DISCONTINUED = "discontinued"


# --- price lists --------------------------------------------------------------------------------


def guardrails_of(data: GuardrailsIn, currency: str) -> Guardrails:
    """Guardrails from the request: floor and ceiling in the list's currency, in order."""
    for name in ("floor", "ceiling"):
        value = getattr(data, name)
        if value is not None:
            try:
                check_scale(value, currency)
            except ValueError as exc:
                raise field_error(f"guardrails.{name}", str(exc)) from None
    guardrails = Guardrails(
        min_margin_pct=data.min_margin_pct,
        max_change_pct=data.max_change_pct,
        floor=data.floor,
        ceiling=data.ceiling,
    )
    domain.check_limits(guardrails)
    return guardrails


def guardrails_from_row(row: Any) -> Guardrails:
    return Guardrails(
        min_margin_pct=row.min_margin_pct,
        max_change_pct=row.max_change_pct,
        floor=row.floor,
        ceiling=row.ceiling,
    )


def guardrail_values(guardrails: Guardrails) -> dict[str, Decimal | None]:
    """The list's columns for these guardrails."""
    return {
        "min_margin_pct": guardrails.min_margin_pct,
        "max_change_pct": guardrails.max_change_pct,
        "floor": guardrails.floor,
        "ceiling": guardrails.ceiling,
    }


async def create_price_list(
    *, uow: UnitOfWork, data: PriceListCreate, actor: Principal, now: datetime
) -> Row[Any]:
    """Create a price list; 409 if its code is taken or its account already has a list in
    its currency."""
    guardrails = guardrails_of(data.guardrails, data.currency)
    taken = await uow.session.scalar(
        select(price_list.c.code).where(price_list.c.code == data.code)
    )
    if taken is not None:
        raise _duplicate_list(data.code)
    await _account_free(uow, data.account, data.currency, code=data.code)
    values = {
        "code": data.code,
        "currency": data.currency,
        "channel": data.channel,
        "account": data.account,
        **guardrail_values(guardrails),
        "version": 1,
        "created_by": actor.subject,
        "created_at": now,
        "updated_at": now,
    }
    try:
        # A savepoint, so a concurrent create that won the race leaves the transaction usable.
        async with uow.session.begin_nested():
            stmt = insert(price_list).values(values).returning(*price_list.c)
            row = (await uow.session.execute(stmt)).one()
    except IntegrityError as exc:
        await _account_free(uow, data.account, data.currency, code=data.code)
        raise _duplicate_list(data.code) from exc
    if row.account is not None:
        uow.publish(price_list_account_event(row, previous=None, actor=actor.subject))
    return row


async def update_price_list(
    *,
    uow: UnitOfWork,
    code: str,
    data: PriceListUpdate,
    actor: Principal,
    expected_version: int | None,
    now: datetime,
) -> Row[Any]:
    """Change the channel or the account; 412 if stale, 409 if the account already has a
    list in this one's currency. Guardrails change in `guardrails.py`."""
    row = await locked_price_list(uow, code)
    check_version(expected_version, row.version)
    values: dict[str, Any] = {"version": row.version + 1, "updated_at": now}
    if data.channel is not None:
        values["channel"] = data.channel
    rescoped = "account" in data.model_fields_set and data.account != row.account
    if rescoped:
        await _account_free(uow, data.account, row.currency, code=code)
        values["account"] = data.account
    change = update(price_list).where(price_list.c.code == code).values(values)
    try:
        async with uow.session.begin_nested():
            saved = (await uow.session.execute(change.returning(*price_list.c))).one()
    except IntegrityError:
        await _account_free(uow, data.account, row.currency, code=code)
        raise
    if rescoped:
        uow.publish(price_list_account_event(saved, previous=row.account, actor=actor.subject))
    return saved


async def _account_free(uow: UnitOfWork, account: str | None, currency: str, *, code: str) -> None:
    """409 when another list than `code` is `account`'s in `currency`: an account's price
    must never be a choice between two of its lists."""
    if account is None:
        return
    holder = await uow.session.scalar(
        select(price_list.c.code).where(
            price_list.c.account == account,
            price_list.c.currency == currency,
            price_list.c.code != code,
        )
    )
    if holder is not None:
        raise Conflict(
            f"account {account!r} already has price list {holder!r} in {currency}",
            account=account,
            price_list=holder,
        )


async def locked_price_list(uow: UnitOfWork, code: str) -> Any:
    """The list, locked for this transaction; 404 if unknown."""
    stmt = select(price_list).where(price_list.c.code == code).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no price list with code {code!r}")
    return row


# --- prices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """Guardrail outcome and what it was measured against."""

    violations: tuple[Violation, ...]
    cost: Money | None
    current: Decimal | None

    def values(self, currency: str) -> dict[str, Any]:
        return {
            "guardrail_violations": [violation_json(v, currency) for v in self.violations],
            "cost_amount": self.cost.amount if self.cost else None,
            "cost_currency": self.cost.currency if self.cost else None,
            "current_amount": self.current,
        }


_PERCENT_CODES = (ViolationCode.MARGIN_BELOW_MINIMUM, ViolationCode.CHANGE_TOO_LARGE)


def violation_json(violation: Violation, currency: str) -> dict[str, str | None]:
    """A violation as stored and shown: limits are percentages or amounts, as text."""

    def text(value: Decimal | None) -> str | None:
        if value is None:
            return None
        if violation.code in _PERCENT_CODES:
            return domain.format_percent(value)
        return format_amount(value, currency)

    return {
        "code": violation.code.value,
        "detail": violation.detail,
        "limit": text(violation.limit),
        "actual": text(violation.actual),
    }


async def propose_price(
    *, uow: UnitOfWork, data: PriceCreate, actor: Principal, now: datetime
) -> Row[Any]:
    """Propose a price; the guardrails are checked and their violations kept on it."""
    plist = await _price_list_for(uow.session, data.price_list)
    item = await _product_for(uow.session, data.product_id)
    _still_sold(item)
    try:
        amount = check_scale(data.amount, plist.currency)
    except ValueError as exc:
        raise field_error("amount", str(exc)) from None
    valid_from = (data.valid_from or now).astimezone(now.tzinfo)
    domain.check_window(kind=data.kind, valid_from=valid_from, valid_to=data.valid_to, now=now)
    checked = await _check(uow.session, item=item, plist=plist, amount=amount, now=now)
    found = checked.values(plist.currency)
    values = {
        "id": str(uuid7()),
        "product_id": item.id,
        "price_list": plist.code,
        "currency": plist.currency,
        "kind": data.kind.value,
        "amount": amount,
        "valid_from": valid_from,
        "valid_to": data.valid_to,
        "reason": data.reason,
        "status": PriceStatus.PROPOSED.value,
        **found,
        "violations_at_proposal": found["guardrail_violations"],
        "proposed_by": actor.subject,
        "proposed_by_name": actor.name,
        "proposed_by_owner": actor.owner,
        "proposed_at": now,
        "version": 1,
    }
    row = (await uow.session.execute(insert(price).values(values).returning(*price.c))).one()
    await publish_price_events(uow, [row])
    return row


async def approve_price(
    *,
    uow: UnitOfWork,
    price_id: str,
    actor: Principal,
    override_reason: str | None,
    expected_version: int | None,
    now: datetime,
) -> Row[Any]:
    """Approve a proposal (not your own). Guardrails are checked again against today's
    cost and price; any violation, now or at proposal, needs an override_reason, which is
    recorded."""
    row = await _locked_price(uow, price_id)
    check_version(expected_version, row.version)
    plist = await _price_list_for(uow.session, row.price_list)
    item = await _product_for(uow.session, row.product_id)
    checked = await _check(uow.session, item=item, plist=plist, amount=row.amount, now=now)
    effective_from = domain.approve(
        facts(row),
        approver=actor.owner,
        violations=checked.violations,
        override_reason=override_reason,
        now=now,
        violations_at_proposal=[v["code"] for v in row.violations_at_proposal],
    )
    _still_sold(item)
    overridden = bool(checked.violations or row.violations_at_proposal)
    values = {
        "status": PriceStatus.APPROVED.value,
        **checked.values(row.currency),
        "decided_by": actor.subject,
        "decided_by_name": actor.name,
        "decided_at": now,
        "override_reason": override_reason if overridden else None,
        "effective_from": effective_from,
        "effective_to": row.valid_to,
    }
    return await _save(uow, row, values)


async def reject_price(
    *,
    uow: UnitOfWork,
    price_id: str,
    actor: Principal,
    reason: str,
    expected_version: int | None,
    now: datetime,
) -> Row[Any]:
    """Reject a proposal (not your own), with the reason."""
    row = await _locked_price(uow, price_id)
    check_version(expected_version, row.version)
    domain.reject(facts(row), approver=actor.owner)
    values = {
        "status": PriceStatus.REJECTED.value,
        "decided_by": actor.subject,
        "decided_by_name": actor.name,
        "decided_at": now,
        "rejection_reason": reason,
    }
    return await _save(uow, row, values)


async def withdraw_price(
    *,
    uow: UnitOfWork,
    price_id: str,
    actor: Principal,
    reason: str | None,
    expected_version: int | None,
    now: datetime,
) -> Row[Any]:
    """The proposer withdraws a proposal, or an approved price not yet in effect."""
    row = await _locked_price(uow, price_id)
    check_version(expected_version, row.version)
    domain.withdraw(facts(row), actor=actor.owner, now=now)
    values = {
        "status": PriceStatus.WITHDRAWN.value,
        "closed_at": now,
        "closed_by": actor.subject,
        "close_reason": reason or "withdrawn by the proposer",
    }
    return await _save(uow, row, values)


async def retire_product_prices(*, uow: UnitOfWork, product_id: str, now: datetime) -> int:
    """A discontinued product: its open proposals are withdrawn, its approved and
    published prices expire now. Returns how many prices changed."""
    stmt = (
        select(price)
        .where(
            price.c.product_id == product_id,
            price.c.status.in_(
                [
                    PriceStatus.PROPOSED.value,
                    PriceStatus.APPROVED.value,
                    PriceStatus.PUBLISHED.value,
                ]
            ),
        )
        .order_by(price.c.id)
        .with_for_update()
    )
    changed = []
    for row in (await uow.session.execute(stmt)).all():
        values: dict[str, Any] = {
            "closed_at": now,
            "closed_by": "catalog",
            "close_reason": "product discontinued",
            "version": row.version + 1,
        }
        if row.status == PriceStatus.PROPOSED:
            values["status"] = domain.transition(row.status, PriceStatus.WITHDRAWN).value
        else:
            values["status"] = domain.transition(row.status, PriceStatus.EXPIRED).value
            # Cut the window at now; one that had not started yet becomes empty.
            end = now if row.effective_to is None else min(row.effective_to, now)
            values["effective_to"] = max(row.effective_from, end)
        upd = update(price).where(price.c.id == row.id).values(values).returning(*price.c)
        changed.append((await uow.session.execute(upd)).one())
    await publish_price_events(uow, changed)
    return len(changed)


async def publish_price_events(uow: UnitOfWork, rows: Sequence[Any]) -> None:
    """Add one event per price row (in its current status) to the outbox, numbering them
    per product with the product's event sequence."""
    uow.publish_many(await price_events(uow, rows))


async def price_events(
    uow: UnitOfWork,
    rows: Sequence[Any],
    *,
    payload: Callable[[Mapping[str, Any]], PriceEvent] = price_payload,
) -> list[EncodedEvent]:
    """One event per price row, its `payload` numbered per product with the product's event
    sequence, which moves on in `uow`'s transaction."""
    by_product: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        mapping = row if isinstance(row, Mapping) else row._mapping
        by_product.setdefault(mapping["product_id"], []).append(mapping)
    if not by_product:
        return []
    ids = sorted(by_product)
    # Read the counters under a lock taken in one order, so concurrent batches cannot
    # deadlock on product rows, then move each by its event count in one executemany
    # (a CASE over hundreds of ids cost the scheduler a tenth of its time to build).
    # FOR NO KEY UPDATE, as the UPDATE itself takes: a proposal's price row was inserted
    # first, and its foreign key holds a KEY SHARE lock on the product, which FOR UPDATE
    # waits for; two concurrent proposals for one product deadlocked on PostgreSQL.
    held = await uow.session.execute(
        select(product.c.id, product.c.event_sequence)
        .where(one_of(product.c.id, ids, dialect=uow.dialect))
        .order_by(product.c.id)
        .with_for_update(key_share=True)
    )
    last = {row.id: row.event_sequence + len(by_product[row.id]) for row in held}
    await uow.session.execute(
        update(product)
        .where(product.c.id == bindparam("b_id"))
        .values(event_sequence=bindparam("b_sequence")),
        [{"b_id": pid, "b_sequence": sequence} for pid, sequence in last.items()],
    )
    numbered = []
    for product_id in ids:
        group = by_product[product_id]
        first = last[product_id] - len(group) + 1
        for offset, mapping in enumerate(group):
            numbered.append((payload(mapping), first + offset))
    return encode_price_events(numbered)


# --- helpers ------------------------------------------------------------------------------------


def facts(row: Any) -> PriceFacts:
    return PriceFacts(
        status=PriceStatus(row.status),
        proposed_by=row.proposed_by,
        proposed_by_owner=row.proposed_by_owner,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        effective_from=row.effective_from,
    )


# The columns a PriceWindow needs: loading whole rows costs the scheduler dearly.
WINDOW_COLUMNS = (
    price.c.id,
    price.c.product_id,
    price.c.price_list,
    price.c.kind,
    price.c.amount,
    price.c.effective_from,
    price.c.effective_to,
)


def window_of(row: Any) -> PriceWindow:
    return PriceWindow(
        price_id=row.id,
        kind=PriceKind(row.kind),
        amount=row.amount,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


def scheduled_windows(
    *, product_id: str, price_list_code: str, starts_before: datetime, ends_after: datetime
) -> Select[Any]:
    """Approved, published and expired prices of one product on one list whose window
    starts before `starts_before` (inclusive) and ends after `ends_after`."""
    return select(price).where(
        price.c.product_id == product_id,
        price.c.price_list == price_list_code,
        price.c.status.in_([s.value for s in domain.SCHEDULED_STATUSES]),
        price.c.effective_from <= starts_before,
        (price.c.effective_to.is_(None)) | (price.c.effective_to > ends_after),
    )


async def current_base_price(
    session: AsyncSession, *, product_id: str, price_list_code: str, at: datetime
) -> Decimal | None:
    """The base price in effect at `at` (promotions aside): what a change is measured to."""
    stmt = scheduled_windows(
        product_id=product_id, price_list_code=price_list_code, starts_before=at, ends_after=at
    ).where(price.c.kind == PriceKind.BASE.value)
    rows = (await session.execute(stmt)).all()
    found = resolve([window_of(r) for r in rows], at)
    return found.amount if found else None


async def _check(
    session: AsyncSession, *, item: Any, plist: Any, amount: Decimal, now: datetime
) -> Checked:
    cost = (
        Money(item.cost_amount, item.cost_currency)
        if item.cost_amount is not None and item.cost_currency
        else None
    )
    current = await current_base_price(
        session, product_id=item.id, price_list_code=plist.code, at=now
    )
    violations = domain.check_guardrails(
        amount=amount,
        currency=plist.currency,
        guardrails=guardrails_from_row(plist),
        cost=cost,
        current=current,
    )
    return Checked(violations=violations, cost=cost, current=current)


def _still_sold(item: Any) -> None:
    if item.lifecycle == DISCONTINUED:
        raise Conflict(
            f"product {item.id!r} is discontinued: it takes no new prices",
            product_id=item.id,
        )


async def _price_list_for(session: AsyncSession, code: str) -> Any:
    row = (await session.execute(select(price_list).where(price_list.c.code == code))).first()
    if row is None:
        raise field_error("price_list", f"unknown price list {code!r}")
    return row


async def _product_for(session: AsyncSession, product_id: str) -> Any:
    row = (await session.execute(select(product).where(product.c.id == product_id))).first()
    if row is None:
        raise field_error(
            "product_id",
            f"unknown product {product_id!r}: pricing has not heard of it from the catalog",
        )
    return row


async def _locked_price(uow: UnitOfWork, price_id: str) -> Any:
    # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers.
    stmt = select(price).where(price.c.id == price_id).with_for_update()
    row = (await uow.session.execute(stmt)).first()
    if row is None:
        raise NotFound(f"no price with id {price_id!r}")
    return row


async def _save(uow: UnitOfWork, row: Any, values: dict[str, Any]) -> Row[Any]:
    values = {**values, "version": row.version + 1}
    stmt = update(price).where(price.c.id == row.id).values(values).returning(*price.c)
    saved = (await uow.session.execute(stmt)).one()
    await publish_price_events(uow, [saved])
    return saved


def _duplicate_list(code: str) -> Conflict:
    return Conflict(f"a price list with code {code!r} already exists", code=code)

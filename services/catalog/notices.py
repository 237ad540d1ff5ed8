"""What the catalog core tells its sub-domains, inside the use case's unit of work (issue 8).

The core product use cases import none of the sub-domains (variants, decisions, requirements):
each sub-domain subscribes at app assembly (`services/catalog/app.py`) to the notices it
follows. A notice is sent in the caller's transaction, so what a subscriber writes commits or
rolls back with the change, and a subscriber that raises (a 409) refuses it. Nothing here
leaves the process: events for other services still go through the outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Row

from services.catalog.domain import Lifecycle
from shared.errors import Conflict
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class ClaimingSkus:
    """Products are about to be created with `skus`; whoever also hands out SKUs refuses each
    SKU it holds by putting its 409 in `refused` (so one taken SKU refuses only its product
    of a group created together)."""

    skus: tuple[str, ...]
    refused: dict[str, Conflict] = field(default_factory=dict)


@dataclass(frozen=True)
class MovingLifecycle:
    """A product is about to move to `to`, under its row lock; a subscriber may refuse."""

    product_id: str
    to: Lifecycle


@dataclass(frozen=True)
class ProductChanged:
    """A product's row changed (an update or a lifecycle move); `product` is the new row."""

    product: Row[Any]


@dataclass(frozen=True)
class LifecycleMoved:
    """A product moved from `from_` to `to`; its own event is already published."""

    product_id: str
    from_: Lifecycle
    to: Lifecycle


Notice = ClaimingSkus | MovingLifecycle | ProductChanged | LifecycleMoved
N = TypeVar("N", ClaimingSkus, MovingLifecycle, ProductChanged, LifecycleMoved)
Subscriber = Callable[[UnitOfWork, N], Awaitable[None]]


class CoreNotices:
    """The sub-domains' subscriptions to core changes; one per app, filled at assembly."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Notice], list[Subscriber[Any]]] = {}

    def subscribe(self, kind: type[N], subscriber: Subscriber[N]) -> None:
        """Have `subscriber` called with every notice of `kind`, after earlier subscribers."""
        self._subscribers.setdefault(kind, []).append(subscriber)

    async def send(self, uow: UnitOfWork, notice: Notice) -> None:
        """Call the notice's subscribers in turn, in the caller's transaction."""
        for subscriber in self._subscribers.get(type(notice), []):
            await subscriber(uow, notice)


async def _core_notices(request: Request) -> CoreNotices:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    return request.app.state.core_notices


CoreNoticesDep = Annotated[CoreNotices, Depends(_core_notices)]

"""Product creates by group commit: creates that arrive while one group is being stored are
created together, in the next transaction, each answered once it has committed.

A create alone is a transaction of five statements (the product type's required attributes,
the SKU claim, the insert, the outbox insert, the commit), and most of a create's CPU was
those statements' trips to the database (docs/performance.md). Created together, a group
of creates takes the same statements, one of each for all of them, less the first once the
process knows the group's types (`service.RequiredAttributes`). A create that
carries an `Idempotency-Key` keeps a transaction of its own: its key is read and stored with
the product, and a retry is rare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from services.catalog import service
from services.catalog.notices import CoreNotices
from shared.errors import DomainError
from shared.group_commit import GroupCommit
from shared.uow import UnitOfWork

# At most this many creates in one transaction: a group holds SQLite's write lock (and, on
# PostgreSQL, its SKUs' locks) until the last of them is written.
MAX_GROUP_CREATES = 64

ProductCreates = GroupCommit[service.NewProduct, service.ProductRow]


def product_creates(
    *, unit_of_work: Callable[[], UnitOfWork], notices: CoreNotices
) -> ProductCreates:
    """The app's product creates, grouped on SQLite and on PostgreSQL alike: on both, the
    statements a group shares are most of what a create costs the process."""

    types = service.RequiredAttributes()

    async def store(new: list[service.NewProduct]) -> list[service.ProductRow | DomainError]:
        async with unit_of_work() as uow:
            return await service.create_products(uow=uow, new=new, notices=notices, types=types)

    return GroupCommit(store, max_weight=MAX_GROUP_CREATES)


async def _app_creates(request: Request) -> ProductCreates:
    return request.app.state.product_creates


ProductCreatesDep = Annotated[ProductCreates, Depends(_app_creates)]

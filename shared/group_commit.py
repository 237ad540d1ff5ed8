"""Group commit: writes that arrive while one transaction is being stored are stored
together, in the next transaction, and each is answered only once that transaction has
committed.

A transaction costs more than its rows: its statements' trips to the database (and, on
SQLite, the one write lock, held while each trip waits for the event loop to turn), and the
commit's sync of the log. Writes stored together share them (docs/performance.md). Each
caller still hears back only after its own rows are durable.

A store answers each item of a group with its result or with its own error (a 409 for one
item leaves the others to commit). When the whole group's transaction fails, each item is
stored again alone, in a transaction of its own, and answered so: one item's failure is
never another's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

# What a store answers for each item of a group, in the items' order.
Store = Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]]


class GroupCommit(Generic[Item, Result]):
    """Stores items with `store`, those waiting together (`grouped`), at most `max_weight`
    of `weight` in one group (and always at least one item)."""

    def __init__(
        self,
        store: Store[Item, Result],
        *,
        max_weight: int,
        weight: Callable[[Item], int] = lambda _: 1,
        grouped: bool = True,
    ) -> None:
        self._store = store
        self._max_weight = max_weight
        self._weight = weight
        self._grouped = grouped
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Store `item` (with the others waiting, when grouped); returns its result once it
        is committed, or raises its own error."""
        if not self._grouped:
            return _unwrap((await self._store([item]))[0])
        stored: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, stored))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        # Shielded: a caller that goes away does not take back an item already in a
        # transaction with others.
        return await asyncio.shield(stored)

    async def _drain(self) -> None:
        while self._waiting:
            group = self._next_group()
            try:
                outcomes = await self._store([item for item, _ in group])
            except asyncio.CancelledError:
                # The process is stopping: nothing of this group was committed.
                for _, future in group + self._waiting:
                    future.cancel()
                self._waiting = []
                raise
            except Exception as exc:
                if len(group) == 1:
                    _settle(group[0][1], exc)
                    continue
                log.warning("a group commit failed; storing each of its items alone", exc_info=exc)
                for item, future in group:
                    try:
                        outcome = (await self._store([item]))[0]
                    except Exception as alone:
                        outcome = alone
                    _settle(future, outcome)
                continue
            for (_, future), outcome in zip(group, outcomes, strict=True):
                _settle(future, outcome)

    def _next_group(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        """The oldest waiting items, up to `max_weight` (at least one item)."""
        total = count = 0
        for item, _ in self._waiting:
            total += self._weight(item)
            if count and total > self._max_weight:
                break
            count += 1
        group, self._waiting = self._waiting[:count], self._waiting[count:]
        return group


def _unwrap(outcome: Result | Exception) -> Result:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _settle(future: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)

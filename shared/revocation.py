"""Revoked API keys: every process refuses the tokens of a revoked key (issue 12, finding 1).

An access token names its API key (`sub`). The gateway revokes a key in its own database
and, in the same transaction, publishes `gateway.api_key.revoked.v1` through its outbox;
every service's consumer records the key id in its `revoked_api_key` table (the kernel
handler below). Each process keeps a `DenyList`: the revoked ids, read again from its
database once they are `max_age_s` old, so a revoked key's tokens stop working within
that long of the revocation reaching the process (at once in the process that learned it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select

from shared.db import Database
from shared.events import CloudEvent, EventPayload, topic_of
from shared.inserts import dialect_insert
from shared.tables import revoked_api_key
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

KEY_REVOKED = "gateway.api_key.revoked.v1"
GATEWAY_TOPIC = topic_of("gateway")

Loader = Callable[[], Awaitable[frozenset[str]]]


class ApiKeyRevoked(EventPayload):
    """An API key was revoked: tokens it minted are refused from now on, everywhere."""

    key_id: str
    revoked_at: datetime


class DenyList:
    """The ids of revoked API keys, as `load` last read them.

    `refuses` reads them again once they are `max_age_s` old (one reader at a time). A
    failed read keeps the last list and is tried again at the next check after
    `max_age_s`: the database being away must not refuse every caller.
    """

    def __init__(
        self,
        load: Loader,
        *,
        max_age_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._max_age_s = max_age_s
        self._monotonic = monotonic
        self._ids: frozenset[str] = frozenset()
        self._learned: set[str] = set()
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def refuses(self, key_id: str) -> bool:
        """Whether tokens of `key_id` must be refused."""
        if key_id in self._learned:
            return True
        if self._stale():
            async with self._lock:
                if self._stale():
                    await self._refresh()
        return key_id in self._ids

    def add(self, key_id: str) -> None:
        """A revocation this process has just made or heard of: refused at once."""
        self._learned.add(key_id)

    def _stale(self) -> bool:
        return self._read_at is None or self._monotonic() - self._read_at >= self._max_age_s

    async def _refresh(self) -> None:
        try:
            self._ids = await self._load()
        except Exception as exc:
            log.warning("revoked keys could not be read", extra={"error": type(exc).__name__})
        self._read_at = self._monotonic()


def revoked_keys_in(db: Database) -> Loader:
    """A service's loader: the key ids its consumer has recorded."""

    async def load() -> frozenset[str]:
        async with db.reader() as session:
            result = await session.execute(select(revoked_api_key.c.key_id))
            return frozenset(result.scalars())

    return load


def revocation_handler(deny_list: DenyList) -> Callable[[CloudEvent, UnitOfWork], Awaitable[None]]:
    """The kernel's handler of `gateway.api_key.revoked.v1` in every service: record the key
    id (idempotent) and refuse its tokens in this process at once."""

    async def record(event: CloudEvent, uow: UnitOfWork) -> None:
        revoked = ApiKeyRevoked.model_validate(event.data)
        await uow.session.execute(
            dialect_insert(uow.dialect, revoked_api_key)
            .values(key_id=revoked.key_id, revoked_at=revoked.revoked_at)
            .on_conflict_do_nothing()
        )
        # Before the commit: if it fails the event comes again, and the key was revoked anyway.
        deny_list.add(revoked.key_id)

    return record

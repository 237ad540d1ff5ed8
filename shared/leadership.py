"""One outbox relay per service database: who leads, held safely, and the leader's writes.

A key's order holds only while one relay publishes (KAFKA-NOTES.md), so leadership is
re-checked before each batch and the leader's writes are fenced by it:

- PostgreSQL: a session-level advisory lock on a connection kept for the purpose. A session
  killed by the server (`pg_terminate_backend`, a failover) takes the lock with it, so the
  lock is looked up again before each batch, and the leader marks rows through that same
  session: once it is gone, the old leader can no longer record anything.
- SQLite: an OS lock (`flock`) on a file beside the database, which holds across processes
  sharing the file and is freed by the kernel when its holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.db import Database

log = logging.getLogger(__name__)

# The lock is keyed by hashtext(name) as one bigint: pg_locks shows it split in two oids.
_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtext(:name))")
_STILL_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 1"
    " AND classid = ((hashtext(:name)::bigint >> 32) & 4294967295)::oid"
    " AND objid = (hashtext(:name)::bigint & 4294967295)::oid)"
)


class Leadership(Protocol):
    """Whether this relay leads its database, and a transaction for the leader's writes."""

    async def hold(self) -> bool:
        """Take or keep leadership; False while another relay leads."""
        ...

    def writes(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction for the leader's writes; it fails once leadership is lost."""
        ...

    async def release(self) -> None:
        """Give leadership up (idempotent)."""
        ...


def relay_leadership(db: Database, service: str) -> Leadership:
    """The leadership of `service`'s relay: a file lock on SQLite, an advisory lock else."""
    if db.is_sqlite:
        path = make_url(db.url).database
        if not path or path == ":memory:":
            return SingleProcess(db)  # an in-memory database has one process by construction
        return FileLock(db, Path(f"{path}.relay-{service}.lock"))
    # The lock name is the one earlier versions took, so old and new relays exclude each other.
    return AdvisoryLock(db, f"relay:{service}")


class SingleProcess:
    """Leadership nobody else can contend for."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def hold(self) -> bool:
        return True

    def writes(self) -> AbstractAsyncContextManager[AsyncConnection]:
        return self._db.engine.begin()

    async def release(self) -> None:
        return None


class FileLock(SingleProcess):
    """SQLite: an exclusive `flock` on a lock file beside the database."""

    def __init__(self, db: Database, path: Path) -> None:
        super().__init__(db)
        self.path = path
        self._fd: int | None = None

    async def hold(self) -> bool:
        if self._fd is not None:
            return True  # the kernel keeps the lock for as long as the descriptor is open
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing frees the lock; the file stays for the next holder


class AdvisoryLock:
    """PostgreSQL: `pg_try_advisory_lock(hashtext(name))` held by a dedicated session."""

    def __init__(self, db: Database, name: str) -> None:
        self._db = db
        self._name = name
        self._conn: AsyncConnection | None = None

    async def hold(self) -> bool:
        if self._conn is not None:
            if await self._still_held(self._conn):
                return True
            log.warning("relay leadership lost: its session ended", extra={"lock": self._name})
            await self._drop()
        conn = await self._db.engine.connect()
        try:
            got = await conn.scalar(_TRY_LOCK, {"name": self._name})
            await conn.commit()
        except BaseException:
            await _discard(conn)
            raise
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    @asynccontextmanager
    async def writes(self) -> AsyncIterator[AsyncConnection]:
        conn = self._conn
        if conn is None:
            raise RuntimeError("this relay does not lead")
        try:
            async with conn.begin():
                yield conn
        except Exception:
            if not await self._still_held(conn):
                await self._drop()
            raise

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # A session-level lock outlives close(): the connection only goes back to the pool.
            await conn.execute(text("SELECT pg_advisory_unlock_all()"))
            await conn.commit()
            await conn.close()
        except Exception:
            await _discard(conn)

    async def _still_held(self, conn: AsyncConnection) -> bool:
        try:
            held = bool(await conn.scalar(_STILL_HELD, {"name": self._name}))
            await conn.commit()
        except Exception:
            return False  # the session is gone, and its lock with it
        return held

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await _discard(conn)


async def _discard(conn: AsyncConnection) -> None:
    # Never hand a broken session, or one still holding the lock, back to the pool.
    with contextlib.suppress(Exception):
        await conn.invalidate()

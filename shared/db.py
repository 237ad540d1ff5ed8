"""Database access: async engines for SQLite and PostgreSQL, naming convention, sessions.

On SQLite (one writer at a time) writes use `BEGIN IMMEDIATE` on their own engine, so a
transaction takes the write lock up front instead of failing when it upgrades; reads use a
second engine with ordinary deferred transactions, which WAL lets run beside a writer.

Both SQLite engines set `synchronous` from `PRODUCTOPS_SQLITE_SYNCHRONOUS`: `full` (the
default) syncs the write-ahead log at every commit, so what a 201 or 202 answered for
survives a power loss or an OS crash; `normal` syncs it only at checkpoints, so a commit
survives the process crashing but not the machine (https://sqlite.org/pragma.html#pragma_synchronous).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, cast

import orjson
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    MetaData,
    Result,
    String,
    any_,
    bindparam,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState
from sqlalchemy.util import await_only

from shared import sqlite_driver
from shared.files import DIR_MODE, private_file

# The `synchronous` levels a service may run SQLite with; `off` (no sync at all) is not one.
SqliteSynchronous = Literal["full", "normal"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the project's constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def rows_affected(result: Result[Any]) -> int:
    """How many rows the INSERT, UPDATE or DELETE that gave `result` touched.

    `AsyncSession.execute` types every result as a `Result`, but a DML statement's is a
    `CursorResult`, the one kind that counts rows.
    """
    return cast("CursorResult[Any]", result).rowcount


def one_of(
    column: ColumnElement[Any], values: Iterable[Any], *, dialect: str
) -> ColumnElement[bool]:
    """`column IN (values)` with the values bound as one parameter: a JSON array read by
    `json_each` on SQLite, an array (`= ANY(...)`) on PostgreSQL. `dialect` as
    `Database.dialect` names it.

    For the hot paths' hundreds of values (a batch's event ids and products, the relay's
    sequence numbers): `column.in_(values)` coerces each value and renders a parameter for
    each at every execution, which cost more of the main thread than the query itself.
    """
    return _one_of(column, None, dialect, value=one_of_values(values, dialect=dialect))


def one_of_param(column: ColumnElement[Any], name: str, *, dialect: str) -> ColumnElement[bool]:
    """`one_of` with its values left to the parameter `name`, for a statement built once
    (a new statement is walked for its cache key at every execution); bind the values as
    `one_of_values` gives them."""
    return _one_of(column, name, dialect)


def one_of_values(values: Iterable[Any], *, dialect: str) -> Any:
    """The values of a `one_of` parameter as the dialect binds them."""
    listed = list(values)
    return orjson.dumps(listed).decode() if dialect == "sqlite" else listed


def _one_of(
    column: ColumnElement[Any], name: str | None, dialect: str, **value: Any
) -> ColumnElement[bool]:
    if dialect == "sqlite":
        array = func.json_each(bindparam(name, type_=String(), **value)).table_valued("value")
        return column.in_(select(array.c.value).scalar_subquery())
    return column == any_(bindparam(name, type_=ARRAY(column.type), **value))


def _sqlite_pragmas(synchronous: SqliteSynchronous) -> Callable[[Any, Any], None]:
    """The "connect" listener giving each new SQLite connection the project's pragmas."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "busy_timeout=10000",
            "foreign_keys=ON",
            # Per connection, not per file: every connection of both engines needs it.
            f"synchronous={synchronous.upper()}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None

    return on_connect


def _end_open_transaction(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """Roll back a connection returned to the pool with a transaction still open.

    The pool's own reset rolls back at every return, even right after a commit: on
    aiosqlite one more round trip to the connection's thread, and the writer's one
    connection is not free for the next transaction until it is back. The driver knows
    without that trip whether SQLite still holds a transaction (`in_transaction`, with
    transactions begun by us: `isolation_level = None`)."""
    if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def _sqlite_engine(url: str, *, immediate: bool, synchronous: SqliteSynchronous) -> AsyncEngine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # Created by us, 0600, before SQLite would create it with the umask's mode.
        private_file(Path(path))
    database = path or ":memory:"
    engine = create_async_engine(
        url,
        # One trip to the connection's thread a statement, not four (`sqlite_driver`).
        async_creator=lambda: sqlite_driver.connect(database, check_same_thread=False),
        pool_size=1 if immediate else 5,
        max_overflow=0 if immediate else 10,
        # `_end_open_transaction` resets a returned connection instead.
        pool_reset_on_return=None,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(synchronous))
    event.listen(engine.sync_engine, "reset", _end_open_transaction)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Test a pooled PostgreSQL connection as it is checked out, in one round trip.

    A connection the server dropped (a restart, an idle timeout) is replaced before a
    transaction fails on it: the pool retries the checkout on `DisconnectionError`.
    SQLAlchemy's own `pool_pre_ping` does the same in three round trips on asyncpg (BEGIN,
    a prepared `;`, ROLLBACK: the transaction is there for PgBouncer's transaction mode and
    its prepared statements, which this platform does not run under: a pooler in front must
    be in session mode, docs/deploy.md). asyncpg's `execute` without arguments uses the
    simple query protocol, which prepares nothing and needs no transaction; it cannot send an
    empty query (it fails on the empty response), hence `SELECT 1`. A checkout starts every
    transaction, so of a group of creates' nine trips this was three (docs/performance.md)."""
    try:
        await_only(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as exc:
        raise DisconnectionError("the pooled connection is gone") from exc


class Database:
    """The engines and session factories of one service's own database.

    `sqlite_synchronous` applies to SQLite only (`settings.sqlite_synchronous` in a service);
    PostgreSQL keeps its own `synchronous_commit`, durable by default.
    """

    def __init__(self, url: str, *, sqlite_synchronous: SqliteSynchronous = "full") -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=True, synchronous=sqlite_synchronous)
            self.read_engine = _sqlite_engine(url, immediate=False, synchronous=sqlite_synchronous)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=10)
            event.listen(self.engine.sync_engine, "checkout", _ping_on_checkout)
            self.read_engine = self.engine
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.read_sessions = async_sessionmaker(
            self.read_engine, expire_on_commit=False, autoflush=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def create_all(self, metadatas: Iterable[MetaData]) -> None:
        """Create missing tables: for test doubles and scratch databases; services migrate."""
        async with self.engine.begin() as conn:
            for metadata in metadatas:
                await conn.run_sync(metadata.create_all)

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def reader(self) -> AsyncSession:
        """A session for queries only; it never writes."""
        return self.read_sessions()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

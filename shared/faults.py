"""Whose fault a failed event is: the infrastructure's (wait, then try again) or the event's.

A consumer that dead-letters on every exception turns a database restart into a pile of dead
letters (reliability issue 9). So an error that says "the database is not answering right now"
holds the partition until it answers again, an error that says "this event is wrong"
(`InvalidEvent`, a payload that fails validation, a rule that refuses it) goes to the
dead-letter store at once, and anything else is retried a few times first.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import Iterator

import asyncpg
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from shared.errors import DomainError

# SQLite reports a syntax error as an OperationalError too: only these messages are passing.
_SQLITE_PASSING = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "disk i/o error",
    "unable to open database file",
)
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
_PASSING = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
    TimeoutError,
    ConnectionError,
    socket.gaierror,
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or went away
    asyncpg.exceptions.OperatorInterventionError,  # 57: shutdown, starting up, cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections, disk full
    asyncpg.exceptions.TransactionRollbackError,  # 40: deadlock, serialization: try again
)


class InvalidEvent(Exception):
    """Raised by a handler for an event it cannot apply as it is: its payload fails the
    reader's contract (security issue 12, finding 4). No retry can change the event, so the
    consumer dead-letters it at once, with one attempt, and the events behind it flow."""


def is_transient(error: BaseException) -> bool:
    """The database (or the network to it) failed, not the event: retrying later will work."""
    causes = list(_causes(error))
    for cause in causes:
        if isinstance(cause, sqlite3.OperationalError):
            # SQLite's own error is the verdict, whatever SQLAlchemy wrapped around it.
            return str(cause).lower().startswith(_SQLITE_PASSING)
    for cause in causes:
        if isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, _PASSING):
            return True
        # asyncio reports a failed connect to several addresses as a bare OSError.
        if type(cause) is OSError and (cause.errno is None or cause.errno in _NETWORK_ERRNOS):
            return True
    return False


def is_event_error(error: BaseException) -> bool:
    """The event itself is wrong (its payload fails validation, a rule refuses it): retrying
    the same event cannot help."""
    return isinstance(error, InvalidEvent | ValidationError | DomainError)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver error SQLAlchemy wraps (`orig`), and their causes, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending.extend(
            [
                orig if isinstance(orig, BaseException) else None,
                current.__cause__,
                current.__context__,
            ]
        )

"""API keys: creation, listing, revocation, and the exchange of a key for a principal.

A key reads `po_<id>_<secret>`. Only the SHA-256 of the secret is stored, so a leaked
database yields no usable key. Secrets and whole keys are never logged.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.events import ApiKeyRevoked
from gateway.tables import api_key
from shared.auth import (
    ADMIN,
    BEARER,
    REVOKED_KEY_DETAIL,
    SCOPES,
    Principal,
    hash_secret,
    secret_matches,
)
from shared.db import Database, rows_affected
from shared.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unauthorized,
    invalid_input,
)
from shared.events import event_for
from shared.inserts import dialect_insert
from shared.pagination import Keyset, Page
from shared.revocation import Loader
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

PREFIX = "po_"
NAME_MAX = 100
OWNER_MAX = 100
BOOTSTRAP_PREFIX = "bootstrap-"
BOOTSTRAP_NAME = "bootstrap admin"
BOOTSTRAP_CREATOR = "settings"
SOURCE = "/gateway"
# One message for unknown, malformed and revoked keys: a caller learns nothing about which.
INVALID_KEY = "the API key is not valid"
_ID = re.compile(r"^[0-9a-f]{16}$")
# Compared against when the id is unknown, so a miss costs about the same as a hit.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(32))
KEYS = Keyset(api_key.c.created_at, api_key.c.id)


@dataclass(frozen=True)
class KeyInfo:
    """What a listing shows of a key: never its secret or hash."""

    id: str
    name: str
    owner: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class CreatedKey:
    """A new key, with the full key string that is shown only this once."""

    id: str
    name: str
    owner: str
    scopes: list[str]
    api_key: str


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _split(key: str) -> tuple[str, str] | None:
    if not key.startswith(PREFIX):
        return None
    key_id, sep, secret = key[len(PREFIX) :].partition("_")
    if not sep or not secret or not _ID.match(key_id):
        return None
    return key_id, secret


def _is_bootstrap(key: str, bootstrap_key: str) -> bool:
    return hmac.compare_digest(key.encode(), bootstrap_key.encode())


def bootstrap_id(bootstrap_key: str) -> str:
    """The id of the bootstrap admin key: from its hash, so a new bootstrap key (a rotation)
    is a new id, and revoking the old one leaves the new one working."""
    return f"{BOOTSTRAP_PREFIX}{hash_secret(bootstrap_key)[:16]}"


def bootstrap_admin(owner: str, bootstrap_key: str) -> Principal:
    """The principal of the bootstrap admin key (`PRODUCTOPS_ADMIN_KEY` or `admin.key`)."""
    return Principal(
        subject=bootstrap_id(bootstrap_key),
        name=BOOTSTRAP_NAME,
        scopes=frozenset({ADMIN}),
        owner=owner,
    )


async def _record_bootstrap(
    session: AsyncSession, *, principal: Principal, bootstrap_key: str, now: datetime
) -> None:
    """Keep the bootstrap key as a row like any key (listed, revocable), once."""
    dialect = session.get_bind().dialect.name
    await session.execute(
        dialect_insert(dialect, api_key)
        .values(
            id=principal.subject,
            name=principal.name,
            owner=principal.owner,
            scopes=sorted(principal.scopes),
            secret_hash=hash_secret(bootstrap_key),
            created_at=now,
            created_by=BOOTSTRAP_CREATOR,
        )
        .on_conflict_do_nothing()
    )


async def authenticate(
    *, db: Database, bootstrap_key: str, bootstrap_owner: str, key: str, now: datetime
) -> Principal:
    """The principal an API key stands for; 401 for unknown, malformed or revoked keys."""
    bootstrap = _is_bootstrap(key, bootstrap_key)
    if bootstrap:
        principal = bootstrap_admin(bootstrap_owner, bootstrap_key)
    else:
        principal = await _stored_key(db=db, key=key)
    async with db.sessions() as session, session.begin():
        if bootstrap:
            await _record_bootstrap(
                session, principal=principal, bootstrap_key=bootstrap_key, now=now
            )
        # Guarded by `revoked_at IS NULL`: a revocation racing this exchange wins.
        result = await session.execute(
            update(api_key)
            .where(api_key.c.id == principal.subject, api_key.c.revoked_at.is_(None))
            .values(last_used_at=now)
        )
    if rows_affected(result) != 1:
        raise Unauthorized(INVALID_KEY)
    return principal


async def _stored_key(*, db: Database, key: str) -> Principal:
    parts = _split(key)
    row = None
    if parts is not None:
        async with db.reader() as session:
            result = await session.execute(select(api_key).where(api_key.c.id == parts[0]))
            row = result.first()
    secret = parts[1] if parts is not None else key
    matches = secret_matches(secret, row.secret_hash if row is not None else _DUMMY_HASH)
    if row is None or not matches or row.revoked_at is not None:
        raise Unauthorized(INVALID_KEY)
    return Principal(subject=row.id, name=row.name, scopes=frozenset(row.scopes), owner=row.owner)


def _granted(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - SCOPES)
    if not scopes:
        raise invalid_input([FieldError(("scopes",), "at least one scope is needed")])
    if unknown:
        raise invalid_input([FieldError(("scopes",), f"unknown scopes: {', '.join(unknown)}")])
    return sorted(set(scopes))


async def create_key(
    *, db: Database, creator: Principal, name: str, owner: str, scopes: list[str], now: datetime
) -> CreatedKey:
    """Create a key for `owner` (name and owner come checked: `api.KeyCreate`) with some
    scopes; nobody but an admin grants a scope they lack."""
    granted = _granted(scopes)
    if ADMIN not in creator.scopes:
        beyond = sorted(set(granted) - creator.scopes)
        if beyond:
            raise Forbidden(f"you cannot grant scopes you do not hold: {', '.join(beyond)}")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    async with db.sessions() as session, session.begin():
        await session.execute(
            api_key.insert().values(
                id=key_id,
                name=name,
                owner=owner,
                scopes=granted,
                secret_hash=hash_secret(secret),
                created_at=now,
                created_by=creator.subject,
            )
        )
    log.info("api key created", extra={"key_id": key_id, "created_by": creator.subject})
    return CreatedKey(
        id=key_id,
        name=name,
        owner=owner,
        scopes=granted,
        api_key=f"{PREFIX}{key_id}_{secret}",
    )


async def list_keys(*, db: Database, limit: int, cursor: str | None) -> Page[KeyInfo]:
    """A page of keys in creation order, revoked ones included."""
    query = select(
        api_key.c.id,
        api_key.c.name,
        api_key.c.owner,
        api_key.c.scopes,
        api_key.c.created_at,
        api_key.c.revoked_at,
        api_key.c.last_used_at,
    )
    async with db.reader() as session:
        page = await KEYS.page(session, query, limit=limit, cursor=cursor)
    return page.map(
        lambda row: KeyInfo(
            id=row.id,
            name=row.name,
            owner=row.owner,
            scopes=list(row.scopes),
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
            revoked_at=_utc(row.revoked_at),
            last_used_at=_utc(row.last_used_at),
        )
    )


async def revoke_key(
    *, uow: UnitOfWork, key_id: str, revoked_by: str, bootstrap: Principal, bootstrap_key: str
) -> None:
    """Revoke a key and tell every service (`gateway.api_key.revoked.v1`, in the same
    transaction): 404 if unknown, 409 if already revoked, 409 for the bootstrap key while
    no other admin key is live (nobody could manage keys any more)."""
    now = uow.clock()
    session = uow.session
    if key_id == bootstrap.subject:
        await _record_bootstrap(session, principal=bootstrap, bootstrap_key=bootstrap_key, now=now)
    result = await session.execute(
        select(api_key.c.revoked_at).where(api_key.c.id == key_id).with_for_update()
    )
    row = result.first()
    if row is None:
        raise NotFound(f"no API key with id {key_id!r}")
    if row.revoked_at is not None:
        raise Conflict(f"the API key {key_id!r} is already revoked")
    if key_id == bootstrap.subject and not await _another_live_admin(session, key_id):
        raise Conflict(
            "the bootstrap admin key is the only admin key: create another admin key first"
        )
    await session.execute(update(api_key).where(api_key.c.id == key_id).values(revoked_at=now))
    uow.publish(
        event_for(
            ApiKeyRevoked(key_id=key_id, revoked_at=now), source=SOURCE, subject=key_id, time=now
        )
    )
    log.info("api key revoked", extra={"key_id": key_id, "revoked_by": revoked_by})


async def _another_live_admin(session: AsyncSession, key_id: str) -> bool:
    result = await session.execute(
        select(api_key.c.scopes).where(api_key.c.revoked_at.is_(None), api_key.c.id != key_id)
    )
    return any(ADMIN in scopes for scopes in result.scalars())


async def refuse_revoked(*, db: Database, key_id: str) -> None:
    """401 when `key_id` is revoked, read from the database now (no cache): key management
    must not wait for a cache to learn of a revocation."""
    async with db.reader() as session:
        result = await session.execute(select(api_key.c.revoked_at).where(api_key.c.id == key_id))
        revoked_at = result.scalar_one_or_none()
    if revoked_at is not None:
        raise Unauthorized(REVOKED_KEY_DETAIL, headers=BEARER)


def revoked_key_ids(db: Database) -> Loader:
    """The gateway's loader for its `DenyList`: every revoked key's id."""

    async def load() -> frozenset[str]:
        async with db.reader() as session:
            result = await session.execute(
                select(api_key.c.id).where(api_key.c.revoked_at.is_not(None))
            )
            return frozenset(result.scalars())

    return load

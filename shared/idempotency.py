"""`Idempotency-Key` on creates: the same key and body replays the first response.

The key is stored in the same transaction as the resource it created, so a crash can
never leave one without the other. Keys are kept for `PRODUCTOPS_IDEMPOTENCY_RETENTION_S`
(`prune_idempotency_keys`); a retry after that is a new request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import Depends, Header
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from shared.auth import Principal, current_principal
from shared.errors import Conflict, field_error
from shared.openapi import answers
from shared.pruning import delete_older_than
from shared.tables import idempotency_key
from shared.uow import UnitOfWork

_MAX_KEY = 255


class Idempotency:
    """One request's idempotency key (or none), scoped to the calling principal."""

    def __init__(self, key: str | None, principal: Principal) -> None:
        self.key = key
        self.principal = principal
        self._hash = ""

    async def replay(self, uow: UnitOfWork, body: BaseModel) -> Response | None:
        """The stored response for this key, or None to go ahead; 422 if the body differs."""
        if self.key is None:
            return None
        self._hash = hashlib.sha256(
            orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()
        row = (
            await uow.session.execute(
                select(idempotency_key).where(
                    idempotency_key.c.principal == self.principal.subject,
                    idempotency_key.c.key == self.key,
                )
            )
        ).first()
        if row is None:
            return None
        if row.request_hash != self._hash:
            raise field_error(
                "Idempotency-Key",
                "reused with another body",
                where="header",
                detail="this Idempotency-Key was used with a different request body",
            )
        return Response(
            row.body,
            status_code=row.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    async def remember(self, uow: UnitOfWork, status: int, response: BaseModel) -> None:
        """Store the response under the key, in the caller's transaction."""
        if self.key is None:
            return
        try:
            async with uow.session.begin_nested():
                await uow.session.execute(
                    idempotency_key.insert().values(
                        principal=self.principal.subject,
                        key=self.key,
                        request_hash=self._hash,
                        status=status,
                        body=response.model_dump_json(),
                        created_at=uow.clock(),
                    )
                )
        except IntegrityError as exc:
            raise Conflict(
                "a request with this Idempotency-Key is already being processed; retry"
            ) from exc


async def prune_idempotency_keys(
    uow_factory: Callable[[], UnitOfWork], *, older_than: datetime, chunk: int = 1000
) -> int:
    """Forget the keys stored before `older_than`, in chunks; returns the count."""
    return await delete_older_than(
        uow_factory,
        idempotency_key,
        stamp=idempotency_key.c.created_at,
        older_than=older_than,
        chunk=chunk,
    )


@answers(409, 422)
async def _idempotency(
    principal: Annotated[Principal, Depends(current_principal)],
    key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Idempotency:
    if key is not None and not (0 < len(key) <= _MAX_KEY and key.isprintable()):
        raise field_error(
            "Idempotency-Key",
            "invalid key",
            where="header",
            detail=f"Idempotency-Key must be 1..{_MAX_KEY} printable characters",
        )
    return Idempotency(key, principal)


IdempotencyDep = Annotated[Idempotency, Depends(_idempotency)]

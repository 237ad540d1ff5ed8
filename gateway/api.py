"""The gateway's own routes: exchanging an API key for a token, and managing API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway import keys
from gateway.runtime import RuntimeDep, limit_by_client_ip, live_key
from shared.auth import ADMIN, SCOPES, Principal, require
from shared.openapi import MISSING_OR_CONFLICT, problems
from shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

# The prefix lives on the routers, not on `include_router`: FastAPI then keeps it in
# `scope["route"].path`, which the request middleware uses as the metrics label.
auth_router = APIRouter(prefix="/v1", tags=["auth"])
# Every key route checks, in the database, that the caller's own key is not revoked.
keys_router = APIRouter(prefix="/v1", tags=["api-keys"], dependencies=[Depends(live_key)])
AdminDep = Annotated[Principal, Depends(require(ADMIN))]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str = Field(min_length=1, max_length=512)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int
    scope: str


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=keys.NAME_MAX)
    ]
    # The person or system behind the key: four-eyes rules compare owners, so one person's
    # two keys still count as one person.
    owner: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=keys.OWNER_MAX)
    ]
    # Which scopes, and that there is one, is checked with the key (unknown ones are named).
    scopes: list[str] = Field(max_length=len(SCOPES))


class KeyCreated(BaseModel):
    id: str
    name: str
    owner: str
    scopes: list[str]
    api_key: str


class KeyPublic(BaseModel):
    id: str
    name: str
    owner: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@auth_router.post(
    "/auth/token",
    dependencies=[Depends(limit_by_client_ip)],
    response_model=TokenResponse,
    responses=problems(401),
)
async def issue_token(body: TokenRequest, runtime: RuntimeDep, response: Response) -> TokenResponse:
    """Exchange an API key for a bearer access token carrying the key's scopes.

    A revoked key mints no tokens, and the tokens it minted before are refused (see
    `DELETE /v1/api-keys/{key_id}`). The token names its key (`sub`) and lives
    `expires_in` seconds (`PRODUCTOPS_TOKEN_TTL_S`, at most an hour).
    """
    principal = await keys.authenticate(
        db=runtime.db,
        bootstrap_key=runtime.settings.bootstrap_admin_key,
        bootstrap_owner=runtime.settings.admin_owner,
        key=body.api_key,
        now=runtime.clock(),
    )
    signer = runtime.signer
    token = signer.issue(
        subject=principal.subject,
        name=principal.name,
        owner=principal.owner,
        scopes=principal.scopes,
    )
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=token, expires_in=signer.ttl_s, scope=" ".join(sorted(principal.scopes))
    )


@keys_router.post("/api-keys", status_code=201, response_model=KeyCreated)
async def create_api_key(body: KeyCreate, runtime: RuntimeDep, caller: AdminDep) -> KeyCreated:
    """Create an API key for its owner (admin). The full key is in this response only;
    store it now."""
    created = await keys.create_key(
        db=runtime.db,
        creator=caller,
        name=body.name,
        owner=body.owner,
        scopes=body.scopes,
        now=runtime.clock(),
    )
    return KeyCreated.model_validate(created, from_attributes=True)


@keys_router.get("/api-keys", response_model=Page[KeyPublic])
async def list_api_keys(
    runtime: RuntimeDep, _: AdminDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[KeyPublic]:
    """List API keys in creation order, revoked ones included; secrets are never shown."""
    page = await keys.list_keys(db=runtime.db, limit=limit, cursor=cursor)
    return page.map(lambda item: KeyPublic.model_validate(item, from_attributes=True))


@keys_router.delete("/api-keys/{key_id}", status_code=204, responses=MISSING_OR_CONFLICT)
async def revoke_api_key(
    key_id: Annotated[str, Path(max_length=64)], runtime: RuntimeDep, caller: AdminDep
) -> Response:
    """Revoke an API key (admin).

    The key mints no more tokens, and the tokens it minted are refused: by the gateway
    within `PRODUCTOPS_REVOCATION_CACHE_S` (at once by this replica), by each service once
    it has the `gateway.api_key.revoked.v1` event. The bootstrap admin key (id
    `bootstrap-...`) is revocable once another admin key exists (409 before).
    """
    async with runtime.uow() as uow:
        await keys.revoke_key(
            uow=uow,
            key_id=key_id,
            revoked_by=caller.subject,
            bootstrap=keys.bootstrap_admin(
                runtime.settings.admin_owner, runtime.settings.bootstrap_admin_key
            ),
            bootstrap_key=runtime.settings.bootstrap_admin_key,
        )
    runtime.deny_list.add(key_id)
    return Response(status_code=204)

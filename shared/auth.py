"""Access tokens (signed JWTs), scopes as FastAPI dependencies, and API key hashing.

Every service verifies tokens itself, so a request sent straight to a service port gets
no more than it would through the gateway.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import jwt
from fastapi import Depends, Request

from shared.errors import Forbidden, Unauthorized
from shared.settings import TOKEN_TTL_CAP_S

if TYPE_CHECKING:
    from shared.revocation import DenyList
from shared.openapi import answers

ALGORITHM = "HS256"
ISSUER = "productops"
ADMIN = "admin"
SCOPES = frozenset(
    {
        "catalog:read",
        "catalog:write",
        "feedback:ingest",
        # Purchases and returns: pricing's sales figures (security issue 12, finding 5).
        "feedback:ingest-sales",
        "feedback:read",
        "feedback:write",
        "launch:read",
        "launch:write",
        "launch:approve",
        "pricing:read",
        "pricing:write",
        "pricing:approve",
        # Costs and margins (of proposals, approvals, sales): not every reader of prices.
        "pricing:finance",
        ADMIN,
    }
)
BEARER = {"WWW-Authenticate": 'Bearer realm="productops"'}
REVOKED_KEY_DETAIL = "the access token's API key has been revoked"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key id (`sub`), its name, its scopes, and its owner: the
    person or system behind the key, which rules about people (four eyes) compare."""

    subject: str
    name: str
    scopes: frozenset[str]
    owner: str

    def has(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes


class TokenSigner:
    """Issues and verifies HS256 access tokens with one shared secret.

    `leeway_s` forgives that much clock skew on `iat` and `exp` (the gateway that issued a
    token and the service checking it may disagree by a second or two). A token claiming a
    life longer than `TOKEN_TTL_CAP_S` is refused.
    """

    # Tokens verified once and still alive, each with the moment it expires. Only a token
    # whose signature checked goes in, so callers cannot fill it with made-up strings.
    VERIFIED_CACHE_SIZE = 4096

    def __init__(self, secret: str, *, ttl_s: int = 3600, leeway_s: int = 0) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        self.leeway_s = leeway_s
        self._verified: dict[str, tuple[Principal, float]] = {}

    def issue(self, *, subject: str, name: str, owner: str, scopes: frozenset[str]) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "name": name,
            "owner": owner,
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "exp": now + self.ttl_s,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        """The token's caller, or 401. A token verified before is taken from memory for the
        rest of its life: a signature and claims cannot change, and the claims checked hold
        until `exp` (plus the leeway, as PyJWT counts it). Revocation is not a claim: callers
        check the deny list on every request (`current_principal`)."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires_at = known
            if time.time() < expires_at:
                return principal
            del self._verified[token]
        principal, expires_at = self._decode(token)
        if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
            # The oldest entry first (insertion order): it is the nearest to expiring.
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, expires_at)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired", headers=BEARER) from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("the access token is invalid", headers=BEARER) from exc
        if int(claims["exp"]) - int(claims["iat"]) > TOKEN_TTL_CAP_S:
            raise Unauthorized("the access token lives longer than allowed", headers=BEARER)
        scopes = frozenset(str(claims.get("scope", "")).split())
        name = str(claims.get("name", ""))
        # A token minted before keys had owners stands for a key the gateway's migration gave
        # its name as owner.
        owner = str(claims.get("owner") or name)
        principal = Principal(subject=claims["sub"], name=name, scopes=scopes, owner=owner)
        return principal, int(claims["exp"]) + self.leeway_s


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send `Authorization: Bearer <token>`", headers=BEARER)
    return token.strip()


# Dependencies are async so FastAPI runs them on the event loop, not in its thread pool.
@answers(401)
async def current_principal(request: Request) -> Principal:
    """The verified caller; the app keeps its `TokenSigner` in `app.state.signer` and the
    revoked keys, whose tokens are refused, in `app.state.deny_list` (shared/revocation.py)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    signer: TokenSigner = request.app.state.signer
    principal = signer.verify(bearer_token(request))
    deny_list: DenyList | None = getattr(request.app.state, "deny_list", None)
    if deny_list is not None and await deny_list.refuses(principal.subject):
        raise Unauthorized(REVOKED_KEY_DETAIL, headers=BEARER)
    request.state.principal = principal
    return principal


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, who must hold `scope` (or `admin`).

    Routes take it through an alias that mypy reads as a type:
    `Reader = Annotated[Principal, Depends(require("catalog:read"))]`.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(scope):
            raise Forbidden(f"this call needs the scope {scope}", required_scope=scope)
        return principal

    return answers(403)(check)


def hash_secret(secret: str) -> str:
    """API key secrets are 256-bit random, so one SHA-256 is enough (no password stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)

"""The gateway's schema history keeps the API keys made before keys had owners."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.app import create_app
from gateway.migrations import history
from gateway.tables import api_key
from shared.auth import ADMIN, TokenSigner, hash_secret
from shared.db import Database
from shared.migrations import upgrade
from shared.settings import Settings
from tests.support import TEST_SECRET, auth, running


async def make_keys_at_revision_1(url: str, names: list[str]) -> dict[str, str]:
    """Keys as the gateway stored them before owners; returns each name's full key."""
    db = Database(url)
    made: dict[str, str] = {}
    try:
        await upgrade(db, history, "0001_initial")
        async with db.engine.begin() as conn:
            for n, name in enumerate(names):
                key_id, secret = f"{n:016x}", secrets.token_urlsafe(32)
                await conn.execute(
                    api_key.insert().values(
                        id=key_id,
                        name=name,
                        scopes=["pricing:read"],
                        secret_hash=hash_secret(secret),
                        created_at=datetime(2030, 1, 1, n, tzinfo=UTC),
                        created_by="bootstrap-admin",
                    )
                )
                made[name] = f"po_{key_id}_{secret}"
    finally:
        await db.dispose()
    return made


async def test_keys_made_at_revision_1_are_owned_by_their_name_after_the_upgrade(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    made = await make_keys_at_revision_1(database_url, ["storefront", "Pat's laptop"])
    settings = make_settings(gateway_database_url=database_url)

    # The gateway migrates its database at start.
    async with running(create_app(settings, services=[])) as client:
        listed = await client.get("/v1/api-keys", headers=auth(ADMIN))
        exchanged = await client.post("/v1/auth/token", json={"api_key": made["Pat's laptop"]})

    assert listed.status_code == 200
    assert [(item["name"], item["owner"]) for item in listed.json()["items"]] == [
        ("storefront", "storefront"),
        ("Pat's laptop", "Pat's laptop"),
    ]
    assert exchanged.status_code == 200, exchanged.text
    principal = TokenSigner(TEST_SECRET).verify(exchanged.json()["access_token"])
    assert principal.owner == "Pat's laptop"
    assert principal.scopes == frozenset({"pricing:read"})

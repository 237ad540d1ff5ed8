"""The gateway in front of real service apps, as an attacker meets it: each service app is
served on its own port with its lifespan running, the gateway routes to them, and callers
are real API keys that the bootstrap admin made and exchanged for tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from gateway.app import create_app
from shared.settings import Settings
from tests.gateway.upstream import serving
from tests.support import running


@dataclass
class Gateway:
    """An httpx client on the gateway, and the bootstrap admin's token to make keys."""

    client: httpx.AsyncClient
    admin: dict[str, str]
    # The service apps behind it, by name, for tests that seed them the way events would.
    apps: dict[str, FastAPI]

    async def key(self, *, owner: str, scopes: str, name: str | None = None) -> dict[str, str]:
        """A new API key of `owner`'s, exchanged for a token: the headers to call with."""
        body = {"name": name or f"{owner}-{len(scopes)}", "owner": owner, "scopes": scopes.split()}
        made = await self.client.post("/v1/api-keys", json=body, headers=self.admin)
        assert made.status_code == 201, made.text
        return await self.login(made.json()["api_key"])

    async def login(self, api_key: str) -> dict[str, str]:
        answer = await self.client.post("/v1/auth/token", json={"api_key": api_key})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@asynccontextmanager
async def behind_gateway(settings: Settings, **apps: FastAPI) -> AsyncIterator[Gateway]:
    """The gateway (with `settings`) routing to each of `apps` (service name = app)."""
    async with AsyncExitStack() as stack:
        ports = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            ports[f"{name}_port"] = await stack.enter_async_context(serving(app))
        routed = settings.model_copy(update=ports)
        client = await stack.enter_async_context(running(create_app(routed, services=list(apps))))
        gateway = Gateway(client=client, admin={}, apps=dict(apps))
        gateway.admin = await gateway.login(settings.bootstrap_admin_key)
        yield gateway

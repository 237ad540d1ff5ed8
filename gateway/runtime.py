"""The gateway's live parts (database, upstream clients, rate limiters) and their dependencies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from gateway import keys
from gateway.forwarding import Forwarder
from gateway.live.consumer import LiveConsumer
from gateway.live.feed import LiveFeed
from gateway.migrations import history
from gateway.ratelimit import Limiter, RateLimiter
from gateway.shared_limits import SharedRateLimiter
from shared.app import create_topics
from shared.auth import Principal, TokenSigner, current_principal
from shared.clock import Clock, utc_now
from shared.db import Database
from shared.events import topic_of
from shared.migrations import prepare_schema
from shared.openapi import answers
from shared.relay import OutboxRelay
from shared.revocation import GATEWAY_TOPIC, DenyList
from shared.settings import Settings
from shared.stack.components import GATEWAY
from shared.uow import UnitOfWork

_PROBE_TIMEOUT_S = 1.0
# Topics whose events say more than their service's read scope shows: pricing's carry the
# guardrail violations with the costs and margins behind them (security issue 12, finding 9).
LIVE_SCOPE_EXCEPTIONS = {"pricing": "pricing:finance"}


class GatewayRuntime:
    """What one gateway process holds, kept in `app.state.runtime`."""

    def __init__(
        self,
        settings: Settings,
        services: Sequence[str],
        *,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.services = list(services)
        self.db = Database(
            settings.database_url("gateway"), sqlite_synchronous=settings.sqlite_synchronous
        )
        self.signer = TokenSigner(
            settings.signing_secret, ttl_s=settings.token_ttl_s, leeway_s=settings.token_leeway_s
        )
        # Its events (API key revocations) go out through an outbox, as a service's do.
        self.relay = OutboxRelay(db=self.db, settings=settings, service=GATEWAY, clock=clock)
        self.deny_list = DenyList(
            keys.revoked_key_ids(self.db), max_age_s=settings.revocation_cache_s
        )
        self.upstreams: dict[str, httpx.AsyncClient] = {}
        # Routed calls (`/v1/<service>/...`) go through these; the views through `upstreams`.
        self.forwarders: dict[str, Forwarder] = {}
        requests = (settings.rate_limit_per_s, settings.rate_limit_burst)

        def limiter(name: str, rate_and_burst: tuple[float, int]) -> Limiter:
            rate, burst = rate_and_burst
            return rate_limiter(settings, name=name, rate=rate, burst=burst, monotonic=monotonic)

        self.caller_limiter = limiter("caller", requests)
        # Storefront batches are limited per caller by the events they carry, not by request.
        self.ingest_limiter = limiter(
            "ingest", (settings.ingest_events_per_s, settings.ingest_events_burst)
        )
        # Token exchanges are limited per client IP, which slows guessing of API keys.
        self.login_limiter = limiter("login", requests)
        # Each service's domain topic, and the scope that reads it (`GET /v1/live`).
        self.live_scopes = {
            topic_of(name): LIVE_SCOPE_EXCEPTIONS.get(name, f"{name}:read")
            for name in self.services
        }
        self.live = LiveFeed(
            window_events=settings.live_window_events,
            window_bytes=settings.live_window_bytes,
            client_queue=settings.live_client_queue,
        )
        self.live_consumer = LiveConsumer(
            topics=list(self.live_scopes), feed=self.live, settings=settings
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # Read (or generate) the bootstrap admin key now, so `admin.key` exists from start-up.
        _ = self.settings.bootstrap_admin_key
        await prepare_schema(self.db, history, migrate=self.settings.migrate_on_start)
        timeout = httpx.Timeout(
            self.settings.upstream_timeout_s, connect=min(1.0, self.settings.upstream_timeout_s)
        )
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        for name in self.services:
            # trust_env=False: an HTTP(S)_PROXY meant for the outside must not catch these calls.
            self.upstreams[name] = httpx.AsyncClient(
                base_url=self.settings.base_url(name),
                timeout=timeout,
                limits=limits,
                trust_env=False,
            )
            # Send only what the caller sent: no Accept-Encoding it did not ask for.
            for default in ("accept", "accept-encoding", "user-agent"):
                del self.upstreams[name].headers[default]
            self.forwarders[name] = Forwarder(
                self.settings.base_url(name),
                timeout_s=self.settings.upstream_timeout_s,
                connect_timeout_s=min(1.0, self.settings.upstream_timeout_s),
            )
        # Whatever PRODUCTOPS_RUN_CONSUMERS says: it joins no group and changes no state.
        self._tasks.append(asyncio.create_task(self.live_consumer.run(), name="live-feed"))
        topics = create_topics(self.settings, [GATEWAY_TOPIC])
        self._tasks.append(asyncio.create_task(topics, name="topics"))
        if self.settings.run_relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))

    def uow(self) -> UnitOfWork:
        """A new unit of work on the gateway's database; its events wake the relay."""
        return UnitOfWork(
            self.db,
            service=GATEWAY,
            on_commit=self.relay.notify,
            max_event_bytes=self.settings.max_event_bytes,
            clock=self.clock,
        )

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            # aiokafka's close() can swallow a cancellation; insist until the task ends.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
        for client in self.upstreams.values():
            await client.aclose()
        self.upstreams.clear()
        for forwarder in self.forwarders.values():
            await forwarder.aclose()
        self.forwarders.clear()
        await self.caller_limiter.close()
        await self.login_limiter.close()
        await self.ingest_limiter.close()
        await self.db.dispose()

    async def _probe(self, client: httpx.AsyncClient) -> str:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                response = await client.get("/healthz", timeout=_PROBE_TIMEOUT_S)
        except (httpx.HTTPError, TimeoutError) as exc:
            return f"unreachable: {type(exc).__name__}"
        return "ok" if response.status_code == 200 else f"unhealthy: {response.status_code}"

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when the gateway's own database answers; upstream states are informative."""
        body: dict[str, Any] = {"service": "gateway"}
        ok = True
        try:
            async with asyncio.timeout(2):
                await self.db.ping()
            body["database"] = "ok"
            body["outbox_backlog"] = await self.relay.backlog()
        except Exception as exc:
            ok = False
            body["database"] = f"unreachable: {type(exc).__name__}"
        # Revocations reach the services through the relay: its trouble is worth seeing.
        body["relay"] = {
            "published": self.relay.published_total,
            "last_error": self.relay.last_error,
        }
        names = list(self.upstreams)
        states = await asyncio.gather(*(self._probe(self.upstreams[n]) for n in names))
        body["upstreams"] = dict(zip(names, states, strict=True))
        body["live"] = {
            "state": self.live_consumer.state,
            "partitions": self.live_consumer.partitions,
            "clients": self.live.clients,
            "dropped": self.live.dropped,
            "window": self.live.window,
        }
        body["status"] = "ready" if ok else "not ready"
        return ok, body


def rate_limiter(
    settings: Settings,
    *,
    name: str,
    rate: float,
    burst: int,
    monotonic: Callable[[], float] = time.monotonic,
) -> Limiter:
    """The limiter `name` (`caller`, `login`, `ingest`) of `rate` a second holding `burst`:
    shared in Redis when `redis_url` is set (with in-process buckets to fall back on), else
    in-process only."""
    local = RateLimiter(rate=rate, burst=burst, clock=monotonic)
    if settings.redis_url is None:
        return local
    return SharedRateLimiter(
        url=settings.redis_url,
        key_prefix=settings.redis_key_prefix,
        name=name,
        rate=rate,
        burst=burst,
        fallback=local,
        timeout_s=settings.redis_timeout_s,
        monotonic=monotonic,
    )


async def get_runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[GatewayRuntime, Depends(get_runtime)]


# Both dependencies are async on purpose: FastAPI runs sync dependencies in a thread pool,
# and the in-process buckets are only safe to touch from the event loop.
@answers(429)
async def limited_caller(
    principal: Annotated[Principal, Depends(current_principal)], runtime: RuntimeDep
) -> Principal:
    """The verified caller (401 otherwise), after taking a token from their bucket (429)."""
    await runtime.caller_limiter.hit(principal.subject)
    return principal


CallerDep = Annotated[Principal, Depends(limited_caller)]


async def live_key(caller: CallerDep, runtime: RuntimeDep) -> Principal:
    """The caller, whose key the database (not the cache) says is not revoked: a leaked
    admin token must not manage keys in the moments a cache may still trust it."""
    await keys.refuse_revoked(db=runtime.db, key_id=caller.subject)
    return caller


@answers(429)
async def limit_by_client_ip(request: Request, runtime: RuntimeDep) -> None:
    """429 when this client IP exchanges keys too often."""
    host = request.client.host if request.client else "unknown"
    await runtime.login_limiter.hit(host, what="token requests")

"""The composition root every service shares: `create_service_app(spec, settings)`.

It builds the database, the outbox relay and the consumer inside the app's lifespan, and
adds the common middleware, error handlers, `/healthz`, `/readyz`, `/metrics` and the
dead-letter routes (`/v1/dead-letters`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response

from shared.auth import TokenSigner, current_principal
from shared.backoff import Backoff
from shared.broker import ensure_topics, kafka_security, port_open
from shared.clock import Clock, utc_now
from shared.consumer import EventConsumer, Handler
from shared.db import Database
from shared.dead_letter_api import DeadLetterDesk
from shared.dead_letter_api import router as dead_letter_router
from shared.errors import Unauthorized, install_error_handlers
from shared.events import dlq_topic, origins_of, topic_of
from shared.http import RequestContextMiddleware
from shared.idempotency import prune_idempotency_keys
from shared.inbox import prune_inbox
from shared.media_type import refuse_other_media_types
from shared.migrations import MigrationHistory, prepare_schema
from shared.openapi import install_openapi
from shared.pruning import prune_forever
from shared.relay import OutboxRelay
from shared.republish import SnapshotSource
from shared.revocation import (
    GATEWAY_TOPIC,
    KEY_REVOKED,
    DenyList,
    revocation_handler,
    revoked_keys_in,
)
from shared.settings import Settings
from shared.tables import metadata as kernel_metadata
from shared.unstorable import refuse_unstorable_body
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

# The broker may come up after the service: topic creation retries at these intervals.
_TOPIC_RETRY = Backoff(first_s=0.2, cap_s=10.0)


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service: its name, tables, routes and the events it handles.

    Routers carry their own `/v1` prefix (`APIRouter(prefix="/v1")`), so route templates in
    metrics and logs are the public paths.
    """

    name: str
    title: str
    metadata: MetaData
    routers: Sequence[APIRouter]
    # The service's schema history; without one (a test double) its tables are just created.
    migrations: MigrationHistory | None = None
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    consumes: Sequence[str] = ()
    # The topic of a handled type its owner writes elsewhere than `<owner>.events` (as the
    # owner's registry says): the consumer takes each type only from its owner's topic.
    event_topics: Mapping[str, str] = field(default_factory=dict)
    extra_topics: Sequence[str] = ()
    # Long-running jobs of the service (schedulers, workers), run beside the relay.
    background: Sequence[Callable[[Runtime], Coroutine[Any, Any, None]]] = ()
    # Called first on shutdown, to ask the background jobs to finish what they are doing
    # (e.g. a scheduler's current transaction); they then have `stop_timeout_s` to return
    # before they are cancelled. Without hooks, the jobs are cancelled straight away.
    on_stop: Sequence[Callable[[], None]] = ()
    stop_timeout_s: float = 10.0
    # Extra readiness facts (e.g. a worker's lag), merged into the `/readyz` body.
    reports: Sequence[Callable[[Runtime], Awaitable[dict[str, Any]]]] = ()
    # One snapshot event per entity, for consumers catching up: `productops republish NAME`.
    snapshots: SnapshotSource | None = None
    # The services whose snapshots this one needs to build its projections: `productops up`
    # republishes them once per data dir before it starts anything (shared/stack/catch_up.py).
    catch_up_from: Sequence[str] = ()


async def create_topics(settings: Settings, topics: Sequence[str]) -> None:
    """Create `topics`, trying again until the broker answers: it may come up after the
    component, and start-up must not wait for it."""
    failures = 0
    while True:
        try:
            await ensure_topics(
                settings.bootstrap_servers,
                topics,
                partitions=settings.topic_partitions,
                timeout_s=10,
                security=kafka_security(settings),
            )
            return
        except Exception as exc:
            log.warning("topic creation failed; retrying", extra={"error": str(exc)})
            failures += 1
            await asyncio.sleep(_TOPIC_RETRY.delay(failures))


def settle_heap() -> None:
    """Collect once, then put every object still alive out of the collector's reach.

    What a process builds at start-up (modules, the app, a model) lives as long as it does;
    left in the generations, every full collection walks all of it again: pauses of 0.3 to
    1.5 s on the loaded 2-core bench machine (tests/perf/bench_launch), in the middle of
    whatever request or event the process was handling. Frozen objects are still freed by
    reference counting; only a cycle among them would outlive its use. Called by the
    process that serves a component (`shared/stack/serve.py`) once its app is built, not by
    tests that build many apps in one process."""
    gc.collect()
    gc.freeze()


class Runtime:
    """The live parts of one service process, kept in `app.state.runtime`.

    `clock` is where the service's use cases and handlers read "now" (`runtime.clock`,
    `uow.clock`); tests pass one they can move.
    """

    def __init__(self, spec: ServiceSpec, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.spec = spec
        self.settings = settings
        self.clock = clock
        self.db = Database(
            settings.database_url(spec.name), sqlite_synchronous=settings.sqlite_synchronous
        )
        self.relay = OutboxRelay(db=self.db, settings=settings, service=spec.name, clock=clock)
        self.deny_list = DenyList(revoked_keys_in(self.db), max_age_s=settings.revocation_cache_s)
        # Every service hears the gateway's revocations and refuses those keys' tokens.
        self.handlers: dict[str, Handler] = {
            **spec.handlers,
            KEY_REVOKED: revocation_handler(self.deny_list),
        }
        self.consumes = list(dict.fromkeys([*spec.consumes, GATEWAY_TOPIC]))
        self.consumer: EventConsumer | None = None
        # Each handled type only from its owner's topic and source (the gateway's too).
        origins = origins_of(self.handlers, topics=spec.event_topics)
        if settings.run_consumers:
            self.consumer = EventConsumer(
                group=spec.name,
                topics=self.consumes,
                handlers=self.handlers,
                uow_factory=self.uow,
                settings=settings,
                origins=origins,
            )
        # Replays need the handlers even in a process that runs no consumer.
        self.dead_letters = DeadLetterDesk(
            service=spec.name,
            handlers=self.handlers,
            origins=origins,
            uow=self.uow,
            reader=self.db.reader,
            handler_timeout_s=settings.consumer_handler_timeout_s,
            relay=self.relay,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: list[asyncio.Task[None]] = []

    @property
    def topics(self) -> list[str]:
        own = [topic_of(self.spec.name), *self.spec.extra_topics]
        return [*own, *self.consumes, dlq_topic(self.spec.name)]

    def uow(self) -> UnitOfWork:
        """A new unit of work on this service's database."""
        return UnitOfWork(
            self.db,
            service=self.spec.name,
            on_commit=self.relay.notify,
            max_event_bytes=self.settings.max_event_bytes,
            clock=self.clock,
        )

    async def start(self) -> None:
        if self.spec.migrations is None:
            await self.db.create_all([kernel_metadata, self.spec.metadata])
        else:
            await prepare_schema(
                self.db, self.spec.migrations, migrate=self.settings.migrate_on_start
            )
        self._tasks.append(asyncio.create_task(self._create_topics(), name="topics"))
        if self.settings.run_relay:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        if self.consumer is not None:
            self._tasks.append(asyncio.create_task(self.consumer.run(), name="consumer"))
            self._prune(
                "inbox",
                lambda cutoff: prune_inbox(self.uow, older_than=cutoff),
                self.settings.inbox_retention_s,
            )
        if self.settings.run_jobs:
            # Keys are written by API processes; one with jobs forgets the old ones.
            self._prune(
                "idempotency_key",
                lambda cutoff: prune_idempotency_keys(self.uow, older_than=cutoff),
                self.settings.idempotency_retention_s,
            )
            for job in self.spec.background:
                self._jobs.append(asyncio.create_task(job(self), name=job.__name__))
        self._tasks.extend(self._jobs)

    def _prune(
        self, table: str, prune: Callable[[datetime], Awaitable[int]], retention_s: float
    ) -> None:
        """Start deleting `table`'s rows older than `retention_s` (`prune(cutoff)`)."""
        job = prune_forever(table, prune, retention_s=retention_s, clock=self.clock)
        self._tasks.append(asyncio.create_task(job, name=f"{table}-pruning"))

    async def stop(self) -> None:
        if self.spec.on_stop:
            for hook in self.spec.on_stop:
                hook()
            if self._jobs:
                await asyncio.wait(self._jobs, timeout=self.spec.stop_timeout_s)
        self._jobs.clear()
        for task in self._tasks:
            # aiokafka's close() can swallow a cancellation; insist until the task ends.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        self._tasks.clear()
        await self.db.dispose()

    async def _create_topics(self) -> None:
        await create_topics(self.settings, self.topics)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Database and broker reachable, outbox backlog and parked events, consumer state and
        lag, dead letters.

        A consumer being rebuilt (e.g. after a broker restart) makes the service not ready."""
        body: dict[str, Any] = {"service": self.spec.name}
        ok = True
        try:
            async with asyncio.timeout(2):
                await self.db.ping()
            body["database"] = "ok"
            body["outbox_backlog"] = await self.relay.backlog()
            # Parked events wait for an admin, not a restart: they do not make it unready.
            body["outbox_parked"] = await self.relay.parked()
            body["dead_letters"] = await self.dead_letters.counts()
        except Exception as exc:
            ok = False
            body["database"] = f"unreachable: {type(exc).__name__}"
        broker_up = any(
            port_open(host, int(port), timeout=0.5)
            for host, _, port in (
                s.rpartition(":") for s in self.settings.bootstrap_servers.split(",")
            )
        )
        body["broker"] = "ok" if broker_up else "unreachable"
        ok = ok and broker_up
        body["relay"] = {
            "published": self.relay.published_total,
            "last_error": self.relay.last_error,
        }
        if self.consumer is not None:
            ok = ok and self.consumer.ready
            body["consumer"] = {
                "group": self.consumer.group,
                "state": self.consumer.state,
                "partitions": self.consumer.partitions,
                "waiting_partitions": len(self.consumer.waiting),
                "lag": self.consumer.total_lag,
                "handled": self.consumer.handled,
                "dead_lettered": self.consumer.dead_lettered,
                "seconds_since_progress": round(time.monotonic() - self.consumer.last_progress, 1),
                "last_error": self.consumer.last_error,
            }
        for report in self.spec.reports:
            try:
                body.update(await report(self))
            except Exception as exc:
                body[report.__name__] = f"failed: {type(exc).__name__}"
        body["status"] = "ready" if ok else "not ready"
        return ok, body


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def install_probes(
    app: FastAPI, readiness: Any, refresh_metrics: Callable[[], Awaitable[object]] | None = None
) -> None:
    """`/healthz` (alive), `/readyz` (dependencies: the details for callers with a valid
    token, the verdict alone for anyone else) and `/metrics` (Prometheus text);
    `refresh_metrics` updates gauges read from the database before a scrape."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        ok, body = await readiness()
        if not await _authenticated(request):
            # Error text and addresses help an attacker too: anyone else gets the verdict.
            body = {"service": body.get("service"), "status": body.get("status")}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if refresh_metrics is not None:
            # A scrape must answer even when the database does not: the gauges stay as they were.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await refresh_metrics()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _authenticated(request: Request) -> bool:
    """Whether the request carries a valid access token (any scope)."""
    try:
        await current_principal(request)
    except Unauthorized:
        return False
    return True


class Component(Protocol):
    """What an app's lifespan drives: a service runtime, or the gateway's."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def readiness(self) -> tuple[bool, dict[str, Any]]: ...


def new_app(
    *,
    name: str,
    title: str,
    settings: Settings,
    component: Component,
    signer: TokenSigner,
    deny_list: DenyList,
    refresh_metrics: Callable[[], Awaitable[object]] | None = None,
    inner_middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """A FastAPI app with the kernel's middleware, problem+json errors and probes; its
    lifespan starts and stops `component`. Tokens are verified with `signer`, and those of
    keys in `deny_list` refused. `inner_middleware` (outermost first) runs inside the
    request context (ids, body cap, metrics, access log) and in front of FastAPI's error
    handlers and router: what it answers itself, it renders itself."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await component.start()
        try:
            yield
        finally:
            await component.stop()

    app = FastAPI(
        title=title,
        version="1.0",
        lifespan=lifespan,
        # A body of another media type first: its values are not looked at.
        dependencies=[Depends(refuse_other_media_types), Depends(refuse_unstorable_body)],
    )
    app.state.runtime = component
    app.state.signer = signer
    app.state.deny_list = deny_list
    app.add_middleware(
        RequestContextMiddleware, service=name, max_body_bytes=settings.max_body_bytes
    )
    # `add_middleware` puts each one outermost; these go after (inside) the request context.
    app.user_middleware.extend(inner_middleware)
    install_error_handlers(app)
    install_openapi(app)
    install_probes(app, component.readiness, refresh_metrics)
    return app


def create_service_app(spec: ServiceSpec, settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """A service's FastAPI app; its lifespan starts the relay and the consumer. `clock`
    becomes the runtime's (tests pass one they can move)."""
    runtime = Runtime(spec, settings, clock=clock)
    app = new_app(
        name=spec.name,
        title=spec.title,
        settings=settings,
        component=runtime,
        signer=TokenSigner(
            settings.signing_secret, ttl_s=settings.token_ttl_s, leeway_s=settings.token_leeway_s
        ),
        deny_list=runtime.deny_list,
        refresh_metrics=runtime.dead_letters.counts,
    )
    app.state.dead_letters = runtime.dead_letters
    for router in [*spec.routers, dead_letter_router]:
        app.include_router(router)
    return app

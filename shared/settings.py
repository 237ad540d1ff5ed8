"""Configuration from `PRODUCTOPS_*` environment variables (see docs/configuration.md)."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.db import SqliteSynchronous
from shared.files import private_dir

DEFAULT_PORTS = {
    "gateway": 8000,
    "catalog": 8001,
    "feedback": 8002,
    "launch": 8003,
    "pricing": 8004,
}
_MIN_SECRET_LENGTH = 32
# What .env.example puts where a secret goes: a copy must not run with it.
EXAMPLE_VALUE_MARK = "replace-me"
# The longest an access token may live (`token_ttl_s`); a token claiming more is refused.
TOKEN_TTL_CAP_S = 3600
# Well under Kafka's default 1 MiB record limit, which the relay's producer stays below.
DEFAULT_MAX_EVENT_BYTES = 512 * 1024


class Settings(BaseSettings):
    """One settings object for the whole platform; each process reads the part it needs."""

    model_config = SettingsConfigDict(env_prefix="PRODUCTOPS_", extra="ignore", frozen=False)

    # Where the gateway listens: the public side.
    host: str = "127.0.0.1"
    # Where the services listen (default: `host`): an internal address, so that callers
    # outside cannot skip the gateway's rate limits (docs/configuration.md#processes-and-ports).
    service_host: str | None = None
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # `forwarded_allow_ips`): IPs or CIDRs, `*` for any. None trusted by default, so a
    # client cannot pick the address the per-IP token limit counts.
    trusted_proxies: list[str] = Field(default_factory=list)
    gateway_port: int = DEFAULT_PORTS["gateway"]
    catalog_port: int = DEFAULT_PORTS["catalog"]
    feedback_port: int = DEFAULT_PORTS["feedback"]
    launch_port: int = DEFAULT_PORTS["launch"]
    pricing_port: int = DEFAULT_PORTS["pricing"]

    # Where the gateway reaches a component when it is not on `host` (e.g. compose names).
    upstream_hosts: dict[str, str] = Field(default_factory=dict)

    broker_port: int = 9092
    kafka_bootstrap: str | None = None
    topic_partitions: int = Field(default=6, ge=1)
    # TLS and SASL for a production Kafka, given to every producer, consumer and admin
    # client (`shared.broker.kafka_security`); the embedded broker speaks plaintext only.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # The CA that signed the brokers' certificates; none: the system's trusted CAs.
    kafka_ssl_cafile: FilePath | None = None

    data_dir: Path = Path("var")
    gateway_database_url: str | None = None
    catalog_database_url: str | None = None
    feedback_database_url: str | None = None
    launch_database_url: str | None = None
    pricing_database_url: str | None = None
    # Database URLs of components without a field of their own above, by name.
    database_urls: dict[str, str] = Field(default_factory=dict)
    # How often SQLite syncs to disk (shared/db.py). `full`: at every commit, which is what
    # lets a 201 or 202 mean durable through a power loss or an OS crash; `normal`: at
    # checkpoints only, many times the commit rate but the last commits can be lost with the
    # machine (docs/configuration.md#durability).
    sqlite_synchronous: SqliteSynchronous = "full"

    admin_key: SecretStr | None = None
    # The owner of the bootstrap admin key, as four-eyes rules see it.
    admin_owner: str = Field(default="admin", min_length=1, max_length=100)
    jwt_secret: SecretStr | None = None
    # Capped: a token outlives nothing but its own TTL if every check of revocation failed.
    token_ttl_s: int = Field(default=900, ge=60, le=TOKEN_TTL_CAP_S)
    # Clock skew forgiven on a token's `iat` and `exp` (the gateway and a service may differ).
    token_leeway_s: int = Field(default=5, ge=0, le=60)
    # How long a process trusts its list of revoked API keys before reading it again: the
    # gateway's bound on how long a revoked key's token still works (docs/http-api.md).
    revocation_cache_s: float = Field(default=2.0, gt=0, le=60)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    rate_limit_per_s: float = Field(default=50.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Where the gateway replicas keep their shared rate limits (`redis://host:port/db`);
    # unset, each gateway process limits on its own (gateway/shared_limits.py).
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="productops", min_length=1, max_length=100)
    # A limit check sits in front of every request: Redis slower than this counts as down.
    redis_timeout_s: float = Field(default=0.5, gt=0)
    # Storefront ingestion (security issue 12, findings 5 and 6). The gateway limits each key
    # to this many customer events a second, holding a burst of a few full batches (so at
    # least one batch of 1,000); feedback answers 429 while its triage queue or its outbox
    # holds more than these bounds (counted at most every `ingest_backlog_check_s`).
    ingest_events_per_s: float = Field(default=1000.0, gt=0)
    ingest_events_burst: int = Field(default=5000, ge=1000)
    ingest_max_triage_backlog: int = Field(default=200_000, ge=1)
    ingest_max_relay_backlog: int = Field(default=100_000, ge=1)
    ingest_backlog_check_s: float = Field(default=1.0, ge=0)
    # What a customer event may claim: purchase and return quantities, a unit price (in
    # the currency's major units), how old it may be and how far ahead of our clock.
    ingest_max_quantity: int = Field(default=1000, ge=1, le=1_000_000)
    ingest_max_unit_price: Decimal = Field(default=Decimal("100000"), gt=0)
    ingest_max_age_days: int = Field(default=90, ge=1)
    ingest_clock_skew_s: float = Field(default=300.0, ge=0)
    # An event naming a product the catalog has not named is held (never published) this
    # long, then expires.
    ingest_hold_days: float = Field(default=7.0, gt=0)
    upstream_timeout_s: float = Field(default=5.0, gt=0)
    # A composed view (product overview, dashboard summary) gives each service call this
    # long; a service slower than that is named in `degraded` and the view answers anyway.
    view_budget_s: float = Field(default=0.8, gt=0)
    # The portfolio review's budget: a period's sales are aggregated on the spot (about
    # 0.5-0.8 s for 50,000 purchases a quarter, tests/perf/bench_plans.py), and leadership
    # reads a report, not a page that must answer at once.
    report_budget_s: float = Field(default=5.0, gt=0)
    # `GET /v1/live`: how many recent events (and bytes of them) a reconnecting client can
    # resume from with Last-Event-ID, the heartbeat period, and how many events may wait
    # for one client before it is dropped as too slow.
    live_window_events: int = Field(default=1000, ge=1)
    live_window_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    live_heartbeat_s: float = Field(default=15.0, gt=0)
    live_client_queue: int = Field(default=256, ge=1)

    # Rows per relay round: each round is one read and one send per partition, so fewer,
    # larger rounds keep up with ingestion (issue 16; tests/perf/bench_ingest.py and
    # bench_relay.py). 1,000 events of ~650 bytes stay well under `relay_batch_max_bytes`
    # and the producer's 256 KiB per partition.
    relay_batch_size: int = Field(default=1000, ge=1)
    relay_batch_max_bytes: int = Field(default=1_048_576, ge=1024)
    relay_poll_s: float = Field(default=1.0, gt=0)
    # How long a relay may hold the marks of published rows before writing them: one write
    # per interval, not per round (see OutboxRelay). A crash re-sends at most this much.
    relay_mark_interval_s: float = Field(default=0.5, ge=0)
    relay_max_backoff_s: float = Field(default=10.0, gt=0)
    relay_send_timeout_s: float = Field(default=10.0, gt=0)
    outbox_retention_s: float = Field(default=7 * 24 * 3600, ge=0)
    # Rows per write transaction when pruning, re-queueing or republishing snapshots: SQLite
    # has only one writer.
    outbox_chunk_rows: int = Field(default=1000, ge=1)
    # The largest encoded event a unit of work accepts; the relay's producer allows a little
    # more (key, headers, framing), so an accepted event can always be sent.
    max_event_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, ge=1024)

    migrate_on_start: bool = True
    """At start, a service or the gateway migrates its database to the newest revision.

    Off (migrations run by `productops migrate` before a deploy), a component whose database
    is not at the newest revision refuses to start, naming the revision it found and the
    command to run, rather than serve requests on a schema its code does not match.
    """

    # One image, several roles: a process may serve the API without consuming (or relaying).
    run_consumers: bool = True
    run_relay: bool = True
    # ...and without the service's background jobs (schedulers, feedback's triage worker),
    # so API replicas need not load the triage model.
    run_jobs: bool = True

    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_s: float = Field(default=0.2, ge=0)
    # While the database is away a partition waits (paused) and retries, up to this far apart.
    consumer_max_backoff_s: float = Field(default=5.0, gt=0)
    consumer_handler_timeout_s: float = Field(default=30.0, gt=0)
    consumer_stall_s: float = Field(default=60.0, gt=0)
    # Tansu holds a group join for half the session timeout, so keep it modest.
    consumer_session_timeout_ms: int = Field(default=10_000, ge=6_000)
    # A member that does not poll this often leaves its group (aiokafka #848); a batch is
    # cut off after a third of it and fetched again.
    consumer_max_poll_interval_ms: int = Field(default=300_000, ge=1_000)
    # The embedded broker answers a fetch only when this wait is over, even when records
    # arrive sooner: an idle consumer sees a new event up to this late. tests/perf/bench_launch
    # on 2 shared cores: the broker-to-consumer hop of a critical review is p50 19-29 ms at
    # 100 ms (14 ms at 25 ms, for four times the idle fetches); the review's p99 to the gate
    # (197-900 ms at load 8-16) is set by CPU contention, not by this wait.
    consumer_fetch_max_wait_ms: int = Field(default=100, ge=10, le=10_000)
    # Inbox rows must outlive the outbox's, so that an event a relay re-publishes is still
    # recognised as handled (see `_inbox_outlives_outbox`).
    inbox_retention_s: float = Field(default=14 * 24 * 3600, ge=0)
    # How long an `Idempotency-Key` replays its first response (a day, as payment APIs keep
    # theirs); a retry after that is a new request.
    idempotency_retention_s: float = Field(default=24 * 3600, gt=0)

    log_level: str = "INFO"

    @field_validator("jwt_secret", "admin_key")
    @classmethod
    def _refuse_weak_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < _MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {_MIN_SECRET_LENGTH} characters")
        if value is not None and EXAMPLE_VALUE_MARK in value.get_secret_value():
            raise ValueError("is the example's placeholder: set a secret of your own")
        return value

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _pragma_case(cls, value: object) -> object:
        # SQLite reads `FULL` and `full` alike; so do we.
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _kafka_security_is_complete(self) -> Settings:
        protocol = self.kafka_security_protocol
        if protocol != "PLAINTEXT" and self.kafka_bootstrap is None:
            raise ValueError(
                f"kafka_security_protocol {protocol} needs kafka_bootstrap: the embedded "
                "broker speaks plaintext only"
            )
        if protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol {protocol} needs kafka_sasl_username and "
                "kafka_sasl_password"
            )
        return self

    @model_validator(mode="after")
    def _inbox_outlives_outbox(self) -> Settings:
        # A relay may re-publish any row still in the outbox (a fresh broker, a timed-out
        # send); had its inbox row been pruned first, the event would be applied twice.
        if self.inbox_retention_s < self.outbox_retention_s:
            raise ValueError(
                f"inbox_retention_s ({self.inbox_retention_s:g}) must be at least "
                f"outbox_retention_s ({self.outbox_retention_s:g})"
            )
        return self

    def port(self, component: str) -> int:
        """The port a component (`gateway` or a service name) listens on."""
        explicit = getattr(self, f"{component}_port", None)
        return explicit if explicit is not None else _extra_port(component)

    def bind_host(self, component: str) -> str:
        """The address a component listens on: `host` for the gateway, `service_host` (else
        `host`) for a service."""
        if component == "gateway":
            return self.host
        return self.service_host or self.host

    def base_url(self, component: str) -> str:
        host = self.upstream_hosts.get(component, self.bind_host(component))
        if host == "0.0.0.0":  # noqa: S104 - listening everywhere; call it on loopback
            host = "127.0.0.1"
        return f"http://{host}:{self.port(component)}"

    def database_url(self, component: str) -> str:
        """`PRODUCTOPS_<COMPONENT>_DATABASE_URL`, else a SQLite file in the data dir."""
        explicit = getattr(self, f"{component}_database_url", None)
        explicit = explicit or self.database_urls.get(component)
        if explicit:
            return explicit
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{component}.db').resolve()}"

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.broker_port}"

    @property
    def embedded_broker(self) -> bool:
        return self.kafka_bootstrap is None

    @cached_property
    def signing_secret(self) -> str:
        """The JWT secret: from the environment, else kept in `<data_dir>/jwt.secret`."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return _read_or_create(self.data_dir / "jwt.secret", lambda: secrets.token_urlsafe(48))

    @cached_property
    def bootstrap_admin_key(self) -> str:
        """The first admin API key: from the environment, else kept in `<data_dir>/admin.key`."""
        if self.admin_key is not None:
            return self.admin_key.get_secret_value()
        # Hex, not url-safe base64: one key in 64 of those begins with "-", which a command
        # line (`productops demo --api-key KEY`) reads as an option. 256 bits either way.
        return _read_or_create(self.data_dir / "admin.key", lambda: secrets.token_hex(32))


def _extra_port(component: str) -> int:
    # A service added later without its own settings field still gets a stable port.
    return DEFAULT_PORTS.get(component, 8000 + 10 + sum(map(ord, component)) % 80)


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Read a generated secret, creating it (mode 0600) on first use by any process."""
    private_dir(path.parent)
    if not path.exists():
        # Write aside, then link into place: linking fails if another process won the
        # race, and nobody ever reads a half-written file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(make())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text(encoding="utf-8").strip()

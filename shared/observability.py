"""Structured JSON logs with request and correlation ids, and the Prometheus metrics."""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime

import orjson
from prometheus_client import Counter, Gauge, Histogram

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)
causation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "causation_id", default=None
)

# Metrics live in the process-wide registry, labelled by service, so several apps can
# share one process (as in the tests) without registering a metric twice.
HTTP_REQUESTS = Counter(
    "productops_http_requests_total",
    "HTTP requests answered",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "productops_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "productops_events_published_total", "Outbox events published", ["service", "topic"]
)
RELAY_FAILURES = Counter(
    "productops_relay_failures_total", "Failed outbox publish attempts", ["service"]
)
OUTBOX_BACKLOG = Gauge("productops_outbox_backlog", "Unpublished outbox events", ["service"])
OUTBOX_PARKED = Gauge(
    "productops_outbox_parked", "Outbox events set aside as unsendable", ["service"]
)
EVENTS_CONSUMED = Counter(
    "productops_events_consumed_total",
    "Events handled by consumers",
    ["service", "topic", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "productops_events_dead_lettered_total",
    "Events sent to a dead-letter topic",
    ["service", "topic"],
)
DEAD_LETTERS = Gauge(
    "productops_dead_letters",
    "Dead letters kept in the service's database, by consumer group and status",
    ["service", "consumer", "status"],
)
CONSUMER_LAG = Gauge(
    "productops_consumer_lag",
    "Messages behind the end of each partition",
    ["service", "topic", "partition"],
)
RATE_LIMIT_FALLBACKS = Counter(
    "productops_rate_limit_fallback_total",
    "Requests a gateway limited on its own because the shared limit store did not answer",
    ["limiter"],
)

# uvicorn adds `color_message` (terminal escape codes) to its records: not for JSON logs.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids and any `extra` fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := request_id_var.get()) is not None:
            entry["request_id"] = request_id
        if (correlation_id := correlation_id_var.get()) is not None:
            entry["correlation_id"] = correlation_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

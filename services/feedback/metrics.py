"""The feedback service's own Prometheus metrics (process-wide registry, labelled by service
like the kernel's, so several apps can share one test process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

TRIAGE_BACKLOG = Gauge(
    "productops_feedback_triage_backlog",
    "Customer events waiting for triage",
    ["service"],
)
TRIAGE_LAG = Gauge(
    "productops_feedback_triage_lag_seconds",
    "Age of the oldest customer event waiting for triage",
    ["service"],
)
UNRESOLVED_EVENTS = Gauge(
    "productops_feedback_unresolved_events",
    "Customer events held until the catalog names their product",
    ["service"],
)
TRIAGE_RETRYING = Gauge(
    "productops_feedback_triage_retrying",
    "Customer events waiting for triage after a failed reading",
    ["service"],
)
TRIAGE_FAILED = Gauge(
    "productops_feedback_triage_failed",
    "Customer events triage gave up on after its tries, until an admin re-queues them",
    ["service"],
)
TRIAGED = Counter(
    "productops_feedback_triaged_total",
    "Customer events triaged, by outcome",
    ["service", "outcome"],
)
ESCALATIONS_OVERDUE = Gauge(
    "productops_feedback_escalations_overdue",
    "Open escalations past their due time",
    ["service", "route"],
)
EVENTS_INGESTED = Counter(
    "productops_feedback_customer_events_total",
    "Customer events received, by outcome",
    ["service", "outcome"],
)

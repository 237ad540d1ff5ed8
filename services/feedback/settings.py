"""The feedback service's own knobs: `PRODUCTOPS_FEEDBACK_*` environment variables.

The kernel's `Settings` is shared by every process; what only this service needs lives here.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Hours until an escalation is overdue, by rule (see docs/configuration.md).
CRITICAL_DEFECT_SLA_H = 24.0
URGENT_TICKET_SLA_H = 8.0
SALES_QUESTION_SLA_H = 24.0
REVIEW_BELOW = 0.6


class FeedbackSettings(BaseSettings):
    """Escalation SLAs and triage worker tuning; `extra="ignore"` skips the kernel's
    `PRODUCTOPS_FEEDBACK_PORT` and `PRODUCTOPS_FEEDBACK_DATABASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="PRODUCTOPS_FEEDBACK_", extra="ignore")

    critical_defect_sla_h: float = Field(default=CRITICAL_DEFECT_SLA_H, gt=0)
    urgent_ticket_sla_h: float = Field(default=URGENT_TICKET_SLA_H, gt=0)
    sales_question_sla_h: float = Field(default=SALES_QUESTION_SLA_H, gt=0)
    # Texts per model call and per write transaction: larger batches amortise the per-step
    # reads and writes and pad less (the encoder sorts a batch's texts by length); 256 cost
    # 10-15% less CPU per text than 64 in bench_triage. A backlog's first text waits for its
    # whole batch (a few seconds at most); a lone event is still a batch of one.
    triage_batch_size: int = Field(default=256, ge=1, le=1000)
    triage_poll_s: float = Field(default=1.0, gt=0)
    # PostgreSQL: how long a worker holds the batch it took while its model reads it. Other
    # workers pass over it meanwhile, and read it again after this if the worker died. A
    # batch of 256 reads in a few seconds; a slower reading past the lease is read twice,
    # but applied once.
    triage_lease_s: float = Field(default=120.0, gt=0)
    # Niceness of the model's thread (0-19): higher yields more CPU to request handling.
    triage_nice: int = Field(default=10, ge=0, le=19)
    # onnxruntime's intra-op threads for the model (~90% of triage's CPU), at the niceness
    # above. One by default: on the shared 2-core machine a second thread cost 10-60% more
    # CPU per text and drained no faster (bench_triage); raise it where cores are free.
    triage_threads: int = Field(default=1, ge=1, le=64)
    # Whether the model reads the next batch while the worker applies the last one, instead
    # of the two taking turns: 5-17% more texts/s from one model thread, for about a fifth
    # of a core more while it runs. Off by default: on the 2-core machine that core was taken
    # from ingestion in another process (acceptance 0.44-0.49x raw against 0.47-0.54x,
    # bench_ingest --roles split); on where the worker has cores of its own.
    triage_read_ahead: bool = False
    # Readings the model gets at an event before triage gives up on it (until an admin
    # re-queues it), and the backoff between them: doubling from the first delay, capped.
    triage_max_attempts: int = Field(default=6, ge=1, le=50)
    triage_retry_first_s: float = Field(default=10.0, gt=0)
    triage_retry_max_s: float = Field(default=900.0, gt=0)
    # Items the model is less sure of than this (its confidence, 0-1) wait for a person:
    # `GET /v1/feedback?needs_review=true`, `POST /v1/feedback/{id}/label`.
    review_below: float = Field(default=REVIEW_BELOW, ge=0, le=1)
    # Gauges (lag, overdue escalations) are refreshed at least this often.
    metrics_refresh_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _first_retry_within_the_cap(self) -> FeedbackSettings:
        # Refused at start: the backoff would raise at the first failed reading instead.
        if self.triage_retry_first_s > self.triage_retry_max_s:
            raise ValueError(
                f"triage_retry_first_s ({self.triage_retry_first_s:g}) must be at most "
                f"triage_retry_max_s ({self.triage_retry_max_s:g})"
            )
        return self

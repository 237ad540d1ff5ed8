"""The launch service's own knobs: `PRODUCTOPS_LAUNCH_*` environment variables.

The kernel's `Settings` is shared by every process; what only this service needs lives here.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.launch.calendar import BEHIND_WITHIN_DAYS, ConflictRule
from services.launch.domain import MONITORING_WINDOW


class LaunchSettings(BaseSettings):
    """Monitoring after launch, the calendar's flags and the scheduler's poll; `extra="ignore"`
    skips the kernel's `PRODUCTOPS_LAUNCH_PORT` and `PRODUCTOPS_LAUNCH_DATABASE_URL`."""

    model_config = SettingsConfigDict(env_prefix="PRODUCTOPS_LAUNCH_", extra="ignore")

    # How long after launch the automatic gates still count (at_risk).
    monitoring_days: int = Field(default=MONITORING_WINDOW.days, ge=0, le=365)
    # The calendar flags an open plan that is not ready this many days before its target.
    behind_within_days: int = Field(default=BEHIND_WITHIN_DAYS, ge=0, le=365)
    # What makes two launches in one ISO week a conflict.
    conflict_same_owner: bool = True
    conflict_same_product_type: bool = True
    # The scheduler looks at its due times at least this often (other processes add some).
    scheduler_poll_s: float = Field(default=1.0, gt=0)

    @property
    def monitoring(self) -> timedelta:
        return timedelta(days=self.monitoring_days)

    @property
    def conflict_rule(self) -> ConflictRule:
        return ConflictRule(
            same_owner=self.conflict_same_owner, same_product_type=self.conflict_same_product_type
        )

"""The launch scheduler: what time alone changes. An approved plan launches on its target
date, an expired waiver stops covering its gate, a launched plan's monitoring ends.

Each plan's next due time is `launch_plan.wake_at` (the domain's `next_wakeup`, kept with
every save), so a restart does whatever came due while it was down. A plan is claimed by a
guarded update (`... SET wake_at = NULL WHERE wake_at <= now`) in the transaction that
refreshes it: however many schedulers run, each due moment is handled once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from services.launch import domain
from services.launch.projections import facts_of
from services.launch.service import SCHEDULER, automatic_change
from services.launch.store import load_plan, save_plan
from services.launch.tables import launch_plan
from shared.app import Runtime
from shared.due import DueJob
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


async def refresh_due(*, uow: UnitOfWork, launch_id: str, monitoring: timedelta) -> bool:
    """Refresh the plan if it is due and no one else took it; whether this did."""
    now = uow.clock()
    claim = (
        update(launch_plan)
        .where(launch_plan.c.id == launch_id, launch_plan.c.wake_at <= now)
        .values(wake_at=None)
        .returning(launch_plan.c.id)
    )
    if (await uow.session.execute(claim)).first() is None:
        return False
    stored = await load_plan(uow, launch_id)
    facts = await facts_of(uow.session, stored.plan.product_id)
    outcome = domain.refresh(stored.plan, facts=facts, now=now, monitoring=monitoring)
    change = automatic_change(stored.plan, outcome, now, source=SCHEDULER)
    await save_plan(uow, stored, outcome, change=change)
    return True


class Scheduler:
    """The launch service's background job (`ServiceSpec.background`); it works on the
    runtime's database and clock, `batch_size` due plans per query."""

    def __init__(
        self, *, monitoring: timedelta, poll_s: float = 1.0, batch_size: int = 200
    ) -> None:
        self.monitoring = monitoring
        self.batch_size = batch_size
        self.job = DueJob(work=self.tick, next_due=_next_due, poll_s=poll_s)

    def notify(self) -> None:
        """A plan was approved or waived: look at the due times now."""
        self.job.notify()

    async def tick(self, runtime: Runtime) -> int:
        """Refresh every plan due now; returns how many this scheduler refreshed. A plan
        that fails stays due; the others go on, then the failure is raised (the job backs
        off and tries again)."""
        done, failed = 0, 0
        while True:
            now = runtime.clock()
            async with runtime.db.reader() as session:
                due = list(
                    await session.scalars(
                        select(launch_plan.c.id)
                        .where(launch_plan.c.wake_at <= now)
                        .order_by(launch_plan.c.wake_at, launch_plan.c.id)
                        .limit(self.batch_size)
                    )
                )
            for launch_id in due:
                try:
                    async with runtime.uow() as uow:
                        done += await refresh_due(
                            uow=uow, launch_id=launch_id, monitoring=self.monitoring
                        )
                except Exception:
                    failed += 1
                    log.exception("refreshing a due plan failed", extra={"launch_id": launch_id})
            if failed:
                raise RuntimeError(f"{failed} due plans could not be refreshed")
            if len(due) < self.batch_size:
                return done


async def _next_due(runtime: Runtime) -> datetime | None:
    async with runtime.db.reader() as session:
        return await session.scalar(select(func.min(launch_plan.c.wake_at)))

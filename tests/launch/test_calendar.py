"""The launch calendar without I/O: days left and the behind, slipped and conflict flags at
their boundaries, and the overdue work monitoring shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.launch.calendar import (
    BEHIND_WITHIN_DAYS,
    CalendarEntry,
    Clash,
    ConflictRule,
    Slip,
    calendar,
    days_left,
    is_behind,
    iso_week,
    slip_of,
)
from services.launch.domain import cancel, reschedule
from services.launch.facts import Facts
from services.launch.gates import Readiness
from services.launch.improvements import Addressee
from services.launch.manual import accept_improvement, add_task
from services.launch.marketing import Phase
from services.launch.plan import LaunchPlan, Reschedule
from services.launch.status import PlanStatus
from tests.launch.builders import (
    GOOD,
    OWNER,
    TARGET,
    TODAY,
    at,
    finding,
    new_plan,
    price,
    product,
)


def plan(
    launch_id: str,
    target: date,
    *,
    owner: str = "olivia",
    product_type: str | None = "kettle",
    status: PlanStatus = PlanStatus.PLANNED,
    readiness: Readiness = Readiness.PENDING,
) -> LaunchPlan:
    return replace(
        new_plan(launch_id=launch_id),
        target_date=target,
        owner=owner,
        product_type=product_type,
        status=status,
        readiness=readiness,
    )


def entry(entries: tuple[CalendarEntry, ...], launch_id: str) -> CalendarEntry:
    return next(e for e in entries if e.plan.id == launch_id)


# --- days left and behind ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "behind"), [(8, False), (7, True), (1, True), (0, True), (-3, True)]
)
def test_a_plan_not_ready_within_seven_days_of_its_target_is_behind(
    days: int, behind: bool
) -> None:
    target = TODAY + timedelta(days=days)
    subject = plan("l-1", target)
    assert days_left(subject, TODAY) == days
    assert is_behind(subject, TODAY) is behind
    assert BEHIND_WITHIN_DAYS == 7


@pytest.mark.parametrize(
    ("status", "readiness", "behind"),
    [
        (PlanStatus.PLANNED, Readiness.PENDING, True),
        (PlanStatus.PLANNED, Readiness.BLOCKED, True),
        (PlanStatus.PLANNED, Readiness.READY, False),
        (PlanStatus.APPROVED, Readiness.BLOCKED, True),
        (PlanStatus.LAUNCHED, Readiness.BLOCKED, False),
        (PlanStatus.CANCELLED, Readiness.PENDING, False),
    ],
)
def test_only_an_open_plan_that_is_not_ready_can_be_behind(
    status: PlanStatus, readiness: Readiness, behind: bool
) -> None:
    subject = plan("l-1", TODAY + timedelta(days=2), status=status, readiness=readiness)
    assert is_behind(subject, TODAY) is behind


def test_the_behind_window_is_a_parameter() -> None:
    subject = plan("l-1", TODAY + timedelta(days=10))
    [listed] = calendar([subject], today=TODAY, behind_within=10)
    assert listed.behind
    [listed] = calendar([subject], today=TODAY, behind_within=9)
    assert not listed.behind


# --- slipped -------------------------------------------------------------------------------------


def move(old: date, new: date) -> Reschedule:
    return Reschedule(old, new, "why", "olivia", at(0))


def test_slips_count_moves_later_and_their_days_not_moves_earlier() -> None:
    d = date(2030, 4, 1)
    assert slip_of([]) == Slip(0, 0)
    assert slip_of([move(d, d + timedelta(days=10))]) == Slip(1, 10)
    moves = [
        move(d, d + timedelta(days=10)),
        move(d + timedelta(days=10), d + timedelta(days=4)),
        move(d + timedelta(days=4), d + timedelta(days=7)),
    ]
    assert slip_of(moves) == Slip(2, 13)
    assert slip_of([move(d, d - timedelta(days=1))]) == Slip(0, 0)


def test_a_rescheduled_plan_shows_as_slipped_in_the_calendar() -> None:
    later = reschedule(
        new_plan(),
        new_date=TARGET + timedelta(days=14),
        reason="certification late",
        actor=OWNER,
        facts=GOOD,
        now=at(1),
    ).plan
    [listed] = calendar([later], today=TODAY)
    assert (listed.slipped, listed.slip) == (True, Slip(1, 14))
    [fresh] = calendar([new_plan()], today=TODAY)
    assert not fresh.slipped


# --- conflicts -----------------------------------------------------------------------------------

MONDAY = date(2030, 4, 1)
SUNDAY = date(2030, 4, 7)


def test_iso_weeks_run_monday_to_sunday_across_years() -> None:
    assert MONDAY.weekday() == 0
    assert iso_week(MONDAY) == iso_week(SUNDAY) == (2030, 14)
    assert iso_week(SUNDAY + timedelta(days=1)) == (2030, 15)
    assert iso_week(date(2029, 12, 31)) == iso_week(date(2030, 1, 6)) == (2030, 1)


def test_the_same_owner_or_product_type_in_the_same_iso_week_conflicts() -> None:
    plans = [
        plan("a", MONDAY, owner="olivia", product_type="kettle"),
        plan("b", SUNDAY, owner="olivia", product_type="toaster"),
        plan("c", SUNDAY, owner="oscar", product_type="kettle"),
        plan("d", SUNDAY, owner="oscar", product_type="blender"),
        plan("e", SUNDAY + timedelta(days=1), owner="olivia", product_type="kettle"),
    ]
    entries = calendar(plans, today=TODAY)
    assert entry(entries, "a").conflicts == (Clash("b", ("owner",)), Clash("c", ("product_type",)))
    assert entry(entries, "b").conflicts == (Clash("a", ("owner",)),)
    assert entry(entries, "c").conflicts == (
        Clash("a", ("product_type",)),
        Clash("d", ("owner",)),
    )
    assert entry(entries, "e").conflicts == ()
    assert not entry(entries, "e").conflict
    both = calendar([plan("x", MONDAY), plan("y", SUNDAY)], today=TODAY)
    assert entry(both, "x").conflicts == (Clash("y", ("owner", "product_type")),)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (ConflictRule(), (Clash("b", ("owner",)), Clash("c", ("product_type",)))),
        (ConflictRule(same_owner=False), (Clash("c", ("product_type",)),)),
        (ConflictRule(same_product_type=False), (Clash("b", ("owner",)),)),
        (ConflictRule(same_owner=False, same_product_type=False), ()),
    ],
)
def test_the_conflict_rule_is_configurable(rule: ConflictRule, expected: tuple[Clash, ...]) -> None:
    plans = [
        plan("a", MONDAY, owner="olivia", product_type="kettle"),
        plan("b", MONDAY, owner="olivia", product_type="toaster"),
        plan("c", MONDAY, owner="oscar", product_type="kettle"),
    ]
    assert entry(calendar(plans, today=TODAY, rule=rule), "a").conflicts == expected


def test_cancelled_plans_and_unknown_product_types_never_conflict() -> None:
    plans = [
        plan("a", MONDAY, owner="olivia", product_type=None),
        plan("b", MONDAY, owner="oscar", product_type=None),
        cancel(plan("c", MONDAY), reason="dropped", actor=OWNER, now=at(0)).plan,
        plan("d", MONDAY, owner="olivia", status=PlanStatus.LAUNCHED, product_type="x"),
    ]
    entries = calendar(plans, today=TODAY)
    assert entry(entries, "a").conflicts == (Clash("d", ("owner",)),)
    assert entry(entries, "b").conflicts == ()
    assert entry(entries, "c").conflicts == ()


# --- the whole calendar --------------------------------------------------------------------------


def test_the_calendar_lists_plans_by_target_date_with_overdue_work() -> None:
    facts = Facts(product(), (price(),), (finding(severity="high"),))
    busy = new_plan(launch_id="busy", facts=facts, target=TODAY + timedelta(days=20))
    busy = accept_improvement(
        busy,
        finding_id="f-1",
        addressee=Addressee.DEVELOPMENT,
        owner="dev-team",
        due_date=TODAY + timedelta(days=1),
        actor=OWNER,
        facts=facts,
        now=at(0),
    ).plan
    busy = add_task(
        busy,
        task_id="teaser",
        title="Teaser video",
        phase=Phase.BEFORE,
        owner="mia",
        offset_days=-19,
        actor=OWNER,
        facts=facts,
        now=at(0),
    ).plan
    early = new_plan(launch_id="early", target=TODAY + timedelta(days=3))
    entries = calendar([busy, early], today=TODAY + timedelta(days=1))
    assert [e.plan.id for e in entries] == ["early", "busy"]
    assert [e.days_left for e in entries] == [2, 19]
    assert [e.behind for e in entries] == [True, False]
    assert (entries[1].overdue_change_requests, entries[1].overdue_tasks) == ((), ())
    later = calendar([busy], today=TODAY + timedelta(days=2))
    assert (later[0].overdue_change_requests, later[0].overdue_tasks) == (("f-1",), ("teaser",))

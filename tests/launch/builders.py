"""Builders for launch's pure domain tests: people, facts, plans and rendered problems.

All times derive from T0, a fixed moment, so no test reads the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from services.launch.domain import plan_launch
from services.launch.events import GateChanged, PlanEvent
from services.launch.evidence import Goals, Money, QaResult
from services.launch.facts import Facts, FindingFacts, PriceFacts, ProductFacts
from services.launch.gates import Document, GateName, GateTemplate, QaKind
from services.launch.improvements import recommended
from services.launch.manual import decline_improvement, record_qa_report, set_goals, sign_off
from services.launch.plan import LaunchPlan, Outcome
from shared.auth import Principal
from shared.errors import DomainError, problem_response

T0 = datetime(2030, 3, 1, 12, tzinfo=UTC)
TODAY = T0.date()
TARGET = date(2030, 4, 1)
LIST = "web-eur"
PRODUCT = "p-1"


def at(days: float = 0, hours: float = 0, microseconds: int = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, microseconds=microseconds)


def person(owner: str, *scopes: str, key: str | None = None) -> Principal:
    return Principal(
        subject=key or f"key-{owner}", name=f"{owner}'s key", scopes=frozenset(scopes), owner=owner
    )


OWNER = person("olivia", "launch:read", "launch:write")
APPROVER = person("alex", "launch:read", "launch:write", "launch:approve")
ADMIN = person("root", "admin")
READER = person("rita", "launch:read")


def product(**changes: Any) -> ProductFacts:
    base = ProductFacts(
        product_id=PRODUCT,
        lifecycle="draft",
        completeness=100,
        product_type="kettle",
        decision="adopt",
    )
    return replace(base, **changes)


def price(**changes: Any) -> PriceFacts:
    base = PriceFacts(
        price_id="price-1",
        price_list=LIST,
        kind="base",
        status="approved",
        valid_from=at(-1),
    )
    return replace(base, **changes)


def finding(**changes: Any) -> FindingFacts:
    base = FindingFacts(
        finding_id="f-1",
        kind="defect",
        severity="critical",
        status="open",
        item_count=3,
        quote="the lid came off and burned my hand",
    )
    return replace(base, **changes)


GOOD = Facts(product(), (price(),), ())
GOALS = Goals(units=500, revenue=Money(Decimal("25000.00"), "EUR"), margin_pct=Decimal("32.5"))
DOC = Document(title="CE declaration", ref="DMS-4711")


def new_plan(
    *,
    facts: Facts = GOOD,
    template: GateTemplate | None = None,
    now: datetime = T0,
    target: date = TARGET,
    launch_id: str = "launch-1",
    actor: Principal = OWNER,
    owner: str | None = None,
) -> LaunchPlan:
    return plan_launch(
        launch_id=launch_id,
        product_id=PRODUCT,
        price_list=LIST,
        target_date=target,
        actor=actor,
        facts=facts,
        now=now,
        owner=owner,
        template=template,
    ).plan


def with_manual_gates_done(
    plan: LaunchPlan, *, facts: Facts = GOOD, now: datetime = T0
) -> LaunchPlan:
    """Every default manual gate passing: goals, every recommended improvement declined,
    sign-offs and a passed QA report of each required kind."""
    plan = set_goals(plan, goals=GOALS, actor=OWNER, facts=facts, now=now).plan
    for improvement in recommended(facts.findings):
        plan = decline_improvement(
            plan,
            finding_id=improvement.finding_id,
            reason="tracked elsewhere",
            actor=OWNER,
            facts=facts,
            now=now,
        ).plan
    for gate in (
        GateName.SPEC_IMPROVEMENTS,
        GateName.BUSINESS_DOCUMENTS,
        GateName.REGULATORY_COMPLIANCE,
        GateName.MARKETING_PLAN,
    ):
        plan = sign_off(
            plan, gate=gate, evidence="reviewed", documents=[DOC], actor=OWNER, facts=facts, now=now
        ).plan
    for kind in plan.qa_kinds:
        plan = record_qa_report(
            plan,
            report_id=f"qa-{kind}",
            kind=kind,
            result=QaResult.PASSED,
            notes="all green",
            actor=OWNER,
            facts=facts,
            now=now,
        ).plan
    return plan


def ready_plan(*, facts: Facts = GOOD, **kwargs: Any) -> LaunchPlan:
    """A plan whose manual gates all pass; ready when `facts` pass the automatic ones."""
    return with_manual_gates_done(new_plan(facts=facts, **kwargs), facts=facts)


def kettle_template() -> GateTemplate:
    return GateTemplate(
        "kettle", ("ce_declaration", "electrical_safety_test"), (QaKind.QA, QaKind.USABILITY)
    )


def types_of(outcome: Outcome) -> list[str]:
    return [type(event).event_type for event in outcome.events]  # type: ignore[attr-defined]


def changed_gates(outcome: Outcome) -> list[str]:
    """The names of the gates the outcome's gate.changed events are about, in order."""
    return [event.gate.name for event in events_of(outcome, GateChanged)]


def events_of(outcome: Outcome, kind: type[PlanEvent]) -> list[Any]:
    return [event for event in outcome.events if isinstance(event, kind)]


def statuses(plan: LaunchPlan) -> dict[str, str]:
    return {gate.name: gate.status.value for gate in plan.gates}


def problem(error: DomainError) -> dict[str, Any]:
    """The error as the HTTP layer renders it: a problem+json body."""
    response = problem_response(
        error.status, error.detail, title=error.title, slug=error.slug, **error.extra
    )
    assert response.media_type == "application/problem+json"
    return orjson.loads(response.body)


@contextmanager
def refused(kind: type[DomainError], status: int, slug: str) -> Iterator[dict[str, Any]]:
    """Expect `kind` with this status and problem type; yields the rendered body to check."""
    body: dict[str, Any] = {}
    with pytest.raises(kind) as caught:
        yield body
    body.update(problem(caught.value))
    assert body["status"] == status
    assert body["type"].endswith("/" + slug)
    assert body["title"]
    assert body["detail"]

"""Feedback rules without I/O: grouping, status, trend, escalation routing, search misses and
user stories."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback.findings.domain import (
    EscalationStatus,
    Finding,
    InvalidTransition,
    Item,
    Route,
    Rule,
    Slas,
    Status,
    close_escalation,
    escalations_for_item,
    needs_critical_escalation,
    normalize_query,
    place,
    quote_of,
    sales_topic,
    transition,
    trend,
)
from services.feedback.findings.stories import StoryItem, user_story
from services.feedback.triage import Category, Severity, TriageResult

T0 = datetime(2025, 5, 1, 12, tzinfo=UTC)
SLAS = Slas(timedelta(hours=4), timedelta(hours=8), timedelta(hours=24))


def dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def result(
    vector: tuple[float, ...],
    category: Category = Category.DEFECT,
    severity: Severity = Severity.HIGH,
    topic: str = "lid",
    hazard: bool = False,
) -> TriageResult:
    norm = dot(vector, vector) ** 0.5
    return TriageResult(
        category=category,
        severity=severity,
        sentiment=-0.5,
        safety_hazard=hazard,
        embedding=tuple(x / norm for x in vector),
        topic=topic,
    )


_ids = itertools.count()


def item(vector, *, product: str = "p1", minutes: int = 0, quote: str = "q", **kw) -> Item:
    return Item(
        event_id=f"e{next(_ids)}",
        product_id=product,
        kind="review",
        quote=quote,
        occurred_at=T0 + timedelta(minutes=minutes),
        result=result(vector, **kw),
    )


def put(it: Item, findings: list[Finding]) -> Finding:
    return place(it, findings, similarity=dot, threshold=0.8, new_id=lambda: f"f{len(findings)}")


def test_similar_items_share_a_finding_and_different_ones_do_not() -> None:
    findings: list[Finding] = []
    first = put(item((1, 0, 0), quote="lid cracked"), findings)
    same = put(item((0.95, 0.2, 0), minutes=5, quote="the lid split"), findings)
    other = put(item((0, 1, 0), quote="cable frays"), findings)
    other_product = put(item((1, 0, 0), product="p2"), findings)
    other_kind = put(item((1, 0, 0), category=Category.PRAISE, severity=Severity.LOW), findings)

    assert same is first
    assert len({id(f) for f in (first, other, other_product, other_kind)}) == 4
    assert first.is_new
    assert (first.item_count, first.new_items) == (2, 2)
    assert (first.first_seen, first.last_seen) == (T0, T0 + timedelta(minutes=5))
    # The centroid moved towards the second item but stays a unit vector.
    assert dot(first.centroid, first.centroid) == pytest.approx(1.0)
    assert first.centroid[1] > 0


def test_severity_is_the_worst_item_and_the_worst_item_speaks_for_the_finding() -> None:
    findings: list[Finding] = []
    finding = put(item((1, 0), severity=Severity.MEDIUM, quote="lid is stiff"), findings)
    finding.is_new = False
    put(item((1, 0.1), severity=Severity.CRITICAL, quote="lid burned my hand"), findings)
    put(item((1, 0.05), severity=Severity.LOW, quote="lid ok-ish"), findings)

    assert finding.severity is Severity.CRITICAL
    assert finding.representative_quote == "lid burned my hand"
    assert finding.changed == {"item_count", "severity"}


def test_a_safety_hazard_is_a_problem_of_its_own() -> None:
    findings: list[Finding] = []
    stiff = put(item((1, 0), severity=Severity.MEDIUM, quote="lid is stiff"), findings)
    burn = put(item((1, 0), severity=Severity.CRITICAL, hazard=True, quote="lid burned"), findings)
    scald = put(item((1, 0.1), severity=Severity.HIGH, hazard=True, quote="lid scalds"), findings)

    assert burn is not stiff
    assert scald is burn
    assert (burn.safety_hazard, stiff.safety_hazard) == (True, False)
    assert (stiff.severity, stiff.item_count) == (Severity.MEDIUM, 1)


def test_new_items_reopen_a_resolved_finding_as_a_regression() -> None:
    findings: list[Finding] = []
    finding = put(item((1, 0)), findings)
    finding.status, finding.is_new = Status.RESOLVED, False
    assert put(item((1, 0)), findings) is finding
    assert finding.status is Status.OPEN
    assert finding.regression is True
    assert {"status", "regression"} <= finding.changed


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (Status.OPEN, Status.ACKNOWLEDGED, True),
        (Status.OPEN, Status.RESOLVED, True),
        (Status.ACKNOWLEDGED, Status.RESOLVED, True),
        (Status.ACKNOWLEDGED, Status.ACKNOWLEDGED, False),
        (Status.RESOLVED, Status.ACKNOWLEDGED, False),
        (Status.RESOLVED, Status.RESOLVED, False),
        (Status.ACKNOWLEDGED, Status.OPEN, False),
    ],
)
def test_status_transitions(current: Status, to: Status, allowed: bool) -> None:
    if allowed:
        assert transition(current, to) is to
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(current, to)
        assert caught.value.status == 409


def test_an_escalation_is_done_once() -> None:
    assert close_escalation(EscalationStatus.OPEN) is EscalationStatus.DONE
    with pytest.raises(InvalidTransition):
        close_escalation(EscalationStatus.DONE)


@pytest.mark.parametrize(
    ("last", "prior", "direction", "average"),
    [
        (0, 0, "quiet", 0),
        (3, 0, "new", 0),
        (5, 14, "rising", 2),
        (2, 14, "steady", 2),
        (0, 14, "falling", 2),
    ],
)
def test_trend(last: int, prior: int, direction: str, average: float) -> None:
    seen = trend(last_24h=last, prior_7d=prior)
    assert (seen.last_24h, seen.daily_average_prior_7d, seen.direction) == (
        last,
        average,
        direction,
    )


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("How much does it cost?", "price"),
        ("Is there a discount if I buy two?", "price"),
        ("When will it be back in stock?", "stock"),
        ("Is the red one available?", "stock"),
        ("Do you sell these in bulk?", "bulk"),
        ("Can I order 50 units for the office?", "bulk"),
        ("Can I get an invoice with our VAT number for my company?", "business"),
        ("Is it dishwasher safe?", None),
        ("Does the lid lock?", None),
    ],
)
def test_sales_topics(text: str, topic: str | None) -> None:
    assert sales_topic(text) == topic


def test_item_escalations() -> None:
    sales = escalations_for_item(
        kind="question",
        category="question",
        text="How much for 100 units?",
        subject=None,
        priority=None,
        slas=SLAS,
    )
    assert [(d.route, d.rule, d.sla) for d in sales] == [
        (Route.SALES, Rule.SALES_QUESTION, timedelta(hours=24))
    ]
    assert "bulk" in sales[0].reason
    urgent = escalations_for_item(
        kind="support_ticket",
        category="defect",
        text="It stopped",
        subject="Dead on arrival",
        priority="urgent",
        slas=SLAS,
    )
    assert [(d.route, d.rule, d.sla) for d in urgent] == [
        (Route.PM, Rule.URGENT_TICKET, timedelta(hours=8))
    ]
    assert "Dead on arrival" in urgent[0].reason
    for quiet in (
        {"kind": "support_ticket", "category": "defect", "priority": "high", "text": "It stopped"},
        {"kind": "question", "category": "question", "priority": None, "text": "Is it safe?"},
        {"kind": "review", "category": "praise", "priority": None, "text": "Great price!"},
    ):
        assert escalations_for_item(subject=None, slas=SLAS, **quiet) == []


def test_a_critical_defect_escalates_once_and_not_when_resolved() -> None:
    findings: list[Finding] = []
    finding = put(item((1, 0), severity=Severity.CRITICAL, hazard=True, topic="lid burn"), findings)
    draft = needs_critical_escalation(finding, has_open=False, slas=SLAS)
    assert draft is not None
    assert (draft.route, draft.rule, draft.sla) == (
        Route.PM,
        Rule.CRITICAL_DEFECT,
        SLAS.critical_defect,
    )
    assert "lid burn" in draft.reason
    assert needs_critical_escalation(finding, has_open=True, slas=SLAS) is None
    finding.status = Status.RESOLVED
    assert needs_critical_escalation(finding, has_open=False, slas=SLAS) is None
    high = put(item((0, 1), severity=Severity.HIGH), findings)
    assert needs_critical_escalation(high, has_open=False, slas=SLAS) is None


def test_search_queries_normalise() -> None:
    assert normalize_query("  Blue   KETTLE!! ") == "blue kettle"
    # Full-width letters (NFKC) are the letters.
    assert normalize_query("\uff42\uff4c\uff55\uff45 kettle") == "blue kettle"
    assert normalize_query("Kettle, blue") != normalize_query("blue kettle")
    assert normalize_query("?!") == ""


def test_quotes_are_cut_on_a_word() -> None:
    assert quote_of(" a  b\n c ") == "a b c"
    long = quote_of("word " * 200)
    assert len(long) <= 500
    assert long.endswith("word…")


def test_user_story_shape() -> None:
    items = [
        StoryItem("review", "The lid gets very hot", "high"),
        StoryItem("review", "the lid gets very hot!", "high"),
        StoryItem("support_ticket", "The lid burned my hand", "critical"),
        StoryItem("review", "Lid too hot to touch", "medium"),
    ]
    story = user_story(
        kind="defect",
        topic="lid heat",
        severity="critical",
        product_name="Kettle 100",
        product_type="kettle",
        items=items,
    )
    assert story.persona == "kettle owner"
    assert story.story == (
        "As a kettle owner, I want the Kettle 100 to be safe to use, without lid heat "
        "problems, so that I can use it without risk of injury or damage."
    )
    # Distinct quotes (case and punctuation aside), most severe first, then a no-regression one.
    assert story.acceptance_criteria == [
        "The problem reported as “The lid burned my hand” no longer occurs",
        "The problem reported as “The lid gets very hot” no longer occurs",
        "The problem reported as “Lid too hot to touch” no longer occurs",
        "No new reports about lid heat arrive after the fix is released",
    ]
    again = user_story(
        kind="defect",
        topic="lid heat",
        severity="critical",
        product_name="Kettle 100",
        product_type="kettle",
        items=items,
    )
    assert again == story


@pytest.mark.parametrize(
    ("kind", "want_has", "persona"),
    [
        ("requirement", "to offer", "shopper considering a product"),
        ("question", "clear information", "shopper considering a product"),
        ("modification_request", "a change to", "shopper considering a product"),
        ("praise", "kept as it is", "shopper considering a product"),
        ("other", "looked into", "shopper considering a product"),
    ],
)
def test_user_story_for_every_kind(kind: str, want_has: str, persona: str) -> None:
    story = user_story(
        kind=kind,
        topic="size",
        severity="low",
        product_name=None,
        product_type=None,
        items=[StoryItem("question", "Is there a bigger size?", "low")] * 3,
    )
    assert story.story.startswith(f"As a {persona}, I want ")
    assert want_has in story.want
    assert len(story.acceptance_criteria) == 1
    assert "“Is there a bigger size?”" in story.acceptance_criteria[0]

"""Gates without I/O: default and template gates, readiness, waivers and the automatic gates
(catalog_complete, price_approved, no_critical_defects) read from projected facts."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from services.launch.facts import (
    QUOTE_IN_DETAIL,
    catalog_complete,
    critical_findings,
    go_live,
    launch_moment,
    no_critical_defects,
    price_approved,
)
from services.launch.gates import (
    AUTOMATIC_GATES,
    DEFAULT_GATES,
    DEFAULT_QA_KINDS,
    MANUAL_GATES,
    Gate,
    GateKind,
    GateName,
    GateStatus,
    QaKind,
    Readiness,
    Reason,
    ReasonCode,
    Waiver,
    blocking,
    check_template,
    initial_gates,
    readiness_of,
    waived_gates,
)
from shared.errors import Invalid
from tests.launch.builders import LIST, PRODUCT, TARGET, at, finding, price, product, refused

PASS, FAIL, PENDING = GateStatus.PASS, GateStatus.FAIL, GateStatus.PENDING
MOMENT = launch_moment(TARGET)
TICK = timedelta(microseconds=1)
# Evaluations happen a month before the target date unless a test says otherwise.
NOW = at()


# --- default and template gates ------------------------------------------------------------------


def test_every_plan_has_the_default_gates_of_the_design() -> None:
    assert dict(DEFAULT_GATES) == {
        "catalog_complete": "auto",
        "price_approved": "auto",
        "no_critical_defects": "auto",
        "spec_improvements": "manual",
        "business_documents": "manual",
        "regulatory_compliance": "manual",
        "qa_signoff": "manual",
        "marketing_plan": "manual",
    }
    assert set(AUTOMATIC_GATES) | set(MANUAL_GATES) == set(GateName)
    assert [(g.name, g.kind, g.status) for g in initial_gates(None)] == [
        (name, kind, PENDING) for name, kind in DEFAULT_GATES.items()
    ]
    assert DEFAULT_QA_KINDS == (QaKind.QA,)


def test_a_template_adds_manual_gates_after_the_defaults_and_names_its_qa_kinds() -> None:
    template = check_template(
        product_type="kettle",
        gates=["ce_declaration", "electrical_safety_test"],
        qa_kinds=["qa", "usability"],
    )
    assert template.qa_kinds == (QaKind.QA, QaKind.USABILITY)
    gates = initial_gates(template)
    assert [g.name for g in gates][-2:] == ["ce_declaration", "electrical_safety_test"]
    assert {g.kind for g in gates[-2:]} == {GateKind.MANUAL}
    assert len(gates) == len(DEFAULT_GATES) + 2


@pytest.mark.parametrize(
    ("gates", "qa_kinds", "field", "message"),
    [
        (["CE"], ["qa"], "gates.0", "snake_case"),
        (["x"], ["qa"], "gates.0", "snake_case"),
        (["1st_check"], ["qa"], "gates.0", "snake_case"),
        (["ok_gate", "has space"], ["qa"], "gates.1", "snake_case"),
        (["qa_signoff"], ["qa"], "gates.0", "default gate"),
        (["ce", "ce"], ["qa"], "gates.1", "listed twice"),
        ([f"gate_{i}" for i in range(21)], ["qa"], "gates", "at most 20"),
        ([], [], "qa_kinds", "at least one"),
        ([], ["qa", "security"], "qa_kinds.1", "is not one of"),
        ([], ["usability", "usability"], "qa_kinds.1", "listed twice"),
    ],
)
def test_a_bad_template_is_refused_naming_the_field(
    gates: list[str], qa_kinds: list[str], field: str, message: str
) -> None:
    with refused(Invalid, 422, "invalid-input") as body:
        check_template(product_type="kettle", gates=gates, qa_kinds=qa_kinds)
    assert body["field"] == field
    assert body["errors"] == [{"loc": ["body", *field.split(".")], "msg": body["errors"][0]["msg"]}]
    assert message in body["detail"]


# --- readiness -----------------------------------------------------------------------------------


def gate(name: str, status: GateStatus, *, waived: bool = False) -> Gate:
    return Gate(name, GateKind.MANUAL, status, waived=waived)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (PASS, PASS, Readiness.READY),
        (PASS, PENDING, Readiness.PENDING),
        (PENDING, PENDING, Readiness.PENDING),
        (PASS, FAIL, Readiness.BLOCKED),
        (PENDING, FAIL, Readiness.BLOCKED),
        (FAIL, FAIL, Readiness.BLOCKED),
    ],
)
def test_readiness_is_blocked_by_any_failure_ready_when_all_pass_else_pending(
    first: GateStatus, second: GateStatus, expected: Readiness
) -> None:
    assert readiness_of([gate("a", first), gate("b", second)]) is expected


@pytest.mark.parametrize(
    ("statuses", "waived", "expected"),
    [
        ((FAIL, PASS), {"a"}, Readiness.READY),
        ((FAIL, PENDING), {"a"}, Readiness.PENDING),
        ((PENDING, PASS), {"a"}, Readiness.READY),
        ((FAIL, FAIL), {"a"}, Readiness.BLOCKED),
        ((FAIL, FAIL), {"a", "b"}, Readiness.READY),
    ],
)
def test_a_waived_gate_counts_as_passing(
    statuses: tuple[GateStatus, GateStatus], waived: set[str], expected: Readiness
) -> None:
    gates = [gate(n, s, waived=n in waived) for n, s in zip("ab", statuses, strict=True)]
    assert readiness_of(gates) is expected
    assert {g.name for g in blocking(gates)} == {
        g.name for g in gates if g.status is not PASS and g.name not in waived
    }


def test_a_waiver_is_live_from_its_creation_until_just_before_its_expiry() -> None:
    waiver = Waiver("w-1", "price_approved", "alex", "supplier late", at(0), at(2))
    assert not waiver.live_at(at(0) - TICK)
    assert waiver.live_at(at(0))
    assert waiver.live_at(at(2) - TICK)
    assert not waiver.live_at(at(2))
    other = Waiver("w-2", "qa_signoff", "alex", "lab booked", at(0), at(1))
    assert waived_gates([waiver, other], at(1) - TICK) == {"price_approved", "qa_signoff"}
    assert waived_gates([waiver, other], at(1)) == {"price_approved"}


def test_a_gate_changes_when_its_status_waiver_or_reason_ids_change_not_their_details() -> None:
    reason = Reason(ReasonCode.CRITICAL_FINDING, "f-1", "3 items", {"item_count": 3})
    before = Gate("no_critical_defects", GateKind.AUTO, FAIL, (reason,))
    more_items = Reason(ReasonCode.CRITICAL_FINDING, "f-1", "4 items", {"item_count": 4})
    assert before.same_state(Gate("no_critical_defects", GateKind.AUTO, FAIL, (more_items,)))
    other = Reason(ReasonCode.CRITICAL_FINDING, "f-2", "1 item")
    assert not before.same_state(Gate("no_critical_defects", GateKind.AUTO, FAIL, (other,)))
    assert not before.same_state(Gate("no_critical_defects", GateKind.AUTO, PASS))
    assert not before.same_state(
        Gate("no_critical_defects", GateKind.AUTO, FAIL, (reason,), waived=True)
    )


# --- catalog_complete ----------------------------------------------------------------------------


def test_a_complete_adopted_product_passes_catalog_complete() -> None:
    assert catalog_complete(product(), product_id=PRODUCT).status is PASS
    assert catalog_complete(product(decision=None), product_id=PRODUCT).status is PASS
    assert catalog_complete(product(decision="defer"), product_id=PRODUCT).status is PASS
    assert catalog_complete(product(lifecycle="active"), product_id=PRODUCT).status is PASS


def test_an_unknown_product_leaves_catalog_complete_pending() -> None:
    result = catalog_complete(None, product_id=PRODUCT)
    assert result.status is PENDING
    assert [r.key for r in result.reasons] == [("product_unknown", PRODUCT)]


def test_each_missing_attribute_is_a_reason_of_its_own() -> None:
    result = catalog_complete(
        product(completeness=60, missing=("voltage", "capacity_l")), product_id=PRODUCT
    )
    assert result.status is FAIL
    assert [r.key for r in result.reasons] == [
        ("missing_attribute", "voltage"),
        ("missing_attribute", "capacity_l"),
    ]
    assert result.reasons[0].data == {"completeness": 60}
    assert result.reasons[0].detail == "voltage is missing (completeness 60%)"


def test_an_incomplete_product_without_named_attributes_still_fails() -> None:
    result = catalog_complete(product(completeness=99), product_id=PRODUCT)
    assert result.status is FAIL
    assert [r.key for r in result.reasons] == [("incomplete", PRODUCT)]


def test_a_rejected_or_discontinued_product_fails_catalog_complete_saying_why() -> None:
    result = catalog_complete(
        product(decision="reject", lifecycle="discontinued", completeness=90, missing=("name",)),
        product_id=PRODUCT,
    )
    assert result.status is FAIL
    assert [r.code for r in result.reasons] == [
        ReasonCode.PRODUCT_DISCONTINUED,
        ReasonCode.DECISION_REJECTED,
        ReasonCode.MISSING_ATTRIBUTE,
    ]


# --- price_approved ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "passes"),
    [
        ("approved", True),
        ("published", True),
        ("proposed", False),
        ("rejected", False),
        ("withdrawn", False),
        ("expired", False),
    ],
)
def test_only_an_approved_or_published_base_price_counts(status: str, passes: bool) -> None:
    result = price_approved([price(status=status)], price_list=LIST, target_date=TARGET, now=NOW)
    assert (result.status is PASS) is passes
    if not passes:
        assert result.reasons[0].key == ("no_price", LIST)


def test_a_promotion_or_a_price_on_another_list_does_not_count() -> None:
    prices = [price(kind="promotion"), price(price_list="shop-usd", price_id="price-2")]
    result = price_approved(prices, price_list=LIST, target_date=TARGET, now=NOW)
    assert result.status is FAIL
    assert [r.key for r in result.reasons] == [("no_price", LIST)]
    assert result.reasons[0].data == {"price_list": LIST, "target_date": TARGET}
    assert f"price list {LIST} has no approved base price valid on {TARGET}" == (
        result.reasons[0].detail
    )


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "passes"),
    [
        (MOMENT, None, True),
        (MOMENT + TICK, None, False),
        (MOMENT - timedelta(days=30), MOMENT, False),
        (MOMENT - timedelta(days=30), MOMENT + TICK, True),
        (MOMENT - timedelta(days=30), MOMENT + timedelta(days=1), True),
    ],
)
def test_the_price_must_be_valid_at_the_start_of_the_target_date(
    valid_from: object, valid_to: object, passes: bool
) -> None:
    candidate = price(valid_from=valid_from, valid_to=valid_to)
    result = price_approved([candidate], price_list=LIST, target_date=TARGET, now=NOW)
    assert (result.status is PASS) is passes
    if not passes:
        assert [r.key for r in result.reasons] == [
            ("no_price", LIST),
            ("price_not_valid", "price-1"),
        ]


def test_the_reason_chain_names_each_candidate_price_and_why_it_does_not_count() -> None:
    prices = [
        price(price_id="late", valid_from=MOMENT + timedelta(days=3)),
        price(price_id="draft", status="proposed"),
        price(price_id="dead", status="rejected"),
    ]
    result = price_approved(prices, price_list=LIST, target_date=TARGET, now=NOW)
    assert [r.key for r in result.reasons] == [
        ("no_price", LIST),
        ("price_not_approved", "draft"),
        ("price_not_valid", "late"),
    ]
    assert result.reasons[1].data == {"status": "proposed"}
    assert result.reasons[2].data["valid_from"] == MOMENT + timedelta(days=3)


def test_the_launch_moment_is_the_start_of_the_target_date_in_utc() -> None:
    assert launch_moment(TARGET).isoformat() == "2030-04-01T00:00:00+00:00"


def test_on_or_after_the_target_date_a_price_counts_from_when_it_takes_effect() -> None:
    # A plan launching today is approved after midnight; so is its price (pricing makes an
    # approval effective when it is given): the price counts once it is in effect.
    morning = MOMENT + timedelta(hours=9)
    approved_this_morning = price(valid_from=morning)
    assert go_live(TARGET, NOW) == MOMENT
    assert go_live(TARGET, morning + TICK) == morning + TICK
    later = price_approved(
        [approved_this_morning], price_list=LIST, target_date=TARGET, now=morning + TICK
    )
    assert later.status is PASS
    before = price_approved(
        [approved_this_morning], price_list=LIST, target_date=TARGET, now=morning - TICK
    )
    assert [r.key for r in before.reasons] == [("no_price", LIST), ("price_not_valid", "price-1")]
    # Before the target date the start of that date still decides.
    assert (
        price_approved([approved_this_morning], price_list=LIST, target_date=TARGET, now=NOW).status
        is FAIL
    )


# --- no_critical_defects -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "status", "passes"),
    [
        ("critical", "open", False),
        ("critical", "acknowledged", False),
        ("critical", "resolved", True),
        ("high", "open", True),
        ("low", "open", True),
    ],
)
def test_an_unresolved_critical_finding_fails_the_gate(
    severity: str, status: str, passes: bool
) -> None:
    result = no_critical_defects([finding(severity=severity, status=status)])
    assert (result.status is PASS) is passes


def test_a_critical_finding_reason_names_its_id_item_count_severity_and_quote() -> None:
    quote = "the lid came off " * 20
    result = no_critical_defects(
        [
            finding(finding_id="f-2", kind="modification_request", quote=quote, item_count=7),
            finding(),
            finding(finding_id="f-3", severity="medium"),
        ]
    )
    assert [r.key for r in result.reasons] == [
        ("critical_finding", "f-1"),
        ("critical_finding", "f-2"),
    ]
    second = result.reasons[1]
    assert second.data == {
        "kind": "modification_request",
        "severity": "critical",
        "status": "open",
        "item_count": 7,
        "quote": quote,
    }
    assert "(7 items)" in second.detail
    # One item is one item ("(1 items)" on the dashboard, before).
    (single,) = no_critical_defects([finding(item_count=1)]).reasons
    assert "(1 item):" in single.detail
    assert len(second.detail) < len(quote) + 80
    assert second.detail.endswith('..."')
    assert len(critical_findings([finding(), finding(status="resolved")])) == 1
    assert QUOTE_IN_DETAIL == 120


def test_the_automatic_gates_pass_on_good_facts_for_every_combination_of_fact_order() -> None:
    good = [price(), price(price_id="older", valid_from=at(-90), valid_to=at(-30))]
    for order in itertools.permutations(good):
        assert price_approved(order, price_list=LIST, target_date=TARGET, now=NOW).status is PASS
    assert no_critical_defects([]).status is PASS

"""The demo store's data holds together (issue 11): no I/O, only the rules the services would
otherwise refuse it by, or that would leave the store without what the demo promises."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from gateway.demo import store
from gateway.demo.simulator import KINDS, Storefront
from gateway.demo.store import LaunchState
from services.catalog.domain import normalize_sku
from services.catalog.questionnaires.domain import check_answer, check_questions
from services.catalog.questionnaires.schemas import QuestionnaireCreate
from services.catalog.research.schemas import CriterionIn
from services.catalog.schemas import ProductCreate, ProductTypeCreate
from services.catalog.variants.schemas import VariantCreate
from services.feedback.ingest.intake import check_batch
from services.launch.gates import check_template
from services.launch.schemas import LaunchUpdate, SignOffIn, TaskIn
from services.pricing.schemas import PriceListCreate


def test_there_are_about_fifty_products_and_every_type_is_used() -> None:
    assert len(store.PRODUCTS) >= 50
    used = Counter(p.product_type for p in store.PRODUCTS)
    assert set(used) == {t.code for t in store.TYPES}
    assert min(used.values()) >= 5


def test_every_sku_is_valid_and_unique_across_products_and_variants() -> None:
    skus = [p.sku for p in store.PRODUCTS] + [v.sku for p in store.PRODUCTS for v in p.variants]
    assert [sku for sku, n in Counter(skus).items() if n > 1] == []
    assert all(normalize_sku(sku) == sku for sku in skus)
    assert all(p.variants for p in store.PRODUCTS)


def test_variants_vary_by_their_types_axis_with_distinct_values() -> None:
    for p in store.PRODUCTS:
        axis = next(t.axis for t in store.TYPES if t.code == p.product_type)
        assert all(set(v.axes) == {axis} for v in p.variants), p.sku
        assert len({v.axes[axis] for v in p.variants}) == len(p.variants), p.sku


def test_products_are_complete_except_the_one_meant_to_block_its_launch() -> None:
    required = {t.code: set(t.required_attributes) for t in store.TYPES}
    incomplete = {
        p.sku
        for p in store.PRODUCTS
        if p.description is None or not required[p.product_type] <= set(p.attributes)
    }
    assert incomplete == {
        p.sku for p, launch in store.launches() if launch.state == LaunchState.BLOCKED_INCOMPLETE
    }


def test_every_launch_state_is_represented_and_planned_products_are_not_on_sale() -> None:
    states = {launch.state for _, launch in store.launches()}
    assert states == set(LaunchState)
    assert {s.readiness for s in states} == {"ready", "blocked", "pending"}
    assert {s.status for s in states} == {"planned", "approved", "launched", "cancelled"}
    on_sale = {p.sku for p in store.on_sale()}
    assert on_sale.isdisjoint(p.sku for p, _ in store.launches())
    # A plan on the web list is for a product not yet sold there; launch moves it to active.
    assert all(
        p.lifecycle == "draft" for p, launch in store.launches() if launch.price_list == store.WEB
    )
    assert all(launch.days_ahead >= 0 for _, launch in store.launches())
    launched = [launch for _, launch in store.launches() if launch.state == LaunchState.LAUNCHED]
    assert [launch.days_ahead for launch in launched] == [0]


def test_prices_keep_the_guardrails_and_leave_proposals_waiting() -> None:
    lists = {pl["code"]: pl for pl in store.PRICE_LISTS}
    prices = store.prices()
    assert len({(p.sku, p.price_list) for p in prices}) == len(prices)
    for price in prices:
        cost = Decimal(store.product(price.sku).cost)
        margin = (Decimal(price.amount) - cost) / Decimal(price.amount) * 100
        minimum = Decimal(lists[price.price_list]["guardrails"]["min_margin_pct"])
        # An approved price keeps its list's minimum margin; a waiting one may break it.
        assert margin >= minimum or not price.approve, price
    waiting = [p for p in prices if not p.approve]
    assert len(waiting) >= 5
    assert any(
        (Decimal(p.amount) - Decimal(store.product(p.sku).cost)) / Decimal(p.amount) * 100
        < Decimal(lists[p.price_list]["guardrails"]["min_margin_pct"])
        for p in waiting
    )


def test_each_launch_gets_the_price_its_state_needs_and_products_on_sale_are_priced() -> None:
    approved = {(p.sku, p.price_list) for p in store.prices() if p.approve}
    proposed = {(p.sku, p.price_list) for p in store.prices() if not p.approve}
    for p, launch in store.launches():
        key = (p.sku, launch.price_list)
        if launch.state.needs_approved_price:
            assert key in approved, key
        elif launch.state == LaunchState.BLOCKED_PRICE:
            assert key in proposed, key
    assert all((p.sku, store.WEB) in approved for p in store.on_sale())


def test_customer_events_are_valid_and_unique_and_name_known_products() -> None:
    now = datetime.now(UTC)
    bodies = [event.body(now, customer="c-1") for event in store.CUSTOMER_EVENTS]
    checked = check_batch(bodies, now=now)
    assert checked.rejected == []
    assert len(checked.valid) == len(bodies)
    assert len({event.event_id for event in store.CUSTOMER_EVENTS}) == len(bodies)
    skus = {p.sku for p in store.PRODUCTS}
    assert all(event.sku in skus for event in store.CUSTOMER_EVENTS if event.sku is not None)


def test_feedback_holds_a_defect_cluster_one_hazard_and_search_misses() -> None:
    by_kind = Counter(event.kind for event in store.CUSTOMER_EVENTS)
    assert by_kind["search_miss"] >= 5
    assert by_kind["purchase"] >= 20
    leaks = [event for event in store.CUSTOMER_EVENTS if event.sku == store.CLUSTER_SKU]
    assert sum(event.fields.get("text") in store.LEAKS for event in leaks) >= 4
    hazard = [event for event in store.CUSTOMER_EVENTS if event.sku == store.HAZARD_SKU]
    assert [event.fields["text"] for event in hazard] == [store.HAZARD_TEXT]


def test_feedback_only_talks_about_products_on_sale_or_the_hazard() -> None:
    # Feedback on a planned product opens improvements that hold its manual gates back.
    allowed = {p.sku for p in store.on_sale()} | {store.HAZARD_SKU}
    named = {event.sku for event in store.CUSTOMER_EVENTS if event.sku is not None}
    assert named <= allowed
    assert store.CLUSTER_SKU in allowed


def test_questionnaire_answers_and_benchmarks_name_products_of_their_type() -> None:
    for sheet in store.QUESTIONNAIRES:
        keys = {q["key"] for q in sheet.questions}
        for sku, answers in sheet.answers.items():
            assert store.product(sku).product_type == sheet.product_type
            assert set(answers) <= keys
            required = {q["key"] for q in sheet.questions if q.get("required")}
            assert required <= set(answers), sku
    for bench in store.BENCHMARKS:
        criteria = {c["name"] for c in store.CRITERIA[bench.product_type]}
        assert set(bench.scores) <= criteria
        assert all(0 <= score <= 10 for score in bench.scores.values())
        assert (bench.sku is None) != (bench.competitor_ref is None)
        if bench.sku is not None:
            assert store.product(bench.sku).product_type == bench.product_type
            assert store.product(bench.sku).brand == bench.brand


def test_the_simulated_storefront_sends_valid_events_about_products_on_sale() -> None:
    now = datetime.now(UTC)
    shop = Storefront(random.Random(7))
    events = [shop.event(now) for _ in range(500)]
    checked = check_batch(events, now=now)
    assert checked.rejected == []
    assert len({event["event_id"] for event in events}) == len(events)
    assert {event["kind"] for event in events} == {kind for kind, _ in KINDS}
    on_sale = {p.sku for p in store.on_sale()}
    assert {event["sku"] for event in events if "sku" in event} <= on_sale


def test_what_the_loader_sends_passes_the_services_own_input_models() -> None:
    for kind in store.TYPES:
        ProductTypeCreate.model_validate(kind.body())
    for p in store.PRODUCTS:
        ProductCreate.model_validate(p.body())
        for variant in p.variants:
            VariantCreate.model_validate(variant.body())
    for price_list in store.PRICE_LISTS:
        PriceListCreate.model_validate(price_list)
    LaunchUpdate.model_validate({"goals": dict(store.GOALS)})
    SignOffIn.model_validate({"evidence": "reviewed", "documents": list(store.DOCUMENTS)})
    for task in store.MARKETING_TASKS:
        TaskIn.model_validate({**task, "owner": store.LAUNCH_MANAGER})
    for code, template in store.GATE_TEMPLATES.items():
        check_template(product_type=code, gates=template["gates"], qa_kinds=template["qa_kinds"])
    for criteria in store.CRITERIA.values():
        for criterion in criteria:
            CriterionIn.model_validate(criterion)
    for sheet in store.QUESTIONNAIRES:
        body = QuestionnaireCreate.model_validate(
            {"title": sheet.title, "product_type": sheet.product_type, "questions": sheet.questions}
        )
        questions = [q.to_domain() for q in body.questions]
        assert check_questions(questions) == []
        by_key = {q.key: q for q in questions}
        for answers in sheet.answers.values():
            for key, value in answers.items():
                check_answer(by_key[key], value)

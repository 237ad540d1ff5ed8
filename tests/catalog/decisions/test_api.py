"""Cases and decisions over HTTP, every error with its problem+json, and their events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.catalog.events import registry
from shared.pagination import encode_cursor
from tests.catalog.conftest import READ, WRITE, make_product, make_type, outbox_events, walk
from tests.support import assert_problem, auth, token

PM = {"Authorization": f"Bearer {token('catalog:read catalog:write', 'key-pm', 'Pat')}"}
MISSING = "0190f0e8-0000-7000-8000-000000000000"


@pytest.fixture
async def product(client: httpx.AsyncClient) -> dict[str, Any]:
    await make_type(client, "kettle", ("color",))
    return await make_product(client)


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stance": "for",
        "summary": "Customers keep asking for a 1.7 l steel kettle.",
        "evidence": [{"url": "https://example.com/search-report", "title": "Search report"}],
    }
    body.update(overrides)
    return body


async def add_case(client: httpx.AsyncClient, product_id: str, **overrides: Any) -> dict[str, Any]:
    resp = await client.post(
        f"/v1/products/{product_id}/cases", json=case_body(**overrides), headers=WRITE
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def decide(
    client: httpx.AsyncClient, product_id: str, outcome: str, rationale: str = "Because."
) -> httpx.Response:
    return await client.post(
        f"/v1/products/{product_id}/decision",
        json={"outcome": outcome, "rationale": rationale},
        headers=PM,
    )


# --- cases -------------------------------------------------------------------------------------


async def test_add_and_read_a_case(client: httpx.AsyncClient, product: dict[str, Any]) -> None:
    url = f"/v1/products/{product['id']}/cases"
    body = case_body(
        summary="  Competitors sell out every winter.  ",
        evidence=[
            {"url": " https://example.com/a ", "title": "  Sales data "},
            {"url": "http://example.org/b"},
            {"url": "https://example.net/c", "title": "   "},
        ],
    )
    resp = await client.post(url, json=body, headers=PM)
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert resp.headers["Location"] == f"{url}/{case['id']}"
    assert case["product_id"] == product["id"]
    assert case["stance"] == "for"
    assert case["summary"] == "Competitors sell out every winter."
    assert case["evidence"] == [
        {"url": "https://example.com/a", "title": "Sales data"},
        {"url": "http://example.org/b", "title": None},
        {"url": "https://example.net/c", "title": None},
    ]
    assert case["author"] == {"subject": "key-pm", "name": "Pat"}
    assert case["created_at"].endswith("Z")

    fetched = await client.get(resp.headers["Location"], headers=READ)
    assert fetched.status_code == 200
    assert fetched.json() == case
    # A case changes nothing on the product itself.
    again = (await client.get(f"/v1/products/{product['id']}", headers=READ)).json()
    assert again == product


async def test_a_case_may_come_without_evidence(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    body = {"stance": "against", "summary": "Margins are thin."}
    resp = await client.post(f"/v1/products/{product['id']}/cases", json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    assert resp.json()["evidence"] == []
    assert resp.json()["author"] == {"subject": "key-test", "name": "tester"}


async def test_list_cases_pages_and_filters_by_stance(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    other = await make_product(client, sku="KT-2")
    await add_case(client, other["id"])
    made = [
        await add_case(client, product["id"], stance="for" if i % 3 else "against", summary=f"{i}")
        for i in range(7)
    ]
    url = f"/v1/products/{product['id']}/cases"
    assert [c["id"] for c in await walk(client, url, limit=3)] == [c["id"] for c in made]
    against = await walk(client, url, limit=1, stance="against")
    assert [c["summary"] for c in against] == ["0", "3", "6"]
    pros = await walk(client, url, limit=2, stance="for")
    assert [c["summary"] for c in pros] == ["1", "2", "4", "5"]
    empty = await make_product(client, sku="KT-3")
    assert await walk(client, f"/v1/products/{empty['id']}/cases") == []


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"stance": "neutral"}, "body.stance"),
        ({"stance": None}, "body.stance"),
        ({"summary": None}, "body.summary"),
        ({"summary": "   "}, "body.summary"),
        ({"summary": "s" * 501}, "body.summary"),
        ({"evidence": "https://example.com"}, "body.evidence"),
        ({"evidence": [{"url": "ftp://example.com/x"}]}, "only http and https"),
        ({"evidence": [{"url": "javascript:alert(1)"}]}, "only http and https"),
        ({"evidence": [{"url": "https://"}]}, "no host"),
        ({"evidence": [{"url": "https://a b.com"}]}, "contains spaces"),
        ({"evidence": [{"title": "no url"}]}, "body.evidence.0.url"),
        ({"evidence": [{"url": "https://a.example", "title": "t" * 201}]}, "body.evidence"),
        ({"evidence": [{"url": "https://a.example", "rank": 1}]}, "body.evidence.0.rank"),
        ({"evidence": [{"url": "https://a.example/" + "p" * 2100}]}, "body.evidence.0.url"),
        (
            {"evidence": [{"url": "https://a.example"}, {"url": "https://a.example"}]},
            "listed twice",
        ),
        ({"evidence": [{"url": f"https://a.example/{i}"} for i in range(21)]}, "body.evidence"),
        ({"author": "someone else"}, "body.author: Extra inputs"),
    ],
)
async def test_invalid_cases_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], overrides: dict[str, Any], detail: str
) -> None:
    body = {k: v for k, v in case_body(**overrides).items() if v is not None}
    url = f"/v1/products/{product['id']}/cases"
    problem = assert_problem(
        await client.post(url, json=body, headers=WRITE), 422, detail_has=detail
    )
    assert problem["errors"]
    assert await walk(client, url) == []


async def test_twenty_evidence_links_are_accepted(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    links = [{"url": f"https://a.example/{i}"} for i in range(20)]
    case = await add_case(client, product["id"], evidence=links)
    assert len(case["evidence"]) == 20


async def test_case_errors_on_unknown_things(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    resp = await client.post(f"/v1/products/{MISSING}/cases", json=case_body(), headers=WRITE)
    assert_problem(resp, 404, detail_has="no product with id")
    assert_problem(await client.get(f"/v1/products/{MISSING}/cases", headers=READ), 404)
    assert_problem(await client.get(f"/v1/products/{MISSING}/cases/x", headers=READ), 404)
    case = await add_case(client, product["id"])
    other = await make_product(client, sku="KT-2")
    # A case is only found under its own product.
    resp = await client.get(f"/v1/products/{other['id']}/cases/{case['id']}", headers=READ)
    assert_problem(resp, 404, detail_has="has no case with id")


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"stance": "neutral"}, "query.stance"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"cursor": "!!"}, "cursor is malformed"),
        ({"cursor": encode_cursor([1])}, "cursor is malformed"),
    ],
)
async def test_invalid_case_queries_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], params: dict[str, Any], detail: str
) -> None:
    resp = await client.get(f"/v1/products/{product['id']}/cases", params=params, headers=READ)
    assert_problem(resp, 422, detail_has=detail)


async def test_idempotent_case_replays(client: httpx.AsyncClient, product: dict[str, Any]) -> None:
    url = f"/v1/products/{product['id']}/cases"
    headers = {**WRITE, "Idempotency-Key": "case-1"}
    first = await client.post(url, json=case_body(), headers=headers)
    again = await client.post(url, json=case_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await walk(client, url)) == 1
    changed = await client.post(url, json=case_body(summary="Other"), headers=headers)
    assert_problem(changed, 422, detail_has="different request body")


# --- decisions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["adopt", "reject"])
async def test_adopt_or_reject_needs_a_case(
    client: httpx.AsyncClient, product: dict[str, Any], outcome: str
) -> None:
    problem = assert_problem(
        await decide(client, product["id"], outcome),
        409,
        detail_has=f"cannot {outcome} a product without a case",
    )
    assert problem["outcome"] == outcome
    assert problem["cases_for"] == problem["cases_against"] == 0
    current = await client.get(f"/v1/products/{product['id']}/decision", headers=READ)
    assert_problem(current, 404, detail_has="no decision has been recorded")


async def test_defer_needs_no_case(client: httpx.AsyncClient, product: dict[str, Any]) -> None:
    resp = await decide(client, product["id"], "defer", "Not enough research yet.")
    assert resp.status_code == 201, resp.text
    assert resp.json()["outcome"] == "defer"
    assert resp.json()["cases_for"] == resp.json()["cases_against"] == 0


async def test_decisions_are_a_history_and_the_latest_is_current(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    pid = product["id"]
    await add_case(client, pid, stance="for")
    await add_case(client, pid, stance="against")
    await add_case(client, pid, stance="against")
    resp = await decide(client, pid, "reject", "  Two strong cases against.  ")
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"] == f"/v1/products/{pid}/decision"
    rejected = resp.json()
    assert rejected["product_id"] == pid
    assert rejected["number"] == 1
    assert rejected["outcome"] == "reject"
    assert rejected["rationale"] == "Two strong cases against."
    assert rejected["decided_by"] == {"subject": "key-pm", "name": "Pat"}
    assert rejected["decided_at"].endswith("Z")
    assert (rejected["cases_for"], rejected["cases_against"]) == (1, 2)
    assert (await client.get(f"/v1/products/{pid}/decision", headers=READ)).json() == rejected

    await add_case(client, pid, stance="for")
    adopted = (await decide(client, pid, "adopt", "New data.")).json()
    assert adopted["number"] == 2
    assert (adopted["cases_for"], adopted["cases_against"]) == (2, 2)
    deferred = (await decide(client, pid, "defer", "Wait for Q3.")).json()
    assert deferred["number"] == 3
    assert (await client.get(f"/v1/products/{pid}/decision", headers=READ)).json() == deferred

    history = await walk(client, f"/v1/products/{pid}/decisions", limit=2)
    assert history == [deferred, adopted, rejected]
    # A decision changes nothing on the product itself.
    assert (await client.get(f"/v1/products/{pid}", headers=READ)).json() == product
    other = await make_product(client, sku="KT-2")
    assert await walk(client, f"/v1/products/{other['id']}/decisions") == []


async def test_concurrent_decisions_get_distinct_numbers(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    await add_case(client, product["id"])
    responses = await asyncio.gather(
        *(decide(client, product["id"], "defer", f"Take {i}") for i in range(6))
    )
    assert [r.status_code for r in responses] == [201] * 6
    assert sorted(r.json()["number"] for r in responses) == [1, 2, 3, 4, 5, 6]
    history = await walk(client, f"/v1/products/{product['id']}/decisions")
    assert [d["number"] for d in history] == [6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"outcome": "maybe", "rationale": "x"}, "body.outcome"),
        ({"rationale": "x"}, "body.outcome"),
        ({"outcome": "adopt"}, "body.rationale"),
        ({"outcome": "adopt", "rationale": "  "}, "body.rationale"),
        ({"outcome": "adopt", "rationale": "r" * 2001}, "body.rationale"),
        ({"outcome": "adopt", "rationale": "x", "decided_by": "me"}, "body.decided_by"),
    ],
)
async def test_invalid_decisions_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], body: dict[str, Any], detail: str
) -> None:
    await add_case(client, product["id"])
    resp = await client.post(f"/v1/products/{product['id']}/decision", json=body, headers=WRITE)
    assert_problem(resp, 422, detail_has=detail)
    assert await walk(client, f"/v1/products/{product['id']}/decisions") == []


async def test_rationale_of_2000_characters_is_accepted(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    resp = await decide(client, product["id"], "defer", "r" * 2000)
    assert resp.status_code == 201, resp.text


async def test_decision_errors_on_unknown_product(client: httpx.AsyncClient) -> None:
    assert_problem(await decide(client, MISSING, "defer"), 404, detail_has="no product with id")
    resp = await client.get(f"/v1/products/{MISSING}/decision", headers=READ)
    assert_problem(resp, 404, detail_has="no product with id")
    resp = await client.get(f"/v1/products/{MISSING}/decisions", headers=READ)
    assert_problem(resp, 404, detail_has="no product with id")


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": 0}, "query.limit"),
        ({"cursor": encode_cursor(["x"])}, "cursor is malformed"),
        ({"cursor": encode_cursor([True])}, "cursor is malformed"),
    ],
)
async def test_invalid_decision_queries_are_rejected(
    client: httpx.AsyncClient, product: dict[str, Any], params: dict[str, Any], detail: str
) -> None:
    url = f"/v1/products/{product['id']}/decisions"
    assert_problem(await client.get(url, params=params, headers=READ), 422, detail_has=detail)


async def test_idempotent_decision_replays(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    url = f"/v1/products/{product['id']}/decision"
    headers = {**WRITE, "Idempotency-Key": "decide-1"}
    body = {"outcome": "defer", "rationale": "Later."}
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(await walk(client, f"/v1/products/{product['id']}/decisions")) == 1


# --- a rejected product cannot become active ---------------------------------------------------


async def test_a_rejected_product_cannot_move_to_active(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    pid = product["id"]
    lifecycle = f"/v1/products/{pid}/lifecycle"
    await add_case(client, pid, stance="against")
    rejected = (await decide(client, pid, "reject", "Unsafe lid.")).json()
    # Other moves stay open.
    moved = await client.post(lifecycle, json={"to": "incoming"}, headers=WRITE)
    assert moved.status_code == 200, moved.text

    resp = await client.post(lifecycle, json={"to": "active"}, headers=WRITE)
    problem = assert_problem(resp, 409, detail_has="the product was rejected by Pat")
    assert "'Unsafe lid.'" in problem["detail"]
    assert problem["decision"] == {
        "outcome": "reject",
        "rationale": "Unsafe lid.",
        "decided_by": {"subject": "key-pm", "name": "Pat"},
        "decided_at": rejected["decided_at"],
    }
    fetched = (await client.get(f"/v1/products/{pid}", headers=READ)).json()
    assert fetched["lifecycle"] == "incoming"
    assert fetched["version"] == moved.json()["version"]

    # An invalid transition is still reported as such, not as the decision.
    draft = await make_product(client, sku="KT-2")
    await add_case(client, draft["id"])
    await decide(client, draft["id"], "reject")
    resp = await client.post(
        f"/v1/products/{draft['id']}/lifecycle", json={"to": "active"}, headers=WRITE
    )
    assert_problem(resp, 409, detail_has="from draft to active")

    # A later adoption lifts the block.
    assert (await decide(client, pid, "adopt", "Lid fixed.")).status_code == 201
    resp = await client.post(lifecycle, json={"to": "active"}, headers=WRITE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["lifecycle"] == "active"


@pytest.mark.parametrize("outcome", ["adopt", "defer"])
async def test_other_decisions_do_not_block_activation(
    client: httpx.AsyncClient, product: dict[str, Any], outcome: str
) -> None:
    pid = product["id"]
    await add_case(client, pid)
    await decide(client, pid, "reject")
    await decide(client, pid, outcome)
    lifecycle = f"/v1/products/{pid}/lifecycle"
    assert (await client.post(lifecycle, json={"to": "incoming"}, headers=WRITE)).is_success
    resp = await client.post(lifecycle, json={"to": "active"}, headers=WRITE)
    assert resp.status_code == 200, resp.text


async def test_a_rejected_product_can_still_be_discontinued(
    client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    await add_case(client, product["id"])
    await decide(client, product["id"], "reject")
    resp = await client.post(
        f"/v1/products/{product['id']}/lifecycle", json={"to": "discontinued"}, headers=WRITE
    )
    assert resp.status_code == 200, resp.text


# --- events ------------------------------------------------------------------------------------


async def test_cases_and_decisions_write_their_events(
    app: FastAPI, client: httpx.AsyncClient, product: dict[str, Any]
) -> None:
    pid = product["id"]
    case = await add_case(client, pid, stance="against")
    assert (await decide(client, product["id"], "reject", "No.")).status_code == 201
    # Refused: no events.
    assert_problem(await decide(client, MISSING, "reject"), 404)
    lifecycle = f"/v1/products/{pid}/lifecycle"
    assert (await client.post(lifecycle, json={"to": "incoming"}, headers=WRITE)).is_success
    assert_problem(await client.post(lifecycle, json={"to": "active"}, headers=WRITE), 409)

    events = [e for e in await outbox_events(app) if e.type.split(".")[1] in {"case", "decision"}]
    assert [e.type for e in events] == ["catalog.case.added.v1", "catalog.decision.recorded.v1"]
    for event in events:
        assert event.source == "/catalog"
        assert event.subject == pid
        # Not the product's version: cases and decisions leave the product alone.
        assert event.sequence is None
        assert event.type in registry
        registry.payload(event)
    added, recorded = events
    assert added.data == {
        "case_id": case["id"],
        "product_id": pid,
        "stance": "against",
        "summary": case["summary"],
        "evidence": case["evidence"],
        "author": {"subject": "key-test", "name": "tester"},
        "created_at": case["created_at"],
    }
    current = (await client.get(f"/v1/products/{pid}/decision", headers=READ)).json()
    assert recorded.data == {
        "decision_id": current["id"],
        "product_id": pid,
        "number": 1,
        "outcome": "reject",
        "rationale": "No.",
        "decided_by": {"subject": "key-pm", "name": "Pat"},
        "decided_at": current["decided_at"],
        "cases_for": 0,
        "cases_against": 1,
    }


# --- auth --------------------------------------------------------------------------------------

ROUTES = [
    ("GET", "/v1/products/p1/cases", None, "catalog:read"),
    ("GET", "/v1/products/p1/cases/c1", None, "catalog:read"),
    ("POST", "/v1/products/p1/cases", case_body(), "catalog:write"),
    ("GET", "/v1/products/p1/decision", None, "catalog:read"),
    ("GET", "/v1/products/p1/decisions", None, "catalog:read"),
    ("POST", "/v1/products/p1/decision", {"outcome": "defer", "rationale": "x"}, "catalog:write"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
async def test_every_route_checks_the_caller(
    client: httpx.AsyncClient, method: str, path: str, body: Any, scope: str
) -> None:
    async def call(headers: dict[str, str] | None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=headers)

    assert_problem(await call(None), 401, detail_has="Authorization: Bearer")
    other = "catalog:write" if scope == "catalog:read" else "catalog:read"
    problem = assert_problem(await call(auth(other)), 403, detail_has=scope)
    assert problem["required_scope"] == scope
    # Past auth, the product p1 does not exist.
    assert_problem(await call(auth("admin")), 404, detail_has="'p1'")

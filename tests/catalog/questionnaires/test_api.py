"""Vendor questionnaires over HTTP: templates, responses, product view, promotion, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.catalog.events import registry
from shared.events import decode
from shared.pagination import encode_cursor
from shared.tables import outbox
from tests.catalog.conftest import READ, WRITE, make_product, make_type
from tests.support import assert_problem, auth

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "model_name",
        "text": "Model name?",
        "type": "text",
        "required": True,
        "attribute": "model",
    },
    {
        "key": "capacity",
        "text": "Capacity?",
        "type": "number",
        "unit": "l",
        "required": True,
        "attribute": "capacity_l",
    },
    {"key": "cordless", "text": "Cordless?", "type": "yes_no"},
    {
        "key": "colour",
        "text": "Colour?",
        "type": "single_choice",
        "choices": ["red", "black", "steel"],
        "attribute": "color",
    },
    {
        "key": "features",
        "text": "Features?",
        "type": "multiple_choice",
        "choices": ["timer", "keep_warm", "filter"],
    },
]
FULL = {
    "model_name": "Boil 9",
    "capacity": 1.7,
    "cordless": True,
    "colour": "black",
    "features": ["filter", "timer"],
}
MISSING = "0190f0e8-0000-7000-8000-000000000000"


@pytest.fixture
async def kettle(client: httpx.AsyncClient) -> dict[str, Any]:
    """A kettle product (color silver, capacity_l missing) and a kettle questionnaire."""
    await make_type(client, "kettle", ("color", "capacity_l"))
    product = await make_product(client)
    template = await create_template(client, product_type="kettle")
    return {"product": product, "template": template}


async def create_template(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = {"title": "Kettle supplier survey", "questions": QUESTIONS, **overrides}
    resp = await client.post("/v1/questionnaires", json=body, headers=WRITE)
    assert resp.status_code == 201, resp.text
    return resp.json()


def vendor(name: str = "Acme Supply") -> dict[str, str]:
    """A key of the vendor's own: a response is its key owner's."""
    return auth("catalog:read catalog:write", subject=f"key-{name}", owner=name)


ACME = vendor()


async def respond(
    client: httpx.AsyncClient, kettle: dict[str, Any], **overrides: Any
) -> httpx.Response:
    body = {"vendor": "Acme Supply", "product_id": kettle["product"]["id"], "answers": FULL}
    body.update(overrides)
    return await client.post(
        f"/v1/questionnaires/{kettle['template']['id']}/responses",
        json=body,
        headers=vendor(body["vendor"]),
    )


async def outbox_events(app: FastAPI) -> list[Any]:
    async with app.state.runtime.db.reader() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.seq))).all()
    return [decode(row.payload) for row in rows]


# --- templates ---------------------------------------------------------------------------------


async def test_create_and_read_a_template(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/v1/questionnaires",
        json={"title": " Survey ", "questions": QUESTIONS},
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["Location"] == f"/v1/questionnaires/{created['id']}"
    assert created["title"] == "Survey"
    assert created["product_type"] is None
    assert created["created_by"] == {"subject": "key-test", "name": "tester"}
    assert created["questions"][0] == {
        "key": "model_name",
        "text": "Model name?",
        "type": "text",
        "unit": None,
        "choices": None,
        "required": True,
        "attribute": "model",
    }
    assert created["questions"][1]["unit"] == "l"
    assert created["questions"][2]["required"] is False
    assert created["questions"][4]["choices"] == ["timer", "keep_warm", "filter"]
    fetched = await client.get(resp.headers["Location"], headers=READ)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_templates_list_by_product_type(client: httpx.AsyncClient) -> None:
    await make_type(client, "kettle", ())
    made = [await create_template(client, title=f"T{i}") for i in range(3)]
    made.append(await create_template(client, title="Kettles", product_type="kettle"))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/questionnaires", params=params, headers=READ)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [t["id"] for t in made]
    kettles = await client.get(
        "/v1/questionnaires", params={"product_type": "kettle"}, headers=READ
    )
    assert [t["title"] for t in kettles.json()["items"]] == ["Kettles"]
    bad = await client.get(
        "/v1/questionnaires", params={"cursor": encode_cursor([3])}, headers=READ
    )
    assert_problem(bad, 422, detail_has="cursor is malformed")


def _with(index: int, **changes: Any) -> list[dict[str, Any]]:
    questions = [dict(q) for q in QUESTIONS]
    questions[index] = {**questions[index], **changes}
    return questions


@pytest.mark.parametrize(
    ("body", "loc", "msg"),
    [
        ({"questions": _with(0, unit="chars")}, ["body", "questions", "0", "unit"], "only number"),
        (
            {"questions": _with(3, choices=["red"])},
            ["body", "questions", "3", "choices"],
            "at least 2",
        ),
        (
            {"questions": _with(3, choices=["red", "red"])},
            ["body", "questions", "3", "choices", "1"],
            "duplicate choice",
        ),
        (
            {"questions": _with(2, choices=["a", "b"])},
            ["body", "questions", "2", "choices"],
            "no choices",
        ),
        ({"questions": _with(1, key="model_name")}, ["body", "questions", "1", "key"], "duplicate"),
        ({"questions": _with(1, key="Cap")}, ["body", "questions", "1", "key"], "invalid key"),
        (
            {"questions": _with(2, attribute="model")},
            ["body", "questions", "2", "attribute"],
            "mapped",
        ),
        (
            {"questions": _with(2, type="date")},
            ["body", "questions", "2", "type"],
            "Input should be",
        ),
        ({"questions": _with(2, text=" ")}, ["body", "questions", "2", "text"], "at least 1"),
        ({"questions": _with(2, hint="x")}, ["body", "questions", "2", "hint"], "Extra inputs"),
        ({"questions": []}, ["body", "questions"], "at least one question"),
        ({"product_type": "nope"}, ["body", "product_type"], "unknown product type"),
        ({"title": ""}, ["body", "title"], "at least 1"),
        ({"version": 2}, ["body", "version"], "Extra inputs"),
    ],
)
async def test_invalid_templates_are_refused_with_their_location(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[Any], msg: str
) -> None:
    payload = {"title": "Survey", "questions": QUESTIONS, **body}
    resp = await client.post("/v1/questionnaires", json=payload, headers=WRITE)
    problem = assert_problem(resp, 422)
    assert problem["errors"][0]["loc"] == loc
    assert msg in problem["errors"][0]["msg"]
    assert (await client.get("/v1/questionnaires", headers=READ)).json()["items"] == []


async def test_template_errors_and_idempotency(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"/v1/questionnaires/{MISSING}", headers=READ), 404)
    headers = {**WRITE, "Idempotency-Key": "q-1"}
    body = {"title": "Survey", "questions": QUESTIONS}
    first = await client.post("/v1/questionnaires", json=body, headers=headers)
    again = await client.post("/v1/questionnaires", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/v1/questionnaires", json={**body, "title": "X"}, headers=headers)
    assert_problem(other, 422, detail_has="different request body")


# --- responses ---------------------------------------------------------------------------------


async def test_submit_a_complete_response(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    resp = await respond(client, kettle)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["Location"] == f"/v1/questionnaire-responses/{created['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert created["status"] == "submitted"
    assert created["vendor"] == "Acme Supply"
    assert created["product_id"] == kettle["product"]["id"]
    assert created["questionnaire_id"] == kettle["template"]["id"]
    # Multiple choices are kept in the template's order.
    assert created["answers"] == {**FULL, "features": ["timer", "filter"]}
    assert created["completion"] == {
        "required_answered": 2,
        "required_total": 2,
        "required_percent": 100,
        "answered": 5,
        "total": 5,
        "overall_percent": 100,
        "complete": True,
    }
    assert created["submitted_at"] == created["created_at"]
    fetched = await client.get(resp.headers["Location"], headers=READ)
    assert fetched.json() == created
    assert fetched.headers["ETag"] == '"1"'


async def test_every_wrong_answer_is_reported_by_key(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    resp = await respond(
        client,
        kettle,
        answers={
            "capacity": "1.7 l",
            "cordless": "yes",
            "colour": "blue",
            "features": ["timer", "wifi"],
            "wattage": 2000,
        },
    )
    problem = assert_problem(resp, 422, detail_has="answers.capacity: expected a number (in l)")
    assert [(e["loc"], e["msg"]) for e in problem["errors"]] == [
        (["body", "answers", "capacity"], "expected a number (in l)"),
        (["body", "answers", "cordless"], "expected true or false"),
        (["body", "answers", "colour"], "'blue' is not a choice; choices: red, black, steel"),
        (
            ["body", "answers", "features"],
            "'wifi' is not a choice; choices: timer, keep_warm, filter",
        ),
        (["body", "answers", "wattage"], "no question with key 'wattage'"),
        (["body", "answers", "model_name"], "a required question must be answered to submit"),
    ]
    assert (
        await client.get(f"/v1/questionnaires/{kettle['template']['id']}/responses", headers=READ)
    ).json()["items"] == []


@pytest.mark.parametrize(
    ("answers", "key", "msg"),
    [
        ({**FULL, "model_name": 9}, "model_name", "expected text"),
        ({**FULL, "model_name": "  "}, "model_name", "cannot be blank"),
        ({**FULL, "capacity": True}, "capacity", "expected a number"),
        ({**FULL, "cordless": 1}, "cordless", "expected true or false"),
        ({**FULL, "colour": ["red"]}, "colour", "expected one of"),
        ({**FULL, "features": []}, "features", "choose at least one"),
        ({**FULL, "features": ["timer", "timer"]}, "features", "listed twice"),
        ({**FULL, "capacity": None}, "capacity", "required question"),
    ],
)
async def test_each_rejection_reason(
    client: httpx.AsyncClient, kettle: dict[str, Any], answers: dict[str, Any], key: str, msg: str
) -> None:
    problem = assert_problem(await respond(client, kettle, answers=answers), 422)
    assert problem["errors"] == [
        {"loc": ["body", "answers", key], "msg": problem["errors"][0]["msg"]}
    ]
    assert msg in problem["errors"][0]["msg"]


async def test_a_draft_may_leave_required_questions_open(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    resp = await respond(
        client, kettle, answers={"cordless": False, "colour": None}, status="draft"
    )
    assert resp.status_code == 201, resp.text
    draft = resp.json()
    assert draft["status"] == "draft"
    assert draft["answers"] == {"cordless": False}
    assert draft["submitted_at"] is None
    assert draft["completion"] == {
        "required_answered": 0,
        "required_total": 2,
        "required_percent": 0,
        "answered": 1,
        "total": 5,
        "overall_percent": 20,
        "complete": False,
    }
    # A draft still refuses wrong answers.
    bad = await respond(client, kettle, vendor="Other", answers={"cordless": "no"}, status="draft")
    assert_problem(bad, 422, detail_has="answers.cordless")


async def test_responses_name_a_product_of_the_type(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    problem = assert_problem(await respond(client, kettle, product_id=MISSING), 422)
    assert problem["errors"][0] == {
        "loc": ["body", "product_id"],
        "msg": f"no product with id {MISSING!r}",
    }
    await make_type(client, "toaster", ())
    toaster = await make_product(client, sku="TS-1", product_type="toaster", attributes={})
    problem = assert_problem(await respond(client, kettle, product_id=toaster["id"]), 422)
    assert problem["errors"][0]["loc"] == ["body", "product_id"]
    assert "for 'kettle' products" in problem["errors"][0]["msg"]
    # A template without a product type takes any product.
    anything = await create_template(client)
    resp = await client.post(
        f"/v1/questionnaires/{anything['id']}/responses",
        json={"product_id": toaster["id"], "answers": FULL},
        headers=WRITE,
    )
    assert resp.status_code == 201, resp.text


async def test_one_response_per_vendor_and_product(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    first = (await respond(client, kettle)).json()
    problem = assert_problem(await respond(client, kettle), 409, detail_has="PATCH that response")
    assert problem["response_id"] == first["id"]
    assert (await respond(client, kettle, vendor="Other Co")).status_code == 201


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"vendor": ""}, ["body", "vendor"]),
        ({"vendor": "   "}, ["body", "vendor"]),
        ({"product_id": None}, ["body", "product_id"]),
        ({"answers": ["x"]}, ["body", "answers"]),
        ({"status": "final"}, ["body", "status"]),
        ({"version": 3}, ["body", "version"]),
    ],
)
async def test_malformed_responses_are_refused(
    client: httpx.AsyncClient, kettle: dict[str, Any], body: dict[str, Any], loc: list[str]
) -> None:
    problem = assert_problem(await respond(client, kettle, **body), 422)
    assert problem["errors"][0]["loc"] == loc


async def test_response_errors(client: httpx.AsyncClient, kettle: dict[str, Any]) -> None:
    resp = await client.post(
        f"/v1/questionnaires/{MISSING}/responses",
        json={"product_id": kettle["product"]["id"], "answers": FULL},
        headers=WRITE,
    )
    assert_problem(resp, 404, detail_has="no questionnaire")
    assert_problem(await client.get(f"/v1/questionnaires/{MISSING}/responses", headers=READ), 404)
    assert_problem(
        await client.get(f"/v1/questionnaire-responses/{MISSING}", headers=READ),
        404,
        detail_has="no questionnaire response",
    )


async def test_responses_list_with_filters(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    other = await make_product(client, sku="KT-2", attributes={})
    made = [
        (await respond(client, kettle, vendor="A")).json(),
        (await respond(client, kettle, vendor="B", answers={}, status="draft")).json(),
        (await respond(client, kettle, vendor="A", product_id=other["id"])).json(),
    ]
    url = f"/v1/questionnaires/{kettle['template']['id']}/responses"

    async def ids(**params: Any) -> list[str]:
        resp = await client.get(url, params=params, headers=READ)
        assert resp.status_code == 200, resp.text
        return [item["id"] for item in resp.json()["items"]]

    assert await ids() == [r["id"] for r in made]
    assert await ids(vendor="A") == [made[0]["id"], made[2]["id"]]
    assert await ids(status="draft") == [made[1]["id"]]
    assert await ids(product_id=other["id"]) == [made[2]["id"]]
    page = (await client.get(url, params={"limit": 2}, headers=READ)).json()
    assert [item["id"] for item in page["items"]] == [made[0]["id"], made[1]["id"]]
    rest = (await client.get(url, params={"cursor": page["next_cursor"]}, headers=READ)).json()
    assert [item["id"] for item in rest["items"]] == [made[2]["id"]]
    assert rest["next_cursor"] is None
    assert page["items"][1]["completion"]["required_answered"] == 0
    assert_problem(await client.get(url, params={"status": "x"}, headers=READ), 422)


# --- completing a response later ---------------------------------------------------------------


async def test_patch_completes_a_draft(client: httpx.AsyncClient, kettle: dict[str, Any]) -> None:
    draft = (await respond(client, kettle, answers={"cordless": True}, status="draft")).json()
    url = f"/v1/questionnaire-responses/{draft['id']}"

    resp = await client.patch(
        url, json={"answers": {"model_name": "Boil 9"}}, headers={**ACME, "If-Match": '"1"'}
    )
    assert resp.status_code == 200, resp.text
    step = resp.json()
    assert resp.headers["ETag"] == '"2"'
    assert step["status"] == "draft"
    assert step["answers"] == {"cordless": True, "model_name": "Boil 9"}
    assert step["completion"]["required_answered"] == 1

    # Submitting without every required answer is refused, by key.
    resp = await client.patch(url, json={"status": "submitted"}, headers=ACME)
    problem = assert_problem(resp, 422, detail_has="answers.capacity")
    assert problem["errors"] == [
        {
            "loc": ["body", "answers", "capacity"],
            "msg": "a required question must be answered to submit",
        }
    ]

    resp = await client.patch(
        url,
        json={"answers": {"capacity": 1.5, "cordless": None}, "status": "submitted"},
        headers={**ACME, "If-Match": "2"},
    )
    assert resp.status_code == 200, resp.text
    done = resp.json()
    assert done["status"] == "submitted"
    assert done["version"] == 3
    assert done["answers"] == {"model_name": "Boil 9", "capacity": 1.5}
    assert done["submitted_at"] is not None
    assert done["completion"]["complete"] is True
    assert (await client.get(url, headers=READ)).json() == done


async def test_patch_rules(client: httpx.AsyncClient, kettle: dict[str, Any]) -> None:
    submitted = (await respond(client, kettle)).json()
    url = f"/v1/questionnaire-responses/{submitted['id']}"

    stale = await client.patch(
        url, json={"answers": {"cordless": False}}, headers={**ACME, "If-Match": "7"}
    )
    assert assert_problem(stale, 412, detail_has="version 1, not 7")["current_version"] == 1
    back = await client.patch(url, json={"status": "draft"}, headers=ACME)
    assert_problem(back, 409, detail_has="cannot go back to draft")
    cleared = await client.patch(url, json={"answers": {"model_name": None}}, headers=ACME)
    problem = assert_problem(cleared, 422, detail_has="answers.model_name")
    assert problem["errors"][0]["msg"] == "a required question must be answered to submit"
    wrong = await client.patch(url, json={"answers": {"colour": "pink", "nope": 1}}, headers=ACME)
    problem = assert_problem(wrong, 422)
    assert [e["loc"] for e in problem["errors"]] == [
        ["body", "answers", "colour"],
        ["body", "answers", "nope"],
    ]
    for body in ({"vendor": "Else"}, {"product_id": MISSING}, {"answers": "x"}):
        assert_problem(await client.patch(url, json=body, headers=ACME), 422)
    assert_problem(
        await client.patch(url, json={}, headers={**ACME, "If-Match": "one"}),
        422,
        detail_has="If-Match",
    )
    assert_problem(
        await client.patch(f"/v1/questionnaire-responses/{MISSING}", json={}, headers=ACME), 404
    )
    # Nothing above changed it; an edit that changes nothing bumps nothing.
    same = await client.patch(
        url, json={"answers": {"capacity": 1.7}, "status": "submitted"}, headers=ACME
    )
    assert same.status_code == 200
    assert same.json() == submitted
    # A correction to a submitted response keeps it submitted.
    fixed = await client.patch(url, json={"answers": {"cordless": False}}, headers=ACME)
    assert fixed.json()["version"] == 2
    assert fixed.json()["status"] == "submitted"
    assert fixed.json()["submitted_at"] == submitted["submitted_at"]


# --- the product's view ------------------------------------------------------------------------


async def test_product_view_sets_answers_beside_attributes(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = kettle["product"]
    first = (await respond(client, kettle, answers={**FULL, "colour": "steel"})).json()
    second = (
        await respond(client, kettle, vendor="Beta", answers={"colour": "red"}, status="draft")
    ).json()
    url = f"/v1/products/{product['id']}/questionnaire-answers"
    resp = await client.get(url, headers=READ)
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["product_id"] == product["id"]
    assert view["sku"] == "KT-1000"
    assert view["product_version"] == 1
    assert view["attributes"] == {"color": "silver"}
    assert view["next_cursor"] is None
    assert [item["response_id"] for item in view["items"]] == [first["id"], second["id"]]
    item = view["items"][0]
    assert item["questionnaire_title"] == "Kettle supplier survey"
    assert item["vendor"] == "Acme Supply"
    assert item["status"] == "submitted"
    answers = {a["key"]: a for a in item["answers"]}
    assert list(answers) == ["model_name", "capacity", "cordless", "colour", "features"]
    assert answers["colour"] == {
        "key": "colour",
        "question": "Colour?",
        "type": "single_choice",
        "unit": None,
        "answer": "steel",
        "attribute": "color",
        "current_value": "silver",
        "differs": True,
    }
    assert answers["capacity"]["unit"] == "l"
    assert (answers["capacity"]["current_value"], answers["capacity"]["differs"]) == (None, True)
    assert (answers["cordless"]["attribute"], answers["cordless"]["differs"]) == (None, None)
    assert [a["key"] for a in view["items"][1]["answers"]] == ["colour"]

    page = (await client.get(url, params={"limit": 1}, headers=READ)).json()
    assert [i["response_id"] for i in page["items"]] == [first["id"]]
    rest = (await client.get(url, params={"cursor": page["next_cursor"]}, headers=READ)).json()
    assert [i["response_id"] for i in rest["items"]] == [second["id"]]

    assert_problem(
        await client.get(f"/v1/products/{MISSING}/questionnaire-answers", headers=READ), 404
    )
    assert_problem(await client.get(url, params={"cursor": "%%"}, headers=READ), 422)


async def test_product_without_responses_has_an_empty_view(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    url = f"/v1/products/{kettle['product']['id']}/questionnaire-answers"
    view = (await client.get(url, headers=READ)).json()
    assert view["items"] == []
    assert view["attributes"] == {"color": "silver"}


# --- promotion ---------------------------------------------------------------------------------


async def test_promote_an_answer_into_its_attribute(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product = kettle["product"]
    response = (await respond(client, kettle)).json()
    url = f"/v1/questionnaire-responses/{response['id']}/answers/capacity/promote"
    resp = await client.post(url, headers={**WRITE, "If-Match": "1"})
    assert resp.status_code == 200, resp.text
    promoted = resp.json()
    assert promoted["response_id"] == response["id"]
    assert promoted["key"] == "capacity"
    assert promoted["attribute"] == "capacity_l"
    assert promoted["value"] == 1.7
    assert promoted["changed"] is True
    assert promoted["product"]["attributes"] == {"color": "silver", "capacity_l": 1.7}
    assert promoted["product"]["version"] == 2
    assert promoted["product"]["completeness"]["missing"] == ["description"]

    history = (await client.get(f"/v1/products/{product['id']}/history", headers=READ)).json()
    assert [(h["field"], h["old"], h["new"], h["version"]) for h in history["items"]] == [
        ("attributes.capacity_l", None, 1.7, 2)
    ]
    updated = [e for e in await outbox_events(app) if e.type == "catalog.product.updated.v1"]
    assert len(updated) == 1
    assert updated[0].subject == product["id"]
    assert updated[0].sequence_number == 2
    assert updated[0].data["changes"] == [
        {"field": "attributes.capacity_l", "old": None, "new": 1.7}
    ]

    # Again: the attribute already holds the answer, nothing changes.
    again = (await client.post(url, headers=WRITE)).json()
    assert again["changed"] is False
    assert again["product"]["version"] == 2

    view = (
        await client.get(f"/v1/products/{product['id']}/questionnaire-answers", headers=READ)
    ).json()
    capacity = next(a for a in view["items"][0]["answers"] if a["key"] == "capacity")
    assert (capacity["current_value"], capacity["differs"]) == (1.7, False)


async def test_promote_into_a_named_attribute(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    response = (await respond(client, kettle)).json()
    base = f"/v1/questionnaire-responses/{response['id']}/answers"
    resp = await client.post(
        f"{base}/features/promote", json={"attribute": "features"}, headers=WRITE
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["product"]["attributes"]["features"] == ["timer", "filter"]
    # The body overrides the question's own mapping.
    resp = await client.post(f"{base}/colour/promote", json={"attribute": "finish"}, headers=WRITE)
    assert resp.json()["product"]["attributes"]["finish"] == "black"
    assert resp.json()["product"]["attributes"]["color"] == "silver"


async def test_promote_errors(client: httpx.AsyncClient, kettle: dict[str, Any]) -> None:
    draft = (await respond(client, kettle, answers={"cordless": True}, status="draft")).json()
    base = f"/v1/questionnaire-responses/{draft['id']}/answers"
    no_attribute = await client.post(f"{base}/cordless/promote", headers=WRITE)
    problem = assert_problem(no_attribute, 422, detail_has="maps to no attribute")
    assert problem["errors"][0]["loc"] == ["body", "attribute"]
    bad_name = await client.post(
        f"{base}/cordless/promote", json={"attribute": "is cordless"}, headers=WRITE
    )
    assert_problem(bad_name, 422, detail_has="invalid attribute name")
    extra = await client.post(f"{base}/cordless/promote", json={"to": "x"}, headers=WRITE)
    assert_problem(extra, 422, detail_has="body.to")
    unanswered = await client.post(f"{base}/capacity/promote", headers=WRITE)
    assert assert_problem(unanswered, 409, detail_has="no answer")["key"] == "capacity"
    unknown = await client.post(f"{base}/wattage/promote", headers=WRITE)
    assert_problem(unknown, 404, detail_has="no question 'wattage'")
    missing = await client.post(
        f"/v1/questionnaire-responses/{MISSING}/answers/cordless/promote", headers=WRITE
    )
    assert_problem(missing, 404, detail_has="no questionnaire response")
    stale = await client.post(
        f"{base}/cordless/promote",
        json={"attribute": "cordless"},
        headers={**WRITE, "If-Match": "5"},
    )
    assert_problem(stale, 412, detail_has="version 1, not 5")
    product = (await client.get(f"/v1/products/{kettle['product']['id']}", headers=READ)).json()
    assert product == kettle["product"]


# --- events ------------------------------------------------------------------------------------


async def test_questionnaire_events(
    app: FastAPI, client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    product_id = kettle["product"]["id"]
    draft = (await respond(client, kettle, answers={"cordless": True}, status="draft")).json()
    url = f"/v1/questionnaire-responses/{draft['id']}"
    await client.patch(url, json={"answers": {"cordless": True}}, headers=ACME)  # no change
    await client.patch(url, json={"answers": {"model_name": "K"}}, headers=ACME)
    await client.patch(url, json={"answers": {"capacity": 2}, "status": "submitted"}, headers=ACME)
    await respond(client, kettle, vendor="Refused", answers={"capacity": "x"})

    events = [e for e in await outbox_events(app) if e.type.startswith("catalog.questionnaire")]
    assert [e.type for e in events] == [
        "catalog.questionnaire.created.v1",
        "catalog.questionnaire.response_updated.v1",
        "catalog.questionnaire.response_updated.v1",
        "catalog.questionnaire.response_submitted.v1",
    ]
    created, saved, edited, submitted = events
    assert created.subject == kettle["template"]["id"]
    assert created.sequence_number == 1
    assert created.data["product_type"] == "kettle"
    assert [q["key"] for q in created.data["questions"]] == [q["key"] for q in QUESTIONS]
    for event in (saved, edited, submitted):
        assert event.subject == product_id
        assert event.sequence is None
        assert event.data["response_id"] == draft["id"]
        assert event.data["vendor"] == "Acme Supply"
    assert saved.data["changed_keys"] == ["cordless"]
    assert saved.data["status"] == "draft"
    assert edited.data["changed_keys"] == ["model_name"]
    assert edited.data["version"] == 2
    assert submitted.data["status"] == "submitted"
    assert submitted.data["version"] == 3
    assert submitted.data["answers"] == {"cordless": True, "model_name": "K", "capacity": 2}
    assert submitted.data["completion"] == {
        "required_answered": 2,
        "required_total": 2,
        "answered": 3,
        "total": 5,
        "complete": True,
    }
    for event in events:
        assert event.source == "/catalog"
        registry.payload(event)


# --- auth --------------------------------------------------------------------------------------

ROUTES = [
    ("POST", "/v1/questionnaires", {"title": "T", "questions": QUESTIONS}, "catalog:write"),
    ("GET", "/v1/questionnaires", None, "catalog:read"),
    ("GET", f"/v1/questionnaires/{MISSING}", None, "catalog:read"),
    (
        "POST",
        f"/v1/questionnaires/{MISSING}/responses",
        {"vendor": "V", "product_id": MISSING},
        "catalog:write",
    ),
    ("GET", f"/v1/questionnaires/{MISSING}/responses", None, "catalog:read"),
    ("GET", f"/v1/questionnaire-responses/{MISSING}", None, "catalog:read"),
    ("PATCH", f"/v1/questionnaire-responses/{MISSING}", {}, "catalog:write"),
    ("GET", f"/v1/products/{MISSING}/questionnaire-answers", None, "catalog:read"),
    ("POST", f"/v1/questionnaire-responses/{MISSING}/answers/k/promote", None, "catalog:write"),
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
    assert_problem(await call({"Authorization": "Bearer nope"}), 401, detail_has="invalid")
    other = "catalog:write" if scope == "catalog:read" else "catalog:read"
    problem = assert_problem(await call(auth(other)), 403, detail_has=scope)
    assert problem["required_scope"] == scope
    admitted = await call(auth("admin"))
    assert admitted.status_code in {200, 201, 404}, admitted.text

"""Case studies over HTTP (SQLite and PostgreSQL): every error with its problem+json, and
their events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.catalog.conftest import READ, WRITE, make_type, outbox_events, walk
from tests.support import assert_problem, auth, token

PM = {"Authorization": f"Bearer {token('catalog:read catalog:write', 'key-pm', 'Pat')}"}
SAM = {"Authorization": f"Bearer {token('catalog:read catalog:write', 'key-sam', 'Sam')}"}
MISSING = "0190f0e8-0000-7000-8000-000000000000"
STUDIES = "/v1/product-types/kettle/case-studies"


def study_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "competitor": "Kettlo",
        "competitor_product": "Kettlo Pro 1.7",
        "strengths": "Boils 1 l in 2 minutes.",
        "weaknesses": "Lid hinge breaks within a year.",
        "sources": [
            {"url": "https://example.com/review", "text": "Consumer review"},
            {"text": "Trade fair talk, May 2026"},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
async def kettle(client: httpx.AsyncClient) -> dict[str, Any]:
    return await make_type(client, "kettle", ("color",))


async def record(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(STUDIES, json=study_body(**overrides), headers=PM)
    assert response.status_code == 201, response.text
    return response.json()


async def test_record_and_read_a_case_study(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    response = await client.post(STUDIES, json=study_body(), headers=PM)

    assert response.status_code == 201, response.text
    made = response.json()
    assert response.headers["Location"] == f"/v1/case-studies/{made['id']}"
    assert response.headers["ETag"] == '"1"'
    assert made["product_type"] == "kettle"
    assert (made["competitor"], made["competitor_product"]) == ("Kettlo", "Kettlo Pro 1.7")
    assert made["sources"] == [
        {"url": "https://example.com/review", "text": "Consumer review"},
        {"url": None, "text": "Trade fair talk, May 2026"},
    ]
    assert made["status"] == "active"
    assert made["version"] == 1
    assert made["author"] == {"subject": "key-pm", "name": "Pat"}
    assert made["updated_by"] == made["author"]

    read = await client.get(f"/v1/case-studies/{made['id']}", headers=READ)
    assert read.status_code == 200
    assert read.json() == made
    assert read.headers["ETag"] == '"1"'


async def test_the_list_is_per_type_oldest_first_paged_and_filtered_by_competitor(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    await make_type(client, "toaster", ("color",))
    made = [await record(client, competitor=name) for name in ("Kettlo", "Brewa", "Kettlo")]
    other = await client.post(
        "/v1/product-types/toaster/case-studies", json=study_body(), headers=PM
    )
    assert other.status_code == 201

    listed = await walk(client, STUDIES, limit=2)
    assert [s["id"] for s in listed] == [s["id"] for s in made]
    kettlo = await walk(client, STUDIES, competitor="Kettlo")
    assert [s["id"] for s in kettlo] == [made[0]["id"], made[2]["id"]]


async def test_an_edit_needs_the_current_version_and_names_what_changed(
    client: httpx.AsyncClient, app: FastAPI, kettle: dict[str, Any]
) -> None:
    made = await record(client)
    url = f"/v1/case-studies/{made['id']}"

    edited = await client.patch(
        url, json={"weaknesses": None, "strengths": "Quiet."}, headers={**SAM, "If-Match": '"1"'}
    )

    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["strengths"], body["weaknesses"], body["version"]) == ("Quiet.", None, 2)
    assert body["updated_by"] == {"subject": "key-sam", "name": "Sam"}
    assert body["author"] == {"subject": "key-pm", "name": "Pat"}
    assert edited.headers["ETag"] == '"2"'

    stale = await client.patch(url, json={"strengths": "Cheap."}, headers={**PM, "If-Match": "1"})
    body = assert_problem(stale, 412, detail_has="version 2")
    assert body["current_version"] == 2

    same = await client.patch(url, json={"strengths": "Quiet."}, headers=PM)
    assert same.json()["version"] == 2

    (updated,) = [e for e in await outbox_events(app) if e.type.endswith("updated.v1")]
    assert updated.type == "catalog.case_study.updated.v1"
    assert updated.subject == "kettle"
    assert updated.data["changed"] == ["strengths", "weaknesses"]
    assert updated.data["version"] == 2
    assert updated.data["updated_by"] == {"subject": "key-sam", "name": "Sam"}


async def test_archiving_hides_the_study_keeps_it_and_freezes_it(
    client: httpx.AsyncClient, app: FastAPI, kettle: dict[str, Any]
) -> None:
    made = await record(client)
    url = f"/v1/case-studies/{made['id']}"

    archived = await client.post(f"{url}/archive", headers={**PM, "If-Match": '"1"'})

    assert archived.status_code == 200, archived.text
    assert (archived.json()["status"], archived.json()["version"]) == ("archived", 2)
    assert await walk(client, STUDIES) == []
    assert [s["id"] for s in await walk(client, STUDIES, status="archived")] == [made["id"]]
    again = await client.post(f"{url}/archive", headers=PM)
    assert again.json()["version"] == 2
    refused = await client.patch(url, json={"strengths": "Cheap."}, headers=PM)
    assert_problem(refused, 409, detail_has="archived")

    types = [e.type for e in await outbox_events(app) if "case_study" in e.type]
    assert types == ["catalog.case_study.created.v1", "catalog.case_study.updated.v1"]


async def test_recording_publishes_the_whole_study(
    client: httpx.AsyncClient, app: FastAPI, kettle: dict[str, Any]
) -> None:
    made = await record(client)

    (created,) = [e for e in await outbox_events(app) if e.type == "catalog.case_study.created.v1"]
    assert created.subject == "kettle"
    assert created.data["case_study_id"] == made["id"]
    assert created.data["sources"] == made["sources"]
    assert created.data["author"] == {"subject": "key-pm", "name": "Pat"}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (study_body(strengths=None, weaknesses=None), ["body", "strengths"]),
        (study_body(sources=[{}]), ["body", "sources", "0"]),
        (study_body(sources=[{"url": "javascript:alert(1)"}]), ["body", "sources", "0", "url"]),
        (study_body(sources=[{"text": "x"}] * 21), ["body", "sources"]),
        (study_body(competitor=""), ["body", "competitor"]),
        (study_body(competitor_product="x" * 201), ["body", "competitor_product"]),
        (study_body(strengths="x" * 5001), ["body", "strengths"]),
        (study_body(status="archived"), ["body", "status"]),
        ({"competitor": "Kettlo"}, ["body", "competitor_product"]),
    ],
)
async def test_bad_studies_are_422_problems_naming_the_field(
    client: httpx.AsyncClient, kettle: dict[str, Any], body: dict[str, Any], loc: list[str]
) -> None:
    response = await client.post(STUDIES, json=body, headers=PM)

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"competitor": None}, ["body"]),
        ({"sources": [{"url": "not a url"}]}, ["body", "sources", "0", "url"]),
        ({"strengths": None, "weaknesses": None}, ["body", "strengths"]),
        ({"version": 7}, ["body", "version"]),
    ],
)
async def test_bad_edits_are_422_problems(
    client: httpx.AsyncClient, kettle: dict[str, Any], patch: dict[str, Any], loc: list[str]
) -> None:
    made = await record(client)

    response = await client.patch(f"/v1/case-studies/{made['id']}", json=patch, headers=PM)

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == loc


async def test_a_malformed_if_match_is_a_422_problem(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    made = await record(client)

    response = await client.post(
        f"/v1/case-studies/{made['id']}/archive", headers={**PM, "If-Match": "abc"}
    )

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["header", "If-Match"]


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("POST", "/v1/product-types/nope/case-studies", study_body()),
        ("GET", "/v1/product-types/nope/case-studies", None),
        ("GET", f"/v1/case-studies/{MISSING}", None),
        ("PATCH", f"/v1/case-studies/{MISSING}", {"strengths": "x"}),
        ("POST", f"/v1/case-studies/{MISSING}/archive", None),
    ],
)
async def test_unknown_types_and_studies_are_404_problems(
    client: httpx.AsyncClient, method: str, path: str, json: dict[str, Any] | None
) -> None:
    response = await client.request(method, path, json=json, headers=PM)

    assert_problem(response, 404, detail_has="no ")


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", STUDIES, READ),
        ("GET", STUDIES, WRITE),
        ("GET", f"/v1/case-studies/{MISSING}", auth("feedback:read")),
        ("PATCH", f"/v1/case-studies/{MISSING}", READ),
        ("POST", f"/v1/case-studies/{MISSING}/archive", READ),
    ],
)
async def test_each_route_checks_its_scope(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> None:
    json = study_body() if method in ("POST", "PATCH") else None
    response = await client.request(method, path, json=json, headers=headers)

    assert_problem(response, 403)


async def test_a_listed_filter_too_long_is_a_422_problem(
    client: httpx.AsyncClient, kettle: dict[str, Any]
) -> None:
    response = await client.get(STUDIES, params={"competitor": "x" * 101}, headers=READ)

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["query", "competitor"]

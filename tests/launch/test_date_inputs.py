"""Launch's dates are ISO text within the range its calendars and offsets can compute from
(shared/types.py): a number is not a date, and a calendar from 9999-12-20 was a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.launch.conftest import BOSS, LIST, PM, READER, known_product, plan
from tests.support import assert_problem


@pytest.mark.parametrize(
    ("target", "detail"),
    [
        (0, "not a date as YYYY-MM-DD"),  # pydantic alone reads it as 1970-01-01
        ("9999-12-31", "out of range: a date from 1970-01-01 to 2999-12-31"),
        ("1969-12-31", "out of range"),
    ],
)
async def test_a_target_date_is_a_plannable_iso_date(
    app: FastAPI, client: httpx.AsyncClient, target: object, detail: str
) -> None:
    body = {"product_id": await known_product(app), "target_date": target, "price_list": LIST}
    problem = assert_problem(await client.post("/v1/launches", json=body, headers=PM), 422)
    assert problem["errors"][0]["loc"] == ["body", "target_date"]
    assert detail in problem["errors"][0]["msg"]
    assert (await client.get("/v1/launches", headers=READER)).json()["items"] == []


async def test_a_calendar_past_the_range_is_422(client: httpx.AsyncClient) -> None:
    for params in ({"from": "9999-12-20"}, {"from": "2999-12-31", "to": "3000-01-02"}):
        problem = assert_problem(
            await client.get("/v1/launch-calendar", params=params, headers=READER), 422
        )
        assert "out of range" in problem["detail"], params
    # The last days of the range still make a calendar.
    edge = await client.get("/v1/launch-calendar", params={"from": "2999-12-01"}, headers=READER)
    assert edge.status_code == 200, edge.text
    assert edge.json()["from"] == "2999-12-01"


async def test_a_waiver_expiry_is_rfc3339_text(app: FastAPI, client: httpx.AsyncClient) -> None:
    launch = await plan(client, await known_product(app))
    body = {"gate": "no_critical_defects", "reason": "fix shipped", "expires_at": 1900000000}
    problem = assert_problem(
        await client.post(f"/v1/launches/{launch['id']}/waivers", json=body, headers=BOSS), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "expires_at"]

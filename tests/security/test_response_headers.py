"""Finding 12 of issue 12: every response says `nosniff`, JSON answers are never cached, and
a token issued a second "in the future" (clock skew) is accepted, at the gateway and at a
service port alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import httpx
import jwt
import pytest

from gateway.app import create_app as create_gateway
from services.catalog.app import create_app as create_catalog
from shared.settings import Settings
from tests.support import TEST_SECRET, assert_problem, auth, running


@pytest.fixture
async def gateway(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_gateway(make_settings(), services=[])) as client:
        yield client


@pytest.fixture
async def catalog(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_catalog(make_settings())) as client:
        yield client


def assert_not_sniffed_nor_cached(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert len(response.headers.get_list("cache-control")) == 1


async def test_gateway_json_and_problem_answers_are_neither_sniffed_nor_cached(
    gateway: httpx.AsyncClient, make_settings: Callable[..., Settings]
) -> None:
    key = make_settings().bootstrap_admin_key
    minted = await gateway.post("/v1/auth/token", json={"api_key": key})
    listed = await gateway.get("/v1/api-keys", headers=auth("admin"))
    anonymous = await gateway.get("/v1/api-keys")
    unknown = await gateway.get("/v1/nowhere", headers=auth("admin"))

    for response in (minted, listed, anonymous, unknown):
        assert_not_sniffed_nor_cached(response)
    assert_problem(anonymous, 401)
    assert_problem(unknown, 404)


async def test_service_json_and_problem_answers_are_neither_sniffed_nor_cached(
    catalog: httpx.AsyncClient,
) -> None:
    listed = await catalog.get("/v1/products", headers=auth("catalog:read"))
    forbidden = await catalog.get("/v1/products", headers=auth("pricing:read"))
    health = await catalog.get("/healthz")

    for response in (listed, forbidden, health):
        assert_not_sniffed_nor_cached(response)
    assert_problem(forbidden, 403)


async def test_non_json_answers_are_not_sniffed(catalog: httpx.AsyncClient) -> None:
    metrics = await catalog.get("/metrics")
    docs = await catalog.get("/docs")

    for response in (metrics, docs):
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


def skewed_token(ahead_s: int) -> str:
    """A token whose `iat` is `ahead_s` seconds ahead of this clock (the issuer's runs fast)."""
    now = int(time.time()) + ahead_s
    claims = {"iss": "productops", "sub": "k1", "scope": "admin", "iat": now, "exp": now + 600}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize("app", ["gateway", "catalog"])
async def test_a_token_issued_a_little_in_the_future_is_accepted(
    make_settings: Callable[..., Settings], app: str
) -> None:
    settings = make_settings()
    made = create_gateway(settings, services=[]) if app == "gateway" else create_catalog(settings)
    path = "/v1/api-keys" if app == "gateway" else "/v1/products"

    async with running(made) as client:
        skewed = await client.get(path, headers={"Authorization": f"Bearer {skewed_token(2)}"})
        far = await client.get(path, headers={"Authorization": f"Bearer {skewed_token(120)}"})

    assert skewed.status_code == 200, skewed.text
    assert_problem(far, 401, detail_has="invalid")


def test_the_leeway_is_a_small_bounded_setting(make_settings: Callable[..., Settings]) -> None:
    assert make_settings().token_leeway_s == 5
    with pytest.raises(ValueError, match="token_leeway_s"):
        make_settings(token_leeway_s=3600)


async def test_a_token_claiming_a_longer_life_than_the_cap_is_refused(
    catalog: httpx.AsyncClient,
) -> None:
    now = int(time.time())
    claims = {"iss": "productops", "sub": "k1", "scope": "admin", "iat": now, "exp": now + 86_400}
    long_lived = jwt.encode(claims, TEST_SECRET, algorithm="HS256")

    response = await catalog.get("/v1/products", headers={"Authorization": f"Bearer {long_lived}"})

    assert_problem(response, 401, detail_has="longer than allowed")

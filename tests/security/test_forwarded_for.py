"""Finding 7 of issue 12: a forged `X-Forwarded-For` must not reset the per-IP limit on the
token route. uvicorn believed the header from loopback peers; now only the proxies named in
`PRODUCTOPS_TRUSTED_PROXIES` are believed, and none by default."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.app import create_app
from shared.settings import Settings
from tests.security.serving import served
from tests.support import assert_problem

BURST = 3


async def token_requests(base_url: str, forwarded_for: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        return [
            await client.post(
                "/v1/auth/token",
                json={"api_key": "po_0123456789abcdef_guess"},
                headers={"X-Forwarded-For": address},
            )
            for address in forwarded_for
        ]


def limited_settings(make: Callable[..., Settings], **overrides: object) -> Settings:
    # Hardly any refill: the bucket holds BURST requests for the whole test.
    return make(rate_limit_burst=BURST, rate_limit_per_s=0.001, **overrides)


async def test_a_forged_forwarded_for_does_not_reset_the_token_limit(
    make_settings: Callable[..., Settings],
) -> None:
    settings = limited_settings(make_settings)
    forged = [f"203.0.113.{n}" for n in range(BURST + 2)]

    async with served("gateway", create_app(settings, services=[]), settings) as url:
        answers = await token_requests(url, forged)

    assert [a.status_code for a in answers[:BURST]] == [401] * BURST
    for answer in answers[BURST:]:
        assert_problem(answer, 429, detail_has="token requests")


async def test_a_trusted_proxy_s_forwarded_for_names_the_client(
    make_settings: Callable[..., Settings],
) -> None:
    settings = limited_settings(make_settings, trusted_proxies=["127.0.0.1"])
    clients = [f"203.0.113.{n}" for n in range(BURST + 2)]

    async with served("gateway", create_app(settings, services=[]), settings) as url:
        answers = await token_requests(url, clients)

    # Each client has a bucket of its own behind the trusted proxy.
    assert [a.status_code for a in answers] == [401] * len(clients)


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings().trusted_proxies == []
